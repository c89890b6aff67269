//! Journeys sending on the `wecom` channel against the fake WeCom: one 1:1 template per customer from the
//! staff member who owns them, never a second one for a retry, a re-run or a dispatcher that died during
//! the call, rate limits waited out, and WeCom's per-customer result back on the timeline.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};
use siyu_app::clock::ManualClock;
use siyu_domain::id::{CustomerId, TenantId};
use siyu_domain::page::PageRequest;
use siyu_wecom::api::{ChatType, MsgTemplate, Text};
use siyu_wecom::fake::{FakeConfig, FakeHandle};

use crate::helpers::{Fixture, TestApp, daytime, fresh_db, spawn_with, test_settings};
use crate::wecom_callbacks::{CORP, connect, start_fake, sync};
use crate::wecom_mass_sends::seed;

const TEMPLATE: &str = "{{ name }}，您关注的新品到店了";

/// A server at a daytime instant (quiet hours would hold the sends), the fake on the same clock, a tenant
/// connected and synced, and `n` customers who are friends of zhangsan (even) or lisi (odd).
async fn setup(n: usize) -> (TestApp, Fixture, FakeHandle, ManualClock, uuid::Uuid) {
    let start = daytime();
    let clock = ManualClock::new(start);
    let fake = start_fake(FakeConfig { start_time: start.timestamp(), ..FakeConfig::default() }).await;
    let t = spawn_with(Arc::new(fresh_db().await), Arc::new(clock.clone()), test_settings()).await;
    let (f, corp) = connect(&t, &fake).await;
    fake.set_callback_url(CORP, None).unwrap();
    sync(&t, &f, &corp).await;
    let corp_row: uuid::Uuid = corp["id"].as_str().unwrap().parse().unwrap();
    seed(&t.app, &f, &fake, corp_row, n).await;
    (t, f, fake, clock, corp_row)
}

/// Publishes a journey sending `TEMPLATE` on WeCom and enrols every customer; their ids by name.
async fn enrol_all(t: &TestApp, f: &Fixture) -> Vec<(String, CustomerId)> {
    let graph = json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "wecom", "template": TEMPLATE}
    ]});
    let (s, j) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "新品", "graph": graph}))).await;
    assert_eq!(s, 201, "{j}");
    let enrol = format!("/api/v1/journeys/{}/enrol", j["id"].as_str().unwrap());
    let (_, list) = t.api("GET", "/api/v1/customers?limit=100", &f.token, None).await;
    let mut out = Vec::new();
    for c in list["items"].as_array().unwrap() {
        let (s, r) = t.api("POST", &enrol, &f.token, Some(json!({"customer_id": c["id"]}))).await;
        assert_eq!(s, 200, "{r}");
        out.push((c["name"].as_str().unwrap().to_owned(), c["id"].as_str().unwrap().parse().unwrap()));
    }
    out
}

