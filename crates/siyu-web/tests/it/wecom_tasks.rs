//! Staff tasks told to staff as WeCom app messages: a task for a staff member on WeCom reaches them once, as a
//! card naming the customer, even when the sender dies between WeCom's answer and recording it; members
//! create tasks by hand in the API and the console, with inline errors.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};
use siyu_app::clock::ManualClock;
use siyu_domain::id::{CustomerId, UserId};
use siyu_domain::task::TaskKind;
use siyu_store::tasks::NewTask;
use siyu_wecom::api::AppMessage;
use siyu_wecom::fake::{CustomerSetup, FakeConfig, FakeHandle};

use crate::helpers::{Fixture, TestApp, csrf, daytime, fresh_db, spawn_with_clock};
use crate::wecom_callbacks::{CORP, connect, customer_of, settle, start_fake, sync};

/// A tenant connected to the fake on a manual clock, and a customer who added zhangsan (their owner).
async fn with_customer() -> (TestApp, Fixture, FakeHandle, ManualClock, CustomerId) {
    let start = daytime();
    let clock = ManualClock::new(start);
    let fake = start_fake(FakeConfig { start_time: start.timestamp(), ..FakeConfig::default() }).await;
    let t = spawn_with_clock(Arc::new(fresh_db().await), Arc::new(clock.clone())).await;
    let (f, corp) = connect(&t, &fake).await;
    let wm = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    fake.customer_adds_staff(CORP, &wm, "zhangsan", None).await.unwrap();
    sync(&t, &f, &corp).await;
    settle(&t).await;
    let customer = customer_of(&t, &f, &wm).await.unwrap();
    (t, f, fake, clock, customer)
}

fn due(t: &TestApp) -> String {
    (t.app.now() + Duration::hours(24)).to_rfc3339()
}

#[tokio::test]
async fn a_task_for_a_staff_member_on_wecom_reaches_them_once_as_a_card_naming_the_customer() {
    let (t, f, fake, _clock, customer) = with_customer().await;
    let body = json!({"customer_id": customer, "kind": "call", "title": "回访试用感受", "note": "她周末有空",
                      "due_at": due(&t)});
    let (status, task) = t.api("POST", "/api/v1/tasks", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(task["kind"], "call");
    assert_eq!(task["assignee_name"], "张三", "the customer's owner by default");
    settle(&t).await;

    let sent = fake.app_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].recipients, vec!["zhangsan".to_owned()]);
    let text = sent[0].body.to_string();
    assert!(text.contains("王女士") && text.contains("回访试用感受") && text.contains("她周末有空"), "{text}");
    assert_eq!(sent[0].body["enable_duplicate_check"], 1);

    // The sweeps running again tell no one twice.
    t.app.run_due_work().await.unwrap();
    assert_eq!(t.app.send_staff_notices().await.unwrap(), 0);
    assert_eq!(fake.app_messages().len(), 1);
    assert_eq!(fake.calls("message/send"), 1);

    // The timeline has the task with its kind.
    let (_, timeline) = t.api("GET", &format!("/api/v1/customers/{}/timeline", customer.0), &f.token, None).await;
    let created = timeline["items"].as_array().unwrap().iter().find(|e| e["kind"] == "task_created").unwrap();
    assert_eq!(created["payload"]["kind"], "call");
}

