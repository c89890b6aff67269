//! The Segment-compatible `/v1/*` endpoints, driven with the payloads official clients send.

use std::io::Write;
use std::sync::Arc;

use serde_json::{Value, json};
use siyu_app::actor::Via;
use siyu_app::clock::SystemClock;
use siyu_app::{Actor, App};
use siyu_domain::source::SourceKind;
use siyu_domain::tenancy::Tenant;

use crate::helpers::{Fixture, TestApp, fresh_db, spawn_app, spawn_with, test_settings};

async fn owner(app: &App, f: &Fixture) -> Actor {
    let member = app.store.members().get(f.tenant.id, f.owner.id).await.unwrap();
    Actor::for_member(&app.store, &member, Via::Session).await.unwrap()
}

/// A tenant with a web source; returns the fixture and the write key.
async fn source(t: &TestApp) -> (Fixture, String) {
    let f = t.tenant("花漾美妆").await;
    let (_, key) = t.app.create_source(&owner(&t.app, &f).await, "官网", SourceKind::Web).await.unwrap();
    (f, key)
}

async fn post(t: &TestApp, path: &str, key: Option<&str>, body: Vec<u8>, gzip: bool) -> (u16, Value, Option<String>) {
    let mut req = reqwest::Client::new().post(t.url(path)).header("content-type", "application/json");
    if let Some(k) = key {
        req = req.basic_auth(k, Some(""));
    }
    let body = if gzip {
        req = req.header("content-encoding", "gzip");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&body).unwrap();
        enc.finish().unwrap()
    } else {
        body
    };
    let res = req.body(body).send().await.unwrap();
    let status = res.status().as_u16();
    let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), retry)
}

/// What analytics-python sends for `analytics.track(...)` and `analytics.identify(...)` in one flush.
fn python_batch(ids: &[&str]) -> Value {
    let items: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "type": "track", "event": "Product Viewed", "userId": "u-42", "messageId": id,
                "properties": {"sku": "SK-1", "price": 19900}, "timestamp": "2026-11-23T10:00:00.000+00:00",
                "context": {"library": {"name": "analytics-python", "version": "2.3.3"}},
                "integrations": {}, "_metadata": {"bundled": [], "unbundled": []}
            })
        })
        .collect();
    json!({"batch": items, "sentAt": "2026-11-23T10:00:05.000+00:00"})
}

async fn stored(t: &TestApp, tenant: &Tenant) -> Vec<siyu_store::events::StoredEvent> {
    t.app.store.events().latest(tenant.id, None, 200).await.unwrap()
}

#[tokio::test]
async fn a_batch_with_bad_items_keeps_the_good_ones_and_reports_each_bad_one() {
    let t = spawn_app().await;
    let (f, key) = source(&t).await;
    let mut batch = python_batch(&["m-1", "m-2"]);
    let items = batch["batch"].as_array_mut().unwrap();
    items.push(json!({"type": "track", "userId": "u-1"}));
    items.push(json!({"type": "identify", "traits": {"plan": "gold"}}));
    items.push(json!("not an object"));
    let (status, body, _) = post(&t, "/v1/batch", Some(&key), serde_json::to_vec(&batch).unwrap(), false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["success"].as_bool(), body["accepted"].as_u64()), (Some(true), Some(2)));
    let codes: Vec<&str> = body["rejected"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["missing_event", "missing_identity", "not_an_object"]);
    let events = stored(&t, &f.tenant).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].message.event.as_deref(), Some("Product Viewed"));
    let bad = t.app.store.events().latest_quarantined(f.tenant.id, None, 10).await.unwrap();
    assert_eq!(bad.len(), 3);
}

