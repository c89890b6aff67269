//! Tracked links and the interaction radar: a customer's open is recorded, tagged, alerted and on the
//! timeline once however often the request is retried; anonymous links, bots, HEAD requests, prefetches,
//! unknown, garbled and other tenants' codes; reading-time beats bounded and never failing; a journey
//! triggered by `link_opened`; the radar's figures; erasure.

use std::sync::Arc;

use chrono::Duration;
use serde_json::{Value, json};
use siyu_app::clock::ManualClock;
use siyu_domain::id::{CorpId, CustomerId};
use siyu_domain::journey::JourneyGraph;
use siyu_domain::page::PageRequest;
use siyu_wecom::fake::{CustomerSetup, FakeConfig};

use crate::helpers::{Fixture, TestApp, daytime, fresh_db, spawn_with_clock};
use crate::wecom_callbacks::{CORP, connect, customer_of, settle, start_fake, sync};

const WECHAT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
                      Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN";

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Opens `/l/{code}` as a browser with `ua`; (status, body).
async fn visit(t: &TestApp, code: &str, ua: &str) -> (u16, String) {
    let res = client().get(t.url(&format!("/l/{code}"))).header("user-agent", ua).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn beat(t: &TestApp, code: &str, body: &str) -> u16 {
    let res = client()
        .post(t.url(&format!("/l/{code}/beat")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

/// The open id the landing page's script reports beats for.
fn open_of(page: &str) -> String {
    let start = page.find("open = \"").map(|i| i + 8).unwrap();
    page[start..].split('"').next().unwrap().to_string()
}

async fn mint(t: &TestApp, f: &Fixture, body: Value) -> Value {
    let (status, link) = t.api("POST", "/api/v1/links", &f.token, Some(body)).await;
    assert!(status == 201 || status == 200, "{status} {link}");
    link
}

async fn detail(t: &TestApp, f: &Fixture, link: &Value) -> Value {
    let (status, d) = t.api("GET", &format!("/api/v1/links/{}", link["id"].as_str().unwrap()), &f.token, None).await;
    assert_eq!(status, 200, "{d}");
    d
}

async fn read(t: &TestApp, f: &Fixture, link: &Value) -> i64 {
    detail(t, f, link).await["opens_list"][0]["duration_secs"].as_i64().unwrap()
}

async fn clocked() -> (TestApp, ManualClock) {
    let clock = ManualClock::new(daytime());
    let t = spawn_with_clock(Arc::new(fresh_db().await), Arc::new(clock.clone())).await;
    (t, clock)
}

#[tokio::test]
async fn a_customers_open_is_recorded_tagged_alerted_and_on_the_timeline_once_however_often_it_is_retried() {
    let start = daytime();
    let clock = ManualClock::new(start);
    let fake = start_fake(FakeConfig { start_time: start.timestamp(), ..FakeConfig::default() }).await;
    let t = spawn_with_clock(Arc::new(fresh_db().await), Arc::new(clock.clone())).await;
    let (f, corp) = connect(&t, &fake).await;
    let wm = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    fake.customer_adds_staff(CORP, &wm, "zhangsan", None).await.unwrap();
    sync(&t, &f, &corp).await;
    settle(&t).await;
    let customer = customer_of(&t, &f, &wm).await.unwrap();
    let corp_id = CorpId(corp["id"].as_str().unwrap().parse().unwrap());
    let staff = t.app.store.wecom().staff_by_userid(f.tenant.id, corp_id, "zhangsan").await.unwrap().unwrap();
    let (_, group) =
        t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "兴趣", "tags": ["看过新品"]}))).await;
    let tag = group["tags"][0]["id"].as_str().unwrap().to_string();

    let body = json!({"url": "https://shop.example.com/new", "title": "春季新品", "staff_id": staff.user_id,
                      "customer_id": customer, "open_tag_id": tag});
    let (status, link) = t.api("POST", "/api/v1/links", &f.token, Some(body.clone())).await;
    assert_eq!(status, 201, "{link}");
    let (status, again) = t.api("POST", "/api/v1/links", &f.token, Some(body)).await;
    assert_eq!((status, &again["id"]), (200, &link["id"]), "minting is idempotent on the triple");
    let code = link["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 16);
    assert!(link["short_url"].as_str().unwrap().ends_with(&format!("/l/{code}")));

    let before = fake.app_messages().len();
    for _ in 0..3 {
        let res = client().get(t.url(&format!("/l/{code}"))).header("user-agent", WECHAT).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 302, "a URL link redirects after recording");
        assert_eq!(res.headers()["location"], "https://shop.example.com/new");
    }
    settle(&t).await;
    t.app.send_staff_notices().await.unwrap();
    let d = detail(&t, &f, &link).await;
    assert_eq!((d["opens"].as_i64(), d["opens_list"].as_array().unwrap().len()), (Some(1), 1), "{d}");
    assert_eq!(d["opens_list"][0]["in_wechat"], true);
    assert_eq!(d["opens_list"][0]["customer_name"], "王女士");
    let (_, c) = t.api("GET", &format!("/api/v1/customers/{customer}"), &f.token, None).await;
    assert!(c["tags"].as_array().unwrap().iter().any(|x| x["id"] == tag.as_str()), "{c}");
    let timeline = t.app.store.timeline().of_customer(f.tenant.id, customer, PageRequest::first(100)).await.unwrap();
    assert_eq!(timeline.iter().filter(|e| e.kind == "link_opened").count(), 1);
    let alerts = |n: usize| {
        let sent = fake.app_messages();
        assert_eq!(sent.len() - before, n, "{sent:?}");
    };
    alerts(1);

    // Half an hour later the same person opens again: a second open, no second tag or alert this hour.
    clock.advance(Duration::minutes(31));
    visit(&t, &code, WECHAT).await;
    settle(&t).await;
    t.app.send_staff_notices().await.unwrap();
    assert_eq!(detail(&t, &f, &link).await["opens"], 2);
    alerts(1);
    let (_, tags) = t.api("GET", &format!("/api/v1/customers/{customer}"), &f.token, None).await;
    assert_eq!(tags["tags"].as_array().unwrap().iter().filter(|x| x["id"] == tag.as_str()).count(), 1);
}