/// The templates WeCom accepted: (sender, recipients, text).
fn accepted(fake: &FakeHandle) -> Vec<(String, Vec<String>, String)> {
    fake.requests()
        .iter()
        .filter(|r| r.path.ends_with("add_msg_template") && r.errcode == 0)
        .map(|r| {
            let to = r.body["external_userid"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_owned());
            (
                r.body["sender"].as_str().unwrap().to_owned(),
                to.collect(),
                r.body["text"]["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn events(t: &TestApp, tenant: TenantId, customer: CustomerId, kind: &str) -> Vec<Value> {
    let all = t.app.store.timeline().of_customer(tenant, customer, PageRequest::first(100)).await.unwrap();
    all.into_iter().filter(|e| e.kind == kind).map(|e| e.payload).collect()
}

/// The customer's one outbox row: (status, attempts, result).
async fn outbox_row(t: &TestApp, tenant: TenantId, customer: CustomerId) -> (String, i64, Value) {
    let rows = t.app.store.journeys().deliveries_of(tenant, customer).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (_, status, attempts, result) = rows.into_iter().next().unwrap();
    (status, attempts, result.unwrap_or(Value::Null))
}

async fn outbox(t: &TestApp, tenant: TenantId, customer: CustomerId) -> (String, Value) {
    let (status, _, result) = outbox_row(t, tenant, customer).await;
    (status, result)
}

#[tokio::test]
async fn each_customer_gets_one_wecom_message_from_their_owner_and_the_result_comes_back_to_the_timeline() {
    let (t, f, fake, clock, _) = setup(3).await;
    let people = enrol_all(&t, &f).await;
    t.app.run_due_work().await.unwrap();

    // One single-chat template per customer, from the member they added, saying their name.
    let sent = accepted(&fake);
    assert_eq!(sent.len(), 3, "{sent:?}");
    for (name, _) in &people {
        let i: usize = name.trim_start_matches("客户").parse().unwrap();
        let owner = if i.is_multiple_of(2) { "zhangsan" } else { "lisi" };
        let text = format!("{name}，您关注的新品到店了");
        let mine: Vec<_> = sent.iter().filter(|s| s.2 == text).collect();
        assert_eq!(mine.len(), 1, "{name}: {sent:?}");
        assert_eq!((mine[0].0.as_str(), mine[0].1.len()), (owner, 1));
    }
    assert!(
        fake.requests()
            .iter()
            .filter(|r| r.path.ends_with("add_msg_template"))
            .all(|r| r.body["chat_type"] == "single")
    );
    // Sent, with WeCom's msgid on the row and the timeline.
    let tenant = f.tenant.id;
    for (_, c) in &people {
        let (status, result) = outbox(&t, tenant, *c).await;
        assert_eq!(status, "sent", "{result}");
        let ev = events(&t, tenant, *c, "message_sent").await;
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0]["channel"].as_str(), ev[0]["msgid"].as_str()), (Some("wecom"), result["msgid"].as_str()));
    }
    // Running the worker again sends nothing more.
    t.app.run_due_work().await.unwrap();
    assert_eq!(accepted(&fake).len(), 3);

    // zhangsan confirms his sends; the next poll brings each of his customers' result back.
    let (_, first) = &people.iter().find(|(n, _)| n == "客户0").unwrap();
    let (_, result) = outbox(&t, tenant, *first).await;
    let confirmed = fake.staff_confirms(CORP, result["msgid"].as_str().unwrap(), "zhangsan").unwrap();
    assert_eq!(confirmed.iter().map(|c| c.1).collect::<Vec<_>>(), [1]);
    clock.advance(Duration::minutes(11));
    fake.clock().advance(11 * 60);
    t.app.run_due_work().await.unwrap();
    let delivered = events(&t, tenant, *first, "message_delivered").await;
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(outbox(&t, tenant, *first).await.1["outcome"], "delivered");
    let (_, second) = &people.iter().find(|(n, _)| n == "客户1").unwrap();
    assert!(events(&t, tenant, *second, "message_delivered").await.is_empty(), "lisi has not confirmed");

    // Three days on, what was never confirmed is reported as not sent, once.
    clock.advance(Duration::days(3));
    fake.clock().advance(3 * 86_400);
    t.app.run_due_work().await.unwrap();
    t.app.run_due_work().await.unwrap();
    let failed = events(&t, tenant, *second, "message_failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["error"], "not_confirmed");
    assert_eq!(events(&t, tenant, *first, "message_failed").await.len(), 0);
    assert_eq!(accepted(&fake).len(), 3);
}

#[tokio::test]
async fn a_wecom_send_whose_call_went_through_before_the_dispatcher_died_is_adopted_and_not_sent_again() {
    let (t, f, fake, clock, corp_row) = setup(2).await;
    let people = enrol_all(&t, &f).await;
    let tenant = f.tenant.id;
    // The runs step; their sends wait in the outbox.
    while t.app.run_due_journeys().await.unwrap() > 0 {}
    let journeys = t.app.store.journeys();
    let pending = journeys.pending_outbox(tenant, t.app.now(), 10).await.unwrap();
    assert_eq!(pending.len(), 2);

    // A dispatcher claims a row and notes its call, as it does just before calling WeCom.
    let claim_and_note = async |item: &siyu_store::journeys::OutboxItem| {
        let (name, _) = people.iter().find(|(_, c)| *c == item.customer_id).unwrap();
        let route = t.app.wecom_route(tenant, item.customer_id).await.unwrap().unwrap();
        let until = t.app.now() + Duration::minutes(2);
        assert!(journeys.claim_outbox(tenant, item.id, t.app.now(), until).await.unwrap().is_some());
        let text = format!("{name}，您关注的新品到店了");
        let note = json!({"calling": {"corp": corp_row, "sender": route.sender, "external_userid": route.external_userid,
            "text": text, "at": t.app.now()}});
        journeys.note_outbox(tenant, item.id, &note).await.unwrap();
        (route, text)
    };

    // The first: WeCom creates the template, and the dispatcher dies before recording it.
    let died = &pending[0];
    let (ext, text) = claim_and_note(died).await;
    let handle = t.app.corp_handle(tenant, corp_row.into()).await.unwrap();
    let template = MsgTemplate {
        chat_type: ChatType::Single,
        external_userid: vec![ext.external_userid.clone()],
        sender: Some(ext.sender.clone()),
        text: Some(Text { content: text }),
        ..MsgTemplate::default()
    };
    let msgid = handle.client.add_msg_template(&handle.contact, &template).await.unwrap().msgid;

    // The second: the call never reached WeCom.
    let lost = &pending[1];
    let (other, _) = claim_and_note(lost).await;

    // Another dispatcher takes over once the claims lapse.
    clock.advance(Duration::minutes(3));
    fake.clock().advance(180);
    t.app.run_due_work().await.unwrap();
    t.app.run_due_work().await.unwrap();

    // The first is adopted with WeCom's msgid and no second call; the second is sent, once.
    let sent = accepted(&fake);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent.iter().filter(|s| s.1 == [ext.external_userid.clone()]).count(), 1);
    assert_eq!(sent.iter().filter(|s| s.1 == [other.external_userid.clone()]).count(), 1);
    let (status, result) = outbox(&t, tenant, died.customer_id).await;
    assert_eq!((status.as_str(), result["msgid"].as_str()), ("sent", Some(msgid.as_str())), "{result}");
    assert_eq!(outbox(&t, tenant, lost.customer_id).await.0, "sent");
    assert!(fake.calls("externalcontact/get_groupmsg_list_v2") >= 2, "each noted call was looked up first");
}

#[tokio::test]
async fn a_wecom_send_waits_out_a_spent_rate_window_and_goes_once() {
    let (t, f, fake, clock, _) = setup(1).await;
    let people = enrol_all(&t, &f).await;
    let tenant = f.tenant.id;
    // WeCom answers 45009 (frequency limit) to the first call.
    fake.inject("externalcontact/add_msg_template", 45009, 1);
    t.app.run_due_work().await.unwrap();
    assert_eq!(accepted(&fake).len(), 0);
    let (status, attempts, result) = outbox_row(&t, tenant, people[0].1).await;
    assert_eq!((status.as_str(), attempts), ("pending", 0), "a rate window is not a failed attempt: {result}");
    assert!(result.get("calling").is_none(), "WeCom said nothing was created: no lookup needed");

    // Within the window nothing more goes; after it, the send goes once.
    t.app.run_due_work().await.unwrap();
    assert_eq!(fake.calls("externalcontact/add_msg_template"), 1);
    clock.advance(Duration::seconds(61));
    fake.clock().advance(61);
    t.app.run_due_work().await.unwrap();
    t.app.run_due_work().await.unwrap();
    assert_eq!(accepted(&fake).len(), 1);
    assert_eq!(outbox_row(&t, tenant, people[0].1).await.0, "sent");
}

#[tokio::test]
async fn a_customer_no_staff_member_can_reach_on_wecom_is_dead_lettered_with_the_reason() {
    let (t, f, fake, _, _) = setup(1).await;
    let tenant = f.tenant.id;
    let (s, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "门店新客"}))).await;
    assert_eq!(s, 201, "{c}");
    let walk_in: CustomerId = c["id"].as_str().unwrap().parse().unwrap();
    enrol_all(&t, &f).await;
    t.app.run_due_work().await.unwrap();
    assert_eq!(accepted(&fake).len(), 1, "the WeCom friend is sent to");
    let (status, _, result) = outbox_row(&t, tenant, walk_in).await;
    assert_eq!((status.as_str(), result["error"].as_str()), ("failed", Some("no_wecom_contact")));
    let (_, dead) = t.api("GET", "/api/v1/journeys/dead-letters", &f.token, None).await;
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{dead}");
    assert_eq!((dead[0]["target"].as_str(), dead[0]["error"].as_str()), (Some("wecom"), Some("no_wecom_contact")));
}

