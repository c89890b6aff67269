//! Journeys: definitions with their published versions, one durable instance row per customer's run,
//! the step ledger and the outbox (reference/journeys.md §4–5).
//!
//! A worker claims due instances (`claim_due`: a bumped `lease_epoch` and a `lease_until`, taken with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL and under the single writer on SQLite), runs the pure
//! `siyu_domain::journey::step::step` on each, and writes the batch back (`write_steps`) in one transaction:
//! the instance only if it still holds the epoch it claimed, then a ledger row per effect
//! (`ON CONFLICT DO NOTHING`) and, for a new ledger row only, the outbox row under its dedupe key. A crash
//! anywhere replays the step; the ledger and the dedupe key make its effects happen once.

use chrono::{DateTime, Utc};
use serde_json::Value;
use siyu_domain::id::{CustomerId, JourneyId, TenantId, UserId};
use siyu_domain::journey::split::stable_hash;
use siyu_domain::journey::step::{Action, Effect, Instance, Status};
use siyu_domain::journey::{JourneyGraph, Reentry};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{StoreError, in_write_tx, on_pool};

pub mod context;
pub mod dates;
pub(crate) mod deliveries;
mod instances;
mod metrics;
pub mod seed;
mod versions;
mod wecom_sends;

pub use deliveries::DeadLetter;
pub use instances::{Claimed, StepWrite, WriteReport};
pub use metrics::{GroupFacts, JourneyFacts, NodeFacts};
pub use wecom_sends::{NewPoll, SendPoll};

/// Buckets instances are spread over (claims take the due ones of any bucket, oldest first).
pub const BUCKETS: i64 = 64;

/// The repository of journeys (`store.journeys()`).
pub struct Journeys<'a>(pub(crate) &'a crate::Store);

impl crate::Store {
    pub fn journeys(&self) -> Journeys<'_> {
        Journeys(self)
    }
}

/// Who enters which journey version, where, under which re-entry rule.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub journey: JourneyId,
    pub version: i64,
    pub customer: CustomerId,
    /// The trigger node the run starts at.
    pub start: &'a str,
    pub reentry: Reentry,
    /// The key value of a keyed event trigger: one live run, and the re-entry rule, per value.
    pub key: Option<&'a str>,
}

/// One of a customer's runs of a journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRun {
    pub entry_seq: i64,
    /// The key value of a keyed event trigger's run.
    pub entry_key: Option<String>,
    pub node: String,
    pub status: String,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// An outbox row as a dispatcher sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: Uuid,
    pub dedupe_key: String,
    pub journey_id: JourneyId,
    pub customer_id: CustomerId,
    pub node: String,
    pub action: Action,
    pub status: String,
}

/// The outbox status an effect starts in: sends and actions wait for a dispatcher; withheld and skipped
/// sends are recorded as such (the uplift and the caps report read them).
pub fn initial_status(a: &Action) -> &'static str {
    match a {
        Action::Withheld { .. } => "withheld",
        Action::Skipped { .. } => "skipped",
        _ => "pending",
    }
}

pub(crate) fn bucket(customer: CustomerId) -> i64 {
    (stable_hash(&[customer.0.as_bytes()]) % BUCKETS as u64) as i64
}