#[tokio::test]
async fn an_anonymous_link_counts_people_but_not_bots_heads_prefetches_or_unknown_and_foreign_codes() {
    let (t, _clock) = clocked().await;
    let (a, b) = (t.tenant("品牌A").await, t.tenant("品牌B").await);
    let body = json!({"url": "https://a.example.com/x", "title": "活动页", "staff_id": a.owner.id, "show_page": true});
    let link = mint(&t, &a, body).await;
    let code = link["code"].as_str().unwrap().to_string();

    for ua in ["", "Mozilla/5.0 (compatible; Googlebot/2.1)", "WhatsApp/2.23", "curl/8.4.0"] {
        let (status, _) = visit(&t, &code, ua).await;
        assert_eq!(status, 200, "a bot still gets the page");
    }
    let head = client().head(t.url(&format!("/l/{code}"))).header("user-agent", WECHAT).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    let prefetch = client()
        .get(t.url(&format!("/l/{code}")))
        .header("user-agent", WECHAT)
        .header("sec-purpose", "prefetch")
        .send()
        .await
        .unwrap();
    assert_eq!(prefetch.status().as_u16(), 200);
    assert_eq!(detail(&t, &a, &link).await["opens"], 0, "bots, HEAD and prefetches are not opens");

    let (status, page) = visit(&t, &code, WECHAT).await;
    assert_eq!(status, 200);
    assert!(page.contains("sendBeacon") && page.contains("活动页"), "{page}");
    let d = detail(&t, &a, &link).await;
    assert_eq!(d["opens"], 1);
    assert!(d["opens_list"][0]["customer_id"].is_null());

    let other = mint(&t, &b, json!({"url": "https://b.example.com", "title": "B", "staff_id": b.owner.id})).await;
    let theirs = other["code"].as_str().unwrap();
    let foreign = format!("{}{}", &code[..5], &theirs[5..]);
    let missing = format!("{}{}", &code[..5], "00000000000");
    for bad in [foreign.as_str(), missing.as_str(), "short", "..%2F..%2Fetc", "ZZZZZ00000000000"] {
        let (status, page) = visit(&t, bad, WECHAT).await;
        assert_eq!(status, 404, "{bad}");
        assert!(page.contains("link-missing"), "a friendly page for {bad}");
    }
    let (status, _) = t.api("GET", &format!("/api/v1/links/{}", other["id"].as_str().unwrap()), &a.token, None).await;
    assert_eq!(status, 404, "another tenant's link is not found");
    let (_, listed) = t.api("GET", "/api/v1/links", &a.token, None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn beats_keep_the_longest_plausible_reading_time_and_always_answer_204() {
    let (t, clock) = clocked().await;
    let f = t.tenant("品牌").await;
    let link = mint(
        &t,
        &f,
        json!({"url": "https://a.example.com/x", "title": "长文", "staff_id": f.owner.id,
                                    "show_page": true}),
    )
    .await;
    let code = link["code"].as_str().unwrap().to_string();
    let (_, page) = visit(&t, &code, WECHAT).await;
    let open = open_of(&page);
    clock.advance(Duration::seconds(20));
    assert_eq!(beat(&t, &code, &format!("open={open}&seconds=15")).await, 204);
    assert_eq!(read(&t, &f, &link).await, 15);
    assert_eq!(beat(&t, &code, &format!("open={open}&seconds=10")).await, 204);
    assert_eq!(read(&t, &f, &link).await, 15, "the longest report is kept");
    for bad in [
        format!("open={open}&seconds=100000"),
        format!("open={open}&seconds=-5"),
        format!("open={open}&seconds=abc"),
        "open=not-a-uuid&seconds=10".to_string(),
        format!("open={}&seconds=10", uuid::Uuid::now_v7()),
        "\u{0}garbage".to_string(),
    ] {
        assert_eq!(beat(&t, &code, &bad).await, 204, "{bad}");
    }
    assert_eq!(beat(&t, "nonsense", &format!("open={open}&seconds=18")).await, 204);
    assert_eq!(read(&t, &f, &link).await, 15, "bad beats write nothing");
    clock.advance(Duration::hours(5));
    assert_eq!(beat(&t, &code, &format!("open={open}&seconds=18000")).await, 204);
    assert_eq!(read(&t, &f, &link).await, 4 * 3600, "bounded at four hours");
}

#[tokio::test]
async fn a_journey_triggered_by_link_opened_enrols_the_customer_who_opens_the_link() {
    let (t, _clock) = clocked().await;
    let f = t.tenant("品牌").await;
    let owner = t.owner_actor(&f).await;
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "李先生"}))).await;
    let customer: CustomerId = serde_json::from_value(c["id"].clone()).unwrap();
    let g: JourneyGraph = serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "link_opened"}, "next": {"next": "call"}},
        {"id": "call", "type": "task", "title": "趁热回访", "due_in_hours": 2, "next": {"next": "done"}},
        {"id": "done", "type": "exit"}
    ]}))
    .unwrap();
    t.app.create_journey(f.tenant.id, "打开即回访", &g, None).await.unwrap();
    let manual = json!({"kind": "text", "title": "产品手册", "body": "第一章 成分\n第二章 用法"});
    let (status, material) = t.api("POST", "/api/v1/materials", &f.token, Some(manual)).await;
    assert_eq!(status, 201, "{material}");
    let unknown = json!({"material_id": uuid::Uuid::now_v7(), "staff_id": f.owner.id, "customer_id": customer});
    let (status, err) = t.api("POST", "/api/v1/links", &f.token, Some(unknown)).await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (400, Some("invalid_input"), Some("material_id"))
    );
    let link =
        mint(&t, &f, json!({"material_id": material["id"], "staff_id": f.owner.id, "customer_id": customer})).await;
    assert_eq!(link["title"], "产品手册", "a material link is called as the material");
    let (status, page) = visit(&t, link["code"].as_str().unwrap(), WECHAT).await;
    assert_eq!(status, 200, "a material link shows the landing page");
    assert!(page.contains("产品手册") && page.contains("<p>第一章 成分</p>"), "the material itself is shown: {page}");
    visit(&t, link["code"].as_str().unwrap(), WECHAT).await;
    while t.app.run_due_work().await.unwrap() > 0 {}
    let tasks = t.app.customer_tasks(&owner, customer).await.unwrap();
    assert_eq!(tasks.iter().map(|x| x.title.as_str()).collect::<Vec<_>>(), ["趁热回访"], "enrolled once");
}

