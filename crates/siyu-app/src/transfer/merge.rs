//! Applying an import row to a customer that already exists (see the row policy in `import.rs`).

use serde_json::json;
use siyu_domain::id::{CustomerId, TagId, TimelineId};
use siyu_domain::identity::NewIdentity;
use siyu_domain::tag::{self, HeldTag};
use siyu_domain::timeline::{TimelineEntry, kinds};
use siyu_store::customers::CustomerMerge;
use siyu_store::tags::{ChangeContext, TagChange};

use super::import::Outcome;
use super::rows::RowInput;
use super::tags::TagCatalog;
use crate::customers::IdentityInput;
use crate::error::AppResult;
use crate::{Actor, App};

const SOURCE: &str = "import";

impl App {
    /// Merges one row into an existing customer in one transaction: non-empty cells overwrite the profile,
    /// new identities and tags are added. `Unchanged` when the customer already looks like the row.
    pub(super) async fn merge_imported(
        &self,
        actor: &Actor,
        customer: CustomerId,
        input: &RowInput,
        tags: &[TagId],
        new_identities: &[NewIdentity],
        catalog: &TagCatalog,
    ) -> AppResult<Outcome> {
        let now = self.now();
        let mut c = self.store.customers().get(actor.tenant, customer).await?;
        let before = c.clone();
        if let Some(n) = &input.name {
            c.name = n.clone();
        }
        if let Some(g) = input.gender {
            c.gender = g;
        }
        if let Some(r) = &input.remark {
            c.remark = Some(r.clone());
        }
        for (_, k, v) in &input.custom {
            c.custom.insert(k.clone(), v.clone());
        }
        let mut changed = Vec::new();
        for (field, differs) in [
            ("name", before.name != c.name),
            ("gender", before.gender != c.gender),
            ("remark", before.remark != c.remark),
            ("custom", before.custom != c.custom),
        ] {
            if differs {
                changed.push(field);
            }
        }
        let entry = |kind: &str, payload: serde_json::Value| TimelineEntry {
            id: TimelineId::new(),
            customer_id: customer,
            occurred_at: now,
            source: SOURCE.into(),
            kind: kind.into(),
            actor_id: Some(actor.user),
            payload,
        };
        let mut timeline = Vec::new();
        if !changed.is_empty() {
            c.updated_at = now;
            timeline.push(entry(kinds::PROFILE_UPDATED, json!({"fields": changed})));
        }
        let mut records = Vec::with_capacity(new_identities.len());
        for id in new_identities {
            let input = IdentityInput {
                kind: id.kind,
                namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
                value: id.value.clone(),
            };
            let rec = self.identity_record(actor, customer, &input, SOURCE).await?;
            timeline.push(entry(
                kinds::IDENTITY_ADDED,
                json!({"kind": rec.identity.kind, "display": rec.identity.display}),
            ));
            records.push(rec);
        }
        let held: Vec<HeldTag> = self
            .store
            .tags()
            .held(actor.tenant, &[customer])
            .await?
            .into_iter()
            .filter_map(|(_, t)| catalog.tag(t).map(|tag| HeldTag { tag: t, group: tag.group_id }))
            .collect();
        let mut changes: Vec<TagChange> = Vec::new();
        for t in tags {
            let (Some(tag), Some(group)) = (catalog.tag(*t), catalog.group_of(*t)) else { continue };
            if held.iter().any(|h| h.tag == *t) {
                continue;
            }
            for displaced in tag::displaced_by(&held, *t, group.id, group.exclusive) {
                if let Some(d) = catalog.tag(displaced) {
                    changes.push(TagChange { tag: displaced, tag_name: d.name.clone(), add: false });
                }
            }
            changes.push(TagChange { tag: *t, tag_name: tag.name.clone(), add: true });
        }
        if changed.is_empty() && records.is_empty() && changes.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        let ctx = ChangeContext { actor: Some(actor.user), source: SOURCE, reason: "import", at: now };
        let merge = CustomerMerge {
            customer: &c,
            profile_changed: !changed.is_empty(),
            identities: &records,
            tags: &changes,
            ctx: &ctx,
            timeline: &timeline,
        };
        self.store.customers().merge(actor.tenant, &merge).await?;
        self.mark_segments_dirty(actor.tenant, &[customer]).await;
        Ok(Outcome::Updated)
    }
}
