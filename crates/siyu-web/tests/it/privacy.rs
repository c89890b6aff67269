//! PIPL privacy through the API: consents with their history, the access export, erasure (checked against
//! the raw database bytes) and data scopes. The console card is in `privacy/console.rs`.

mod console;

use serde_json::{Value, json};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::event::MessageType;
use siyu_domain::id::{CustomerId, EventId};
use siyu_domain::page::PageRequest;
use siyu_domain::privacy::anonymised_event;

use crate::helpers::{Fixture, TestApp, spawn_app};

const NAME: &str = "周晓雯";
const PHONE: &str = "15867239041";
const OPENID: &str = "oZxw_9aB7cD3eF1gH5";
const USER_ID: &str = "u-zxw-1";

/// A customer with a phone, an openid, a JD buyer id (so the JD fixture's first order is hers), a user id, a
/// custom value, a tag and a note; then the JD orders imported and three events of hers linked to her.
pub async fn person(t: &TestApp, f: &Fixture) -> String {
    let (s, _) =
        t.api("POST", "/api/v1/fields", &f.token, Some(json!({"key": "skin", "label": "肤质", "kind": "text"}))).await;
    assert_eq!(s, 201);
    let (_, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "肤质", "tags": ["敏感肌"]}))).await;
    let body = json!({
        "name": NAME, "phone": PHONE, "remark": "喜欢玫瑰香型", "custom": {"skin": "干皮敏感"},
        "tags": [g["tags"][0]["id"]],
        "identities": [
            {"kind": "openid", "namespace": "wx5f1c", "value": OPENID},
            {"kind": "platform_buyer", "namespace": "jd", "value": "jd_user_abc"},
            {"kind": "user_id", "value": USER_ID}
        ]
    });
    let (s, c) = t.api("POST", "/api/v1/customers", &f.token, Some(body)).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let (s, _) = t
        .api("POST", &format!("/api/v1/customers/{id}/notes"), &f.token, Some(json!({"body": "周女士下周复购"})))
        .await;
    assert_eq!(s, 201);
    crate::orders::import_jd(&t.app, &t.owner_actor(f).await, false).await;
    let (_, source) = t.api("POST", "/api/v1/sources", &f.token, Some(json!({"name": "小程序", "kind": "web"}))).await;
    let key = source["write_key"].as_str().unwrap();
    let batch = json!({"batch": [
        {"type": "identify", "userId": USER_ID, "traits": {"name": NAME, "phone": PHONE, "email": "zxw@example.com"}},
        {"type": "track", "userId": USER_ID, "event": "Order Completed", "properties": {"order_id": "290001234567", "city": "杭州西溪"}},
        {"type": "page", "userId": USER_ID, "name": "商品详情", "properties": {"url": "https://shop.example.com/p/1"}}
    ]});
    let res = reqwest::Client::new().post(t.url("/v1/batch")).basic_auth(key, Some("")).json(&batch).send().await;
    assert_eq!(res.unwrap().status().as_u16(), 200);
    let events: Vec<EventId> =
        t.app.store.events().latest(f.tenant.id, None, 10).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(events.len(), 3);
    let customer: CustomerId = id.parse().unwrap();
    t.app.store.events().assign_customer(f.tenant.id, &events, customer).await.unwrap();
    id
}

/// Every byte the database holds (files on SQLite, every row as text on PostgreSQL).
pub async fn raw_database(t: &TestApp) -> String {
    let raw: Vec<u8> = match t.app.store.raw_dump().await.unwrap() {
        Some(text) => text.into_bytes(),
        None => {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(t.db.dir.as_ref().unwrap().path()).unwrap() {
                bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            bytes
        }
    };
    String::from_utf8_lossy(&raw).into_owned()
}

fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|v| v[key] == value).unwrap_or_else(|| panic!("no {key}={value} in {list}"))
}

