//! Customer aggregates (cdp.md §3): what one customer's orders and events add up to, recomputed from
//! them whenever they change and stored one row per customer as a cache the profile and segments read.
//!
//! The rules, from order state rather than events so refunds net out:
//! - An order **counts** when money was taken and not all given back ([`OrderStatus::is_paid`]: paid,
//!   shipped, received, partially refunded). Pending, closed and refunded orders do not count.
//! - `order_count` counts counted orders; `order_days` counts the distinct days they were placed on, in
//!   the tenant's time zone (two orders on one day are one purchase occasion).
//! - `paid_fen` is Σ (paid − refunded) over counted orders; `refund_fen` is everything refunded, a
//!   refunded order's whole amount included; `avg_paid_fen` is `paid_fen / order_count`, floored.
//! - `first_order_at`/`last_order_at` are the first and last counted orders' placing times.
//! - `products` lists what counted orders bought (lines refunded in full left out), keyed by SKU code,
//!   else product id, else title, most bought first, at most [`MAX_PRODUCTS`]; `product_count` counts all.
//! - `platforms` are the platforms of all the customer's orders (a closed order still shows the person
//!   shops there); `channels` the last activity per event source kind and per order platform.
//! - `first_seen_at` is the earliest of the customer's creation, first event and first order;
//!   `last_active_at` the latest event or order.
//!
//! Pure: the store reads the facts ([`OrderFact`], [`LineFact`], [`EventFact`]) and calls [`compute`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CustomerId, OrderId};
use crate::order::{OrderStatus, Platform, RefundState};
use crate::source::SourceKind;

/// Products kept in a customer's list (the most bought ones).
pub const MAX_PRODUCTS: usize = 20;

/// One order of the customer, as the aggregates need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFact {
    pub id: OrderId,
    pub platform: Platform,
    pub status: OrderStatus,
    pub placed_at: DateTime<Utc>,
    pub paid_fen: i64,
    pub refunded_fen: i64,
}

/// One line of one of the customer's orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFact {
    pub order: OrderId,
    pub sku_id: Option<String>,
    pub product_id: Option<String>,
    pub title: Option<String>,
    pub quantity: i64,
    pub refund: RefundState,
}

/// The customer's events from sources of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFact {
    pub kind: SourceKind,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub count: i64,
}

/// Everything a customer's aggregates are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub customer: CustomerId,
    pub created_at: DateTime<Utc>,
    pub orders: Vec<OrderFact>,
    pub lines: Vec<LineFact>,
    pub events: Vec<EventFact>,
}

/// A product a customer bought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductBought {
    /// The seller's SKU code, when the lines had one.
    pub sku_id: Option<String>,
    /// The platform's product id, when the lines had one.
    pub product_id: Option<String>,
    /// The title of the latest line.
    pub title: Option<String>,
    /// Units bought in all.
    pub quantity: i64,
    /// Orders it was in.
    pub orders: i64,
    pub last_bought_at: DateTime<Utc>,
}

/// Where a customer was last active: events of a source kind, or orders on a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Events,
    Orders,
}

/// The last activity on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelActivity {
    pub via: Via,
    /// The event source kind (`web`, `mini_program`, `server`, `import`) or the order platform (`taobao`, …).
    pub source: String,
    /// Events or orders on the channel.
    pub count: i64,
    pub last_active_at: DateTime<Utc>,
}

/// What one customer's orders and events add up to. Amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerAggregates {
    pub customer_id: CustomerId,
    /// Orders that count (paid, not closed or refunded in full).
    pub order_count: i64,
    /// Distinct days with a counted order, in the tenant's time zone.
    pub order_days: i64,
    /// Paid by counted orders, net of their refunds.
    pub paid_fen: i64,
    /// Refunded in all.
    pub refund_fen: i64,
    /// `paid_fen / order_count`, floored; 0 without orders.
    pub avg_paid_fen: i64,
    pub first_order_at: Option<DateTime<Utc>>,
    pub last_order_at: Option<DateTime<Utc>>,
    /// Events resolved to the customer.
    pub event_count: i64,
    pub first_seen_at: DateTime<Utc>,
    pub last_active_at: Option<DateTime<Utc>>,
    /// Platforms the customer ordered on, in their stable order.
    pub platforms: Vec<Platform>,
    /// Distinct products bought.
    pub product_count: i64,
    /// The most bought products, at most [`MAX_PRODUCTS`].
    pub products: Vec<ProductBought>,
    /// Last activity per channel, latest first.
    pub channels: Vec<ChannelActivity>,
    pub computed_at: DateTime<Utc>,
}

impl CustomerAggregates {
    /// The aggregates of a customer with no orders and no events.
    pub fn empty(customer: CustomerId, created_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        compute(&Facts { customer, created_at, orders: Vec::new(), lines: Vec::new(), events: Vec::new() }, utc(), now)
    }
}

fn utc() -> FixedOffset {
    Utc.fix()
}

/// What a refunded order gave back: everything, whatever the export said; otherwise its refunded amount.
fn refunded(o: &OrderFact) -> i64 {
    if o.status == OrderStatus::Refunded { o.paid_fen.max(o.refunded_fen) } else { o.refunded_fen }
}

