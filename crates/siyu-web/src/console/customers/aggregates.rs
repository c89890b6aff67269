//! The figures card of the customer page (`customer_aggregates.html`): what the customer's orders and
//! events add up to (siyu_app::aggregates), with the last activity per channel and the most bought products.

use siyu_domain::aggregate::{CustomerAggregates, Via};
use siyu_domain::order::Platform;

use super::view::{fmt_opt, fmt_time, label, yuan};
use crate::console::orders::views::platform_label;
use crate::i18n::Tr;

/// Products shown on the card.
const SHOWN_PRODUCTS: usize = 8;

/// One channel's last activity: (what, when).
pub struct ChannelRow {
    pub name: String,
    pub when: String,
    pub count: i64,
}

pub struct AggregatesCard {
    /// Nothing to show yet: no orders and no events.
    pub empty: bool,
    pub order_count: i64,
    pub order_days: i64,
    pub paid: String,
    pub refunded: Option<String>,
    pub avg: String,
    pub first_order: String,
    pub last_order: String,
    pub first_seen: String,
    pub last_active: String,
    pub event_count: i64,
    pub platforms: Vec<String>,
    pub channels: Vec<ChannelRow>,
    /// (title or SKU, units bought)
    pub products: Vec<(String, i64)>,
    pub product_count: i64,
}

impl AggregatesCard {
    pub fn new(tr: Tr, a: &CustomerAggregates) -> Self {
        let channel = |via: Via, source: &str| match via {
            Via::Events => format!("{} · {}", tr.t("activity.event"), label(tr, "sources.kind", source)),
            Via::Orders => format!(
                "{} · {}",
                tr.t("order.title"),
                Platform::parse(source).map(|p| platform_label(tr, p)).unwrap_or_else(|| source.to_string())
            ),
        };
        Self {
            empty: a.order_count == 0 && a.event_count == 0 && a.channels.is_empty(),
            order_count: a.order_count,
            order_days: a.order_days,
            paid: yuan(a.paid_fen),
            refunded: (a.refund_fen > 0).then(|| yuan(a.refund_fen)),
            avg: yuan(a.avg_paid_fen),
            first_order: fmt_opt(&a.first_order_at),
            last_order: fmt_opt(&a.last_order_at),
            first_seen: fmt_time(&a.first_seen_at),
            last_active: fmt_opt(&a.last_active_at),
            event_count: a.event_count,
            platforms: a.platforms.iter().map(|p| platform_label(tr, *p)).collect(),
            channels: a
                .channels
                .iter()
                .map(|c| ChannelRow {
                    name: channel(c.via, &c.source),
                    when: fmt_time(&c.last_active_at),
                    count: c.count,
                })
                .collect(),
            products: a
                .products
                .iter()
                .take(SHOWN_PRODUCTS)
                .map(|p| {
                    let name = p.title.clone().or_else(|| p.sku_id.clone()).or_else(|| p.product_id.clone());
                    (name.unwrap_or_else(|| "—".into()), p.quantity)
                })
                .collect(),
            product_count: a.product_count,
        }
    }
}
