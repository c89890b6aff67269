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
