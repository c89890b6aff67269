//! `siyu bench`: benchmarks against a peer on this machine, printing the peer's figure, ours and the ratio.
//!
//! `siyu bench api` serves a SQLite file holding the demo brand with a million customers through the real
//! router, and the same JSON from memory through a bare axum handler, and loads both from an in-process
//! client, one scenario at a time.

mod bare;
mod load;
mod report;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use siyu_app::{Actor, App, Settings};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::CustomerId;
use siyu_domain::page::PageRequest;
use tokio_util::sync::CancellationToken;

use crate::demo::{self, err};

/// Seconds of one measuring slice.
const SLICE_SECS: u64 = 2;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Customer profile GET and customer list on SQLite, against a bare axum handler.
    Api(ApiArgs),
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
    let path_of = |ids: Arc<Vec<CustomerId>>| -> load::PathFn {
        Arc::new(move |r| format!("/api/v1/customers/{}", ids[(r % ids.len() as u64) as usize]))
    };
    let list: load::PathFn = Arc::new(|_| "/api/v1/customers?limit=50".to_string());
    let scenarios = [
        ("customer profile GET", path_of(ids.clone()), path_of(sample)),
        ("customer list, 50 per page", list.clone(), list),
    ];
    let c = a.concurrency;
    // Slices alternate between the servers so that background load on the machine hits both alike.
    let slices = a.seconds.div_ceil(SLICE_SECS).max(1);
    let slice = Duration::from_secs(a.seconds.clamp(1, SLICE_SECS));
    let warm_up = Duration::from_secs(1);
    let mut rows = Vec::new();
    for (name, siyu_path, bare_path) in scenarios {
        println!("{name}: {} s on siyu and on bare axum, alternating {}-s slices", a.seconds, slice.as_secs());
        load::run(&client, &siyu_base, Some(&token), siyu_path.clone(), c, warm_up).await?;
        load::run(&client, &bare_base, None, bare_path.clone(), c, warm_up).await?;
        let (mut siyu, mut bare) = (load::Stats::empty(), load::Stats::empty());
        for _ in 0..slices {
            siyu.merge(load::run(&client, &siyu_base, Some(&token), siyu_path.clone(), c, slice).await?);
            bare.merge(load::run(&client, &bare_base, None, bare_path.clone(), c, slice).await?);
        }
        if siyu.errors + bare.errors > 0 {
            println!("  errors: siyu {}, bare {}", siyu.errors, bare.errors);
        }
        rows.push(report::Row { scenario: name, siyu, bare });
    }
    shutdown.cancel();
    let _ = server.await;
    let _ = peer.await;

    println!("\n{} customers, {c} connections, {} s per run, {}\n", customers, a.seconds, report::machine());
    println!("{}", report::table(&rows));
    if a.write_docs {
        let setup = report::Setup { customers, rows: None, concurrency: c, seconds: a.seconds, pool, seeded };
        report::write_docs(&a.docs, &report::section(&rows, &setup))?;
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
