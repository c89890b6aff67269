//! The journey signal queue (`journey_signals`, migration 0013): facts queued by triggers in the same
//! transaction that wrote them, taken in order by the worker and acted on once.
//!
//! `apply` writes what the app decided for a batch in one transaction: per signal it deletes the row first
//! and does nothing more if another worker already took it, then ends the runs its exit criteria name,
//! wakes the waits it answers, moves the customer's stage and starts runs — so a crash before the commit
//! leaves the signal queued and nothing done, and a crash after leaves it done once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use siyu_domain::id::{CustomerId, JourneyId, SegmentId, TenantId};
use sqlx::types::Json;
use uuid::Uuid;

use crate::journeys::Entry;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::stages::{StageMove, move_stage_in_tx};
use crate::{StoreError, in_write_tx, on_pool};

/// The repository of signals (`store.signals()`).
pub struct Signals<'a>(pub(crate) &'a crate::Store);

impl crate::Store {
    pub fn signals(&self) -> Signals<'_> {
        Signals(self)
    }
}

/// One queued signal.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRow {
    pub id: Uuid,
    pub customer: CustomerId,
    /// `timeline`, `event` or `segment`.
    pub source: String,
    pub kind: String,
    pub segment: Option<SegmentId>,
    pub payload: Option<Value>,
    pub at: DateTime<Utc>,
}

/// What to do for one signal.
#[derive(Debug, Clone)]
pub struct Reactions<'a> {
    pub signal: Uuid,
    pub customer: CustomerId,
    /// Journeys whose live runs of the customer end, with the reason and, for a keyed exit, the one key
    /// value whose run ends (`None`: every live run).
    pub exits: Vec<(JourneyId, String, Option<String>)>,
    /// Runs (journey, entry) waiting for this event, the event name their step sees and the run's key value
    /// (`None`: unkeyed), which the wake checks again under the write.
    pub wakes: Vec<(JourneyId, i64, String, Option<String>)>,
    pub stage: Option<StageMove>,
    pub enrols: Vec<Entry<'a>>,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub signals: u64,
    pub exits: u64,
    pub wakes: u64,
    pub moves: u64,
    pub enrols: u64,
}

type Row = (Uuid, Uuid, String, String, Option<Uuid>, Option<Json<Value>>, DateTime<Utc>);

impl Signals<'_> {
    /// Tenants with queued signals.
    pub async fn tenants_pending(&self, limit: i64) -> Result<Vec<TenantId>, StoreError> {
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT DISTINCT tenant_id FROM journey_signals LIMIT $1").bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(t,)| TenantId(t)).collect())
    }

    /// The oldest queued signals of a tenant.
    pub async fn pending(&self, tenant: TenantId, limit: i64) -> Result<Vec<SignalRow>, StoreError> {
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, customer_id, source, kind, ref_id, payload, at FROM journey_signals WHERE tenant_id = $1 \
             ORDER BY at, id LIMIT $2").bind(tenant.0).bind(limit).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(id, customer, source, kind, segment, payload, at)| SignalRow {
                id,
                customer: CustomerId(customer),
                source,
                kind,
                segment: segment.map(SegmentId),
                payload: payload.map(|p| p.0),
                at,
            })
            .collect())
    }

    /// Replaces the event names the tenant's journeys and stage rules listen for (only those resolved events
    /// are queued).
    pub async fn set_listened_events(&self, tenant: TenantId, names: &[String]) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            sqlx::query("DELETE FROM event_listens WHERE tenant_id = $1").bind(tenant.0).execute(&mut *tx).await?;
            for n in names {
                sqlx::query("INSERT INTO event_listens (tenant_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(tenant.0).bind(n.clone()).execute(&mut *tx).await?;
            }
            Ok::<(), StoreError>(())
        })
    }

    /// Applies a batch of reactions in one transaction (see the module docs).
    pub async fn apply(
        &self,
        tenant: TenantId,
        batch: &[Reactions<'_>],
        now: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        in_write_tx!(self.0, tx => {
            let mut done = Applied::default();
            for r in batch {
                let taken = sqlx::query("DELETE FROM journey_signals WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0).bind(r.signal).execute(&mut *tx).await?.rows_affected();
                if taken == 0 {
                    continue;
                }
                done.signals += 1;
                // A customer merged away or erased since the signal was queued: nothing to react to (a run
                // would not even be insertable for a customer row that is gone).
                let present: Option<(Uuid,)> =
                    sqlx::query_as("SELECT id FROM customers WHERE tenant_id = $1 AND id = $2 AND erased_at IS NULL")
                        .bind(tenant.0).bind(r.customer.0).fetch_optional(&mut *tx).await?;
                if present.is_none() {
                    continue;
                }
                for (journey, reason, key) in &r.exits {
                    // A new epoch fences out a worker holding the run, so its late write cannot revive it.
                    done.exits += sqlx::query(
                        "UPDATE journey_instances SET status = 'exited', exit_reason = $4, next_run_at = NULL, \
                         wait_event = NULL, resume_event = NULL, lease_epoch = lease_epoch + 1, node_entered_at = $5, \
                         updated_at = $5 WHERE tenant_id = $1 AND journey_id = $2 AND customer_id = $3 \
                         AND status IN ('running', 'waiting_time', 'waiting_event') AND (entry_key = $6 OR $7)")
                        .bind(tenant.0).bind(journey.0).bind(r.customer.0).bind(reason.clone()).bind(now)
                        .bind(key.clone().unwrap_or_default()).bind(key.is_none())
                        .execute(&mut *tx).await?.rows_affected();
                }
                for (journey, entry, event, key) in &r.wakes {
                    done.wakes += sqlx::query(
                        "UPDATE journey_instances SET resume_event = $5, next_run_at = $6, updated_at = $6 \
                         WHERE tenant_id = $1 AND journey_id = $2 AND customer_id = $3 AND entry_seq = $4 \
                         AND status = 'waiting_event' AND wait_event = $5 AND entry_key = $7")
                        .bind(tenant.0).bind(journey.0).bind(r.customer.0).bind(entry).bind(event.clone()).bind(now)
                        .bind(key.clone().unwrap_or_default())
                        .execute(&mut *tx).await?.rows_affected();
                }
                if let Some(m) = &r.stage
                    && move_stage_in_tx!(tx, tenant, m)
                {
                    done.moves += 1;
                }
                for e in &r.enrols {
                    if crate::journeys::enrol_in_tx!(tx, tenant, e, now).is_some() {
                        done.enrols += 1;
                    }
                }
            }
            Ok::<Applied, StoreError>(done)
        })
    }
}

/// A run waiting for an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub journey: JourneyId,
    pub customer: CustomerId,
    pub entry_seq: i64,
    pub version: i64,
    pub node: String,
    pub wait_event: String,
    pub node_entered_at: DateTime<Utc>,
    /// The key value the run was entered with (keyed event triggers).
    pub entry_key: Option<String>,
}

