//! Firing lag with many runs waiting (reference/journeys.md §8: p99 ≤ 1 s with 1 M active journeys): `waiting`
//! runs wait at a node `wait` of `trigger → wait → send → end`; `rate × seconds` of them fall due one after
//! the other at `rate` per second from two seconds after the worker starts, the others in thirty days. The
//! worker is the loop the `siyu worker` process runs for journeys: `run_due_journeys`, then
//! `dispatch_outbox`, and when both found nothing, a sleep of `worker.poll_ms`. The lag of a run is the time
//! its step was claimed (the ledger row's `at`) minus the time it fell due.
//!
//! The clock is the machine's, shifted to a local working morning (speed 1) so no send is held by quiet hours.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use serde_json::json;
use siyu_app::{App, Settings};
use siyu_store::{ConnectOptions, Store};

use super::clock::{RunningClock, local_morning};
use super::fixture;
use crate::bench::report::thousands;
use crate::demo::err;

/// Lateness of the runs that fell due.
pub struct Lag {
    pub waiting: u64,
    pub fired: u64,
    pub expected: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub poll_ms: u64,
    pub rate: u64,
}

impl Lag {
    pub fn line(&self) -> String {
        let verdict = if self.p99_ms <= 1_000.0 && self.fired == self.expected { "met" } else { "not met" };
        format!(
            "firing lag, {} runs waiting, {}/s falling due, poll {} ms: {} of {} fired, p50 {:.0} ms, p99 {:.0} ms, \
             max {:.0} ms (goal p99 ≤ 1 s: {verdict})",
            thousands(self.waiting as f64),
            self.rate,
            self.poll_ms,
            thousands(self.fired as f64),
            thousands(self.expected as f64),
            self.p50_ms,
            self.p99_ms,
            self.max_ms
        )
    }
}

pub async fn measure(settings: &Settings, waiting: u64, seconds: u64, rate: u64) -> anyhow::Result<Lag> {
    let opts = ConnectOptions {
        max_connections: settings.database.max_connections,
        ..ConnectOptions::new(&settings.database.url)
    };
    let store = Store::connect(&opts).await?;
    store.migrate().await?;
    let clock = Arc::new(RunningClock::from_now(local_morning(), 1.0));
    let app = App::new(store, settings.clone(), clock)?;
    let result = run(&app, waiting, seconds, rate).await;
    app.store.close().await;
    result
}

async fn run(app: &App, waiting: u64, seconds: u64, rate: u64) -> anyhow::Result<Lag> {
    let expected = (seconds * rate).min(waiting);
    println!("  firing lag: {} customers waiting, {} fall due over {seconds} s", thousands(waiting as f64), expected);
    let fx = fixture::tenant_with_customers(app, waiting).await?;
    let graph = json!({"nodes": [
        {"id": "start", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "wait"}},
        {"id": "wait", "type": "wait", "wait": {"until": "duration", "minutes": 60}, "next": {"next": "send"}},
        {"id": "send", "type": "send", "channel": "sandbox", "template": "{{ name }}，到点了"}
    ]});
    let journey = fixture::journey(app, &fx.owner, "定时发送", graph).await?;
    let later = app.now() + Duration::days(30);
    // Spread over the customers so the due runs are not neighbours in the table.
    let stride = (waiting / expected.max(1)).max(1) as usize;
    let placeholder = |_| later;
    fixture::seed_runs(app, &fx, journey, &fx.customers, "wait", "waiting_time", placeholder).await?;
    app.store.analyze().await?;
    // The due times are set now (seeding took a while): the stream starts 2 s from here.
    let start = app.now() + Duration::seconds(2);
    let due: HashMap<_, _> = (0..expected as usize)
        .map(|k| (fx.customers[k * stride], start + Duration::microseconds((k as i64) * 1_000_000 / rate as i64)))
        .collect();
    let firing: Vec<_> = due.iter().map(|(c, t)| (*c, *t)).collect();
    app.store.journeys().bench_reschedule(fx.tenant, journey, &firing).await?;

    let poll = StdDuration::from_millis(app.settings.worker.poll_ms);
    let until = Instant::now() + StdDuration::from_secs(seconds + 4);
    let bar = fixture::bar(expected, "fired");
    let mut fired = 0;
    while Instant::now() < until {
        let stepped = app.run_due_journeys().await.map_err(err)?;
        let delivered = app.dispatch_outbox().await.map_err(err)?;
        fired += stepped;
        bar.set_position(fired);
        if stepped + delivered == 0 {
            tokio::time::sleep(poll).await;
        }
    }
    bar.finish_and_clear();
    let ledger = app.store.journeys().bench_ledger_of_node(fx.tenant, journey, "send").await?;
    let mut lags: Vec<f64> = ledger
        .iter()
        .filter_map(|(c, at)| due.get(c).map(|t| (*at - *t).num_microseconds().unwrap_or(0) as f64 / 1_000.0))
        .collect();
    lags.sort_by(f64::total_cmp);
    let q = |p: f64| lags.get(((lags.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    Ok(Lag {
        waiting,
        fired: lags.len() as u64,
        expected,
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        max_ms: lags.last().copied().unwrap_or(0.0),
        poll_ms: app.settings.worker.poll_ms,
        rate,
    })
}
