//! Bench and crash-test support for journeys, not used by the product: bulk seeding of customers' instance
//! rows (a million waiting runs in a minute, where `enrol` takes a transaction per customer) and plain
//! read-outs of the instances, ledger, outbox and sandbox rows of one journey, which `siyu bench journeys`
//! checks for exactly-once delivery and measures firing lag from.
//!
//! Every function is named `bench_*` and scoped to a tenant like the rest of the store. Seeded rows are
//! what `enrol` and a step would have written: a run at a node with a status and a due time, its bucket
//! from the customer id, no lease.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, JourneyId, TenantId};
use uuid::Uuid;

use super::{Journeys, bucket};
use crate::sql::{Arg, Sql, dyn_query};
use crate::{BackendKind, StoreError, in_tx, on_pool};

/// Rows per INSERT statement (12 values each, under the store's 30,000-value cap).
const ROWS_PER_STATEMENT: usize = 2_000;

/// One run to seed: the customer, the node it is at, its status and when it is due.
#[derive(Debug, Clone)]
pub struct BenchInstance {
    pub customer: CustomerId,
    pub node: String,
    /// `running` (due at once) or `waiting_time`.
    pub status: &'static str,
    pub next_run_at: DateTime<Utc>,
    pub entered_at: DateTime<Utc>,
}

/// A journey's rows as the bench reads them back.
#[derive(Debug, Clone, Default)]
pub struct BenchRows {
    /// (customer, node, status) of every run.
    pub instances: Vec<(CustomerId, String, String)>,
    /// (customer, node, at) of every ledger row.
    pub ledger: Vec<(CustomerId, String, DateTime<Utc>)>,
    /// (customer, node, status) of every outbox row.
    pub outbox: Vec<(CustomerId, String, String)>,
    /// (customer, dedupe key, body) of every sandbox message of the tenant.
    pub sandbox: Vec<(CustomerId, String, String)>,
}

impl Journeys<'_> {
    /// Inserts runs of `journey` at `version` (entry 1 each) in one transaction of multi-row INSERTs.
    pub async fn bench_seed_instances(
        &self,
        tenant: TenantId,
        journey: JourneyId,
        version: i64,
        rows: &[BenchInstance],
    ) -> Result<u64, StoreError> {
        let anonymous = self.0.kind() == BackendKind::Sqlite;
        let statements: Vec<Sql> = rows
            .chunks(ROWS_PER_STATEMENT)
            .map(|chunk| {
                let mut sql = Sql::new(
                    "INSERT INTO journey_instances (tenant_id, journey_id, customer_id, entry_seq, version, node, status, \
                     next_run_at, bucket, entered_at, node_entered_at, updated_at, held_out) VALUES ",
                );
                for (i, r) in chunk.iter().enumerate() {
                    let values = [
                        Arg::Uuid(tenant.0),
                        Arg::Uuid(journey.0),
                        Arg::Uuid(r.customer.0),
                        Arg::Int(1),
                        Arg::Int(version),
                        Arg::Text(r.node.clone()),
                        Arg::Text(r.status.to_string()),
                        Arg::Time(r.next_run_at),
                        Arg::Int(bucket(r.customer)),
                        Arg::Time(r.entered_at),
                        Arg::Time(r.entered_at),
                        Arg::Time(r.entered_at),
                    ];
                    sql.push(if i > 0 { ", (" } else { "(" });
                    for (j, v) in values.into_iter().enumerate() {
                        sql.push(if j > 0 { ", " } else { "" });
                        // SQLite looks numbered placeholders up in a list: anonymous ones keep big statements linear.
                        if anonymous {
                            sql.push("?");
                            sql.args.push(v);
                        } else {
                            sql.bind(v);
                        }
                    }
                    sql.push(", false)");
                }
                sql
            })
            .collect();
        let mut written = 0;
        in_tx!(self.0, tx => {
            for s in statements {
                written += dyn_query!(s).execute(&mut *tx).await?.rows_affected();
            }
            Ok::<(), StoreError>(())
        })?;
        Ok(written)
    }

    /// Moves the due time of some customers' runs of the journey (one transaction).
    pub async fn bench_reschedule(
        &self,
        tenant: TenantId,
        journey: JourneyId,
        due: &[(CustomerId, DateTime<Utc>)],
    ) -> Result<(), StoreError> {
        in_tx!(self.0, tx => {
            for (customer, at) in due {
                sqlx::query("UPDATE journey_instances SET next_run_at = $4 WHERE tenant_id = $1 AND journey_id = $2 \
                     AND customer_id = $3")
                    .bind(tenant.0).bind(journey.0).bind(customer.0).bind(*at).execute(&mut *tx).await?;
            }
            Ok::<(), StoreError>(())
        })
    }

    /// Runs of the journey still live and outbox rows still pending: what a crash-test worker waits to see
    /// reach zero.
    pub async fn bench_open_work(&self, tenant: TenantId, journey: JourneyId) -> Result<(i64, i64), StoreError> {
        let (live,): (i64,) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(*) FROM journey_instances WHERE tenant_id = $1 AND journey_id = $2 \
             AND status IN ('running', 'waiting_time', 'waiting_event')")
            .bind(tenant.0).bind(journey.0).fetch_one(p).await)?;
        let (pending,): (i64,) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(*) FROM outbox WHERE tenant_id = $1 AND journey_id = $2 AND status = 'pending'")
            .bind(tenant.0).bind(journey.0).fetch_one(p).await)?;
        Ok((live, pending))
    }

    /// The ledger rows of one node of the journey: (customer, at), `at` being the claim's time.
    pub async fn bench_ledger_of_node(
        &self,
        tenant: TenantId,
        journey: JourneyId,
        node: &str,
    ) -> Result<Vec<(CustomerId, DateTime<Utc>)>, StoreError> {
        let rows: Vec<(Uuid, DateTime<Utc>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT customer_id, at FROM journey_steps WHERE tenant_id = $1 AND journey_id = $2 AND node = $3")
            .bind(tenant.0).bind(journey.0).bind(node).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(c, at)| (CustomerId(c), at)).collect())
    }

    /// Every row the journey left, for an exactly-once audit.
    pub async fn bench_rows(&self, tenant: TenantId, journey: JourneyId) -> Result<BenchRows, StoreError> {
        let instances: Vec<(Uuid, String, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT customer_id, node, status FROM journey_instances WHERE tenant_id = $1 AND journey_id = $2")
            .bind(tenant.0).bind(journey.0).fetch_all(p).await)?;
        let ledger: Vec<(Uuid, String, DateTime<Utc>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT customer_id, node, at FROM journey_steps WHERE tenant_id = $1 AND journey_id = $2")
            .bind(tenant.0).bind(journey.0).fetch_all(p).await)?;
        let outbox: Vec<(Uuid, String, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT customer_id, node, status FROM outbox WHERE tenant_id = $1 AND journey_id = $2")
            .bind(tenant.0).bind(journey.0).fetch_all(p).await)?;
        let sandbox: Vec<(Uuid, String, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT customer_id, dedupe_key, body FROM sandbox_messages WHERE tenant_id = $1")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(BenchRows {
            instances: instances.into_iter().map(|(c, n, s)| (CustomerId(c), n, s)).collect(),
            ledger: ledger.into_iter().map(|(c, n, at)| (CustomerId(c), n, at)).collect(),
            outbox: outbox.into_iter().map(|(c, n, s)| (CustomerId(c), n, s)).collect(),
            sandbox: sandbox.into_iter().map(|(c, k, b)| (CustomerId(c), k, b)).collect(),
        })
    }
}
