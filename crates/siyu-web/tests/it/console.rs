//! Console sessions: sign-in, CSRF, expiry, tenant switching.

use std::sync::Arc;

use chrono::Duration;
use siyu_app::clock::ManualClock;
use siyu_domain::access::Role;

use crate::helpers::{PASSWORD, csrf, fresh_db, spawn_app, spawn_with_clock};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn a_wrong_password_is_shown_inline_and_pages_need_a_session() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let c = no_redirects();
    let res = c.get(t.url("/console/customers")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/console/login?next=/console/customers"));
    let res = c
        .post(t.url("/console/login"))
        .form(&[("username", f.owner.username.as_str()), ("password", "nope nope nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("alert error") && html.contains(&f.owner.username), "inline error keeps the username");
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_is_refused() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let c = t.console(&f.owner.username).await;
    let res = c.post(t.url("/console/logout")).form(&[("_csrf", "forged")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let page = c.get(t.url("/console")).send().await.unwrap().text().await.unwrap();
    let res = c.post(t.url("/console/logout")).form(&[("_csrf", csrf(&page).as_str())]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(c.get(t.url("/console")).send().await.unwrap().status().as_u16(), 303, "signed out");
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout_and_after_the_absolute_lifetime() {
    let clock = ManualClock::new(chrono::Utc::now());
    let t = spawn_with_clock(Arc::new(fresh_db().await), Arc::new(clock.clone())).await;
    let f = t.tenant("品牌").await;
    let idle = t.app.settings.security.session_idle_minutes;
    let c = t.console(&f.owner.username).await;
    clock.advance(Duration::minutes(idle - 1));
    assert_eq!(c.get(t.url("/console")).send().await.unwrap().status().as_u16(), 200, "activity keeps it alive");
    clock.advance(Duration::minutes(idle + 1));
    assert_eq!(c.get(t.url("/console")).send().await.unwrap().status().as_u16(), 303, "idle too long");

    let c = t.console(&f.owner.username).await;
    let absolute = t.app.settings.security.session_absolute_hours * 60;
    let mut elapsed = 0;
    while elapsed + idle / 2 < absolute {
        clock.advance(Duration::minutes(idle / 2));
        elapsed += idle / 2;
        assert_eq!(c.get(t.url("/console")).send().await.unwrap().status().as_u16(), 200);
    }
    clock.advance(Duration::minutes(idle / 2));
    assert_eq!(c.get(t.url("/console")).send().await.unwrap().status().as_u16(), 303, "absolute lifetime reached");
}

#[tokio::test]
async fn an_agency_operator_switches_between_brands_and_sees_each_brands_own_data() {
    let t = spawn_app().await;
    let (a, b) = (t.tenant("品牌甲").await, t.tenant("品牌乙").await);
    let operator = t.app.create_account("agency.li", "代运营小李", PASSWORD, false).await.unwrap();
    for f in [&a, &b] {
        t.app.add_membership(f.tenant.id, &operator, Role::Operator, None, None).await.unwrap();
    }
    t.api("POST", "/api/v1/customers", &a.token, Some(serde_json::json!({"name": "甲的客户"}))).await;
    t.api("POST", "/api/v1/customers", &b.token, Some(serde_json::json!({"name": "乙的客户"}))).await;
    let c = t.console("agency.li").await;
    let page = c.get(t.url("/console")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("品牌甲") && page.contains("品牌乙"), "the switcher lists both brands");
    let res = c
        .post(t.url("/console/switch"))
        .form(&[("_csrf", csrf(&page).as_str()), ("tenant_id", b.tenant.id.to_string().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let list = c.get(t.url("/console/customers")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("乙的客户") && !list.contains("甲的客户"));
    let stranger = t.tenant("别人的品牌").await;
    let res = c
        .post(t.url("/console/switch"))
        .form(&[("_csrf", csrf(&page).as_str()), ("tenant_id", stranger.tenant.id.to_string().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404, "no switching into a brand you do not belong to");
}

#[tokio::test]
async fn in_the_console_a_person_finds_a_customer_by_phone_tags_them_and_sees_it_on_the_timeline() {
    let t = spawn_app().await;
    let f = t.tenant("花漾美妆").await;
    let (_, g) = t
        .api(
            "POST",
            "/api/v1/tag-groups",
            &f.token,
            Some(serde_json::json!({"name": "会员等级", "exclusive": true, "tags": ["金卡"]})),
        )
        .await;
    let gold = g["tags"][0]["id"].as_str().unwrap().to_string();
    let (_, c) = t
        .api("POST", "/api/v1/customers", &f.token, Some(serde_json::json!({"name": "林小姐", "phone": "13566667777"})))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    for i in 0..5 {
        t.api("POST", "/api/v1/customers", &f.token, Some(serde_json::json!({"name": format!("路人{i}")}))).await;
    }
    let console = t.console(&f.owner.username).await;
    let list = console.get(t.url("/console/customers?q=135+6666+7777")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("林小姐") && list.contains("135****7777"), "found by phone, shown masked");
    assert!(!list.contains("路人") && !list.contains("13566667777"));
    let page = console.get(t.url(&format!("/console/customers/{id}"))).send().await.unwrap().text().await.unwrap();
    let res = console
        .post(t.url(&format!("/console/customers/{id}/tags")))
        .form(&[("_csrf", csrf(&page).as_str()), ("add", gold.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let page = console.get(t.url(&format!("/console/customers/{id}"))).send().await.unwrap().text().await.unwrap();
    let timeline = &page[page.find("timeline").unwrap()..];
    assert!(timeline.contains("金卡"), "the tag shows on the customer's timeline");
    let (_, tl) = t.api("GET", &format!("/api/v1/customers/{id}/timeline"), &f.token, None).await;
    assert_eq!(tl["items"][0]["kind"], "tag_added");
    assert_eq!(tl["items"][0]["source"], "console");
}

#[tokio::test]
async fn a_platform_admin_creates_and_suspends_brands_and_a_suspended_brand_is_locked_out() {
    let t = spawn_app().await;
    t.app.create_account("platform.root", "平台管理员", PASSWORD, true).await.unwrap();
    let f = t.tenant("要停用的品牌").await;
    let admin = t.console("platform.root").await;
    let page = admin.get(t.url("/console/platform/tenants")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("要停用的品牌"));
    let token = csrf(&page);
    let form = [
        ("_csrf", token.as_str()),
        ("name", "新品牌"),
        ("owner_username", "new.owner"),
        ("owner_name", "新店长"),
        ("password", PASSWORD),
    ];
    assert_eq!(admin.post(t.url("/console/platform/tenants")).form(&form).send().await.unwrap().status().as_u16(), 303);
    let _new_owner = t.console("new.owner").await;
    let url = t.url(&format!("/console/platform/tenants/{}/status", f.tenant.id));
    let res = admin.post(url).form(&[("_csrf", token.as_str()), ("status", "suspended")]).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (s, body) = t.api("GET", "/api/v1/customers", &f.token, None).await;
    assert_eq!((s, body["code"].as_str()), (403, Some("tenant_suspended")));
    let owner = t.console(&f.owner.username).await;
    assert_ne!(owner.get(t.url("/console/customers")).send().await.unwrap().status().as_u16(), 200);
    // Brand owners are not platform admins.
    let res = owner.get(t.url("/console/platform/tenants")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
}

#[tokio::test]
async fn signing_in_again_ends_the_session_the_browser_had() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = |cookie: Option<String>| {
        let mut req =
            http.post(t.url("/console/login")).form(&[("username", f.owner.username.as_str()), ("password", PASSWORD)]);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    let first = login(None).await.unwrap();
    let old = first.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let second = login(Some(old.clone())).await.unwrap();
    let new = second.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert_ne!(old, new, "a new session id on every sign-in");
    let with = |c: &str| http.get(t.url("/console")).header("cookie", c.to_string()).send();
    assert_eq!(with(&new).await.unwrap().status().as_u16(), 200);
    assert_eq!(with(&old).await.unwrap().status().as_u16(), 303, "the previous session is gone");
}

#[tokio::test]
async fn identities_and_notes_are_added_and_removed_from_the_customer_page() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (_, c) = t.api("POST", "/api/v1/customers", &f.token, Some(serde_json::json!({"name": "周先生"}))).await;
    let id = c["id"].as_str().unwrap().to_string();
    t.api(
        "POST",
        &format!("/api/v1/customers/{id}/notes"),
        &f.token,
        Some(serde_json::json!({"body": "想了解会员权益"})),
    )
    .await;
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url(&format!("/console/customers/{id}"))).send().await.unwrap().text().await.unwrap();
    let token = csrf(&page);
    let add = |kind: &'static str, ns: &'static str, value: &'static str| {
        console
            .post(t.url(&format!("/console/customers/{id}/identities")))
            .form(&[("_csrf", token.as_str()), ("kind", kind), ("namespace", ns), ("value", value)])
            .send()
    };
    let res = add("phone", "", "138****0000").await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert!(res.text().await.unwrap().contains("data-code=\"masked_phone\""), "shown inline on the identities card");
    assert_eq!(add("openid", "wx_mall", "o_zhou_1").await.unwrap().status().as_u16(), 303);
    assert_eq!(add("phone", "", "13633334444").await.unwrap().status().as_u16(), 303);
    let (_, detail) = t.api("GET", &format!("/api/v1/customers/{id}"), &f.token, None).await;
    assert_eq!(detail["phone"], "136****4444");
    let openid = detail["identities"].as_array().unwrap().iter().find(|i| i["kind"] == "openid").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = console
        .post(t.url(&format!("/console/customers/{id}/identities/{openid}/delete")))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let note = detail["notes"][0]["id"].as_str().unwrap().to_string();
    let res = console
        .post(t.url(&format!("/console/customers/{id}/notes/{note}/delete")))
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let (_, after) = t.api("GET", &format!("/api/v1/customers/{id}"), &f.token, None).await;
    assert_eq!(after["identities"].as_array().unwrap().len(), 1);
    assert!(after["notes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_login_form_posted_from_another_site_is_refused() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = [("username", f.owner.username.as_str()), ("password", PASSWORD)];
    let res =
        http.post(t.url("/console/login")).header("origin", "https://evil.example").form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let own = t.base.clone();
    let res = http.post(t.url("/console/login")).header("origin", own).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
}

#[tokio::test]
async fn an_admin_cannot_rename_an_account_that_other_brands_share() {
    let t = spawn_app().await;
    let (a, b) = (t.tenant("品牌甲").await, t.tenant("品牌乙").await);
    let shared = t.app.create_account("shared.op", "共享运营", PASSWORD, false).await.unwrap();
    for f in [&a, &b] {
        t.app.add_membership(f.tenant.id, &shared, Role::Operator, None, None).await.unwrap();
    }
    let path = format!("/api/v1/users/{}", shared.id);
    let (s, body) = t.api("PATCH", &path, &a.token, Some(serde_json::json!({"display_name": "改掉的名字"}))).await;
    assert_eq!((s, body["field"].as_str()), (400, Some("display_name")));
    let (s, _) = t.api("PATCH", &path, &a.token, Some(serde_json::json!({"role": "staff"}))).await;
    assert_eq!(s, 200, "the role is the brand's own business");
}
