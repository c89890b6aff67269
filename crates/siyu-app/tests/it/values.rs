//! Customer value: RFM scores agree row for row with the same RFM written by hand in SQL (fixed thresholds
//! and quantiles), the built-in RFM segments follow a run, CLV fits on the tenant's orders and its values
//! are usable in segments.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use siyu_app::customers::NewCustomerInput;
use siyu_app::segments::SegmentInput;
use siyu_domain::id::CustomerId;
use siyu_domain::order::MallOrderInput;
use siyu_domain::rfm::{RfmConfig, Scoring};
use siyu_domain::segment::SegmentKind;
use siyu_store::BackendKind;
use uuid::Uuid;

use crate::Ctx;

crate::on_both_backends!(
    rfm_scores_agree_row_for_row_with_rfm_written_by_hand_in_sql,
    an_rfm_run_creates_the_built_in_segments_and_logs_moves_between_classes,
    clv_fits_on_the_orders_and_its_values_are_usable_in_segments,
    erasing_a_customer_takes_them_out_of_every_segment_and_drops_their_scores,
);

/// `n` customers with 0–6 mall orders each over the last 500 days, in every status, some refunded.
pub async fn customers_with_orders(ctx: &Ctx, n: usize, seed: u64) -> Vec<CustomerId> {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Utc::now();
    let mut ids = Vec::new();
    for i in 0..n {
        let c = app
            .create_customer(owner, NewCustomerInput { name: format!("客户{i}"), ..Default::default() })
            .await
            .unwrap()
            .id;
        ids.push(c);
        for j in 0..rng.gen_range(0..7) {
            let at = now - Duration::days(rng.gen_range(0..500)) - Duration::minutes(rng.gen_range(0..1440));
            let status =
                ["paid", "received", "shipped", "refunded", "closed", "partially_refunded"].choose(&mut rng).unwrap();
            let price: i64 = rng.gen_range(1..3000) * 100;
            let refunds = match *status {
                "partially_refunded" => json!([{"amount_fen": rng.gen_range(1..=price)}]),
                _ => json!([]),
            };
            let body = json!({"platform_order_id": format!("V{i}-{j}"), "status": status, "ordered_at": at, "paid_at": at,
                "paid_fen": price, "refunds": refunds, "buyer": {"customer_id": c},
                "lines": [{"sku_id": "SKU-1", "title": "商品", "quantity": 1, "paid_fen": price}]});
            let input: MallOrderInput = serde_json::from_value(body).unwrap();
            app.post_mall_order(owner, input).await.unwrap();
        }
    }
    ids
}

type Row = (Uuid, i64, i64, i64, i64, i64, i64);

