//! Orders the tenant's own mall posts one at a time (`POST /api/v1/orders`).
//!
//! The body ([`MallOrderInput`]) is checked and made into the same `Order` an export row becomes
//! (`siyu_domain::order::mall`), then written by the import's own path (`orders/import.rs`), as a batch of
//! one: compared with the stored order of the same key `(own_mall, shop, platform_order_id)`, its buyer
//! matched (the named `customer_id`, else unionid/openid → the mall's buyer id → a full mobile; never a
//! masked phone), a prospect created for an unknown buyer with identifiers, and the order, its status
//! history, the customer's timeline entries and aggregates written in one transaction. Posting the same
//! order again changes nothing; a newer status updates it and appends to its history; an older one is kept
//! out (the stored status never moves backwards). Every post is audited (`order.post`).

use serde::Serialize;
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::JobId;
use siyu_domain::order::{MallOrderInput, Platform};

use super::import::Importer;
use super::{OrderDetail, OrderImportOptions, OrderImportReport, OrderStatusChange};
use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// What posting an order did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MallOrderOutcome {
    /// A new order.
    Created,
    /// The stored order took the posted one (its status moved forward, or stayed and other fields changed).
    Updated,
    /// The stored order is exactly the posted one.
    Unchanged,
    /// The stored status is ahead of the posted one (an older snapshot): nothing changed.
    KeptOlder,
}

/// The order as stored after the post, and what the post did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MallOrderResult {
    pub outcome: MallOrderOutcome,
    /// Whether the status moved (a status history row was appended).
    pub status_changed: bool,
    #[serde(flatten)]
    pub detail: OrderDetail,
}

fn outcome(r: &OrderImportReport) -> MallOrderOutcome {
    match (r.new, r.updated, r.kept_older) {
        (1, _, _) => MallOrderOutcome::Created,
        (_, 1, _) => MallOrderOutcome::Updated,
        (_, _, 1) => MallOrderOutcome::KeptOlder,
        _ => MallOrderOutcome::Unchanged,
    }
}

impl App {
    /// Creates or updates one order of the tenant's own mall (see the module docs). Needs the import
    /// permission; a named customer must be one the actor sees (`invalid_input` on `buyer.customer_id`).
    pub async fn post_mall_order(&self, actor: &Actor, input: MallOrderInput) -> AppResult<MallOrderResult> {
        actor.require(Permission::CustomersImport)?;
        let named = input.buyer.customer_id;
        if let Some(c) = named {
            self.ensure_visible(actor, c).await.map_err(|e| match e {
                AppError::NotFound => AppError::invalid("buyer.customer_id", "unknown_customer"),
                other => other,
            })?;
        }
        let order = input.into_order()?;
        let options =
            OrderImportOptions { platform: Some(Platform::OwnMall), create_prospects: true, ..Default::default() };
        let importer = Importer::new(self, actor, &options, JobId::new()).await?.via_api(named);
        let mut report = OrderImportReport::default();
        importer.batch(std::slice::from_ref(&order), &mut report).await?;
        let outcome = outcome(&report);
        let stored = self.store.orders().by_key(actor.tenant, Platform::OwnMall, &order.shop, &order.order_id).await?;
        let history = self.store.orders().history(actor.tenant, stored.order.id).await?;
        let o = &stored.order;
        let detail = json!({"shop": o.shop, "platform_order_id": o.platform_order_id, "outcome": outcome,
            "status": o.status, "customer_id": o.customer_id, "match_method": o.match_method});
        let event =
            AuditEvent { action: "order.post", object_type: "order", object_id: Some(o.id.to_string()), detail };
        self.audit(actor, event).await;
        let label = serde_json::to_value(outcome).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        metrics::counter!("siyu_mall_orders_total", "outcome" => label).increment(1);
        if let Some(c) = o.customer_id {
            self.after_customer_change(actor.tenant, c).await;
        }
        Ok(MallOrderResult {
            outcome,
            status_changed: report.status_changes > 0,
            detail: OrderDetail {
                order: stored.order.into(),
                lines: stored.lines,
                history: history.into_iter().map(|h| OrderStatusChange { from: h.from, to: h.to, at: h.at }).collect(),
            },
        })
    }
}
