//! `siyu bench ingest`: sustained durable events/s and ack latency of `POST /v1/batch` through the real
//! router, on a fresh SQLite file and on a throwaway PostgreSQL database, each measured in slices alternating
//! with a bare axum handler that only parses the same JSON. After each run the database must hold every
//! event it acknowledged.

mod docs;
mod payload;

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use siyu_app::actor::Via;
use siyu_app::{Actor, App, Settings};
use siyu_domain::access::Role;
use siyu_domain::source::SourceKind;
use tokio_util::sync::CancellationToken;

use super::databases::{self, Database};
use super::{bare, load, report};
use crate::demo::err;
use docs::Outcome;
use payload::Payload;

#[derive(Args)]
pub struct IngestArgs {
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Events per `/v1/batch` request.
    #[arg(long, default_value_t = 20)]
    batch: usize,
    /// Seconds per database and server.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Write the results into the docs file.
    #[arg(long)]
    write_docs: bool,
    #[arg(long, default_value = "docs/benchmarks.md")]
    docs: PathBuf,
}

/// What every database's run shares: the client, the requests (without auth) and the bare server.
struct Load<'a> {
    client: reqwest::Client,
    requests: load::Target,
    bare_base: String,
    payload: Arc<Payload>,
    args: &'a IngestArgs,
}

/// SQLite always; PostgreSQL on the server of `--database-url postgres://…` or `SIYU_BENCH_PG_URL`, else on
/// the default local server if it answers.
pub async fn run(mut settings: Settings, a: IngestArgs) -> anyhow::Result<()> {
    // The per-source rate limit would throttle the load; the benchmark measures the write path.
    settings.ingest.events_per_minute_per_source = i64::MAX;
    let (pg_server, named) = databases::postgres_server(&settings.database.url);
    let shutdown = CancellationToken::new();
    let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_base = format!("http://{}", bare_listener.local_addr()?);
    let done = shutdown.clone();
    let peer = tokio::spawn(async move {
        axum::serve(bare_listener, bare::ingest_router())
            .with_graceful_shutdown(async move { done.cancelled().await })
            .await
    });
    let payload = Arc::new(Payload::new(a.batch));
    let p = payload.clone();
    let requests =
        load::Target::new("", Arc::new(move |r| load::Request { path: "/v1/batch".into(), body: Some(p.body(r)) }))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let ctx = Load { client: load::client(a.concurrency)?, requests, bare_base, payload, args: &a };
    println!(
        "ingest: {} connections posting /v1/batch of {} events, {} s per database and server (bare axum at {})",
        a.concurrency, a.batch, a.seconds, ctx.bare_base
    );

    let mut outcomes = vec![on_database(&settings, Database::sqlite("ingest"), &ctx).await?];
    let mut skipped = None;
    println!("PostgreSQL: making a throwaway database on {}", crate::redact(&pg_server));
    match Database::postgres(&pg_server).await {
        Ok(db) => outcomes.push(on_database(&settings, db, &ctx).await?),
        Err(e) if !named => {
            println!("PostgreSQL: skipped ({e:#}); name a server with --database-url or SIYU_BENCH_PG_URL");
            let reason = format!("{e:#}");
            skipped = Some(format!("{}: {}", crate::redact(&pg_server), reason.lines().next().unwrap_or_default()));
        }
        Err(e) => return Err(e.context(format!("PostgreSQL at {}", crate::redact(&pg_server)))),
    }
    shutdown.cancel();
    let _ = peer.await;

    println!(
        "\n{} connections, batches of {}, {} s per run, {}\n",
        a.concurrency,
        a.batch,
        a.seconds,
        report::machine()
    );
    println!("{}", docs::results(&outcomes, a.batch));
    if a.write_docs {
        let setup = docs::Setup {
            ingest: settings.ingest.clone(),
            pool: settings.database.max_connections,
            batch: a.batch,
            concurrency: a.concurrency,
            seconds: a.seconds,
            skipped,
        };
        report::write_docs(&a.docs, "ingest", &docs::section(&outcomes, &setup))?;
        println!("written to {}", a.docs.display());
    }
    if let Some(o) = outcomes.iter().find(|o| !o.durable()) {
        anyhow::bail!("durability check failed: {}", o.durability_line());
    }
    Ok(())
}

/// Measures one database, then removes it whatever happened.
async fn on_database(settings: &Settings, db: Database, ctx: &Load<'_>) -> anyhow::Result<Outcome> {
    println!("{}: fresh database at {}", db.label, db.describe());
    let mut settings = settings.clone();
    settings.database.url = db.url.clone();
    let measured = match App::connect(settings, true).await {
        Ok(app) => {
            let outcome = measure(&app, &db, ctx).await;
            app.store.close().await;
            outcome
        }
        Err(e) => Err(e),
    };
    let removed = db.remove().await;
    let outcome = measured?;
    removed?;
    println!("  {}", outcome.durability_line());
    Ok(outcome)
}

