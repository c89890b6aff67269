//! `siyu bench segment`: counting the customers one segment rule (3 attributes + 2 tags) selects out of 10 M,
//! in memory over the tenant's columns (`Population::evaluate`, after `store.segments().population` loaded
//! them) and through `store.segments().count_matching` on SQLite, against DuckDB running the same statement
//! and the rule written by hand over the same three tables.
//!
//! The data (`data`) is one tenant's `customers`, `customer_aggregates` and `customer_tags` in a file made by
//! the migrations, written directly, and the same rows as CSV files, which DuckDB loads into its own tables
//! before timing. Both sides are timed warm, best of `--runs` after one run to warm up, and must count the
//! same customers. `probe` shows where SQLite's time goes.

mod data;
mod population;
mod probe;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::FixedOffset;
use clap::Args;
use serde::Deserialize;
use siyu_domain::id::{TagId, TenantId};
use siyu_domain::segment::check::Catalog;
use siyu_domain::segment::eval::At;
use siyu_domain::segment::{Rule, text};
use siyu_store::{ConnectOptions, Store};

use super::identity::spinner;
use super::python::{self, DUCKDB};
use super::report::{machine, thousands};

/// The rule, in the text form the API takes.
pub const RULE: &str =
    "order_count >= 2 and paid_fen > 50000 and gender = \"female\" and tag any [\"A\"] and tag none [\"B\"]";
/// The ratio of DuckDB's time to siyu's the project aims for.
pub const GOAL: f64 = 1.0;
const SCRIPT: &str = include_str!("../../../../benches/segment/duckdb_segment.py");
pub const SCRIPT_PATH: &str = "benches/segment/duckdb_segment.py";

#[derive(Args, Clone)]
pub struct SegmentArgs {
    /// Customers of the generated tenant.
    #[arg(long, default_value_t = 10_000_000)]
    customers: u64,
    /// Seed of the generator: the same size and seed give the same rows.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed runs on each side, after one to warm up; the best is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where generated data sets are kept (and reused), one folder per size and seed.
    #[arg(long, default_value = "target/bench-segment")]
    dir: PathBuf,
    /// Also time the rule with candidate covering indexes added to the file (dropped afterwards).
    #[arg(long)]
    try_indexes: bool,
    /// Run siyu only, without DuckDB.
    #[arg(long)]
    skip_peer: bool,
    /// A Python interpreter that imports `duckdb` [default: a venv in target/bench-venv, made on first use].
    #[arg(long)]
    python: Option<PathBuf>,
}

/// What `benches/segment/duckdb_segment.py` prints.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerRun {
    pub duckdb: String,
    pub python: String,
    pub threads: u64,
    pub load_s: f64,
    pub count: i64,
    pub best_s: f64,
    pub median_s: f64,
    /// The rule written by hand ([`population::DUCKDB_BY_HAND`]).
    #[serde(default)]
    pub hand_count: Option<i64>,
    #[serde(default)]
    pub hand_best_s: Option<f64>,
    #[serde(default)]
    pub hand_median_s: Option<f64>,
}

impl PeerRun {
    /// DuckDB's best time over both statements.
    pub fn best_of_both(&self) -> f64 {
        self.hand_best_s.map_or(self.best_s, |h| h.min(self.best_s))
    }
}

/// Timed runs of one side.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub count: i64,
    pub best: Duration,
    pub median: Duration,
}

