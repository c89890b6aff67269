//! `POST /api/v1/orders` (the own mall's orders), the customer's aggregates and activity endpoints, and the
//! customer page's figures card and activity filter.

use serde_json::{Value, json};

use crate::helpers::{Fixture, TestApp, spawn_app};

/// A customer with a unionid and a phone, created through the API; returns their id.
async fn customer(t: &TestApp, f: &Fixture) -> String {
    let body = json!({"name": "小林", "phone": "13712345678",
        "identities": [{"kind": "unionid", "value": "U-web-1"}]});
    let (s, c) = t.api("POST", "/api/v1/customers", &f.token, Some(body)).await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

fn order(id: &str, status: &str, buyer: Value) -> Value {
    json!({"platform_order_id": id, "shop": "官方商城", "status": status, "ordered_at": "2025-05-20T20:00:00+08:00",
        "paid_at": "2025-05-20T20:01:00+08:00", "shipping_fen": 800, "paid_fen": 26_800,
        "lines": [{"line_id": "1", "sku_id": "SERUM-30", "title": "精华 30ml", "quantity": 1, "unit_price_fen": 18_000},
                  {"line_id": "2", "sku_id": "MASK-5", "title": "面膜 5片", "quantity": 2, "unit_price_fen": 4_000}],
        "buyer": buyer})
}

async fn post_with_key(t: &TestApp, token: &str, key: &str, body: &Value) -> (u16, Option<String>, Value) {
    let res = reqwest::Client::new()
        .post(t.url("/api/v1/orders"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let replayed = res.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap().to_string());
    (status, replayed, res.json().await.unwrap())
}

#[tokio::test]
async fn posting_a_mall_order_creates_it_and_posting_it_again_with_a_newer_status_updates_it() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let id = customer(&t, &f).await;
    let body = order("MO-1", "paid", json!({"unionid": "U-web-1"}));
    let (s, created) = t.api("POST", "/api/v1/orders", &f.token, Some(body.clone())).await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["outcome"], "created");
    assert_eq!(created["order"]["platform"], "own_mall");
    assert_eq!(created["order"]["customer_id"], id.as_str());
    assert_eq!(created["order"]["match_method"], "unionid");
    let paid: Vec<i64> = created["lines"].as_array().unwrap().iter().map(|l| l["paid_fen"].as_i64().unwrap()).collect();
    assert_eq!(paid, vec![18_000, 8_000], "26 000 fen of goods split by list price");

    let (s, again) = t.api("POST", "/api/v1/orders", &f.token, Some(body)).await;
    assert_eq!((s, again["outcome"].as_str()), (200, Some("unchanged")));
    let (s, shipped) = t.api("POST", "/api/v1/orders", &f.token, Some(order("MO-1", "shipped", json!({})))).await;
    assert_eq!(
        (s, shipped["outcome"].as_str(), shipped["status_changed"].as_bool()),
        (200, Some("updated"), Some(true))
    );
    assert_eq!(shipped["order"]["customer_id"], id.as_str(), "a stored match is kept");
    let history: Vec<&str> = shipped["history"].as_array().unwrap().iter().map(|h| h["to"].as_str().unwrap()).collect();
    assert_eq!(history, vec!["paid", "shipped"]);

    let (s, a) = t.api("GET", &format!("/api/v1/customers/{id}/aggregates"), &f.token, None).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        (a["order_count"].as_i64(), a["order_days"].as_i64(), a["paid_fen"].as_i64()),
        (Some(1), Some(1), Some(26_800))
    );
    assert_eq!(a["platforms"], json!(["own_mall"]));
    assert_eq!(a["products"][0]["sku_id"], "MASK-5", "two masks outnumber one serum");

    let (s, orders) = t.api("GET", &format!("/api/v1/customers/{id}/activity?kind=orders"), &f.token, None).await;
    assert_eq!(s, 200, "{orders}");
    let types: Vec<&str> = orders["items"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["timeline", "order"], "the status change (now), then the order (placed in May 2025)");
    let (s, page) = t.api("GET", &format!("/api/v1/customers/{id}/activity?limit=1"), &f.token, None).await;
    assert_eq!(s, 200);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (s, next) =
        t.api("GET", &format!("/api/v1/customers/{id}/activity?limit=1&cursor={cursor}"), &f.token, None).await;
    assert_eq!((s, next["items"].as_array().unwrap().len()), (200, 1));
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_to_a_mall_order_post() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let body = order("MO-2", "paid", json!({"platform_buyer_id": "member-1"}));
    let (s, replayed, first) = post_with_key(&t, &f.token, "order-MO-2", &body).await;
    assert_eq!((s, replayed), (201, None));
    let (s, replayed, second) = post_with_key(&t, &f.token, "order-MO-2", &body).await;
    assert_eq!((s, replayed.as_deref()), (201, Some("true")));
    assert_eq!(first, second);
    let (s, _, reused) = post_with_key(&t, &f.token, "order-MO-2", &order("MO-3", "paid", json!({}))).await;
    assert_eq!((s, reused["code"].as_str()), (422, Some("idempotency_key_reused")));
}

