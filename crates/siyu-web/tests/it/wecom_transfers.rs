//! Customer inheritance against the fake WeCom: an on-job transfer with its notice taken over after 24 h on
//! the fake clock, the 2-per-90-days guard refusing the third transfer before WeCom is called, a refusal
//! pushed as `transfer_fail`, a departed member's unassigned customers and groups, the console's preview and
//! confirmation (once per key), all with the app's and the fake's clocks stepped, never slept on.

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use siyu_app::clock::ManualClock;
use siyu_wecom::fake::{CustomerSetup, FakeConfig, FakeHandle};

use crate::helpers::{Fixture, TestApp, csrf, fresh_db, spawn_with_clock};
use crate::wecom_callbacks::{CORP, connect, customer_of, settle, start_fake, sync};

/// The app and the fake on clocks the test moves together, a connected and synced corp.
async fn setup() -> (TestApp, Fixture, FakeHandle, Value, ManualClock) {
    let start = Utc::now();
    let clock = ManualClock::new(start);
    let fake = start_fake(FakeConfig { start_time: start.timestamp(), ..FakeConfig::default() }).await;
    let t = spawn_with_clock(Arc::new(fresh_db().await), Arc::new(clock.clone())).await;
    let (f, corp) = connect(&t, &fake).await;
    sync(&t, &f, &corp).await;
    (t, f, fake, corp, clock)
}

/// A customer who adds `userid` in WeCom (the callback processed).
async fn befriend(t: &TestApp, fake: &FakeHandle, name: &str, userid: &str) -> String {
    let ext = fake.add_customer(CORP, CustomerSetup::named(name)).unwrap();
    fake.customer_adds_staff(CORP, &ext, userid, None).await.unwrap();
    settle(t).await;
    ext
}

/// Moves both clocks on by `secs` seconds, then lets WeCom's pushes and the due work run.
async fn pass(t: &TestApp, fake: &FakeHandle, clock: &ManualClock, secs: i64) {
    fake.clock().advance(secs);
    clock.advance(Duration::seconds(secs));
    fake.deliver_pending(CORP).await.unwrap();
    settle(t).await;
    t.app.run_due_work().await.unwrap();
    settle(t).await;
}

fn body(corp: &Value, from: &str, to: &str, customers: &[&str]) -> Value {
    json!({"corp": corp["id"], "kind": "on_job", "handover_userid": from, "takeover_userid": to,
        "external_userids": customers, "message": "您好，我调岗了，之后由同事为您服务"})
}

