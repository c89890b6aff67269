//! `siyu bench`: benchmarks against a peer on this machine, printing the peer's figure, ours and the ratio.
//!
//! `siyu bench api` serves a SQLite file holding the demo brand with a million customers through the real
//! router, and the same JSON from memory through a bare axum handler, and loads both from an in-process
//! client, one scenario at a time.
//!
//! `siyu bench ingest` posts analytics-python batches to the real `/v1/batch` on a fresh SQLite file and on
//! a throwaway PostgreSQL database, and the same bodies to a bare axum handler that only parses them.
//!
//! `siyu bench identity` resolves a generated edge file of 10 M identifiers into people with
//! `siyu_domain::union_find`, and the same file with Python networkx's `connected_components`.
//!
//! `siyu bench clv` fits BG/NBD and Gamma-Gamma to a million generated customer summaries with
//! `siyu_domain::clv`, and the same CSV with Python `lifetimes`.
//!
//! `siyu bench segment` counts the customers of one segment rule over a generated SQLite file through
//! `store.segments().count_matching`, and DuckDB runs the same predicate over the same three tables.
//!
//! `siyu bench rfm` turns 10 M generated orders into RFM quintile scores with `siyu_domain::rfm`, and DuckDB
//! computes the same aggregation and scores from the same orders.
//!
//! `siyu bench journeys` steps journey runs through the real worker on SQLite and PostgreSQL, graphile-worker
//! and pg-boss drain as many no-op jobs on the same PostgreSQL, and it measures firing lag with 1 M runs
//! waiting; `--crash-cycles N` kills the journey worker N times instead and proves exactly-once delivery.
//!
//! `siyu bench wecom` verifies, decrypts, parses and persists generated WeCom callbacks through
//! `App::receive_callback` on SQLite and PostgreSQL, and Python `wechatpy` decrypts and parses the same file.
//!
//! `siyu bench scan` runs `siyu_search::Scanner::scan` with 10 k patterns over 64 MB of generated chat lines,
//! and Python pyahocorasick's `iter_long` over the same files.
//!
//! `siyu bench search` indexes 100 k generated Chinese documents into a `siyu_search::TenantIndex`, queries
//! it and segments text, against Python jieba feeding SQLite FTS5 on the same files.

mod bare;
mod clv;
mod databases;
mod identity;
mod ingest;
mod journeys;
mod load;
mod python;
mod report;
mod rfm;
mod scan;
mod search;
mod segment;
mod wecom;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use siyu_app::{Actor, App, Settings};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::CustomerId;
use siyu_domain::page::PageRequest;
use tokio_util::sync::CancellationToken;

use crate::demo::{self, err};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Customer profile GET and customer list on SQLite, against a bare axum handler.
    Api(ApiArgs),
    /// Durable events/s and ack latency of `POST /v1/batch` on SQLite and PostgreSQL, against a bare axum
    /// handler that only parses the JSON.
    Ingest(ingest::IngestArgs),
    /// Resolving 10 M identifiers into people (intern + union-find), against Python networkx's connected
    /// components on the same edge file.
    Identity(identity::IdentityArgs),
    /// Fitting BG/NBD and Gamma-Gamma to 1 M customer summaries, against Python `lifetimes` on the same CSV.
    Clv(clv::ClvArgs),
    /// Counting the customers of one segment rule over 10 M customers in SQLite, against DuckDB running the
    /// same predicate on the same tables.
    Segment(segment::SegmentArgs),
    /// RFM quintile scores from 10 M orders, against DuckDB computing the same aggregation and scores.
    Rfm(rfm::RfmArgs),
    /// Journey step transitions/s on SQLite and PostgreSQL against graphile-worker and pg-boss, and firing
    /// lag with 1 M runs waiting; `--crash-cycles N` runs the kill -9 crash test instead.
    Journeys(journeys::JourneysArgs),
    /// WeCom callbacks verified, decrypted, parsed and persisted per second on SQLite and PostgreSQL, against
    /// Python `wechatpy` decrypting and parsing the same payloads (`--part callbacks`, the default).
    Wecom(wecom::WecomArgs),
    /// Sensitive-word scanning of chat text with 10 k patterns (normalise + Aho-Corasick + jieba check),
    /// against Python pyahocorasick's leftmost-longest `iter_long` on the same files.
    Scan(scan::ScanArgs),
    /// Tenant full-text index: indexing docs/s, query p50/p99 and segmentation MB/s, against Python jieba
    /// feeding SQLite FTS5 (`--part index|query|segment`, all by default).
    Search(search::SearchArgs),
    /// The crash test's worker process (started by `siyu bench journeys --crash-cycles`).
    #[command(hide = true)]
    JourneysWorker(journeys::WorkerArgs),
}

