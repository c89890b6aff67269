//! Lifecycle stages over the API and in the console: the default list with counts, moving a customer by
//! hand (history and the customer page's card), editing the list with a bad entry refused inline, and the
//! stage a journey starts on.

use serde_json::json;
use siyu_domain::access::{DataScope, Role};

use crate::helpers::{csrf, spawn_app};

#[tokio::test]
async fn stages_are_listed_with_counts_and_a_customer_moved_by_hand_shows_it_on_their_page() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "王芳"}))).await;
    let customer = c["id"].as_str().unwrap().to_string();
    t.app.run_due_work().await.unwrap();

    let (s, list) = t.api("GET", "/api/v1/stages", &f.token, None).await;
    assert_eq!(s, 200, "{list}");
    let keys: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["new", "interested", "met", "not_purchased", "purchased", "repeat", "silent", "reactivating"]);
    assert_eq!(list[0]["customers"], 1, "the new customer is in 新客户: {list}");

    let path = format!("/api/v1/customers/{customer}/stage");
    let (s, moved) = t.api("PUT", &path, &f.token, Some(json!({"stage": "met"}))).await;
    assert_eq!((s, moved["stage"].as_str()), (200, Some("met")), "{moved}");
    assert_eq!(moved["history"][0]["reason"], "manual");
    let (s, e) = t.api("PUT", &path, &f.token, Some(json!({"stage": "nowhere"}))).await;
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_input")), "{e}");

    let console = t.console(&f.owner.username).await;
    let page =
        console.get(t.url(&format!("/console/customers/{customer}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"stage\"") && page.contains("已见面/已报价"), "the stage card shows the stage");

    // A staff member reads stages but may not edit the list.
    let (_, staff, _) = t.member(&f, Role::Staff, DataScope::All).await;
    let (s, _) = t.api("GET", "/api/v1/stages", &staff, None).await;
    assert_eq!(s, 200);
    let mut defs = list.clone();
    defs.as_array_mut().unwrap().iter_mut().for_each(|s| {
        s.as_object_mut().unwrap().remove("customers");
    });
    let (s, _) = t.api("PUT", "/api/v1/stages", &staff, Some(defs.clone())).await;
    assert_eq!(s, 403);
    let (s, saved) = t.api("PUT", "/api/v1/stages", &f.token, Some(defs)).await;
    assert_eq!(s, 200, "the listed stages save back as they are: {saved}");
}

#[tokio::test]
async fn a_stage_list_with_a_problem_is_refused_inline_and_a_good_one_is_saved() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url("/console/stages")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("新客户") && page.contains("沉默激活"), "the default stages are listed");
    let token = csrf(&page);

    let dup = r#"[{"key": "new", "name": "新"}, {"key": "new", "name": "又新"}]"#;
    let r = console
        .post(t.url("/console/stages"))
        .form(&[("_csrf", token.as_str()), ("stages", dup)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("duplicate_stage") && body.contains("又新"), "the error shows and the text is kept");

    let good = r#"[{"key": "new", "name": "新朋友", "rules": [{"on": "created"}]},
        {"key": "fan", "name": "铁粉", "rules": [{"on": "paid_orders", "count": 3}]}]"#;
    let r = console
        .post(t.url("/console/stages"))
        .form(&[("_csrf", token.as_str()), ("stages", good)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let (_, list) = t.api("GET", "/api/v1/stages", &f.token, None).await;
    assert_eq!(list[1]["name"], "铁粉", "{list}");
    assert_eq!(list[1]["rules"][0]["count"], 3);
}