pub async fn run(a: SegmentArgs) -> anyhow::Result<()> {
    let python = if a.skip_peer { None } else { Some(python::interpreter(a.python.as_deref(), &[DUCKDB])?) };
    let data = data::ensure(&a.dir, a.customers, a.seed).await?;
    let offset = FixedOffset::east_opt(8 * 3600).ok_or_else(|| anyhow::anyhow!("offset"))?;
    let catalog = Catalog {
        tags: data.tags.iter().map(|(id, name)| (TagId(*id), data::TAG_GROUP.to_string(), name.clone())).collect(),
        offset: Some(offset),
        ..Catalog::default()
    };
    let (_, rule) = text::parse(RULE, &catalog).map_err(|e| anyhow::anyhow!("the rule does not parse: {e:?}"))?;
    let at = At { now: data.now, offset };
    let tenant = TenantId(data.tenant);
    let tag = |name: &str| data.tags.iter().find(|(_, n)| n == name).map(|(id, _)| *id).unwrap_or_default();
    let binds = probe::Binds {
        tenant: data.tenant,
        min_orders: 2.0,
        min_paid_fen: 50_000.0,
        gender: "female".into(),
        any_tag: tag("A"),
        none_tag: tag("B"),
    };

    let db = data.db.clone();
    // Left over from an interrupted `--try-indexes`, a candidate index would change the plan.
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || probe::drop_candidates(&db2)).await??;
    let ours = time_store(&db, tenant, &rule, at, a.runs, "siyu: count_matching").await?;
    println!(
        "siyu: {} of {} customers match; best of {} {:.3} s",
        thousands(ours.count as f64),
        thousands(data.customers as f64),
        a.runs,
        ours.best.as_secs_f64()
    );
    let (db2, b, runs) = (db.clone(), binds.clone(), a.runs);
    let found = tokio::task::spawn_blocking(move || probe::probe(&db2, &b, runs.min(3))).await??;
    let mirrored = found.parts.last().map(|p| p.1);
    anyhow::ensure!(
        mirrored == Some(ours.count),
        "the hand-written statement counts {mirrored:?}, count_matching {}: probe.rs no longer mirrors compile.rs",
        ours.count
    );
    let mem = population::time_population(&db, tenant, &rule, at, a.runs).await?;
    println!(
        "siyu: population of {} loaded in {:.1} s; evaluate counts {}, best of {} {:.4} s",
        thousands(mem.rows as f64),
        mem.load.as_secs_f64(),
        thousands(mem.timing.count as f64),
        a.runs,
        mem.timing.best.as_secs_f64()
    );
    anyhow::ensure!(
        mem.timing.count == ours.count,
        "the population counts {}, count_matching {}",
        mem.timing.count,
        ours.count
    );
    let mut indexed = Vec::new();
    if a.try_indexes {
        for i in 0..probe::CANDIDATES.len() {
            indexed.push(with_candidate(&db, i, tenant, &rule, at, a.runs, &binds).await?);
        }
    }

    let peer = match &python {
        Some(python) => Some(duckdb(python, &data, &binds, a.runs)?),
        None => None,
    };
    println!("\n{}\n", machine());
    println!("{}", results(&data, &ours, &mem, &indexed, peer.as_ref(), &found));
    if let Some(p) = &peer {
        anyhow::ensure!(p.count == ours.count, "DuckDB counts {}, siyu {}", p.count, ours.count);
        let hand = p.hand_count;
        anyhow::ensure!(hand == Some(ours.count), "DuckDB by hand counts {hand:?}, siyu {}", ours.count);
    }
    Ok(())
}

/// `count_matching` once to warm up, then `runs` times, on a fresh connection pool.
async fn time_store(
    db: &std::path::Path,
    tenant: TenantId,
    rule: &Rule,
    at: At,
    runs: usize,
    label: &str,
) -> anyhow::Result<Timing> {
    let store = Store::connect(&ConnectOptions::new(format!("sqlite://{}", db.display()))).await?;
    store.migrate().await?;
    let spinner = spinner(format!("{label}: warm-up and {runs} runs"));
    let count = store.segments().count_matching(tenant, rule, at, &None).await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let again = store.segments().count_matching(tenant, rule, at, &None).await?;
        times.push(started.elapsed());
        anyhow::ensure!(again == count, "the count changed between runs: {count} then {again}");
    }
    spinner.finish_and_clear();
    store.close().await;
    Ok(timing(count, times))
}

fn timing(count: i64, mut times: Vec<Duration>) -> Timing {
    times.sort_unstable();
    Timing { count, best: times.first().copied().unwrap_or_default(), median: times[times.len() / 2] }
}

/// One candidate index tried: what it is, the time to build it, the rule's timing and plan with it.
pub struct Candidate {
    pub what: &'static str,
    pub built: Duration,
    pub timing: Timing,
    pub plan: Vec<String>,
}

