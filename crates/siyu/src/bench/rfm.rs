//! `siyu bench rfm`: 10 M orders → each customer's recency, frequency and monetary value → RFM quintile
//! scores, with `siyu_domain::rfm` (`RfmInput::from_orders`, `score_all`), against DuckDB computing the same
//! aggregation and `RANK()` scores from the same orders.
//!
//! Both sides start from the orders in memory: siyu from columns in Rust vectors (`orders`), DuckDB from its
//! own table loaded from the same rows as CSV. Timed: grouping, aggregation and scoring, until every
//! scored customer's values and scores are materialised (a `Vec<RfmScore>`; a DuckDB table); not the
//! generation or the loading. Warm, best of `--runs` after one to warm up. The two must give every score
//! the same: the counts per (r, f, m) over all customers, and every value of a sample of customers.

mod orders;
mod score;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::FixedOffset;
use clap::Args;
use serde::Deserialize;
use siyu_domain::rfm::{FrequencyBasis, MonetaryBasis, RfmConfig, RfmScore, Scoring, Window};

use super::identity::spinner;
use super::python::{self, DUCKDB};
use super::report::{machine, thousands};

/// The ratio of DuckDB's time to siyu's the project aims for.
pub const GOAL: f64 = 1.0;
/// Days F and M look back.
const WINDOW: u32 = 365;
/// Customers whose number is 7 modulo this are compared value by value.
const SAMPLE_EVERY: u32 = 1000;
const SCRIPT: &str = include_str!("../../../../benches/rfm/duckdb_rfm.py");
pub const SCRIPT_PATH: &str = "benches/rfm/duckdb_rfm.py";

#[derive(Args, Clone)]
pub struct RfmArgs {
    /// Orders (one line each).
    #[arg(long, default_value_t = 10_000_000)]
    lines: u64,
    /// Customers they belong to [default: a fifth of the lines].
    #[arg(long)]
    customers: Option<u32>,
    /// Seed of the generator: the same sizes and seed give the same orders.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed runs on each side, after one to warm up; the best is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Threads for siyu's aggregation [default: the machine's cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Where the orders CSV for DuckDB is written (and reused).
    #[arg(long, default_value = "target/bench-rfm")]
    dir: PathBuf,
    /// Run siyu only, without DuckDB.
    #[arg(long)]
    skip_peer: bool,
    /// A Python interpreter that imports `duckdb` [default: a venv in target/bench-venv, made on first use].
    #[arg(long)]
    python: Option<PathBuf>,
}

/// What `benches/rfm/duckdb_rfm.py` prints.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerRun {
    pub duckdb: String,
    pub threads: u64,
    pub lines: u64,
    pub load_s: f64,
    pub best_s: f64,
    pub median_s: f64,
    pub scored: u64,
    /// `[r, f, m, customers]`.
    pub histogram: Vec<[u64; 4]>,
    /// `[customer, recency_days, frequency, monetary_fen, r, f, m]`.
    pub sample: Vec<[i64; 7]>,
}

/// The configuration both sides score with: quintiles; R from the last counted order ever, F distinct
/// purchase days and M net fen over the last year.
pub fn config() -> RfmConfig {
    RfmConfig {
        scoring: Scoring::Quantiles,
        frequency: FrequencyBasis::PurchaseDays,
        frequency_window: Window::Days(WINDOW),
        monetary: MonetaryBasis::Total,
        monetary_window: Window::Days(WINDOW),
        ..RfmConfig::default()
    }
}

pub async fn run(args: RfmArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || bench(&args)).await?
}

fn bench(a: &RfmArgs) -> anyhow::Result<()> {
    let python = if a.skip_peer { None } else { Some(python::interpreter(a.python.as_deref(), &[DUCKDB])?) };
    let customers = a.customers.unwrap_or_else(|| u32::try_from(a.lines / 5).unwrap_or(u32::MAX)).max(1);
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let tz = FixedOffset::east_opt(8 * 3600).ok_or_else(|| anyhow::anyhow!("offset"))?;
    let as_of = orders::as_of();
    let config = config();

    let started = Instant::now();
    let orders = orders::generate(a.lines, customers, a.seed)?;
    println!(
        "orders: {} lines of {} customers generated in {:.1} s",
        thousands(orders.len() as f64),
        thousands(f64::from(customers)),
        started.elapsed().as_secs_f64()
    );

    let bar = spinner(format!("siyu: warm-up and {} runs", a.runs));
    let mut times = Vec::new();
    let mut scored = score::score(&orders, customers, &config, as_of, tz, threads);
    for _ in 0..a.runs.max(1) {
        drop(scored);
        scored = score::score(&orders, customers, &config, as_of, tz, threads);
        times.push(scored.elapsed);
    }
    bar.finish_and_clear();
    times.sort_unstable();
    let (best, median) = (times[0], times[times.len() / 2]);
    println!(
        "siyu ({threads} threads): {} customers scored; best of {} {:.3} s ({})",
        thousands(scored.scores.len() as f64),
        a.runs,
        best.as_secs_f64(),
        steps(&scored.steps)
    );

    let peer = match &python {
        Some(python) => {
            let csv = orders::write_csv(&a.dir, &orders, customers, a.seed)?;
            drop(orders);
            let today = (as_of.timestamp() + i64::from(tz.local_minus_utc())).div_euclid(86_400);
            let args = [
                csv.display().to_string(),
                "--today".into(),
                today.to_string(),
                "--offset".into(),
                tz.local_minus_utc().to_string(),
                "--window".into(),
                WINDOW.to_string(),
                "--runs".into(),
                a.runs.to_string(),
                "--sample-every".into(),
                SAMPLE_EVERY.to_string(),
            ];
            println!("duckdb: running {SCRIPT_PATH} (loads the CSV first)");
            let bar = spinner("duckdb: load the CSV, warm-up and runs");
            let run = python::run_script::<PeerRun>(python, &a.dir, "duckdb_rfm.py", SCRIPT, &args);
            bar.finish_and_clear();
            let run = run?.output;
            anyhow::ensure!(run.lines == a.lines, "DuckDB loaded {} orders, not {}", run.lines, a.lines);
            println!("duckdb {}: loaded in {:.1} s; best of {} {:.3} s", run.duckdb, run.load_s, a.runs, run.best_s);
            Some(run)
        }
        None => None,
    };

    let agreement = peer.as_ref().map(|p| agree(&scored.scores, p));
    println!("\n{}\n", machine());
    println!("{}", results(a.lines, customers, threads, &scored, best, median, peer.as_ref(), agreement.as_ref()));
    if let Some(Err(why)) = agreement {
        anyhow::bail!("siyu and DuckDB disagree: {why}");
    }
    Ok(())
}

