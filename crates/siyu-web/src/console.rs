//! The console: server-rendered pages (askama + htmx). One module per area; this file holds the router,
//! sign-in/out, tenant and language switching, and the dashboard.

pub mod archive;
pub mod audit;
pub mod customers;
pub mod deliveries;
pub mod fields;
pub mod group_codes;
pub mod identity;
pub mod journeys;
pub mod live_codes;
pub mod mass_sends;
pub mod materials;
pub mod moments;
pub mod orders;
pub mod page;
pub mod platform;
pub mod radar;
pub mod scripts;
pub mod segments;
pub mod sources;
pub mod stages;
pub mod tags;
pub mod tasks;
pub mod tokens;
pub mod transfer;
pub mod users;
pub mod values;
pub mod wecom;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::TenantId;

use crate::auth::{ConsoleActor, ConsoleUser, LANG_COOKIE, Origin, SESSION_COOKIE, cookie_value};
use crate::i18n::{Lang, Tr};
use crate::routes::Routes;
use crate::state::AppState;
use page::{Chrome, ConsoleError, ConsoleResult, check_csrf, render};

pub fn router() -> axum::Router<AppState> {
    Routes::new()
        .get("/console", dashboard)
        .get("/console/login", login_page)
        .post("/console/login", login)
        .post("/console/logout", logout)
        .post("/console/switch", switch_tenant)
        .post("/console/lang", set_lang)
        .get("/console/tenants", no_tenant)
        .into_router()
        .merge(customers::router())
        .merge(archive::router())
        .merge(scripts::router())
        .merge(materials::router())
        .merge(radar::router())
        .merge(tags::router())
        .merge(users::router())
        .merge(tokens::router())
        .merge(sources::router())
        .merge(audit::router())
        .merge(transfer::router())
        .merge(orders::router())
        .merge(platform::router())
        .merge(fields::router())
        .merge(identity::router())
        .merge(segments::router())
        .merge(values::router())
        .merge(journeys::router())
        .merge(stages::router())
        .merge(tasks::router())
        .merge(deliveries::router())
        .merge(wecom::router())
        .merge(live_codes::router())
        .merge(mass_sends::router())
        .merge(moments::router())
        .merge(group_codes::router())
}

fn session_cookie(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.app.settings.server.secure_cookies { "; Secure" } else { "" };
    let c = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    error: Option<String>,
    username: String,
    next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The sign-in page's language: zh-CN unless the visitor chose English (the language cookie); once signed
/// in, the account's own setting applies.
fn lang_of(headers: &HeaderMap) -> Lang {
    cookie_value(headers, LANG_COOKIE).as_deref().map(Lang::parse).unwrap_or_default()
}

/// Login has no session yet, so no CSRF token: a browser's `Origin` header must name this host instead (a
/// form posted from another site would sign the victim in to the attacker's account).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    origin != "null" && origin_host.eq_ignore_ascii_case(host)
}

/// Only same-site relative targets are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console") && !n.starts_with("//") && !n.contains("://") => n.to_string(),
        _ => "/console".to_string(),
    }
}

