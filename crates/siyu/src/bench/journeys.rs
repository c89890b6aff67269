//! `siyu bench journeys`: the journey engine against graphile-worker and pg-boss, and its crash test.
//!
//! The benchmark (reference/journeys.md §8) measures three things on a fresh SQLite file and a throwaway
//! PostgreSQL database:
//! - **step transitions/s**: `--jobs` runs due at once in a journey `trigger → send (sandbox) → end`, stepped
//!   through the real worker path, `App::run_due_journeys` (claim 100 under a fenced lease, the pure step,
//!   one transaction writing the runs, their ledger rows and outbox rows), then delivered by
//!   `App::dispatch_outbox` (the sandbox channel, once per dedupe key);
//! - the **peers** on the same PostgreSQL database: graphile-worker and pg-boss (`benches/journeys/`, npm
//!   packages installed under `target/` on first use) each draining the same number of no-op jobs 100 at a
//!   time, warm;
//! - **firing lag** with `--waiting` runs waiting: a stream of them falls due at `--fire-rate` per second
//!   while the worker loop polls, and the lag is the claim's time minus the due time.
//!
//! `--crash-cycles N` runs the crash test instead (`crash`): a worker child process SIGKILLed at random
//! points N times while customers move through a journey of three sends a day apart, then proof that every
//! customer got each message exactly once and no run is stuck.

mod audit;
mod clock;
mod crash;
mod fixture;
mod lag;
mod peers;
mod throughput;
mod worker;

use std::path::PathBuf;

use clap::Args;
use siyu_app::Settings;

use super::databases::{self, Database};
use super::report::{machine, thousands};

pub use worker::{WorkerArgs, run as run_worker};

/// Runs claimed per batch on our side, and the peers' batch size.
const BATCH: usize = siyu_app::journeys::BATCH as usize;

#[derive(Args)]
pub struct JourneysArgs {
    /// Step transitions (ours) and no-op jobs (each peer) in the throughput run.
    #[arg(long, default_value_t = 100_000)]
    jobs: u64,
    /// Transitions or jobs run before measuring, to warm caches and connections.
    #[arg(long, default_value_t = 2_000)]
    warm: u64,
    /// Runs waiting during the firing-lag run.
    #[arg(long, default_value_t = 1_000_000)]
    waiting: u64,
    /// Seconds during which runs fall due in the firing-lag run.
    #[arg(long, default_value_t = 30)]
    lag_seconds: u64,
    /// Runs falling due per second in the firing-lag run.
    #[arg(long, default_value_t = 200)]
    fire_rate: u64,
    /// `sqlite`, `postgres` or `both`.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Do not run graphile-worker and pg-boss.
    #[arg(long)]
    skip_peers: bool,
    /// Do not run the firing-lag measurement.
    #[arg(long)]
    skip_lag: bool,
    /// Where the peers' npm packages are installed.
    #[arg(long, default_value = "target/bench-journeys-node")]
    node_dir: PathBuf,
    /// Run the crash test with this many SIGKILLs instead of the benchmark.
    #[arg(long)]
    crash_cycles: Option<u32>,
    #[command(flatten)]
    crash: crash::CrashArgs,
}

pub async fn run(settings: Settings, a: JourneysArgs) -> anyhow::Result<()> {
    let backends = backends(&a.backend)?;
    if let Some(cycles) = a.crash_cycles {
        return crash::run(&settings, &backends, cycles, &a.crash).await;
    }
    let (pg_server, named) = databases::postgres_server(&settings.database.url);
    let mut results = Vec::new();
    for backend in backends {
        let db = match backend {
            Backend::Sqlite => Database::sqlite("bench"),
            Backend::Postgres => match Database::postgres(&pg_server).await {
                Ok(db) => db,
                Err(e) if !named => {
                    println!("PostgreSQL: skipped ({e:#}); name a server with --database-url or SIYU_BENCH_PG_URL");
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        println!("\n{}: fresh database at {} ({})", db.label, db.describe(), db.durability);
        let outcome = on_database(&settings, &db, &a).await;
        let removed = db.remove().await;
        results.push(outcome?);
        removed?;
    }
    println!("\n{}\n", machine());
    for r in &results {
        println!("{}", r.summary());
    }
    Ok(())
}

/// Which databases a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn backends(s: &str) -> anyhow::Result<Vec<Backend>> {
    Ok(match s {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" | "postgresql" => vec![Backend::Postgres],
        "both" => vec![Backend::Sqlite, Backend::Postgres],
        other => anyhow::bail!("--backend {other}: expected sqlite, postgres or both"),
    })
}

/// What one database measured.
struct Outcome {
    label: &'static str,
    steps: throughput::Measured,
    peers: Vec<peers::PeerRun>,
    lag: Option<lag::Lag>,
}

impl Outcome {
    fn summary(&self) -> String {
        let mut out = format!("{}:\n  {}\n", self.label, self.steps.line());
        for p in &self.peers {
            let ratio = self.steps.steps_per_s() / p.rate.max(1e-9);
            let goal = p.goal;
            let verdict = if ratio >= goal { "met" } else { "not met" };
            out.push_str(&format!(
                "  {} {}: {} jobs in {:.2} s = {} jobs/s; siyu / {} = {ratio:.2}× (goal ≥ {goal}×: {verdict})\n",
                p.name,
                p.version,
                thousands(p.jobs as f64),
                p.seconds,
                thousands(p.rate),
                p.name
            ));
        }
        if let Some(l) = &self.lag {
            out.push_str(&format!("  {}\n", l.line()));
        }
        out
    }
}

async fn on_database(settings: &Settings, db: &Database, a: &JourneysArgs) -> anyhow::Result<Outcome> {
    let mut settings = settings.clone();
    settings.database.url = db.url.clone();
    let steps = throughput::measure(&settings, a.jobs, a.warm).await?;
    println!("  {}", steps.line());
    let mut runs = Vec::new();
    if db.is_postgres() && !a.skip_peers {
        let node = peers::prepare(&a.node_dir)?;
        for peer in peers::PEERS {
            let run = peers::run(&node, &a.node_dir, peer, &db.url, a.jobs, a.warm)?;
            println!("  {} {}: {} jobs/s", run.name, run.version, thousands(run.rate));
            runs.push(run);
        }
    }
    let lag = if a.skip_lag {
        None
    } else {
        let l = lag::measure(&settings, a.waiting, a.lag_seconds, a.fire_rate).await?;
        println!("  {}", l.line());
        Some(l)
    };
    Ok(Outcome { label: db.label, steps, peers: runs, lag })
}
