//! Claiming due instances under a fenced lease, and writing a batch of steps back with the ledger and the
//! outbox in one transaction.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, JourneyId, TenantId};
use siyu_domain::journey::step::{Effect, Instance};
use uuid::Uuid;

use super::{BUCKETS, Journeys, channel_of, instance_of, outbox_values};
use crate::sql::{Arg, Sql, dyn_query, dyn_query_as};
use crate::{BackendKind, StoreError, in_write_tx};

/// Rows per multi-row statement of a batch write (at most 12 values a row).
const ROWS_PER_STATEMENT: usize = 1_000;

/// A run's key within the tenant: (journey, customer, entry).
type RunKey = (Uuid, Uuid, i64);

#[derive(sqlx::FromRow)]
struct LedgerKey {
    journey_id: Uuid,
    customer_id: Uuid,
    entry_seq: i64,
    node: String,
}

fn key_of(i: &Instance) -> RunKey {
    (i.journey.0, i.customer.0, i64::from(i.entry_seq))
}

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
    pub entry_key: String,
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
     entered_at, node_entered_at, defer_count, exit_reason, held_out, lease_epoch, entry_key";

impl Journeys<'_> {
    /// Takes up to `limit` due instances of the tenant, oldest first, and leases them until `lease_until`
    /// (a lease that ran out may be taken again: its epoch moves on).
    ///
    /// The due runs are looked up bucket by bucket (reference/journeys.md §5, §8): each bucket's oldest
    /// `ceil(limit / BUCKETS)` through the `(tenant_id, bucket, next_run_at)` index, a short range scan each
    /// however many runs wait, then the oldest `limit` of those. One scan of the tenant's due index ordered by
    /// `next_run_at` would read every waiting run of the tenant on every claim. The oldest due run is always
    /// in its bucket's head, so it is always taken first. On PostgreSQL each bucket's rows are locked with
    /// `SKIP LOCKED` (concurrent workers take the next ones); on SQLite the single writer claims.
    pub async fn claim_due(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let per_bucket = (limit + BUCKETS - 1) / BUCKETS;
        let due = "tenant_id = $1 AND status IN ('running', 'waiting_time', 'waiting_event') AND next_run_at <= $2 \
                   AND (lease_until IS NULL OR lease_until < $2)";
        let candidates = match self.0.kind() {
            BackendKind::Postgres => format!(
                "SELECT d.journey_id, d.customer_id, d.entry_seq FROM generate_series(0, {last}) AS b (n) \
                 CROSS JOIN LATERAL (SELECT journey_id, customer_id, entry_seq, next_run_at FROM journey_instances \
                 WHERE bucket = b.n AND {due} ORDER BY next_run_at LIMIT $5 FOR UPDATE SKIP LOCKED) d \
                 ORDER BY d.next_run_at LIMIT $4",
                last = BUCKETS - 1
            ),
            BackendKind::Sqlite => {
                let heads: Vec<String> = (0..BUCKETS)
                    .map(|b| {
                        format!(
                            "SELECT * FROM (SELECT journey_id, customer_id, entry_seq, next_run_at FROM journey_instances \
                             WHERE bucket = {b} AND {due} ORDER BY next_run_at LIMIT $5)"
                        )
                    })
                    .collect();
                format!(
                    "SELECT journey_id, customer_id, entry_seq FROM ({}) ORDER BY next_run_at LIMIT $4",
                    heads.join(" UNION ALL ")
                )
            }
        };
        let sql = format!(
            "UPDATE journey_instances SET lease_epoch = lease_epoch + 1, lease_until = $3 \
             WHERE tenant_id = $1 AND (journey_id, customer_id, entry_seq) IN ({candidates}) RETURNING {COLUMNS}"
        );
        let rows: Vec<InstanceRow> = in_write_tx!(self.0, tx => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(tenant.0).bind(now).bind(lease_until).bind(limit).bind(per_bucket)
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
    ///
    /// Three multi-row statements per batch (chunked below [`ROWS_PER_STATEMENT`]) instead of three
    /// statements per step: the runs' update returns the runs that still held their epoch, the ledger insert
    /// (`ON CONFLICT DO NOTHING`) returns the rows it added, and only those get outbox rows (`ON CONFLICT
    /// (tenant_id, dedupe_key) DO NOTHING`). The result is what the step-by-step statements would write.
    pub async fn write_steps(
        &self,
        tenant: TenantId,
        steps: &[StepWrite],
        at: DateTime<Utc>,
    ) -> Result<WriteReport, StoreError> {
        let mut report = WriteReport::default();
        if steps.is_empty() {
            return Ok(report);
        }
        let updates: Vec<Sql> = steps.chunks(ROWS_PER_STATEMENT).map(|chunk| update_runs(tenant, chunk, at)).collect();
        in_write_tx!(self.0, tx => {
            let mut written: HashSet<RunKey> = HashSet::with_capacity(steps.len());
            for sql in updates {
                let rows: Vec<RunKey> = dyn_query_as!(RunKey, sql).fetch_all(&mut *tx).await?;
                written.extend(rows);
            }
            let effects: Vec<(&Instance, &Effect)> = steps
                .iter()
                .filter(|s| written.contains(&key_of(&s.instance)))
                .flat_map(|s| s.effects.iter().map(move |e| (&s.instance, e)))
                .collect();
            report.written = written.len() as u64;
            report.fenced = steps.len() as u64 - report.written;
            let mut new: HashSet<(RunKey, String)> = HashSet::with_capacity(effects.len());
            for chunk in effects.chunks(ROWS_PER_STATEMENT) {
                let rows: Vec<LedgerKey> = dyn_query_as!(LedgerKey, ledger_rows(tenant, chunk, at)?)
                    .fetch_all(&mut *tx).await?;
                new.extend(rows.into_iter().map(|r| ((r.journey_id, r.customer_id, r.entry_seq), r.node)));
            }
            let fresh: Vec<(&Instance, &Effect)> =
                effects.iter().copied().filter(|(i, e)| new.contains(&(key_of(i), e.node.clone()))).collect();
            report.effects = fresh.len() as u64;
            report.replayed = effects.len() as u64 - report.effects;
            for chunk in fresh.chunks(ROWS_PER_STATEMENT) {
                dyn_query!(outbox_rows(tenant, chunk, at)?).execute(&mut *tx).await?;
            }
            Ok::<(), StoreError>(())
        })?;
        Ok(report)
    }
}

/// Appends `(v1, v2, ...)` rows to a statement, one placeholder per value.
fn push_rows<const N: usize>(sql: &mut Sql, rows: impl IntoIterator<Item = [Arg; N]>) {
    for (i, row) in rows.into_iter().enumerate() {
        sql.push(if i > 0 { ", (" } else { "(" });
        for (j, a) in row.into_iter().enumerate() {
            sql.push(if j > 0 { ", " } else { "" }).bind(a);
        }
        sql.push(")");
    }
}

/// The runs' new state, each written only where the run still holds its claim's epoch; returns the keys
/// of the runs written. (`held_out` travels as 0/1: one text for both dialects.) The tenant travels in the
/// rows and is constrained there, not on the table: given a constant `tenant_id` on `journey_instances`,
/// SQLite with planner statistics (STAT4) scans the tenant's whole primary key and probes the rows for
/// each (seconds per batch at a million runs) instead of looking each row up.
fn update_runs(tenant: TenantId, steps: &[StepWrite], at: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(
        "WITH v (tenant_id, journey_id, customer_id, entry_seq, node, status, next_run_at, wait_event, \
         node_entered_at, defer_count, exit_reason, held_out, epoch) AS (VALUES ",
    );
    sql.args.push(Arg::Uuid(tenant.0));
    sql.args.push(Arg::Time(at));
    push_rows(
        &mut sql,
        steps.iter().map(|s| {
            let i = &s.instance;
            [
                Arg::Uuid(tenant.0),
                Arg::Uuid(i.journey.0),
                Arg::Uuid(i.customer.0),
                Arg::Int(i64::from(i.entry_seq)),
                Arg::Text(i.node.clone()),
                Arg::Text(i.status.as_str().to_string()),
                Arg::OptTime(i.next_run_at),
                Arg::OptText(i.wait_event.clone()),
                Arg::Time(i.node_entered_at),
                Arg::Int(i64::from(i.defer_count)),
                Arg::OptText(i.exit_reason.clone()),
                Arg::Int(i64::from(i.held_out)),
                Arg::Int(s.claimed.epoch),
            ]
        }),
    );
    sql.push(
        ") UPDATE journey_instances SET node = v.node, status = v.status, next_run_at = v.next_run_at, \
         wait_event = v.wait_event, resume_event = NULL, node_entered_at = v.node_entered_at, \
         defer_count = v.defer_count, exit_reason = v.exit_reason, held_out = (v.held_out <> 0), lease_until = NULL, \
         updated_at = $2 FROM v WHERE v.tenant_id = $1 AND journey_instances.tenant_id = v.tenant_id \
         AND journey_instances.journey_id = v.journey_id AND journey_instances.customer_id = v.customer_id \
         AND journey_instances.entry_seq = v.entry_seq AND journey_instances.lease_epoch = v.epoch \
         RETURNING journey_instances.journey_id, journey_instances.customer_id, journey_instances.entry_seq",
    );
    sql
}

/// Ledger rows for effects; returns the ones new to the ledger.
fn ledger_rows(tenant: TenantId, effects: &[(&Instance, &Effect)], at: DateTime<Utc>) -> Result<Sql, StoreError> {
    let mut sql = Sql::new(
        "INSERT INTO journey_steps (tenant_id, journey_id, customer_id, entry_seq, node, outcome, at) VALUES ",
    );
    let mut rows = Vec::with_capacity(effects.len());
    for (i, e) in effects {
        let (_, status) = outbox_values(e)?;
        rows.push([
            Arg::Uuid(tenant.0),
            Arg::Uuid(i.journey.0),
            Arg::Uuid(i.customer.0),
            Arg::Int(i64::from(i.entry_seq)),
            Arg::Text(e.node.clone()),
            Arg::Text(status.to_string()),
            Arg::Time(at),
        ]);
    }
    push_rows(&mut sql, rows);
    sql.push(
        " ON CONFLICT (tenant_id, journey_id, customer_id, entry_seq, node) DO NOTHING \
         RETURNING journey_id, customer_id, entry_seq, node",
    );
    Ok(sql)
}

/// Outbox rows for effects new to the ledger, one per dedupe key.
fn outbox_rows(tenant: TenantId, effects: &[(&Instance, &Effect)], at: DateTime<Utc>) -> Result<Sql, StoreError> {
    let mut sql = Sql::new(
        "INSERT INTO outbox (tenant_id, id, dedupe_key, journey_id, customer_id, node, channel, action, status, \
         next_attempt_at, created_at) VALUES ",
    );
    let mut rows = Vec::with_capacity(effects.len());
    for (i, e) in effects {
        let (action, status) = outbox_values(e)?;
        rows.push([
            Arg::Uuid(tenant.0),
            Arg::Uuid(Uuid::now_v7()),
            Arg::Text(e.dedupe_key.clone()),
            Arg::Uuid(i.journey.0),
            Arg::Uuid(i.customer.0),
            Arg::Text(e.node.clone()),
            Arg::OptText(channel_of(&e.action).map(str::to_string)),
            Arg::Json(action),
            Arg::Text(status.to_string()),
            Arg::Time(at),
            Arg::Time(at),
        ]);
    }
    push_rows(&mut sql, rows);
    sql.push(" ON CONFLICT (tenant_id, dedupe_key) DO NOTHING");
    Ok(sql)
}
