//! Demo purchases and audiences: consents and own-mall orders for a share of the customers (loyal repeat
//! buyers, lapsed ones, one-time buyers; some refunds), then RFM and CLV computed on them, and a few saved
//! segments an operator would build (deterministic, fixed seed).

use chrono::{Duration, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use siyu_app::segments::SegmentInput;
use siyu_app::tags::NewTagGroup;
use siyu_app::{Actor, App};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::CustomerId;
use siyu_domain::order::MallOrderInput;
use siyu_domain::privacy::{ConsentPurpose, ConsentSource, ConsentStatus};
use siyu_domain::segment::SegmentKind;
use siyu_domain::tag::TagKind;
use siyu_store::customers::CustomerQuery;

use super::err;

const PRODUCTS: [(&str, &str, i64); 6] = [
    ("SK-101", "玻尿酸精华 30ml", 19_900),
    ("SK-205", "氨基酸洁面乳", 8_900),
    ("SK-318", "防晒乳 SPF50+", 15_800),
    ("SK-402", "修护面霜", 26_800),
    ("SK-550", "卸妆油 200ml", 12_900),
    ("SK-777", "节日礼盒", 59_900),
];

/// Buyers at most (the first customers by id): enough for RFM tiers and a CLV fit, quick to post.
const BUYERS: u32 = 3_000;

/// The days ago a customer bought on, drawn the way BG/NBD assumes people buy: while "alive" at their own
/// rate (gaps exponential around a personal mean of 2 weeks to 8 months), and after each purchase
/// dropping out for good with a personal probability. The first purchase falls in the last two years.
fn purchase_days(rng: &mut StdRng) -> Vec<i64> {
    let mean_gap = [15.0, 30.0, 60.0, 120.0, 240.0][rng.gen_range(0..5)];
    let dropout = [0.05, 0.15, 0.3, 0.6][rng.gen_range(0..4)];
    let mut day = rng.gen_range(1.0..700.0_f64);
    let mut days = Vec::new();
    while day >= 0.0 && days.len() < 40 {
        days.push(day as i64);
        if rng.gen_bool(dropout) {
            break;
        }
        day -= -mean_gap * (1.0 - rng.gen_range(0.0..1.0_f64)).ln();
    }
    days
}

/// Posts the orders; returns how many.
pub async fn seed(app: &App, owner: &Actor) -> anyhow::Result<u64> {
    let filter = CustomerFilter::default();
    let q = CustomerQuery { filter: &filter, visibility: &None, pii_lookups: Vec::new() };
    let ids: Vec<CustomerId> = app.store.customers().ids(owner.tenant, &q, None, BUYERS).await?;
    let mut rng = StdRng::seed_from_u64(0x0D0E);
    let bar = ProgressBar::new(ids.len() as u64).with_style(ProgressStyle::with_template(
        "orders [{bar:40.cyan/blue}] {human_pos}/{human_len} buyers, eta {eta}",
    )?);
    let now = Utc::now();
    let mut posted = 0;
    for (i, c) in ids.iter().enumerate() {
        bar.inc(1);
        // Consents as a sign-up form collects them: most agree to marketing, fewer to ad audiences.
        let marketing = if rng.gen_bool(0.06) { ConsentStatus::Withdrawn } else { ConsentStatus::Granted };
        app.set_consent(owner, *c, ConsentPurpose::Marketing, marketing, Some(ConsentSource::Import))
            .await
            .map_err(err)?;
        if rng.gen_bool(0.4) {
            let (purpose, source) = (ConsentPurpose::AdAudience, Some(ConsentSource::Import));
            app.set_consent(owner, *c, purpose, ConsentStatus::Granted, source).await.map_err(err)?;
        }
        if !rng.gen_bool(0.7) {
            continue;
        }
        // How much this customer buys at a time: some stock up, most take one of each.
        let units: i64 = [1, 1, 1, 2, 3][rng.gen_range(0..5)];
        for (j, d) in purchase_days(&mut rng).into_iter().enumerate() {
            let at = now - Duration::days(d) - Duration::minutes(rng.gen_range(0..600));
            let n = rng.gen_range(1..3);
            let lines: Vec<_> = PRODUCTS.choose_multiple(&mut rng, n).collect();
            let paid: i64 = lines.iter().map(|l| l.2 * units).sum();
            let status = match rng.gen_range(0..20) {
                0 => "refunded",
                1 => "partially_refunded",
                2 => "closed",
                _ if d < 3 => "paid",
                _ => "received",
            };
            let refunds =
                if status == "partially_refunded" { json!([{"amount_fen": lines[0].2 / 2}]) } else { json!([]) };
            let body = json!({"platform_order_id": format!("M{i:05}-{j:02}"), "status": status, "ordered_at": at,
                "paid_at": at, "paid_fen": paid, "refunds": refunds, "buyer": {"customer_id": c},
                "lines": lines.iter().map(|(sku, title, fen)| json!({"sku_id": sku, "title": title, "quantity": units,
                    "unit_price_fen": fen, "paid_fen": fen * units})).collect::<Vec<_>>()});
            let input: MallOrderInput = serde_json::from_value(body)?;
            app.post_mall_order(owner, input).await.map_err(err)?;
            posted += 1;
        }
    }
    bar.finish_and_clear();
    app.compute_rfm(owner.tenant).await.map_err(err)?;
    app.fit_clv(owner.tenant).await.map_err(err)?;
    // Rule tags: members of these segments hold the tag automatically (given on entry, taken on exit).
    let smart = NewTagGroup {
        name: "智能标签".into(),
        exclusive: false,
        kind: TagKind::Enterprise,
        sort: 4,
        tags: vec!["高频复购".into(), "沉睡待唤醒".into()],
    };
    let smart: Vec<_> =
        app.create_tag_group(owner, smart).await.map_err(err)?.tags.into_iter().map(|t| t.tag.id).collect();
    let rule_tag = |name: &str| match name {
        "高频复购" => smart.first().copied(),
        "沉睡老客" => smart.get(1).copied(),
        _ => None,
    };
    for (name, description, text) in [
        (
            "高意向未购",
            "近 30 天加购或浏览过精华、还没有下单的客户",
            r#"event "Product Viewed" >= 1 within 30d and order_count = 0"#,
        ),
        ("复购客户", "买过 2 个以上不同日子的客户", "order_days >= 2"),
        (
            "高频复购",
            "3 天以上下过单、近 90 天还在买：自动打“高频复购”",
            "order_days >= 3 and last_order_at within 90d",
        ),
        (
            "沉睡老客",
            "买过但 180 天没有再买：唤醒对象，自动打“沉睡待唤醒”",
            "order_count >= 1 and last_order_at older_than 180d",
        ),
        ("金卡黑金会员", "会员等级为金卡或黑金", r#"tag any ["金卡", "黑金"]"#),
        ("可投放人群", "同意广告投放且有手机号", "consent ad_audience granted and has phone"),
        ("高价值预测", "预测 12 个月价值 ≥ ¥500 且仍活跃", "clv_fen >= 50000 and p_alive >= 0.5"),
    ] {
        let input = SegmentInput {
            name: name.into(),
            description: description.into(),
            kind: SegmentKind::Dynamic,
            definition: None,
            text: Some(text.into()),
            rule_tag: rule_tag(name),
        };
        app.create_segment(owner, input).await.map_err(err)?;
    }
    Ok(posted)
}
