//! The session archive in the console: the alert inbox with its chart and XLSX export, an alert with its
//! context and the auditor's verdict, the conversation list and thread, and the rules page (a refused rule
//! keeps what was typed with the error next to the field; word lists and the dictionary).

use serde_json::json;

use crate::helpers::{TestApp, csrf};
use crate::wecom_callbacks::{CORP, connected};

async fn page(console: &reqwest::Client, t: &TestApp, path: &str) -> (u16, String) {
    let r = console.get(t.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(console: &reqwest::Client, t: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = console.post(t.url(path)).form(form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn an_auditor_reviews_an_alert_in_the_console_and_opens_its_conversation() {
    let (t, f, _fake, _corp) = connected().await;
    let (_, rule) =
        t.api("POST", "/api/v1/archive/rules", &f.token, Some(json!({"kind": "phone", "name": "发手机号"}))).await;
    assert!(rule["id"].is_string());
    let ms = chrono::Utc::now().timestamp_millis();
    let items = json!([
        {"seq": 1, "message": {"msgid": "c1", "from": "wmA1", "tolist": ["zhangsan"], "msgtime": ms, "msgtype": "text", "text": {"content": "怎么联系你"}}},
        {"seq": 2, "message": {"msgid": "c2", "from": "zhangsan", "tolist": ["wmA1"], "msgtime": ms + 1000, "msgtype": "text", "text": {"content": "打我电话13812345678"}}},
    ]);
    let (status, _) =
        t.api("POST", "/api/v1/archive/ingest", &f.token, Some(json!({"corp_id": CORP, "items": items}))).await;
    assert_eq!(status, 200);

    let console = t.console(&f.owner.username).await;
    let (status, inbox) = page(&console, &t, "/console/archive").await;
    assert_eq!(status, 200);
    assert!(inbox.contains("发送手机号") && inbox.contains("138****5678"), "{inbox}");
    assert!(inbox.contains("staff-alerts"), "the per-staff chart");
    assert!(!inbox.contains("13812345678"), "phone numbers stay masked in the inbox");
    let id = inbox.split("data-alert=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    let export = console.get(t.url("/console/archive/alerts/export?status=all")).send().await.unwrap();
    assert_eq!(export.status(), 200);
    let bytes = export.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX (zip) file");

    let (status, detail) = page(&console, &t, &format!("/console/archive/alerts/{id}")).await;
    assert_eq!(status, 200);
    assert!(detail.contains("怎么联系你") && detail.contains("bubble mine hit"), "context with the hit marked");
    let token = csrf(&detail);
    let form = [("_csrf", token.as_str()), ("status", "confirmed"), ("note", "已提醒员工")];
    let r = console.post(t.url(&format!("/console/archive/alerts/{id}/verdict"))).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, detail) = page(&console, &t, &format!("/console/archive/alerts/{id}")).await;
    assert!(detail.contains("已确认违规") && detail.contains("已提醒员工"), "{detail}");
    let (_, open) = page(&console, &t, "/console/archive").await;
    assert!(!open.contains(&format!("data-alert=\"{id}\"")), "the inbox opens on open alerts");

    let (status, chats) = page(&console, &t, "/console/archive/chats?q=联系").await;
    assert_eq!(status, 200);
    let chat = chats.split("data-chat=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let (status, thread) = page(&console, &t, &format!("/console/archive/chats/{chat}")).await;
    assert_eq!(status, 200);
    assert!(thread.contains("打我电话") && thread.contains("bubble mine"), "{thread}");
}

#[tokio::test]
async fn a_refused_rule_keeps_the_form_and_word_lists_and_the_dictionary_are_kept_in_the_console() {
    let (t, f, _fake, _corp) = connected().await;
    let console = t.console(&f.owner.username).await;
    let (status, rules) = page(&console, &t, "/console/archive/rules").await;
    assert_eq!(status, 200);
    let token = csrf(&rules);

    let form = [
        ("_csrf", token.as_str()),
        ("kind", "words"),
        ("name", "引流检查"),
        ("domains", ""),
        ("minutes", ""),
        ("count", ""),
    ];
    let (status, refused) = post(&console, &t, "/console/archive/rules", &form).await;
    assert_eq!(status, 200);
    assert!(refused.contains("field-error") && refused.contains("value=\"引流检查\""), "{refused}");

    let r = console
        .post(t.url("/console/archive/word-lists"))
        .form(&[("_csrf", token.as_str()), ("name", "引流词"), ("description", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let list = r.headers()["location"].to_str().unwrap().to_owned();
    let (status, words) =
        post(&console, &t, &format!("{list}/words"), &[("_csrf", token.as_str()), ("words", "加微信\nvx\n\n加微信")])
            .await;
    assert_eq!(status, 200);
    assert!(words.contains("新增 2 个词") && words.contains("加微信"), "{words}");
    let list_id = list.rsplit('/').next().unwrap();

    let form = [
        ("_csrf", token.as_str()),
        ("kind", "words"),
        ("name", "引流检查"),
        ("word_lists", list_id),
        ("domains", ""),
        ("minutes", ""),
        ("count", ""),
    ];
    let r = console.post(t.url("/console/archive/rules")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = console
        .post(t.url("/console/archive/dictionary"))
        .form(&[("_csrf", token.as_str()), ("words", "企业微信\n小米之家")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, rules) = page(&console, &t, "/console/archive/rules").await;
    assert!(rules.contains("引流检查") && rules.contains("引流词") && rules.contains("小米之家"), "{rules}");
    let (_, dictionary) = t.api("GET", "/api/v1/archive/dictionary", &f.token, None).await;
    assert_eq!(dictionary["words"], json!(["企业微信", "小米之家"]));

    // The list is in use: deleting it is refused on its page.
    let (status, in_use) = post(&console, &t, &format!("{list}/delete"), &[("_csrf", token.as_str())]).await;
    assert_eq!(status, 200);
    assert!(in_use.contains("引流检查"), "names the rule that uses it: {in_use}");
}
