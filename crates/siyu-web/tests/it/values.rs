//! The customer-value pages: "RFM 价值分层" (classes, heatmap, movement, the configuration form and the
//! run button), "客户终身价值 CLV" (empty state, fitted parameters, distribution, top customers) and the
//! customer page's "价值" card.

use chrono::{Duration, Utc};
use serde_json::json;
use siyu_domain::access::{DataScope, Role};
use siyu_domain::order::MallOrderInput;

use crate::helpers::{Fixture, TestApp, csrf, spawn_app};

async fn customer(t: &TestApp, f: &Fixture, name: &str) -> String {
    let (s, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": name}))).await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

/// A paid mall order of `yuan` by `buyer`, `days_ago` days before now.
async fn order(t: &TestApp, f: &Fixture, buyer: &str, id: &str, days_ago: i64, yuan: i64) {
    let at = (Utc::now() - Duration::days(days_ago)).to_rfc3339();
    let fen = yuan * 100;
    let body = json!({"platform_order_id": id, "status": "paid", "ordered_at": at, "paid_at": at, "paid_fen": fen,
        "lines": [{"sku_id": "CREAM-50", "title": "面霜 50ml", "quantity": 1, "unit_price_fen": fen}],
        "buyer": {"customer_id": buyer}});
    let input: MallOrderInput = serde_json::from_value(body).unwrap();
    t.app.post_mall_order(&t.owner_actor(f).await, input).await.unwrap();
}

/// Four customers scored by the default configuration (R cuts 30/90/180/365 days, F 2/3/5/8 purchase
/// days, M ¥100/300/800/2000, high at R ≥ 4, F ≥ 2, M ≥ 3): 芳芳 重要价值 and the one super user, 小陈
/// 一般价值, 老李 and 老王 一般挽留. Returns their ids in that order.
async fn seed(t: &TestApp, f: &Fixture) -> [String; 4] {
    let ids = [
        customer(t, f, "芳芳").await,
        customer(t, f, "小陈").await,
        customer(t, f, "老李").await,
        customer(t, f, "老王").await,
    ];
    for (n, days) in [5, 40, 100].into_iter().enumerate() {
        order(t, f, &ids[0], &format!("A{n}"), days, 500).await;
    }
    order(t, f, &ids[1], "C1", 10, 100).await;
    order(t, f, &ids[1], "C2", 20, 100).await;
    order(t, f, &ids[2], "B1", 200, 50).await;
    order(t, f, &ids[3], "D1", 400, 80).await;
    ids
}

/// 24 more buyers, so that both CLV models are identified (the fit converges): regulars buying every month
/// or so until lately, customers who bought a few times nearly a year ago and stopped, one-off buyers and
/// customers who bought twice.
async fn more_buyers(t: &TestApp, f: &Fixture) {
    for n in 0..24i64 {
        let days: Vec<i64> = match n % 4 {
            0 => (0..=(n % 5 + 2)).map(|k| 5 + n + k * (30 + n)).collect(),
            1 => (0..=(n % 3 + 1)).map(|k| 330 - n - k * 12).collect(),
            2 => vec![20 + n * 12],
            _ => vec![300 - n * 5, 200 - n * 5],
        };
        let id = customer(t, f, &format!("会员{n}")).await;
        for (k, d) in days.into_iter().enumerate() {
            order(t, f, &id, &format!("M{n}-{k}"), d, 60 + n * 15).await;
        }
    }
}

/// The part of `html` from `marker` on, up to `len` bytes (on a character boundary).
fn after<'a>(html: &'a str, marker: &str, len: usize) -> &'a str {
    let start = html.find(marker).unwrap_or_else(|| panic!("{marker} not on the page"));
    let mut end = (start + len).min(html.len());
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    &html[start..end]
}

