//! Bad input everywhere gets a clear 4xx with a stable code, and nothing is half-written.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn malformed_or_invalid_requests_get_stable_error_codes_and_write_nothing() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let http = reqwest::Client::new();
    let post = |body: &'static str| {
        http.post(t.url("/api/v1/customers"))
            .bearer_auth(&f.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().await.unwrap();
        assert!(v["request_id"].as_str().is_some_and(|s| s.len() > 8), "every error carries the request id: {v}");
        (status, v["code"].as_str().unwrap().to_string())
    };
    assert_eq!(code(post("{not json").await.unwrap()).await, (400, "malformed_request".into()));
    assert_eq!(
        code(post(r#"{"name": "a", "nickname": "x"}"#).await.unwrap()).await,
        (400, "malformed_request".into()),
        "unknown fields are refused"
    );
    assert_eq!(
        code(post(r#"{"name": 5}"#).await.unwrap()).await,
        (400, "malformed_request".into()),
        "wrong types are refused"
    );
    let long = format!(r#"{{"name": "{}"}}"#, "长".repeat(65));
    let r = http
        .post(t.url("/api/v1/customers"))
        .bearer_auth(&f.token)
        .header("content-type", "application/json")
        .body(long)
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (400, "invalid_input".into()));
    assert_eq!(code(post(r#"{"name": "a", "phone": "12345"}"#).await.unwrap()).await, (400, "invalid_input".into()));
    assert_eq!(
        code(post(r#"{"name": "a", "phone": "138****5678"}"#).await.unwrap()).await,
        (400, "masked_phone".into())
    );
    let r = http.post(t.url("/api/v1/customers")).bearer_auth(&f.token).body(r#"{"name": "a"}"#).send().await.unwrap();
    assert_eq!(code(r).await, (415, "unsupported_media_type".into()));
    let r = http.get(t.url("/api/v1/customers?limit=0")).bearer_auth(&f.token).send().await.unwrap();
    assert_eq!(code(r).await, (400, "invalid_input".into()));
    let r = http.get(t.url("/api/v1/customers?cursor=garbage")).bearer_auth(&f.token).send().await.unwrap();
    assert_eq!(code(r).await, (400, "invalid_input".into()));
    let r = http.get(t.url("/api/v1/customers/not-a-uuid")).bearer_auth(&f.token).send().await.unwrap();
    assert_eq!(code(r).await, (404, "not_found".into()));
    let r = http.get(t.url("/api/v1/customers")).send().await.unwrap();
    assert_eq!(code(r).await, (401, "unauthenticated".into()));
    let r = http.get(t.url("/api/v1/customers")).bearer_auth("syk_garbage").send().await.unwrap();
    assert_eq!(code(r).await, (401, "unauthenticated".into()));
    let r = http.get(t.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(code(r).await, (404, "not_found".into()));

    // A duplicate identity fails the whole create: no customer, no other identity, no timeline.
    let (s, _) =
        t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "先来", "phone": "13911112222"}))).await;
    assert_eq!(s, 201);
    let (s, body) = t
        .api(
            "POST",
            "/api/v1/customers",
            &f.token,
            Some(json!({"name": "后到", "email": "a@b.cn", "phone": "139 1111 2222"})),
        )
        .await;
    assert_eq!((s, body["code"].as_str()), (409, Some("duplicate_identity")));
    let (_, list) = t.api("GET", "/api/v1/customers", &f.token, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing half-written");
    let (_, by_email) = t.api("GET", "/api/v1/customers?q=a@b.cn", &f.token, None).await;
    assert!(by_email["items"].as_array().unwrap().is_empty());

    // Unknown tags and custom fields are refused before anything is written.
    let (s, body) = t
        .api(
            "POST",
            "/api/v1/customers",
            &f.token,
            Some(json!({"name": "x", "tags": ["00000000-0000-7000-8000-000000000000"]})),
        )
        .await;
    assert_eq!((s, body["code"].as_str()), (400, Some("invalid_input")));
    let (s, body) =
        t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "x", "custom": {"nope": 1}}))).await;
    assert_eq!((s, body["field"].as_str()), (400, Some("custom.nope")));
}

#[tokio::test]
async fn a_customer_found_by_phone_can_be_tagged_and_the_tag_shows_on_the_timeline() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (_, g) = t
        .api(
            "POST",
            "/api/v1/tag-groups",
            &f.token,
            Some(json!({"name": "等级", "exclusive": true, "tags": ["银卡", "金卡"]})),
        )
        .await;
    let (silver, gold) = (g["tags"][0]["id"].clone(), g["tags"][1]["id"].clone());
    t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "王女士", "phone": "+86 138-0013-9999"}))).await;
    let (_, found) = t.api("GET", "/api/v1/customers?q=13800139999", &f.token, None).await;
    let id = found["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(found["items"][0]["phone"], "138****9999");
    let (s, _) = t.api("POST", &format!("/api/v1/customers/{id}/tags"), &f.token, Some(json!({"add": [silver]}))).await;
    assert_eq!(s, 200);
    let (_, r) = t.api("POST", &format!("/api/v1/customers/{id}/tags"), &f.token, Some(json!({"add": [gold]}))).await;
    assert_eq!(r["removed"], json!([silver]), "an exclusive group holds one tag");
    let (_, tl) = t.api("GET", &format!("/api/v1/customers/{id}/timeline"), &f.token, None).await;
    let kinds: Vec<&str> = tl["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["tag_added", "tag_removed", "tag_added", "customer_created"]);
    assert_eq!(tl["items"][0]["payload"]["tag"], "金卡");
}

#[tokio::test]
async fn a_bulk_tag_job_tags_every_matching_customer_and_reports_progress() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (_, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "活动", "tags": ["双11"]}))).await;
    let tag = g["tags"][0]["id"].clone();
    for i in 0..7 {
        t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": format!("批量{i}")}))).await;
    }
    t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "其他"}))).await;
    let (s, job) = t
        .api(
            "POST",
            "/api/v1/customers/bulk-tag",
            &f.token,
            Some(json!({"target": {"filter": {"q": "批量"}}, "add": [tag]})),
        )
        .await;
    assert_eq!((s, job["status"].as_str(), job["progress_total"].as_i64()), (202, Some("queued"), Some(7)));
    assert_eq!(t.app.run_due_work().await.unwrap(), 1);
    let (_, done) = t.api("GET", &format!("/api/v1/jobs/{}", job["id"].as_str().unwrap()), &f.token, None).await;
    assert_eq!((done["status"].as_str(), done["result"]["customers"].as_i64()), (Some("done"), Some(7)));
    let (_, tagged) =
        t.api("GET", &format!("/api/v1/customers?tags_any={}", tag.as_str().unwrap()), &f.token, None).await;
    assert_eq!(tagged["items"].as_array().unwrap().len(), 7);
}
