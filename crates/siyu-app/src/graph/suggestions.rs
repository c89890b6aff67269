//! The merge-suggestion queue: pairs the rules would not merge on their own (weak or masked evidence,
//! uniqueness conflicts, caps), which an operator accepts (a strong, attributed link: the customers merge)
//! or rejects (the pair is not raised again for that reason).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::event::Strength;
use siyu_domain::graph::{Key, SuggestionReason, SuggestionStatus};
use siyu_domain::id::{CustomerId, OrderId, SuggestionId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_store::graph::SuggestionRecord;

use super::{Observation, Observed, Resolution};
use crate::audit::AuditEvent;
use crate::customers::CustomerSummary;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A suggestion with the two customers as lists show them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SuggestionView {
    pub id: SuggestionId,
    pub reason: SuggestionReason,
    pub status: SuggestionStatus,
    /// The identifier kind and its masked display, and what observed it (`event:<id>`, `order:<id>`).
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub a: CustomerSummary,
    pub b: CustomerSummary,
}

/// An order's full receiver mobile, for a `receiver_phone` suggestion when it is another customer's phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverPhone {
    pub customer: CustomerId,
    /// The phone's blind index.
    pub lookup: String,
    /// Masked (`138****5678`).
    pub display: String,
    pub order: OrderId,
}

impl App {
    /// Raises a `receiver_phone` suggestion for every order shipped to a phone another customer holds: a
    /// gift's receiver is not the buyer, so this never merges, but it may be the same person's second account.
    pub async fn suggest_receivers(&self, tenant: TenantId, receivers: &[ReceiverPhone]) -> AppResult<()> {
        let graph = self.store.graph();
        for r in receivers {
            let key = Key::new(IdentityKind::Phone, "", &r.lookup);
            for held in graph.holders(tenant, std::slice::from_ref(&key)).await? {
                if held.customer != r.customer {
                    let evidence = json!({"kind": IdentityKind::Phone, "display": r.display, "evidence": format!("order:{}", r.order)});
                    let s = SuggestionRecord::open(
                        r.customer,
                        held.customer,
                        SuggestionReason::ReceiverPhone,
                        evidence,
                        self.now(),
                    );
                    graph.add_suggestion(tenant, &s).await?;
                }
            }
        }
        Ok(())
    }

    /// Suggestions with `status` whose two customers the actor may see, newest first.
    pub async fn merge_suggestions(
        &self,
        actor: &Actor,
        status: SuggestionStatus,
        before: Option<DateTime<Utc>>,
        limit: i64,
    ) -> AppResult<Vec<SuggestionView>> {
        actor.require(Permission::CustomersRead)?;
        let records = self.store.graph().suggestions(actor.tenant, status, before, limit.clamp(1, 200)).await?;
        self.suggestion_views(actor, records).await
    }

