//! WeCom end to end against the fake WeCom server: a corp connected through the API, a full sync, then
//! console-side changes pushed by the fake as encrypted callbacks to `/wecom/callback/{route}`.

use serde_json::{Value, json};
use siyu_domain::id::CustomerId;
use siyu_domain::identity::IdentityKind;
use siyu_wecom::fake::{CorpSetup, CustomerSetup, FakeConfig, FakeHandle, FakeWecom};

use crate::helpers::{Fixture, TestApp, spawn_app};

pub(crate) const CORP: &str = "wwsiyutest01";
const SECRET: &str = "contact-secret-1";
const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

/// A fake WeCom with one corp, two departments and two staff with the customer-contact permission.
pub(crate) async fn start_fake(config: FakeConfig) -> FakeHandle {
    let fake = FakeWecom::start(config).await.unwrap();
    fake.add_corp(CorpSetup {
        corp_id: CORP.into(),
        secrets: vec![SECRET.into()],
        callback_url: None,
        token: TOKEN.into(),
        encoding_aes_key: AES_KEY.into(),
        agent_id: "1000002".into(),
    });
    fake.add_department(CORP, 2, "华东门店", 1).unwrap();
    for (userid, name, dept) in [("zhangsan", "张三", 2), ("lisi", "李四", 1)] {
        fake.add_staff(CORP, userid, name, &[dept]).unwrap();
        fake.set_contact_permission(CORP, userid, true).unwrap();
    }
    fake
}

/// A tenant of `t` that connected the fake's corp, and the fake pushing to the corp's callback URL.
pub(crate) async fn connect(t: &TestApp, fake: &FakeHandle) -> (Fixture, Value) {
    let f = t.tenant("品牌").await;
    let body = json!({"corp_id": CORP, "name": "测试企业", "agent_id": 1000002, "contact_secret": SECRET,
        "callback_token": TOKEN, "callback_aes_key": AES_KEY, "api_base": fake.base_url()});
    let (status, corp) = t.api("POST", "/api/v1/wecom/corps", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{corp}");
    let path = corp["callback_url"].as_str().unwrap().split("/wecom/").nth(1).unwrap().to_owned();
    fake.set_callback_url(CORP, Some(t.url(&format!("/wecom/{path}")))).unwrap();
    (f, corp)
}

/// The fake (its clock at the server's now, so join times fall in the trend windows), a server, a tenant
/// connected to the fake's corp.
pub(crate) async fn connected() -> (TestApp, Fixture, FakeHandle, Value) {
    let config = FakeConfig { start_time: chrono::Utc::now().timestamp(), ..FakeConfig::default() };
    let fake = start_fake(config).await;
    let t = spawn_app().await;
    let (f, corp) = connect(&t, &fake).await;
    (t, f, fake, corp)
}

pub(crate) async fn sync(t: &TestApp, f: &Fixture, corp: &Value) -> Value {
    let id = corp["id"].as_str().unwrap();
    let (status, job) = t.api("POST", &format!("/api/v1/wecom/corps/{id}/sync"), &f.token, None).await;
    assert_eq!(status, 202, "{job}");
    t.app.run_due_work().await.unwrap();
    let (_, job) = t.api("GET", &format!("/api/v1/jobs/{}", job["id"].as_str().unwrap()), &f.token, None).await;
    job
}

/// Lets the callbacks answered so far finish processing.
pub(crate) async fn settle(t: &TestApp) {
    t.app.settle_callbacks().await;
    t.app.process_wecom_callbacks().await.unwrap();
}

pub(crate) async fn customer_of(t: &TestApp, f: &Fixture, external_userid: &str) -> Option<CustomerId> {
    t.app.store.identities().resolve(f.tenant.id, IdentityKind::ExternalUserid, CORP, external_userid).await.unwrap()
}

#[tokio::test]
async fn the_url_check_answers_the_decrypted_echostr() {
    let (_t, _f, fake, _corp) = connected().await;
    let echo = fake.verify_callback_url(CORP).await.unwrap();
    assert!(!echo.is_empty());
    assert!(echo.chars().all(|c| c.is_ascii_alphanumeric()), "{echo}");
}

#[tokio::test]
async fn the_connection_test_fetches_a_token_and_a_wrong_secret_is_reported() {
    let (t, f, fake, corp) = connected().await;
    let id = corp["id"].as_str().unwrap();
    let (status, tested) = t.api("POST", &format!("/api/v1/wecom/corps/{id}/test"), &f.token, None).await;
    assert_eq!(status, 200);
    assert!(tested["checked_at"].is_string());
    assert!(tested["check_error"].is_null(), "{tested}");
    assert_eq!(tested["contact_secret_hint"], "****et-1");
    // A wrong secret (the callback settings left empty keep theirs): WeCom's 40001 is shown on the corp.
    let body = json!({"corp_id": CORP, "name": "测试企业", "contact_secret": "wrong-secret",
        "api_base": fake.base_url()});
    let (status, updated) = t.api("PUT", &format!("/api/v1/wecom/corps/{id}"), &f.token, Some(body)).await;
    assert_eq!(status, 200, "{updated}");
    let (_, tested) = t.api("POST", &format!("/api/v1/wecom/corps/{id}/test"), &f.token, None).await;
    assert!(tested["check_error"].as_str().unwrap().contains("40001"), "{tested}");
    // A bad AES key is refused with the field named.
    let body = json!({"corp_id": CORP, "name": "测试企业", "callback_aes_key": "short", "api_base": fake.base_url()});
    let (status, error) = t.api("PUT", &format!("/api/v1/wecom/corps/{id}"), &f.token, Some(body)).await;
    assert_eq!(status, 400);
    assert_eq!(error["field"], "callback_aes_key", "{error}");
}

#[tokio::test]
async fn a_full_sync_brings_staff_tags_customers_and_groups() {
    let (t, f, fake, corp) = connected().await;
    let wm = fake
        .add_customer(CORP, CustomerSetup { unionid: Some("oUnion1".into()), ..CustomerSetup::named("王女士") })
        .unwrap();
    fake.customer_adds_staff(CORP, &wm, "zhangsan", Some("store-poster")).await.unwrap();
    fake.create_group(CORP, "lisi", "会员福利群", &["zhangsan", &wm]).await.unwrap();
    // Pushed before the sync knew anyone: stored, processed later like any callback.
    let job = sync(&t, &f, &corp).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["result"]["staff"], 2);
    assert_eq!(job["result"]["relations"], 1);
    assert_eq!(job["result"]["groups"], 1);
    let customer = customer_of(&t, &f, &wm).await.expect("the customer exists");
    let follows = t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap();
    assert_eq!(follows.len(), 1);
    assert_eq!(follows[0].state.as_deref(), Some("store-poster"));
    assert_eq!(follows[0].add_way, "qr_code");
    let (_, groups) = t.api("GET", "/api/v1/groups", &f.token, None).await;
    assert_eq!(groups["total"], 1, "{groups}");
    assert_eq!(groups["items"][0]["name"], "会员福利群");
    assert_eq!(groups["items"][0]["member_count"], 3);
    assert_eq!(groups["items"][0]["customer_count"], 1);
}

