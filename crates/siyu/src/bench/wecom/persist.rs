//! Decrypt + parse + persist on one database, one callback per call as WeCom sends them (no batching), from
//! `concurrency` tasks at once as concurrent HTTP requests would be:
//! - the **App path**, the headline: `App::receive_callback(route, &query, body)` on a connected corp, what the
//!   `POST /wecom/callback/{route}` handler calls (route → tenant and corp, the corp's sealed secrets opened
//!   with the tenant's data key, signature check, decrypt, parse, dedupe key, `insert_callback`);
//! - the **store path**, for where the time goes: the same with the crypto built once (no lookups per
//!   callback), ending in the same `store.wecom().insert_callback`, on a second tenant and corp.
//!
//! Afterwards the table must hold one row per callback on each path (every payload is a distinct event).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use siyu_app::actor::Via;
use siyu_app::wecom::{CallbackAnswer, CallbackQuery, CorpInput};
use siyu_app::{Actor, App, Settings};
use siyu_domain::access::Role;
use siyu_domain::id::{CallbackId, CorpId, TenantId};
use siyu_store::wecom::NewCallback;
use siyu_wecom::callback::{self, CallbackEvent};
use siyu_wecom::crypto::CallbackCrypto;
use uuid::Uuid;

use super::bar;
use super::payloads::{AES_KEY, CORP_ID, Payload, TOKEN};
use crate::bench::databases::Database;
use crate::demo::err;

/// One path's run over every payload.
#[derive(Debug, Clone)]
pub struct Measured {
    pub callbacks: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Sorted per-callback latencies in microseconds.
    latencies: Vec<u32>,
}

impl Measured {
    fn empty(capacity: usize) -> Self {
        let latencies = Vec::with_capacity(capacity);
        Self {
            callbacks: 0,
            stored: 0,
            duplicates: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            latencies,
        }
    }

    pub fn rate(&self) -> f64 {
        self.stored as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0–1) latency in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let Some(last) = self.latencies.len().checked_sub(1) else { return 0.0 };
        f64::from(self.latencies[((last as f64 * q).round() as usize).min(last)]) / 1000.0
    }
}

/// Both paths on one database, and the rows it held afterwards.
pub struct Outcome {
    pub label: &'static str,
    pub durability: String,
    pub pool: u32,
    pub app: Measured,
    pub store: Measured,
    /// Rows in `wecom_callbacks` for the App path's tenant and the store path's.
    pub rows: (usize, usize),
}

impl Outcome {
    /// Every callback answered as stored and found in the table, on both paths.
    pub fn complete(&self) -> bool {
        [(&self.app, self.rows.0), (&self.store, self.rows.1)]
            .iter()
            .all(|(m, rows)| m.errors == 0 && m.stored == m.callbacks && *rows as u64 == m.callbacks)
    }
}

/// Measures both paths on `db`, then removes it whatever happened.
pub async fn on_database(
    settings: &Settings,
    db: Database,
    payloads: &Arc<Vec<Payload>>,
    concurrency: usize,
) -> anyhow::Result<Outcome> {
    println!("{}: fresh database at {} ({})", db.label, db.describe(), db.durability);
    let mut settings = settings.clone();
    settings.database.url = db.url.clone();
    let pool = settings.database.max_connections;
    let measured = match App::connect(settings, true).await {
        Ok(app) => {
            let outcome = measure(&app, payloads, concurrency).await;
            app.store.close().await;
            outcome
        }
        Err(e) => Err(e),
    };
    let (label, durability) = (db.label, db.durability.clone());
    let removed = db.remove().await;
    let (app, store, rows) = measured?;
    removed?;
    Ok(Outcome { label, durability, pool, app, store, rows })
}

async fn measure(
    app: &App,
    payloads: &Arc<Vec<Payload>>,
    concurrency: usize,
) -> anyhow::Result<(Measured, Measured, (usize, usize))> {
    let (tenant, corp) = connected_corp(app, "企微回调压测").await?;
    let queries: Arc<Vec<CallbackQuery>> = Arc::new(
        payloads
            .iter()
            .map(|p| CallbackQuery {
                msg_signature: p.msg_signature.clone(),
                timestamp: p.timestamp.clone(),
                nonce: p.nonce.clone(),
                echostr: None,
            })
            .collect(),
    );
    let (a, p, q) = (app.clone(), payloads.clone(), queries);
    let app_path = drive(payloads.len(), concurrency, "App::receive_callback", move |i| {
        let (app, payloads, queries) = (a.clone(), p.clone(), q.clone());
        async move {
            match app.receive_callback(corp.0, &queries[i], &payloads[i].body).await {
                Ok(CallbackAnswer::Stored { .. }) => Ok(true),
                Ok(CallbackAnswer::Duplicate) => Ok(false),
                Err(e) => Err(err(e)),
            }
        }
    })
    .await;
    println!("  {}", line("App::receive_callback", &app_path));

    let (tenant2, corp2) = connected_corp(app, "企微回调压测 (store path)").await?;
    let crypto = Arc::new(CallbackCrypto::new(TOKEN, AES_KEY, CORP_ID).map_err(|e| anyhow::anyhow!("bench key: {e}"))?);
    let (a, p) = (app.clone(), payloads.clone());
    let store_path = drive(payloads.len(), concurrency, "decrypt + parse + insert_callback", move |i| {
        let (app, payloads, crypto) = (a.clone(), p.clone(), crypto.clone());
        async move { store_one(&app, &crypto, tenant2, corp2, &payloads[i]).await }
    })
    .await;
    println!("  {}", line("store path", &store_path));

    let later = app.now() + chrono::Duration::days(1);
    let limit = payloads.len() as i64 + 1;
    let rows = (
        app.store.wecom().due_callbacks(tenant, later, limit).await?.len(),
        app.store.wecom().due_callbacks(tenant2, later, limit).await?.len(),
    );
    Ok((app_path, store_path, rows))
}

