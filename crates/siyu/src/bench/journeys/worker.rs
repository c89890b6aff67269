//! `siyu bench journeys-worker` (hidden): the worker process the crash test kills. It steps due runs and
//! delivers the outbox through the real App (`run_due_journeys`, `dispatch_outbox`) on the simulated clock
//! the parent gives it, and exits 0 once the journey has no live run and no pending outbox row.
//!
//! Nothing here makes the work safe to kill: the claim's fencing epoch, the ledger's `ON CONFLICT DO NOTHING`,
//! the outbox's dedupe key and the sandbox's one message per dedupe key do. A SIGKILL can land anywhere,
//! including inside a transaction, which the database then rolls back.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::Args;
use siyu_app::{App, Settings};
use siyu_domain::id::{JourneyId, TenantId};
use siyu_store::{ConnectOptions, Store};

use super::clock::RunningClock;
use crate::demo::err;

#[derive(Args)]
pub struct WorkerArgs {
    #[arg(long)]
    tenant: uuid::Uuid,
    #[arg(long)]
    journey: uuid::Uuid,
    /// The simulated time at `--wall-start-ms`.
    #[arg(long)]
    sim_start: DateTime<Utc>,
    /// The machine's time (Unix milliseconds) the simulated clock starts from.
    #[arg(long)]
    wall_start_ms: i64,
    /// How many simulated seconds pass per second of the machine's clock.
    #[arg(long)]
    speed: f64,
}

impl WorkerArgs {
    /// The arguments that start a worker on this clock (`database_url` is passed as `--database-url`).
    pub fn command_line(tenant: TenantId, journey: JourneyId, clock: &RunningClock) -> Vec<String> {
        vec![
            "--tenant".into(),
            tenant.0.to_string(),
            "--journey".into(),
            journey.0.to_string(),
            "--sim-start".into(),
            clock.start.to_rfc3339(),
            "--wall-start-ms".into(),
            clock.wall_start_ms.to_string(),
            "--speed".into(),
            clock.speed.to_string(),
        ]
    }
}

pub async fn run(settings: Settings, a: WorkerArgs) -> anyhow::Result<()> {
    let opts = ConnectOptions { max_connections: 4, ..ConnectOptions::new(&settings.database.url) };
    let store = Store::connect(&opts).await?;
    let clock = RunningClock { start: a.sim_start, wall_start_ms: a.wall_start_ms, speed: a.speed };
    let app = App::new(store, settings, Arc::new(clock))?;
    let (tenant, journey) = (TenantId(a.tenant), JourneyId(a.journey));
    loop {
        let stepped = app.run_due_journeys().await.map_err(err)?;
        let delivered = app.dispatch_outbox().await.map_err(err)?;
        if stepped + delivered > 0 {
            continue;
        }
        let (live, pending) = app.store.journeys().bench_open_work(tenant, journey).await?;
        if live + pending == 0 {
            app.store.close().await;
            return Ok(());
        }
        // Idle until the next wait ends: a few simulated minutes at the crash test's speeds.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