#[tokio::test]
async fn a_consent_change_is_kept_with_its_history_on_the_timeline_and_in_the_audit_log() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "李娜"}))).await;
    let id = c["id"].as_str().unwrap();
    let (s, view) = t.api("GET", &format!("/api/v1/customers/{id}/consents"), &f.token, None).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["consents"].as_array().unwrap().len(), 2);
    assert!(view["consents"].as_array().unwrap().iter().all(|c| c["status"] == "unknown"));

    let path = format!("/api/v1/customers/{id}/consents/marketing");
    let (s, consent) = t.api("PUT", &path, &f.token, Some(json!({"status": "granted", "source": "event"}))).await;
    assert_eq!(s, 200, "{consent}");
    assert_eq!((consent["status"].as_str(), consent["source"].as_str()), (Some("granted"), Some("event")));
    let (s, again) = t.api("PUT", &path, &f.token, Some(json!({"status": "granted"}))).await;
    assert_eq!((s, again["source"].as_str()), (200, Some("event")), "granting again keeps the first evidence");
    let (s, _) = t.api("PUT", &path, &f.token, Some(json!({"status": "withdrawn"}))).await;
    assert_eq!(s, 200);

    let (_, view) = t.api("GET", &format!("/api/v1/customers/{id}/consents"), &f.token, None).await;
    assert_eq!(find(&view["consents"], "purpose", "marketing")["status"], "withdrawn");
    assert_eq!(find(&view["consents"], "purpose", "ad_audience")["status"], "unknown");
    let history = view["history"].as_array().unwrap();
    let steps: Vec<(&str, &str, &str)> = history
        .iter()
        .map(|h| (h["from"].as_str().unwrap(), h["to"].as_str().unwrap(), h["source"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, vec![("granted", "withdrawn", "api"), ("unknown", "granted", "event")], "newest first");
    let (_, timeline) = t.api("GET", &format!("/api/v1/customers/{id}/timeline"), &f.token, None).await;
    let kinds: Vec<&str> = timeline["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "consent_changed").count(), 2);
    let (_, audit) = t.api("GET", &format!("/api/v1/audit?action=consent.change&object_id={id}"), &f.token, None).await;
    let entries = audit["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{audit}");
    assert_eq!(entries[0]["detail"]["to"], "withdrawn");

    let (s, e) = t
        .api("PUT", &format!("/api/v1/customers/{id}/consents/sms"), &f.token, Some(json!({"status": "granted"})))
        .await;
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")), "an unknown purpose is not found");
    let (s, e) = t.api("PUT", &path, &f.token, Some(json!({"status": "maybe"}))).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("malformed_request")));
}

#[tokio::test]
async fn a_staff_member_outside_their_scope_gets_404_from_the_privacy_routes() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "别人的客户"}))).await;
    let id = c["id"].as_str().unwrap();
    let (_, staff, _) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let (admin_actor, admin, _) = t.member(&f, Role::Admin, DataScope::SelfOnly).await;
    let (_, operator, _) = t.member(&f, Role::Operator, DataScope::SelfOnly).await;
    for (method, path, token, body) in [
        ("GET", format!("/api/v1/customers/{id}/consents"), &staff, None),
        ("PUT", format!("/api/v1/customers/{id}/consents/marketing"), &staff, Some(json!({"status": "granted"}))),
        ("GET", format!("/api/v1/customers/{id}/privacy-requests"), &staff, None),
        ("GET", format!("/api/v1/customers/{id}/export"), &operator, None),
    ] {
        let (s, body) = t.api(method, &path, token, body).await;
        assert_eq!((s, body["code"].as_str()), (404, Some("not_found")), "{method} {path}");
    }
    // Staff may neither export nor erase anyone; an admin limited to their own customers erases none of others'.
    let (s, _) = t.api("GET", &format!("/api/v1/customers/{id}/export"), &staff, None).await;
    assert_eq!(s, 403);
    let (s, _) = t.api("POST", &format!("/api/v1/customers/{id}/erasure"), &staff, None).await;
    assert_eq!(s, 403, "staff may not erase");
    let (s, _) = t.api("POST", &format!("/api/v1/customers/{id}/erasure"), &admin, None).await;
    assert_eq!(s, 403, "a write token may not erase: it needs the admin scope");
    let customer: CustomerId = id.parse().unwrap();
    let outside = t.app.erase_customer(&admin_actor, customer).await;
    assert!(matches!(outside, Err(siyu_app::AppError::NotFound)), "{outside:?}");
    let (_, detail) = t.api("GET", &format!("/api/v1/customers/{id}"), &f.token, None).await;
    assert_eq!(detail["name"], "别人的客户");
}

