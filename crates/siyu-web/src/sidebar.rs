//! `/sidebar`: the staff sidebar WeCom opens in a chat's toolbar (docs/sidebar.md).
//!
//! - `GET /sidebar?corp=` without a sign-in redirects to WeCom's OAuth2 authorize URL with a state that is
//!   also kept in a short-lived signed cookie; `GET /sidebar/oauth?code&state` checks both, exchanges the
//!   code and sets the sign-in cookie (`siyu_sidebar`: signed, HttpOnly, SameSite=Lax, Path=/sidebar).
//! - `GET /sidebar?dev=1` / `POST /sidebar/dev`: the development identity (开发身份) picker, for console users
//!   or when `sidebar.dev_identity` is on.
//! - `GET /sidebar/jsconfig?url=`: `wx.config` + `wx.agentConfig` parameters.
//! - `sidebar/panel.rs`: the customer panel and its actions; `sidebar/group.rs`: the group panel of a
//!   customer group's chat; `sidebar/send.rs`: scripts, materials, tasks; `sidebar/console.rs`: the console
//!   page with the URL to configure in WeCom.
//!
//! Every change is a POST carrying the sign-in's CSRF token (`X-Sidebar-Csrf` or `_csrf`). Customer and task
//! ids travel in the query or form, never in the path: a customer outside the member's data scope or in
//! another tenant answers 404 like a missing one.

pub mod console;
mod group;
mod panel;
mod send;

use askama::Template;
use axum::Json;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use siyu_app::sidebar::{SidebarIdentity, parse_corp};
use siyu_app::{Actor, AppError};

use crate::auth::{LANG_COOKIE, SESSION_COOKIE, client_ip, cookie, cookie_value, user_agent};
use crate::console::customers::view::error_message;
use crate::i18n::{Lang, Tr};
use crate::routes::Routes;
use crate::state::AppState;

pub const SIDEBAR_COOKIE: &str = "siyu_sidebar";
const STATE_COOKIE: &str = "siyu_sidebar_state";

pub fn router() -> axum::Router<AppState> {
    Routes::new()
        .get("/sidebar", entry)
        .get("/sidebar/oauth", oauth_callback)
        .post("/sidebar/dev", dev_sign_in)
        .post("/sidebar/signout", sign_out)
        .get("/sidebar/jsconfig", jsconfig)
        .into_router()
        .merge(panel::router())
        .merge(group::router())
        .merge(send::router())
        .merge(console::router())
}

/// The sidebar's language: the language cookie the console sets, zh-CN otherwise.
pub fn lang(headers: &HeaderMap) -> Tr {
    Tr(cookie_value(headers, LANG_COOKIE).as_deref().map(Lang::parse).unwrap_or_default())
}

#[derive(Template)]
#[template(path = "sidebar_error.html")]
struct ErrorPage {
    tr: Tr,
    title: String,
    message: String,
}

/// An error as a small sidebar page (or fragment): its status, a title and what to do.
pub struct SidebarError {
    pub tr: Tr,
    pub error: AppError,
}

impl IntoResponse for SidebarError {
    fn into_response(self) -> Response {
        let tr = self.tr;
        let code = self.error.code();
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (title, message) = match &self.error {
            AppError::Unauthenticated => (tr.t("sidebar.signed_out"), tr.t("sidebar.signed_out_hint").to_owned()),
            AppError::NotFound => (tr.t("sidebar.not_found"), tr.t("sidebar.not_found_hint").to_owned()),
            AppError::Forbidden => (tr.t("sidebar.forbidden"), tr.t("sidebar.forbidden_hint").to_owned()),
            e if status.is_server_error() => {
                tracing::error!(error = ?e, "sidebar request failed");
                (tr.t("sidebar.failed"), tr.t("sidebar.failed_hint").to_owned())
            }
            e => (tr.t("sidebar.failed"), error_message(tr, e)),
        };
        let page = ErrorPage { tr, title: title.to_owned(), message };
        (status, crate::console::page::render(&page)).into_response()
    }
}

pub type SidebarResult = Result<Response, SidebarError>;

