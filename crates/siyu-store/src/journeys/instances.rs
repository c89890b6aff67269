//! Claiming due instances under a fenced lease, and writing a batch of steps back with the ledger and the
//! outbox in one transaction.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, JourneyId, TenantId};
use siyu_domain::journey::step::{Effect, Instance};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Journeys, channel_of, instance_of, outbox_values};
use crate::{BackendKind, StoreError, in_write_tx};

#[derive(sqlx::FromRow)]
pub(crate) struct InstanceRow {
    pub journey_id: Uuid,
    pub customer_id: Uuid,
    pub entry_seq: i64,
    pub version: i64,
    pub node: String,
    pub status: String,
    pub next_run_at: Option<DateTime<Utc>>,
    pub wait_event: Option<String>,
    pub resume_event: Option<String>,
    pub entered_at: DateTime<Utc>,
    pub node_entered_at: DateTime<Utc>,
    pub defer_count: i64,
    pub exit_reason: Option<String>,
    pub held_out: bool,
    pub lease_epoch: i64,
}

/// A claimed instance: the run, the version it pins, the event that woke it and the lease's fencing epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub instance: Instance,
    pub version: i64,
    pub resume_event: Option<String>,
    pub epoch: i64,
}

/// One step's outcome to write back.
#[derive(Debug, Clone)]
pub struct StepWrite {
    pub claimed: Claimed,
    pub instance: Instance,
    pub effects: Vec<Effect>,
}

/// What a batch write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Instances written.
    pub written: u64,
    /// Instances another worker had taken over meanwhile (nothing of theirs written).
    pub fenced: u64,
    /// Effects new to the ledger (and so written to the outbox).
    pub effects: u64,
    /// Effects the ledger already held (a replay).
    pub replayed: u64,
}

const COLUMNS: &str = "journey_id, customer_id, entry_seq, version, node, status, next_run_at, wait_event, resume_event, \
     entered_at, node_entered_at, defer_count, exit_reason, held_out, lease_epoch";

impl Journeys<'_> {
    /// Takes up to `limit` due instances of the tenant, oldest first, and leases them until `lease_until`
    /// (a lease that ran out may be taken again: its epoch moves on).
    pub async fn claim_due(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let skip_locked = if self.0.kind() == BackendKind::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE journey_instances SET lease_epoch = lease_epoch + 1, lease_until = $3 \
             WHERE tenant_id = $1 AND (journey_id, customer_id, entry_seq) IN ( \
               SELECT journey_id, customer_id, entry_seq FROM journey_instances \
               WHERE tenant_id = $1 AND status IN ('running', 'waiting_time', 'waiting_event') AND next_run_at <= $2 \
               AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_run_at LIMIT $4{skip_locked}) \
             RETURNING {COLUMNS}"
        );
        let rows: Vec<InstanceRow> = in_write_tx!(self.0, tx => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant.0).bind(now).bind(lease_until).bind(limit)
                .fetch_all(&mut *tx).await?
        });
        let mut out: Vec<Claimed> = rows
            .iter()
            .map(|r| {
                Ok(Claimed {
                    instance: instance_of(JourneyId(r.journey_id), CustomerId(r.customer_id), r)?,
                    version: r.version,
                    resume_event: r.resume_event.clone(),
                    epoch: r.lease_epoch,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        out.sort_by_key(|c| c.instance.next_run_at);
        Ok(out)
    }

    /// Writes a batch of steps in one transaction: each instance only if it still holds its claim's epoch,
    /// then its effects' ledger rows and, for those new to the ledger, their outbox rows.
    pub async fn write_steps(
        &self,
        tenant: TenantId,
        steps: &[StepWrite],
        at: DateTime<Utc>,
    ) -> Result<WriteReport, StoreError> {
        let mut report = WriteReport::default();
        in_write_tx!(self.0, tx => {
            for s in steps {
                let (c, i) = (&s.claimed, &s.instance);
                let done = sqlx::query(
                    "UPDATE journey_instances SET node = $5, status = $6, next_run_at = $7, wait_event = $8, resume_event = NULL, \
                     node_entered_at = $9, defer_count = $10, exit_reason = $11, held_out = $12, lease_until = NULL, updated_at = $13 \
                     WHERE tenant_id = $1 AND journey_id = $2 AND customer_id = $3 AND entry_seq = $4 AND lease_epoch = $14")
                    .bind(tenant.0).bind(i.journey.0).bind(i.customer.0).bind(i64::from(i.entry_seq)).bind(&i.node)
                    .bind(i.status.as_str()).bind(i.next_run_at).bind(&i.wait_event).bind(i.node_entered_at)
                    .bind(i64::from(i.defer_count)).bind(&i.exit_reason).bind(i.held_out).bind(at).bind(c.epoch)
                    .execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    report.fenced += 1;
                    continue;
                }
                report.written += 1;
                for e in &s.effects {
                    let (action, status) = outbox_values(e)?;
                    let ledger = sqlx::query(
                        "INSERT INTO journey_steps (tenant_id, journey_id, customer_id, entry_seq, node, outcome, at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, journey_id, customer_id, entry_seq, node) DO NOTHING")
                        .bind(tenant.0).bind(i.journey.0).bind(i.customer.0).bind(i64::from(i.entry_seq)).bind(&e.node)
                        .bind(status).bind(at).execute(&mut *tx).await?;
                    if ledger.rows_affected() == 0 {
                        report.replayed += 1;
                        continue;
                    }
                    sqlx::query(
                        "INSERT INTO outbox (tenant_id, id, dedupe_key, journey_id, customer_id, node, channel, action, status, next_attempt_at, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (tenant_id, dedupe_key) DO NOTHING")
                        .bind(tenant.0).bind(Uuid::now_v7()).bind(&e.dedupe_key).bind(i.journey.0).bind(i.customer.0)
                        .bind(&e.node).bind(channel_of(&e.action)).bind(Json(&action)).bind(status).bind(at).execute(&mut *tx).await?;
                    report.effects += 1;
                }
            }
            Ok::<(), StoreError>(())
        })?;
        Ok(report)
    }
}