fn steps(steps: &[(&str, Duration)]) -> String {
    let parts: Vec<String> = steps.iter().map(|(name, d)| format!("{name} {:.3} s", d.as_secs_f64())).collect();
    parts.join(", ")
}

/// How many customers were compared value by value, or the first difference.
fn agree(ours: &[RfmScore], peer: &PeerRun) -> Result<usize, String> {
    if ours.len() as u64 != peer.scored {
        return Err(format!("siyu scored {} customers, DuckDB {}", ours.len(), peer.scored));
    }
    let mut histogram: BTreeMap<[u64; 3], u64> = BTreeMap::new();
    for s in ours {
        *histogram.entry([u64::from(s.r), u64::from(s.f), u64::from(s.m)]).or_default() += 1;
    }
    let theirs: BTreeMap<[u64; 3], u64> = peer.histogram.iter().map(|[r, f, m, n]| ([*r, *f, *m], *n)).collect();
    if histogram != theirs {
        let first = histogram
            .iter()
            .find(|(k, n)| theirs.get(*k) != Some(n))
            .map(|(k, n)| format!("(r, f, m) = {k:?}: siyu {n}, DuckDB {:?}", theirs.get(k)));
        return Err(first.unwrap_or_else(|| "the (r, f, m) counts differ".to_string()));
    }
    let mine: BTreeMap<i64, [i64; 7]> = ours
        .iter()
        .map(|s| (score::number_of(s.customer), s))
        .filter(|(n, _)| n % SAMPLE_EVERY == 7)
        .map(|(n, s)| {
            let row = [
                i64::from(n),
                i64::from(s.recency_days),
                i64::from(s.frequency),
                s.monetary_fen,
                i64::from(s.r),
                i64::from(s.f),
                i64::from(s.m),
            ];
            (i64::from(n), row)
        })
        .collect();
    if mine.len() != peer.sample.len() {
        return Err(format!("sample: siyu has {} customers, DuckDB {}", mine.len(), peer.sample.len()));
    }
    for theirs in &peer.sample {
        if mine.get(&theirs[0]) != Some(theirs) {
            return Err(format!("customer {}: siyu {:?}, DuckDB {theirs:?}", theirs[0], mine.get(&theirs[0])));
        }
    }
    Ok(mine.len())
}

#[allow(clippy::too_many_arguments)]
fn results(
    lines: u64,
    customers: u32,
    threads: usize,
    scored: &score::Scored,
    best: Duration,
    median: Duration,
    peer: Option<&PeerRun>,
    agreement: Option<&Result<usize, String>>,
) -> String {
    let mut t = format!(
        "{} orders of {} customers; {} customers scored (quintiles; R lifetime, F purchase days and M net fen \
         over {WINDOW} days).\n\n| run | best | median | orders/s |\n|---|---:|---:|---:|\n",
        thousands(lines as f64),
        thousands(f64::from(customers)),
        thousands(scored.scores.len() as f64),
    );
    let row = |label: &str, best: f64, median: f64| {
        format!("| {label} | {best:.3} s | {median:.3} s | {} |\n", thousands(lines as f64 / best.max(1e-9)))
    };
    if let Some(p) = peer {
        t.push_str(&row(
            &format!("DuckDB {} ({} threads), in-memory table", p.duckdb, p.threads),
            p.best_s,
            p.median_s,
        ));
    }
    t.push_str(&row(&format!("siyu ({threads} threads), columns in memory"), best.as_secs_f64(), median.as_secs_f64()));
    t.push_str(&format!("\nsiyu, last run: {}.\n", steps(&scored.steps)));
    match (peer, agreement) {
        (Some(p), Some(agreement)) => {
            t.push_str(&format!("DuckDB loaded the CSV in {:.1} s (not timed).\n", p.load_s));
            match agreement {
                Ok(n) => t.push_str(&format!(
                    "Both score the same customers with the same (r, f, m) counts, and {n} sampled customers \
                     have the same values and scores.\n"
                )),
                Err(why) => t.push_str(&format!("**siyu and DuckDB disagree**: {why}\n")),
            }
            let ratio = p.best_s / best.as_secs_f64().max(1e-9);
            let verdict = if ratio >= GOAL { "goal met" } else { "**goal not met**" };
            t.push_str(&format!("DuckDB time / siyu time = {ratio:.2}× (goal ≥ {GOAL:.1}×): {verdict}.\n"));
        }
        _ => t.push_str("DuckDB was skipped (`--skip-peer`): no ratio.\n"),
    }
    t
}
