//! The journey editor's node settings: a send node's channel and cap policy ("超频时：跳过 / 顺延到次日") and
//! an event trigger's key property as form controls that round-trip into the stored graph, with problems
//! inline at their field; and test mode with keyed events (one run per order).

use serde_json::{Value, json};

use crate::helpers::{csrf, spawn_app};
use crate::journeys_console::{get, post};

/// The `<label>` holding the form control named `name`.
fn field<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("field {name} drawn: {html}"));
    let start = html[..at].rfind("<label").unwrap();
    &html[start..at + html[at..].find("</label>").unwrap()]
}

fn node<'a>(graph: &'a Value, id: &str) -> &'a Value {
    graph["nodes"].as_array().unwrap().iter().find(|n| n["id"] == id).unwrap()
}

const ORDER: &str = r#"{"nodes": [
  {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "order_created"}, "next": {"next": "s"}},
  {"id": "s", "type": "send", "channel": "sandbox", "template": "您的订单已收到", "next": {"next": "w"}},
  {"id": "w", "type": "wait", "wait": {"until": "event", "name": "paid", "timeout_minutes": 1440},
   "next": {"event": "x", "timeout": "nudge"}},
  {"id": "nudge", "type": "send", "channel": "sandbox", "template": "订单待付款"},
  {"id": "x", "type": "exit"}
], "reentry": {"policy": "after_exit"}}"#;

#[tokio::test]
async fn the_cap_policy_and_the_trigger_key_set_in_the_form_are_stored_and_shown_again() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let console = t.console(&f.owner.username).await;
    let (s, form) = get(&console, &t, "/console/journeys/new").await;
    assert_eq!(s, 200);
    assert!(field(&form, "on_cap.hello").contains("<option value=\"skip\" selected>跳过</option>"), "{form}");
    assert!(field(&form, "on_cap.hello").contains("顺延到次日") && form.contains("超频时"));
    assert!(
        form.contains("节点设置") && !form.contains("发送节点可设 &#34;on_cap&#34;"),
        "the hint no longer says JSON"
    );
    let token = csrf(&form);

    // The preview draws a field per send node and event trigger, from the JSON.
    let (_, _, html) = post(&console, &t, "/console/journeys/preview", &[("_csrf", &token), ("graph", ORDER)]).await;
    assert!(
        field(&html, "on_cap.s").contains("value=\"skip\" selected") && field(&html, "key.t").contains("value=\"\"")
    );
    assert!(html.contains("name=\"on_cap.nudge\""), "{html}");

    // The JSON says skip and no key; the fields say defer and order_id, and win.
    let form = [
        ("_csrf", token.as_str()),
        ("name", "订单提醒"),
        ("graph", ORDER),
        ("on_cap.s", "defer"),
        ("on_cap.nudge", "skip"),
        ("key.t", " order_id "),
    ];
    let (s, location, html) = post(&console, &t, "/console/journeys", &form).await;
    assert_eq!(s, 303, "{html}");
    let id = location.trim_start_matches("/console/journeys/").split('?').next().unwrap().to_string();
    let (_, d) = t.api("GET", &format!("/api/v1/journeys/{id}"), &f.token, None).await;
    let g = &d["graph"];
    assert_eq!(node(g, "s")["on_cap"], "defer", "{g}");
    assert!(node(g, "nudge").get("on_cap").is_none(), "skip is the default and not written");
    assert_eq!(node(g, "t")["trigger"]["key"], "order_id");

    // The editor of the new version shows the stored values in its fields.
    let (s, edit) = get(&console, &t, &format!("/console/journeys/{id}/edit")).await;
    assert_eq!(s, 200);
    assert!(field(&edit, "on_cap.s").contains("<option value=\"defer\" selected>"), "{edit}");
    assert!(field(&edit, "on_cap.nudge").contains("<option value=\"skip\" selected>"));
    assert!(field(&edit, "key.t").contains("value=\"order_id\""));

    // Clearing the key and skipping on cap publishes version 2 without them.
    let token = csrf(&edit);
    let form = [("_csrf", token.as_str()), ("graph", ORDER), ("on_cap.s", "skip"), ("key.t", "")];
    let (s, _, _) = post(&console, &t, &format!("/console/journeys/{id}/versions"), &form).await;
    assert_eq!(s, 303);
    let (_, d) = t.api("GET", &format!("/api/v1/journeys/{id}"), &f.token, None).await;
    assert_eq!(d["version"], 2);
    assert!(node(&d["graph"], "s").get("on_cap").is_none() && node(&d["graph"], "t")["trigger"]["key"].is_null());
}

