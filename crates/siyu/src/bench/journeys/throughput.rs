//! Step transitions per second through the real worker path, with exactly-once bookkeeping: `jobs` runs of
//! `trigger → send → end` due at once, stepped by `App::run_due_journeys` until none is due (each batch of
//! 100: the claim with its fencing epoch, each customer's view (consent, the day's sends), the pure step,
//! one transaction with the runs, ledger rows and outbox rows), then delivered by `App::dispatch_outbox`
//! (each message rendered and recorded in the sandbox once per dedupe key, its outbox row marked sent in the
//! same transaction). A warm-up of `warm` runs goes through both first. The clock stands still at a local
//! morning, so quiet hours hold nothing, and each customer is sent one message (under the daily cap).

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset, Offset, Utc};
use siyu_app::clock::ManualClock;
use siyu_app::journeys::BATCH;
use siyu_app::{App, Settings};
use siyu_domain::id::CustomerId;
use siyu_domain::journey::step::{CustomerView, Wake, step};
use siyu_store::journeys::StepWrite;
use siyu_store::{ConnectOptions, Store};

use super::clock::local_morning;
use super::fixture::{self, bar};
use crate::bench::report::thousands;
use crate::demo::err;

/// What the throughput run measured.
pub struct Measured {
    pub jobs: u64,
    /// `run_due_journeys` until idle.
    pub step_s: f64,
    /// `dispatch_outbox` until idle.
    pub deliver_s: f64,
    pub ledger: u64,
    pub delivered: u64,
    /// The same steps through the store alone: `claim_due`, the pure step with a view that asks nothing,
    /// `write_steps` (seconds).
    pub store_s: f64,
}

impl Measured {
    pub fn steps_per_s(&self) -> f64 {
        self.jobs as f64 / self.step_s.max(1e-9)
    }

    pub fn deliveries_per_s(&self) -> f64 {
        self.jobs as f64 / self.deliver_s.max(1e-9)
    }

    /// Steps and deliveries together: a message from due to recorded.
    pub fn end_to_end_per_s(&self) -> f64 {
        self.jobs as f64 / (self.step_s + self.deliver_s).max(1e-9)
    }

    /// Steps through the store alone (no per-customer reads).
    pub fn store_steps_per_s(&self) -> f64 {
        self.jobs as f64 / self.store_s.max(1e-9)
    }

    pub fn line(&self) -> String {
        format!(
            "siyu: {} step transitions in {:.2} s = {} steps/s; delivered in {:.2} s = {} deliveries/s; \
             both = {} messages/s (ledger rows {}, sandbox messages {}); store path alone {} steps/s",
            thousands(self.jobs as f64),
            self.step_s,
            thousands(self.steps_per_s()),
            self.deliver_s,
            thousands(self.deliveries_per_s()),
            thousands(self.end_to_end_per_s()),
            thousands(self.ledger as f64),
            thousands(self.delivered as f64),
            thousands(self.store_steps_per_s()),
        )
    }
}

pub async fn measure(settings: &Settings, jobs: u64, warm: u64) -> anyhow::Result<Measured> {
    let opts = ConnectOptions {
        max_connections: settings.database.max_connections,
        ..ConnectOptions::new(&settings.database.url)
    };
    let store = Store::connect(&opts).await?;
    store.migrate().await?;
    let app = App::new(store, settings.clone(), Arc::new(ManualClock::new(local_morning())))?;
    let result = run(&app, jobs, warm).await;
    app.store.close().await;
    result
}

