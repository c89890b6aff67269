//! `siyu bench journeys --crash-cycles N`: kill -9 the journey worker at random points, N times, while
//! customers move through a journey, then prove every customer received each message exactly once and no
//! run is stuck (reference/journeys.md §9).
//!
//! The parent makes a fresh database, `--customers` customers and the journey
//! `trigger → m1 (send) → a day → m2 (send) → a day → m3 (send) → tag`, enrols every customer through
//! `App::enrol_in_journey`, then starts `siyu bench journeys-worker` as a child process, sends it SIGKILL
//! after a random delay (uniform in `--kill-min-ms..=--kill-max-ms`, from `--seed`), waits for it and starts
//! the next, N times. Then one last worker runs until the journey has nothing left, and `audit` reads back
//! every run, ledger, outbox and sandbox row.
//!
//! Time: the sends are a day apart because of the daily cap and must not fall in quiet hours, so every
//! worker runs on the same simulated clock (`clock::RunningClock`), from 08:30 local at `--speed` times the
//! wall's pace (1,920: a day in 45 s), running on while a worker is dead.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use siyu_app::clock::ManualClock;
use siyu_app::{App, Settings};
use siyu_domain::id::{JourneyId, TenantId};
use siyu_store::{ConnectOptions, Store};

use super::audit::{self, Findings, SENDS};
use super::clock::{RunningClock, local_morning};
use super::worker::WorkerArgs;
use super::{Backend, fixture};
use crate::bench::databases::{self, Database};
use crate::bench::report::thousands;
use crate::demo::err;

#[derive(Args)]
pub struct CrashArgs {
    /// Customers moving through the journey in the crash test.
    #[arg(long, default_value_t = 10_000)]
    customers: u64,
    /// Seed of the random kill delays.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated seconds per second in the crash test.
    #[arg(long, default_value_t = 1_920.0)]
    speed: f64,
    /// Shortest time a worker lives before it is killed.
    #[arg(long, default_value_t = 200)]
    kill_min_ms: u64,
    /// Longest time a worker lives before it is killed.
    #[arg(long, default_value_t = 1_500)]
    kill_max_ms: u64,
    /// Longest the last worker may take to finish the journey.
    #[arg(long, default_value_t = 600)]
    finish_timeout_s: u64,
}

/// What one database's crash test did and found.
struct Outcome {
    label: &'static str,
    kills: u32,
    worker_errors: u32,
    findings: Findings,
    seconds: f64,
}