async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    render(&LoginPage {
        tr: Tr(lang_of(&headers)),
        error: None,
        username: String::new(),
        next: safe_next(q.next.as_deref()),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    origin: Origin,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let tr = Tr(lang_of(&headers));
    if !same_origin(&headers) {
        return ConsoleError(AppError::CsrfFailed).into_response();
    }
    let Ok(Form(form)) = form else {
        let page = LoginPage {
            tr,
            error: Some(AppError::InvalidCredentials.to_string()),
            username: String::new(),
            next: "/console".into(),
        };
        return (axum::http::StatusCode::BAD_REQUEST, render(&page)).into_response();
    };
    let (ip, ua) = (origin.ip, origin.user_agent);
    match state.app.login(&form.username, &form.password, ip, ua).await {
        Ok(outcome) => {
            // Signing in replaces any session the browser already had (no session fixation).
            if let Some(old) = cookie_value(&headers, SESSION_COOKIE)
                && let Err(e) = state.app.logout(&old).await
            {
                tracing::warn!(error = ?e, "previous session not ended");
            }
            let max_age = state.app.settings.security.session_absolute_hours * 3600;
            let mut res = Redirect::to(&safe_next(form.next.as_deref())).into_response();
            res.headers_mut().insert(SET_COOKIE, session_cookie(&state, &outcome.secret, max_age));
            res
        }
        Err(e) => {
            let status =
                axum::http::StatusCode::from_u16(e.code().status()).unwrap_or(axum::http::StatusCode::UNAUTHORIZED);
            let message = if status.is_server_error() { "internal error".to_string() } else { e.to_string() };
            let page = LoginPage {
                tr,
                error: Some(message),
                username: form.username.chars().take(64).collect(),
                next: safe_next(form.next.as_deref()),
            };
            let mut res = (status, render(&page)).into_response();
            if let AppError::RateLimited { retry_after_secs } = e
                && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
            {
                res.headers_mut().insert("retry-after", v);
            }
            res
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

async fn logout(State(state): State<AppState>, user: ConsoleUser, Form(f): Form<CsrfForm>) -> ConsoleResult {
    check_csrf(&user, &f.csrf)?;
    state.app.logout(&user.secret).await?;
    let mut res = Redirect::to("/console/login").into_response();
    res.headers_mut().insert(SET_COOKIE, session_cookie(&state, "", 0));
    Ok(res)
}

#[derive(Deserialize)]
struct SwitchForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    tenant_id: String,
}

async fn switch_tenant(State(state): State<AppState>, user: ConsoleUser, Form(f): Form<SwitchForm>) -> ConsoleResult {
    check_csrf(&user, &f.csrf)?;
    let tenant: TenantId = f.tenant_id.parse().map_err(|_| ConsoleError(AppError::NotFound))?;
    state.app.switch_tenant(&user.ctx, tenant).await?;
    Ok(Redirect::to("/console").into_response())
}

#[derive(Deserialize)]
struct LangForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    lang: String,
}

async fn set_lang(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: ConsoleUser,
    Form(f): Form<LangForm>,
) -> ConsoleResult {
    check_csrf(&user, &f.csrf)?;
    let lang = Lang::parse(&f.lang);
    state.app.store.accounts().set_locale(user.ctx.account.id, lang.code()).await.map_err(AppError::from)?;
    let back = headers
        .get("referer")
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/console").map(|i| r[i..].to_string()));
    let mut res = Redirect::to(&safe_next(back.as_deref())).into_response();
    if let Ok(v) =
        HeaderValue::from_str(&format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code()))
    {
        res.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(res)
}

async fn no_tenant(user: ConsoleUser) -> Response {
    let msg = if user.ctx.memberships.is_empty() {
        "你的账号还没有加入任何品牌，请联系管理员。/ Your account does not belong to any brand yet."
    } else {
        "当前品牌不可用（已停用或你的成员资格已停用）。/ The current brand is unavailable."
    };
    ConsoleError(AppError::Conflict(msg.into())).into_response()
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    customers: i64,
    new_7d: i64,
    tags: usize,
    members: usize,
    top_tags: Vec<(String, i64, i64)>,
    chart: Vec<Bar>,
    chart_max: i64,
}

/// One day's bar of a daily chart, in SVG user units (600 × 160 plot area).
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub height: i64,
    /// Shown under every fifth bar.
    pub label: Option<String>,
    pub title: String,
}

fn bars(days: &[(chrono::NaiveDate, i64)]) -> (Vec<Bar>, i64) {
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    (bars_scaled(days, max), max)
}

/// The bars of a daily series against a given maximum, so that several series share one scale (each day
/// is `600 / days` units wide; a second series sits beside the first by an offset in the template).
pub fn bars_scaled(days: &[(chrono::NaiveDate, i64)], max: i64) -> Vec<Bar> {
    let max = max.max(1);
    let width = 600 / (days.len().max(1) as i64);
    days.iter()
        .enumerate()
        .map(|(i, (day, count))| {
            let height = count * 150 / max;
            Bar {
                x: i as i64 * width + 2,
                y: 160 - height,
                height,
                label: (i % 5 == 0).then(|| day.format("%m-%d").to_string()),
                title: format!("{} · {count}", day.format("%Y-%m-%d")),
            }
        })
        .collect()
}

async fn dashboard(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let app = &state.app;
    let a = &ca.actor;
    let customers = app.count_customers(a, &CustomerFilter::default()).await?;
    let week = CustomerFilter { created_from: Some(app.now() - chrono::Duration::days(7)), ..Default::default() };
    let new_7d = app.count_customers(a, &week).await?;
    let groups = app.tag_groups(a).await?;
    let mut all: Vec<(String, i64)> =
        groups.iter().flat_map(|g| g.tags.iter().map(|t| (t.tag.name.clone(), t.customers))).collect();
    all.sort_by_key(|x| std::cmp::Reverse(x.1));
    all.truncate(8);
    let max = all.first().map(|x| x.1).unwrap_or(0).max(1);
    let top_tags = all.into_iter().map(|(n, c)| (n, c, c * 100 / max)).collect();
    let members = app.list_members(a).await?.len();
    let tags = groups.iter().map(|g| g.tags.len()).sum();
    let (chart, chart_max) = bars(&app.daily_new_customers(a, 30).await?);
    let page = DashboardPage {
        chrome: Chrome::new(&ca.user, Some(a), "dashboard"),
        customers,
        new_7d,
        tags,
        members,
        top_tags,
        chart,
        chart_max,
    };
    Ok(render(&page))
}

/// Reads the `_csrf` field or the `X-CSRF-Token` header (htmx requests).
pub fn csrf_from(headers: &HeaderMap, form_value: Option<&str>) -> String {
    form_value
        .map(str::to_string)
        .or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string))
        .unwrap_or_default()
}
