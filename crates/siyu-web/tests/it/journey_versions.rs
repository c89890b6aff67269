//! Editing a live journey in the console and over the API: a new version leaves waiting runs where they
//! are, the migration form previews where each old node's runs go (and which new steps they skip) before
//! moving them, and a journey can be paused and archived.

use serde_json::json;

use crate::helpers::{csrf, spawn_app};

const V2: &str = r#"{"nodes": [
  {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "hi"}},
  {"id": "hi", "type": "send", "channel": "sandbox", "template": "新版欢迎", "next": {"next": "w"}},
  {"id": "w", "type": "wait", "wait": {"until": "duration", "minutes": 60}, "next": {"next": "s"}},
  {"id": "s", "type": "send", "channel": "sandbox", "template": "新版跟进"}
]}"#;

#[tokio::test]
async fn a_new_version_is_published_from_the_console_and_waiting_runs_move_after_a_preview() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let v1 = json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "duration", "minutes": 1440}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "旧版"}
    ]});
    let (_, j) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "培育", "graph": v1}))).await;
    let id = j["id"].as_str().unwrap().to_string();
    for name in ["甲", "乙"] {
        let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": name}))).await;
        let path = format!("/api/v1/journeys/{id}/enrol");
        t.api("POST", &path, &f.token, Some(json!({"customer_id": c["id"]}))).await;
    }
    t.app.run_due_work().await.unwrap();

    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url(&format!("/console/journeys/{id}/edit"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("旧版"), "the editor starts from the live graph");
    let token = csrf(&page);
    let bad = r#"{"nodes": [{"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "gone"}}]}"#;
    let r = console
        .post(t.url(&format!("/console/journeys/{id}/versions")))
        .form(&[("_csrf", token.as_str()), ("graph", bad)]);
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), 400, "a bad graph is refused inline");
    let r = console
        .post(t.url(&format!("/console/journeys/{id}/versions")))
        .form(&[("_csrf", token.as_str()), ("graph", V2)]);
    let r = r.send().await.unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, format!("/console/journeys/{id}/migrate?from=1"));
    let page = console.get(t.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("v1 → v2") && page.contains("name=\"to.w\""), "on to the migration form: {page}");

    let preview = [("_csrf", token.as_str()), ("from", "1"), ("to.w", "w"), ("preview", "1")];
    let page = console.post(t.url(&format!("/console/journeys/{id}/migrate"))).form(&preview).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("<code>hi</code>"), "the preview names the new step the runs skip");
    let (_, runs) = t.api("GET", &format!("/api/v1/journeys/{id}"), &f.token, None).await;
    assert!(runs.to_string().contains("\"live\""), "{runs}");

    let apply = [("_csrf", token.as_str()), ("from", "1"), ("to.w", "w"), ("apply", "1")];
    let r = console.post(t.url(&format!("/console/journeys/{id}/migrate"))).form(&apply).send().await.unwrap();
    assert!(r.headers()["location"].to_str().unwrap().contains("done=migrated"));
    let (s, plan) = t
        .api(
            "POST",
            &format!("/api/v1/journeys/{id}/migrations"),
            &f.token,
            Some(json!({"from_version": 1, "dry_run": true})),
        )
        .await;
    assert_eq!(s, 200);
    assert!(plan["moves"].as_array().unwrap().is_empty(), "nobody left on v1: {plan}");

    let r = console
        .post(t.url(&format!("/console/journeys/{id}/status")))
        .form(&[("_csrf", token.as_str()), ("status", "paused")])
        .send()
        .await
        .unwrap();
    assert!(r.headers()["location"].to_str().unwrap().contains("done=paused"));
    let (_, list) = t.api("GET", "/api/v1/journeys", &f.token, None).await;
    assert_eq!(list[0]["status"], "paused");
    let (s, done) =
        t.api("POST", &format!("/api/v1/journeys/{id}/status"), &f.token, Some(json!({"status": "archived"}))).await;
    assert_eq!((s, done["ended_runs"].as_u64()), (200, Some(2)), "{done}");
}
