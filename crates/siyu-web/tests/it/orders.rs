//! Orders in the console and the API: the order import flow (upload → recognised platform, mapping and
//! first orders → job with progress → summary and row errors), the customer page's orders card, the order
//! endpoints, and data scopes.

use serde_json::json;
use siyu_app::orders::{OrderImportOptions, OrderImportReport};
use siyu_app::{Actor, App};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::JobId;
use siyu_domain::order::Platform;

use crate::helpers::{Fixture, TestApp, csrf, spawn_app};

const JD: &str = "jd_orders.csv";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../siyu-app/tests/fixtures/orders/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

/// A `multipart/form-data` body with `fields` and one file; returns (content type, body).
pub(crate) fn multipart(fields: &[(&str, &str)], file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "siyu-test-boundary-5f1c";
    let mut body = Vec::new();
    for (name, value) in fields {
        let part = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
        body.extend_from_slice(part.as_bytes());
    }
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    );
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The text after `marker` up to the next quote.
fn value_after(html: &str, marker: &str) -> String {
    let start = html.find(marker).unwrap_or_else(|| panic!("{marker} not in the page")) + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

async fn page(t: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let res = c.get(t.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Imports the JD fixture as `actor` through the `import_orders` job, stepping the worker until the queue
/// is empty; returns the job and its report.
pub async fn import_jd(app: &App, actor: &Actor, create_prospects: bool) -> (JobId, OrderImportReport) {
    let upload = app.store_upload(actor, JD, &fixture(JD)).await.unwrap();
    let options = OrderImportOptions { create_prospects, ..Default::default() };
    let job = app.queue_order_import(actor, upload, &options).await.unwrap();
    assert!(app.run_due_work().await.unwrap() >= 1);
    (job.id, app.order_import_job(actor, job.id).await.unwrap().report.expect("the import is done"))
}

/// A customer holding the JD buyer ids `pins`, created by the owner (optionally followed by `follower`).
async fn jd_customer(t: &TestApp, f: &Fixture, name: &str, pins: &[&str], follower: Option<String>) -> String {
    let identities: Vec<_> =
        pins.iter().map(|p| json!({"kind": "platform_buyer", "namespace": "jd", "value": p})).collect();
    let body = json!({"name": name, "identities": identities, "follow_user_id": follower});
    let (s, c) = t.api("POST", "/api/v1/customers", &f.token, Some(body)).await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn uploading_the_jd_export_detects_jd_previews_its_orders_and_the_job_imports_them_with_a_summary_and_the_bad_row()
 {
    let t = spawn_app().await;
    let f = t.tenant("洁齿旗舰店").await;
    let console = t.console(&f.owner.username).await;
    let (_, imports) = page(&t, &console, "/console/order-imports").await;
    assert!(imports.contains("还没有导入过订单"));
    let token = csrf(&imports);
    let (content_type, body) = multipart(&[("_csrf", &token), ("platform", "")], JD, &fixture(JD));
    let res = console
        .post(t.url("/console/order-imports/preview"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let preview = res.text().await.unwrap();
    assert!(preview.contains(r#"data-platform="京东""#), "JD is recognised from the headers");
    assert!(preview.contains(r#"id="reading-as">京东<"#));
    assert!(preview.contains(r#"data-field="order_id""#) && preview.contains(r#"data-field="paid_amount""#));
    assert!(preview.contains(r#"id="orders">4<"#) && preview.contains(r#"id="skipped-orders">1<"#));
    let first = &preview[preview.find(r#"data-order="290001234567""#).unwrap()..];
    assert!(first.contains("jd_user_abc") && first.contains("¥387.00") && first.contains("电动牙刷 X1 ×1"));
    let errors = &preview[preview.find(r#"id="preview-errors""#).unwrap()..];
    assert!(errors.contains(r#"data-code="too_many_decimals"><td>8</td>"#), "the bad row is shown before importing");
    assert!(errors.contains("金额超过两位小数"), "reasons are explained");
    assert!(!preview.contains("13912345678") && !preview.contains("建国路1号"), "receivers only masked");
    let mapping = &preview[preview.find(r#"data-field="receiver_phone""#).unwrap()..];
    assert!(mapping.contains("139****1234") && mapping.contains("100012345678"), "ids are shown whole");

    let id = value_after(&preview, r#"name="id" value=""#);
    let form = [("_csrf", token.as_str()), ("id", &id), ("platform", "jd"), ("shop", ""), ("create_prospects", "1")];
    let res = console.post(t.url("/console/order-imports/run")).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let job = res.headers()["location"].to_str().unwrap().to_string();
    let (_, running) = page(&t, &console, &job).await;
    assert!(running.contains(r#"data-status="running""#) && running.contains(&format!(r#"hx-get="{job}""#)));
    assert_eq!(t.app.run_due_work().await.unwrap(), 1, "the worker runs the import");

    let (_, done) = page(&t, &console, &job).await;
    assert!(done.contains(r#"data-status="done""#), "{done}");
    for (stat, n) in [("new", 4), ("updated", 0), ("matched", 3), ("prospects", 3), ("unmatched", 1)] {
        assert!(done.contains(&format!(r#"id="{stat}">{n}<"#)), "{stat} {n}");
    }
    assert!(done.contains(r#"id="skipped-orders">1<"#) && done.contains(r#"id="duplicate-rows">1<"#));
    let report = &done[done.find(r#"id="report-errors""#).unwrap()..];
    assert!(report.contains(r#"data-code="too_many_decimals"><td>8</td>"#));
    assert!(report.contains(r#"data-code="order_id_mangled"><td>10</td>"#));
    let res = console.get(t.url(&format!("{job}/errors.csv"))).send().await.unwrap();
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    assert!(csv.contains("order_id_mangled") && csv.contains("too_many_decimals"));

    let (_, history) = page(&t, &console, "/console/order-imports").await;
    let job_id = job.rsplit('/').next().unwrap();
    let row = &history[history.find(&format!(r#"data-job="{job_id}""#)).unwrap()..];
    assert!(row.contains(JD) && row.contains("京东") && row.contains("新增 4"), "the import is in the history");
}

#[tokio::test]
async fn a_file_no_platform_recognises_is_shown_with_the_platform_choice_and_is_not_imported() {
    let t = spawn_app().await;
    let f = t.tenant("洁齿旗舰店").await;
    let console = t.console(&f.owner.username).await;
    let (_, imports) = page(&t, &console, "/console/order-imports").await;
    let token = csrf(&imports);
    let (content_type, body) = multipart(&[("_csrf", &token)], "list.csv", "姓名,城市\n张三,杭州\n".as_bytes());
    let res = console
        .post(t.url("/console/order-imports/preview"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("未能识别平台") && html.contains(r#"id="preview-error""#), "{html}");
    assert!(!html.contains(r#"id="run-import""#), "nothing to import");
    let id = value_after(&html, r#"name="id" value=""#);
    let form = [("_csrf", token.as_str()), ("id", &id), ("platform", "generic")];
    let html = console.post(t.url("/console/order-imports/preview")).form(&form).send().await.unwrap().text().await;
    assert!(html.unwrap().contains("缺少必需的列"), "a generic file needs an order id and a paid amount");
    let form = [("_csrf", token.as_str()), ("id", &id), ("platform", "shopify")];
    let res = console.post(t.url("/console/order-imports/run")).form(&form).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("请从列表中选择平台"));
    assert_eq!(t.app.run_due_work().await.unwrap(), 0, "no import was queued");
}

#[tokio::test]
async fn the_customer_page_lists_a_matched_customers_orders_newest_first_with_yuan_amounts() {
    let t = spawn_app().await;
    let f = t.tenant("洁齿旗舰店").await;
    let id = jd_customer(&t, &f, "张伟", &["jd_user_abc", "jd_user_ghi"], None).await;
    let nobody = jd_customer(&t, &f, "没下单", &[], None).await;
    let (_, report) = import_jd(&t.app, &t.owner_actor(&f).await, false).await;
    assert_eq!((report.matched, report.prospects), (2, 0));

    let console = t.console(&f.owner.username).await;
    let (s, html) = page(&t, &console, &format!("/console/customers/{id}")).await;
    assert_eq!(s, 200);
    let card = &html[html.find(r#"<section class="card" id="orders">"#).unwrap()..];
    let card = &card[..card.find("</section>").unwrap()];
    assert!(card.contains(r#"id="order-count">2<"#) && card.contains(r#"id="paid-total">¥476.00<"#), "{card}");
    let (newer, older) =
        (card.find(r#"data-order="290001234570""#).unwrap(), card.find(r#"data-order="290001234567""#).unwrap());
    assert!(newer < older, "newest first");
    let (newer, older) = (&card[newer..older], &card[older..]);
    assert!(newer.contains("京东") && newer.contains("待发货") && newer.contains("¥89.00"));
    assert!(newer.contains("2024-06-04 10:00") && newer.contains("牙线 50支 ×1"));
    assert!(older.contains("已收货") && older.contains("¥387.00") && older.contains("2024-06-01 20:00"));
    assert!(older.contains("电动牙刷 X1 ×1") && older.contains("替换刷头 4支装 ×2"));

    let (s, fragment) = page(&t, &console, &format!("/console/customers/{id}/orders")).await;
    assert_eq!(s, 200);
    assert!(fragment.starts_with(r#"<section class="card" id="orders">"#) && fragment.contains("¥476.00"));
    let (_, empty) = page(&t, &console, &format!("/console/customers/{nobody}")).await;
    assert!(empty.contains(r#"id="no-orders""#), "an empty state when there are none");
}

#[tokio::test]
async fn the_api_lists_a_customers_orders_in_fen_page_by_page_and_answers_404_to_another_tenant() {
    let t = spawn_app().await;
    let (f, other) = (t.tenant("洁齿旗舰店").await, t.tenant("别的品牌").await);
    let id = jd_customer(&t, &f, "张伟", &["jd_user_abc", "jd_user_ghi"], None).await;
    import_jd(&t.app, &t.owner_actor(&f).await, false).await;

    let path = format!("/api/v1/customers/{id}/orders");
    let (s, first) = t.api("GET", &format!("{path}?limit=1"), &f.token, None).await;
    assert_eq!(s, 200, "{first}");
    let order = &first["items"][0];
    assert_eq!((order["platform"].as_str(), order["platform_order_id"].as_str()), (Some("jd"), Some("290001234570")));
    assert_eq!((order["paid_fen"].as_i64(), order["status"].as_str()), (Some(8900), Some("paid")));
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = t.api("GET", &format!("{path}?limit=1&cursor={cursor}"), &f.token, None).await;
    assert_eq!(second["items"][0]["paid_fen"].as_i64(), Some(38700));
    assert!(second["next_cursor"].is_null());

    let order_id = second["items"][0]["id"].as_str().unwrap();
    let (s, detail) = t.api("GET", &format!("/api/v1/orders/{order_id}"), &f.token, None).await;
    assert_eq!(s, 200, "{detail}");
    assert_eq!(detail["order"]["platform_order_id"], "290001234567");
    assert_eq!(detail["lines"].as_array().unwrap().len(), 2);
    assert_eq!(detail["history"][0]["to"], "received");

    let (s, body) = t.api("GET", &path, &other.token, None).await;
    assert_eq!((s, body["code"].as_str()), (404, Some("not_found")));
    let (s, _) = t.api("GET", &format!("/api/v1/orders/{order_id}"), &other.token, None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_staff_member_scoped_to_self_cannot_see_the_orders_of_customers_they_do_not_follow() {
    let t = spawn_app().await;
    let f = t.tenant("洁齿旗舰店").await;
    let (staff, token, username) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let mine = jd_customer(&t, &f, "我的客户", &["jd_user_abc"], Some(staff.user.to_string())).await;
    let theirs = jd_customer(&t, &f, "别人的客户", &["jd_user_ghi"], None).await;
    let owner = t.owner_actor(&f).await;
    import_jd(&t.app, &owner, false).await;
    let order_of = |pin: &'static str| {
        let store = t.app.store.clone();
        let tenant = f.tenant.id;
        async move { store.orders().by_key(tenant, Platform::Jd, "", pin).await.unwrap().order.id.to_string() }
    };
    let (their_order, unmatched) = (order_of("290001234570").await, order_of("290001234568").await);

    let (s, list) = t.api("GET", &format!("/api/v1/customers/{mine}/orders"), &token, None).await;
    assert_eq!((s, list["items"].as_array().map(Vec::len)), (200, Some(1)));
    for path in [
        format!("/api/v1/customers/{theirs}/orders"),
        format!("/api/v1/orders/{their_order}"),
        format!("/api/v1/orders/{unmatched}"),
    ] {
        let (s, _) = t.api("GET", &path, &token, None).await;
        assert_eq!(s, 404, "{path}");
    }
    let (s, _) = t.api("GET", &format!("/api/v1/orders/{their_order}"), &f.token, None).await;
    assert_eq!(s, 200, "the owner sees every order");

    let console = t.console(&username).await;
    let (s, _) = page(&t, &console, &format!("/console/customers/{theirs}/orders")).await;
    assert_eq!(s, 404);
    let (s, html) = page(&t, &console, &format!("/console/customers/{mine}")).await;
    assert!(s == 200 && html.contains(r#"data-order="290001234567""#) && !html.contains("290001234570"));
}
