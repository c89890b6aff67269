//! Mass sends to customer groups against the fake WeCom: one template per owner with the owner's groups
//! (`chat_id_list`), each group reached once across a worker that dies between WeCom's answer and the commit
//! and a re-run; results pulled back per group; reminders within WeCom's limit, and cancelling.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use siyu_app::clock::ManualClock;
use siyu_domain::id::{MassSendId, TenantId};
use siyu_domain::job::Job;
use siyu_wecom::fake::{CustomerSetup, FakeConfig, FakeHandle};

use crate::helpers::{Fixture, TestApp, fresh_db, spawn_with, test_settings};
use crate::wecom_callbacks::{CORP, connect, start_fake, sync};

const TEXT: &str = "今晚8点群内秒杀";

/// A server on a manual clock connected to a fake whose zhangsan owns three groups and lisi two.
pub(crate) async fn groups_setup() -> (TestApp, Fixture, FakeHandle, Value, ManualClock) {
    let start = Utc::now();
    let clock = ManualClock::new(start);
    let fake = start_fake(FakeConfig { start_time: start.timestamp(), ..FakeConfig::default() }).await;
    let db = Arc::new(fresh_db().await);
    let t = spawn_with(db.clone(), Arc::new(clock.clone()), test_settings()).await;
    let (f, corp) = connect(&t, &fake).await;
    fake.set_callback_url(CORP, None).unwrap();
    let wm = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    for (owner, name) in [
        ("zhangsan", "会员福利1群"),
        ("zhangsan", "会员福利2群"),
        ("zhangsan", "新品体验群"),
        ("lisi", "会员福利3群"),
        ("lisi", "门店群"),
    ] {
        fake.create_group(CORP, owner, name, &[&wm]).await.unwrap();
    }
    let job = sync(&t, &f, &corp).await;
    assert_eq!(job["result"]["groups"], 5, "{job}");
    (t, f, fake, corp, clock)
}

