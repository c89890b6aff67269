//! `siyu bench wecom --part mass`: a mass send to `--recipients` customers (default 1 M) of `--senders` staff
//! through the fake WeCom server, on a fresh SQLite file and a throwaway PostgreSQL database.
//!
//! - **planning**: `App::plan_scheduled_mass_send`, what the mass-send job does first (one set-based
//!   statement: each customer's sender, external_userid, opt-outs, the daily cap shared with journeys and
//!   WeCom's monthly reception limit; then chunks of ≤10,000 per sender). Goal ≤ 10 s for 1 M.
//! - **sending**: the job itself (`run_one_job`, as the worker runs it) against the fake with a per-minute
//!   quota of `--quota` on `add_msg_template`, siyu configured with the same quota. The achieved call rate
//!   over the whole send, as a fraction of the quota (goal ≥ 0.95), and WeCom's 45009 answers (goal none).
//!
//! The fake's clock follows the wall clock while the send runs, so its rate windows are real minutes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use siyu_app::actor::Via;
use siyu_app::customers::IdentityInput;
use siyu_app::seed::NewCustomerBulk;
use siyu_app::wecom::{CorpInput, MassSendInput};
use siyu_app::{Actor, App, Settings};
use siyu_domain::access::Role;
use siyu_domain::customer::{Customer, Follow, Gender};
use siyu_domain::id::{CorpId, CustomerId, MassSendId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::wecom::mass::{MassContent, MassCounts, MassStatus};
use siyu_wecom::fake::{CorpSetup, FakeConfig, FakeHandle, FakeWecom};
use uuid::Uuid;

use super::bar;
use crate::bench::databases::Database;
use crate::demo::err;

const CORP: &str = "wwsiyubenchmass";
const SECRET: &str = "benchMassContactSecret";
const TOKEN: &str = "benchMassToken";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const TEXT: &str = "会员日：全场满 299 减 50，点击领取专属券";

/// The goals: planning 1 M recipients within this many seconds; this share of the quota used; no 45009.
pub const PLAN_GOAL_SECS: f64 = 10.0;
pub const RATE_GOAL: f64 = 0.95;

/// What the part measured on one database.
#[derive(Debug, Clone)]
pub struct MassOutcome {
    pub label: &'static str,
    pub durability: String,
    pub recipients: usize,
    pub senders: usize,
    pub seed: Duration,
    pub plan: Duration,
    pub counts: MassCounts,
    pub chunks: usize,
    pub send: Duration,
    /// `add_msg_template` calls WeCom accepted, and its 45009 answers.
    pub calls: usize,
    pub throttled: usize,
    pub quota_per_minute: u32,
}

impl MassOutcome {
    /// Calls per minute over the send, as a share of the quota.
    pub fn quota_used(&self) -> f64 {
        let minutes = self.send.as_secs_f64() / 60.0;
        self.calls as f64 / minutes.max(1e-9) / f64::from(self.quota_per_minute)
    }

    /// Every recipient planned, each chunk sent once, every planned recipient sent.
    pub fn complete(&self) -> bool {
        self.counts.sent == self.recipients as i64 && self.calls == self.chunks
    }
}

/// The part on `db`, which is removed afterwards whatever happened.
pub async fn on_database(
    settings: &Settings,
    db: Database,
    recipients: usize,
    senders: usize,
    quota: u32,
) -> anyhow::Result<MassOutcome> {
    println!("{}: fresh database at {} ({})", db.label, db.describe(), db.durability);
    let mut settings = settings.clone();
    settings.database.url = db.url.clone();
    settings.wecom.quota_per_minute = quota;
    // Wait for the budget inline (as a worker with one job does) rather than re-queueing the job.
    settings.wecom.max_inline_wait_ms = 65_000;
    let measured = match App::connect(settings, true).await {
        Ok(app) => {
            let outcome = measure(&app, recipients, senders, quota).await;
            app.store.close().await;
            outcome
        }
        Err(e) => Err(e),
    };
    let (label, durability) = (db.label, db.durability.clone());
    let removed = db.remove().await;
    let mut outcome = measured?;
    removed?;
    outcome.label = label;
    outcome.durability = durability;
    Ok(outcome)
}

async fn measure(app: &App, recipients: usize, senders: usize, quota: u32) -> anyhow::Result<MassOutcome> {
    let now = chrono::Utc::now();
    let config = FakeConfig { start_time: now.timestamp(), minute_limit: quota, ..FakeConfig::default() };
    let fake = FakeWecom::start(config).await?;
    fake.add_corp(CorpSetup {
        corp_id: CORP.into(),
        secrets: vec![SECRET.into()],
        callback_url: None,
        token: TOKEN.into(),
        encoding_aes_key: AES_KEY.into(),
        agent_id: "1000002".into(),
    });
    let staff: Vec<String> = (0..senders).map(|i| format!("staff{i:04}")).collect();
    for (i, userid) in staff.iter().enumerate() {
        fake.add_staff(CORP, userid, &format!("导购{i}"), &[1])?;
        fake.set_contact_permission(CORP, userid, true)?;
    }
    let (owner, corp) = connected(app, &fake).await?;

    let started = Instant::now();
    seed(app, &owner, &fake, corp, &staff, recipients).await?;
    let seeded = started.elapsed();
    println!("  seeded {recipients} customers of {senders} staff in {:.1} s", seeded.as_secs_f64());

    let input = MassSendInput {
        corp,
        name: "会员日群发".into(),
        audience: Default::default(),
        content: MassContent { text: TEXT.into(), attachments: vec![] },
        daily_cap: None,
        scheduled_at: None,
    };
    let send = app.create_mass_send(&owner, &input).await.map_err(err)?;
    let id = send.send.id;
    let started = Instant::now();
    let counts = app.plan_scheduled_mass_send(owner.tenant, id).await.map_err(err)?;
    let plan = started.elapsed();
    let chunks = app.store.wecom().mass_chunks(owner.tenant, id).await?.len();
    println!("  planned {} recipients in {chunks} chunks in {:.2} s", counts.planned, plan.as_secs_f64());

    let send = run_send(app, &fake, owner.tenant, id, chunks).await?;
    let requests = fake.requests();
    let templates = requests.iter().filter(|r| r.path.ends_with("externalcontact/add_msg_template"));
    let (mut calls, mut throttled) = (0, 0);
    for r in templates {
        match r.errcode {
            0 => calls += 1,
            45009 => throttled += 1,
            _ => {}
        }
    }
    // Planned already: this only counts.
    let counts = app.plan_scheduled_mass_send(owner.tenant, id).await.map_err(err)?;
    Ok(MassOutcome {
        label: "",
        durability: String::new(),
        recipients,
        senders,
        seed: seeded,
        plan,
        counts,
        chunks,
        send,
        calls,
        throttled,
        quota_per_minute: quota,
    })
}

/// A tenant whose owner connected the fake's corp and synced its staff.
async fn connected(app: &App, fake: &FakeHandle) -> anyhow::Result<(Actor, CorpId)> {
    let tenant = app.create_tenant("群发压测").await.map_err(err)?;
    let username = format!("bench{}", &Uuid::now_v7().simple().to_string()[20..]);
    let password = Uuid::new_v4().simple().to_string();
    let account = app.create_account(&username, "bench", &password, false).await.map_err(err)?;
    let member = app.add_membership(tenant.id, &account, Role::Owner, None, None).await.map_err(err)?;
    let owner = Actor::for_member(&app.store, &member, Via::System).await.map_err(err)?;
    let input = CorpInput {
        corp_id: CORP.into(),
        name: "压测品牌".into(),
        agent_id: Some(1_000_002),
        contact_secret: SECRET.into(),
        callback_token: TOKEN.into(),
        callback_aes_key: AES_KEY.into(),
        api_base: fake.base_url(),
        active: true,
        ..CorpInput::default()
    };
    let corp = app.connect_corp(&owner, &input).await.map_err(err)?.corp.id;
    let sync = app.queue_wecom_sync(&owner, corp).await.map_err(err)?;
    app.run_due_work().await.map_err(err)?;
    // The staff are in; the sync's later phases (contacts, reconciling each member's customers) wait out the
    // per-minute quota shared with the send and would otherwise run inside the timed send, against the
    // million customers seeded next. A worker runs them alongside the send; here they are not the subject.
    let summary = serde_json::json!({"stopped": "after the staff phase, by the benchmark"});
    app.store.jobs().finish(owner.tenant, sync.id, Ok(&summary), app.now()).await?;
    Ok((owner, corp))
}

/// `n` customers spread evenly over `staff`: in the fake (existing contacts) and in siyu (customer,
/// external_userid identity, follow), inserted through `bulk_insert_customers`.
async fn seed(
    app: &App,
    owner: &Actor,
    fake: &FakeHandle,
    corp: CorpId,
    staff: &[String],
    n: usize,
) -> anyhow::Result<()> {
    let members: std::collections::HashMap<String, siyu_domain::id::UserId> =
        app.store.wecom().staff(owner.tenant, corp).await?.into_iter().map(|s| (s.userid, s.user_id)).collect();
    let progress = bar(n as u64, "seeding");
    let now = app.now();
    let per = n.div_ceil(staff.len().max(1));
    let mut left = n;
    for userid in staff {
        let take = per.min(left);
        left -= take;
        let user = *members.get(userid).ok_or_else(|| anyhow::anyhow!("{userid} was not synced"))?;
        let ids = fake.seed_contacts(CORP, userid, take, "客户")?;
        for batch in ids.chunks(5_000) {
            let rows = batch.iter().map(|ext| row(ext, user, now)).collect();
            app.bulk_insert_customers(owner, rows).await.map_err(err)?;
            progress.inc(batch.len() as u64);
        }
    }
    progress.finish_and_clear();
    Ok(())
}

fn row(ext: &str, user: siyu_domain::id::UserId, now: chrono::DateTime<chrono::Utc>) -> NewCustomerBulk {
    let id = CustomerId::new();
    NewCustomerBulk {
        customer: Customer {
            id,
            name: format!("客户{}", &ext[ext.len().saturating_sub(6)..]),
            gender: Gender::Unknown,
            avatar_url: None,
            remark: None,
            source: "wecom".into(),
            custom: Default::default(),
            created_at: now,
            updated_at: now,
            last_active_at: None,
        },
        created_by: None,
        identities: vec![IdentityInput {
            kind: IdentityKind::ExternalUserid,
            namespace: Some(CORP.into()),
            value: ext.to_owned(),
        }],
        follows: vec![Follow {
            customer_id: id,
            user_id: user,
            remark: None,
            description: None,
            add_way: "qr_code".into(),
            state: None,
            added_at: now,
        }],
        tags: vec![],
        notes: vec![],
    }
}

/// Runs the send's job as the worker would until the send is done; the fake's clock follows the wall
/// clock meanwhile. Returns the time from the job's start to the send's end.
async fn run_send(
    app: &App,
    fake: &FakeHandle,
    tenant: TenantId,
    id: MassSendId,
    chunks: usize,
) -> anyhow::Result<Duration> {
    let clock = fake.clock().clone();
    let ticking = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let ticker = {
        let ticking = ticking.clone();
        tokio::spawn(async move {
            while ticking.load(std::sync::atomic::Ordering::Relaxed) {
                clock.set(chrono::Utc::now().timestamp());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let progress = bar(chunks as u64, "sending (chunks)");
    let started = Instant::now();
    let result = async {
        loop {
            while app.run_one_job().await.map_err(err)? {}
            let send = app.store.wecom().mass_send(tenant, id).await?;
            let sent = app.store.wecom().mass_chunks(tenant, id).await?.iter().filter(|c| c.status == "sent").count();
            progress.set_position(sent as u64);
            match send.status {
                MassStatus::Sent => return Ok(started.elapsed()),
                MassStatus::Failed | MassStatus::Cancelled => anyhow::bail!("the send ended {:?}", send.status),
                // Deferred for the rate budget: the worker would pick it up when due.
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    .await;
    ticking.store(false, std::sync::atomic::Ordering::Relaxed);
    let _ = ticker.await;
    progress.finish_and_clear();
    result
}