async fn create(t: &TestApp, f: &Fixture, body: Value) -> Value {
    let (status, batch) = t.api("POST", "/api/v1/transfers", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{batch}");
    t.app.run_due_work().await.unwrap();
    get(t, f, batch["id"].as_str().unwrap()).await
}

async fn get(t: &TestApp, f: &Fixture, id: &str) -> Value {
    let (status, batch) = t.api("GET", &format!("/api/v1/transfers/{id}"), &f.token, None).await;
    assert_eq!(status, 200, "{batch}");
    batch
}

async fn follows(t: &TestApp, f: &Fixture, ext: &str) -> Vec<String> {
    let customer = customer_of(t, f, ext).await.unwrap();
    let mut names = Vec::new();
    for follow in t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap() {
        let staff = t.app.store.wecom().staff_of_user(f.tenant.id, follow.user_id).await.unwrap();
        names.push(staff.map(|s| s.userid).unwrap_or_default());
    }
    names
}

async fn timeline_kinds(t: &TestApp, f: &Fixture, ext: &str) -> Vec<String> {
    let customer = customer_of(t, f, ext).await.unwrap();
    let (_, tl) = t.api("GET", &format!("/api/v1/customers/{customer}/timeline"), &f.token, None).await;
    let items = tl["items"].as_array().or(tl.as_array()).cloned().unwrap_or_default();
    items.iter().map(|e| e["kind"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn an_on_job_transfer_carries_the_notice_and_is_taken_over_after_24_hours_on_the_fake_clock() {
    let (t, f, fake, corp, clock) = setup().await;
    let ext = befriend(&t, &fake, "王女士", "zhangsan").await;
    let group = fake.create_group(CORP, "zhangsan", "老客福利群", &[&ext]).await.unwrap();
    settle(&t).await;
    let mut request = body(&corp, "zhangsan", "lisi", &[&ext]);
    request["chat_ids"] = json!([group.chat_id]);
    let (status, preview) = t.api("POST", "/api/v1/transfers/preview", &f.token, Some(request.clone())).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!((preview["ready"].as_i64(), preview["blocked"].as_i64()), (Some(2), Some(0)), "{preview}");
    assert_eq!(preview["customers"][0]["name"], "王女士");
    assert_eq!(fake.calls("externalcontact/transfer_customer"), 0, "a preview sends nothing");

    let batch = create(&t, &f, request).await;
    assert_eq!(batch["status"], "waiting", "{batch}");
    assert_eq!(batch["counts"]["waiting"], 1);
    let sent = fake.requests().into_iter().find(|r| r.path == "externalcontact/transfer_customer").unwrap();
    assert_eq!(sent.body["transfer_success_msg"], "您好，我调岗了，之后由同事为您服务");
    assert_eq!(sent.body["external_userid"], json!([ext]));
    let group_item = batch["items"].as_array().unwrap().iter().find(|i| i["kind"] == "group").unwrap().clone();
    assert_eq!(group_item["status"], "success", "groups move at once: {group_item}");
    let (_, groups) = t.api("GET", "/api/v1/groups", &f.token, None).await;
    assert_eq!(groups["items"][0]["owner_userid"], "lisi", "{groups}");

    // Still waiting a minute before the takeover time; taken over once it passed.
    pass(&t, &fake, &clock, 86_340).await;
    let id = batch["id"].as_str().unwrap();
    assert_eq!(get(&t, &f, id).await["counts"]["waiting"], 1);
    pass(&t, &fake, &clock, 3_600).await;
    let done = get(&t, &f, id).await;
    assert_eq!(done["status"], "done", "{done}");
    let item = done["items"].as_array().unwrap().iter().find(|i| i["kind"] == "customer").unwrap().clone();
    assert_eq!((item["status"].as_str(), item["wecom_status"].as_i64()), (Some("success"), Some(1)), "{item}");
    assert!(item["takeover_at"].is_string());
    assert_eq!(follows(&t, &f, &ext).await, vec!["lisi".to_string()], "the follow moved to the takeover");
    let kinds = timeline_kinds(&t, &f, &ext).await;
    assert!(kinds.iter().any(|k| k == "customer_transferred"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "customer_transferred").count(), 1, "once, whichever path came first");
    let customer = customer_of(&t, &f, &ext).await.unwrap();
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url(&format!("/console/customers/{customer}"))).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("客户被转接") && html.contains("张三 → 李四"), "the transfer on the customer's timeline");
    let removal_events = fake.pushes().iter().filter(|p| p.xml.contains("DELETE_BY_TRANSFER")).count();
    assert_eq!(removal_events, 1, "WeCom's own callbacks arrived and changed nothing more");
}

#[tokio::test]
async fn the_90_day_guard_blocks_a_third_transfer_locally_without_calling_wecom() {
    let (t, f, fake, corp, clock) = setup().await;
    let ext = befriend(&t, &fake, "李先生", "zhangsan").await;
    for (from, to) in [("zhangsan", "lisi"), ("lisi", "zhangsan")] {
        let batch = create(&t, &f, body(&corp, from, to, &[&ext])).await;
        pass(&t, &fake, &clock, 86_400 + 3_600).await;
        let done = get(&t, &f, batch["id"].as_str().unwrap()).await;
        assert_eq!(done["counts"]["success"], 1, "{done}");
    }
    assert_eq!(follows(&t, &f, &ext).await, vec!["zhangsan".to_string()]);
    let calls = fake.calls("externalcontact/transfer_customer");
    let request = body(&corp, "zhangsan", "lisi", &[&ext]);
    let (_, preview) = t.api("POST", "/api/v1/transfers/preview", &f.token, Some(request.clone())).await;
    assert_eq!(preview["customers"][0]["blocked"], "limited", "{preview}");
    assert!(preview["customers"][0]["allowed_from"].is_string());
    assert_eq!(preview["ready"], 0);
    let third = create(&t, &f, request).await;
    assert_eq!((third["status"].as_str(), third["counts"]["limited"].as_i64()), (Some("done"), Some(1)), "{third}");
    assert_eq!(fake.calls("externalcontact/transfer_customer"), calls, "WeCom was not called");
    // 90 days after the first, the window lets one more through.
    pass(&t, &fake, &clock, 89 * 86_400).await;
    let (_, preview) =
        t.api("POST", "/api/v1/transfers/preview", &f.token, Some(body(&corp, "zhangsan", "lisi", &[&ext]))).await;
    assert!(preview["customers"][0]["blocked"].is_null(), "{preview}");
}

#[tokio::test]
async fn a_refused_transfer_marks_the_item_and_the_customer_timeline_through_the_transfer_fail_callback() {
    let (t, f, fake, corp, _clock) = setup().await;
    let ext = befriend(&t, &fake, "赵女士", "zhangsan").await;
    let batch = create(&t, &f, body(&corp, "zhangsan", "lisi", &[&ext])).await;
    fake.customer_refuses_transfer(CORP, &ext).await.unwrap();
    settle(&t).await;
    let after = get(&t, &f, batch["id"].as_str().unwrap()).await;
    assert_eq!(after["status"], "done", "{after}");
    let item = &after["items"][0];
    assert_eq!((item["status"].as_str(), item["reason"].as_str()), (Some("refused"), Some("customer_refused")));
    assert!(timeline_kinds(&t, &f, &ext).await.iter().any(|k| k == "transfer_failed"));
    assert_eq!(follows(&t, &f, &ext).await, vec!["zhangsan".to_string()], "the relation stays");
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url(&format!("/console/wecom/transfers/{}", after["id"].as_str().unwrap()))).send().await;
    let html = page.unwrap().text().await.unwrap();
    assert!(html.contains("客户拒绝") && html.contains("客户拒绝转接"), "the item's state and reason in words");
}

#[tokio::test]
async fn a_departed_members_unassigned_customers_and_groups_go_to_a_colleague() {
    let (t, f, fake, corp, clock) = setup().await;
    let ext = befriend(&t, &fake, "孙先生", "zhangsan").await;
    let group = fake.create_group(CORP, "zhangsan", "门店群", &[&ext]).await.unwrap();
    settle(&t).await;
    fake.staff_leaves(CORP, "zhangsan").await.unwrap();
    settle(&t).await;
    let corp_id = corp["id"].as_str().unwrap();
    let (status, unassigned) = t.api("GET", &format!("/api/v1/wecom/corps/{corp_id}/unassigned"), &f.token, None).await;
    assert_eq!(status, 200, "{unassigned}");
    assert_eq!(unassigned[0]["external_userid"], ext.as_str());
    assert_eq!(
        (unassigned[0]["handover_name"].as_str(), unassigned[0]["customer_name"].as_str()),
        (Some("张三"), Some("孙先生"))
    );
    // An on-job transfer of a member who left is refused with the field named.
    let (status, error) =
        t.api("POST", "/api/v1/transfers/preview", &f.token, Some(body(&corp, "zhangsan", "lisi", &[&ext]))).await;
    assert_eq!((status, error["field"].as_str()), (400, Some("handover_userid")), "{error}");
    let request = json!({"corp": corp["id"], "kind": "resigned", "handover_userid": "zhangsan",
        "takeover_userid": "lisi", "all_customers": true, "all_groups": true});
    let batch = create(&t, &f, request).await;
    let items = batch["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{batch}");
    let find = |kind: &str| items.iter().find(|i| i["kind"] == kind).unwrap().clone();
    assert_eq!(find("group")["target"], group.chat_id.as_str());
    assert_eq!(find("group")["status"], "success");
    assert_eq!(find("customer")["status"], "waiting");
    assert_eq!(fake.calls("externalcontact/resigned/transfer_customer"), 1);
    assert_eq!(fake.calls("externalcontact/groupchat/transfer"), 1);
    pass(&t, &fake, &clock, 86_400 + 3_600).await;
    let done = get(&t, &f, batch["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(follows(&t, &f, &ext).await, vec!["lisi".to_string()]);
    let (_, left) = t.api("GET", &format!("/api/v1/wecom/corps/{corp_id}/unassigned"), &f.token, None).await;
    assert_eq!(left.as_array().map(Vec::len), Some(0), "{left}");
}

#[tokio::test]
async fn the_console_previews_blocked_items_and_confirms_once_per_key() {
    let (t, f, fake, corp, _clock) = setup().await;
    let ext = befriend(&t, &fake, "周女士", "zhangsan").await;
    let busy = befriend(&t, &fake, "吴先生", "zhangsan").await;
    create(&t, &f, body(&corp, "zhangsan", "lisi", &[&busy])).await;
    let console = t.console(&f.owner.username).await;
    let list = console.get(t.url("/console/wecom/transfers")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("客户继承") && list.contains("href=\"/console/wecom/transfers/new\""), "the list and nav");
    let token = csrf(&list);
    let corp_id = corp["id"].as_str().unwrap();
    let new = console
        .get(t.url(&format!("/console/wecom/transfers/new?corp={corp_id}&kind=on_job&handover=zhangsan")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(new.contains(&format!("value=\"{ext}\"")) && new.contains("周女士"), "the handover's customers");
    assert!(new.contains("李四 (lisi)"), "colleagues to take over");
    let form = [
        ("_csrf", token.as_str()),
        ("corp", corp_id),
        ("kind", "on_job"),
        ("handover", "zhangsan"),
        ("takeover", "lisi"),
        ("customer", ext.as_str()),
        ("customer", busy.as_str()),
        ("message", "新同事会继续为您服务"),
    ];
    let r = console.post(t.url("/console/wecom/transfers/preview")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let preview = r.text().await.unwrap();
    assert!(preview.contains("将转接 1") && preview.contains("正在转接中"), "the blocked item and why");
    assert_eq!(fake.calls("externalcontact/transfer_customer"), 1, "only the earlier batch was sent");
    let key = preview.split("name=\"key\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let mut confirm: Vec<(&str, &str)> = form.to_vec();
    confirm.push(("key", &key));
    let mut locations = Vec::new();
    for _ in 0..2 {
        let r = console.post(t.url("/console/wecom/transfers")).form(&confirm).send().await.unwrap();
        assert_eq!(r.status(), 303, "to the batch page");
        locations.push(r.headers()["location"].to_str().unwrap().to_owned());
    }
    assert!(locations[0].starts_with("/console/wecom/transfers/"));
    assert_eq!(locations[0], locations[1], "the same batch both times");
    let page = console.get(t.url(&locations[0])).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("周女士") && page.contains("已跳过") && page.contains("正在转接中"), "items in words");
    let (_, batches) = t.api("GET", "/api/v1/transfers", &f.token, None).await;
    assert_eq!(batches.as_array().unwrap().len(), 2, "one batch per key: {batches}");
    t.app.run_due_work().await.unwrap();
    let newest = &batches[0];
    let detail = get(&t, &f, newest["id"].as_str().unwrap()).await;
    assert_eq!((detail["counts"]["waiting"].as_i64(), detail["counts"]["skipped"].as_i64()), (Some(1), Some(1)));
    assert_eq!(detail["message"], "新同事会继续为您服务");
    // A notice over 200 characters is refused next to nothing sent.
    let long = "好".repeat(201);
    let mut too_long: Vec<(&str, &str)> = form.to_vec();
    too_long.retain(|(k, _)| *k != "message");
    too_long.push(("message", &long));
    let r = console.post(t.url("/console/wecom/transfers/preview")).form(&too_long).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("提示语最多 200 字"));
}
