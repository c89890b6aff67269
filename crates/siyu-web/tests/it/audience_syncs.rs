//! Scheduled audience refresh over HTTP: the API creates, lists, runs, serves and deletes a segment's audience
//! syncs (an ad platform pulls the file with a read-only token), and the segment page's card renders, adds
//! one through its form (with CSRF) and runs it now.

use serde_json::json;
use sha2::{Digest, Sha256};
use siyu_domain::access::{DataScope, Role};

use crate::helpers::{Fixture, TestApp, csrf, spawn_app};

fn hashed(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Two customers tagged "投放" (one consenting to ad audiences) and a dynamic segment of the tag; returns
/// the segment id.
async fn seed(t: &TestApp, f: &Fixture) -> String {
    let (s, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "人群", "tags": ["投放"]}))).await;
    assert_eq!(s, 201, "{g}");
    let tag = g["tags"][0]["id"].as_str().unwrap().to_string();
    for (phone, consent) in [("13900000001", true), ("13900000002", false)] {
        let body = json!({"name": "客户", "phone": phone, "tags": [tag]});
        let (s, c) = t.api("POST", "/api/v1/customers", &f.token, Some(body)).await;
        assert_eq!(s, 201, "{c}");
        if consent {
            let path = format!("/api/v1/customers/{}/consents/ad_audience", c["id"].as_str().unwrap());
            let (s, body) = t.api("PUT", &path, &f.token, Some(json!({"status": "granted"}))).await;
            assert_eq!(s, 200, "{body}");
        }
    }
    let (s, seg) = t
        .api("POST", "/api/v1/segments", &f.token, Some(json!({"name": "投放人群", "text": "tag any [\"投放\"]"})))
        .await;
    assert_eq!(s, 201, "{seg}");
    seg["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_api_creates_lists_runs_serves_and_deletes_a_segments_audience_sync() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let segment = seed(&t, &f).await;
    let path = format!("/api/v1/segments/{segment}/audience-syncs");
    let (s, body) = t.api("POST", &path, &f.token, Some(json!({"key": "phone", "every_hours": 0}))).await;
    assert_eq!((s, body["code"].as_str(), body["field"].as_str()), (400, Some("invalid_input"), Some("every_hours")));
    let (s, sync) = t.api("POST", &path, &f.token, Some(json!({"key": "phone", "every_hours": 24}))).await;
    assert_eq!(s, 201, "{sync}");
    assert_eq!(
        (sync["key"].as_str(), sync["every_hours"].as_i64(), sync["enabled"].as_bool()),
        (Some("phone"), Some(24), Some(true))
    );
    let id = sync["id"].as_str().unwrap().to_string();
    let file = format!("/api/v1/audience-syncs/{id}/file");
    let (s, body) = t.api("GET", &file, &f.token, None).await;
    assert_eq!((s, body["code"].as_str()), (404, Some("not_found")), "no snapshot before the first run");

    let (s, view) = t.api("POST", &format!("/api/v1/audience-syncs/{id}/run"), &f.token, None).await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["last"]["members"], 2);
    assert_eq!((view["last"]["rows"].as_i64(), view["last"]["without_consent"].as_i64()), (Some(1), Some(1)));
    assert_eq!((view["last"]["added"].as_i64(), view["last"]["removed"].as_i64()), (Some(1), Some(0)));
    assert_eq!(view["runs"].as_array().unwrap().len(), 1);

    // An ad platform pulls the file with a read-only token.
    let (_, tok) =
        t.api("POST", "/api/v1/tokens", &f.token, Some(json!({"name": "广告平台", "scopes": ["read"]}))).await;
    let res =
        reqwest::Client::new().get(t.url(&file)).bearer_auth(tok["secret"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let text = res.text().await.unwrap();
    assert_eq!(text, format!("sha256_phone\n{}\n", hashed("13900000001")));
    assert_eq!(etag, format!("\"{}\"", hashed(&text)));
    assert_eq!(view["sha256"].as_str(), Some(hashed(&text).as_str()));

    let (s, list) = t.api("GET", &path, &f.token, None).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["runs"][0]["counts"]["rows"], 1);
    let (s, _) = t.api("DELETE", &format!("/api/v1/audience-syncs/{id}"), &f.token, None).await;
    assert_eq!(s, 204);
    let (s, _) = t.api("GET", &file, &f.token, None).await;
    assert_eq!(s, 404);
    let (_, list) = t.api("GET", &path, &f.token, None).await;
    assert!(list.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_segment_page_card_adds_runs_and_downloads_a_scheduled_audience() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let segment = seed(&t, &f).await;
    let console = t.console(&f.owner.username).await;
    let page_url = t.url(&format!("/console/segments/{segment}"));
    let page = console.get(&page_url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("定时更新的广告人群包"), "the card is on the page");
    assert!(page.contains("还没有定时更新的人群包"));
    let token = csrf(&page);
    let add = t.url(&format!("/console/segments/{segment}/audience-syncs"));
    let res = console.post(&add).form(&[("key", "phone"), ("every_hours", "12")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403, "no CSRF token, no sync");
    let form = [("_csrf", token.as_str()), ("key", "phone"), ("every_hours", "12")];
    let res = console.post(&add).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("done=audience_sync_created"), "{location}");
    let page = console.get(t.url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("每 12 小时") && page.contains("手机号（SHA-256）"), "listed");
    let sync = page.split("data-sync=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(!page.contains(&format!("/console/audience-syncs/{sync}/file.csv")), "no download before the first run");

    let run = t.url(&format!("/console/audience-syncs/{sync}/run"));
    let res = console.post(&run).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("done=audience_sync_ran&entered=1&exited=0"), "{location}");
    let page = console.get(t.url(&location)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("人群包已更新：新增 1，移除 0"));
    assert!(page.contains("+1 / −0"));
    let res = console.get(t.url(&format!("/console/audience-syncs/{sync}/file.csv"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.text().await.unwrap(), format!("sha256_phone\n{}\n", hashed("13900000001")));

    // A staff member (no export) sees no card and cannot use its routes.
    let (_, _, staff) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let staff_console = t.console(&staff).await;
    let page = staff_console.get(&page_url).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("定时更新的广告人群包"));
    let res = staff_console.get(t.url(&format!("/console/audience-syncs/{sync}/file.csv"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);

    let delete = t.url(&format!("/console/audience-syncs/{sync}/delete"));
    let res = console.post(&delete).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let page = console.get(&page_url).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(&sync));
}
