//! Mass sends against the fake WeCom: every customer messaged exactly once, within the rate limit, across a
//! worker that dies between WeCom's answer and the commit, and a re-run that sends nothing.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;
use siyu_app::actor::Via;
use siyu_app::clock::ManualClock;
use siyu_app::customers::IdentityInput;
use siyu_app::seed::NewCustomerBulk;
use siyu_app::{Actor, App};
use siyu_domain::customer::{Customer, Follow, Gender};
use siyu_domain::id::{CustomerId, MassSendId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::job::Job;
use siyu_wecom::api::{ChatType, MsgTemplate, Text};
use siyu_wecom::fake::{CustomerSetup, FakeConfig, FakeHandle};

use crate::helpers::{Fixture, fresh_db, spawn_with, test_settings};
use crate::wecom_callbacks::{CORP, connect, start_fake, sync};

const TEXT: &str = "双十二会员日，全场8折";

/// `n` customers, each a friend of zhangsan or lisi in the fake and in siyu (external_userid and follow).
pub(crate) async fn seed(app: &App, f: &Fixture, fake: &FakeHandle, corp: uuid::Uuid, n: usize) {
    let staff: HashMap<String, siyu_domain::id::UserId> = app
        .store
        .wecom()
        .staff(f.tenant.id, corp.into())
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.userid, s.user_id))
        .collect();
    let member = app.store.members().get(f.tenant.id, f.owner.id).await.unwrap();
    let actor = Actor::for_member(&app.store, &member, Via::Session).await.unwrap();
    let now = app.now();
    let mut batch = Vec::new();
    for i in 0..n {
        let userid = if i % 2 == 0 { "zhangsan" } else { "lisi" };
        let ext = fake.add_customer(CORP, CustomerSetup::named(&format!("客户{i}"))).unwrap();
        fake.customer_adds_staff(CORP, &ext, userid, None).await.unwrap();
        let id = CustomerId::new();
        let customer = Customer {
            id,
            name: format!("客户{i}"),
            gender: Gender::Unknown,
            avatar_url: None,
            remark: None,
            source: "wecom".into(),
            custom: Default::default(),
            created_at: now,
            updated_at: now,
            last_active_at: None,
        };
        let follow = Follow {
            customer_id: id,
            user_id: staff[userid],
            remark: None,
            description: None,
            add_way: "qr_code".into(),
            state: None,
            added_at: now,
        };
        let identity = IdentityInput { kind: IdentityKind::ExternalUserid, namespace: Some(CORP.into()), value: ext };
        batch.push(NewCustomerBulk {
            customer,
            created_by: None,
            identities: vec![identity],
            follows: vec![follow],
            tags: vec![],
            notes: vec![],
        });
        if batch.len() == 5_000 {
            app.bulk_insert_customers(&actor, std::mem::take(&mut batch)).await.unwrap();
        }
    }
    app.bulk_insert_customers(&actor, batch).await.unwrap();
}

/// Steps the worker, moving both clocks on while the job waits for rate budget, until `done` says so.
async fn step_until(
    app: &App,
    clock: &ManualClock,
    fake: &FakeHandle,
    (tenant, id): (TenantId, MassSendId),
    mut done: impl AsyncFnMut() -> bool,
) {
    for _ in 0..200 {
        while app.run_one_job().await.unwrap() {}
        if done().await {
            return;
        }
        clock.advance(Duration::seconds(20));
        fake.clock().advance(20);
    }
    let jobs = app.store.jobs().recent(tenant, 5).await.unwrap();
    let chunks = app.store.wecom().mass_chunks(tenant, id).await.unwrap();
    panic!("the mass send did not finish: {jobs:?} {chunks:?}");
}

async fn chunks_sent(app: &App, tenant: TenantId, id: MassSendId) -> usize {
    app.store.wecom().mass_chunks(tenant, id).await.unwrap().iter().filter(|c| c.status == "sent").count()
}