/// Times the rule with candidate index `i` in the file, and its plan then; drops it again.
async fn with_candidate(
    db: &std::path::Path,
    i: usize,
    tenant: TenantId,
    rule: &Rule,
    at: At,
    runs: usize,
    binds: &probe::Binds,
) -> anyhow::Result<Candidate> {
    let what = probe::CANDIDATES[i].2;
    let bar = spinner(format!("CREATE INDEX {what}"));
    let db2 = db.to_path_buf();
    let started = Instant::now();
    let made = tokio::task::spawn_blocking(move || probe::add_candidate(&db2, i)).await?;
    let built = started.elapsed();
    bar.finish_and_clear();
    made?;
    let timed = time_store(db, tenant, rule, at, runs, "siyu with a candidate index").await;
    let (db2, b) = (db.to_path_buf(), binds.clone());
    let plan = tokio::task::spawn_blocking(move || probe::plan_of(&db2, &b)).await?;
    let db2 = db.to_path_buf();
    tokio::task::spawn_blocking(move || probe::drop_candidates(&db2)).await??;
    let timing = timed?;
    println!("with {what}: best {:.3} s (built in {:.1} s)", timing.best.as_secs_f64(), built.as_secs_f64());
    Ok(Candidate { what, built, timing, plan: plan? })
}