#[tokio::test]
async fn the_access_export_holds_the_profile_identities_events_orders_and_audit_entries_of_the_customer() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let id = person(&t, &f).await;
    let (s, doc) = t.api("GET", &format!("/api/v1/customers/{id}/export"), &f.token, None).await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!((doc["format"].as_str(), doc["pii_revealed"].as_bool()), (Some("siyu.personal_data/1"), Some(true)));
    assert_eq!(doc["customer"]["name"], NAME);
    assert_eq!(doc["customer"]["custom"]["skin"], "干皮敏感");
    assert_eq!(find(&doc["identities"], "kind", "phone")["value"], format!("+86{PHONE}"), "as stored: E.164");
    assert_eq!(find(&doc["identities"], "kind", "openid")["value"], OPENID);
    assert_eq!(doc["tags"][0]["name"], "敏感肌");
    assert_eq!(doc["tag_history"][0]["op"], "add");
    assert_eq!(doc["notes"][0]["body"], "周女士下周复购");
    assert_eq!(doc["consents"].as_array().unwrap().len(), 2);
    assert!(doc["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "customer_created"));
    let events = doc["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    let identify = events.iter().find(|e| e["message"]["type"] == "identify").unwrap();
    assert_eq!(identify["message"]["traits"]["phone"], PHONE, "sealed values are put back for a member who may reveal");
    assert!(identify["message"]["context"].get("siyu_sealed").is_none());
    let track = events.iter().find(|e| e["message"]["type"] == "track").unwrap();
    assert_eq!(track["message"]["properties"]["city"], "杭州西溪");
    let orders = doc["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    let order = &orders[0];
    assert_eq!(
        (order["order"]["platform_order_id"].as_str(), order["order"]["paid_fen"].as_i64()),
        (Some("290001234567"), Some(38700))
    );
    assert_eq!(order["receiver"]["name"], "张伟");
    assert_eq!(order["lines"].as_array().unwrap().len(), 2);
    assert!(!order["history"].as_array().unwrap().is_empty());
    assert!(doc["audit_log"].as_array().unwrap().iter().any(|e| e["action"] == "customer.export_personal_data"));
    assert_eq!(doc["privacy_requests"][0]["kind"], "access");

    // A member who may not reveal PII gets the same document with phones and receivers masked.
    let (_, operator, _) = t.member(&f, Role::Operator, DataScope::All).await;
    let (s, masked) = t.api("GET", &format!("/api/v1/customers/{id}/export"), &operator, None).await;
    assert_eq!((s, masked["pii_revealed"].as_bool()), (200, Some(false)));
    assert_eq!(find(&masked["identities"], "kind", "phone")["value"], "158****9041");
    let identify = masked["events"].as_array().unwrap().iter().find(|e| e["message"]["type"] == "identify").unwrap();
    assert_eq!(identify["message"]["traits"]["phone"], "158****9041");
    assert!(masked["orders"][0]["receiver"]["name"].is_null());
    let (_, audit) = t
        .api("GET", &format!("/api/v1/audit?action=customer.export_personal_data&object_id={id}"), &f.token, None)
        .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "each export is audited");
}

#[tokio::test]
async fn erasure_removes_the_name_phone_and_openid_from_the_raw_database_while_order_totals_still_add_up() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let id = person(&t, &f).await;
    let owner = t.owner_actor(&f).await;
    let customer: CustomerId = id.parse().unwrap();
    let before = t.app.customer_order_totals(&owner, customer).await.unwrap();
    let all_orders = t.app.store.orders().count(f.tenant.id, None).await.unwrap();
    assert_eq!((before.orders, before.paid_fen), (1, 38700));

    let held = raw_database(&t).await;
    assert!(held.contains(NAME) && held.contains(OPENID) && held.contains(USER_ID), "the person is in the database");
    let (s, report) = t.api("POST", &format!("/api/v1/customers/{id}/erasure"), &f.token, None).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["already_erased"], false);
    let counts = &report["request"]["detail"]["counts"];
    assert_eq!(
        (counts["identities"].as_i64(), counts["events"].as_i64(), counts["orders"].as_i64()),
        (Some(4), Some(3), Some(1))
    );

    assert_eq!(t.app.customer_order_totals(&owner, customer).await.unwrap(), before, "finance still adds up");
    assert_eq!(t.app.store.orders().count(f.tenant.id, None).await.unwrap(), all_orders);
    let (_, detail) = t.api("GET", &format!("/api/v1/customers/{id}"), &f.token, None).await;
    assert_eq!(detail["name"], "已注销用户");
    assert!(detail["identities"].as_array().unwrap().is_empty() && detail["custom"] == json!({}));
    let events = t.app.store.events().of_customer(f.tenant.id, customer, PageRequest::first(10)).await.unwrap();
    assert_eq!(events.len(), 3, "the events still count");
    let track = events.iter().find(|e| e.message.kind == MessageType::Track).unwrap();
    let mut expected = anonymised_event(MessageType::Track, Some("Order Completed"));
    expected.message_id = track.message.message_id.clone();
    assert_eq!(track.message, expected);

    let haystack = raw_database(&t).await;
    assert!(haystack.contains("已注销用户") && haystack.contains("Order Completed"), "the dump holds the data");
    for gone in [
        NAME,
        OPENID,
        USER_ID,
        "jd_user_abc",
        "喜欢玫瑰香型",
        "干皮敏感",
        "周女士下周复购",
        "杭州西溪",
        "zxw@example.com",
    ] {
        assert!(!haystack.contains(gone), "{gone} is still in the database");
    }
    for p in [PHONE, &PHONE[3..]] {
        let hex: String = p.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(!haystack.contains(p) && !haystack.contains(&hex), "{p} is still in the database");
    }
}