#[tokio::test]
async fn the_rfm_page_shows_classes_heatmap_and_movement_and_its_form_saves_a_new_version() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let owner = t.owner_actor(&f).await;
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url("/console/rfm")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("还没有计算过 RFM") && page.contains("action=\"/console/rfm/config\""));

    seed(&t, &f).await;
    let run = t.app.compute_rfm(f.tenant.id).await.unwrap();
    assert_eq!((run.scored, run.super_users), (4, 1));
    let page = console.get(t.url("/console/rfm")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<svg class=\"rfm-heatmap\""), "the heatmap is an SVG");
    assert!(after(&page, "data-r=\"5\" data-f=\"3\"", 400).contains(">1</text>"));
    assert!(after(&page, "data-r=\"2\" data-f=\"1\"", 400).contains(">1</text>"));
    assert!(after(&page, "data-r=\"1\" data-f=\"1\"", 400).contains(">1</text>"));
    assert!(after(&page, "data-r=\"3\" data-f=\"3\"", 400).contains(">0</text>"));
    assert!(page.contains(">R5</text>") && page.contains(">F1</text>"));
    for (class, n, share) in
        [("important_value", 1, "25.0%"), ("general_value", 1, "25.0%"), ("general_win_back", 2, "50.0%")]
    {
        let card = after(&page, &format!("data-class=\"{class}\""), 600);
        assert!(card.contains(&format!("rfm-count\">{n}</span>")) && card.contains(share), "{class}: {card}");
    }
    assert!(page.find("重要价值").unwrap() < page.find("一般价值").unwrap(), "the important four come first");
    assert!(page.contains("id=\"rfm-super-users\">1<"));
    let segments = t.app.list_segments(&owner).await.unwrap();
    let important = segments.iter().find(|s| s.name == "RFM·重要价值").expect("built in by the run");
    assert!(
        after(&page, "data-class=\"important_value\"", 600).contains(&format!("/console/segments/{}", important.id))
    );
    assert!(after(&page, "rfm-moves", 2000).contains("新评分"), "the first run moves everyone in from none");
    assert!(page.contains("第 1 版配置") && page.contains("≥ ¥800.00"));

    // A bad cut point is shown next to its field with what was typed; a good form saves version 2.
    let token = csrf(&page);
    let mut form = vec![
        ("_csrf", token.clone()),
        ("source", "orders".into()),
        ("frequency", "purchase_days".into()),
        ("frequency_window", "365".into()),
        ("monetary", "total".into()),
        ("monetary_window", "".into()),
        ("scoring", "fixed".into()),
        ("high_r", "4".into()),
        ("high_f", "2".into()),
        ("high_m", "3".into()),
        ("top_percent", "10".into()),
        ("min_frequency", "".into()),
        ("super_class", "important_value".into()),
    ];
    form.extend(["30", "90", "180", "365"].map(|v| ("r_days", v.to_string())));
    form.extend(["2", "3", "5", "8"].map(|v| ("f", v.to_string())));
    let mut bad = form.clone();
    bad.extend(["100", "300", "250.5", "2000"].map(|v| ("m_yuan", v.to_string())));
    let res = console.post(t.url("/console/rfm/config")).form(&bad).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let html = res.text().await.unwrap();
    assert!(after(&html, "name=\"m_yuan\"", 1200).contains("切分点需严格递增"), "the error sits by the M cut points");
    assert!(html.contains("value=\"250.5\"") && html.contains("<details class=\"rfm-form\" open>"));
    assert_eq!(t.app.rfm_config(&owner).await.unwrap().version, 1);

    form.extend(["100", "300", "600", "2000"].map(|v| ("m_yuan", v.to_string())));
    let res = console.post(t.url("/console/rfm/config")).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/console/rfm?done=configured"));
    let config = t.app.rfm_config(&owner).await.unwrap();
    assert_eq!((config.version, config.super_users.min_frequency), (2, None));
    assert_eq!(config.monetary_window, siyu_domain::rfm::Window::Lifetime);
    let page = console.get(t.url("/console/rfm?done=configured")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("第 2 版配置") && page.contains("≥ ¥600.00") && page.contains("配置已保存"));

    let res = console.post(t.url("/console/rfm/run")).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(res.headers()["location"].to_str().unwrap(), "/console/rfm?done=run");
    assert_eq!(t.app.rfm_overview(&owner).await.unwrap().runs.len(), 3);

    // Staff read the page but neither configure nor compute.
    let (_, _, staff) = t.member(&f, Role::Staff, DataScope::All).await;
    let console = t.console(&staff).await;
    let page = console.get(t.url("/console/rfm")).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("rfm-heatmap") && !page.contains("/console/rfm/config") && !page.contains("/console/rfm/run")
    );
    let token = csrf(&page);
    let res = console.post(t.url("/console/rfm/run")).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = console.post(t.url("/console/rfm/config")).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
}