/// The key products are told apart by: SKU code, else product id, else title.
fn product_key(l: &LineFact) -> Option<String> {
    let present = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    present(&l.sku_id)
        .map(|s| format!("s:{s}"))
        .or_else(|| present(&l.product_id).map(|p| format!("p:{p}")))
        .or_else(|| present(&l.title).map(|t| format!("t:{t}")))
}

/// Computes a customer's aggregates; `offset` is the tenant's UTC offset (business days).
pub fn compute(f: &Facts, offset: FixedOffset, now: DateTime<Utc>) -> CustomerAggregates {
    let counted: Vec<&OrderFact> = f.orders.iter().filter(|o| o.status.is_paid()).collect();
    let order_count = counted.len() as i64;
    let days: HashSet<NaiveDate> = counted.iter().map(|o| o.placed_at.with_timezone(&offset).date_naive()).collect();
    let paid_fen = counted.iter().map(|o| (o.paid_fen - o.refunded_fen).max(0)).sum::<i64>();
    let refund_fen = f.orders.iter().map(refunded).sum::<i64>();
    let platforms: BTreeSet<Platform> = f.orders.iter().map(|o| o.platform).collect();
    let (products, product_count) = products(f, &counted);
    let mut channels: Vec<ChannelActivity> = f
        .events
        .iter()
        .map(|e| ChannelActivity {
            via: Via::Events,
            source: e.kind.as_str().to_string(),
            count: e.count,
            last_active_at: e.last_at,
        })
        .collect();
    let mut by_platform: BTreeMap<Platform, (i64, DateTime<Utc>)> = BTreeMap::new();
    for o in &f.orders {
        let entry = by_platform.entry(o.platform).or_insert((0, o.placed_at));
        entry.0 += 1;
        entry.1 = entry.1.max(o.placed_at);
    }
    channels.extend(by_platform.into_iter().map(|(p, (count, at))| ChannelActivity {
        via: Via::Orders,
        source: p.as_str().to_string(),
        count,
        last_active_at: at,
    }));
    channels
        .sort_by(|a, b| b.last_active_at.cmp(&a.last_active_at).then(a.via.cmp(&b.via)).then(a.source.cmp(&b.source)));
    let event_times = f.events.iter().flat_map(|e| [e.first_at, e.last_at]);
    let order_times = f.orders.iter().map(|o| o.placed_at);
    let first_seen_at = event_times.clone().chain(order_times.clone()).fold(f.created_at, DateTime::min);
    CustomerAggregates {
        customer_id: f.customer,
        order_count,
        order_days: days.len() as i64,
        paid_fen,
        refund_fen,
        avg_paid_fen: if order_count > 0 { paid_fen / order_count } else { 0 },
        first_order_at: counted.iter().map(|o| o.placed_at).min(),
        last_order_at: counted.iter().map(|o| o.placed_at).max(),
        event_count: f.events.iter().map(|e| e.count).sum(),
        first_seen_at,
        last_active_at: event_times.chain(order_times).max(),
        platforms: platforms.into_iter().collect(),
        product_count,
        products,
        channels,
        computed_at: now,
    }
}

/// The most bought products of the counted orders and how many distinct ones there are.
fn products(f: &Facts, counted: &[&OrderFact]) -> (Vec<ProductBought>, i64) {
    let placed: HashMap<OrderId, DateTime<Utc>> = counted.iter().map(|o| (o.id, o.placed_at)).collect();
    let mut by_key: HashMap<String, (ProductBought, HashSet<OrderId>)> = HashMap::new();
    for l in f.lines.iter().filter(|l| l.refund != RefundState::Full) {
        let (Some(at), Some(key)) = (placed.get(&l.order), product_key(l)) else { continue };
        let entry = by_key.entry(key).or_insert_with(|| {
            let p = ProductBought {
                sku_id: None,
                product_id: None,
                title: None,
                quantity: 0,
                orders: 0,
                last_bought_at: *at,
            };
            (p, HashSet::new())
        });
        let (p, orders) = entry;
        p.quantity += l.quantity.max(0);
        orders.insert(l.order);
        if *at >= p.last_bought_at || p.title.is_none() {
            p.last_bought_at = p.last_bought_at.max(*at);
            p.sku_id = l.sku_id.clone().or(p.sku_id.take());
            p.product_id = l.product_id.clone().or(p.product_id.take());
            p.title = l.title.clone().or(p.title.take());
        }
    }
    let count = by_key.len() as i64;
    let mut list: Vec<ProductBought> = by_key
        .into_values()
        .map(|(mut p, orders)| {
            p.orders = orders.len() as i64;
            p
        })
        .collect();
    list.sort_by(|a, b| {
        b.quantity
            .cmp(&a.quantity)
            .then(b.last_bought_at.cmp(&a.last_bought_at))
            .then(a.title.cmp(&b.title))
            .then(a.sku_id.cmp(&b.sku_id))
    });
    list.truncate(MAX_PRODUCTS);
    (list, count)
}

#[cfg(test)]
mod tests;
