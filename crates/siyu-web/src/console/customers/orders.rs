//! The orders card of the customer page: the customer's imported orders, most recently placed first, in
//! pages, with their count and totals. `GET /console/customers/{id}/orders?cursor=` serves the card alone,
//! which the card's pager swaps in with htmx (the full page takes `orders_cursor` without it).

use askama::Template;
use axum::extract::{Path, Query, State};
use siyu_app::AppError;
use siyu_domain::id::CustomerId;
use siyu_domain::page::PageRequest;

use super::parse_id;
use super::view::{fmt_time, yuan};
use crate::auth::ConsoleActor;
use crate::console::orders::views::{line_text, platform_label, status_class, status_label};
use crate::console::page::{Chrome, ConsoleResult, render};
use crate::i18n::Tr;
use crate::state::AppState;

/// Orders per page of the card.
pub const PAGE: u32 = 10;

/// One order as the card lists it.
pub struct OrderRow {
    pub platform: String,
    pub shop: String,
    pub order_id: String,
    pub placed: String,
    pub status: String,
    pub status_class: &'static str,
    pub paid: String,
    /// Shown only when something was refunded.
    pub refunded: Option<String>,
    pub lines: Vec<String>,
}

/// A link to another page of the card: the full page, and the card alone for htmx.
pub struct PageLink {
    pub href: String,
    pub hx: String,
}

impl PageLink {
    fn new(customer: &str, cursor: Option<&str>) -> Self {
        let c = cursor.map(crate::auth::urlencode);
        match c {
            Some(c) => Self {
                href: format!("/console/customers/{customer}?orders_cursor={c}#orders"),
                hx: format!("/console/customers/{customer}/orders?cursor={c}"),
            },
            None => Self {
                href: format!("/console/customers/{customer}#orders"),
                hx: format!("/console/customers/{customer}/orders"),
            },
        }
    }
}

/// The card: a page of orders and the totals of all of them.
pub struct OrdersCard {
    pub rows: Vec<OrderRow>,
    pub count: i64,
    pub paid_total: String,
    pub refunded_total: Option<String>,
    pub next: Option<PageLink>,
    /// Back to the newest orders, on later pages.
    pub first: Option<PageLink>,
}

impl OrdersCard {
    pub async fn load(
        state: &AppState,
        ca: &ConsoleActor,
        tr: Tr,
        customer: CustomerId,
        cursor: Option<&str>,
    ) -> Result<Self, AppError> {
        let (app, a) = (&state.app, &ca.actor);
        let request = PageRequest::parse(cursor, Some(PAGE)).map_err(AppError::Invalid)?;
        let page = app.customer_orders_with_lines(a, customer, request).await?;
        let totals = app.customer_order_totals(a, customer).await?;
        let id = customer.to_string();
        let rows = page
            .items
            .iter()
            .map(|o| {
                let v = &o.order;
                OrderRow {
                    platform: platform_label(tr, v.platform),
                    shop: v.shop.clone(),
                    order_id: v.platform_order_id.clone(),
                    placed: fmt_time(&v.placed_at),
                    status: status_label(tr, v.status),
                    status_class: status_class(v.status),
                    paid: yuan(v.paid_fen),
                    refunded: (v.refunded_fen > 0).then(|| yuan(v.refunded_fen)),
                    lines: o.lines.iter().map(line_text).collect(),
                }
            })
            .collect();
        Ok(Self {
            rows,
            count: totals.orders,
            paid_total: yuan(totals.paid_fen),
            refunded_total: (totals.refunded_fen > 0).then(|| yuan(totals.refunded_fen)),
            next: page.next_cursor.as_deref().map(|c| PageLink::new(&id, Some(c))),
            first: cursor.map(|_| PageLink::new(&id, None)),
        })
    }
}

#[derive(Template)]
#[template(path = "customer_orders.html")]
struct OrdersFragment {
    chrome: Chrome,
    orders: OrdersCard,
}

#[derive(serde::Deserialize)]
pub struct OrdersQuery {
    cursor: Option<String>,
}

/// A page of the card on its own (htmx swaps it in place of the card).
pub async fn orders(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<OrdersQuery>,
) -> ConsoleResult {
    let id: CustomerId = parse_id(&id)?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "customers");
    let orders = OrdersCard::load(&state, &ca, chrome.tr, id, q.cursor.as_deref()).await?;
    Ok(render(&OrdersFragment { chrome, orders }))
}