#[tokio::test]
async fn the_radar_counts_opens_customers_and_reading_time_and_erasure_removes_a_customers_links() {
    let (t, clock) = clocked().await;
    let f = t.tenant("品牌").await;
    let mut customers = Vec::new();
    for name in ["甲", "乙"] {
        let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": name}))).await;
        customers.push(c["id"].as_str().unwrap().to_string());
    }
    let mut codes = Vec::new();
    for c in &customers {
        let l = mint(
            &t,
            &f,
            json!({"url": "https://a.example.com/p", "title": "新品", "staff_id": f.owner.id,
                                     "customer_id": c, "show_page": true}),
        )
        .await;
        codes.push(l["code"].as_str().unwrap().to_string());
    }
    let (_, page) = visit(&t, &codes[0], WECHAT).await;
    visit(&t, &codes[1], WECHAT).await;
    visit(&t, &codes[1], "Mozilla/5.0 (Windows NT 10.0) Chrome/120").await;
    clock.advance(Duration::seconds(40));
    beat(&t, &codes[0], &format!("open={}&seconds=30", open_of(&page))).await;
    let (status, stats) = t.api("GET", "/api/v1/radar/stats?days=7", &f.token, None).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!((stats["opens"].as_i64(), stats["unique_customers"].as_i64()), (Some(3), Some(2)), "{stats}");
    assert_eq!(stats["avg_duration_secs"], 30, "averaged over the opens that reported");
    assert_eq!(stats["per_day"].as_array().unwrap().len(), 7);
    assert_eq!(stats["per_day"][6]["opens"], 3);
    assert_eq!(stats["top_links"][0]["opens"], 2);
    assert_eq!(stats["per_staff"][0]["opens"], 3);
    let (status, _) = t.api("GET", "/api/v1/radar/stats?days=0", &f.token, None).await;
    assert_eq!(status, 400);
    let console = t.console(&f.owner.username).await;
    let html = console.get(t.url("/console/radar")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("radar-feed") && html.contains("<svg class=\"chart radar-days\""), "{html}");
    let xlsx = console.get(t.url("/console/radar/export")).send().await.unwrap();
    assert_eq!(xlsx.status().as_u16(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));

    let (status, _) = t.api("POST", &format!("/api/v1/customers/{}/erasure", customers[1]), &f.token, None).await;
    assert_eq!(status, 200);
    let (status, _) = visit(&t, &codes[1], WECHAT).await;
    assert_eq!(status, 404, "the erased customer's link is gone");
    let (_, stats) = t.api("GET", "/api/v1/radar/stats?days=7", &f.token, None).await;
    assert_eq!(stats["opens"], 1, "{stats}");
}