/// RFM by hand: per customer the days since the last counted order (Beijing days), purchase days and net
/// spend in the last 365 days, then scores by fixed cut points or by RANK() quintiles.
async fn rfm_by_hand(ctx: &Ctx, today: &str, quantiles: bool) -> BTreeMap<Uuid, Row> {
    let store = &ctx.app.store;
    let (day, ago) = match store.kind() {
        BackendKind::Sqlite => {
            ("date(COALESCE(paid_at, placed_at), '+8 hours')", "CAST(julianday($2) - julianday(d) AS INTEGER)")
        }
        BackendKind::Postgres => {
            ("(COALESCE(paid_at, placed_at) AT TIME ZONE 'Asia/Shanghai')::date", "($2::date - d)")
        }
    };
    let b = |e: &str| match store.kind() {
        BackendKind::Sqlite => format!("({e})"),
        BackendKind::Postgres => format!("({e})::int"),
    };
    let scores = if quantiles {
        "1 + (5 * (RANK() OVER (ORDER BY recency_days DESC) - 1)) / COUNT(*) OVER () AS r, \
         1 + (5 * (RANK() OVER (ORDER BY frequency ASC) - 1)) / COUNT(*) OVER () AS f, \
         1 + (5 * (RANK() OVER (ORDER BY monetary ASC) - 1)) / COUNT(*) OVER () AS m"
            .to_string()
    } else {
        format!(
            "1 + {} + {} + {} + {} AS r, 1 + {} + {} + {} + {} AS f, 1 + {} + {} + {} + {} AS m",
            b("recency_days <= 30"),
            b("recency_days <= 90"),
            b("recency_days <= 180"),
            b("recency_days <= 365"),
            b("frequency >= 2"),
            b("frequency >= 3"),
            b("frequency >= 5"),
            b("frequency >= 8"),
            b("monetary >= 10000"),
            b("monetary >= 30000"),
            b("monetary >= 80000"),
            b("monetary >= 200000"),
        )
    };
    let sql = format!(
        "WITH o AS (SELECT customer_id AS c, {day} AS d, paid_fen - refunded_fen AS net FROM orders \
           WHERE tenant_id = $1 AND customer_id IS NOT NULL AND paid_fen - refunded_fen > 0 \
           AND status IN ('paid', 'shipped', 'received', 'partially_refunded')), \
         o2 AS (SELECT c, d, net, {ago} AS ago FROM o), \
         v AS (SELECT c, MIN(ago) AS recency_days, COUNT(DISTINCT CASE WHEN ago < 365 THEN d END) AS frequency, \
           COALESCE(SUM(CASE WHEN ago < 365 THEN net END), 0) AS monetary FROM o2 WHERE ago >= 0 GROUP BY c) \
         SELECT c, CAST(recency_days AS BIGINT), CAST(frequency AS BIGINT), CAST(monetary AS BIGINT), \
           CAST(r AS BIGINT), CAST(f AS BIGINT), CAST(m AS BIGINT) FROM (SELECT c, recency_days, frequency, monetary, {scores} FROM v) s"
    );
    let tenant = ctx.owner.tenant.0;
    let rows: Vec<Row> = match store.kind() {
        BackendKind::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&ctx.db_url()).await.unwrap();
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(today).fetch_all(&pool).await.unwrap()
        }
        BackendKind::Postgres => {
            let pool = sqlx::PgPool::connect(&ctx.db_url()).await.unwrap();
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant).bind(today).fetch_all(&pool).await.unwrap()
        }
    };
    rows.into_iter().map(|r| (r.0, r)).collect()
}

async fn ours(ctx: &Ctx, ids: &[CustomerId]) -> BTreeMap<Uuid, Row> {
    let mut out = BTreeMap::new();
    for id in ids {
        if let Some(s) = ctx.app.store.rfm().of_customer(ctx.owner.tenant, *id).await.unwrap() {
            let row =
                (id.0, s.recency_days.into(), s.frequency.into(), s.monetary_fen, s.r.into(), s.f.into(), s.m.into());
            out.insert(id.0, row);
        }
    }
    out
}

async fn rfm_scores_agree_row_for_row_with_rfm_written_by_hand_in_sql(ctx: Ctx) {
    let ids = customers_with_orders(&ctx, 80, 11).await;
    let run = ctx.app.compute_rfm(ctx.owner.tenant).await.unwrap();
    let today = (run.as_of + Duration::hours(8)).format("%Y-%m-%d").to_string();
    let mine = ours(&ctx, &ids).await;
    assert!(mine.len() > 40, "most customers have a counted order ({})", mine.len());
    assert_eq!(mine, rfm_by_hand(&ctx, &today, false).await, "fixed thresholds");
    let spread: std::collections::BTreeSet<i64> = mine.values().map(|r| r.4).collect();
    assert!(spread.len() >= 3, "the data spreads over R scores: {spread:?}");

    let config = RfmConfig { scoring: Scoring::Quantiles, ..RfmConfig::default() };
    let run = ctx.app.set_rfm_config(&ctx.owner, config).await.unwrap();
    assert_eq!(run.config_version, 2);
    let today = (run.as_of + Duration::hours(8)).format("%Y-%m-%d").to_string();
    assert_eq!(ours(&ctx, &ids).await, rfm_by_hand(&ctx, &today, true).await, "quantiles");
}