#[tokio::test]
async fn a_journey_sending_on_wecom_is_refused_at_publish_until_a_corp_is_connected() {
    let t = crate::helpers::spawn_app().await;
    let f = t.tenant("没有企微的品牌").await;
    let graph = json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "wecom", "template": TEMPLATE}
    ]});
    let (s, e) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "新品", "graph": graph}))).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_definition")), "{e}");
    assert_eq!(
        (e["errors"][0]["path"].as_str(), e["errors"][0]["code"].as_str()),
        (Some("/nodes/1"), Some("wecom_not_connected"))
    );
}

#[tokio::test]
async fn materials_attached_to_a_wecom_send_go_as_the_customers_own_tracked_link_and_the_text_material_s_words() {
    let (t, f, fake, _, _) = setup(1).await;
    let link = json!({"kind": "link", "title": "周末活动", "body": "到店有礼，  限时三天", "content": {"url": "https://shop.example.com/w"}});
    let (s, link) = t.api("POST", "/api/v1/materials", &f.token, Some(link)).await;
    assert_eq!(s, 201, "{link}");
    let words = json!({"kind": "text", "title": "到店指引", "body": "地址：静安寺店 2 楼"});
    let (_, words) = t.api("POST", "/api/v1/materials", &f.token, Some(words)).await;
    let send = |attachments: Value| {
        json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "wecom", "template": "{{ name }}，周末见", "attachments": attachments}
        ]})
    };
    // A material the brand does not have is refused at publish, on the node.
    let bad = send(json!([uuid::Uuid::now_v7().to_string()]));
    let (s, e) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "坏", "graph": bad}))).await;
    assert_eq!(
        (s, e["errors"][0]["code"].as_str(), e["errors"][0]["path"].as_str()),
        (400, Some("unknown_material"), Some("/nodes/1")),
        "{e}"
    );

    let good = send(json!([link["id"], words["id"]]));
    let (s, j) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "周末", "graph": good}))).await;
    assert_eq!(s, 201, "{j}");
    let (_, list) = t.api("GET", "/api/v1/customers?limit=10", &f.token, None).await;
    let customer = list["items"][0]["id"].as_str().unwrap().to_owned();
    let enrol = format!("/api/v1/journeys/{}/enrol", j["id"].as_str().unwrap());
    t.api("POST", &enrol, &f.token, Some(json!({"customer_id": customer}))).await;
    t.app.run_due_work().await.unwrap();

    let calls: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("add_msg_template") && r.errcode == 0)
        .map(|r| r.body)
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["text"]["content"], "客户0，周末见\n\n地址：静安寺店 2 楼");
    let cards = calls[0]["attachments"].as_array().unwrap();
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!((cards[0]["msgtype"].as_str(), cards[0]["link"]["title"].as_str()), (Some("link"), Some("周末活动")));
    assert_eq!(cards[0]["link"]["desc"], "到店有礼， 限时三天");
    // The card's URL is the customer's own link from their owner, which the console lists.
    let (_, links) = t.api("GET", &format!("/api/v1/links?customer_id={customer}"), &f.token, None).await;
    let minted = &links["items"][0];
    assert_eq!(links["items"].as_array().map(Vec::len), Some(1), "{links}");
    assert!(cards[0]["link"]["url"].as_str().unwrap().ends_with(&format!("/l/{}", minted["code"].as_str().unwrap())));
    assert_eq!(minted["material_id"], link["id"]);
}