#[tokio::test]
async fn a_bad_cap_policy_or_key_is_shown_at_its_field_and_nothing_is_published() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let console = t.console(&f.owner.username).await;
    let (_, form) = get(&console, &t, "/console/journeys/new").await;
    let token = csrf(&form);
    let post_with = |cap: &'static str, key: String| {
        let token = token.clone();
        let console = console.clone();
        let t = &t;
        async move {
            let form =
                [("_csrf", token.as_str()), ("name", "坏"), ("graph", ORDER), ("on_cap.s", cap), ("key.t", &key)];
            post(&console, t, "/console/journeys", &form).await
        }
    };
    let (s, _, html) = post_with("sometimes", "order id".into()).await;
    assert_eq!(s, 400);
    assert!(field(&html, "on_cap.s").contains("class=\"field-error\"") && html.contains("超频策略只能是"), "{html}");
    assert!(field(&html, "key.t").contains("键属性名无效"), "{html}");
    // Too long for a key: the publish check's problem lands on the field too.
    let (s, _, html) = post_with("defer", "k".repeat(65)).await;
    assert_eq!(s, 400);
    assert!(field(&html, "key.t").contains("键属性名无效") && field(&html, "key.t").contains(" invalid"), "{html}");
    assert!(field(&html, "on_cap.s").contains("value=\"defer\" selected"), "what was chosen is kept");
    let (_, list) = t.api("GET", "/api/v1/journeys", &f.token, None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}