async fn run(app: &App, jobs: u64, warm: u64) -> anyhow::Result<Measured> {
    println!("  throughput: {} customers, one run each due now", thousands((jobs + warm) as f64));
    let fx = fixture::tenant_with_customers(app, jobs + warm).await?;
    let journey = fixture::journey(app, &fx.owner, "一步发送", fixture::one_send()).await?;
    let now = app.now();
    let (warmers, measured) = fx.customers.split_at(warm as usize);
    fixture::seed_runs(app, &fx, journey, warmers, "start", "running", |_| now).await?;
    drain(app, warmers.len() as u64, "warm-up").await?;
    // A fresh database has no planner statistics yet; one in use has them (autovacuum).
    app.store.analyze().await?;
    fixture::seed_runs(app, &fx, journey, measured, "start", "running", |_| now).await?;

    let bar = bar(jobs, "steps");
    let started = Instant::now();
    let mut stepped = 0;
    loop {
        let n = app.run_due_journeys().await.map_err(err)?;
        if n == 0 {
            break;
        }
        stepped += n;
        bar.set_position(stepped);
    }
    let step_s = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let bar = fixture::bar(jobs, "deliveries");
    let started = Instant::now();
    let mut delivered = 0;
    loop {
        let n = app.dispatch_outbox().await.map_err(err)?;
        if n == 0 {
            break;
        }
        delivered += n;
        bar.set_position(delivered);
    }
    let deliver_s = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    anyhow::ensure!(stepped == jobs, "stepped {stepped} runs, expected {jobs}");
    let rows = app.store.journeys().bench_rows(fx.tenant, journey).await?;
    let ledger = rows.ledger.len() as u64;
    let sandbox = rows.sandbox.len() as u64;
    anyhow::ensure!(
        ledger == jobs + warm && sandbox == jobs + warm,
        "expected {} ledger rows and sandbox messages, found {ledger} and {sandbox}",
        jobs + warm
    );
    let store_s = store_path(app, &fx, measured).await?;
    Ok(Measured { jobs, step_s, deliver_s, ledger, delivered: sandbox, store_s })
}

/// What a step may ask, answered without reading anything: Shanghai's offset, every message allowed.
struct Allowed;

impl CustomerView for Allowed {
    fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix())
    }
    fn stage_entered_at(&self) -> Option<DateTime<Utc>> {
        None
    }
    fn branch(&self, _: &str) -> bool {
        false
    }
    fn may_send(&self, _: &str) -> bool {
        true
    }
}

/// The bookkeeping alone: the same customers' runs of a second journey, claimed, stepped and written back
/// through the store 100 at a time, without the App's per-customer reads. Returns the seconds it took.
async fn store_path(app: &App, fx: &fixture::Fixture, customers: &[CustomerId]) -> anyhow::Result<f64> {
    let journey = fixture::journey(app, &fx.owner, "一步发送（存储层）", fixture::one_send()).await?;
    let graph = app.store.journeys().version(fx.tenant, journey, 1).await?;
    let now = app.now();
    fixture::seed_runs(app, fx, journey, customers, "start", "running", |_| now).await?;
    let bar = bar(customers.len() as u64, "store steps");
    let started = Instant::now();
    let journeys = app.store.journeys();
    loop {
        let claimed = journeys.claim_due(fx.tenant, now, now + Duration::seconds(60), BATCH).await?;
        if claimed.is_empty() {
            break;
        }
        let writes: Vec<StepWrite> = claimed
            .into_iter()
            .map(|c| {
                let (instance, effects) = step(&graph, c.instance.clone(), &Allowed, now, Wake::Clock);
                StepWrite { claimed: c, instance, effects }
            })
            .collect();
        let report = journeys.write_steps(fx.tenant, &writes, now).await?;
        bar.inc(report.written);
    }
    let secs = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok(secs)
}

/// Steps and delivers until idle (the warm-up).
async fn drain(app: &App, n: u64, what: &str) -> anyhow::Result<()> {
    let bar = bar(n, what);
    loop {
        let stepped = app.run_due_journeys().await.map_err(err)?;
        let delivered = app.dispatch_outbox().await.map_err(err)?;
        if stepped + delivered == 0 {
            break;
        }
        bar.inc(stepped);
    }
    bar.finish_and_clear();
    Ok(())
}
