//! The demo's material library (素材库): folders, a few materials of each kind (images and a poster drawn in
//! code), one restricted to a department, a second version of one, and sends and opens by staff so the
//! statistics have numbers. Deterministic.

use chrono::{Duration, Utc};
use serde_json::json;
use siyu_app::materials::thumbnail::sample_png;
use siyu_app::materials::usage::MaterialUsage;
use siyu_app::materials::{FolderInput, Upload};
use siyu_app::{Actor, App};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::material::{MaterialInput, MaterialKind, UsageAction};
use siyu_store::customers::CustomerQuery;

use super::err;

fn input(kind: MaterialKind, title: &str, body: &str, tags: &[&str], content: serde_json::Value) -> MaterialInput {
    MaterialInput {
        kind,
        title: title.into(),
        body: body.into(),
        folder_id: None,
        tags: tags.iter().map(|t| (*t).to_string()).collect(),
        visibility: Default::default(),
        content: serde_json::from_value(content).unwrap_or_default(),
        open_tag_ids: Vec::new(),
    }
}

/// Seeds the library; returns how many materials.
pub async fn seed(app: &App, owner: &Actor) -> anyhow::Result<usize> {
    let folder = |name: &str| FolderInput { name: name.into(), parent_id: None };
    let promo = app.create_material_folder(owner, &folder("大促活动")).await.map_err(err)?;
    let products = app.create_material_folder(owner, &folder("产品资料")).await.map_err(err)?;
    let mut made = Vec::new();
    let items: Vec<(MaterialInput, Option<Upload>, Option<_>)> = vec![
        (
            input(
                MaterialKind::Text,
                "会员日开场白",
                "亲爱的会员您好，本周六会员日全场满 299 减 50，积分双倍。",
                &["会员", "话术"],
                json!({}),
            ),
            None,
            Some(promo.id),
        ),
        (
            input(
                MaterialKind::Text,
                "售后安抚",
                "非常抱歉给您带来不便，我们会在 24 小时内为您处理退换货。",
                &["售后"],
                json!({}),
            ),
            None,
            None,
        ),
        (
            input(MaterialKind::Image, "焕亮精华主图", "春季新品主视觉", &["新品", "精华"], json!({})),
            Some(Upload { file_name: "精华主图.png".into(), bytes: sample_png(800, 800, 120) }),
            Some(products.id),
        ),
        (
            input(MaterialKind::Image, "门店陈列", "旗舰店春季陈列", &["门店"], json!({})),
            Some(Upload { file_name: "门店.png".into(), bytes: sample_png(640, 360, 40) }),
            None,
        ),
        (
            input(
                MaterialKind::Poster,
                "会员日海报",
                "扫码领券",
                &["会员", "大促"],
                json!({"qr": {"x": 520, "y": 860, "size": 200}}),
            ),
            Some(Upload { file_name: "海报.png".into(), bytes: sample_png(750, 1334, 200) }),
            Some(promo.id),
        ),
        (
            input(MaterialKind::File, "产品成分表", "焕亮精华全成分", &["精华"], json!({})),
            Some(Upload {
                file_name: "成分表.pdf".into(),
                bytes: b"%PDF-1.4\n% siyu demo\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec(),
            }),
            Some(products.id),
        ),
        (
            input(
                MaterialKind::Link,
                "换季护肤指南",
                "五步搞定换季敏感肌",
                &["指南"],
                json!({"url": "https://shop.huayang.example.com/guide/skin"}),
            ),
            None,
            None,
        ),
        (
            input(
                MaterialKind::Miniprogram,
                "焕亮精华 30ml",
                "小程序商品卡片",
                &["精华", "商品卡"],
                json!({"appid": "wx5f1c0d2a9b8e7f60", "pagepath": "pages/item/index?sku=SERUM-30"}),
            ),
            None,
            Some(products.id),
        ),
        (
            input(
                MaterialKind::Miniprogram,
                "保湿面膜 5 片",
                "小程序商品卡片",
                &["面膜", "商品卡"],
                json!({"appid": "wx5f1c0d2a9b8e7f60", "pagepath": "pages/item/index?sku=MASK-5"}),
            ),
            None,
            Some(products.id),
        ),
    ];
    for (mut i, up, folder) in items {
        i.folder_id = folder;
        made.push(app.create_material(owner, i, up).await.map_err(err)?);
    }
    // A second version of the first text.
    if let Some(first) = made.first() {
        let mut i = input(
            MaterialKind::Text,
            "会员日开场白",
            "亲爱的会员您好，本周六会员日全场满 299 减 50，积分三倍，还有新品试用装。",
            &["会员", "话术"],
            json!({}),
        );
        i.folder_id = first.folder_id;
        app.update_material(owner, first.id, i, None).await.map_err(err)?;
    }
    // Sends and opens by staff over the last two weeks.
    let staff: Vec<_> =
        app.store.members().list(owner.tenant).await?.into_iter().filter(|m| m.active).take(5).collect();
    let filter = CustomerFilter::default();
    let query = CustomerQuery { filter: &filter, visibility: &None, pii_lookups: Vec::new() };
    let customers = app.store.customers().ids(owner.tenant, &query, None, 30).await?;
    let now = Utc::now();
    for (mi, m) in made.iter().enumerate() {
        for (ci, c) in customers.iter().enumerate().filter(|(ci, _)| (ci + mi) % 3 == 0) {
            let Some(s) = staff.get((ci + mi) % staff.len().max(1)) else { continue };
            let at = now - Duration::hours(((ci * 7 + mi * 5) % 300) as i64 + 24);
            for (action, key, when) in [
                (UsageAction::Sent, format!("demo:send:{mi}:{ci}"), at),
                (UsageAction::Opened, format!("demo:open:{mi}:{ci}"), at + Duration::minutes(20)),
            ] {
                if action == UsageAction::Opened && (ci + mi) % 2 == 1 {
                    continue;
                }
                let usage = MaterialUsage {
                    material_id: m.id,
                    action,
                    user_id: Some(s.user_id),
                    customer_id: Some(siyu_domain::id::CustomerId(c.0)),
                    dedupe_key: key,
                    at: Some(when),
                };
                app.record_material_usage(owner.tenant, &usage).await.map_err(err)?;
            }
        }
    }
    Ok(made.len())
}