#[tokio::test]
async fn the_mint_form_shows_errors_inline_and_the_new_link_after_minting() {
    let (t, _clock) = clocked().await;
    let f = t.tenant("品牌").await;
    let console = t.console(&f.owner.username).await;
    let html = console.get(t.url("/console/radar")).send().await.unwrap().text().await.unwrap();
    let token = crate::helpers::csrf(&html);
    let staff = f.owner.id.to_string();
    let form =
        [("_csrf", token.as_str()), ("staff_id", staff.as_str()), ("url", "http://a.example.com"), ("title", "x")];
    let res = console.post(t.url("/console/radar/links")).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("data-field=\"url\"") && html.contains("http://a.example.com"), "{html}");
    let form =
        [("_csrf", token.as_str()), ("staff_id", staff.as_str()), ("url", "https://a.example.com"), ("title", "x")];
    let res = console.post(t.url("/console/radar/links")).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let html = console.get(t.url(&to)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"minted\""), "{html}");
}

#[tokio::test]
async fn an_open_whose_effects_were_cut_short_is_finished_by_the_worker() {
    let (t, clock) = clocked().await;
    let f = t.tenant("品牌").await;
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "周女士"}))).await;
    let customer: CustomerId = serde_json::from_value(c["id"].clone()).unwrap();
    let (_, group) =
        t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "兴趣", "tags": ["看过手册"]}))).await;
    let tag = group["tags"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"url": "https://shop.example.com/manual", "title": "手册", "staff_id": f.owner.id,
        "customer_id": customer, "open_tag_id": tag});
    let link = mint(&t, &f, body).await;
    let id = siyu_domain::id::LinkId(link["id"].as_str().unwrap().parse().unwrap());
    // The open is stored, then the process dies before its effects (the tag) are made.
    let open = siyu_store::links::NewOpen {
        id: siyu_domain::id::LinkOpenId::new(),
        link_id: id,
        dedupe_key: "crashed-open",
        customer_id: Some(customer),
        staff_id: f.owner.id.0,
        at: t.app.now(),
        user_agent: None,
        ip_hash: None,
        in_wechat: true,
    };
    t.app.store.links().record_open(f.tenant.id, &open, None).await.unwrap();
    let has_tag = async || {
        let (_, c) = t.api("GET", &format!("/api/v1/customers/{customer}"), &f.token, None).await;
        c["tags"].as_array().unwrap().iter().any(|x| x["id"] == tag.as_str())
    };
    assert!(!has_tag().await);
    t.app.run_due_work().await.unwrap();
    assert!(!has_tag().await, "a fresh open may still be finishing in its request");
    clock.advance(Duration::minutes(2));
    t.app.run_due_work().await.unwrap();
    assert!(has_tag().await, "the sweep finished the open");
    assert_eq!(t.app.finish_link_opens().await.unwrap(), 0, "and only once");
}