pub async fn run(settings: &Settings, backends: &[Backend], cycles: u32, a: &CrashArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.kill_min_ms <= a.kill_max_ms, "--kill-min-ms is above --kill-max-ms");
    let (pg_server, named) = databases::postgres_server(&settings.database.url);
    let mut outcomes = Vec::new();
    for backend in backends {
        let db = match backend {
            Backend::Sqlite => Database::sqlite("crash"),
            Backend::Postgres => match Database::postgres(&pg_server).await {
                Ok(db) => db,
                Err(e) if !named => {
                    println!("PostgreSQL: skipped ({e:#}); name a server with --database-url or SIYU_BENCH_PG_URL");
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        println!("\n{}: crash test on {}", db.label, db.describe());
        let outcome = on_database(settings, &db, cycles, a).await;
        let removed = db.remove().await;
        outcomes.push(outcome?);
        removed?;
    }
    let mut failed = Vec::new();
    for o in &outcomes {
        let f = &o.findings;
        println!(
            "{}: {} kills, {} customers, {} sandbox messages ({} expected), runs done {}, not done {}, outbox {:?}, \
             not exactly once {}, sends in quiet hours {}, two sends a day {}: {}",
            o.label,
            o.kills,
            thousands(f.customers as f64),
            thousands(f.sandbox_messages as f64),
            thousands((f.customers * SENDS.len()) as f64),
            f.runs_done,
            f.runs_not_done,
            f.outbox_by_status,
            f.not_exactly_once,
            f.sends_in_quiet_hours,
            f.second_send_same_day,
            if f.ok() && o.kills >= cycles { "OK" } else { "FAILED" }
        );
        for p in &f.problems {
            println!("  {p}");
        }
        if o.kills < cycles {
            println!("  the journey finished after {} of {cycles} kills: lower --speed", o.kills);
        }
        if !f.ok() || o.kills < cycles {
            failed.push(o.label);
        }
        let summary = json!({"crash_test": o.label, "ok": f.ok() && o.kills >= cycles, "kills": o.kills,
            "worker_errors": o.worker_errors, "seconds": o.seconds, "findings": f});
        println!("{summary}");
    }
    anyhow::ensure!(failed.is_empty(), "crash test failed on {}", failed.join(", "));
    Ok(())
}

async fn on_database(settings: &Settings, db: &Database, cycles: u32, a: &CrashArgs) -> anyhow::Result<Outcome> {
    let mut settings = settings.clone();
    settings.database.url = db.url.clone();
    let store = Store::connect(&ConnectOptions::new(&db.url)).await?;
    store.migrate().await?;
    // Set-up happens at the simulated start: the clock only runs once the workers do.
    let app = App::new(store, settings.clone(), Arc::new(ManualClock::new(local_morning())))?;
    let fx = fixture::tenant_with_customers(&app, a.customers).await?;
    let tag = fixture::tag(&app, &fx.owner).await?;
    let journey = fixture::journey(&app, &fx.owner, "三天三条", graph(tag)).await?;
    let bar = fixture::bar(a.customers, "enrolling");
    for c in &fx.customers {
        anyhow::ensure!(app.enrol_in_journey(fx.tenant, journey, *c).await.map_err(err)?.is_some(), "not enrolled");
        bar.inc(1);
    }
    bar.finish_and_clear();
    let offset = app.tenant_offset(fx.tenant).await.map_err(err)?;

    let started = Instant::now();
    let clock = RunningClock::from_now(local_morning(), a.speed);
    let workers = Workers::new(&db.url, fx.tenant, journey, clock)?;
    let mut rng = StdRng::seed_from_u64(a.seed);
    let bar = fixture::bar(u64::from(cycles), "kill -9");
    let (mut kills, mut worker_errors) = (0, 0);
    for _ in 0..cycles {
        let mut child = workers.spawn()?;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(a.kill_min_ms..=a.kill_max_ms))).await;
        match child.try_wait()? {
            Some(status) if status.success() => break,
            Some(_) => worker_errors += 1,
            None => {
                child.kill()?; // SIGKILL
                child.wait()?;
                kills += 1;
            }
        }
        let (live, pending) = app.store.journeys().bench_open_work(fx.tenant, journey).await?;
        bar.set_message(format!("{live} runs live, {pending} to deliver"));
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!("  {kills} kills in {:.0} s ({worker_errors} workers exited with an error); finishing", secs(started));
    // The last worker runs until nothing is left; one that fails is replaced a few times.
    let mut finished = false;
    for _ in 0..3 {
        let child = workers.spawn()?;
        let waited = tokio::time::timeout(
            Duration::from_secs(a.finish_timeout_s),
            tokio::task::spawn_blocking(move || {
                let mut child = child;
                let status = child.wait();
                (child, status)
            }),
        )
        .await;
        match waited {
            Ok(Ok((_, Ok(status)))) if status.success() => {
                finished = true;
                break;
            }
            Ok(Ok((_, _))) => worker_errors += 1,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => {
                anyhow::bail!("the last worker did not finish in {} s (log: {})", a.finish_timeout_s, workers.log())
            }
        }
    }
    anyhow::ensure!(finished, "the last worker kept failing (log: {})", workers.log());
    let seconds = secs(started);
    let rows = app.store.journeys().bench_rows(fx.tenant, journey).await?;
    if let Some((first, last)) = audit::span(&rows) {
        let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&offset).format("%m-%d %H:%M");
        println!("  done in {seconds:.0} s; the steps ran from {} to {} local (simulated)", local(first), local(last));
    }
    let findings = audit::audit(&rows, &fx.customers, offset);
    app.store.close().await;
    Ok(Outcome { label: db.label, kills, worker_errors, findings, seconds })
}

/// Starts worker processes: `siyu --database-url URL bench journeys-worker ...`, standard error to a log.
struct Workers {
    exe: PathBuf,
    args: Vec<String>,
    log: PathBuf,
}

impl Workers {
    fn new(url: &str, tenant: TenantId, journey: JourneyId, clock: RunningClock) -> anyhow::Result<Self> {
        let mut args = vec!["--database-url".to_string(), url.to_string(), "bench".into(), "journeys-worker".into()];
        args.extend(WorkerArgs::command_line(tenant, journey, &clock));
        let log = std::env::temp_dir().join(format!("siyu-journeys-crash-{}.log", uuid::Uuid::now_v7().simple()));
        Ok(Self { exe: std::env::current_exe()?, args, log })
    }

    fn spawn(&self) -> anyhow::Result<Child> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log)?;
        Ok(Command::new(&self.exe).args(&self.args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn()?)
    }

    fn log(&self) -> String {
        self.log.display().to_string()
    }
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// The crash journey: three sends a day apart, then a tag.
fn graph(tag: siyu_domain::id::TagId) -> serde_json::Value {
    let send = |id: &str, text: &str, next: &str| {
        json!({"id": id, "type": "send", "channel": "sandbox", "template": format!("{{{{ name }}}}，{text}"),
               "next": {"next": next}})
    };
    let day = |id: &str, next: &str| json!({"id": id, "type": "wait", "wait": {"until": "duration", "minutes": 1440}, "next": {"next": next}});
    json!({"nodes": [
        {"id": "start", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "m1"}},
        send("m1", SENDS[0].1, "d1"),
        day("d1", "m2"),
        send("m2", SENDS[1].1, "d2"),
        day("d2", "m3"),
        send("m3", SENDS[2].1, "done_tag"),
        {"id": "done_tag", "type": "tag", "add": [tag], "next": {}}
    ]})
}