#[derive(Args)]
pub struct ApiArgs {
    /// Customers in the benchmark database (seeded once, then reused).
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
    /// The SQLite file to seed or reuse.
    #[arg(long, default_value = "target/bench-api.db")]
    db: PathBuf,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per scenario and server.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Profiles the bare server keeps in memory.
    #[arg(long, default_value_t = 1_000)]
    sample: usize,
    /// Write the results into the docs file.
    #[arg(long)]
    write_docs: bool,
    #[arg(long, default_value = "docs/benchmarks.md")]
    docs: PathBuf,
}

pub async fn run(settings: Settings, cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Api(args) => api(settings, args).await,
        BenchCommand::Ingest(args) => ingest::run(settings, args).await,
        BenchCommand::Identity(args) => identity::run(args).await,
        BenchCommand::Clv(args) => clv::run(args).await,
        BenchCommand::Segment(args) => segment::run(args).await,
        BenchCommand::Rfm(args) => rfm::run(args).await,
        BenchCommand::Journeys(args) => journeys::run(settings, args).await,
        BenchCommand::Wecom(args) => wecom::run(settings, args).await,
        BenchCommand::Scan(args) => scan::run(args).await,
        BenchCommand::Search(args) => search::run(args).await,
        BenchCommand::JourneysWorker(args) => journeys::run_worker(settings, args).await,
    }
}