/// Every group named in an accepted `add_msg_template`, with how often.
fn groups_reached(fake: &FakeHandle) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for r in fake.requests().iter().filter(|r| r.path.ends_with("add_msg_template") && r.errcode == 0) {
        assert_eq!(r.body["chat_type"], "group");
        for chat in r.body["chat_id_list"].as_array().unwrap() {
            *seen.entry(chat.as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    seen
}

async fn create(t: &TestApp, f: &Fixture, corp: &Value, groups: Value) -> MassSendId {
    let body = json!({"corp": corp["id"], "name": "群秒杀", "audience": {"groups": groups}, "content": {"text": TEXT}});
    let (status, send) = t.api("POST", "/api/v1/mass-sends", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{send}");
    send["id"].as_str().unwrap().parse().unwrap()
}

async fn view(t: &TestApp, f: &Fixture, id: MassSendId) -> Value {
    t.api("GET", &format!("/api/v1/mass-sends/{id}"), &f.token, None).await.1
}

#[tokio::test]
async fn a_group_mass_send_reaches_each_group_once_across_a_worker_restart_and_a_rerun() {
    let (t, f, fake, corp, clock) = groups_setup().await;
    let db = t.db.clone();
    let tenant: TenantId = f.tenant.id;
    // WeCom's minute budget for add_msg_template is spent: the job plans, then waits.
    fake.inject("externalcontact/add_msg_template", 45009, 1);
    let id = create(&t, &f, &corp, json!({})).await;
    t.app.run_due_work().await.unwrap();
    let chunks = t.app.store.wecom().mass_chunks(tenant, id).await.unwrap();
    assert_eq!(chunks.iter().map(|c| c.sender.as_str()).collect::<Vec<_>>(), ["lisi", "zhangsan"]);
    assert!(chunks.iter().all(|c| c.status == "pending"), "{chunks:?}");
    assert_eq!(view(&t, &f, id).await["counts"]["planned"], 5);

    // A worker claims lisi's chunk, WeCom creates the template, and the worker dies before committing.
    clock.advance(Duration::seconds(61));
    fake.clock().advance(61);
    let chunk = &chunks[0];
    assert!(t.app.store.wecom().claim_chunk(tenant, id, chunk.chunk_no, t.app.now()).await.unwrap());
    let send = t.app.store.wecom().mass_send(tenant, id).await.unwrap();
    let chats = t.app.store.wecom().group_chunk_recipients(tenant, id, chunk.chunk_no).await.unwrap();
    assert_eq!(chats.len(), 2);
    let handle = t.app.corp_handle(tenant, send.corp).await.unwrap();
    let template = siyu_wecom::api::MsgTemplate {
        chat_type: siyu_wecom::api::ChatType::Group,
        chat_id_list: chats,
        sender: Some("lisi".into()),
        text: Some(siyu_wecom::api::Text { content: TEXT.into() }),
        ..Default::default()
    };
    handle.client.add_msg_template(&handle.contact, &template).await.unwrap();
    drop(t);

    // Another node takes over: lisi's template is found in WeCom and adopted, zhangsan's is sent.
    let t2 = spawn_with(db.clone(), Arc::new(clock.clone()), test_settings()).await;
    t2.app.run_due_work().await.unwrap();
    let v = view(&t2, &f, id).await;
    assert_eq!((v["status"].as_str(), v["counts"]["sent"].as_i64()), (Some("sent"), Some(5)), "{v}");
    let reached = groups_reached(&fake);
    assert_eq!(reached.len(), 5);
    assert!(reached.values().all(|n| *n == 1), "a group got the message twice: {reached:?}");
    let senders: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("add_msg_template") && r.errcode == 0)
        .map(|r| r.body["sender"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(senders, ["lisi", "zhangsan"], "one template per owner, from the owner");

    // Running the job again sends nothing more.
    let calls = fake.calls("externalcontact/add_msg_template");
    let job = Job::queued(siyu_app::wecom::MASS_JOB, json!({"send": id}), 1, f.owner.id, t2.app.now());
    t2.app.store.jobs().enqueue(tenant, &job).await.unwrap();
    t2.app.run_due_work().await.unwrap();
    assert_eq!(fake.calls("externalcontact/add_msg_template"), calls);
}

#[tokio::test]
async fn group_results_are_pulled_back_per_group_and_a_group_gone_is_reported() {
    let (t, f, fake, corp, _clock) = groups_setup().await;
    let tenant = f.tenant.id;
    let id = create(&t, &f, &corp, json!({"owners": ["zhangsan"], "name_contains": "会员福利"})).await;
    t.app.run_due_work().await.unwrap();
    let v = view(&t, &f, id).await;
    assert_eq!(v["counts"]["sent"], 2, "only zhangsan's groups named 会员福利: {v}");
    let chunk = t.app.store.wecom().mass_chunks(tenant, id).await.unwrap().remove(0);
    let msgid = chunk.msgid.unwrap();
    let (_, recipients) = t.api("GET", &format!("/api/v1/mass-sends/{id}/recipients"), &f.token, None).await;
    let chats: Vec<String> =
        recipients.as_array().unwrap().iter().map(|r| r["chat_id"].as_str().unwrap().to_owned()).collect();
    // One group is dismissed before zhangsan confirms.
    fake.dismiss_group(CORP, &chats[1]).await.unwrap();
    fake.staff_confirms(CORP, &msgid, "zhangsan").unwrap();
    let (status, v) = t.api("POST", &format!("/api/v1/mass-sends/{id}/results"), &f.token, None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["counts"]["delivered"].as_i64(), v["counts"]["not_friend"].as_i64()), (Some(1), Some(1)), "{v}");
    let (_, recipients) = t.api("GET", &format!("/api/v1/mass-sends/{id}/recipients"), &f.token, None).await;
    let by_chat: HashMap<&str, &str> = recipients
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["chat_id"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(by_chat[chats[0].as_str()], "delivered");
    assert_eq!(by_chat[chats[1].as_str()], "not_friend");
    let (_, senders) = t.api("GET", &format!("/api/v1/mass-sends/{id}/senders"), &f.token, None).await;
    assert_eq!(senders[0]["sender"], "zhangsan");
    assert_eq!(senders[0]["counts"]["delivered"], 1, "{senders}");
}

#[tokio::test]
async fn senders_are_reminded_within_wecoms_limit_and_a_cancelled_send_cannot_be_confirmed() {
    let (t, f, fake, corp, _clock) = groups_setup().await;
    let id = create(&t, &f, &corp, json!({"owners": ["lisi"]})).await;
    t.app.run_due_work().await.unwrap();
    for _ in 0..3 {
        let (status, body) = t.api("POST", &format!("/api/v1/mass-sends/{id}/remind"), &f.token, None).await;
        assert_eq!((status, body["reminded"].as_i64()), (200, Some(1)), "{body}");
    }
    let (status, body) = t.api("POST", &format!("/api/v1/mass-sends/{id}/remind"), &f.token, None).await;
    assert_eq!(status, 400, "a fourth reminder within 24 h is WeCom's to refuse: {body}");
    let (status, v) = t.api("POST", &format!("/api/v1/mass-sends/{id}/cancel"), &f.token, None).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("cancelled")), "{v}");
    let msgid = t.app.store.wecom().mass_chunks(f.tenant.id, id).await.unwrap().remove(0).msgid.unwrap();
    assert!(fake.staff_confirms(CORP, &msgid, "lisi").is_err(), "WeCom cancelled the template too");
    let (status, _) = t.api("POST", &format!("/api/v1/mass-sends/{id}/cancel"), &f.token, None).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn a_group_send_with_customer_filters_or_an_unknown_owner_is_refused() {
    let (t, f, _fake, corp, _clock) = groups_setup().await;
    let body = json!({"corp": corp["id"], "name": "x", "audience": {"staff": ["lisi"], "groups": {}},
        "content": {"text": TEXT}});
    let (status, e) = t.api("POST", "/api/v1/mass-sends", &f.token, Some(body)).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("groups")), "{e}");
    let body = json!({"corp": corp["id"], "name": "x", "audience": {"groups": {"owners": ["nobody"]}},
        "content": {"text": TEXT}});
    let (status, e) = t.api("POST", "/api/v1/mass-sends", &f.token, Some(body)).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("owners")), "{e}");
    let preview = json!({"corp": corp["id"], "audience": {"groups": {"owners": ["zhangsan"]}}});
    let (status, p) = t.api("POST", "/api/v1/mass-sends/preview", &f.token, Some(preview)).await;
    assert_eq!((status, p["total"].as_i64()), (200, Some(3)), "{p}");
}
