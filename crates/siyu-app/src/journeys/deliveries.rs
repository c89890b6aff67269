//! What comes back from a delivery (reference/journeys.md §5.4: failures are reported back): a send or
//! webhook finished as `sent` or `failed` writes `message_sent` / `message_failed` to the customer's
//! timeline in the same transaction as the outbox row, where journeys and people can see it. Failed rows are
//! the dead letters an operator lists and puts back in the queue.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use siyu_domain::access::Permission;
use siyu_domain::customer::Customer;
use siyu_domain::id::{CustomerId, JourneyId, TenantId, TimelineId};
use siyu_domain::journey::step::Action;
use siyu_domain::timeline::{TimelineEntry, kinds};
use siyu_store::journeys::OutboxItem;
use uuid::Uuid;

use crate::error::AppResult;
use crate::{Actor, App};

/// Most dead letters one list shows.
pub const DEAD_LETTERS_SHOWN: i64 = 200;

/// A delivery that failed for good, as the API and console list it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeadLetterView {
    /// The outbox row (what `retry` takes).
    pub id: Uuid,
    pub journey_id: JourneyId,
    pub journey_name: Option<String>,
    pub customer_id: CustomerId,
    pub node: String,
    /// `send`, `webhook`, `task`, `tag`, ...
    pub kind: String,
    /// The channel of a send or the URL of a webhook.
    pub target: Option<String>,
    pub attempts: i64,
    pub error: Option<String>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// The channel a delivery result is reported under: a send's channel, or `webhook`; `None` for other actions.
fn reported_channel(a: &Action) -> Option<&str> {
    match a {
        Action::Send { channel, .. } => Some(channel),
        Action::Webhook { .. } => Some("webhook"),
        _ => None,
    }
}

/// The timeline entry telling that a send or webhook was delivered (`error` `None`) or failed.
pub(crate) fn delivery_event(
    item: &OutboxItem,
    channel: &str,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> TimelineEntry {
    let mut payload = json!({"journey_id": item.journey_id, "node": item.node, "channel": channel,
        "dedupe_key": item.dedupe_key});
    if let Some(e) = error {
        payload["error"] = json!(e);
    }
    let kind = if error.is_some() { kinds::MESSAGE_FAILED } else { kinds::MESSAGE_SENT };
    message_event(item.customer_id, kind, payload, at)
}

/// A journey message's timeline entry of `kind` (`message_sent`, `message_delivered`, `message_failed`).
pub(crate) fn message_event(customer: CustomerId, kind: &str, payload: Value, at: DateTime<Utc>) -> TimelineEntry {
    TimelineEntry {
        id: TimelineId::new(),
        customer_id: customer,
        occurred_at: at,
        source: "journey".into(),
        kind: kind.into(),
        actor_id: None,
        payload,
    }
}

fn error_of(result: &Value) -> Option<String> {
    result.get("error").map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
}

impl App {
    /// Finishes an outbox row as `sent` or `failed`; for a send or webhook, with its `message_sent` /
    /// `message_failed` timeline entry in the same transaction.
    pub(crate) async fn finish_delivery(
        &self,
        tenant: TenantId,
        item: &OutboxItem,
        status: &str,
        result: &Value,
        at: DateTime<Utc>,
    ) -> AppResult<()> {
        let journeys = self.store.journeys();
        match reported_channel(&item.action) {
            Some(channel) => {
                let error = if status == "sent" { None } else { Some(error_of(result).unwrap_or_default()) };
                let event = delivery_event(item, channel, error.as_deref(), at);
                journeys.finish_with_event(tenant, item.id, status, result, Some(&event), at).await?
            }
            None => journeys.finish_outbox(tenant, item.id, status, result, at).await?,
        }
        Ok(())
    }

    /// The customer an outbox row is for; `None` when they were merged into another customer or erased, with
    /// the row failed as `customer_gone` (nothing to deliver, and the row must not stay due).
    pub(crate) async fn delivery_customer(&self, tenant: TenantId, item: &OutboxItem) -> AppResult<Option<Customer>> {
        match self.store.customers().get(tenant, item.customer_id).await {
            Ok(c) => Ok(Some(c)),
            Err(siyu_store::StoreError::NotFound) => {
                let result = json!({"error": "customer_gone"});
                self.store.journeys().finish_outbox(tenant, item.id, "failed", &result, self.now()).await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Failed deliveries, most recent first (`journeys_manage`).
    pub async fn dead_letters(&self, actor: &Actor) -> AppResult<Vec<DeadLetterView>> {
        actor.require(Permission::JourneysManage)?;
        let rows = self.store.journeys().dead_letters(actor.tenant, DEAD_LETTERS_SHOWN).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let action: Option<Action> = serde_json::from_value(r.action.clone()).ok();
                let kind = r.action.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
                let target = match &action {
                    Some(Action::Send { channel, .. }) => Some(channel.clone()),
                    Some(Action::Webhook { url }) => Some(url.clone()),
                    _ => None,
                };
                DeadLetterView {
                    id: r.id,
                    journey_id: r.journey_id,
                    journey_name: r.journey_name,
                    customer_id: r.customer_id,
                    node: r.node,
                    kind,
                    target,
                    attempts: r.attempts,
                    error: r.result.as_ref().and_then(error_of),
                    failed_at: r.failed_at,
                }
            })
            .collect())
    }

    /// Puts a dead letter back in the queue, due now with a fresh set of attempts (`journeys_manage`);
    /// audited. A webhook goes out again with the same idempotency key.
    pub async fn retry_dead_letter(&self, actor: &Actor, id: Uuid) -> AppResult<()> {
        actor.require(Permission::JourneysManage)?;
        self.store.journeys().requeue(actor.tenant, id, self.now()).await?;
        let ev = crate::audit::AuditEvent {
            action: "outbox.retry",
            object_type: "outbox",
            object_id: Some(id.to_string()),
            detail: Value::Null,
        };
        self.audit(actor, ev).await;
        Ok(())
    }
}