#[tokio::test]
async fn the_clv_page_shows_an_empty_state_until_a_fit_and_then_the_parameters_and_top_customers() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url("/console/clv")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"clv-empty\"") && page.contains("action=\"/console/clv/run\""));
    let token = csrf(&page);
    let res = console.post(t.url("/console/clv/run")).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(res.headers()["location"].to_str().unwrap(), "/console/clv?done=not_enough");

    let ids = seed(&t, &f).await;
    more_buyers(&t, &f).await;
    let model = t.app.fit_clv(f.tenant.id).await.unwrap().expect("fitted");
    assert!(model.purchases.converged && model.spend.is_some(), "{model:?}");
    let ranked = t.app.clv_overview(&t.owner_actor(&f).await).await.unwrap().top;
    assert_eq!(ranked.len(), 20, "the top 20 of the 28 buyers");
    let page = console.get(t.url("/console/clv")).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("id=\"clv-empty\"") && !page.contains("clv-not-converged"));
    for param in ["r", "α", "a", "b", "p", "q", "v"] {
        assert!(page.contains(&format!("data-param=\"{param}\"")), "parameter {param}");
    }
    assert!(
        page.contains(&format!(
            "{:.2} → {:.2}",
            model.purchases.initial_log_likelihood, model.purchases.log_likelihood
        ))
    );
    assert!(page.contains("class=\"chart clv-distribution\"") && page.contains("1.0%") && page.contains(">365 <"));
    let top = after(&page, "class=\"clv-top\"", 20_000);
    assert_eq!(top.matches("<tr><td class=\"muted\">").count(), ranked.len(), "one row per ranked customer");
    assert!(top.contains(&format!("href=\"/console/customers/{}\">芳芳</a>", ids[0])));

    let res = console.post(t.url("/console/clv/run")).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(res.headers()["location"].to_str().unwrap(), "/console/clv?done=fitted");
}

#[tokio::test]
async fn the_customer_page_shows_scores_class_and_value_or_says_they_are_not_computed_yet() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let ids = seed(&t, &f).await;
    let console = t.console(&f.owner.username).await;
    let url = t.url(&format!("/console/customers/{}", ids[0]));
    let page = console.get(&url).send().await.unwrap().text().await.unwrap();
    let card = after(&page, "id=\"values\"", 4000);
    assert!(card.contains("id=\"rfm-none\"") && card.contains("id=\"clv-none\"") && card.contains("尚未计算"));

    t.app.compute_rfm(f.tenant.id).await.unwrap();
    more_buyers(&t, &f).await;
    let model = t.app.fit_clv(f.tenant.id).await.unwrap().expect("several bought again");
    assert!(model.purchases.converged, "{model:?}");
    let page = console.get(&url).send().await.unwrap().text().await.unwrap();
    let card = after(&page, "id=\"values\"", 4000);
    assert!(
        card.contains("data-class=\"important_value\"")
            && card.contains("重要价值")
            && card.contains("id=\"super-user\"")
    );
    assert!(card.contains("id=\"rfm-r\">5<") && card.contains("id=\"rfm-f\">3<") && card.contains("id=\"rfm-m\">4<"));
    assert!(card.contains("5 天前") && card.contains("¥1500.00"));
    assert!(card.contains("id=\"clv-p-alive\">") && card.contains("id=\"clv-value\">¥"));
    let page =
        console.get(t.url(&format!("/console/customers/{}", ids[3]))).send().await.unwrap().text().await.unwrap();
    assert!(after(&page, "id=\"values\"", 4000).contains("一般挽留"));
}
