//! The identity graph over HTTP: events posted to `/v1/batch` resolve into customers, the merge-suggestion
//! queue in the API and the console, accepting a suggestion, and undoing a merge from the customer page.

use serde_json::{Value, json};

use crate::helpers::{TestApp, csrf, spawn_app};

async fn post_batch(t: &TestApp, key: &str, batch: Value) {
    let res = reqwest::Client::new()
        .post(t.url("/v1/batch"))
        .basic_auth(key, Some(""))
        .json(&json!({"batch": batch}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    t.app.run_due_work().await.unwrap();
}

fn openid(app: &str, id: &str) -> Value {
    json!({"type": "openid", "appid": app, "id": id})
}

#[tokio::test]
async fn operators_review_suggestions_and_undo_merges_through_the_api_and_the_console() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (s, src) =
        t.api("POST", "/api/v1/sources", &f.token, Some(json!({"name": "小程序", "kind": "mini_program"}))).await;
    assert_eq!(s, 201);
    let key = src["write_key"].as_str().unwrap();
    let (s, known) =
        t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "王芳", "phone": "13912345678"}))).await;
    assert_eq!(s, 201, "{known}");
    post_batch(&t, key, json!([
        {"type": "identify", "userId": "vip-1", "traits": {"phone": "13912345678", "name": "芳芳"}},
        {"type": "track", "event": "Viewed", "anonymousId": "d1", "context": {"externalIds": [openid("wx1", "o1")]}},
        {"type": "track", "event": "Viewed", "anonymousId": "d2", "context": {"externalIds": [openid("wx2", "o2")]}},
    ]))
    .await;
    post_batch(&t, key, json!([
        {"type": "track", "event": "Linked", "anonymousId": "d3", "context": {"externalIds": [openid("wx1", "o1"), openid("wx2", "o2")]}},
    ]))
    .await;

    // The typed-in phone only suggests; the two openids merged.
    let (s, list) = t.api("GET", "/api/v1/merge-suggestions", &f.token, None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["reason"], "weak_identifier");
    let console = t.console(&f.owner.username).await;
    let html = console.get(t.url("/console/identity/suggestions")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("王芳") && html.contains("芳芳") && html.contains("data-reason=\"weak_identifier\""));

    let id = list[0]["id"].as_str().unwrap();
    let (s, merged) = t.api("POST", &format!("/api/v1/merge-suggestions/{id}/accept"), &f.token, None).await;
    assert_eq!(s, 200, "{merged}");
    assert_eq!(merged["customer"], known["id"], "the older customer survives");
    let (s, _) = t.api("POST", &format!("/api/v1/merge-suggestions/{id}/reject"), &f.token, None).await;
    assert_eq!(s, 409, "a decided suggestion cannot be decided again");

    // Undo the openid merge from the customer page.
    let ids = t.app.store.identities();
    let openid_kind = siyu_domain::identity::IdentityKind::Openid;
    let survivor = ids.resolve(f.tenant.id, openid_kind, "wx1", "o1").await.unwrap().unwrap();
    let (s, merges) = t.api("GET", &format!("/api/v1/customers/{survivor}/merges"), &f.token, None).await;
    assert_eq!(s, 200);
    let merge = merges[0]["id"].as_str().unwrap().to_string();
    let page =
        console.get(t.url(&format!("/console/customers/{survivor}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/console/merges/{merge}/undo")));
    let form = [("_csrf", csrf(&page)), ("customer", survivor.to_string()), ("reason", String::new())];
    let res = console.post(t.url(&format!("/console/merges/{merge}/undo"))).form(&form).send().await.unwrap();
    assert!(res.headers()["location"].to_str().unwrap().contains("merge_error="), "a reason is required");
    let form = [("_csrf", csrf(&page)), ("customer", survivor.to_string()), ("reason", "两个小程序不是同一人".into())];
    let res = console.post(t.url(&format!("/console/merges/{merge}/undo"))).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (_, merges) = t.api("GET", &format!("/api/v1/customers/{survivor}/merges"), &f.token, None).await;
    assert!(merges[0]["undone_at"].is_string());
    let restored = merges[0]["absorbed"].as_str().unwrap();
    let (s, _) = t.api("GET", &format!("/api/v1/customers/{restored}"), &f.token, None).await;
    assert_eq!(s, 200, "the absorbed customer is back under its id");
    let (s, err) =
        t.api("POST", &format!("/api/v1/merges/{merge}/undo"), &f.token, Some(json!({"reason": "again"}))).await;
    assert_eq!((s, err["code"].as_str()), (409, Some("conflict")));
}
