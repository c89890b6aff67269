//! Journeys in the console and the API: the list with its templates, the JSON editor whose preview and
//! publish show each problem on its (highlighted) node, a journey's canvas with live counts and the uplift
//! panel, test mode with local times; over the API the detail with metrics, test mode and templates.

use serde_json::json;
use siyu_domain::access::{DataScope, Role};

use std::sync::Arc;

use siyu_app::clock::ManualClock;

use crate::helpers::{TestApp, csrf, daytime, fresh_db, spawn_app, spawn_with_clock};

pub(crate) async fn get(c: &reqwest::Client, t: &TestApp, path: &str) -> (u16, String) {
    let res = c.get(t.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

pub(crate) async fn post(c: &reqwest::Client, t: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let res = c.post(t.url(path)).form(form).send().await.unwrap();
    let status = res.status().as_u16();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string()).unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

/// The SVG group of one node on a canvas.
fn node<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("data-node=\"{id}\"")).unwrap_or_else(|| panic!("node {id} drawn"));
    let head = html[..start].rfind("<g ").unwrap();
    &html[head..start + html[start..].find("</g>").unwrap()]
}

const BAD: &str = r#"{"nodes": [
  {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
  {"id": "s", "type": "send", "channel": "sandbox", "template": "{{ name"},
  {"id": "lost", "type": "exit"}
]}"#;

const GOOD: &str = r#"{"nodes": [
  {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}, "x": 40, "y": 20},
  {"id": "s", "type": "send", "channel": "sandbox", "template": "{{ name }}，欢迎", "next": {"next": "w"}, "x": 40, "y": 140},
  {"id": "w", "type": "wait", "wait": {"until": "event", "name": "reply", "timeout_minutes": 1440},
   "next": {"event": "x", "timeout": "x"}, "x": 40, "y": 260},
  {"id": "x", "type": "exit", "x": 40, "y": 380}
], "goal": {"event": "order_paid", "within_days": 7}}"#;

