//! The in-memory path of `siyu bench segment`: the tenant loaded once through
//! `store.segments().population` (only the columns the rule reads; timed, not part of the ratio), then the
//! rule evaluated over the columns and bitsets by `Population::evaluate`, warm, best of `--runs`.
//!
//! Also the statement a DuckDB user would write for [`super::RULE`] by hand: plain joins, an uncorrelated
//! semi-join and anti-join on the tags, no correlated subqueries (the compiled statement's `EXISTS`
//! per row is what the store needs to stay NULL-free and general; this is DuckDB at its best).

use std::path::Path;
use std::time::{Duration, Instant};

use siyu_domain::id::TenantId;
use siyu_domain::segment::Rule;
use siyu_domain::segment::eval::At;
use siyu_domain::segment::population::Needs;
use siyu_store::{ConnectOptions, Store};

use super::{Timing, timing};
use crate::bench::identity::spinner;

/// The rule by hand for DuckDB, with the placeholders of `probe::statement` (`$1` tenant, `$2` orders,
/// `$3` fen, `$4` gender, `$5` the tag held, `$6` the tag not held). An inner join is right: a customer
/// without an aggregates row has no orders, so `order_count >= 2` fails for them on both sides.
pub const DUCKDB_BY_HAND: &str = "SELECT COUNT(*) FROM customers c \
     JOIN customer_aggregates a ON a.tenant_id = c.tenant_id AND a.customer_id = c.id \
     WHERE c.tenant_id = $1 AND c.erased_at IS NULL AND a.order_count >= $2 AND a.paid_fen > $3 AND c.gender = $4 \
     AND c.id IN (SELECT customer_id FROM customer_tags WHERE tenant_id = $1 AND tag_id = $5) \
     AND c.id NOT IN (SELECT customer_id FROM customer_tags WHERE tenant_id = $1 AND tag_id = $6)";

/// The population path timed: how long loading took, how many rows it holds, and the evaluation runs.
#[derive(Debug, Clone, Copy)]
pub struct PopulationRun {
    pub load: Duration,
    pub rows: usize,
    pub timing: Timing,
}

/// Loads the tenant's population for `rule` from the SQLite file, then evaluates the rule once to warm up
/// and `runs` times.
pub async fn time_population(
    db: &Path,
    tenant: TenantId,
    rule: &Rule,
    at: At,
    runs: usize,
) -> anyhow::Result<PopulationRun> {
    let store = Store::connect(&ConnectOptions::new(format!("sqlite://{}", db.display()))).await?;
    store.migrate().await?;
    let needs = Needs::of(rule);
    let bar = spinner("siyu: load the population");
    let started = Instant::now();
    let population = store.segments().population(tenant, &needs).await?;
    let external = store.segments().external_sets(tenant, &population, &needs, at).await?;
    let load = started.elapsed();
    bar.finish_and_clear();
    store.close().await;
    let bar = spinner(format!("siyu: population evaluate, warm-up and {runs} runs"));
    let count = population.evaluate(rule, at, &external)?.count() as i64;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let again = population.evaluate(rule, at, &external)?.count() as i64;
        times.push(started.elapsed());
        anyhow::ensure!(again == count, "the count changed between runs: {count} then {again}");
    }
    bar.finish_and_clear();
    Ok(PopulationRun { load, rows: population.len(), timing: timing(count, times) })
}