#[tokio::test]
async fn a_masked_phone_posted_with_a_mall_order_never_matches_the_customer_who_has_that_number() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    customer(&t, &f).await;
    let (s, o) =
        t.api("POST", "/api/v1/orders", &f.token, Some(order("MO-4", "paid", json!({"phone": "137****5678"})))).await;
    assert_eq!(s, 201, "{o}");
    assert_eq!((o["order"]["customer_id"].clone(), o["order"]["match_method"].clone()), (Value::Null, Value::Null));
    assert_eq!(o["order"]["hints"][0]["kind"], "masked_phone");
}

#[tokio::test]
async fn a_bad_mall_order_body_answers_400_with_a_stable_code_and_field() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let mut missing = order("X", "paid", json!({}));
    missing.as_object_mut().unwrap().remove("platform_order_id");
    let mut unknown = order("X", "paid", json!({}));
    unknown["coupon"] = json!("FREE");
    let mut negative = order("X", "paid", json!({}));
    negative["paid_fen"] = json!(-1);
    let mut mismatch = order("X", "paid", json!({}));
    mismatch["lines"][0]["paid_fen"] = json!(1);
    mismatch["lines"][1]["paid_fen"] = json!(1);
    let cases = [
        (missing, "malformed_request", None),
        (unknown, "malformed_request", None),
        (order("X", "unheard_of", json!({})), "malformed_request", None),
        (negative, "invalid_input", Some("paid_fen")),
        (order("X", "paid", json!({"openid": "oX"})), "invalid_input", Some("buyer.appid")),
        (mismatch, "invalid_input", Some("lines")),
        (order("X Y", "paid", json!({})), "invalid_input", Some("platform_order_id")),
    ];
    for (body, code, field) in cases {
        let (s, e) = t.api("POST", "/api/v1/orders", &f.token, Some(body)).await;
        assert_eq!((s, e["code"].as_str(), e["field"].as_str()), (400, Some(code), field), "{e}");
    }
    let (s, e) = t
        .api("GET", &format!("/api/v1/customers/{}/activity?kind=chats", customer(&t, &f).await), &f.token, None)
        .await;
    assert_eq!((s, e["code"].as_str(), e["field"].as_str()), (400, Some("invalid_input"), Some("kind")));
}

#[tokio::test]
async fn the_customer_page_shows_the_figures_card_and_filters_its_activity_list() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let id = customer(&t, &f).await;
    let (s, _) =
        t.api("POST", "/api/v1/orders", &f.token, Some(order("MO-5", "received", json!({"unionid": "U-web-1"})))).await;
    assert_eq!(s, 201);
    let console = t.console(&f.owner.username).await;
    let html = console.get(t.url(&format!("/console/customers/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("消费与活跃"), "the figures card");
    assert!(html.contains(r#"id="agg-orders">1<"#) && html.contains("¥268.00"), "one order of ¥268.00");
    assert!(html.contains("自营商城"), "the platform and the channel");
    assert!(html.contains("面膜 5片"), "the most bought product");
    assert!(html.contains(r#"id="timeline-list""#) && html.contains("下单"), "the order stands in the activity list");

    let fragment = |q: &'static str| {
        let (console, url) = (console.clone(), t.url(&format!("/console/customers/{id}/timeline?{q}")));
        async move { console.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let orders = fragment("kind=orders").await;
    assert!(orders.contains("下单") && !orders.contains("创建客户"), "{orders}");
    let other = fragment("kind=other").await;
    assert!(other.contains("创建客户") && !other.contains("下单"), "{other}");
    assert!(fragment("kind=notes").await.contains("没有符合条件的动态"));
    assert!(fragment("source=own_mall").await.contains("MO-5"));
}
