//! The callback inbox: where received callbacks are made durable before WeCom gets its `success`.
//!
//! - **Routes**: a callback URL's route id → tenant, corp and the corp's `CallbackCrypto` (token, AES key,
//!   corp id), cached per process for [`ROUTE_TTL`] instead of three reads and a decryption of the sealed
//!   secrets per callback. A signature that fails against a cached entry is checked again against a fresh
//!   one, so a rotated token or key takes effect at once; a deactivated corp stops being served within the TTL.
//! - **Group commit**: the request tasks decrypt and parse in parallel and queue their rows; one writer task
//!   per process takes every row queued while its last commit ran (up to [`MAX_GROUP`]) and inserts them in
//!   one transaction, then answers each request with whether its row was new. One WAL flush (PostgreSQL) or
//!   one SQLite commit serves a burst of callbacks. A failed group is retried row by row, so one bad row
//!   never fails the others; what still fails answers 503 and WeCom retries (the dedupe key makes that safe).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use siyu_domain::id::{CorpId, TenantId};
use siyu_store::Store;
use siyu_store::wecom::NewCallback;
use siyu_wecom::crypto::CallbackCrypto;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// How long a route's crypto is reused before it is read again.
pub const ROUTE_TTL: Duration = Duration::from_secs(30);
/// The most rows one commit takes.
pub const MAX_GROUP: usize = 512;
/// Rows waiting for the writer before new ones are refused (503; WeCom retries).
const QUEUE: usize = 8_192;

/// A route as the receiving path needs it.
#[derive(Clone)]
pub struct Route {
    pub tenant: TenantId,
    pub corp: CorpId,
    pub crypto: Arc<CallbackCrypto>,
    read_at: Instant,
}

impl Route {
    pub fn new(tenant: TenantId, corp: CorpId, crypto: CallbackCrypto) -> Self {
        Self { tenant, corp, crypto: Arc::new(crypto), read_at: Instant::now() }
    }
}

struct Pending {
    tenant: TenantId,
    row: NewCallback,
    done: oneshot::Sender<AppResult<bool>>,
}

/// The inbox of one [`crate::App`]: the route cache and the lazily started writer.
#[derive(Default)]
pub struct Inbox {
    routes: Mutex<HashMap<Uuid, Route>>,
    writer: OnceLock<mpsc::Sender<Pending>>,
}

impl Inbox {
    /// The cached route, if fresh.
    pub fn cached(&self, route: Uuid) -> Option<Route> {
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        routes.get(&route).filter(|r| r.read_at.elapsed() < ROUTE_TTL).cloned()
    }

    pub fn remember(&self, route: Uuid, r: Route) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if routes.len() > 10_000 {
            routes.retain(|_, r| r.read_at.elapsed() < ROUTE_TTL);
        }
        routes.insert(route, r);
    }

    /// Drops every cached route (a corp's secrets or state changed on this node).
    pub fn clear(&self) {
        self.routes.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn forget(&self, route: Uuid) {
        self.routes.lock().unwrap_or_else(|e| e.into_inner()).remove(&route);
    }

    /// Queues a row for the next group commit and waits for it: `true` when it was new, `false` for a
    /// duplicate. A full queue answers `Unavailable` at once.
    pub async fn store(&self, store: &Store, tenant: TenantId, row: NewCallback) -> AppResult<bool> {
        let tx = self.writer.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(store.clone(), rx));
            tx
        });
        let (done, wait) = oneshot::channel();
        tx.try_send(Pending { tenant, row, done }).map_err(|_| AppError::Unavailable)?;
        wait.await.map_err(|_| AppError::Unavailable)?
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        commit(&store, group).await;
    }
}

async fn commit(store: &Store, group: Vec<Pending>) {
    let started = std::time::Instant::now();
    // A lone row goes in as one statement; a group in one transaction.
    let result = match group.as_slice() {
        [one] => store.wecom().insert_callback(one.tenant, &one.row).await.map(|new| vec![new]),
        _ => {
            let rows: Vec<(TenantId, &NewCallback)> = group.iter().map(|p| (p.tenant, &p.row)).collect();
            store.wecom().insert_callbacks(&rows).await
        }
    };
    match result {
        Ok(fresh) => {
            for (p, new) in group.into_iter().zip(fresh) {
                let _ = p.done.send(Ok(new));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, rows = group.len(), "callback group commit failed; retrying row by row");
            for p in group {
                let one = store.wecom().insert_callback(p.tenant, &p.row).await.map_err(|e| {
                    tracing::error!(error = %e, "callback commit failed");
                    AppError::Unavailable
                });
                let _ = p.done.send(one);
            }
        }
    }
    metrics::histogram!("siyu_wecom_callback_commit_seconds").record(started.elapsed().as_secs_f64());
}