/// A signed-in sidebar: the identity, the acting member and the CSRF token of the sign-in.
pub struct SidebarSession {
    pub identity: SidebarIdentity,
    pub actor: Actor,
    pub csrf: String,
    pub tr: Tr,
}

impl FromRequestParts<AppState> for SidebarSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let tr = lang(&parts.headers);
        let fail = |error| SidebarError { tr, error }.into_response();
        let token = cookie(parts, SIDEBAR_COOKIE).ok_or_else(|| fail(AppError::Unauthenticated))?;
        let app = &state.app;
        let identity = app.sidebar_identity(&token).ok_or_else(|| fail(AppError::Unauthenticated))?;
        let ip = client_ip(parts, &app.settings.server.trusted_proxies);
        let actor = app.sidebar_actor(&identity, ip, user_agent(parts)).await.map_err(fail)?;
        Ok(Self { csrf: app.sidebar_csrf(&token), identity, actor, tr })
    }
}

impl SidebarSession {
    /// Refuses a change whose CSRF token (header `X-Sidebar-Csrf` or form field `_csrf`) is not this
    /// sign-in's.
    pub fn check_csrf(&self, headers: &HeaderMap, field: Option<&str>) -> Result<(), SidebarError> {
        let given = headers.get("x-sidebar-csrf").and_then(|v| v.to_str().ok()).or(field).unwrap_or("");
        let (a, b) = (self.csrf.as_bytes(), given.as_bytes());
        let same = !a.is_empty() && a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same { Ok(()) } else { Err(SidebarError { tr: self.tr, error: AppError::CsrfFailed }) }
    }
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.app.settings.server.secure_cookies { "; Secure" } else { "" };
    let c = format!("{name}={value}; Path=/sidebar; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A 303 to `to` setting `cookies`.
fn redirect_with(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(LOCATION, v);
    }
    for c in cookies {
        res.headers_mut().append(SET_COOKIE, c);
    }
    res
}

/// The console user signed in on this browser, if any (the development identity's gate).
async fn console_actor(state: &AppState, parts_headers: &HeaderMap) -> Option<Actor> {
    let secret = cookie_value(parts_headers, SESSION_COOKIE)?;
    let ctx = state.app.session(&secret).await.ok().flatten()?;
    state.app.session_actor(&ctx, None, None).await.ok()
}

#[derive(Deserialize, Default)]
struct EntryQuery {
    corp: Option<String>,
    dev: Option<String>,
    /// The development identity's chosen customer.
    external_userid: Option<String>,
    /// The development identity's chosen customer group (its chat_id).
    chat_id: Option<String>,
}

#[derive(Template)]
#[template(path = "sidebar_page.html")]
struct Page {
    tr: Tr,
    csrf: String,
    staff_name: String,
    userid: String,
    dev: bool,
    /// In the development identity, the customer picked instead of `getCurExternalContact`.
    dev_external: String,
    /// In the development identity, the group chat picked instead of `getCurExternalChat`.
    dev_chat: String,
    contacts: Vec<(String, String)>,
    /// The development identity's groups, as (chat_id, name).
    groups: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "sidebar_dev.html")]
struct DevPage {
    tr: Tr,
    corp: String,
    corp_name: String,
    staff: Vec<(String, String)>,
    via_console: bool,
}

