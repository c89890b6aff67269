//! The customer page's "隐私与授权" card: consent toggles (htmx), the personal data download, and erasure
//! through its confirmation page.

use serde_json::Value;
use siyu_domain::access::{DataScope, Role};

use crate::helpers::{csrf, spawn_app};

async fn get(c: &reqwest::Client, url: String) -> (u16, String) {
    let res = c.get(url).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The card as the page (or an htmx fragment) shows it.
fn card(html: &str) -> &str {
    let start = html.find(r#"<section class="card" id="privacy">"#).expect("the privacy card");
    let card = &html[start..];
    &card[..card.find("</section>").unwrap()]
}

#[tokio::test]
async fn the_customer_page_shows_consents_toggles_them_exports_and_erases_after_confirmation() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let id = super::person(&t, &f).await;
    let console = t.console(&f.owner.username).await;
    let (s, html) = get(&console, t.url(&format!("/console/customers/{id}"))).await;
    assert_eq!(s, 200);
    let token = csrf(&html);
    let privacy = card(&html);
    assert!(privacy.contains("隐私与授权") && privacy.contains("营销信息") && privacy.contains("广告人群上传"));
    assert!(privacy.contains(r#"data-purpose="marketing" data-status="unknown""#), "{privacy}");
    assert!(privacy.contains("还没有授权变更"));

    let url = t.url(&format!("/console/customers/{id}/consents/marketing"));
    let res = console
        .post(&url)
        .header("hx-request", "true")
        .form(&[("_csrf", token.as_str()), ("status", "granted")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let fragment = res.text().await.unwrap();
    assert!(fragment.starts_with(r#"<section class="card" id="privacy">"#), "htmx swaps the card");
    assert!(fragment.contains(r#"data-purpose="marketing" data-status="granted""#) && fragment.contains("已授权"));
    assert!(fragment.contains("未知 → <strong>已授权</strong>"), "the history shows the change");
    let res = console.post(&url).form(&[("status", "withdrawn")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403, "a form without the CSRF token is refused");

    let res = console.get(t.url(&format!("/console/customers/{id}/personal-data"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let disposition = res.headers()["content-disposition"].to_str().unwrap().to_string();
    assert_eq!(disposition, format!("attachment; filename=\"customer-{id}.json\""));
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["events"].as_array().unwrap().len(), 3);

    let (s, confirm) = get(&console, t.url(&format!("/console/customers/{id}/erasure"))).await;
    assert_eq!(s, 200);
    assert!(confirm.contains("注销客户") && confirm.contains("不可撤销") && confirm.contains(r#"name="confirm""#));
    let erase = t.url(&format!("/console/customers/{id}/erasure"));
    let res = console.post(&erase).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400, "nothing is erased without the confirmation");
    assert!(res.text().await.unwrap().contains("请勾选确认后再提交"));
    let (_, still) = get(&console, t.url(&format!("/console/customers/{id}"))).await;
    assert!(still.contains("周晓雯"));
    let res = console.post(&erase).form(&[("_csrf", token.as_str()), ("confirm", "yes")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], format!("/console/customers/{id}#privacy"));

    let (s, html) = get(&console, t.url(&format!("/console/customers/{id}"))).await;
    assert_eq!(s, 200);
    assert!(!html.contains("周晓雯") && html.contains("已注销用户"));
    let privacy = card(&html);
    assert!(privacy.contains(r#"id="erased-notice""#) && privacy.contains("因注销"), "{privacy}");
    assert!(!privacy.contains("/consents/marketing") && !privacy.contains(r#"id="erase-customer""#), "no more toggles");
    assert!(!html.contains(&format!("/console/customers/{id}/edit")), "no edit button for an erased customer");
    let res = console
        .post(t.url(&format!("/console/customers/{id}/notes")))
        .form(&[("_csrf", token.as_str()), ("body", "回访")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 409, "an erased customer takes no notes");
}

#[tokio::test]
async fn staff_see_the_consents_of_their_customers_but_no_export_or_erasure_buttons() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (staff, _, username) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let body = serde_json::json!({"name": "我的客户", "follow_user_id": staff.user});
    let (_, mine) = t.api("POST", "/api/v1/customers", &f.token, Some(body)).await;
    let (_, theirs) = t.api("POST", "/api/v1/customers", &f.token, Some(serde_json::json!({"name": "别人的"}))).await;
    let console = t.console(&username).await;
    let (s, html) = get(&console, t.url(&format!("/console/customers/{}", mine["id"].as_str().unwrap()))).await;
    assert_eq!(s, 200);
    let privacy = card(&html);
    assert!(privacy.contains("/consents/marketing"), "staff record consent decisions");
    assert!(!privacy.contains("export-personal-data") && !privacy.contains("erase-customer"));
    let other = theirs["id"].as_str().unwrap();
    let (s, _) = get(&console, t.url(&format!("/console/customers/{other}/erasure"))).await;
    assert_eq!(s, 404, "a customer outside the scope is not found");
    let (s, _) = get(&console, t.url(&format!("/console/customers/{other}/personal-data"))).await;
    assert_eq!(s, 403, "staff may not export personal data at all");
}
