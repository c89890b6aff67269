//! Two `siyu serve` nodes on one database behave as one: sessions, idempotency keys and login rate
//! limits carry across them (they live in the database, not in a node's memory).

use std::sync::Arc;

use serde_json::json;

use crate::helpers::{PASSWORD, fresh_db, spawn_on};

#[tokio::test]
async fn a_session_an_idempotency_key_and_a_login_rate_limit_carry_across_two_nodes() {
    let db = Arc::new(fresh_db().await);
    let (one, two) = (spawn_on(db.clone()).await, spawn_on(db).await);
    let f = one.tenant("品牌").await;

    // A session made on node one is valid on node two.
    let login = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = login
        .post(one.url("/console/login"))
        .form(&[("username", f.owner.username.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let page = login.get(two.url("/console")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("品牌"));

    // An idempotency key used on node one replays on node two.
    let body = json!({"name": "幂等客户"});
    let http = reqwest::Client::new();
    let first = http
        .post(one.url("/api/v1/customers"))
        .bearer_auth(&f.token)
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let again = http
        .post(two.url("/api/v1/customers"))
        .bearer_auth(&f.token)
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"], "the replay is the first response");
    let (_, list) = two.api("GET", "/api/v1/customers?q=幂等", &f.token, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "created once");
    let other = http
        .post(two.url("/api/v1/customers"))
        .bearer_auth(&f.token)
        .header("idempotency-key", "k-1")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 422);

    // Failed logins counted on both nodes add up to one limit.
    let max = one.app.settings.security.login_max_failures;
    for i in 0..max {
        let node = if i % 2 == 0 { &one } else { &two };
        let res = login
            .post(node.url("/console/login"))
            .form(&[("username", f.owner.username.as_str()), ("password", "wrong password")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
    }
    for node in [&one, &two] {
        let res = login
            .post(node.url("/console/login"))
            .form(&[("username", f.owner.username.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 429, "even the right password is refused while limited");
        assert!(res.headers().contains_key("retry-after"));
    }
}
