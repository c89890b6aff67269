//! Merging imported rows into customers that already exist, and resolving many identities at once.
//!
//! An import row that names an existing customer (same phone, unionid, ...) updates that customer instead
//! of creating a duplicate: the profile, new identities and tags are written in one transaction, so a row
//! is either applied completely or not at all.

use siyu_domain::customer::Customer;
use siyu_domain::id::{CustomerId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::timeline::{TimelineEntry, kinds};
use sqlx::types::Json;
use uuid::Uuid;

use super::Customers;
use crate::identities::{Identities, IdentityRecord};
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::tags::{ChangeContext, TagChange};
use crate::{StoreError, in_tx, on_pool};

/// Changes to one existing customer, written in one transaction.
pub struct CustomerMerge<'a> {
    /// The customer with its merged profile; written when `profile_changed`.
    pub customer: &'a Customer,
    pub profile_changed: bool,
    /// Identities to add to the customer.
    pub identities: &'a [IdentityRecord],
    /// Tags to add or remove (only effective changes reach history and the timeline).
    pub tags: &'a [TagChange],
    pub ctx: &'a ChangeContext<'a>,
    /// Timeline entries besides the tag changes (profile updated, identity added).
    pub timeline: &'a [TimelineEntry],
}

impl Customers<'_> {
    /// Applies a [`CustomerMerge`] atomically; returns the effective tag changes. A taken identity answers
    /// `Conflict("identities_lookup")` and leaves no trace.
    pub async fn merge(&self, tenant: TenantId, m: &CustomerMerge<'_>) -> Result<Vec<TagChange>, StoreError> {
        let c = m.customer;
        let mut effective = Vec::new();
        let result: Result<(), StoreError> = async {
            in_tx!(self.0, tx => {
                if m.profile_changed {
                    let done = sqlx::query(
                        "UPDATE customers SET name = $3, gender = $4, avatar_url = $5, remark = $6, custom = $7, updated_at = $8 \
                         WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.0).bind(c.id.0).bind(&c.name).bind(c.gender.as_str()).bind(&c.avatar_url)
                        .bind(&c.remark).bind(Json(&c.custom)).bind(c.updated_at)
                        .execute(&mut *tx).await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                }
                for r in m.identities {
                    let i = &r.identity;
                    sqlx::query(
                        "INSERT INTO identities (tenant_id, id, customer_id, kind, namespace, lookup, value_enc, display, source, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                        .bind(tenant.0).bind(i.id.0).bind(c.id.0).bind(i.kind.as_str()).bind(&i.namespace).bind(&r.lookup)
                        .bind(&r.value_enc).bind(&i.display).bind(&i.source).bind(i.created_at)
                        .execute(&mut *tx).await?;
                }
                for t in m.tags {
                    let done = if t.add {
                        sqlx::query(
                            "INSERT INTO customer_tags (tenant_id, customer_id, tag_id, added_by, added_at) VALUES ($1, $2, $3, $4, $5) \
                             ON CONFLICT (tenant_id, customer_id, tag_id) DO NOTHING")
                            .bind(tenant.0).bind(c.id.0).bind(t.tag.0).bind(m.ctx.actor.map(|a| a.0)).bind(m.ctx.at)
                            .execute(&mut *tx).await?
                    } else {
                        sqlx::query("DELETE FROM customer_tags WHERE tenant_id = $1 AND customer_id = $2 AND tag_id = $3")
                            .bind(tenant.0).bind(c.id.0).bind(t.tag.0)
                            .execute(&mut *tx).await?
                    };
                    if done.rows_affected() == 0 {
                        continue;
                    }
                    let op = if t.add { "add" } else { "remove" };
                    sqlx::query(
                        "INSERT INTO tag_history (tenant_id, id, customer_id, tag_id, tag_name, op, actor_id, reason, at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                        .bind(tenant.0).bind(Uuid::now_v7()).bind(c.id.0).bind(t.tag.0).bind(&t.tag_name).bind(op)
                        .bind(m.ctx.actor.map(|a| a.0)).bind(m.ctx.reason).bind(m.ctx.at)
                        .execute(&mut *tx).await?;
                    let kind = if t.add { kinds::TAG_ADDED } else { kinds::TAG_REMOVED };
                    let payload = serde_json::json!({ "tag_id": t.tag, "tag": t.tag_name, "reason": m.ctx.reason });
                    sqlx::query(
                        "INSERT INTO timeline (tenant_id, id, customer_id, occurred_at, source, kind, actor_id, payload) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                        .bind(tenant.0).bind(Uuid::now_v7()).bind(c.id.0).bind(m.ctx.at).bind(m.ctx.source).bind(kind)
                        .bind(m.ctx.actor.map(|a| a.0)).bind(Json(&payload))
                        .execute(&mut *tx).await?;
                    effective.push(t.clone());
                }
                for e in m.timeline {
                    sqlx::query(
                        "INSERT INTO timeline (tenant_id, id, customer_id, occurred_at, source, kind, actor_id, payload) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                        .bind(tenant.0).bind(e.id.0).bind(c.id.0).bind(e.occurred_at).bind(&e.source).bind(&e.kind)
                        .bind(e.actor_id.map(|a| a.0)).bind(Json(&e.payload))
                        .execute(&mut *tx).await?;
                }
            });
            Ok(())
        }
        .await;
        result.map_err(|e| match e {
            StoreError::Conflict(c) if c.contains("identities") || c.contains("lookup") => {
                StoreError::Conflict("identities_lookup".into())
            }
            other => other,
        })?;
        Ok(effective)
    }
}

impl Identities<'_> {
    /// The customers holding any of `lookups` of one (kind, namespace): `(lookup, customer)` pairs.
    pub async fn resolve_many(
        &self,
        tenant: TenantId,
        kind: IdentityKind,
        namespace: &str,
        lookups: &[String],
    ) -> Result<Vec<(String, CustomerId)>, StoreError> {
        let mut out = Vec::new();
        for chunk in lookups.chunks(500) {
            let mut sql = Sql::new("SELECT lookup, customer_id FROM identities WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0));
            sql.push(" AND kind = ").bind(Arg::Text(kind.as_str().into()));
            sql.push(" AND namespace = ").bind(Arg::Text(namespace.into()));
            sql.push(" AND lookup IN (");
            for (i, l) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Arg::Text(l.clone()));
            }
            sql.push(")");
            let rows: Vec<(String, Uuid)> =
                on_pool!(self.0, p => dyn_query_as!((String, Uuid), sql).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|(l, c)| (l, CustomerId(c))));
        }
        Ok(out)
    }
}