#[tokio::test]
async fn a_journey_is_published_from_the_editor_with_problems_on_their_nodes_and_shows_live_counts() {
    // Daytime in the tenant's zone, whenever the suite runs: quiet hours (22:00–08:00) would hold the sends.
    let t = spawn_with_clock(Arc::new(fresh_db().await), Arc::new(ManualClock::new(daytime()))).await;
    let f = t.tenant("花漾美妆").await;
    let console = t.console(&f.owner.username).await;
    let (s, list) = get(&console, &t, "/console/journeys").await;
    assert_eq!(s, 200);
    assert!(list.contains("href=\"/console/journeys\" class=\"active\""), "the nav link is live");
    assert!(list.contains("新客 7 天培育") && list.contains("/console/journeys/new?template=silent_activation"));

    // A template opens in the editor with its canvas, checked.
    let (s, form) = get(&console, &t, "/console/journeys/new?template=live_stream").await;
    assert_eq!(s, 200);
    assert!(form.contains("直播前中后") && form.contains("data-node=\"remind\"") && form.contains("data-ok=\"1\""));
    assert!(form.contains("/static/journey_canvas.js"));
    let token = csrf(&form);
    let (_, _, html) = post(&console, &t, "/console/journeys/preview", &[("_csrf", &token), ("graph", "{nodes")]).await;
    assert!(html.contains("data-code=\"bad_json\""), "{html}");
    let (_, _, html) = post(&console, &t, "/console/journeys/preview", &[("_csrf", &token), ("graph", BAD)]).await;
    assert!(node(&html, "lost").contains("has-problem") && node(&html, "s").contains("has-problem"));
    assert!(!node(&html, "t").contains("has-problem"));

    // Publishing a graph with problems keeps it and highlights each problem's node.
    let (s, _, html) =
        post(&console, &t, "/console/journeys", &[("_csrf", &token), ("name", "坏旅程"), ("graph", BAD)]).await;
    assert_eq!(s, 400);
    assert!(html.contains("没有任何触发能到达该节点") && html.contains("消息模板有错误"), "{html}");
    assert!(node(&html, "lost").contains("⚠") && html.contains("data-problem-node=\"lost\""));
    assert!(html.contains("value=\"坏旅程\"") && html.contains("&#34;lost&#34;"), "what was typed is kept");

    let (s, location, _) =
        post(&console, &t, "/console/journeys", &[("_csrf", &token), ("name", "欢迎旅程"), ("graph", GOOD)]).await;
    assert_eq!(s, 303);
    assert!(location.ends_with("?done=published"), "{location}");
    let id = location.trim_start_matches("/console/journeys/").split('?').next().unwrap().to_string();

    // Two customers enter; the canvas counts them on every node.
    for name in ["王芳", "李雷"] {
        let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": name}))).await;
        let body = json!({"customer_id": c["id"]});
        let (s, _) = t.api("POST", &format!("/api/v1/journeys/{id}/enrol"), &f.token, Some(body)).await;
        assert_eq!(s, 200);
    }
    t.app.run_due_work().await.unwrap();
    t.app.run_due_work().await.unwrap();
    let (s, page) = get(&console, &t, &location).await;
    assert_eq!(s, 200);
    assert!(page.contains("已发布") && page.contains("id=\"entries\">2<"));
    let send = node(&page, "s");
    assert!(send.contains("进入 <tspan class=\"count\" data-count=\"进入\">2</tspan>"), "{send}");
    assert!(send.contains("已发送 <tspan class=\"count \">2</tspan>"), "{send}");
    assert!(node(&page, "w").contains("停留 <tspan class=\"count\" data-count=\"停留\">2</tspan>"));
    assert!(page.contains("收到事件 / 超时"), "both ports of the wait lead to x on one edge");
    assert!(page.contains("目标：进入后 7 天内下单付款") && page.contains("id=\"uplift-value\">—<"));
    let (s, list) = get(&console, &t, "/console/journeys").await;
    assert_eq!(s, 200);
    assert!(list.contains("欢迎旅程") && list.contains("data-entries=\"2\""));
    let (s, _) = get(&console, &t, "/console/journeys/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(s, 404);

    // A staff member reads the journeys but does not get the editor.
    let (_, _, staff) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let staff = t.console(&staff).await;
    let (s, list) = get(&staff, &t, "/console/journeys").await;
    assert!(s == 200 && !list.contains("href=\"/console/journeys/new\""));
    assert_eq!(get(&staff, &t, "/console/journeys/new").await.0, 403);
}

#[tokio::test]
async fn test_mode_lists_each_step_with_its_local_time_and_the_rendered_message() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (_, j) = t
        .api(
            "POST",
            "/api/v1/journeys",
            &f.token,
            Some(json!({"name": "欢迎", "graph":
        serde_json::from_str::<serde_json::Value>(GOOD).unwrap()})),
        )
        .await;
    let id = j["id"].as_str().unwrap();
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "王芳"}))).await;
    let customer = c["id"].as_str().unwrap();
    let console = t.console(&f.owner.username).await;
    let (s, page) = get(&console, &t, &format!("/console/journeys/{id}/test")).await;
    assert_eq!(s, 200);
    assert!(page.contains("name=\"start\"") && page.contains("王芳") && !page.contains("data-step"));
    let run = format!("/console/journeys/{id}/test?run=1&customer={customer}&start=2026-12-07T12:00&events=");
    let (s, page) = get(&console, &t, &run).await;
    assert_eq!(s, 200);
    assert!(page.contains("data-step=\"1\"") && page.contains("2026-12-07 12:00"), "{page}");
    assert!(page.contains("王芳，欢迎") && page.contains("等待事件 reply，最晚 2026-12-08 12:00"));
    assert!(page.contains("2026-12-08 12:00") && page.contains("到达结束节点"), "the timeout path ends at x");
    // A reply at 12:30 local takes the event output.
    let (_, page) = get(&console, &t, &format!("{run}2026-12-07+12%3A30+reply")).await;
    assert!(page.contains("事件 reply ✓") && page.contains("2026-12-07 12:30"), "{page}");
    let (_, page) = get(&console, &t, &format!("{run}tomorrow+reply")).await;
    assert!(page.contains("无法识别的事件行"));
}

