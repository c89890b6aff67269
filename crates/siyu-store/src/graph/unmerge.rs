//! Undoing a merge in one transaction: the absorbed customer comes back under its own id with the
//! identities the replay gave it, the events attributed through them, its orders, tags, follows, notes
//! and timeline; the edges joining the two sides are retracted (a new fact, never a delete).

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, EdgeId, IdentityId, OrderId, TenantId, UnmergeId, UserId};
use siyu_domain::timeline::TimelineEntry;
use sqlx::types::Json;
use uuid::Uuid;

use super::merges::consent_change;
use super::{Graph, MergeRecord};
use crate::sql::{Arg, Sql, dyn_query};
use crate::statements::{insert_customer, insert_timeline};
use crate::{StoreError, in_write_tx};

/// One un-merge to write.
pub struct UnmergePlan<'a> {
    pub id: UnmergeId,
    pub merge: &'a MergeRecord,
    /// The customer holding the merged identities now (the survivor, or whoever absorbed it since).
    pub current: CustomerId,
    /// Identities going back to the absorbed customer.
    pub identities: &'a [IdentityId],
    /// Orders going back (re-matched by their buyer keys).
    pub orders: &'a [OrderId],
    /// Edges joining the two sides: retracted.
    pub retract: &'a [EdgeId],
    pub actor: Option<UserId>,
    pub reason: &'a str,
    pub detail: serde_json::Value,
    pub timeline: &'a [TimelineEntry],
    pub at: DateTime<Utc>,
}

/// `UPDATE <table> SET customer_id = absorbed WHERE customer_id = current AND <column> IN (ids)`, in chunks.
fn move_back(table: &str, column: &str, p: &UnmergePlan<'_>, tenant: TenantId, ids: &[Uuid]) -> Vec<Sql> {
    ids.chunks(400)
        .map(|chunk| {
            let mut sql = Sql::new(&format!("UPDATE {table} SET customer_id = "));
            sql.bind(Arg::Uuid(p.merge.absorbed.0)).push(" WHERE tenant_id = ").bind(Arg::Uuid(tenant.0));
            sql.push(" AND customer_id = ").bind(Arg::Uuid(p.current.0));
            sql.push(&format!(" AND {column} IN ")).bind_list(chunk.iter().copied());
            sql
        })
        .collect()
}