#[tokio::test]
async fn gzip_bodies_and_a_body_write_key_work_like_segment_s() {
    let t = spawn_app().await;
    let (f, key) = source(&t).await;
    let body = serde_json::to_vec(&python_batch(&["g-1"])).unwrap();
    assert_eq!(post(&t, "/v1/batch", Some(&key), body, true).await.0, 200);
    let single = json!({"writeKey": key, "userId": "u-7", "event": "Signed Up", "messageId": "g-2"});
    let (status, body, _) = post(&t, "/v1/track", None, serde_json::to_vec(&single).unwrap(), false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(stored(&t, &f.tenant).await.len(), 2);
    let (status, body, _) = post(&t, "/v1/batch", Some(&key), b"\x1f\x8bnot gzip".to_vec(), true).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_input")));
}

#[tokio::test]
async fn a_retried_batch_is_acknowledged_again_but_stored_once() {
    let t = spawn_app().await;
    let (f, key) = source(&t).await;
    let body = serde_json::to_vec(&python_batch(&["r-1", "r-2", "r-1"])).unwrap();
    let (_, first, _) = post(&t, "/v1/batch", Some(&key), body.clone(), false).await;
    assert_eq!((first["accepted"].as_u64(), first["duplicates"].as_u64()), (Some(2), Some(1)));
    let (status, again, _) = post(&t, "/v1/batch", Some(&key), body, false).await;
    assert_eq!((status, again["accepted"].as_u64(), again["duplicates"].as_u64()), (200, Some(0), Some(3)));
    assert_eq!(stored(&t, &f.tenant).await.len(), 2);
}

#[tokio::test]
async fn unknown_missing_and_foreign_write_keys_answer_401() {
    let t = spawn_app().await;
    let (f, key) = source(&t).await;
    let body = || serde_json::to_vec(&json!({"userId": "u", "event": "E"})).unwrap();
    assert_eq!(post(&t, "/v1/track", None, body(), false).await.0, 401);
    assert_eq!(post(&t, "/v1/track", Some("swk_nope"), body(), false).await.0, 401);
    let forged = format!("swk_{}_{}", uuid::Uuid::now_v7().simple(), key.rsplit('_').next().unwrap());
    assert_eq!(post(&t, "/v1/track", Some(&forged), body(), false).await.0, 401);
    assert!(stored(&t, &f.tenant).await.is_empty());
    assert_eq!(post(&t, "/v1/nonsense", Some(&key), body(), false).await.0, 404);
}

#[tokio::test]
async fn oversize_and_malformed_bodies_answer_400_with_stable_codes() {
    let t = spawn_app().await;
    let (_, key) = source(&t).await;
    let big = json!({"userId": "u", "event": "E", "properties": {"blob": "x".repeat(33 * 1024)}});
    let (status, body, _) = post(&t, "/v1/track", Some(&key), serde_json::to_vec(&big).unwrap(), false).await;
    assert_eq!((status, body["code"].as_str(), body["field"].as_str()), (400, Some("invalid_input"), Some("body")));
    let huge = serde_json::to_vec(&json!({"batch": [], "pad": "x".repeat(600 * 1024)})).unwrap();
    assert_eq!(post(&t, "/v1/batch", Some(&key), huge.clone(), false).await.0, 400);
    assert_eq!(post(&t, "/v1/batch", Some(&key), huge, true).await.0, 400, "the limit applies after gzip");
    let (status, body, _) = post(&t, "/v1/track", Some(&key), b"{\"userId\":".to_vec(), false).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_input")));
    assert!(body["message"].as_str().unwrap().contains("malformed_json"), "{body}");
}

#[tokio::test]
async fn phone_numbers_in_traits_are_stored_masked_and_sealed() {
    let t = spawn_app().await;
    let (f, key) = source(&t).await;
    let identify = json!({"userId": "u-9", "messageId": "p-1", "traits": {"name": "李雷", "phone": "13812345678"}});
    assert_eq!(post(&t, "/v1/identify", Some(&key), serde_json::to_vec(&identify).unwrap(), false).await.0, 200);
    let bad = json!({"batch": [{"type": "identify", "traits": {"phone": "13912345678"}}]});
    assert_eq!(post(&t, "/v1/batch", Some(&key), serde_json::to_vec(&bad).unwrap(), false).await.0, 200);
    let events = stored(&t, &f.tenant).await;
    assert_eq!(events[0].message.traits["phone"], "138****5678");
    let quarantined = t.app.store.events().latest_quarantined(f.tenant.id, None, 10).await.unwrap();
    let all = format!("{:?}{:?}", events, quarantined);
    assert!(!all.contains("13812345678") && !all.contains("13912345678"), "a phone number was stored in clear");
}

#[tokio::test]
async fn over_the_source_s_rate_the_answer_is_429_with_retry_after() {
    let mut settings = test_settings();
    settings.ingest.events_per_minute_per_source = 3;
    let t = spawn_with(Arc::new(fresh_db().await), Arc::new(SystemClock), settings).await;
    let (f, key) = source(&t).await;
    let (status, _, _) =
        post(&t, "/v1/batch", Some(&key), serde_json::to_vec(&python_batch(&["a", "b"])).unwrap(), false).await;
    assert_eq!(status, 200);
    // Four events are over the budget of three on their own, whichever minute window they land in.
    let (status, body, retry) =
        post(&t, "/v1/batch", Some(&key), serde_json::to_vec(&python_batch(&["c", "d", "e", "f"])).unwrap(), false)
            .await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(stored(&t, &f.tenant).await.len(), 2, "a refused request stores nothing");
}

#[tokio::test]
async fn concurrent_requests_share_group_commits_and_every_acknowledged_event_is_stored() {
    let t = Arc::new(spawn_app().await);
    let (f, key) = source(&t).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (t, key) = (t.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let body = serde_json::to_vec(&python_batch(&[&format!("c-{i}-a"), &format!("c-{i}-b")])).unwrap();
            post(&t, "/v1/batch", Some(&key), body, i % 2 == 0).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(t.app.store.events().count(f.tenant.id, None).await.unwrap(), 80);
}