async fn entry(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<EntryQuery>) -> SidebarResult {
    let tr = lang(&headers);
    let fail = |error| SidebarError { tr, error };
    let app = &state.app;
    let session = cookie_value(&headers, SIDEBAR_COOKIE).and_then(|t| app.sidebar_identity(&t).map(|i| (t, i)));
    let wants_dev = q.dev.as_deref() == Some("1");
    let corp = q.corp.as_deref().map(|c| parse_corp(c).ok_or(AppError::NotFound)).transpose().map_err(fail)?;
    if wants_dev {
        let console = console_actor(&state, &headers).await;
        let (tenant, row) = app.sidebar_dev_corp(console.as_ref(), corp).await.map_err(fail)?;
        let staff = app.sidebar_dev_staff(console.as_ref(), tenant, row.id).await.map_err(fail)?;
        let page = DevPage {
            tr,
            corp: row.id.to_string(),
            corp_name: row.name.clone(),
            staff: staff.into_iter().map(|s| (s.userid, s.name)).collect(),
            via_console: console.is_some(),
        };
        return Ok(crate::console::page::render(&page));
    }
    if let Some((token, identity)) = session
        && corp.is_none_or(|c| c == identity.corp)
    {
        app.sidebar_actor(&identity, None, None).await.map_err(fail)?;
        let contacts = if identity.dev { app.sidebar_dev_contacts(&identity).await.map_err(fail)? } else { vec![] };
        let groups = if identity.dev { app.sidebar_dev_groups(&identity).await.map_err(fail)? } else { vec![] };
        let page = Page {
            tr,
            csrf: app.sidebar_csrf(&token),
            staff_name: app
                .store
                .members()
                .get(identity.tenant, identity.user)
                .await
                .map(|m| m.display_name)
                .unwrap_or_default(),
            userid: identity.userid.clone(),
            dev: identity.dev,
            dev_external: q.external_userid.clone().filter(|_| identity.dev).unwrap_or_default(),
            dev_chat: q.chat_id.clone().filter(|_| identity.dev).unwrap_or_default(),
            contacts,
            groups,
        };
        return Ok(crate::console::page::render(&page));
    }
    let Some(corp) = corp else {
        return Err(fail(AppError::Unauthenticated));
    };
    let auth = app.sidebar_authorize(corp).await.map_err(fail)?;
    let mut res = Redirect::to(&auth.url).into_response();
    res.headers_mut().append(SET_COOKIE, set_cookie(&state, STATE_COOKIE, &auth.state_token, 600));
    Ok(res)
}

#[derive(Deserialize)]
struct OauthQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
}

async fn oauth_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<OauthQuery>,
) -> SidebarResult {
    let tr = lang(&headers);
    let saved = cookie_value(&headers, STATE_COOKIE).unwrap_or_default();
    let token =
        state.app.sidebar_sign_in(&saved, &q.state, &q.code).await.map_err(|error| SidebarError { tr, error })?;
    let max_age = state.app.settings.sidebar.session_hours * 3600;
    Ok(redirect_with(
        "/sidebar",
        vec![set_cookie(&state, SIDEBAR_COOKIE, &token, max_age), set_cookie(&state, STATE_COOKIE, "", 0)],
    ))
}

#[derive(Deserialize)]
struct DevForm {
    #[serde(default)]
    corp: String,
    #[serde(default)]
    userid: String,
}

async fn dev_sign_in(State(state): State<AppState>, headers: HeaderMap, form: axum::Form<DevForm>) -> SidebarResult {
    let tr = lang(&headers);
    let fail = |error| SidebarError { tr, error };
    if !same_origin(&headers) {
        return Err(fail(AppError::CsrfFailed));
    }
    let console = console_actor(&state, &headers).await;
    let corp = parse_corp(&form.corp);
    let token = state.app.sidebar_dev_sign_in(console.as_ref(), corp, &form.userid).await.map_err(fail)?;
    let max_age = state.app.settings.sidebar.session_hours * 3600;
    Ok(redirect_with("/sidebar", vec![set_cookie(&state, SIDEBAR_COOKIE, &token, max_age)]))
}

async fn sign_out(State(state): State<AppState>, session: SidebarSession, headers: HeaderMap) -> SidebarResult {
    session.check_csrf(&headers, None)?;
    Ok(redirect_with("/sidebar?signed_out=1", vec![set_cookie(&state, SIDEBAR_COOKIE, "", 0)]))
}

#[derive(Deserialize)]
struct JsConfigQuery {
    #[serde(default)]
    url: String,
}

async fn jsconfig(State(state): State<AppState>, session: SidebarSession, Query(q): Query<JsConfigQuery>) -> Response {
    match state.app.sidebar_jsconfig(&session.identity, &q.url).await {
        Ok(config) => Json(config).into_response(),
        Err(e) => crate::error::ApiError(e).into_response(),
    }
}

/// A form posted without a sign-in (the development identity) must come from this host: a browser's
/// `Origin` names it (no header: not a browser's cross-site post).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    origin != "null" && origin_host.eq_ignore_ascii_case(host)
}

/// Renders a fragment.
pub(crate) fn fragment<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "sidebar template render failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