#[tokio::test]
async fn an_erased_customer_cannot_be_edited_and_erasing_again_changes_nothing() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (_, c) =
        t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "王芳", "phone": "13700001234"}))).await;
    let id = c["id"].as_str().unwrap();
    let (s, _) = t
        .api(
            "PUT",
            &format!("/api/v1/customers/{id}/consents/ad_audience"),
            &f.token,
            Some(json!({"status": "granted"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, first) = t.api("POST", &format!("/api/v1/customers/{id}/erasure"), &f.token, None).await;
    assert_eq!((s, first["request"]["detail"]["counts"]["consents_withdrawn"].as_i64()), (200, Some(1)));

    let (_, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "等级", "tags": ["VIP"]}))).await;
    for (method, path, body) in [
        ("PATCH", format!("/api/v1/customers/{id}"), json!({"name": "王芳"})),
        ("POST", format!("/api/v1/customers/{id}/tags"), json!({"add": [g["tags"][0]["id"]]})),
        ("POST", format!("/api/v1/customers/{id}/notes"), json!({"body": "回访"})),
        ("POST", format!("/api/v1/customers/{id}/identities"), json!({"kind": "phone", "value": "13700001234"})),
        ("PUT", format!("/api/v1/customers/{id}/consents/marketing"), json!({"status": "granted"})),
    ] {
        let (s, e) = t.api(method, &path, &f.token, Some(body)).await;
        assert_eq!((s, e["code"].as_str()), (409, Some("customer_erased")), "{method} {path}");
    }
    let (s, second) = t.api("POST", &format!("/api/v1/customers/{id}/erasure"), &f.token, None).await;
    assert_eq!((s, second["already_erased"].as_bool()), (200, Some(true)));
    assert_eq!(second["request"]["id"], first["request"]["id"], "nothing was left to erase: no new request");
    let (_, requests) = t.api("GET", &format!("/api/v1/customers/{id}/privacy-requests"), &f.token, None).await;
    assert_eq!(requests.as_array().unwrap().len(), 1);
    let (_, view) = t.api("GET", &format!("/api/v1/customers/{id}/consents"), &f.token, None).await;
    assert_eq!(find(&view["consents"], "purpose", "ad_audience")["status"], "withdrawn");
    assert!(view["erased_at"].is_string());
    let (_, audit) = t.api("GET", &format!("/api/v1/audit?action=customer.erase&object_id={id}"), &f.token, None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "both calls are audited");
    let (_, list) = t.api("GET", "/api/v1/customers", &f.token, None).await;
    assert_eq!(list["items"][0]["name"], "已注销用户", "the erased customer still counts");
}
