//! `siyu demo`: seed a realistic beauty brand (deterministic, fixed seed) into a SQLite file, or reuse the
//! one already there, then serve the console and API and print how to sign in.
//!
//! The brand (DESIGN.md §7, the parts that exist so far): 20 staff in 4 departments with every role and
//! data scope, tag groups (levels, skin types, interests, channels, one personal group), custom fields, and
//! customers over the last two years with WeChat/WeCom identities, encrypted phones, follows by 导购 with
//! live-code states, tags, notes and the timeline telling it all. Served, it starts a fake WeCom holding the
//! brand's corp (`wecom`), so the WeCom pages work without reaching WeCom, and fills the session archive
//! from the fake's chats with rules and alerts (`archive`).

mod archive;
pub mod brand;
mod calendar;
mod events;
mod journeys;
mod links;
mod materials;
mod orders;
pub mod people;
pub mod wecom;
mod words;

use std::path::Path;
use std::time::Instant;

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use siyu_app::actor::Via;
use siyu_app::{Actor, App, AppError, Settings};
use siyu_domain::access::{Role, TokenScope};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::TenantId;

use brand::{Brand, OTHER_LOGINS, OWNER, PASSWORD, SEEDING_SUFFIX, TENANT_NAME};

/// Customers per bulk insert (one transaction each).
const BATCH: usize = 2_000;
const TOKEN_NAME: &str = "siyu demo";

pub async fn run(
    mut settings: Settings,
    file: &Path,
    customers: u32,
    listen: &str,
    no_serve: bool,
) -> anyhow::Result<()> {
    settings.database.url = format!("sqlite://{}", file.display());
    settings.server.listen = listen.to_string();
    // The demo has no WeCom client to open the sidebar in: let a browser pick a staff identity.
    settings.sidebar.dev_identity = true;
    let app = App::connect(settings, true).await?;
    let owner = match find(&app).await.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))? {
        Some((_, owner)) => {
            let n = app.count_customers(&owner, &CustomerFilter::default()).await.map_err(err)?;
            println!("reusing {}: {TENANT_NAME} with {n} customers (delete the file to seed afresh)", file.display());
            owner
        }
        None => seed(&app, u64::from(customers)).await?.owner,
    };
    let token = fresh_token(&app, &owner).await?;
    let key = events::fresh_key(&app, &owner).await?;
    if no_serve {
        banner(&format!("http://{listen}"), &token, &key, None);
        app.store.close().await;
        return Ok(());
    }
    // The fake WeCom lives as long as the server; its sync runs on the server's worker.
    let (fake, corp) = wecom::start(&app, &owner, listen).await?;
    // The archive waits for the first sync to store the groups, then ingests (once per database).
    archive::spawn(app.clone(), owner.clone(), fake.clone(), corp);
    let wecom = fake.base_url();
    crate::server::run_server(app, true, crate::server::shutdown_on_signal(), |url| {
        banner(&url, &token, &key, Some(&wecom))
    })
    .await
}

pub fn err(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", e, e.code().name())
}

/// The finished demo tenant and its owner, if the database has one. A tenant still named as seeding
/// means an earlier run was interrupted.
pub async fn find(app: &App) -> anyhow::Result<Option<(TenantId, Actor)>> {
    for t in app.store.tenants().list().await? {
        if t.name == format!("{TENANT_NAME}{SEEDING_SUFFIX}") {
            anyhow::bail!(
                "an earlier seed was interrupted: delete the database file (and its -wal, -shm) and run again"
            );
        }
        if t.name == TENANT_NAME {
            let members = app.store.members().list(t.id).await?;
            let owner = members
                .iter()
                .find(|m| m.username == OWNER && m.role == Role::Owner)
                .ok_or_else(|| anyhow::anyhow!("the demo tenant has no owner {OWNER}"))?;
            return Ok(Some((t.id, Actor::for_member(&app.store, owner, Via::System).await.map_err(err)?)));
        }
    }
    Ok(None)
}