async fn api(mut settings: Settings, a: ApiArgs) -> anyhow::Result<()> {
    if let Some(dir) = a.db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    settings.database.url = format!("sqlite://{}", a.db.display());
    let pool = settings.database.max_connections;
    let app = App::connect(settings, true).await?;
    let (owner, seeded) = match demo::find(&app).await? {
        Some((_, owner)) => (owner, None),
        None => {
            let started = Instant::now();
            let brand = demo::seed(&app, a.customers).await?;
            let secs = started.elapsed().as_secs_f64();
            (brand.owner, Some((secs, a.customers as f64 / secs.max(1e-3))))
        }
    };
    let token = demo::fresh_token(&app, &owner).await?;
    let customers = app.count_customers(&owner, &CustomerFilter::default()).await.map_err(err)?;
    if u64::try_from(customers).ok() != Some(a.customers) {
        println!("note: {} holds {customers} customers, not {}; delete it to seed afresh", a.db.display(), a.customers);
    }
    let ids = Arc::new(all_ids(&app, &owner).await?);
    let snapshot = Arc::new(snapshot(&app, &owner, &ids, a.sample).await?);
    let sample: Arc<Vec<CustomerId>> = Arc::new(snapshot.profiles.keys().copied().collect());

    let shutdown = CancellationToken::new();
    let siyu_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let siyu_base = format!("http://{}", siyu_listener.local_addr()?);
    // As `siyu serve` runs: with the Prometheus recorder taking every request's metrics.
    let _metrics = siyu_web::install_metrics();
    let server = tokio::spawn(siyu_web::serve(siyu_listener, siyu_web::router(app.clone()), shutdown.clone()));
    let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_base = format!("http://{}", bare_listener.local_addr()?);
    let token_done = shutdown.clone();
    let peer = tokio::spawn(async move {
        axum::serve(bare_listener, bare::router(snapshot))
            .with_graceful_shutdown(async move { token_done.cancelled().await })
            .await
    });

    let client = load::client(a.concurrency)?;
    check(&client, &format!("{siyu_base}/api/v1/customers/{}", ids[0]), &token).await?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))?;
    let profile = |ids: Arc<Vec<CustomerId>>| {
        load::get(move |r| format!("/api/v1/customers/{}", ids[(r % ids.len() as u64) as usize]))
    };
    let list = || load::get(|_| "/api/v1/customers?limit=50".to_string());
    let scenarios = [
        ("customer profile GET", profile(ids.clone()), profile(sample)),
        ("customer list, 50 per page", list(), list()),
    ];
    let c = a.concurrency;
    let mut rows = Vec::new();
    for (name, siyu_requests, bare_requests) in scenarios {
        println!("{name}: {} s on siyu and on bare axum, alternating {}-s slices", a.seconds, load::SLICE_SECS);
        let siyu = load::Target::new(&siyu_base, siyu_requests).header(AUTHORIZATION, bearer.clone());
        let bare = load::Target::new(&bare_base, bare_requests);
        let (_, measured) = load::alternate(&client, &siyu, &bare, c, a.seconds).await?;
        if measured.siyu.errors + measured.bare.errors > 0 {
            println!("  errors: siyu {}, bare {}", measured.siyu.errors, measured.bare.errors);
        }
        rows.push(report::Row { scenario: name, siyu: measured.siyu, bare: measured.bare });
    }
    shutdown.cancel();
    let _ = server.await;
    let _ = peer.await;

    println!("\n{} customers, {c} connections, {} s per run, {}\n", customers, a.seconds, report::machine());
    println!("{}", report::table(&rows, report::REQUESTS));
    if a.write_docs {
        let setup = report::Setup { customers, rows: None, concurrency: c, seconds: a.seconds, pool, seeded };
        report::write_docs(&a.docs, "api", &report::section(&rows, &setup))?;
        println!("written to {}", a.docs.display());
    }
    app.store.close().await;
    Ok(())
}

/// Fails early (with the answer) if siyu does not serve the profile.
async fn check(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<()> {
    let res = client.get(url).bearer_auth(token).send().await?;
    let status = res.status();
    if !status.is_success() {
        anyhow::bail!("GET {url} answered {status}: {}", res.text().await.unwrap_or_default());
    }
    Ok(())
}

/// Every customer id, in pages.
async fn all_ids(app: &App, owner: &Actor) -> anyhow::Result<Vec<CustomerId>> {
    let filter = CustomerFilter::default();
    let q = app.customer_query(owner, &filter).await.map_err(err)?;
    let mut out: Vec<CustomerId> = Vec::new();
    loop {
        let page = app.store.customers().ids(owner.tenant, &q, out.last().copied(), 50_000).await?;
        if page.is_empty() {
            break;
        }
        out.extend(page);
    }
    anyhow::ensure!(!out.is_empty(), "the benchmark database has no customers");
    Ok(out)
}

/// What the bare server answers: `n` random profiles and the first list page, read through siyu.
async fn snapshot(app: &App, owner: &Actor, ids: &[CustomerId], n: usize) -> anyhow::Result<bare::Snapshot> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut profiles = HashMap::with_capacity(n);
    for id in ids.choose_multiple(&mut rng, n) {
        profiles.insert(*id, app.get_customer(owner, *id).await.map_err(err)?);
    }
    let page = app.list_customers(owner, &CustomerFilter::default(), PageRequest::first(50)).await.map_err(err)?;
    Ok(bare::Snapshot { profiles, page: page.items, next_cursor: page.next_cursor })
}