    /// Open suggestions involving one customer (for the customer page).
    pub async fn merge_suggestions_of(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<SuggestionView>> {
        self.ensure_visible(actor, customer).await?;
        let records = self.store.graph().suggestions_of(actor.tenant, customer).await?;
        self.suggestion_views(actor, records).await
    }

    pub async fn count_open_suggestions(&self, actor: &Actor) -> AppResult<i64> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.graph().count_suggestions(actor.tenant, SuggestionStatus::Open).await?)
    }

    async fn suggestion_views(&self, actor: &Actor, records: Vec<SuggestionRecord>) -> AppResult<Vec<SuggestionView>> {
        let mut ids: Vec<CustomerId> = records.iter().flat_map(|r| [r.a, r.b]).collect();
        ids.sort();
        ids.dedup();
        let mut visible = Vec::new();
        for c in self.store.customers().by_ids(actor.tenant, &ids).await? {
            if self.ensure_visible(actor, c.id).await.is_ok() {
                visible.push(c);
            }
        }
        let summaries = self.summaries(actor, visible).await?;
        let find = |id: CustomerId| summaries.iter().find(|s| s.customer.id == id).cloned();
        Ok(records
            .into_iter()
            .filter_map(|r| {
                Some(SuggestionView {
                    id: r.id,
                    reason: r.reason,
                    status: r.status,
                    evidence: r.evidence,
                    created_at: r.created_at,
                    decided_at: r.decided_at,
                    a: find(r.a)?,
                    b: find(r.b)?,
                })
            })
            .collect())
    }

    /// Both customers of a suggestion that still exist must be visible to the actor (one of a decided pair
    /// may have been merged away); `NotFound` when none is left.
    async fn ensure_pair_visible(&self, actor: &Actor, s: &SuggestionRecord) -> AppResult<()> {
        let existing = self.store.customers().by_ids(actor.tenant, &[s.a, s.b]).await?;
        if existing.is_empty() {
            return Err(AppError::NotFound);
        }
        for c in existing {
            self.ensure_visible(actor, c.id).await?;
        }
        Ok(())
    }

    /// Accepts a suggestion: the operator's confirmation becomes a strong, attributed link between the two
    /// customers' best identifiers and they merge (the older survives). Refused with `merge_conflict` when
    /// they hold different values of a unique kind (two unionids, two userIds).
    pub async fn accept_suggestion(&self, actor: &Actor, id: SuggestionId) -> AppResult<Resolution> {
        actor.require(Permission::CustomersWrite)?;
        let graph = self.store.graph();
        let s = graph.suggestion(actor.tenant, id).await?;
        self.ensure_pair_visible(actor, &s).await?;
        if s.status != SuggestionStatus::Open {
            return Err(AppError::Conflict("this suggestion was already decided".into()));
        }
        let people = graph.people(actor.tenant, &[s.a, s.b]).await?;
        if people.iter().any(|p| p.erased) {
            return Err(AppError::CustomerErased);
        }
        let best = |c: CustomerId| {
            let p = people.iter().find(|p| p.id == c)?;
            p.identities.iter().max_by_key(|(_, k, _)| k.kind.priority()).map(|(_, k, _)| k.clone())
        };
        let (Some(ka), Some(kb)) = (best(s.a), best(s.b)) else {
            return Err(AppError::Conflict("one of the two customers has no identifier left to link".into()));
        };
        let unique = |p: &siyu_store::graph::PersonRecord| -> Vec<Key> {
            p.identities.iter().map(|(_, k, _)| k.clone()).filter(|k| k.kind.is_unique_per_person()).collect()
        };
        if let [x, y] = people.as_slice() {
            let (ux, uy) = (unique(x), unique(y));
            if ux
                .iter()
                .any(|a| uy.iter().any(|b| a.kind == b.kind && a.namespace == b.namespace && a.lookup != b.lookup))
            {
                return Err(AppError::Conflict("the two customers hold different values of a unique identifier (unionid, openid, userId): they cannot be one person".into()));
            }
        }
        let observed =
            |k: Key| Observed { display: k.lookup.clone(), key: k, strength: Strength::Strong, value_enc: None };
        let obs = Observation {
            identifiers: vec![observed(ka), observed(kb)],
            masked_phones: Vec::new(),
            source: "console".into(),
            evidence: format!("suggestion:{}", s.id),
            event: None,
            name: None,
            actor: Some(actor.user),
            at: self.now(),
        };
        let resolution = self.exclusively(actor.tenant, self.observe(actor.tenant, &obs)).await?;
        if resolution.merged.is_empty() {
            return Err(AppError::Conflict("the two customers hold different values of a unique identifier (unionid, openid, userId): they cannot be one person".into()));
        }
        graph.decide_suggestion(actor.tenant, s.id, SuggestionStatus::Accepted, actor.user, self.now()).await?;
        if let Some(c) = resolution.customer {
            self.refresh_aggregates(actor.tenant, &[c]).await?;
        }
        let detail = json!({"suggestion": s.id, "survivor": resolution.customer, "absorbed": resolution.merged});
        let audit = AuditEvent {
            action: "customer.merge",
            object_type: "customer",
            object_id: resolution.customer.map(|c| c.to_string()),
            detail,
        };
        self.audit(actor, audit).await;
        Ok(resolution)
    }

    /// Rejects a suggestion: the two stay separate and the pair is not raised again for this reason.
    pub async fn reject_suggestion(&self, actor: &Actor, id: SuggestionId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        let graph = self.store.graph();
        let s = graph.suggestion(actor.tenant, id).await?;
        self.ensure_pair_visible(actor, &s).await?;
        if !graph.decide_suggestion(actor.tenant, s.id, SuggestionStatus::Rejected, actor.user, self.now()).await? {
            return Err(AppError::Conflict("this suggestion was already decided".into()));
        }
        let detail = json!({"suggestion": s.id, "a": s.a, "b": s.b, "reason": s.reason});
        self.audit(
            actor,
            AuditEvent {
                action: "customer.merge_rejected",
                object_type: "customer",
                object_id: Some(s.a.to_string()),
                detail,
            },
        )
        .await;
        Ok(())
    }
}