/// Seeds the brand with `customers` customers, showing a progress bar; returns the brand.
pub async fn seed(app: &App, customers: u64) -> anyhow::Result<Brand> {
    let started = Instant::now();
    let brand = brand::create(app).await?;
    let bar = ProgressBar::new(customers).with_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40.cyan/blue}] {human_pos}/{human_len} customers, {per_sec}, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    bar.set_message(format!("seeding {TENANT_NAME}"));
    // Generating and encrypting run beside the database writes: a bounded channel of batches.
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    let mut people = people::People::new(brand.clone(), customers, Utc::now())?;
    let generator = tokio::task::spawn_blocking(move || {
        loop {
            let batch = people.batch(BATCH);
            if batch.is_empty() || tx.blocking_send(batch).is_err() {
                break;
            }
        }
    });
    let mut rows = 0u64;
    while let Some(batch) = rx.recv().await {
        let n = batch.len() as u64;
        let counts = app.bulk_insert_customers(&brand.owner, batch).await.map_err(err)?;
        rows +=
            counts.customers + counts.identities + counts.follows + 2 * counts.tags + counts.notes + counts.timeline;
        bar.inc(n);
    }
    generator.await?;
    bar.finish_and_clear();
    let events = events::seed(app, &brand.owner).await?;
    app.rebuild_aggregates(brand.tenant, &mut |_| {}).await.map_err(err)?;
    let orders = orders::seed(app, &brand.owner).await?;
    journeys::seed(app, &brand.owner).await?;
    links::seed(app, &brand.owner).await?;
    materials::seed(app, &brand.owner).await?;
    app.store.tenants().rename(brand.tenant, TENANT_NAME).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {TENANT_NAME}: {customers} customers ({rows} rows), {events} events and {orders} orders in {secs:.1} s, {:.0} customers/s",
        customers as f64 / secs.max(0.001)
    );
    Ok(brand)
}

/// Revokes the previous demo token and issues a new one for the owner (its text cannot be shown twice).
pub async fn fresh_token(app: &App, owner: &Actor) -> anyhow::Result<String> {
    for t in app.list_tokens(owner).await.map_err(err)? {
        if t.name == TOKEN_NAME && t.revoked_at.is_none() {
            app.revoke_token(owner, t.id).await.map_err(err)?;
        }
    }
    let (_, secret) = app.create_token(owner, TOKEN_NAME, &[TokenScope::Read, TokenScope::Write]).await.map_err(err)?;
    Ok(secret)
}

/// What to print once ready; `wecom` is the fake WeCom's API base when serving.
fn banner(url: &str, token: &str, write_key: &str, wecom: Option<&str>) {
    let others: Vec<String> = OTHER_LOGINS.iter().map(|(u, what)| format!("{u} ({what})")).collect();
    println!();
    println!("  {TENANT_NAME} — siyu demo");
    println!("  Console    {url}/console");
    println!("  Login      {OWNER} / {PASSWORD}   (owner)");
    println!("  Also       {}", others.join(", "));
    println!("             same password");
    println!("  API docs   {url}/api/docs");
    println!("  API token  {token}");
    println!("             curl -H 'Authorization: Bearer {token}' '{url}/api/v1/customers?limit=5'");
    println!("  Write key  {write_key}   (Segment-compatible events, see docs/ingest.md)");
    println!(
        "             curl -u '{write_key}:' -H 'Content-Type: application/json' '{url}/v1/track' \\\n               -d '{{\"userId\": \"u-1\", \"event\": \"Signed Up\"}}'"
    );
    if let Some(wecom) = wecom {
        println!("  WeCom      a fake WeCom at {wecom} holds the demo corp {}", people::CORP_ID);
        println!("             (企业微信 pages: {url}/console/wecom; synced in the background)");
        println!("\n  Press Ctrl-C to stop.");
    }
}