async fn measure(app: &App, db: &Database, ctx: &Load<'_>) -> anyhow::Result<Outcome> {
    let tenant = app.create_tenant("siyu bench").await.map_err(err)?;
    let username = format!("bench{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let password = uuid::Uuid::new_v4().simple().to_string();
    let account = app.create_account(&username, "bench", &password, false).await.map_err(err)?;
    let member = app.add_membership(tenant.id, &account, Role::Owner, None, None).await.map_err(err)?;
    let owner = Actor::for_member(&app.store, &member, Via::System).await.map_err(err)?;
    let (_, key) = app.create_source(&owner, "bench", SourceKind::Server).await.map_err(err)?;
    let basic = ctx.client.post("http://127.0.0.1/").basic_auth(&key, Some("")).build()?;
    let auth = basic.headers().get(AUTHORIZATION).cloned().ok_or_else(|| anyhow::anyhow!("no Basic header"))?;

    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(siyu_web::serve(listener, siyu_web::router(app.clone()), shutdown.clone()));
    let siyu = ctx.requests.at(&base).header(AUTHORIZATION, auth);
    let bare = ctx.requests.at(&ctx.bare_base).header(AUTHORIZATION, HeaderValue::from_static("Basic YmFyZTo="));
    let a = ctx.args;
    let result = async {
        let checked = check(&ctx.client, &siyu, &ctx.payload).await?;
        println!("  siyu at {base}: tenant, source and write key ready; warm-up, then {} s each", a.seconds);
        let (warm, measured) = load::alternate(&ctx.client, &siyu, &bare, a.concurrency, a.seconds).await?;
        let ratio = measured.siyu.rate() / measured.bare.rate().max(1e-9);
        let per_s = |s: &load::Stats| report::thousands(s.rate() * ctx.payload.batch() as f64);
        println!("  siyu {} events/s, bare {} events/s: {ratio:.2}×", per_s(&measured.siyu), per_s(&measured.bare));
        if measured.siyu.errors + measured.bare.errors + warm.siyu.errors > 0 {
            println!("  errors: siyu {}, bare {}", warm.siyu.errors + measured.siyu.errors, measured.bare.errors);
        }
        Ok::<_, anyhow::Error>((checked + warm.siyu.requests + measured.siyu.requests, measured))
    }
    .await;
    shutdown.cancel();
    let _ = server.await;
    let (acked_requests, measured) = result?;
    println!("  counting the stored events");
    let stored = app.store.events().count(tenant.id, None).await?;
    resolve_for_a_while(app, a.seconds).await?;
    Ok(Outcome {
        row: report::Row { scenario: scenario(db), siyu: measured.siyu, bare: measured.bare },
        durability: durability(db),
        acked: acked_requests * ctx.payload.batch() as u64,
        stored,
    })
}

/// Runs identity resolution over the stored backlog for about `seconds` and prints events resolved per
/// second. The load's 100,000 users are new at first (each first event creates a customer: the slow path);
/// later events of a known user take the fast path.
async fn resolve_for_a_while(app: &App, seconds: u64) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut resolved = 0;
    while started.elapsed().as_secs() < seconds.max(1) {
        let n = app.resolve_pending_events().await.map_err(err)?;
        if n == 0 {
            break;
        }
        resolved += n;
    }
    let secs = started.elapsed().as_secs_f64();
    let left = app.store.graph().tenants_with_pending_events(1).await?.len();
    println!(
        "  identity resolution: {} events in {secs:.1} s = {} events/s (backlog left: {})",
        report::thousands(resolved as f64),
        report::thousands(resolved as f64 / secs.max(1e-9)),
        if left > 0 { "yes" } else { "none" }
    );
    Ok(())
}

/// Posts one batch and fails early (with the answer) unless siyu stores all of it; returns 1 (requests).
async fn check(client: &reqwest::Client, siyu: &load::Target, payload: &Payload) -> anyhow::Result<u64> {
    let url = format!("{}/v1/batch", siyu.base);
    let res = client.post(&url).headers(siyu.headers.clone()).body(payload.body(0)).send().await?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    if !status.is_success() || body["accepted"].as_u64() != Some(payload.batch() as u64) {
        anyhow::bail!("POST {url} answered {status}: {body}");
    }
    Ok(1)
}

/// The row of the results table a database gives.
fn scenario(db: &Database) -> &'static str {
    if db.is_postgres() { "ingest, PostgreSQL" } else { "ingest, SQLite" }
}

/// How a database makes commits durable, for the report.
fn durability(db: &Database) -> String {
    if db.is_postgres() {
        format!("PostgreSQL: a throwaway database on PostgreSQL {}", db.durability)
    } else {
        "SQLite: a fresh temporary file, WAL with synchronous=NORMAL (siyu's settings: a commit survives a\n    \
         crash of the process; the last ones may be lost on power failure)"
            .to_string()
    }
}
