//! Reading orders: a customer's orders (with or without their lines) and their totals, one order with its
//! lines and status history, counts.
//!
//! Orders are read with `customers_read` and the actor's data scope: a matched order is visible with its
//! customer, an unmatched one only to members who see every customer. The receiver is shown masked
//! (its phone as `138****5678`); revealing it is for the console's reveal flow later.

use chrono::{DateTime, Utc};
use serde::Serialize;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, OrderId};
use siyu_domain::order::{MatchHint, OrderLine, OrderStatus, Platform};
use siyu_domain::page::{Cursor, Page, PageRequest};
use siyu_store::orders::OrderRecord;

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// An order as services return it: amounts in fen, the receiver masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: OrderId,
    pub platform: Platform,
    pub shop: String,
    pub platform_order_id: String,
    pub customer_id: Option<CustomerId>,
    /// How the customer was matched (`unionid`, `openid`, `platform_buyer`, `phone`, `prospect`).
    pub match_method: Option<String>,
    pub status: OrderStatus,
    pub placed_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub total_fen: i64,
    pub discount_fen: i64,
    pub shipping_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub buyer_nick: Option<String>,
    /// The receiver's phone, masked.
    pub receiver_phone: Option<String>,
    /// Evidence for merge suggestions or a manual claim (never used to match automatically).
    pub hints: Vec<MatchHint>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OrderRecord> for OrderView {
    fn from(o: OrderRecord) -> Self {
        Self {
            id: o.id,
            platform: o.platform,
            shop: o.shop,
            platform_order_id: o.platform_order_id,
            customer_id: o.customer_id,
            match_method: o.match_method,
            status: o.status,
            placed_at: o.placed_at,
            paid_at: o.paid_at,
            shipped_at: o.shipped_at,
            finished_at: o.finished_at,
            total_fen: o.total_fen,
            discount_fen: o.discount_fen,
            shipping_fen: o.shipping_fen,
            paid_fen: o.paid_fen,
            refunded_fen: o.refunded_fen,
            buyer_nick: o.buyer_nick,
            receiver_phone: o.receiver.phone_display,
            hints: o.hints,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// One status an order took; `from` is `None` for its first import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderStatusChange {
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub at: DateTime<Utc>,
}

/// An order with its lines and status history (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderDetail {
    pub order: OrderView,
    pub lines: Vec<OrderLine>,
    pub history: Vec<OrderStatusChange>,
}

/// An order and its lines (what a customer's order list shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderWithLines {
    pub order: OrderView,
    pub lines: Vec<OrderLine>,
}

/// What a customer's orders add up to, in fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CustomerOrderTotals {
    pub orders: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
}

fn cursor_of(o: &OrderRecord) -> Cursor {
    Cursor { at: o.placed_at, id: o.id.0 }
}

impl App {
    /// A customer's orders, most recently placed first.
    pub async fn customer_orders(
        &self,
        actor: &Actor,
        customer: CustomerId,
        page: PageRequest,
    ) -> AppResult<Page<OrderView>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let rows = self.store.orders().of_customer(actor.tenant, customer, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, cursor_of).map(OrderView::from))
    }

    /// A customer's orders with their lines, most recently placed first.
    pub async fn customer_orders_with_lines(
        &self,
        actor: &Actor,
        customer: CustomerId,
        page: PageRequest,
    ) -> AppResult<Page<OrderWithLines>> {
        let page = self.customer_orders(actor, customer, page).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for order in page.items {
            let lines = self.store.orders().get(actor.tenant, order.id).await?.lines;
            items.push(OrderWithLines { order, lines });
        }
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    /// How many orders a customer has and what they paid and got refunded in all.
    pub async fn customer_order_totals(&self, actor: &Actor, customer: CustomerId) -> AppResult<CustomerOrderTotals> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let (orders, paid_fen, refunded_fen) = self.store.orders().totals(actor.tenant, customer).await?;
        Ok(CustomerOrderTotals { orders, paid_fen, refunded_fen })
    }

    /// One order with its lines and status history.
    pub async fn order(&self, actor: &Actor, id: OrderId) -> AppResult<OrderDetail> {
        actor.require(Permission::CustomersRead)?;
        let stored = self.store.orders().get(actor.tenant, id).await?;
        match stored.order.customer_id {
            Some(c) => self.ensure_visible(actor, c).await?,
            None if actor.visibility.is_some() => return Err(AppError::NotFound),
            None => {}
        }
        let history = self.store.orders().history(actor.tenant, id).await?;
        Ok(OrderDetail {
            order: stored.order.into(),
            lines: stored.lines,
            history: history.into_iter().map(|h| OrderStatusChange { from: h.from, to: h.to, at: h.at }).collect(),
        })
    }

    /// How many orders a customer has or, for members who see every customer, the tenant has.
    pub async fn count_orders(&self, actor: &Actor, customer: Option<CustomerId>) -> AppResult<i64> {
        actor.require(Permission::CustomersRead)?;
        match customer {
            Some(c) => self.ensure_visible(actor, c).await?,
            None if actor.visibility.is_some() => return Err(AppError::Forbidden),
            None => {}
        }
        Ok(self.store.orders().count(actor.tenant, customer).await?)
    }
}
