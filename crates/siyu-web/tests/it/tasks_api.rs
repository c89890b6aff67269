//! Staff tasks and journey dead letters over the API and in the console: a journey's task node gives the
//! customer's owner a task they see (and others with a `self` scope do not), complete from the API or the
//! 任务 page; a webhook refused by its receiver is listed as a dead letter, retried by hand and delivered.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::{Value, json};
use siyu_domain::access::{DataScope, Role};

use crate::helpers::{Fixture, TestApp, csrf, spawn_app};

/// A receiver on 127.0.0.1 answering `codes` in turn, then 200; returns its URL and the calls it got.
pub async fn receiver(codes: &[u16]) -> (String, Arc<Mutex<u32>>) {
    let calls: Arc<Mutex<u32>> = Arc::default();
    let script: Arc<Mutex<Vec<u16>>> = Arc::new(Mutex::new(codes.iter().rev().copied().collect()));
    let (c, s) = (calls.clone(), script.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let (c, s) = (c.clone(), s.clone());
            async move {
                *c.lock().unwrap() += 1;
                StatusCode::from_u16(s.lock().unwrap().pop().unwrap_or(200)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

/// Publishes "call back, then notify `hook`" and enrols `customer`; the worker runs.
pub async fn call_back_and_notify(t: &TestApp, f: &Fixture, customer: &str, hook: &str) {
    let graph = json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "call"}},
        {"id": "call", "type": "task", "title": "打电话回访", "due_in_hours": 24, "next": {"next": "h"}},
        {"id": "h", "type": "webhook", "url": hook}
    ]});
    let (s, j) = t.api("POST", "/api/v1/journeys", &f.token, Some(json!({"name": "回访", "graph": graph}))).await;
    assert_eq!(s, 201, "{j}");
    let enrol = format!("/api/v1/journeys/{}/enrol", j["id"].as_str().unwrap());
    let (s, r) = t.api("POST", &enrol, &f.token, Some(json!({"customer_id": customer}))).await;
    assert_eq!((s, r["entry"].as_i64()), (200, Some(1)), "{r}");
    t.app.run_due_work().await.unwrap();
}

fn titles(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_task_is_listed_for_its_owner_and_completed_over_the_api_and_from_the_console() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (staff, staff_token, staff_name) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let (_, other_token, _) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let (s, c) =
        t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "王芳", "follow_user_id": staff.user}))).await;
    assert_eq!(s, 201, "{c}");
    let customer = c["id"].as_str().unwrap().to_string();
    let (hook, calls) = receiver(&[]).await;
    call_back_and_notify(&t, &f, &customer, &hook).await;
    assert_eq!(*calls.lock().unwrap(), 1, "the webhook went out once");

    let (s, mine) = t.api("GET", "/api/v1/tasks?mine=true&status=open", &staff_token, None).await;
    assert_eq!((s, titles(&mine)), (200, vec!["打电话回访"]), "{mine}");
    assert_eq!(mine["items"][0]["assignee_id"].as_str(), Some(staff.user.to_string().as_str()));
    let (_, others) = t.api("GET", "/api/v1/tasks", &other_token, None).await;
    assert!(titles(&others).is_empty(), "another staff member's scope has none");
    let (s, _) = t.api("GET", "/api/v1/tasks?status=bogus", &f.token, None).await;
    assert_eq!(s, 400);
    let task = mine["items"][0]["id"].as_str().unwrap().to_string();
    let (s, e) = t.api("POST", &format!("/api/v1/tasks/{task}/complete"), &other_token, None).await;
    assert_eq!((s, e["code"].as_str()), (404, Some("not_found")));

    // The 任务 page lists it with a link to the customer and a complete button; completing it there works.
    let console = t.console(&staff_name).await;
    let page = console.get(t.url("/console/tasks")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("打电话回访") && page.contains(&format!("/console/customers/{customer}")), "{page}");
    assert!(page.contains(&format!("/console/tasks/{task}/complete")));
    let detail =
        console.get(t.url(&format!("/console/customers/{customer}"))).send().await.unwrap().text().await.unwrap();
    assert!(detail.contains("id=\"tasks\"") && detail.contains("打电话回访"), "the customer page shows the task");
    let res = console
        .post(t.url(&format!("/console/tasks/{task}/complete")))
        .form(&[("_csrf", csrf(&page).as_str()), ("back", "customer")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], format!("/console/customers/{customer}#tasks"));

    let (s, done) = t.api("POST", &format!("/api/v1/tasks/{task}/complete"), &staff_token, None).await;
    assert_eq!((s, done["status"].as_str()), (200, Some("done")), "completing again answers the done task");
    let (_, list) = t.api("GET", &format!("/api/v1/customers/{customer}/tasks"), &f.token, None).await;
    assert_eq!(list[0]["status"], "done");
    let (_, timeline) = t.api("GET", &format!("/api/v1/customers/{customer}/timeline"), &f.token, None).await;
    let kinds: Vec<&str> = timeline["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in ["task_created", "task_completed", "message_sent"] {
        assert_eq!(kinds.iter().filter(|x| **x == k).count(), 1, "{k} once in {kinds:?}");
    }
}