#[tokio::test]
async fn a_materials_open_tags_are_given_with_the_links_own_tag_once_on_the_first_open() {
    let (t, clock) = clocked().await;
    let f = t.tenant("品牌").await;
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "陈女士"}))).await;
    let customer = c["id"].as_str().unwrap().to_string();
    let (_, group) = t
        .api(
            "POST",
            "/api/v1/tag-groups",
            &f.token,
            Some(json!({"name": "兴趣", "tags": ["看过手册", "高意向", "链接标签"]})),
        )
        .await;
    let tag = |i: usize| group["tags"][i]["id"].as_str().unwrap().to_string();
    // The material names its tags on open (API); an unknown tag is refused at its field.
    let body = json!({"kind": "text", "title": "产品手册", "body": "第一章", "open_tag_ids": [tag(0), tag(0)]});
    let (s, m) = t.api("POST", "/api/v1/materials", &f.token, Some(body)).await;
    assert_eq!((s, m["open_tag_ids"].clone()), (201, json!([tag(0)])), "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    let unknown =
        json!({"kind": "text", "title": "产品手册", "body": "第一章", "open_tag_ids": [uuid::Uuid::now_v7()]});
    let (s, e) = t.api("PUT", &format!("/api/v1/materials/{id}"), &f.token, Some(unknown)).await;
    assert_eq!((s, e["field"].as_str()), (400, Some("open_tag_ids")), "{e}");
    // The console's edit form changes them in place (no new version).
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url(&format!("/console/materials/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"open-tags\"") && page.contains(&format!("value=\"{}\" checked", tag(0))), "{page}");
    let token = crate::helpers::csrf(&page);
    let boundary = "b0undary";
    let mut form = String::new();
    for (k, v) in [
        ("_csrf", token.as_str()),
        ("title", "产品手册"),
        ("body", "第一章"),
        ("open_tags", &tag(0)),
        ("open_tags", &tag(1)),
    ] {
        form.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
    }
    form.push_str(&format!("--{boundary}--\r\n"));
    let res = console
        .post(t.url(&format!("/console/materials/{id}")))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (_, m) = t.api("GET", &format!("/api/v1/materials/{id}"), &f.token, None).await;
    assert_eq!(
        (m["open_tag_ids"].clone(), m["current"]["version"].as_i64()),
        (json!([tag(0), tag(1)]), Some(1)),
        "{m}"
    );

    // The link has its own tag too: the first open gives all three, once however often it is retried.
    let link = mint(
        &t,
        &f,
        json!({"material_id": id, "staff_id": f.owner.id, "customer_id": customer, "open_tag_id": tag(2)}),
    )
    .await;
    let code = link["code"].as_str().unwrap().to_string();
    for _ in 0..2 {
        visit(&t, &code, WECHAT).await;
    }
    let held = async || {
        let (_, c) = t.api("GET", &format!("/api/v1/customers/{customer}"), &f.token, None).await;
        let mut ids: Vec<String> =
            c["tags"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    };
    let mut all = vec![tag(0), tag(1), tag(2)];
    all.sort();
    assert_eq!(held().await, all);
    let (_, history) = t.api("GET", &format!("/api/v1/customers/{customer}/timeline"), &f.token, None).await;
    let added = history.to_string().matches("tag_added").count();
    // A tag taken off by hand is not given again by a later open of the same link.
    let (s, _) = t
        .api(
            "POST",
            &format!("/api/v1/customers/{customer}/tags"),
            &f.token,
            Some(json!({"add": [], "remove": [tag(1)]})),
        )
        .await;
    assert_eq!(s, 200);
    clock.advance(Duration::minutes(31));
    visit(&t, &code, WECHAT).await;
    assert_eq!(detail(&t, &f, &link).await["opens"], 2);
    let mut kept = vec![tag(0), tag(2)];
    kept.sort();
    assert_eq!(held().await, kept, "only the first open tags");
    let (_, history) = t.api("GET", &format!("/api/v1/customers/{customer}/timeline"), &f.token, None).await;
    assert_eq!(history.to_string().matches("tag_added").count(), added, "no tag given twice");
}
