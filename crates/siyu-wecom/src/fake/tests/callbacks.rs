//! Encrypted callback pushes to a tiny axum receiver that decrypts them with `CallbackCrypto`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

use super::{AES_KEY, CALLBACK_TOKEN, CORP, Harness, errcode};
use crate::crypto::CallbackCrypto;
use crate::fake::{CustomerSetup, FakeConfig};

/// What the receiver saw.
#[derive(Clone, Default)]
struct Inbox {
    hits: Arc<AtomicU32>,
    events: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Receiver {
    inbox: Inbox,
    crypto: CallbackCrypto,
    /// Answer 500 to this many requests first.
    failures: u32,
    /// Sleep this long on the first request.
    stall: Duration,
}

async fn on_event(
    State(r): State<Receiver>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> (StatusCode, String) {
    let hit = r.inbox.hits.fetch_add(1, Ordering::SeqCst) + 1;
    if hit == 1 && !r.stall.is_zero() {
        tokio::time::sleep(r.stall).await;
    }
    if hit <= r.failures {
        return (StatusCode::INTERNAL_SERVER_ERROR, "busy".into());
    }
    let plain = r.crypto.decrypt_message(&q["msg_signature"], &q["timestamp"], &q["nonce"], &body).unwrap();
    r.inbox.events.lock().unwrap().push(plain);
    (StatusCode::OK, "success".into())
}

async fn on_check(State(r): State<Receiver>, Query(q): Query<HashMap<String, String>>) -> String {
    r.crypto.verify_url(&q["msg_signature"], &q["timestamp"], &q["nonce"], &q["echostr"]).unwrap()
}

/// Starts a receiver and points the corp's callbacks at it.
async fn receiver(h: &Harness, failures: u32, stall: Duration) -> Inbox {
    let inbox = Inbox::default();
    let crypto = CallbackCrypto::new(CALLBACK_TOKEN, AES_KEY, CORP).unwrap();
    let state = Receiver { inbox: inbox.clone(), crypto, failures, stall };
    let app = axum::Router::new().route("/wecom/callback", get(on_check).post(on_event)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wecom/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    h.fake.set_callback_url(CORP, Some(url)).unwrap();
    inbox
}

#[tokio::test]
async fn a_scan_pushes_an_encrypted_callback_the_receiver_decrypts() {
    let h = Harness::start(FakeConfig::default()).await;
    let inbox = receiver(&h, 0, Duration::ZERO).await;
    let way = h
        .post("externalcontact/add_contact_way", json!({"type": 1, "scene": 2, "state": "qr-42", "user": ["lisi"]}))
        .await;
    assert_eq!(errcode(&way), 0);
    assert!(way["qr_code"].as_str().unwrap().starts_with("https://"));
    let config_id = way["config_id"].as_str().unwrap();
    assert_eq!(config_id.len(), 32);
    assert!(h.fake.pushes().is_empty(), "API-made changes push nothing");
    let customer = h.fake.add_customer(CORP, CustomerSetup::named("李四")).unwrap();
    let scanned = h.fake.scan_contact_way(CORP, config_id, &customer).await.unwrap();
    assert_eq!(scanned.userid, "lisi");
    assert_eq!((scanned.delivery.attempts, scanned.delivery.delivered), (1, true));
    let events = inbox.events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    let xml = &events[0];
    assert!(xml.starts_with(&format!("<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]>")));
    assert!(xml.contains("<Event><![CDATA[change_external_contact]]></Event>"));
    assert!(xml.contains("<ChangeType><![CDATA[add_external_contact]]></ChangeType><UserID><![CDATA[lisi]]></UserID>"));
    assert!(
        xml.contains(&format!(
            "<ExternalUserID><![CDATA[{customer}]]></ExternalUserID><State><![CDATA[qr-42]]></State>"
        ))
    );
    let code = scanned.welcome_code.unwrap();
    assert!(xml.contains(&format!("<WelcomeCode><![CDATA[{code}]]></WelcomeCode>")));
    let got = h.get("externalcontact/get", &[("external_userid", &customer)]).await;
    assert_eq!(got["follow_user"][0]["state"], "qr-42");
    assert_eq!(got["follow_user"][0]["add_way"], 1);
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_a_third_attempt() {
    let h = Harness::start(FakeConfig::default()).await;
    let inbox = receiver(&h, 2, Duration::ZERO).await;
    let (_, _) = h.befriend("李四", "zhangsan").await;
    let record = h.fake.pushes().pop().unwrap();
    assert_eq!((record.attempts, record.delivered), (3, true));
    assert_eq!(inbox.hits.load(Ordering::SeqCst), 3);
    assert_eq!(inbox.events.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_gets_three_attempts_in_all() {
    let h = Harness::start(FakeConfig::default()).await;
    let inbox = receiver(&h, 10, Duration::ZERO).await;
    let delivery = h.fake.staff_leaves(CORP, "lisi").await.unwrap();
    assert_eq!((delivery.attempts, delivery.delivered), (3, false));
    assert_eq!(inbox.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_retried() {
    let config = FakeConfig { push_timeout: Duration::from_millis(200), ..FakeConfig::default() };
    let h = Harness::start(config).await;
    let inbox = receiver(&h, 0, Duration::from_millis(1000)).await;
    let delivery = h.fake.push_raw(CORP, "<xml><Event>ping</Event></xml>").await.unwrap();
    assert_eq!((delivery.attempts, delivery.delivered), (2, true));
    assert_eq!(inbox.events.lock().unwrap().clone(), vec!["<xml><Event>ping</Event></xml>".to_owned()]);
}

#[tokio::test]
async fn the_url_check_sends_an_encrypted_echostr() {
    let h = Harness::start(FakeConfig::default()).await;
    assert!(h.fake.verify_callback_url(CORP).await.is_err(), "no callback url yet");
    receiver(&h, 0, Duration::ZERO).await;
    let echoed = h.fake.verify_callback_url(CORP).await.unwrap();
    assert!(echoed.chars().all(|c| c.is_ascii_digit()) && echoed.len() >= 19);
}

#[tokio::test]
async fn a_join_way_scan_fills_the_first_group_below_the_cap() {
    let h = Harness::start(FakeConfig { join_scan_cap: 4, ..FakeConfig::default() }).await;
    let inbox = receiver(&h, 0, Duration::ZERO).await;
    let a = h.fake.add_customer(CORP, CustomerSetup::named("甲")).unwrap();
    let group = h.fake.create_group(CORP, "zhangsan", "会员群", &["lisi", &a]).await.unwrap();
    let too_many: Vec<String> = (0..6).map(|_| group.chat_id.clone()).collect();
    let refused = h.post("externalcontact/groupchat/add_join_way", json!({"scene": 2, "chat_id_list": too_many})).await;
    assert_eq!(errcode(&refused), 40058);
    let way = h
        .post(
            "externalcontact/groupchat/add_join_way",
            json!({"scene": 2, "chat_id_list": [group.chat_id], "state": "grp-1", "room_base_name": "会员群"}),
        )
        .await;
    let config_id = way["config_id"].as_str().unwrap();
    let before = h.post("externalcontact/groupchat/get", json!({"chat_id": group.chat_id})).await;
    let version = before["group_chat"]["member_version"].as_str().unwrap().to_owned();
    let b = h.fake.add_customer(CORP, CustomerSetup::named("乙")).unwrap();
    let joined = h.fake.scan_join_way(CORP, config_id, &b).await.unwrap();
    assert_eq!(joined.chat_id, group.chat_id, "3 members are below the cap of 4");
    assert!(!joined.created);
    let events = inbox.events.lock().unwrap().clone();
    let last = events.last().unwrap();
    assert!(last.contains("<UpdateDetail><![CDATA[add_member]]></UpdateDetail>"));
    assert!(last.contains("<JoinScene>3</JoinScene>"));
    assert!(last.contains(&format!("<LastMemVer><![CDATA[{version}]]></LastMemVer>")));
    let after = h.post("externalcontact/groupchat/get", json!({"chat_id": group.chat_id, "need_name": 1})).await;
    let members = after["group_chat"]["member_list"].as_array().unwrap();
    let newest = members.last().unwrap();
    assert_eq!((newest["userid"].as_str(), newest["join_scene"].as_i64()), (Some(b.as_str()), Some(3)));
    assert_eq!((newest["state"].as_str(), newest["name"].as_str()), (Some("grp-1"), Some("乙")));
    assert!(last.contains(&format!(
        "<CurMemVer><![CDATA[{}]]></CurMemVer>",
        after["group_chat"]["member_version"].as_str().unwrap()
    )));
    let c = h.fake.add_customer(CORP, CustomerSetup::named("丙")).unwrap();
    let overflow = h.fake.scan_join_way(CORP, config_id, &c).await.unwrap();
    assert!(overflow.created);
    assert_ne!(overflow.chat_id, group.chat_id);
    assert_eq!(overflow.delivery.events, 2, "create, then add_member");
}

#[tokio::test]
async fn raw_and_archive_pushes_reach_the_receiver_in_order() {
    let h = Harness::start(FakeConfig::default()).await;
    let inbox = receiver(&h, 0, Duration::ZERO).await;
    let duplicate = "<xml><Event><![CDATA[change_external_contact]]></Event></xml>";
    h.fake.push_raw(CORP, duplicate).await.unwrap();
    h.fake.push_raw(CORP, duplicate).await.unwrap();
    let notify = h.fake.push_msgaudit_notify(CORP).await.unwrap();
    assert!(notify.delivered);
    let events = inbox.events.lock().unwrap().clone();
    assert_eq!(events[..2], [duplicate.to_owned(), duplicate.to_owned()]);
    assert!(events[2].contains("<Event><![CDATA[msgaudit_notify]]></Event><AgentID>1000002</AgentID>"));
}