#[tokio::test]
async fn a_customer_adding_staff_lands_with_the_follow_and_on_the_timeline() {
    let (t, f, fake, corp) = connected().await;
    sync(&t, &f, &corp).await;
    let wm = fake.add_customer(CORP, CustomerSetup::named("陈先生")).unwrap();
    let added = fake.customer_adds_staff(CORP, &wm, "zhangsan", Some("qr-42")).await.unwrap();
    assert!(added.delivery.delivered);
    assert_eq!(added.delivery.attempts, 1, "answered at the first attempt");
    settle(&t).await;
    let customer = customer_of(&t, &f, &wm).await.expect("the callback created the customer");
    let follows = t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap();
    assert_eq!(follows.len(), 1);
    assert_eq!(follows[0].state.as_deref(), Some("qr-42"));
    let staff = t.app.store.wecom().staff_of_user(f.tenant.id, follows[0].user_id).await.unwrap().unwrap();
    assert_eq!(staff.userid, "zhangsan");
    let (_, timeline) = t.api("GET", &format!("/api/v1/customers/{}/timeline", customer.0), &f.token, None).await;
    let kinds: Vec<&str> = timeline["items"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"follow_added"), "{kinds:?}");
    // The customer deletes the staff member: the follow ends, kept as a removal on the timeline.
    fake.customer_deletes_staff(CORP, &wm, "zhangsan").await.unwrap();
    settle(&t).await;
    assert!(t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap().is_empty());
    let (_, timeline) = t.api("GET", &format!("/api/v1/customers/{}/timeline", customer.0), &f.token, None).await;
    let kinds: Vec<&str> = timeline["items"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"follow_removed"), "{kinds:?}");
}

