//! What every journey bench starts from: a tenant with an owner, `n` customers written through the store's
//! bulk path (profiles only, 2,000 per transaction), and a journey published through `App::create_journey`
//! (validated like any other). Runs are then either enrolled one by one through the product path (the crash
//! test) or written in bulk with `bench_seed_instances` (the benchmarks' hundred thousand and million).

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use siyu_app::actor::Via;
use siyu_app::tags::NewTagGroup;
use siyu_app::{Actor, App};
use siyu_domain::access::Role;
use siyu_domain::customer::{Customer, Gender};
use siyu_domain::id::{CustomerId, JourneyId, TagId, TenantId};
use siyu_domain::journey::JourneyGraph;
use siyu_domain::tag::TagKind;
use siyu_store::bulk::BulkCustomer;
use siyu_store::journeys::seed::BenchInstance;

use crate::demo::err;

/// Customers per bulk transaction, and runs per seeding transaction.
const CHUNK: usize = 2_000;

/// A tenant ready for a journey bench.
pub struct Fixture {
    pub tenant: TenantId,
    pub owner: Actor,
    pub customers: Vec<CustomerId>,
}

/// A progress bar for `len` items of `what`.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(&format!("  {what} {{bar:30}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// A tenant, its owner and `n` customers.
pub async fn tenant_with_customers(app: &App, n: u64) -> anyhow::Result<Fixture> {
    let tenant = app.create_tenant("旅程压测").await.map_err(err)?;
    let username = format!("bench{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let password = uuid::Uuid::new_v4().simple().to_string();
    let account = app.create_account(&username, "bench", &password, false).await.map_err(err)?;
    let member = app.add_membership(tenant.id, &account, Role::Owner, None, None).await.map_err(err)?;
    let owner = Actor::for_member(&app.store, &member, Via::System).await.map_err(err)?;
    let customers = add_customers(app, tenant.id, n).await?;
    Ok(Fixture { tenant: tenant.id, owner, customers })
}

/// Writes `n` more customers (named 客户1, 客户2, ...) and returns their ids.
pub async fn add_customers(app: &App, tenant: TenantId, n: u64) -> anyhow::Result<Vec<CustomerId>> {
    let bar = bar(n, "customers");
    let now = app.now();
    let mut ids = Vec::with_capacity(n as usize);
    let mut next = 0u64;
    while next < n {
        let take = (n - next).min(CHUNK as u64);
        let items: Vec<BulkCustomer> = (next..next + take)
            .map(|i| BulkCustomer {
                customer: Customer {
                    id: CustomerId::new(),
                    name: format!("客户{}", i + 1),
                    gender: if i % 2 == 0 { Gender::Female } else { Gender::Male },
                    avatar_url: None,
                    remark: None,
                    source: "import".into(),
                    custom: Map::new(),
                    created_at: now,
                    updated_at: now,
                    last_active_at: None,
                },
                identities: Vec::new(),
                follows: Vec::new(),
                tags: Vec::new(),
                notes: Vec::new(),
                timeline: Vec::new(),
            })
            .collect();
        ids.extend(items.iter().map(|b| b.customer.id));
        app.store.bulk().insert_customers(tenant, items).await?;
        next += take;
        bar.set_position(next);
    }
    bar.finish_and_clear();
    Ok(ids)
}

/// A tag the crash journey's last node adds (an enterprise tag, not a rule tag).
pub async fn tag(app: &App, owner: &Actor) -> anyhow::Result<TagId> {
    let input = NewTagGroup {
        name: "旅程".into(),
        exclusive: false,
        kind: TagKind::Enterprise,
        sort: 0,
        tags: vec!["旅程完成".into()],
    };
    let group = app.create_tag_group(owner, input).await.map_err(err)?;
    group.tags.first().map(|t| t.tag.id).ok_or_else(|| anyhow::anyhow!("the tag group has no tag"))
}

/// Publishes a journey from its JSON form; returns its id (version 1).
pub async fn journey(app: &App, owner: &Actor, name: &str, graph: Value) -> anyhow::Result<JourneyId> {
    let graph: JourneyGraph = serde_json::from_value(graph)?;
    app.create_journey(owner.tenant, name, &graph, Some(owner.user)).await.map_err(err)
}

/// The benchmarks' journey: one send and the end (a step = claim, send effect, ledger, outbox, state).
pub fn one_send() -> Value {
    json!({"nodes": [
        {"id": "start", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "send"}},
        {"id": "send", "type": "send", "channel": "sandbox", "template": "{{ name }}，您好"}
    ]})
}

/// Writes runs of `journey` (version 1) for `customers` at `node` with `status`, due at `due(i)`.
pub async fn seed_runs(
    app: &App,
    fx: &Fixture,
    journey: JourneyId,
    customers: &[CustomerId],
    node: &str,
    status: &'static str,
    due: impl Fn(usize) -> DateTime<Utc>,
) -> anyhow::Result<()> {
    let bar = bar(customers.len() as u64, "runs");
    let entered = app.now();
    for (n, chunk) in customers.chunks(CHUNK * 5).enumerate() {
        let base = n * CHUNK * 5;
        let rows: Vec<BenchInstance> = chunk
            .iter()
            .enumerate()
            .map(|(i, c)| BenchInstance {
                customer: *c,
                node: node.to_string(),
                status,
                next_run_at: due(base + i),
                entered_at: entered,
            })
            .collect();
        app.store.journeys().bench_seed_instances(fx.tenant, journey, 1, &rows).await?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(())
}