#[tokio::test]
async fn test_mode_runs_each_order_on_its_own_and_a_payment_wakes_only_its_order() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let mut graph: Value = serde_json::from_str(ORDER).unwrap();
    graph["nodes"][0]["trigger"]["key"] = json!("order_id");
    let (s, j) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "订单", "graph": graph}))).await;
    assert_eq!(s, 201, "{j}");
    let id = j["id"].as_str().unwrap();
    let console = t.console(&f.owner.username).await;
    let (s, page) = get(&console, &t, &format!("/console/journeys/{id}/test")).await;
    assert_eq!(s, 200);
    assert!(page.contains("name=\"entry_key\"") && page.contains("进入时的键值（order_id）"), "{page}");

    // Order A enters at 12:00; order B is created at 12:10 and paid at 13:00.
    let events = "2026-12-07 12:10 order_created B\n2026-12-07 13:00 paid B";
    let url = format!("/console/journeys/{id}/test?run=1&start=2026-12-07T12:00&entry_key=A&events={}", enc(events));
    let (s, page) = get(&console, &t, &url).await;
    assert_eq!(s, 200);
    assert!(page.contains("data-run=\"#1 · A\"") && page.contains("data-run=\"#2 · B\""), "{page}");
    let paid: Vec<&str> = page.split("<tr data-step").skip(1).filter(|r| r.contains("2026-12-07 13:00")).collect();
    assert_eq!(paid.len(), 1, "only B's run answers B's payment: {paid:?}");
    assert!(paid[0].contains("#2 · B") && paid[0].contains("事件 paid ✓"));
    let nudged: Vec<&str> = page.split("<tr data-step").skip(1).filter(|r| r.contains("订单待付款")).collect();
    assert!(nudged.len() == 1 && nudged[0].contains("#1 · A"), "A times out: {nudged:?}");

    // Over the API the same: steps carry their run and key.
    let body = json!({"start": "2026-12-07T04:00:00Z", "entry_key": "A", "events": [
        {"at": "2026-12-07T04:10:00Z", "name": "order_created", "key": "B"},
        {"at": "2026-12-07T05:00:00Z", "name": "paid", "key": "B"}
    ]});
    let (s, sim) = t.api("POST", &format!("/api/v1/journeys/{id}/simulate"), &f.token, Some(body)).await;
    assert_eq!((s, sim["keyed_by"].as_str()), (200, Some("order_id")), "{sim}");
    let steps = sim["steps"].as_array().unwrap();
    let at_paid: Vec<&Value> = steps.iter().filter(|s| s["at"] == "2026-12-07T05:00:00Z").collect();
    assert_eq!(at_paid.len(), 1);
    assert_eq!((at_paid[0]["entry_seq"].as_i64(), at_paid[0]["entry_key"].as_str()), (Some(2), Some("B")));

    // A keyed journey starts no run without a key value: a test naming none enters with `TEST` (never a
    // keyless run the engine would not start), and an event of another order does not wake it.
    let body = json!({"start": "2026-12-07T04:00:00Z", "events": [
        {"at": "2026-12-07T05:00:00Z", "name": "paid", "key": "B"}
    ]});
    let (s, sim) = t.api("POST", &format!("/api/v1/journeys/{id}/simulate"), &f.token, Some(body)).await;
    assert_eq!(s, 200, "{sim}");
    let first = &sim["steps"][0];
    assert_eq!((first["entry_seq"].as_i64(), first["entry_key"].as_str()), (Some(1), Some("TEST")), "{sim}");
    let at_b: Vec<&Value> =
        sim["steps"].as_array().unwrap().iter().filter(|s| s["at"] == "2026-12-07T05:00:00Z").collect();
    assert!(
        at_b.iter().all(|s| s["wake"]["matched"] == false && s["status"] == "waiting_event"),
        "B's payment does not wake the TEST run: {sim}"
    );
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            b' ' => "+".into(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_send_nodes_channel_is_chosen_in_the_form_and_wecom_is_refused_at_its_field_until_a_corp_is_connected() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let console = t.console(&f.owner.username).await;
    let (_, form) = get(&console, &t, "/console/journeys/new").await;
    let channel = field(&form, "channel.hello");
    assert!(
        channel.contains("<option value=\"sandbox\" selected>沙盒") && channel.contains("企业微信 1 对 1"),
        "{channel}"
    );
    let token = csrf(&form);
    let post_with = |channel: &'static str| {
        let form =
            [("_csrf", token.clone()), ("name", "渠道".into()), ("graph", ORDER.into()), ("channel.s", channel.into())];
        let (console, t) = (console.clone(), &t);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(&console, t, "/console/journeys", &form).await
        }
    };
    // No WeCom corp yet: the choice is refused at its field, and kept.
    let (s, _, html) = post_with("wecom").await;
    assert_eq!(s, 400);
    let at = field(&html, "channel.s");
    assert!(at.contains("尚未连接企业微信") && at.contains("<option value=\"wecom\" selected>"), "{html}");
    // A channel siyu does not have is refused too.
    let (s, _, html) = post_with("sms").await;
    assert_eq!(s, 400);
    assert!(field(&html, "channel.s").contains("未知的发送渠道"), "{html}");
    let (_, list) = t.api("GET", "/api/v1/journeys", &f.token, None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    // The sandbox, chosen in the form, is stored.
    let (s, location, html) = post_with("sandbox").await;
    assert_eq!(s, 303, "{html}");
    let id = location.trim_start_matches("/console/journeys/").split('?').next().unwrap().to_string();
    let (_, d) = t.api("GET", &format!("/api/v1/journeys/{id}"), &f.token, None).await;
    assert_eq!(node(&d["graph"], "s")["channel"], "sandbox");
}
