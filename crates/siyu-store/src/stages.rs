//! Lifecycle stages: a tenant's stage list, each customer's current stage and the history of moves.
//!
//! A move (`move_stage_in_tx!`) checks the stage the caller saw is still the customer's (so a rule and a
//! member of staff moving the same customer at once cannot both win), writes the current stage, appends to
//! `stage_history` and writes a `stage_changed` timeline entry, whose trigger queues the journey signal —
//! all in the caller's transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, JourneyId, TenantId, UserId};
use siyu_domain::stage::{StageChange, StageDef};
use sqlx::types::Json;
use uuid::Uuid;

use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{StoreError, in_write_tx, on_pool};

/// The repository of lifecycle stages (`store.stages()`).
pub struct StagesRepo<'a>(pub(crate) &'a crate::Store);

impl crate::Store {
    pub fn stages(&self) -> StagesRepo<'_> {
        StagesRepo(self)
    }
}

/// One move of one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct StageMove {
    pub customer: CustomerId,
    /// The stage the mover saw (`None`: none yet); the move is dropped if it changed since.
    pub from: Option<String>,
    pub to: String,
    pub at: DateTime<Utc>,
    /// `rule:<kind>`, `manual`, `journey`, `silence`, `stalled`, `backfill`.
    pub reason: String,
    pub actor: Option<UserId>,
    pub journey: Option<JourneyId>,
}