/// Runs the DuckDB script on the data set's CSV files with the same statement and values.
fn duckdb(
    python: &std::path::Path,
    data: &data::DataSet,
    binds: &probe::Binds,
    runs: usize,
) -> anyhow::Result<PeerRun> {
    let query = serde_json::json!({
        "sql": probe::statement(),
        "hand_sql": population::DUCKDB_BY_HAND,
        "empty_tables": probe::EMPTY_TABLES,
        "params": [
            {"uuid": binds.tenant.to_string()},
            {"float": binds.min_orders},
            {"float": binds.min_paid_fen},
            {"text": binds.gender},
            {"uuid": binds.any_tag.to_string()},
            {"uuid": binds.none_tag.to_string()},
        ],
    });
    let path = data.dir.join("query.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&query)?)?;
    println!("duckdb: running {SCRIPT_PATH} (loads the CSV files first)");
    let spinner = spinner("duckdb: load the CSV files, warm-up and runs");
    let args = [data.dir.display().to_string(), path.display().to_string(), "--runs".into(), runs.to_string()];
    let run = python::run_script::<PeerRun>(python, &data.dir, "duckdb_segment.py", SCRIPT, &args);
    spinner.finish_and_clear();
    let run = run?.output;
    println!(
        "duckdb {}: {} match; loaded in {:.1} s; best of {runs} {:.3} s (by hand: {} match, {:.3} s)",
        run.duckdb,
        thousands(run.count as f64),
        run.load_s,
        run.best_s,
        thousands(run.hand_count.unwrap_or(-1) as f64),
        run.hand_best_s.unwrap_or(f64::NAN)
    );
    Ok(run)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The results table, the verdict and where SQLite's time goes.
fn results(
    data: &data::DataSet,
    ours: &Timing,
    mem: &population::PopulationRun,
    indexed: &[Candidate],
    peer: Option<&PeerRun>,
    found: &probe::Probe,
) -> String {
    let n = data.customers as f64;
    let mut t = format!(
        "Rule: `{RULE}`\n{} customers, {} customer tags, {} match.\n\n\
         | run | best | median | customers/s |\n|---|---:|---:|---:|\n",
        thousands(n),
        thousands(data.customer_tags as f64),
        thousands(ours.count as f64)
    );
    let row = |label: &str, best: f64, median: f64| {
        format!("| {label} | {best:.3} s | {median:.3} s | {} |\n", thousands(n / best.max(1e-9)))
    };
    if let Some(p) = peer {
        t.push_str(&row(
            &format!("DuckDB {} (Python {}, {} threads), in-memory tables", p.duckdb, p.python, p.threads),
            p.best_s,
            p.median_s,
        ));
        if let (Some(best), Some(median)) = (p.hand_best_s, p.hand_median_s) {
            t.push_str(&row("DuckDB, the rule by hand (joins, semi- and anti-join)", best, median));
        }
    }
    t.push_str(&row("siyu: `Population::evaluate` in memory", secs(mem.timing.best), secs(mem.timing.median)));
    t.push_str(&row("siyu: `count_matching` on SQLite", secs(ours.best), secs(ours.median)));
    for c in indexed {
        t.push_str(&row(&format!("siyu + index {}", c.what), secs(c.timing.best), secs(c.timing.median)));
    }
    t.push_str("\nParts of the statement alone (rusqlite, best of 3):\n");
    for (label, count, best) in &found.parts {
        t.push_str(&format!("- {label}: {:.3} s ({} rows)\n", secs(*best), thousands(*count as f64)));
    }
    t.push_str("\nEXPLAIN QUERY PLAN:\n");
    for line in &found.plan {
        t.push_str(&format!("    {line}\n"));
    }
    for c in indexed {
        t.push_str(&format!("With the index on {} (built in {:.1} s):\n", c.what, secs(c.built)));
        for line in &c.plan {
            t.push_str(&format!("    {line}\n"));
        }
    }
    match peer {
        None => t.push_str("\nDuckDB was skipped (`--skip-peer`): no ratio.\n"),
        Some(p) => {
            let duck = p.best_of_both();
            let ratio = duck / secs(mem.timing.best).max(1e-9);
            let verdict = if ratio >= GOAL { "goal met" } else { "**goal not met**" };
            let against = |siyu: Duration| {
                let by_hand =
                    p.hand_best_s.map_or(String::new(), |h| format!(", by hand {:.2}×", h / secs(siyu).max(1e-9)));
                format!("compiled statement {:.2}×{by_hand}", p.best_s / secs(siyu).max(1e-9))
            };
            t.push_str(&format!(
                "\nDuckDB loaded the CSV files in {:.1} s, siyu the population (only the rule's columns) from \
                 SQLite in {:.1} s (neither timed). All count {}.\n\
                 DuckDB's best time / siyu's population evaluate = {ratio:.2}× (goal ≥ {GOAL:.1}×): {verdict}.\n\
                 - population evaluate against DuckDB's {}\n\
                 - `count_matching` on SQLite against DuckDB's {}\n",
                p.load_s,
                secs(mem.load),
                thousands(p.count as f64),
                against(mem.timing.best),
                against(ours.best),
            ));
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_hand_written_statement_counts_what_count_matching_counts() {
        let dir = tempfile::tempdir().unwrap();
        let data = data::ensure(dir.path(), 3_000, 2).await.unwrap();
        let offset = FixedOffset::east_opt(8 * 3600).unwrap();
        let catalog = Catalog {
            tags: data.tags.iter().map(|(id, name)| (TagId(*id), data::TAG_GROUP.to_string(), name.clone())).collect(),
            ..Catalog::default()
        };
        let (_, rule) = text::parse(RULE, &catalog).unwrap();
        let at = At { now: data.now, offset };
        let ours = time_store(&data.db, TenantId(data.tenant), &rule, at, 1, "test").await.unwrap();
        assert!(ours.count > 20 && ours.count < 300, "{} match", ours.count);
        let tag = |name: &str| data.tags.iter().find(|(_, n)| n == name).unwrap().0;
        let binds = probe::Binds {
            tenant: data.tenant,
            min_orders: 2.0,
            min_paid_fen: 50_000.0,
            gender: "female".into(),
            any_tag: tag("A"),
            none_tag: tag("B"),
        };
        let found = probe::probe(&data.db, &binds, 1).unwrap();
        assert_eq!(found.parts.last().map(|p| p.1), Some(ours.count));
        let mem = population::time_population(&data.db, TenantId(data.tenant), &rule, at, 1).await.unwrap();
        assert_eq!(mem.timing.count, ours.count);
        assert!(mem.rows as u64 <= data.customers && mem.rows as u64 >= data.customers * 99 / 100, "{} rows", mem.rows);
        let lines = |name: &str| std::fs::read_to_string(data.dir.join(name)).unwrap().lines().count() as u64;
        assert_eq!(lines("customers.csv"), 3_001);
        assert_eq!(lines("customer_aggregates.csv"), 3_001);
        assert_eq!(lines("customer_tags.csv"), data.customer_tags + 1);
    }
}
