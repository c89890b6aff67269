//! The group-commit writer: one task per node takes every request queued while its last commit ran (and,
//! if `ingest.commit_window_ms` is set, waits that long for more), up to `ingest.commit_max_events`, checks
//! the sources' rate windows, writes everything in one transaction, and only then answers each request.
//!
//! On SQLite this makes the writer the file's single ingest writer and turns a thousand small transactions
//! into one; on PostgreSQL it saves round trips and WAL flushes. A failed group commit is retried request by
//! request, so one bad request never fails the others; what still fails answers 503 (clients retry, and the
//! `messageId` dedupe makes the retry safe).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use siyu_domain::id::{SourceId, TenantId};
use siyu_store::Store;
use siyu_store::events::{AppendOutcome, EventBatch};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::{AppError, AppResult};
use crate::settings::IngestSettings;

/// The rate-limit window.
const WINDOW_SECS: i64 = 60;

struct Pending {
    batch: EventBatch,
    done: oneshot::Sender<AppResult<AppendOutcome>>,
}

/// Handle to the running writer task; requests queue on a bounded channel.
pub struct Writer {
    tx: mpsc::Sender<Pending>,
}

struct Limits {
    window: Duration,
    max_events: usize,
    per_minute: i64,
}

impl Writer {
    /// Spawns the writer task on the current runtime. It ends when the last handle is dropped.
    pub fn start(store: Store, settings: &IngestSettings) -> Self {
        let (tx, rx) = mpsc::channel(settings.queue_requests);
        let limits = Limits {
            window: Duration::from_millis(settings.commit_window_ms),
            max_events: settings.commit_max_events,
            per_minute: settings.events_per_minute_per_source,
        };
        tokio::spawn(run(store, rx, limits));
        Self { tx }
    }

    /// Queues one request's batch and waits for its commit. A full queue answers `Unavailable` at once.
    pub async fn submit(&self, batch: EventBatch) -> AppResult<AppendOutcome> {
        let (done, wait) = oneshot::channel();
        self.tx.try_send(Pending { batch, done }).map_err(|_| AppError::Unavailable)?;
        wait.await.map_err(|_| AppError::Unavailable)?
    }
}

fn size(p: &Pending) -> usize {
    p.batch.messages.len() + p.batch.quarantined.len()
}

async fn run(store: Store, mut rx: mpsc::Receiver<Pending>, limits: Limits) {
    while let Some(first) = rx.recv().await {
        let deadline = Instant::now() + limits.window;
        let mut events = size(&first);
        let mut group = vec![first];
        while events < limits.max_events {
            // Whatever queued during the last commit joins at once; then wait out the window (if any) for more.
            let next = match rx.try_recv() {
                Ok(p) => Some(p),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) if limits.window.is_zero() => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    tokio::time::timeout_at(deadline, rx.recv()).await.ok().flatten()
                }
            };
            let Some(p) = next else { break };
            events += size(&p);
            group.push(p);
        }
        commit(&store, group, &limits).await;
    }
}

async fn commit(store: &Store, group: Vec<Pending>, limits: &Limits) {
    let started = Instant::now();
    let group = enforce_rate(store, group, limits).await;
    if group.is_empty() {
        return;
    }
    let (batches, waiting): (Vec<EventBatch>, Vec<_>) = group.into_iter().map(|p| (p.batch, p.done)).unzip();
    match store.events().append_batch(&batches).await {
        Ok(outcomes) => {
            for (done, o) in waiting.into_iter().zip(outcomes) {
                let _ = done.send(Ok(o));
            }
        }
        Err(e) if batches.len() == 1 => {
            tracing::error!(error = %e, "event commit failed");
            for done in waiting {
                let _ = done.send(Err(AppError::Unavailable));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, requests = batches.len(), "group commit failed; retrying request by request");
            for (batch, done) in batches.iter().zip(waiting) {
                let one = store.events().append_batch(std::slice::from_ref(batch)).await;
                let answer = one.map_err(|e| {
                    tracing::error!(error = %e, "event commit failed");
                    AppError::Unavailable
                });
                let _ = done.send(answer.and_then(|mut o| o.pop().ok_or(AppError::Unavailable)));
            }
        }
    }
    metrics::histogram!("siyu_ingest_commit_seconds").record(started.elapsed().as_secs_f64());
}

/// Adds each source's events to its current window (one statement per source per group, shared by all
/// nodes) and answers `RateLimited` to the requests of sources over their budget.
async fn enforce_rate(store: &Store, group: Vec<Pending>, limits: &Limits) -> Vec<Pending> {
    let now = Utc::now();
    let window = window_start(now);
    let mut per_source: HashMap<(TenantId, SourceId), i64> = HashMap::new();
    for p in &group {
        *per_source.entry((p.batch.tenant, p.batch.source)).or_default() += size(p) as i64;
    }
    let mut over = Vec::new();
    for ((tenant, source), n) in per_source {
        match store.events().count_in_window(tenant, source, window, n).await {
            Ok(total) if total > limits.per_minute => over.push(source),
            Ok(_) => {}
            // Not being able to count is no reason to lose events: the commit below will tell.
            Err(e) => tracing::warn!(error = %e, "rate window update failed"),
        }
    }
    let retry_after_secs = (window + chrono::Duration::seconds(WINDOW_SECS) - now).num_seconds().max(1) as u64;
    let (limited, kept): (Vec<Pending>, Vec<Pending>) = group.into_iter().partition(|p| over.contains(&p.batch.source));
    for p in limited {
        let _ = p.done.send(Err(AppError::RateLimited { retry_after_secs }));
    }
    kept
}

fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(chrono::Duration::seconds(WINDOW_SECS)).unwrap_or(now)
}
