//! Writing one resolution in one transaction: the new customer, its new identities, the merges, the edges,
//! the suggestions, the timeline entries and the event's attribution. Nothing is half-applied.

use chrono::{DateTime, Utc};
use siyu_domain::customer::Customer;
use siyu_domain::id::{CustomerId, EventId, IdentityId, MergeId, TenantId, UserId};
use siyu_domain::timeline::TimelineEntry;
use sqlx::types::Json;

use super::merges::merge_customer;
use super::{EdgeRecord, Graph, SuggestionRecord, insert_edge};
use crate::identities::{IdentityRecord, identity_conflict};
use crate::statements::{insert_customer, insert_identity, insert_timeline};
use crate::{StoreError, in_write_tx};

/// A customer to merge into the target.
#[derive(Debug, Clone)]
pub struct MergePlan {
    pub id: MergeId,
    pub absorbed: CustomerId,
    /// `strong_identifier` (automatic) or `suggestion_accepted` (an operator confirmed).
    pub rule: String,
    /// What caused it: `event:<id>`, `order:<id>`, `suggestion:<id>`.
    pub evidence: String,
}

/// One resolution to write.
pub struct Applied<'a> {
    pub target: CustomerId,
    /// The target's row when the resolution creates it.
    pub create: Option<&'a Customer>,
    pub attach: &'a [IdentityRecord],
    pub merges: &'a [MergePlan],
    pub edges: &'a [EdgeRecord],
    pub suggestions: &'a [SuggestionRecord],
    pub timeline: &'a [TimelineEntry],
    /// The event resolved, with the identity it is attributed through.
    pub event: Option<(EventId, Option<IdentityId>)>,
    pub actor: Option<UserId>,
    pub at: DateTime<Utc>,
}

impl Graph<'_> {
    /// Applies a resolution atomically. A taken identity (another resolution won the race) answers
    /// `Conflict("identities_lookup")` and writes nothing: resolve again.
    pub async fn apply(&self, tenant: TenantId, r: &Applied<'_>) -> Result<(), StoreError> {
        self.apply_many(tenant, std::slice::from_ref(r)).await
    }

    /// Applies several resolutions in one transaction (the resolver's batch of new people), in order.
    pub async fn apply_many(&self, tenant: TenantId, all: &[Applied<'_>]) -> Result<(), StoreError> {
        if all.is_empty() {
            return Ok(());
        }
        let result: Result<(), StoreError> = async {
            in_write_tx!(self.0, tx => {
                for r in all {
                    if let Some(c) = r.create {
                        insert_customer!(tenant, c).execute(&mut *tx).await?;
                    }
                    for m in r.merges {
                        let (snapshot, moved) = merge_customer!(tx, tenant, r.target, m.absorbed, r.at);
                        sqlx::query(
                            "INSERT INTO identity_merges (tenant_id, id, survivor_id, absorbed_id, rule, evidence, actor_id, at, snapshot, moved) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                            .bind(tenant.0).bind(m.id.0).bind(r.target.0).bind(m.absorbed.0).bind(&m.rule).bind(&m.evidence)
                            .bind(r.actor.map(|a| a.0)).bind(r.at).bind(Json(&snapshot)).bind(Json(&moved))
                            .execute(&mut *tx).await?;
                    }
                    for i in r.attach {
                        insert_identity!(tenant, r.target, i).execute(&mut *tx).await?;
                    }
                    for e in r.edges {
                        insert_edge!(tenant, e).execute(&mut *tx).await?;
                    }
                    for s in r.suggestions {
                        crate::graph::suggestions::insert_suggestion!(tenant, s).execute(&mut *tx).await?;
                    }
                    for e in r.timeline {
                        insert_timeline!(tenant, e).execute(&mut *tx).await?;
                    }
                    if let Some((event, identity)) = r.event {
                        sqlx::query("UPDATE events SET customer_id = $3, identity_id = $4, resolved_at = $5 WHERE tenant_id = $1 AND id = $2")
                            .bind(tenant.0).bind(event.0).bind(r.target.0).bind(identity.map(|i| i.0)).bind(r.at)
                            .execute(&mut *tx).await?;
                    }
                }
            });
            Ok(())
        }
        .await;
        result.map_err(identity_conflict)
    }
}