#[tokio::test]
async fn the_sandbox_records_a_sends_materials_under_its_text() {
    let t = spawn_with(Arc::new(fresh_db().await), Arc::new(ManualClock::new(daytime())), test_settings()).await;
    let f = t.tenant("花漾美妆").await;
    let (_, m) = t
        .api(
            "POST",
            "/api/v1/materials",
            &f.token,
            Some(json!({"kind": "text", "title": "护肤小贴士", "body": "早晚各一次"})),
        )
        .await;
    let graph = json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "{{ name }}，欢迎！", "attachments": [m["id"]]}
    ]});
    let (s, j) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "欢迎", "graph": graph}))).await;
    assert_eq!(s, 201, "{j}");
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "王芳"}))).await;
    let customer = c["id"].as_str().unwrap();
    let enrol = format!("/api/v1/journeys/{}/enrol", j["id"].as_str().unwrap());
    t.api("POST", &enrol, &f.token, Some(json!({"customer_id": customer}))).await;
    t.app.run_due_work().await.unwrap();
    let (_, msgs) = t.api("GET", &format!("/api/v1/customers/{customer}/sandbox"), &f.token, None).await;
    assert_eq!(msgs[0]["body"], "王芳，欢迎！\n[素材] 护肤小贴士", "{msgs}");
}