impl Graph<'_> {
    /// Applies an un-merge atomically. `Conflict` when the merge was already undone or the absorbed id is
    /// taken again.
    pub async fn unmerge(&self, tenant: TenantId, p: &UnmergePlan<'_>) -> Result<(), StoreError> {
        let m = p.merge;
        let (a, c) = (m.absorbed.0, p.current.0);
        let identities: Vec<Uuid> = p.identities.iter().map(|i| i.0).collect();
        let orders: Vec<Uuid> = p.orders.iter().map(|o| o.0).collect();
        let mut moves = move_back("identities", "id", p, tenant, &identities);
        moves.extend(move_back("events", "identity_id", p, tenant, &identities));
        moves.extend(move_back("orders", "id", p, tenant, &orders));
        moves.extend(move_back("notes", "id", p, tenant, &m.moved.notes));
        moves.extend(move_back("timeline", "id", p, tenant, &m.moved.timeline));
        for table in super::merges::FOLLOWERS {
            if let Some(ids) = m.moved.rows.get(table) {
                moves.extend(move_back(table, "id", p, tenant, ids));
            }
        }
        // The absorbed customer returns under its id, as it was when merged.
        let restored = siyu_domain::customer::Customer { updated_at: p.at, ..m.snapshot.clone() };
        in_write_tx!(self.0, tx => {
            insert_customer!(tenant, &restored).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO identity_unmerges (tenant_id, id, merge_id, actor_id, reason, at, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(tenant.0).bind(p.id.0).bind(m.id.0).bind(p.actor.map(|u| u.0)).bind(p.reason).bind(p.at)
                .bind(Json(&p.detail)).execute(&mut *tx).await?;
            for sql in moves {
                dyn_query!(sql).execute(&mut *tx).await?;
            }
            for t in &m.moved.tags {
                sqlx::query(
                    "INSERT INTO customer_tags (tenant_id, customer_id, tag_id, added_by, added_at) \
                     SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM tags WHERE tenant_id = $1 AND id = $3) \
                     ON CONFLICT (tenant_id, customer_id, tag_id) DO NOTHING")
                    .bind(tenant.0).bind(a).bind(t.tag_id).bind(t.added_by).bind(t.added_at).execute(&mut *tx).await?;
                if t.moved {
                    sqlx::query("DELETE FROM customer_tags WHERE tenant_id = $1 AND customer_id = $2 AND tag_id = $3")
                        .bind(tenant.0).bind(c).bind(t.tag_id).execute(&mut *tx).await?;
                }
            }
            for f in &m.moved.follows {
                if f.moved {
                    sqlx::query("UPDATE follows SET customer_id = $3 WHERE tenant_id = $1 AND customer_id = $2 AND user_id = $4")
                        .bind(tenant.0).bind(c).bind(a).bind(f.user_id).execute(&mut *tx).await?;
                } else {
                    sqlx::query(
                        "INSERT INTO follows (tenant_id, customer_id, user_id, remark, description, add_way, state, added_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, customer_id, user_id) DO NOTHING")
                        .bind(tenant.0).bind(a).bind(f.user_id).bind(&f.remark).bind(&f.description).bind(&f.add_way)
                        .bind(&f.state).bind(f.added_at).execute(&mut *tx).await?;
                }
            }
            // Consents: the absorbed customer's come back; the survivor's return to what it had before the
            // merge, unless it changed since.
            for k in &m.moved.consents {
                sqlx::query("INSERT INTO consents (tenant_id, customer_id, purpose, status, source, changed_by, changed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, customer_id, purpose) DO NOTHING")
                    .bind(tenant.0).bind(a).bind(&k.purpose).bind(&k.status).bind(&k.source).bind(k.changed_by)
                    .bind(k.changed_at).execute(&mut *tx).await?;
                if !k.applied {
                    continue;
                }
                let (to, source, by, at) = match &k.replaced {
                    Some((status, source, by, at)) => (status.as_str(), source.as_str(), *by, *at),
                    None => ("unknown", k.source.as_str(), p.actor.map(|u| u.0), p.at),
                };
                let reverted = sqlx::query("UPDATE consents SET status = $4, source = $5, changed_by = $6, changed_at = $7 \
                     WHERE tenant_id = $1 AND customer_id = $2 AND purpose = $3 AND status = $8 AND changed_at = $9")
                    .bind(tenant.0).bind(c).bind(&k.purpose).bind(to).bind(source).bind(by).bind(at)
                    .bind(&k.status).bind(k.changed_at).execute(&mut *tx).await?.rows_affected();
                if reverted > 0 {
                    let actor = p.actor.map(|u| u.0);
                    let change = consent_change(&k.purpose, &k.status, to, source, actor, "unmerge", p.at)?;
                    crate::privacy::insert_change!(tenant, p.current, &change).execute(&mut *tx).await?;
                }
            }
            for e in p.retract {
                sqlx::query(
                    "INSERT INTO identity_edge_retractions (tenant_id, edge_id, unmerge_id, reason, retracted_by, retracted_at) \
                     VALUES ($1, $2, $3, 'unmerge', $4, $5) ON CONFLICT (tenant_id, edge_id) DO NOTHING")
                    .bind(tenant.0).bind(e.0).bind(p.id.0).bind(p.actor.map(|u| u.0)).bind(p.at).execute(&mut *tx).await?;
            }
            for e in p.timeline {
                insert_timeline!(tenant, e).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }
}