#[tokio::test]
async fn a_retried_callback_is_stored_once_and_a_forged_one_is_refused() {
    let (t, f, fake, corp) = connected().await;
    sync(&t, &f, &corp).await;
    let wm = fake.add_customer(CORP, CustomerSetup::named("赵女士")).unwrap();
    fake.customer_adds_staff(CORP, &wm, "lisi", None).await.unwrap();
    let pushed = fake.pushes();
    let last = pushed.last().unwrap();
    // WeCom retries repeat the plaintext: pushing it again stores nothing new.
    let again = fake.push_raw(CORP, &last.xml).await.unwrap();
    assert!(again.delivered);
    settle(&t).await;
    let corp_id = corp["id"].as_str().unwrap().parse().unwrap();
    let stored = t.app.store.wecom().recent_callbacks(f.tenant.id, corp_id, 50).await.unwrap();
    let adds = stored.iter().filter(|c| c.kind == "change_external_contact/add_external_contact").count();
    assert_eq!(adds, 1);
    assert!(stored.iter().all(|c| c.status == "done"), "{stored:?}");
    // A body signed with another token is refused and not stored.
    let url = corp["callback_url"].as_str().unwrap().split("/wecom/").nth(1).unwrap().to_owned();
    let forged = reqwest::Client::new()
        .post(t.url(&format!("/wecom/{url}?msg_signature=0000&timestamp=1&nonce=2")))
        .body("<xml><Encrypt><![CDATA[abcd]]></Encrypt></xml>")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    let unknown = reqwest::Client::new()
        .post(t.url("/wecom/callback/0190f0f0-0000-7000-8000-000000000000?msg_signature=0&timestamp=1&nonce=2"))
        .body("<xml/>")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn group_joins_and_leaves_follow_the_member_list_even_out_of_order() {
    let (t, f, fake, corp) = connected().await;
    sync(&t, &f, &corp).await;
    let a = fake.add_customer(CORP, CustomerSetup::named("顾客甲")).unwrap();
    let b = fake.add_customer(CORP, CustomerSetup::named("顾客乙")).unwrap();
    // The three changes happen while WeCom cannot reach us (recorded, not delivered) ...
    let url = corp["callback_url"].as_str().unwrap().split("/wecom/").nth(1).unwrap().to_owned();
    fake.set_callback_url(CORP, None).unwrap();
    let created = fake.create_group(CORP, "zhangsan", "快闪群", &[&a]).await.unwrap();
    fake.join_group(CORP, &created.chat_id, &b, 3).await.unwrap();
    fake.leave_group(CORP, &created.chat_id, &a, 0).await.unwrap();
    // ... then arrive backwards: each handler reads the group as it is now, so the last word is WeCom's.
    fake.set_callback_url(CORP, Some(t.url(&format!("/wecom/{url}")))).unwrap();
    let pushes = fake.pushes();
    for p in pushes.iter().rev().take(3) {
        fake.push_raw(CORP, &p.xml).await.unwrap();
    }
    settle(&t).await;
    let (_, groups) = t.api("GET", "/api/v1/groups", &f.token, None).await;
    let id = groups["items"][0]["id"].as_str().unwrap();
    let (_, detail) = t.api("GET", &format!("/api/v1/groups/{id}"), &f.token, None).await;
    let members: Vec<&str> =
        detail["members"].as_array().unwrap().iter().filter_map(|m| m["member_key"].as_str()).collect();
    assert!(members.contains(&b.as_str()) && !members.contains(&a.as_str()), "{members:?}");
    let joins: i64 = detail["trend"].as_array().unwrap().iter().map(|d| d["joins"].as_i64().unwrap()).sum();
    let leaves: i64 = detail["trend"].as_array().unwrap().iter().map(|d| d["leaves"].as_i64().unwrap()).sum();
    // Siyu never saw 顾客甲 in the group: one join (顾客乙), no leave.
    assert_eq!((joins, leaves), (1, 0), "{detail}");
    // The customer who stayed is a customer of the pool with the group on record.
    let stayed = customer_of(&t, &f, &b).await.expect("group members become customers");
    let of = t.app.store.wecom().groups_of_customer(f.tenant.id, stayed).await.unwrap();
    assert_eq!(of.len(), 1);
}

#[tokio::test]
async fn a_dismissed_group_stays_listed_and_its_customers_leave_it() {
    let (t, f, fake, corp) = connected().await;
    sync(&t, &f, &corp).await;
    let a = fake.add_customer(CORP, CustomerSetup::named("顾客丙")).unwrap();
    let created = fake.create_group(CORP, "zhangsan", "周末快闪群", &[&a]).await.unwrap();
    settle(&t).await;
    let customer = customer_of(&t, &f, &a).await.unwrap();
    assert_eq!(t.app.store.wecom().groups_of_customer(f.tenant.id, customer).await.unwrap().len(), 1);
    fake.dismiss_group(CORP, &created.chat_id).await.unwrap();
    settle(&t).await;
    assert!(t.app.store.wecom().groups_of_customer(f.tenant.id, customer).await.unwrap().is_empty());
    let (_, all) = t.api("GET", "/api/v1/groups?include_dismissed=true", &f.token, None).await;
    assert_eq!(all["total"], 1, "{all}");
    assert!(all["items"][0]["dismissed_at"].is_string());
    let (_, live) = t.api("GET", "/api/v1/groups", &f.token, None).await;
    assert_eq!(live["total"], 0);
    let id = all["items"][0]["id"].as_str().unwrap();
    let (_, detail) = t.api("GET", &format!("/api/v1/groups/{id}"), &f.token, None).await;
    let leaves: i64 = detail["trend"].as_array().unwrap().iter().map(|d| d["leaves"].as_i64().unwrap()).sum();
    assert_eq!(leaves, 1, "{detail}");
}

/// POSTs `xml` to the corp's callback URL encrypted and signed with `token` and `aes_key`.
async fn post_signed(t: &TestApp, corp: &Value, token: &str, aes_key: &str, xml: &str) -> u16 {
    let crypto = siyu_wecom::crypto::CallbackCrypto::new(token, aes_key, CORP).unwrap();
    let m = crypto.encrypt_message(xml, &chrono::Utc::now().timestamp().to_string(), "n0nce");
    let path = corp["callback_url"].as_str().unwrap().split("/wecom/").nth(1).unwrap().to_owned();
    let query = format!("msg_signature={}&timestamp={}&nonce={}", m.msg_signature, m.timestamp, m.nonce);
    let res = reqwest::Client::new()
        .post(t.url(&format!("/wecom/{path}?{query}")))
        .body(m.to_xml(CORP, "1000002"))
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

fn tag_event(n: u32) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_tag]]></Event>\
         <Id><![CDATA[et-{n}]]></Id><TagType><![CDATA[tag]]></TagType><ChangeType><![CDATA[create]]></ChangeType></xml>",
        1_700_000_000 + n
    )
}