impl Signals<'_> {
    /// The runs waiting for one of the (customer, event name) pairs: looked up directly through the
    /// `(tenant_id, customer_id, wait_event, entry_key)` index, never by scanning a customer's runs. The
    /// caller compares a keyed run's `entry_key` with the event's key property.
    pub async fn waiting(&self, tenant: TenantId, wanted: &[(CustomerId, String)]) -> Result<Vec<Waiting>, StoreError> {
        type WaitRow = (Uuid, Uuid, i64, i64, String, Option<String>, DateTime<Utc>, String);
        let mut wanted: Vec<&(CustomerId, String)> = wanted.iter().collect();
        wanted.sort();
        wanted.dedup();
        let mut out = Vec::new();
        for chunk in wanted.chunks(400) {
            // Each branch names the whole index prefix, so both databases probe the index per pair (SQLite's
            // OR-by-union, PostgreSQL's bitmap OR) instead of reading the tenant's waiting runs.
            let mut sql = Sql::new(
                "SELECT journey_id, customer_id, entry_seq, version, node, wait_event, node_entered_at, entry_key \
                 FROM journey_instances WHERE status = 'waiting_event' AND (",
            );
            for (i, (c, event)) in chunk.iter().enumerate() {
                sql.push(if i > 0 { " OR (tenant_id = " } else { "(tenant_id = " }).bind(Arg::Uuid(tenant.0));
                sql.push(" AND customer_id = ").bind(Arg::Uuid(c.0));
                sql.push(" AND wait_event = ").bind(Arg::Text(event.clone())).push(")");
            }
            sql.push(")");
            let rows: Vec<WaitRow> = on_pool!(self.0, p => dyn_query_as!(WaitRow, sql).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|(j, c, entry_seq, version, node, wait, at, key)| Waiting {
                journey: JourneyId(j),
                customer: CustomerId(c),
                entry_seq,
                version,
                node,
                wait_event: wait.unwrap_or_default(),
                node_entered_at: at,
                entry_key: Some(key).filter(|k| !k.is_empty()),
            }));
        }
        Ok(out)
    }

    /// The paid order count of each of `customers` (from their aggregates; none: 0).
    pub async fn paid_orders(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
    ) -> Result<HashMap<CustomerId, i64>, StoreError> {
        let mut out = HashMap::new();
        for chunk in customers.chunks(500) {
            let mut sql = Sql::new("SELECT customer_id, order_count FROM customer_aggregates WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id IN (");
            in_list(&mut sql, chunk);
            let rows: Vec<(Uuid, i64)> = on_pool!(self.0, p => dyn_query_as!((Uuid, i64), sql).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|(c, n)| (CustomerId(c), n)));
        }
        Ok(out)
    }
}

/// Binds `ids` as the rest of an `IN (` list and closes it.
pub(crate) fn in_list(sql: &mut Sql, ids: &[CustomerId]) {
    for (i, c) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Arg::Uuid(c.0));
    }
    sql.push(")");
}
