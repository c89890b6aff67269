//! Journeys over the API: a graph with problems is refused with each problem on its node, a good one is
//! published, a customer enrolled by hand gets the sandbox message once the worker runs, and a staff
//! member may read but not publish or enrol.

use serde_json::json;
use siyu_domain::access::{DataScope, Role};

use std::sync::Arc;

use siyu_app::clock::ManualClock;

use crate::helpers::{daytime, fresh_db, spawn_with_clock};

#[tokio::test]
async fn a_journey_is_published_over_the_api_and_an_enrolled_customer_gets_the_sandbox_message_once() {
    // Daytime in the tenant's zone, whenever the suite runs: quiet hours (22:00–08:00) would hold the send.
    let t = spawn_with_clock(Arc::new(fresh_db().await), Arc::new(ManualClock::new(daytime()))).await;
    let f = t.tenant("花漾美妆").await;
    let (s, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "王芳"}))).await;
    assert_eq!(s, 201, "{c}");
    let customer = c["id"].as_str().unwrap().to_string();

    let bad = json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "{{ name"}
    ]});
    let (s, e) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "坏", "graph": bad}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["code"], "invalid_definition");
    assert_eq!(e["errors"][0]["path"], "/nodes/1", "{e}");
    assert_eq!(e["errors"][0]["code"], "template_error");

    let good = json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "{{ name }}，欢迎！"}
    ]});
    let (s, j) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "欢迎", "graph": good}))).await;
    assert_eq!(s, 201, "{j}");
    assert_eq!((j["status"].as_str(), j["live_version"].as_i64()), (Some("live"), Some(1)));
    let enrol = format!("/api/v1/journeys/{}/enrol", j["id"].as_str().unwrap());
    let (s, r) = t.api("POST", &enrol, &f.token, Some(json!({"customer_id": customer}))).await;
    assert_eq!((s, r["entry"].as_i64()), (200, Some(1)));
    let (_, again) = t.api("POST", &enrol, &f.token, Some(json!({"customer_id": customer}))).await;
    assert!(again["entry"].is_null(), "one live run per customer");
    t.app.run_due_work().await.unwrap();
    t.app.run_due_work().await.unwrap();
    let (s, msgs) = t.api("GET", &format!("/api/v1/customers/{customer}/sandbox"), &f.token, None).await;
    assert_eq!(s, 200);
    assert_eq!(msgs.as_array().unwrap().len(), 1, "{msgs}");
    assert_eq!(msgs[0]["body"], "王芳，欢迎！");

    // The customer page shows it as a chat.
    let console = t.console(&f.owner.username).await;
    let page =
        console.get(t.url(&format!("/console/customers/{customer}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"sandbox\"") && page.contains("王芳，欢迎！"), "the sandbox card shows the message");

    let (_, staff_token, _) = t.member(&f, Role::Staff, DataScope::All).await;
    let (s, list) = t.api("GET", "/api/v1/journeys", &staff_token, None).await;
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(1)));
    let (s, _) = t.api("POST", "/api/v1/journeys", &staff_token, Some(json!({"name": "x", "graph": good}))).await;
    assert_eq!(s, 403);
    let (s, _) = t.api("POST", &enrol, &staff_token, Some(json!({"customer_id": customer}))).await;
    assert_eq!(s, 403);
}