/// Applies a [`StageMove`] in `$tx`; yields `true` when it moved the customer.
macro_rules! move_stage_in_tx {
    ($tx:ident, $tenant:expr, $m:expr) => {{
        let m: &$crate::stages::StageMove = $m;
        let tenant: siyu_domain::id::TenantId = $tenant;
        let current: Option<(String,)> =
            sqlx::query_as("SELECT stage FROM customer_stages WHERE tenant_id = $1 AND customer_id = $2")
                .bind(tenant.0)
                .bind(m.customer.0)
                .fetch_optional(&mut *$tx)
                .await?;
        let exists: Option<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM customers WHERE tenant_id = $1 AND id = $2 AND erased_at IS NULL")
            .bind(tenant.0)
            .bind(m.customer.0)
            .fetch_optional(&mut *$tx)
            .await?;
        if current.map(|c| c.0) != m.from || exists.is_none() || m.from.as_deref() == Some(m.to.as_str()) {
            false
        } else {
            sqlx::query(
                "INSERT INTO customer_stages (tenant_id, customer_id, stage, entered_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, customer_id) DO UPDATE SET stage = excluded.stage, entered_at = excluded.entered_at",
            )
            .bind(tenant.0)
            .bind(m.customer.0)
            .bind(m.to.clone())
            .bind(m.at)
            .execute(&mut *$tx)
            .await?;
            sqlx::query(
                "INSERT INTO stage_history (tenant_id, id, customer_id, from_stage, to_stage, at, reason, actor_id, \
                 journey_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(tenant.0)
            .bind(uuid::Uuid::now_v7())
            .bind(m.customer.0)
            .bind(m.from.clone())
            .bind(m.to.clone())
            .bind(m.at)
            .bind(m.reason.clone())
            .bind(m.actor.map(|a| a.0))
            .bind(m.journey.map(|j| j.0))
            .execute(&mut *$tx)
            .await?;
            let entry = siyu_domain::timeline::TimelineEntry {
                id: siyu_domain::id::TimelineId::new(),
                customer_id: m.customer,
                occurred_at: m.at,
                source: "stage".into(),
                kind: siyu_domain::timeline::kinds::STAGE_CHANGED.into(),
                actor_id: m.actor,
                payload: serde_json::json!({"from": m.from, "to": m.to, "reason": m.reason, "journey": m.journey}),
            };
            $crate::statements::insert_timeline!(tenant, &entry).execute(&mut *$tx).await?;
            true
        }
    }};
}
pub(crate) use move_stage_in_tx;

impl StagesRepo<'_> {
    /// The tenant's stage list in order (`None`: never edited, the defaults apply).
    pub async fn defs(&self, tenant: TenantId) -> Result<Option<Vec<StageDef>>, StoreError> {
        let rows: Vec<(String, String, bool, Json<serde_json::Value>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT key, name, dormant, rules FROM lifecycle_stages WHERE tenant_id = $1 ORDER BY position")
            .bind(tenant.0).fetch_all(p).await)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(rows.len());
        for (key, name, dormant, rules) in rows {
            let rules =
                serde_json::from_value(rules.0).map_err(|e| StoreError::Corrupt(format!("stage rules: {e}")))?;
            out.push(StageDef { key, name, dormant, rules });
        }
        Ok(Some(out))
    }

    /// Replaces the tenant's stage list.
    pub async fn save_defs(&self, tenant: TenantId, defs: &[StageDef], at: DateTime<Utc>) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            sqlx::query("DELETE FROM lifecycle_stages WHERE tenant_id = $1").bind(tenant.0).execute(&mut *tx).await?;
            for (i, d) in defs.iter().enumerate() {
                let rules = serde_json::to_value(&d.rules).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query("INSERT INTO lifecycle_stages (tenant_id, key, name, position, dormant, rules, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(tenant.0).bind(d.key.clone()).bind(d.name.clone()).bind(i as i64).bind(d.dormant)
                    .bind(Json(rules)).bind(at).execute(&mut *tx).await?;
            }
            Ok::<(), StoreError>(())
        })
    }

    /// The current stage and its entry time of each of `customers` that has one.
    pub async fn current(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
    ) -> Result<HashMap<CustomerId, (String, DateTime<Utc>)>, StoreError> {
        let mut out = HashMap::new();
        for chunk in customers.chunks(500) {
            let mut sql = Sql::new("SELECT customer_id, stage, entered_at FROM customer_stages WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id IN (");
            crate::signals::in_list(&mut sql, chunk);
            let rows: Vec<(Uuid, String, DateTime<Utc>)> =
                on_pool!(self.0, p => dyn_query_as!((Uuid, String, DateTime<Utc>), sql).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|(c, s, at)| (CustomerId(c), (s, at))));
        }
        Ok(out)
    }

    /// A customer's moves, newest first.
    pub async fn history(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<StageChange>, StoreError> {
        type Row = (Option<String>, String, DateTime<Utc>, String, Option<Uuid>, Option<Uuid>);
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT from_stage, to_stage, at, reason, actor_id, journey_id FROM stage_history \
             WHERE tenant_id = $1 AND customer_id = $2 ORDER BY at DESC, id DESC LIMIT 200")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(from, to, at, reason, actor, journey)| StageChange {
                from,
                to,
                at,
                reason,
                actor_id: actor.map(UserId),
                journey_id: journey.map(JourneyId),
            })
            .collect())
    }

    /// Applies moves in one transaction; returns how many moved a customer.
    pub async fn apply(&self, tenant: TenantId, moves: &[StageMove]) -> Result<usize, StoreError> {
        in_write_tx!(self.0, tx => {
            let mut moved = 0;
            for m in moves {
                if move_stage_in_tx!(tx, tenant, m) {
                    moved += 1;
                }
            }
            Ok::<usize, StoreError>(moved)
        })
    }

    /// Customers (up to `limit`) without a stage yet, with their paid order count and since when that is
    /// so (their last order, else when they were created).
    pub async fn unstaged(
        &self,
        tenant: TenantId,
        limit: i64,
    ) -> Result<Vec<(CustomerId, i64, DateTime<Utc>)>, StoreError> {
        let rows: Vec<(Uuid, Option<i64>, DateTime<Utc>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT c.id, a.order_count, COALESCE(a.last_order_at, c.created_at) FROM customers c LEFT JOIN customer_aggregates a \
             ON a.tenant_id = c.tenant_id AND a.customer_id = c.id WHERE c.tenant_id = $1 AND c.erased_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM customer_stages s WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.id) \
             ORDER BY c.id LIMIT $2")
            .bind(tenant.0).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(c, n, since)| (CustomerId(c), n.unwrap_or(0), since)).collect())
    }

    /// Customers (up to `limit`) known since before `cutoff`, with no activity since, in their stage since
    /// before it, whose stage is not one of `except`.
    pub async fn silent_since(
        &self,
        tenant: TenantId,
        cutoff: DateTime<Utc>,
        except: &[String],
        limit: i64,
    ) -> Result<Vec<(CustomerId, String)>, StoreError> {
        let mut sql = Sql::new(
            "SELECT s.customer_id, s.stage FROM customer_stages s JOIN customers c \
             ON c.tenant_id = s.tenant_id AND c.id = s.customer_id WHERE s.tenant_id = ",
        );
        sql.bind(Arg::Uuid(tenant.0));
        // Known for the whole span and no activity in it (someone met today is not silent).
        sql.push(" AND COALESCE(c.last_active_at, c.created_at) < ").bind(Arg::Time(cutoff));
        sql.push(" AND c.created_at < ").bind(Arg::Time(cutoff));
        sql.push(" AND s.entered_at < ").bind(Arg::Time(cutoff));
        for e in except {
            sql.push(" AND s.stage <> ").bind(Arg::Text(e.clone()));
        }
        sql.push(" AND c.erased_at IS NULL ORDER BY s.customer_id").limit(limit);
        let rows: Vec<(Uuid, String)> = on_pool!(self.0, p => dyn_query_as!((Uuid, String), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(c, s)| (CustomerId(c), s)).collect())
    }

    /// Customers (up to `limit`) in `stage` since before `cutoff`.
    pub async fn stalled_in(
        &self,
        tenant: TenantId,
        stage: &str,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT customer_id FROM customer_stages WHERE tenant_id = $1 AND stage = $2 AND entered_at < $3 \
             ORDER BY customer_id LIMIT $4")
            .bind(tenant.0).bind(stage).bind(cutoff).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(c,)| CustomerId(c)).collect())
    }

    /// Customers per stage.
    pub async fn counts(&self, tenant: TenantId) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_pool!(self.0, p => sqlx::query_as(
            "SELECT stage, COUNT(*) FROM customer_stages WHERE tenant_id = $1 GROUP BY stage")
            .bind(tenant.0).fetch_all(p).await)?)
    }
}