#[tokio::test]
async fn the_api_gives_a_journey_with_metrics_runs_test_mode_and_creates_from_templates() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (s, templates) = t.api("GET", "/api/v1/journey-templates", &f.token, None).await;
    assert_eq!(s, 200);
    let keys: Vec<&str> = templates.as_array().unwrap().iter().map(|t| t["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        ["new_customer_nurture", "not_purchased_followup", "silent_activation", "post_purchase_care", "live_stream"]
    );
    let (s, j) = t.api("POST", "/api/v1/journey-templates/post_purchase_care", &f.token, Some(json!({}))).await;
    assert_eq!((s, j["name"].as_str()), (201, Some("售后关怀与补货提醒")), "{j}");
    let (s, _) = t.api("POST", "/api/v1/journey-templates/nope", &f.token, Some(json!({}))).await;
    assert_eq!(s, 404);
    let id = j["id"].as_str().unwrap();

    let (s, d) = t.api("GET", &format!("/api/v1/journeys/{id}"), &f.token, None).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!((d["version"].as_i64(), d["status"].as_str()), (Some(1), Some("live")));
    let nodes = d["graph"]["nodes"].as_array().unwrap().len();
    assert_eq!(d["metrics"]["nodes"].as_array().unwrap().len(), nodes);
    assert_eq!(d["metrics"]["goal"]["event"], "order_paid");
    assert_eq!(d["metrics"]["entries"], 0);

    // Test mode: a paid order at 10:00 local on Dec 7; day 3 at 19:30 the guide, day 7 at 20:00 the check-in.
    let body = json!({"start": "2026-12-07T02:00:00Z", "branches": {"repeat": false}});
    let (s, sim) = t.api("POST", &format!("/api/v1/journeys/{id}/simulate"), &f.token, Some(body)).await;
    assert_eq!(s, 200, "{sim}");
    let local: Vec<&str> = sim["steps"].as_array().unwrap().iter().map(|s| s["local"].as_str().unwrap()).collect();
    assert_eq!(&local[..3], ["2026-12-07 10:00", "2026-12-10 19:30", "2026-12-14 20:00"]);
    assert_eq!(sim["steps"][1]["messages"][0].as_str().map(|m| m.contains("精华建议早晚")), Some(true));
    assert_eq!(sim["branches"]["repeat"], false);

    let (_, staff_token, _) = t.member(&f, Role::Staff, DataScope::All).await;
    let (s, _) = t.api("GET", &format!("/api/v1/journeys/{id}"), &staff_token, None).await;
    assert_eq!(s, 200);
    let (s, _) = t.api("POST", "/api/v1/journey-templates/live_stream", &staff_token, Some(json!({}))).await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn the_editor_explains_cap_policies_and_keys_and_the_canvas_marks_a_deferring_send_and_a_keyed_trigger() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let console = t.console(&f.owner.username).await;
    let (s, form) = get(&console, &t, "/console/journeys/new").await;
    assert_eq!(s, 200);
    assert!(form.contains("data-hint=\"send\"") && form.contains("&#34;on_cap&#34;: &#34;skip&#34;"), "{form}");
    let token = csrf(&form);
    let keyed = r#"{"nodes": [
      {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "checkout", "key": "order_id"}, "next": {"next": "s"}},
      {"id": "s", "type": "send", "channel": "sandbox", "template": "您好", "on_cap": "defer"}
    ]}"#;
    let (_, _, html) = post(&console, &t, "/console/journeys/preview", &[("_csrf", &token), ("graph", keyed)]).await;
    assert!(html.contains("data-ok=\"1\""), "{html}");
    assert!(node(&html, "t").contains("按 order_id 分别进入") && node(&html, "s").contains("超频顺延"), "{html}");
    let mixed = keyed.replace(
        r#"{"id": "s","#,
        r#"{"id": "t2", "type": "trigger", "trigger": {"on": "event", "name": "cart", "key": "cart_id"}, "next": {"next": "s"}},
      {"id": "s","#,
    );
    let (_, _, html) = post(&console, &t, "/console/journeys/preview", &[("_csrf", &token), ("graph", &mixed)]).await;
    assert!(node(&html, "t2").contains("has-problem") && html.contains("事件触发的键属性不一致"), "{html}");
}