#[tokio::test]
async fn a_mass_send_to_100k_customers_reaches_each_once_within_the_rate_limit_across_a_worker_restart() {
    const N: usize = 100_000;
    let start = Utc::now();
    let clock = ManualClock::new(start);
    let fake = start_fake(FakeConfig { start_time: start.timestamp(), minute_limit: 4, ..FakeConfig::default() }).await;
    let mut settings = test_settings();
    settings.wecom.quota_per_minute = 4;
    settings.wecom.max_inline_wait_ms = 0;
    let db = Arc::new(fresh_db().await);
    let t = spawn_with(db.clone(), Arc::new(clock.clone()), settings.clone()).await;
    let (f, corp) = connect(&t, &fake).await;
    fake.set_callback_url(CORP, None).unwrap();
    sync(&t, &f, &corp).await;
    let corp_row: uuid::Uuid = corp["id"].as_str().unwrap().parse().unwrap();
    seed(&t.app, &f, &fake, corp_row, N).await;

    let body = json!({"corp": corp["id"], "name": "会员日群发", "content": {"text": TEXT}});
    let (status, send) = t.api("POST", "/api/v1/mass-sends", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{send}");
    let id: MassSendId = send["id"].as_str().unwrap().parse().unwrap();
    let tenant = f.tenant.id;

    // Three chunks go out, paced by the budget.
    step_until(&t.app, &clock, &fake, (tenant, id), async || chunks_sent(&t.app, tenant, id).await >= 3).await;
    let counts = t.app.store.wecom().mass_counts(tenant, id).await.unwrap();
    assert_eq!(counts.planned + counts.sent, N as i64, "{counts:?}");

    // A worker claims the next chunk, WeCom creates its template, and the worker dies before committing.
    let chunks = t.app.store.wecom().mass_chunks(tenant, id).await.unwrap();
    let next = chunks.iter().find(|c| c.status == "pending").unwrap().clone();
    assert!(t.app.store.wecom().claim_chunk(tenant, id, next.chunk_no, t.app.now()).await.unwrap());
    let recipients = t.app.store.wecom().chunk_recipients(tenant, id, next.chunk_no).await.unwrap();
    let handle = t.app.corp_handle(tenant, corp_row.into()).await.unwrap();
    clock.advance(Duration::seconds(20));
    fake.clock().advance(20);
    let template = MsgTemplate {
        chat_type: ChatType::Single,
        external_userid: recipients,
        sender: Some(next.sender.clone()),
        text: Some(Text { content: TEXT.into() }),
        ..MsgTemplate::default()
    };
    handle.client.add_msg_template(&handle.contact, &template).await.unwrap();

    // Another chunk is in WeCom and marked sent, and the worker dies before settling its recipients: the
    // next run settles them, without another call.
    let chunks = t.app.store.wecom().mass_chunks(tenant, id).await.unwrap();
    let half = chunks.iter().find(|c| c.status == "pending").unwrap().clone();
    assert!(t.app.store.wecom().claim_chunk(tenant, id, half.chunk_no, t.app.now()).await.unwrap());
    let recipients = t.app.store.wecom().chunk_recipients(tenant, id, half.chunk_no).await.unwrap();
    clock.advance(Duration::seconds(20));
    fake.clock().advance(20);
    let template = MsgTemplate { external_userid: recipients, sender: Some(half.sender.clone()), ..template };
    let msgid = handle.client.add_msg_template(&handle.contact, &template).await.unwrap().msgid;
    let wecom = t.app.store.wecom();
    wecom.finish_chunk(tenant, id, half.chunk_no, &msgid, &[], t.app.now()).await.unwrap();
    let counts = wecom.mass_counts(tenant, id).await.unwrap();
    assert!(counts.planned > 0 && counts.sent < N as i64, "{counts:?}");
    drop(t);

    // Another node takes over.
    let t2 = spawn_with(db.clone(), Arc::new(clock.clone()), settings).await;
    step_until(&t2.app, &clock, &fake, (tenant, id), async || {
        t2.app.store.wecom().mass_send(tenant, id).await.unwrap().status.as_str() == "sent"
    })
    .await;

    // Each customer is in exactly one template WeCom accepted, and WeCom never answered 45009.
    let requests = fake.requests();
    assert!(requests.iter().all(|r| r.errcode != 45009), "the rate limit was exceeded");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in requests.iter().filter(|r| r.path.ends_with("add_msg_template") && r.errcode == 0) {
        for ext in r.body["external_userid"].as_array().unwrap() {
            *seen.entry(ext.as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), N);
    assert!(seen.values().all(|n| *n == 1), "someone got the message twice");
    let counts = t2.app.store.wecom().mass_counts(tenant, id).await.unwrap();
    assert_eq!(counts.sent, N as i64, "{counts:?}");

    // Running the job again sends nothing more.
    let calls = fake.calls("externalcontact/add_msg_template");
    let job = Job::queued(siyu_app::wecom::MASS_JOB, json!({"send": id}), 1, f.owner.id, t2.app.now());
    t2.app.store.jobs().enqueue(tenant, &job).await.unwrap();
    t2.app.run_due_work().await.unwrap();
    assert_eq!(fake.calls("externalcontact/add_msg_template"), calls);
}

#[tokio::test]
async fn opted_out_customers_and_those_already_messaged_today_are_skipped() {
    let start = Utc::now();
    let clock = ManualClock::new(start);
    let fake = start_fake(FakeConfig { start_time: start.timestamp(), ..FakeConfig::default() }).await;
    let t = spawn_with(Arc::new(fresh_db().await), Arc::new(clock.clone()), test_settings()).await;
    let (f, corp) = connect(&t, &fake).await;
    fake.set_callback_url(CORP, None).unwrap();
    sync(&t, &f, &corp).await;
    let corp_row: uuid::Uuid = corp["id"].as_str().unwrap().parse().unwrap();
    seed(&t.app, &f, &fake, corp_row, 10).await;
    // One customer withdraws marketing consent.
    let (_, list) = t.api("GET", "/api/v1/customers?limit=10", &f.token, None).await;
    let first = list["items"][0]["id"].as_str().unwrap().to_owned();
    let consent = json!({"status": "withdrawn"});
    let (status, body) =
        t.api("PUT", &format!("/api/v1/customers/{first}/consents/marketing"), &f.token, Some(consent)).await;
    assert_eq!(status, 200, "{body}");
    let body = json!({"corp": corp["id"], "name": "第一次", "content": {"text": TEXT}});
    let (_, one) = t.api("POST", "/api/v1/mass-sends", &f.token, Some(body)).await;
    t.app.run_due_work().await.unwrap();
    let (_, one) = t.api("GET", &format!("/api/v1/mass-sends/{}", one["id"].as_str().unwrap()), &f.token, None).await;
    assert_eq!(
        (one["status"].as_str(), one["counts"]["sent"].as_i64(), one["counts"]["opted_out"].as_i64()),
        (Some("sent"), Some(9), Some(1)),
        "{one}"
    );
    // The same day, a second send: everyone reached the daily cap of one.
    let body = json!({"corp": corp["id"], "name": "第二次", "content": {"text": "再来一次"}});
    let (_, two) = t.api("POST", "/api/v1/mass-sends", &f.token, Some(body)).await;
    t.app.run_due_work().await.unwrap();
    let (_, two) = t.api("GET", &format!("/api/v1/mass-sends/{}", two["id"].as_str().unwrap()), &f.token, None).await;
    assert_eq!((two["counts"]["sent"].as_i64(), two["counts"]["capped"].as_i64()), (Some(0), Some(9)), "{two}");
    // One template per sender.
    let senders: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("add_msg_template") && r.errcode == 0)
        .map(|r| r.body["sender"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(senders.len(), 2, "{senders:?}");
}