#[tokio::test]
async fn a_refused_webhook_is_a_dead_letter_an_operator_retries_from_the_api_or_the_console() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "李雷"}))).await;
    let customer = c["id"].as_str().unwrap().to_string();
    let (hook, calls) = receiver(&[410, 410]).await;
    call_back_and_notify(&t, &f, &customer, &hook).await;
    let (s, dead) = t.api("GET", "/api/v1/journeys/dead-letters", &f.token, None).await;
    assert_eq!(s, 200);
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead}");
    assert_eq!((dead[0]["kind"].as_str(), dead[0]["error"].as_str()), (Some("webhook"), Some("http 410")));
    let id = dead[0]["id"].as_str().unwrap().to_string();

    // The console lists it with a retry button, and shows an admin the signing secret.
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url("/console/deliveries")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/console/deliveries/{id}/retry")) && page.contains("http 410"), "{page}");
    assert!(page.contains("whsec_"), "the admin sees the webhook secret");
    let res = console
        .post(t.url(&format!("/console/deliveries/{id}/retry")))
        .form(&[("_csrf", csrf(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    t.app.run_due_work().await.unwrap();
    assert_eq!(*calls.lock().unwrap(), 2, "refused again");
    let (s, _) = t.api("POST", &format!("/api/v1/journeys/dead-letters/{id}/retry"), &f.token, None).await;
    assert_eq!(s, 204);
    t.app.run_due_work().await.unwrap();
    assert_eq!(*calls.lock().unwrap(), 3);
    let (_, dead) = t.api("GET", "/api/v1/journeys/dead-letters", &f.token, None).await;
    assert!(dead.as_array().unwrap().is_empty(), "delivered: {dead}");
    let (s, _) = t.api("POST", &format!("/api/v1/journeys/dead-letters/{id}/retry"), &f.token, None).await;
    assert_eq!(s, 404, "a delivered row is no dead letter");

    // Rotating the secret changes what the page shows; staff see neither page nor list.
    let before = page.split("whsec_").nth(1).unwrap()[..64].to_string();
    let page = console.get(t.url("/console/deliveries")).send().await.unwrap().text().await.unwrap();
    let res = console
        .post(t.url("/console/deliveries/secret"))
        .form(&[("_csrf", csrf(&page).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let page = console.get(t.url("/console/deliveries")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(&before), "rotated");
    let (_, staff_token, staff_name) = t.member(&f, Role::Staff, DataScope::All).await;
    let (s, _) = t.api("GET", "/api/v1/journeys/dead-letters", &staff_token, None).await;
    assert_eq!(s, 403);
    let staff = t.console(&staff_name).await;
    let res = staff.get(t.url("/console/deliveries")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
}