/// Starts a run in `$tx` (see [`Journeys::enrol`]); yields the entry's sequence number, `None` when the
/// re-entry rule or a live run keeps the customer out. Entry numbers count all of the customer's entries;
/// the live run and the re-entry rule are those of the entry's key value (`''`: unkeyed).
///
/// Another transaction enrolling the same customer in the same journey at the same instant (two PostgreSQL
/// workers) may take the entry number or the live run first: the insert then does nothing, never aborting
/// the batch (reference/journeys.md §10, failure 1), and the decision is taken again over what the other one
/// committed, so a second order's run still starts and a second run of the same order does not. Each
/// collision means a competitor committed a run (the insert waits for it), so every retry sees more of the
/// customer's runs than the one before; a collision that shows nothing new is an error, not a loop.
macro_rules! enrol_in_tx {
    ($tx:ident, $tenant:expr, $e:expr, $at:expr) => {{
        let e: &$crate::journeys::Entry<'_> = $e;
        let (tenant, at): (siyu_domain::id::TenantId, chrono::DateTime<chrono::Utc>) = ($tenant, $at);
        let key = e.key.unwrap_or("");
        let mut seen: Option<i64> = None;
        loop {
            let all: Vec<(i64, String, chrono::DateTime<chrono::Utc>, String)> = sqlx::query_as(
                "SELECT entry_seq, status, entered_at, entry_key FROM journey_instances \
                 WHERE tenant_id = $1 AND journey_id = $2 AND customer_id = $3 ORDER BY entry_seq",
            )
            .bind(tenant.0)
            .bind(e.journey.0)
            .bind(e.customer.0)
            .fetch_all(&mut *$tx)
            .await?;
            let last_seq = all.last().map_or(0, |p| p.0);
            if seen == Some(last_seq) {
                return Err($crate::StoreError::Conflict("journey enrolment collided with no visible run".into()).into());
            }
            let past: Vec<_> = all.into_iter().filter(|p| p.3 == key).collect();
            let live = past.iter().any(|p| siyu_domain::journey::step::Status::parse(&p.1).is_some_and(|s| s.is_live()));
            let entered: Vec<chrono::DateTime<chrono::Utc>> = past.iter().map(|p| p.2).collect();
            let allowed = !live && e.reentry.admits(&entered, at);
            if allowed {
                let seq = last_seq + 1;
                let inserted = sqlx::query(
                    "INSERT INTO journey_instances (tenant_id, journey_id, customer_id, entry_seq, version, node, status, \
                     next_run_at, bucket, entered_at, node_entered_at, held_out, updated_at, entry_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $7, $7, false, $7, $9) ON CONFLICT DO NOTHING",
                )
                .bind(tenant.0)
                .bind(e.journey.0)
                .bind(e.customer.0)
                .bind(seq)
                .bind(e.version)
                .bind(e.start.to_string())
                .bind(at)
                .bind($crate::journeys::bucket(e.customer))
                .bind(key.to_string())
                .execute(&mut *$tx)
                .await?
                .rows_affected();
                if inserted == 1 {
                    break Some(seq);
                }
                seen = Some(last_seq);
            } else {
                break None;
            }
        }
    }};
}
pub(crate) use enrol_in_tx;

fn json<T: serde::Serialize>(v: &T) -> Result<Value, StoreError> {
    serde_json::to_value(v).map_err(|e| StoreError::Corrupt(format!("journey json: {e}")))
}