async fn an_rfm_run_creates_the_built_in_segments_and_logs_moves_between_classes(ctx: Ctx) {
    let ids = customers_with_orders(&ctx, 30, 5).await;
    let run = ctx.app.compute_rfm(ctx.owner.tenant).await.unwrap();
    assert_eq!(run.classes.values().sum::<u64>(), run.scored);
    assert!(run.moves.iter().all(|(from, _, _)| from == "none"), "the first run moves everyone from nowhere");
    let segments = ctx.app.list_segments(&ctx.owner).await.unwrap();
    let names: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
    for name in ["RFM·重要价值", "RFM·一般挽留", "RFM分层·价值", "超级用户"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let total: i64 = segments.iter().filter(|s| s.name.starts_with("RFM·")).map(|s| s.member_count).sum();
    assert_eq!(total as u64, run.scored, "every scored customer is in exactly one class segment");

    // A second run with nothing changed moves no one and leaves the segments as they are.
    let again = ctx.app.compute_rfm(ctx.owner.tenant).await.unwrap();
    assert!(again.moves.is_empty(), "{:?}", again.moves);
    assert_eq!(ctx.app.list_segments(&ctx.owner).await.unwrap().len(), segments.len());
    let (rfm, _) = ctx.app.customer_values(&ctx.owner, ids[0]).await.unwrap();
    if let Some(r) = rfm {
        assert!((1..=5).contains(&r.r) && (1..=5).contains(&r.f) && (1..=5).contains(&r.m));
    }
    assert_eq!(ctx.app.rfm_overview(&ctx.owner).await.unwrap().runs.len(), 2);
}

/// Posts paid mall orders for `customer` on the given days ago.
async fn orders_on(ctx: &Ctx, customer: CustomerId, tag: &str, days_ago: &[i64], price: i64) {
    for (j, d) in days_ago.iter().enumerate() {
        let at = Utc::now() - Duration::days(*d);
        let body = json!({"platform_order_id": format!("{tag}-{j}"), "status": "received", "ordered_at": at, "paid_at": at,
            "paid_fen": price, "buyer": {"customer_id": customer},
            "lines": [{"sku_id": "SKU-1", "title": "商品", "quantity": 1, "paid_fen": price}]});
        let input: MallOrderInput = serde_json::from_value(body).unwrap();
        ctx.app.post_mall_order(&ctx.owner, input).await.unwrap();
    }
}

async fn clv_fits_on_the_orders_and_its_values_are_usable_in_segments(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let mut rng = StdRng::seed_from_u64(9);
    let (mut loyal, mut lapsed) = (Vec::new(), Vec::new());
    for i in 0..90 {
        let c = app
            .create_customer(owner, NewCustomerInput { name: format!("客户{i}"), ..Default::default() })
            .await
            .unwrap()
            .id;
        let price = rng.gen_range(50..400) * 100;
        match i % 3 {
            // Buys every few weeks up to now.
            0 => {
                let mut d = rng.gen_range(250..400);
                let mut days = Vec::new();
                while d > 3 {
                    days.push(d);
                    d -= rng.gen_range(10..40);
                }
                orders_on(&ctx, c, &format!("L{i}"), &days, price).await;
                loyal.push(c);
            }
            // Bought often a long time ago, then stopped.
            1 => {
                let start = rng.gen_range(420..500);
                let days: Vec<i64> = (0..rng.gen_range(3..7)).map(|k| start - k * 15).collect();
                orders_on(&ctx, c, &format!("P{i}"), &days, price).await;
                lapsed.push(c);
            }
            // Bought once.
            _ => orders_on(&ctx, c, &format!("O{i}"), &[rng.gen_range(1..500)], price).await,
        }
    }
    let model = app.fit_clv(owner.tenant).await.unwrap().expect("there are purchases to fit on");
    let bg = &model.purchases;
    assert!(bg.converged, "{bg:?}");
    assert!(bg.log_likelihood >= bg.initial_log_likelihood);
    let mut stored = std::collections::HashMap::new();
    for v in app.store.clv().top(owner.tenant, 1000).await.unwrap() {
        stored.insert(v.customer_id, v);
    }
    let mean = |ids: &[CustomerId], f: fn(&siyu_domain::clv::CustomerClv) -> f64| {
        ids.iter().map(|id| f(&stored[id])).sum::<f64>() / ids.len() as f64
    };
    let (alive_loyal, alive_lapsed) = (mean(&loyal, |v| v.p_alive), mean(&lapsed, |v| v.p_alive));
    assert!(alive_loyal > alive_lapsed + 0.2, "loyal {alive_loyal} vs lapsed {alive_lapsed}");
    let (buy_loyal, buy_lapsed) = (mean(&loyal, |v| v.expected_purchases), mean(&lapsed, |v| v.expected_purchases));
    assert!(buy_loyal > 2.0 * buy_lapsed, "loyal {buy_loyal} vs lapsed {buy_lapsed}");

    let overview = app.clv_overview(owner).await.unwrap();
    assert!(overview.top.windows(2).all(|w| w[0].clv_fen >= w[1].clv_fen), "highest first");
    assert!(overview.top.iter().all(|v| (0.0..=1.0).contains(&v.p_alive)));
    let values = app.store.clv().values(owner.tenant).await.unwrap();
    assert_eq!(values.len(), 90);
    assert_eq!(overview.distribution.iter().map(|b| b.1).sum::<i64>(), 90);

    let threshold = values[values.len() * 3 / 4];
    let input = SegmentInput {
        name: "高价值".into(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        definition: None,
        text: Some(format!("clv_fen >= {threshold}")),
        rule_tag: None,
    };
    let s = app.create_segment(owner, input).await.unwrap();
    assert_eq!(s.member_count as usize, values.iter().filter(|v| **v >= threshold).count());
    app.create_customer(owner, NewCustomerInput { name: "新客".into(), ..Default::default() }).await.unwrap();
    let input = SegmentInput {
        name: "未计算".into(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        definition: None,
        text: Some("clv_fen is not set".into()),
        rule_tag: None,
    };
    let unset = app.create_segment(owner, input).await.unwrap();
    assert_eq!(unset.member_count, 1, "a customer without orders has no CLV");
}

async fn erasing_a_customer_takes_them_out_of_every_segment_and_drops_their_scores(ctx: Ctx) {
    let ids = customers_with_orders(&ctx, 20, 4).await;
    ctx.app.compute_rfm(ctx.owner.tenant).await.unwrap();
    let store = &ctx.app.store;
    let mut scored = None;
    for id in &ids {
        if store.rfm().of_customer(ctx.owner.tenant, *id).await.unwrap().is_some() {
            scored = Some(*id);
            break;
        }
    }
    let c = scored.expect("someone was scored");
    assert!(!store.segments().of_customer(ctx.owner.tenant, c).await.unwrap().is_empty(), "in an RFM class segment");
    ctx.app.erase_customer(&ctx.owner, c).await.unwrap();
    assert!(store.segments().of_customer(ctx.owner.tenant, c).await.unwrap().is_empty());
    assert!(store.segments().changes_of_customer(ctx.owner.tenant, c, 10).await.unwrap().is_empty());
    assert!(store.rfm().of_customer(ctx.owner.tenant, c).await.unwrap().is_none());
    // An erased customer never matches again, so the next run and refreshes leave them out.
    ctx.app.compute_rfm(ctx.owner.tenant).await.unwrap();
    assert!(store.segments().of_customer(ctx.owner.tenant, c).await.unwrap().is_empty());
    assert!(store.rfm().of_customer(ctx.owner.tenant, c).await.unwrap().is_none(), "their kept orders are not scored");
}
