//! Demo event sources: a website and a mini-program sending a few days of Segment-format events through the
//! real ingest path, so the console's event debugger has something to show; and a fresh write key per run.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use siyu_app::{Actor, App};
use siyu_domain::event::Endpoint;
use siyu_domain::identity::IdentityKind;
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
    sent += identity_stories(app, owner, &mini).await?;
    Ok(sent)
}

/// The second mini-program (门店小程序) whose visitors the identity graph links to known customers.
const STORE_APP: &str = "wx5d0c7e3a9b1f2468";

/// Identity-graph stories on real customers: a store mini-program visitor who logs in (code2Session gives
/// the unionid) merges into the known customer; a visitor typing a masked phone (`139****5678`, as order
/// exports show it) only raises a merge suggestion; one device claiming two unionids raises a conflict.
async fn identity_stories(app: &App, owner: &Actor, key: &str) -> anyhow::Result<u64> {
    let filter = siyu_domain::customer::CustomerFilter::default();
    let page = siyu_domain::page::PageRequest { after: None, limit: 60 };
    let listed = app.list_customers(owner, &filter, page).await.map_err(err)?;
    let (mut unionids, mut masked) = (Vec::new(), Vec::new());
    for c in listed.items {
        let ids = app.store.identities().of_customer(owner.tenant, c.customer.id).await?;
        for i in ids {
            match i.identity.kind {
                IdentityKind::Unionid if unionids.len() < 8 => unionids.push(i.identity.display),
                IdentityKind::Phone if masked.len() < 3 => masked.push(i.identity.display),
                _ => {}
            }
        }
    }
    let external = |kind: &str, ns: Option<&str>, id: &str| match ns {
        Some(app) => json!({"type": kind, "appid": app, "id": id, "collection": "users", "encoding": "none"}),
        None => json!({"type": kind, "id": id, "collection": "users", "encoding": "none"}),
    };
    let mut batches: Vec<Vec<Value>> = vec![Vec::new(), Vec::new()];
    for (i, union) in unionids.iter().take(6).enumerate() {
        let anon = format!("store-visitor-{i:02}");
        let openid = format!("oSTORE{i:02}demo7xQ2");
        let visit = json!({"type": "track", "event": "Store Coupon Viewed", "anonymousId": anon,
            "properties": {"coupon": "到店满 200 减 30"}, "context": {"externalIds": [external("openid", Some(STORE_APP), &openid)]}});
        let login = json!({"type": "identify", "anonymousId": anon, "traits": {"nickname": "门店会员"},
            "context": {"externalIds": [external("openid", Some(STORE_APP), &openid), external("unionid", None, union)]}});
        batches[0].push(visit);
        batches[1].push(login);
    }
    for (i, phone) in masked.iter().enumerate() {
        batches[0]
            .push(json!({"type": "identify", "anonymousId": format!("claim-{i:02}"), "traits": {"phone": phone}}));
    }
    if let [a, b, ..] = unionids.as_slice() {
        batches[1].push(json!({"type": "track", "event": "Shared Device Login", "anonymousId": "kiosk-01",
            "context": {"externalIds": [external("unionid", None, &a[..]), external("unionid", None, &b[..])]}}));
    }
    let mut sent = 0;
    for (n, batch) in batches.into_iter().enumerate() {
        let batch: Vec<Value> = batch
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                e["messageId"] = Value::String(format!("demo-identity-{n}-{i}"));
                e
            })
            .collect();
        sent += batch.len() as u64;
        let body = serde_json::to_vec(&json!({"batch": batch}))?;
        app.ingest(Endpoint::Batch, &body, Some(key)).await.map_err(err)?;
        // The visits resolve before the logins arrive, as they would in a day of traffic.
        while app.resolve_pending_events().await.map_err(err)? > 0 {}
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
