//! The demo's interaction radar (互动雷达): tracked links from a few staff members to some of the brand's
//! customers (product pages and a campaign page) plus one anonymous link, and two weeks of opens with
//! reading times, so the radar page has a feed, a chart and tables. Deterministic; opens go through the
//! same path as real ones (timeline entries included).

use chrono::{Duration, Utc};
use siyu_app::links::Visit;
use siyu_app::{Actor, App};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::link::NewLink;
use siyu_store::customers::CustomerQuery;

use super::err;

const TARGETS: [(&str, &str); 3] = [
    ("https://shop.huayang.example.com/spring", "春季新品 · 焕亮精华"),
    ("https://shop.huayang.example.com/member-day", "会员日 · 满 299 减 50"),
    ("https://shop.huayang.example.com/guide/skin", "换季护肤指南"),
];
const CUSTOMERS: u32 = 40;
const DAYS: i64 = 14;
const BROWSERS: [&str; 2] = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 \
     MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN",
    "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 \
     wxwork/4.1.20 MicroMessenger/7.0.1",
];

/// Seeds the links and their opens; returns how many opens.
pub async fn seed(app: &App, owner: &Actor) -> anyhow::Result<u64> {
    let staff: Vec<_> =
        app.store.members().list(owner.tenant).await?.into_iter().filter(|m| m.active).take(6).collect();
    let filter = CustomerFilter::default();
    let query = CustomerQuery { filter: &filter, visibility: &None, pii_lookups: Vec::new() };
    let customers = app.store.customers().ids(owner.tenant, &query, None, CUSTOMERS).await?;
    if staff.is_empty() || customers.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let mut opens = 0u64;
    let mut n: u64 = 7;
    let mut next = || {
        n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        n >> 33
    };
    for (i, customer) in customers.iter().enumerate() {
        let m = &staff[i % staff.len()];
        let (url, title) = TARGETS[i % TARGETS.len()];
        let input = NewLink {
            url: Some(url.into()),
            title: Some(title.into()),
            staff_id: m.user_id,
            customer_id: Some(*customer),
            ..NewLink::default()
        };
        let (link, _) = app.mint_link(owner, &input).await.map_err(err)?;
        // Two in three customers open, some of them again on a later day.
        for k in 0..(next() % 3) {
            let at = now - Duration::days((next() % DAYS as u64) as i64) - Duration::minutes((next() % 600) as i64);
            let ip = format!("10.{}.{}.{k}", i % 250, next() % 250);
            let visit = Visit { code: &link.code, user_agent: BROWSERS[i % 2], ip: Some(&ip), countable: true };
            let seconds = (next() % 240) as i64 + 5;
            app.record_past_link_open(owner.tenant, link.id, &visit, at, seconds).await.map_err(err)?;
            opens += 1;
        }
    }
    let anonymous = NewLink {
        url: Some(TARGETS[0].0.into()),
        title: Some(format!("{}（朋友圈）", TARGETS[0].1)),
        staff_id: staff[0].user_id,
        ..NewLink::default()
    };
    let (link, _) = app.mint_link(owner, &anonymous).await.map_err(err)?;
    for k in 0..12u64 {
        let at = now - Duration::hours((k * 13 + next() % 12) as i64);
        let ip = format!("172.16.{k}.{}", next() % 250);
        let visit = Visit { code: &link.code, user_agent: BROWSERS[(k % 2) as usize], ip: Some(&ip), countable: true };
        app.record_past_link_open(owner.tenant, link.id, &visit, at, (next() % 90) as i64 + 3).await.map_err(err)?;
        opens += 1;
    }
    Ok(opens)
}