#[tokio::test]
async fn a_notice_whose_sender_died_after_wecom_answered_is_sent_again_and_reaches_the_staff_member_once() {
    let (t, f, fake, clock, customer) = with_customer().await;
    let owner = t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap()[0].user_id;
    // A task written straight to the store (no background send), its notice made but not sent.
    let new = NewTask {
        customer,
        assignee: None,
        kind: TaskKind::Send,
        title: "发送新品试用装链接",
        note: "",
        due_at: t.app.now() + Duration::hours(2),
        created_by: owner,
    };
    t.app.store.tasks().create(f.tenant.id, &new, t.app.now()).await.unwrap();
    t.app.queue_staff_notices().await.unwrap();

    // A sender claims it, WeCom accepts the message, and the sender dies before recording the answer.
    let now = t.app.now();
    let claimed = t.app.store.wecom().claim_notices(f.tenant.id, now - Duration::seconds(60), now, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let message: AppMessage = serde_json::from_str(&claimed[0].body).unwrap();
    let handle = t.app.corp_handle(f.tenant.id, claimed[0].corp_row_id.into()).await.unwrap();
    handle.client.message_send(&handle.app, &message).await.unwrap();

    // Another sender finds nothing to do while the claim is fresh, then takes the stale claim over.
    assert_eq!(t.app.send_staff_notices().await.unwrap(), 0);
    clock.advance(Duration::seconds(61));
    fake.clock().advance(61);
    assert_eq!(t.app.send_staff_notices().await.unwrap(), 1);
    assert_eq!(fake.calls("message/send"), 2, "sent again");
    assert_eq!(fake.app_messages().len(), 1, "WeCom's duplicate check dropped the repeat");
    let notice = t.app.store.wecom().notice(f.tenant.id, claimed[0].id).await.unwrap();
    assert_eq!(notice.status, "sent");
    assert_eq!(notice.attempts, 2);
}

#[tokio::test]
async fn tasks_for_members_not_on_wecom_or_made_long_ago_send_no_app_message() {
    let (t, f, fake, clock, customer) = with_customer().await;
    let owner = t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap()[0].user_id;
    // Two days ago: before the corp was connected, say.
    let old = NewTask {
        customer,
        assignee: None,
        kind: TaskKind::FollowUp,
        title: "旧任务",
        note: "",
        due_at: t.app.now(),
        created_by: owner,
    };
    t.app.store.tasks().create(f.tenant.id, &old, t.app.now() - Duration::days(2)).await.unwrap();
    // The tenant's owner is a siyu member who is not WeCom staff.
    let body = json!({"customer_id": customer, "assignee_id": f.owner.id, "title": "核对订单", "due_at": due(&t)});
    let (status, task) = t.api("POST", "/api/v1/tasks", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{task}");
    settle(&t).await;
    clock.advance(Duration::minutes(5));
    t.app.send_staff_notices().await.unwrap();
    assert!(fake.app_messages().is_empty());
}

#[tokio::test]
async fn a_bad_task_is_refused_with_the_field_and_reason() {
    let (t, f, _fake, _clock, customer) = with_customer().await;
    let cases = [
        (json!({"customer_id": customer, "title": "  ", "due_at": due(&t)}), "title"),
        (json!({"customer_id": customer, "title": "呼".repeat(101), "due_at": due(&t)}), "title"),
        (json!({"customer_id": customer, "title": "x", "note": "n".repeat(501), "due_at": due(&t)}), "note"),
        (
            json!({"customer_id": customer, "title": "x", "assignee_id": UserId::new(), "due_at": due(&t)}),
            "assignee_id",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = t.api("POST", "/api/v1/tasks", &f.token, Some(body)).await;
        assert_eq!(status, 400, "{error}");
        assert_eq!(error["code"], "invalid_input", "{error}");
        assert_eq!(error["field"], field, "{error}");
    }
    let (status, error) =
        t.api("POST", "/api/v1/tasks", &f.token, Some(json!({"customer_id": customer, "title": "x"}))).await;
    assert_eq!(status, 400, "{error}");
    let ghost = json!({"customer_id": CustomerId::new(), "title": "x", "due_at": due(&t)});
    assert_eq!(t.api("POST", "/api/v1/tasks", &f.token, Some(ghost)).await.0, 404);
}

#[tokio::test]
async fn the_console_creates_a_task_from_the_customer_page_and_keeps_input_on_an_error() {
    let (t, f, fake, _clock, customer) = with_customer().await;
    let c = t.console(&f.owner.username).await;
    let page = c.get(t.url(&format!("/console/customers/{}", customer.0))).send().await.unwrap().text().await.unwrap();
    let new_url = format!("/console/customers/{}/tasks/new", customer.0);
    assert!(page.contains(&new_url), "the customer page links to the new-task form");
    let form = c.get(t.url(&new_url)).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("电话回访") && form.contains("客户负责人"), "{form}");
    let token = csrf(&form);

    let bad = [
        ("_csrf", token.as_str()),
        ("kind", "call"),
        ("title", ""),
        ("due_at", "2026-12-07T10:00"),
        ("note", "记得提优惠"),
    ];
    let res = c.post(t.url(&new_url)).form(&bad).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("请填写任务内容") && html.contains("记得提优惠"), "inline error, input kept");

    let good = [
        ("_csrf", token.as_str()),
        ("kind", "send"),
        ("title", "发优惠券"),
        ("due_at", "2026-12-07T10:00"),
        ("note", ""),
    ];
    let res = c.post(t.url(&new_url)).form(&good).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let back = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, format!("/console/customers/{}#tasks", customer.0));
    let html = c.get(t.url(&back)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("发优惠券"), "the card lists the new task");
    let (_, tasks) = t.api("GET", "/api/v1/tasks", &f.token, None).await;
    let task: &Value = &tasks["items"][0];
    assert_eq!((task["kind"].as_str(), task["title"].as_str()), (Some("send"), Some("发优惠券")));
    // 10:00 on 7 December in Shanghai.
    assert_eq!(task["due_at"], "2026-12-07T02:00:00Z");
    settle(&t).await;
    assert_eq!(fake.app_messages().len(), 1);
    let list = c.get(t.url("/console/tasks")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("发送") && list.contains("发优惠券"));
}