impl Journeys<'_> {
    /// Stores a new journey as a draft.
    pub async fn create(
        &self,
        tenant: TenantId,
        id: JourneyId,
        name: &str,
        draft: &JourneyGraph,
        by: Option<UserId>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let draft = json(draft)?;
        crate::exec!(self.0, p => sqlx::query(
            "INSERT INTO journeys (tenant_id, id, name, status, draft, live_version, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, 'draft', $4, NULL, $5, $6, $6)")
            .bind(tenant.0).bind(id.0).bind(name).bind(Json(&draft)).bind(by.map(|u| u.0)).bind(at)
            .execute(p).await)?;
        Ok(())
    }

    /// Publishes `graph` as the journey's next version and makes it live; returns the version.
    pub async fn publish(
        &self,
        tenant: TenantId,
        id: JourneyId,
        graph: &JourneyGraph,
        by: Option<UserId>,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let graph = json(graph)?;
        in_write_tx!(self.0, tx => {
            let (next,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM journey_versions WHERE tenant_id = $1 AND journey_id = $2")
                .bind(tenant.0).bind(id.0).fetch_one(&mut *tx).await?;
            sqlx::query("INSERT INTO journey_versions (tenant_id, journey_id, version, graph, published_by, published_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(tenant.0).bind(id.0).bind(next).bind(Json(&graph)).bind(by.map(|u| u.0)).bind(at)
                .execute(&mut *tx).await?;
            let done = sqlx::query("UPDATE journeys SET status = 'live', live_version = $3, draft = $4, updated_at = $5 \
                 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0).bind(id.0).bind(next).bind(Json(&graph)).bind(at).execute(&mut *tx).await?;
            if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(next) }
        })
    }

    /// The graph of one published version.
    pub async fn version(&self, tenant: TenantId, id: JourneyId, version: i64) -> Result<JourneyGraph, StoreError> {
        let row: Option<(Json<Value>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT graph FROM journey_versions WHERE tenant_id = $1 AND journey_id = $2 AND version = $3")
            .bind(tenant.0).bind(id.0).bind(version).fetch_optional(p).await)?;
        let (graph,) = row.ok_or(StoreError::NotFound)?;
        serde_json::from_value(graph.0).map_err(|e| StoreError::Corrupt(format!("journey graph: {e}")))
    }

    /// Starts a run of the customer at the entry's start node (a trigger) on its version, due at once, if the
    /// journey's re-entry rule allows it and no run is live. Returns the entry's sequence number.
    pub async fn enrol(&self, tenant: TenantId, e: &Entry<'_>, at: DateTime<Utc>) -> Result<Option<i64>, StoreError> {
        in_write_tx!(self.0, tx => Ok(enrol_in_tx!(tx, tenant, e, at)))
    }

    /// Starts many runs (the current members of a segment at publish), 500 per transaction; returns how
    /// many started.
    pub async fn enrol_many(
        &self,
        tenant: TenantId,
        entries: &[Entry<'_>],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut started = 0;
        for chunk in entries.chunks(500) {
            started += in_write_tx!(self.0, tx => {
                let mut n = 0u64;
                for e in chunk {
                    if enrol_in_tx!(tx, tenant, e, at).is_some() {
                        n += 1;
                    }
                }
                Ok::<u64, StoreError>(n)
            })?;
        }
        Ok(started)
    }

    /// Wakes the customer's runs waiting for `event` (whatever their key): due now, with the event kept for
    /// their next step. Returns how many were woken.
    pub async fn wake(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        event: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(crate::exec!(self.0, p => sqlx::query(
            "UPDATE journey_instances SET resume_event = $3, next_run_at = $4 WHERE tenant_id = $1 AND customer_id = $2 \
             AND status = 'waiting_event' AND wait_event = $3")
            .bind(tenant.0).bind(customer.0).bind(event).bind(at).execute(p).await)?)
    }

    /// Pending outbox rows, oldest first.
    pub async fn pending_outbox(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        type Row = (Uuid, String, Uuid, Uuid, String, Json<Value>, String);
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, dedupe_key, journey_id, customer_id, node, action, status FROM outbox \
             WHERE tenant_id = $1 AND status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $3")
            .bind(tenant.0).bind(now).bind(limit).fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| {
                let action: Action =
                    serde_json::from_value(r.5.0).map_err(|e| StoreError::Corrupt(format!("outbox action: {e}")))?;
                Ok(OutboxItem {
                    id: r.0,
                    dedupe_key: r.1,
                    journey_id: JourneyId(r.2),
                    customer_id: CustomerId(r.3),
                    node: r.4,
                    action,
                    status: r.6,
                })
            })
            .collect()
    }

    /// Records a sandbox delivery (once per dedupe key) and marks its outbox row sent, together.
    pub async fn deliver_to_sandbox(
        &self,
        tenant: TenantId,
        item: &OutboxItem,
        channel: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            sqlx::query("INSERT INTO sandbox_messages (tenant_id, id, dedupe_key, customer_id, channel, body, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, dedupe_key) DO NOTHING")
                .bind(tenant.0).bind(Uuid::now_v7()).bind(&item.dedupe_key).bind(item.customer_id.0).bind(channel)
                .bind(body).bind(at).execute(&mut *tx).await?;
            sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $3, attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0).bind(item.id).bind(at).execute(&mut *tx).await?;
            Ok::<(), StoreError>(())
        })
    }

    /// Marks an outbox row done (`sent`) or `failed`, with what happened.
    pub async fn finish_outbox(
        &self,
        tenant: TenantId,
        id: Uuid,
        status: &str,
        result: &Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        crate::exec!(self.0, p => sqlx::query(
            "UPDATE outbox SET status = $3, result = $4, sent_at = $5, attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id).bind(status).bind(Json(result)).bind(at).execute(p).await)?;
        Ok(())
    }

    /// What the sandbox channel recorded for a customer, oldest first: (channel, body, at).
    pub async fn sandbox_of(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
        Ok(on_pool!(self.0, p => sqlx::query_as(
            "SELECT channel, body, at FROM sandbox_messages WHERE tenant_id = $1 AND customer_id = $2 ORDER BY at, id")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?)
    }

    /// A customer's runs of one journey, by entry: (entry, key value, node, status, next run).
    pub async fn runs_of(
        &self,
        tenant: TenantId,
        journey: JourneyId,
        customer: CustomerId,
    ) -> Result<Vec<CustomerRun>, StoreError> {
        type Row = (i64, String, String, String, Option<DateTime<Utc>>);
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT entry_seq, entry_key, node, status, next_run_at FROM journey_instances \
             WHERE tenant_id = $1 AND journey_id = $2 AND customer_id = $3 ORDER BY entry_seq")
            .bind(tenant.0).bind(journey.0).bind(customer.0).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(entry_seq, key, node, status, next_run_at)| CustomerRun {
                entry_seq,
                entry_key: Some(key).filter(|k| !k.is_empty()),
                node,
                status,
                next_run_at,
            })
            .collect())
    }

    /// One journey's status and live version.
    pub async fn status(&self, tenant: TenantId, id: JourneyId) -> Result<(String, Option<i64>), StoreError> {
        let row: Option<(String, Option<i64>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT status, live_version FROM journeys WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// The tenant's journeys: (id, name, status, live version).
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<(JourneyId, String, String, Option<i64>)>, StoreError> {
        let rows: Vec<(Uuid, String, String, Option<i64>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, name, status, live_version FROM journeys WHERE tenant_id = $1 ORDER BY name, id")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| (JourneyId(r.0), r.1, r.2, r.3)).collect())
    }

    /// Tenants with pending outbox rows (at most `limit`).
    pub async fn tenants_with_outbox(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<TenantId>, StoreError> {
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT DISTINCT tenant_id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT $2")
            .bind(now).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| TenantId(r.0)).collect())
    }

    /// Every outbox row of a customer, oldest first (the console's "what this customer was sent").
    pub async fn outbox_of(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT dedupe_key, status FROM outbox WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at, id")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        Ok(rows)
    }
}

/// The channel a send goes (or would have gone) through.
pub(crate) fn channel_of(a: &Action) -> Option<&str> {
    match a {
        Action::Send { channel, .. } | Action::Withheld { channel } | Action::Skipped { channel, .. } => Some(channel),
        _ => None,
    }
}

/// The effect's outbox row values.
pub(crate) fn outbox_values(e: &Effect) -> Result<(Value, &'static str), StoreError> {
    Ok((json(&e.action)?, initial_status(&e.action)))
}

/// What an instance row says, as the domain's instance.
pub(crate) fn instance_of(
    journey: JourneyId,
    customer: CustomerId,
    r: &instances::InstanceRow,
) -> Result<Instance, StoreError> {
    Ok(Instance {
        journey,
        customer,
        entry_seq: u32::try_from(r.entry_seq).map_err(|_| StoreError::Corrupt("entry_seq".into()))?,
        node: r.node.clone(),
        status: Status::parse(&r.status).ok_or_else(|| StoreError::Corrupt(format!("instance status {}", r.status)))?,
        next_run_at: r.next_run_at,
        wait_event: r.wait_event.clone(),
        entered_at: r.entered_at,
        node_entered_at: r.node_entered_at,
        defer_count: u32::try_from(r.defer_count).unwrap_or(0),
        exit_reason: r.exit_reason.clone(),
        held_out: r.held_out,
        entry_key: Some(r.entry_key.clone()).filter(|k| !k.is_empty()),
    })
}
