//! Event sources in the console and the Open API: write keys shown once, revocation, the live debugger, and
//! who may see them.

use serde_json::{Value, json};
use siyu_domain::access::{DataScope, Role};

use crate::helpers::{Fixture, TestApp, csrf, spawn_app};

/// Posts one message to `/v1/{endpoint}` with `key` as the HTTP Basic user name.
async fn send(t: &TestApp, endpoint: &str, key: &str, body: Value) -> u16 {
    let res = reqwest::Client::new()
        .post(t.url(&format!("/v1/{endpoint}")))
        .basic_auth(key, Some(""))
        .json(&body)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

/// A source created through the API: (id, write key).
async fn api_source(t: &TestApp, f: &Fixture, name: &str) -> (String, String) {
    let (s, body) = t.api("POST", "/api/v1/sources", &f.token, Some(json!({"name": name, "kind": "server"}))).await;
    assert_eq!(s, 201, "{body}");
    (body["id"].as_str().unwrap().to_string(), body["write_key"].as_str().unwrap().to_string())
}

async fn page(client: &reqwest::Client, t: &TestApp, path: &str) -> (u16, String) {
    let res = client.get(t.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The write key in the "created" card of the sources page, if the page shows one.
fn shown_key(html: &str) -> Option<String> {
    let marker = "id=\"new-secret\"><span>";
    let start = html.find(marker)? + marker.len();
    Some(html[start..].split('<').next()?.to_string())
}

#[tokio::test]
async fn creating_a_source_shows_its_write_key_once_and_only_its_prefix_afterwards() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let console = t.console(&f.owner.username).await;
    let (_, html) = page(&console, &t, "/console/sources").await;
    assert!(html.contains("value=\"mini_program\"") && html.contains("小程序"), "kinds are offered with labels");
    let res = console
        .post(t.url("/console/sources"))
        .form(&[("_csrf", csrf(&html).as_str()), ("name", "官网"), ("kind", "web")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (_, first) = page(&console, &t, "/console/sources").await;
    let key = shown_key(&first).expect("the new key is shown");
    assert!(key.starts_with("swk_"), "{key}");
    assert!(first.contains(&format!("{}/v1/track", t.base)), "a curl snippet posting to this server");
    assert!(first.contains("analytics-python") && first.contains("@segment/analytics-node"));
    assert_eq!(send(&t, "track", &key, json!({"userId": "u-1", "event": "Signed Up"})).await, 200);

    let (_, again) = page(&console, &t, "/console/sources").await;
    assert_eq!(shown_key(&again), None, "shown once");
    assert!(!again.contains(&key));
    let hint = format!("swk_…{}", &key[key.len() - 6..]);
    assert!(again.contains(&hint), "the list shows the key's last characters");
    assert!(again.contains("官网") && again.contains("网站"), "name and translated kind");
    let (_, list) = t.api("GET", "/api/v1/sources", &f.token, None).await;
    assert_eq!(list[0]["key_prefix"].as_str(), Some(hint.as_str()));
    assert!(list[0].get("write_key").is_none());

    // Invalid names come back inline; a rename keeps the key.
    let token = csrf(&again);
    let res =
        console.post(t.url("/console/sources")).form(&[("_csrf", token.as_str()), ("name", " "), ("kind", "web")]);
    let res = res.send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(res.text().await.unwrap().contains("class=\"field-error\""));
    let rename = t.url(&format!("/console/sources/{}/rename", list[0]["id"].as_str().unwrap()));
    let res = console.post(&rename).form(&[("_csrf", token.as_str()), ("name", "")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let res = console.post(&rename).form(&[("_csrf", token.as_str()), ("name", "品牌官网")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert!(page(&console, &t, "/console/sources").await.1.contains("品牌官网"));
    assert_eq!(send(&t, "track", &key, json!({"userId": "u-1", "event": "Renamed"})).await, 200);
}

#[tokio::test]
async fn the_api_creates_renames_and_revokes_a_source_and_returns_its_key_only_on_creation() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (id, key) = api_source(&t, &f, "订单系统").await;
    let path = format!("/api/v1/sources/{id}");
    let (s, got) = t.api("GET", &path, &f.token, None).await;
    assert_eq!((s, got["kind"].as_str(), got.get("write_key")), (200, Some("server"), None));
    let (s, renamed) = t.api("PATCH", &path, &f.token, Some(json!({"name": "  ERP  "}))).await;
    assert_eq!((s, renamed["name"].as_str()), (200, Some("ERP")));
    let (s, err) = t.api("PATCH", &path, &f.token, Some(json!({"name": " "}))).await;
    assert_eq!((s, err["field"].as_str()), (400, Some("name")));
    let (s, err) = t.api("POST", "/api/v1/sources", &f.token, Some(json!({"name": "x", "kind": "fax"}))).await;
    assert_eq!(s, 400, "{err}");
    assert_eq!(t.api("DELETE", &path, &f.token, None).await.0, 204);
    assert_eq!(send(&t, "track", &key, json!({"userId": "u-1", "event": "E"})).await, 401);
    let (_, got) = t.api("GET", &path, &f.token, None).await;
    assert!(got["revoked_at"].is_string());
    assert_eq!(t.api("GET", "/api/v1/sources/not-an-id", &f.token, None).await.0, 404);
}

#[tokio::test]
async fn a_revoked_sources_key_no_longer_authenticates_on_v1_track() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (id, key) = api_source(&t, &f, "小程序").await;
    let (other, other_key) = api_source(&t, &f, "官网").await;
    assert_eq!(send(&t, "track", &key, json!({"userId": "u-1", "event": "Viewed"})).await, 200);
    let console = t.console(&f.owner.username).await;
    let (_, html) = page(&console, &t, "/console/sources").await;
    assert!(html.contains(&format!("/console/sources/{id}/revoke")) && html.contains("confirm("));
    let res = console
        .post(t.url(&format!("/console/sources/{id}/revoke")))
        .form(&[("_csrf", csrf(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(send(&t, "track", &key, json!({"userId": "u-1", "event": "Viewed"})).await, 401);
    assert_eq!(send(&t, "track", &other_key, json!({"userId": "u-1", "event": "Viewed"})).await, 200);
    let (_, after) = page(&console, &t, "/console/sources").await;
    assert!(after.contains("已吊销"));
    assert!(!after.contains(&format!("/console/sources/{id}/revoke")));
    assert!(after.contains(&format!("/console/sources/{other}/revoke")));
    // Without the session's CSRF token nothing is revoked.
    let res = console.post(t.url(&format!("/console/sources/{other}/revoke"))).form(&[("_csrf", "x")]).send().await;
    assert_eq!(res.unwrap().status().as_u16(), 403);
    assert_eq!(send(&t, "track", &other_key, json!({"userId": "u-1", "event": "Viewed"})).await, 200);
}

#[tokio::test]
async fn the_debugger_page_lists_an_event_posted_with_the_key_and_a_quarantined_item_with_its_code() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (id, key) = api_source(&t, &f, "官网").await;
    let good = json!({"userId": "u-42", "event": "Order Completed", "messageId": "msg-debug-1", "properties": {"revenue": 99}});
    assert_eq!(send(&t, "track", &key, good).await, 200);
    assert_eq!(send(&t, "track", &key, json!({"anonymousId": "anon-7"})).await, 200, "quarantined, still 200");

    let console = t.console(&f.owner.username).await;
    let (s, html) = page(&console, &t, &format!("/console/sources/{id}/events")).await;
    assert_eq!(s, 200);
    for needle in ["Order Completed", "msg-debug-1", "u-42", "revenue", "data-code=\"missing_event\"", "anon-7"] {
        assert!(html.contains(needle), "the debugger shows {needle}");
    }
    assert!(html.contains("hx-trigger=\"every 2s") && html.contains("id=\"feed-pause\""), "it polls, and can pause");
    assert!(html.contains(&format!("hx-get=\"/console/sources/{id}/events\"")));

    // The poll gets only the fragment.
    let res = console.get(t.url(&format!("/console/sources/{id}/events"))).header("hx-request", "true").send().await;
    let fragment = res.unwrap().text().await.unwrap();
    assert!(fragment.starts_with("<div id=\"feed\"") && !fragment.contains("<html"), "{fragment}");
    assert!(fragment.contains("msg-debug-1") && fragment.contains("missing_event"));

    // The all-sources debugger names each row's source; the API feed returns the same.
    let (s, all) = page(&console, &t, "/console/events").await;
    assert!(s == 200 && all.contains("msg-debug-1") && all.contains("官网"));
    let (s, feed) = t.api("GET", &format!("/api/v1/sources/{id}/events?limit=10"), &f.token, None).await;
    assert_eq!(s, 200);
    assert_eq!(feed["events"][0]["message"]["messageId"].as_str(), Some("msg-debug-1"));
    assert_eq!(feed["quarantined"][0]["code"].as_str(), Some("missing_event"));
}

#[tokio::test]
async fn a_staff_member_without_tokens_manage_gets_403_or_404_on_the_sources_pages() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (id, _) = api_source(&t, &f, "官网").await;
    let (_, staff_token, username) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let console = t.console(&username).await;
    let (_, home) = page(&console, &t, "/console").await;
    assert!(!home.contains("href=\"/console/sources\""), "no navigation entry");
    for path in ["/console/sources".to_string(), format!("/console/sources/{id}/events"), "/console/events".into()] {
        let (s, _) = page(&console, &t, &path).await;
        assert!(s == 403 || s == 404, "GET {path} answered {s}");
    }
    let token = csrf(&home);
    for (path, form) in [
        ("/console/sources".to_string(), vec![("_csrf", token.as_str()), ("name", "x"), ("kind", "web")]),
        (format!("/console/sources/{id}/rename"), vec![("_csrf", token.as_str()), ("name", "x")]),
        (format!("/console/sources/{id}/revoke"), vec![("_csrf", token.as_str())]),
    ] {
        let s = console.post(t.url(&path)).form(&form).send().await.unwrap().status().as_u16();
        assert!(s == 403 || s == 404, "POST {path} answered {s}");
    }
    let (s, body) = t.api("GET", "/api/v1/sources", &staff_token, None).await;
    assert_eq!((s, body["code"].as_str()), (403, Some("forbidden")));
    let (s, _) = t.api("GET", &format!("/api/v1/sources/{id}/events"), &staff_token, None).await;
    assert!(s == 403 || s == 404);
    let (_, src) = t.api("GET", &format!("/api/v1/sources/{id}"), &f.token, None).await;
    assert_eq!((src["name"].as_str(), src["revoked_at"].is_null()), (Some("官网"), true), "untouched");
}
