//! Demo event sources: a website and a mini-program sending a few days of Segment-format events through the
//! real ingest path, so the console's event debugger has something to show; and a fresh write key per run.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use siyu_app::{Actor, App};
use siyu_domain::event::Endpoint;
use siyu_domain::source::SourceKind;

use super::err;

/// The source whose key `siyu demo` prints (revoked and re-created on every run: keys are shown once).
const DEMO_SOURCE: &str = "官网 (demo)";

const PRODUCTS: [(&str, &str, i64); 5] = [
    ("SK-101", "玻尿酸精华 30ml", 19_900),
    ("SK-205", "氨基酸洁面乳", 8_900),
    ("SK-318", "防晒乳 SPF50+", 15_800),
    ("SK-402", "修护面霜", 26_800),
    ("SK-550", "卸妆油 200ml", 12_900),
];

/// Sends a few hundred events from two sources (deterministic).
pub async fn seed(app: &App, owner: &Actor) -> anyhow::Result<u64> {
    let (_, web) = app.create_source(owner, "官网", SourceKind::Web).await.map_err(err)?;
    let (_, mini) = app.create_source(owner, "小程序商城", SourceKind::MiniProgram).await.map_err(err)?;
    let mut rng = StdRng::seed_from_u64(0x5E6);
    let mut sent = 0;
    for visitor in 0..60u32 {
        let key = if visitor.is_multiple_of(3) { &mini } else { &web };
        let batch = journey(&mut rng, visitor);
        sent += batch.len() as u64;
        let body = serde_json::to_vec(&json!({"batch": batch, "sentAt": chrono::Utc::now().to_rfc3339()}))?;
        app.ingest(Endpoint::Batch, &body, Some(key)).await.map_err(err)?;
    }
    Ok(sent)
}

/// One visitor's browsing: pages, product views, sometimes a cart and an order, an identify on sign-up.
fn journey(rng: &mut StdRng, visitor: u32) -> Vec<Value> {
    let anon = format!("anon-{visitor:04}");
    let user = visitor.is_multiple_of(2).then(|| format!("member-{visitor:04}"));
    let start = chrono::Utc::now() - chrono::Duration::minutes(rng.gen_range(10..60 * 24 * 3));
    let lib = json!({"library": {"name": "analytics.js", "version": "5.2.0"}, "locale": "zh-CN"});
    let mut out = vec![json!({"type": "page", "name": "首页", "anonymousId": anon, "context": lib,
        "properties": {"path": "/", "referrer": "https://weixin.qq.com"}})];
    for _ in 0..rng.gen_range(1..4) {
        if let Some((sku, name, price)) = PRODUCTS.choose(rng) {
            out.push(json!({"type": "track", "event": "Product Viewed", "anonymousId": anon, "context": lib,
                "properties": {"product_id": sku, "name": name, "price": price, "currency": "CNY"}}));
        }
    }
    if let Some(user) = &user {
        out.push(json!({"type": "identify", "anonymousId": anon, "userId": user, "context": lib,
            "traits": {"name": "会员", "phone": format!("139{:08}", 10_000_000 + visitor), "plan": "银卡"}}));
        if rng.gen_bool(0.4) {
            let (sku, name, price) = PRODUCTS[visitor as usize % PRODUCTS.len()];
            out.push(json!({"type": "track", "event": "Order Completed", "userId": user, "context": lib,
                "properties": {"order_id": format!("D{visitor:06}"), "revenue": price, "currency": "CNY",
                    "products": [{"product_id": sku, "name": name, "price": price, "quantity": 1}]}}));
        }
    }
    for (i, e) in out.iter_mut().enumerate() {
        let at = start + chrono::Duration::seconds(i as i64 * 40);
        e["timestamp"] = Value::String(at.to_rfc3339());
        e["messageId"] = Value::String(format!("demo-{visitor:04}-{i}"));
    }
    out
}

/// Revokes the previous demo source and creates a new one; returns its write key.
pub async fn fresh_key(app: &App, owner: &Actor) -> anyhow::Result<String> {
    for s in app.list_sources(owner).await.map_err(err)? {
        if s.name == DEMO_SOURCE && s.revoked_at.is_none() {
            app.revoke_source(owner, s.id).await.map_err(err)?;
        }
    }
    let (_, key) = app.create_source(owner, DEMO_SOURCE, SourceKind::Server).await.map_err(err)?;
    Ok(key)
}
