//! The dispatcher over the outbox: one delivery per dedupe key, one item's failure recorded on that item.

use serde_json::json;
use siyu_domain::id::{TagId, TenantId};
use siyu_domain::journey::step::Action;
use siyu_store::journeys::OutboxItem;
use siyu_store::tags::{ChangeContext, TagChange};

use super::BATCH;
use super::channels::Message;
use crate::App;
use crate::error::AppResult;

impl App {
    /// Delivers a batch of pending outbox rows of each tenant that has some; returns how many were handled
    /// (callers call again while it is more than 0).
    pub async fn dispatch_outbox(&self) -> AppResult<u64> {
        let mut done = 0;
        for tenant in self.store.journeys().tenants_with_outbox(self.now(), 100).await? {
            // One batch per tenant per call: a backlog of deliveries (a mass of sends all due at once) must not
            // hold up the worker's other steps, journeys falling due above all. The worker calls again at once
            // while this returns more than 0.
            let items = self.store.journeys().pending_outbox(tenant, self.now(), BATCH).await?;
            for item in &items {
                // One item's failure is recorded on that item only; its neighbours still go.
                if let Err(e) = self.deliver(tenant, item).await {
                    tracing::warn!(error = ?e, outbox = %item.id, "outbox delivery failed");
                    let result = json!({"error": e.code().name(), "message": e.to_string()});
                    self.finish_delivery(tenant, item, "failed", &result, self.now()).await?;
                }
                done += 1;
            }
        }
        Ok(done)
    }

    async fn deliver(&self, tenant: TenantId, item: &OutboxItem) -> AppResult<()> {
        let now = self.now();
        let journeys = self.store.journeys();
        match &item.action {
            Action::Send { channel, template, attachments } => match super::channels::find(channel) {
                Some(ch) => ch.deliver(self, tenant, item, Message { template, attachments }).await?,
                None => {
                    // Published before the channel went away: nothing can deliver it.
                    let result = json!({"error": "channel_not_available", "channel": channel});
                    self.finish_delivery(tenant, item, "failed", &result, now).await?
                }
            },
            Action::Tag { add, remove } => {
                let tags = self.store.tags().all_tags(tenant).await?;
                let name = |id: &TagId| tags.iter().find(|t| t.id == *id).map(|t| t.name.clone());
                let changes: Vec<TagChange> = add
                    .iter()
                    .filter_map(|t| name(t).map(|n| TagChange { tag: *t, tag_name: n, add: true }))
                    .chain(
                        remove.iter().filter_map(|t| name(t).map(|n| TagChange { tag: *t, tag_name: n, add: false })),
                    )
                    .collect();
                let ctx = ChangeContext { actor: None, source: "journey", reason: "journey", at: now };
                let applied = self.store.tags().change(tenant, item.customer_id, &changes, &ctx).await?;
                self.queue_tag_push(tenant, item.customer_id, &applied).await;
                journeys.finish_outbox(tenant, item.id, "sent", &json!({"changed": applied.len()}), now).await?;
                self.after_customer_change(tenant, item.customer_id).await;
            }
            Action::Enrol { journey } => {
                let entry = self.enrol_in_journey(tenant, *journey, item.customer_id).await?;
                journeys.finish_outbox(tenant, item.id, "sent", &json!({"entry": entry}), now).await?;
            }
            Action::Webhook { url } => self.deliver_webhook(tenant, item, url).await?,
            Action::Task { title, due_at, kind } => {
                self.create_journey_task(tenant, item, title, *kind, *due_at).await?
            }
            Action::Stage { stage } => {
                let from = self
                    .store
                    .stages()
                    .current(tenant, &[item.customer_id])
                    .await?
                    .remove(&item.customer_id)
                    .map(|s| s.0);
                let m = siyu_store::stages::StageMove {
                    customer: item.customer_id,
                    from,
                    to: stage.clone(),
                    at: now,
                    reason: "journey".into(),
                    actor: None,
                    journey: Some(item.journey_id),
                };
                let moved = self.store.stages().apply(tenant, &[m]).await?;
                journeys.finish_outbox(tenant, item.id, "sent", &json!({"moved": moved}), now).await?;
            }
            other => {
                let result = json!({"error": "channel_not_available", "action": other});
                journeys.finish_outbox(tenant, item.id, "failed", &result, now).await?;
            }
        }
        Ok(())
    }
}