/// A new tenant with an owner and the benchmark's corp connected through `App::connect_corp`; returns the
/// tenant and the corp (whose id is its callback route).
async fn connected_corp(app: &App, name: &str) -> anyhow::Result<(TenantId, CorpId)> {
    let tenant = app.create_tenant(name).await.map_err(err)?;
    let username = format!("bench{}", &Uuid::now_v7().simple().to_string()[20..]);
    let password = Uuid::new_v4().simple().to_string();
    let account = app.create_account(&username, "bench", &password, false).await.map_err(err)?;
    let member = app.add_membership(tenant.id, &account, Role::Owner, None, None).await.map_err(err)?;
    let owner = Actor::for_member(&app.store, &member, Via::System).await.map_err(err)?;
    let input = CorpInput {
        corp_id: CORP_ID.into(),
        name: "压测品牌".into(),
        agent_id: Some(1_000_002),
        contact_secret: "benchContactSecret".into(),
        callback_token: TOKEN.into(),
        callback_aes_key: AES_KEY.into(),
        active: true,
        ..CorpInput::default()
    };
    let corp = app.connect_corp(&owner, &input).await.map_err(err)?;
    Ok((tenant.id, corp.corp.id))
}

/// What `receive_callback` does after its lookups, with the crypto built once.
async fn store_one(
    app: &App,
    crypto: &CallbackCrypto,
    tenant: TenantId,
    corp: CorpId,
    p: &Payload,
) -> anyhow::Result<bool> {
    let plain = crypto.decrypt_message(&p.msg_signature, &p.timestamp, &p.nonce, &p.body)?;
    let parsed = callback::parse(&plain)?;
    let welcome = matches!(&parsed.event, CallbackEvent::ExternalContact(c) if c.welcome_code.is_some());
    let record = NewCallback {
        id: CallbackId::new(),
        corp,
        dedupe_key: parsed.dedupe_key(),
        kind: parsed.kind(),
        priority: if welcome { 0 } else { 1 },
        event: serde_json::to_value(&parsed)?,
        body: plain,
        at: app.now(),
    };
    Ok(app.store.wecom().insert_callback(tenant, &record).await?)
}

/// Calls `one(i)` for every payload index from `concurrency` tasks, each taking the next index as soon as
/// its previous call returned; `Ok(true)` counts as stored, `Ok(false)` as a duplicate.
async fn drive<F, Fut>(n: usize, concurrency: usize, what: &str, one: F) -> Measured
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<bool>> + Send,
{
    let (one, next, progress) = (Arc::new(one), Arc::new(AtomicUsize::new(0)), bar(n as u64, what));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (one, next, progress) = (one.clone(), next.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            let mut m = Measured::empty(n / concurrency.max(1) + 1);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break m;
                }
                let t = Instant::now();
                let answer = one(i).await;
                m.latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                m.callbacks += 1;
                match answer {
                    Ok(true) => m.stored += 1,
                    Ok(false) => m.duplicates += 1,
                    Err(e) => {
                        m.errors += 1;
                        m.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
                progress.inc(1);
            }
        }));
    }
    let mut all = Measured::empty(n);
    for task in tasks {
        match task.await {
            Ok(m) => {
                all.callbacks += m.callbacks;
                all.stored += m.stored;
                all.duplicates += m.duplicates;
                all.errors += m.errors;
                all.first_error = all.first_error.or(m.first_error);
                all.latencies.extend(m.latencies);
            }
            Err(e) => {
                all.errors += 1;
                all.first_error.get_or_insert_with(|| format!("task failed: {e}"));
            }
        }
    }
    all.elapsed = started.elapsed();
    progress.finish_and_clear();
    all.latencies.sort_unstable();
    all
}

/// A progress line for one path.
pub fn line(what: &str, m: &Measured) -> String {
    let errors = match (&m.first_error, m.errors) {
        (Some(e), n) => format!("; {n} errors, the first: {e}"),
        (None, _) => String::new(),
    };
    format!(
        "{what}: {} stored ({} duplicates) in {:.2} s = {} callbacks/s, p50 {:.2} ms, p99 {:.2} ms{errors}",
        crate::bench::report::thousands(m.stored as f64),
        m.duplicates,
        m.elapsed.as_secs_f64(),
        crate::bench::report::thousands(m.rate()),
        m.quantile_ms(0.5),
        m.quantile_ms(0.99),
    )
}