#[tokio::test]
async fn a_rotated_callback_token_is_honoured_at_once_and_the_old_one_refused() {
    let (t, f, fake, corp) = connected().await;
    const NEW_TOKEN: &str = "R0tated";
    const NEW_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    // The first callback reads the route and caches it.
    assert_eq!(post_signed(&t, &corp, TOKEN, AES_KEY, &tag_event(1)).await, 200);
    let id = corp["id"].as_str().unwrap();
    let body = json!({"corp_id": CORP, "name": "测试企业", "agent_id": 1000002, "callback_token": NEW_TOKEN,
        "callback_aes_key": NEW_KEY, "api_base": fake.base_url(), "active": true});
    let (status, updated) = t.api("PUT", &format!("/api/v1/wecom/corps/{id}"), &f.token, Some(body)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(post_signed(&t, &corp, NEW_TOKEN, NEW_KEY, &tag_event(2)).await, 200);
    assert_eq!(post_signed(&t, &corp, TOKEN, AES_KEY, &tag_event(3)).await, 400, "the old token is refused");
    // Another node's cache (here: a second app over the same database) still holding the old crypto checks a
    // failing signature against a fresh read.
    let other = siyu_app::App::new(t.app.store.clone(), crate::helpers::test_settings(), t.app.clock.clone()).unwrap();
    let route: uuid::Uuid = corp["callback_url"].as_str().unwrap().rsplit('/').next().unwrap().parse().unwrap();
    let q = |m: &siyu_wecom::crypto::EncryptedMessage| siyu_app::wecom::CallbackQuery {
        msg_signature: m.msg_signature.clone(),
        timestamp: m.timestamp.clone(),
        nonce: m.nonce.clone(),
        echostr: None,
    };
    let stale = siyu_wecom::crypto::CallbackCrypto::new(TOKEN, AES_KEY, CORP).unwrap();
    let fresh = siyu_wecom::crypto::CallbackCrypto::new(NEW_TOKEN, NEW_KEY, CORP).unwrap();
    let m = fresh.encrypt_message(&tag_event(4), "1700000004", "n");
    assert!(other.receive_callback(route, &q(&m), &m.to_xml(CORP, "1")).await.is_ok());
    let m = stale.encrypt_message(&tag_event(5), "1700000005", "n");
    assert!(other.receive_callback(route, &q(&m), &m.to_xml(CORP, "1")).await.is_err());
    let stored = t.app.store.wecom().recent_callbacks(f.tenant.id, id.parse().unwrap(), 50).await.unwrap();
    assert_eq!(stored.iter().filter(|c| c.kind.starts_with("change_external_tag")).count(), 3);
}

#[tokio::test]
async fn a_burst_of_concurrent_callbacks_is_stored_once_each_through_the_group_commit() {
    let (t, f, _fake, corp) = connected().await;
    let mut requests = Vec::new();
    for n in 0..200u32 {
        // Every event twice, as WeCom's retries would.
        for _ in 0..2 {
            let (t, corp) = (&t, &corp);
            requests.push(async move { post_signed(t, corp, TOKEN, AES_KEY, &tag_event(100 + n)).await });
        }
    }
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let id = corp["id"].as_str().unwrap().parse().unwrap();
    let stored = t.app.store.wecom().recent_callbacks(f.tenant.id, id, 1000).await.unwrap();
    assert_eq!(stored.iter().filter(|c| c.kind.starts_with("change_external_tag")).count(), 200);
}
