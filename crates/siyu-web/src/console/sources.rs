//! Console pages: event sources (where events come from, each with its own write key) and the live event
//! debugger (`sources/debugger.rs`). Like an API token, a new write key is shown exactly once: the create
//! handler redirects (PRG) with the key in a short-lived HttpOnly cookie scoped to this page, which the next
//! page view shows (with snippets to send a first event) and clears.

mod debugger;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use siyu_app::AppError;
use siyu_domain::id::SourceId;
use siyu_domain::source::SourceKind;

use super::customers::parse_id;
use super::customers::view::{FormErrors, error_message, fmt_time, label, text};
use super::page::{Chrome, ConsoleResult, FormPost, render};
use crate::auth::ConsoleActor;
use crate::routes::Routes;
use crate::state::AppState;

const FLASH_COOKIE: &str = "siyu_new_source";
const PATH: &str = "/console/sources";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, page)
        .post(PATH, create)
        .post("/console/sources/{id}/rename", rename)
        .post("/console/sources/{id}/revoke", revoke)
        .get("/console/sources/{id}/events", debugger::source_events)
        .get("/console/events", debugger::all_events)
        .into_router()
}

pub struct SourceRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub prefix: String,
    pub created: String,
    pub revoked: Option<String>,
    /// The error of this row's rename form, if it just failed.
    pub rename_error: Option<String>,
}

/// The write key just created, shown once, with ready-to-run snippets.
pub struct NewKey {
    pub name: String,
    pub key: String,
    pub snippets: Snippets,
}

/// How to send a first event: curl, and the official Segment libraries with only their host changed.
pub struct Snippets {
    pub curl: String,
    pub python: String,
    pub node: String,
}

impl Snippets {
    /// Snippets posting to `base` (`https://cdp.example.com`) with `key`.
    pub fn new(base: &str, key: &str) -> Self {
        let curl = format!(
            "curl {base}/v1/track \\\n  -u '{key}:' \\\n  -H 'Content-Type: application/json' \\\n  \
             -d '{{\"userId\": \"u-1001\", \"event\": \"Order Completed\", \"properties\": {{\"revenue\": 199}}}}'"
        );
        let python = format!(
            "# pip install segment-analytics-python\nimport segment.analytics as analytics\n\n\
             analytics.write_key = '{key}'\nanalytics.host = '{base}'\n\
             analytics.track('u-1001', 'Order Completed', {{'revenue': 199}})\nanalytics.flush()"
        );
        let node = format!(
            "// npm install @segment/analytics-node\nimport {{ Analytics }} from '@segment/analytics-node'\n\n\
             const analytics = new Analytics({{ writeKey: '{key}', host: '{base}' }})\n\
             analytics.track({{ userId: 'u-1001', event: 'Order Completed', properties: {{ revenue: 199 }} }})"
        );
        Self { curl, python, node }
    }
}

/// This server as the browser reached it (`http://host:port`), for the snippets.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let forwarded = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok());
    let scheme = match forwarded {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        Some(_) => "http",
        None if state.app.settings.server.secure_cookies => "https",
        None => "http",
    };
    format!("{scheme}://{host}")
}

#[derive(Template)]
#[template(path = "sources.html")]
struct SourcesPage {
    chrome: Chrome,
    sources: Vec<SourceRow>,
    created: Option<NewKey>,
    name: String,
    /// (value, label, selected)
    kinds: Vec<(String, String, bool)>,
    errors: FormErrors,
}

/// What the create form had, and what went wrong where.
#[derive(Default)]
struct FormState {
    name: String,
    kind: String,
    errors: FormErrors,
    /// (source id, message) of a failed rename.
    rename_error: Option<(String, String)>,
}

fn flash_cookie(state: &AppState, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if state.app.settings.server.secure_cookies { "; Secure" } else { "" };
    let c = format!("{FLASH_COOKIE}={value}; Path={PATH}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&c).ok()
}

/// `<write key>.<source id>` from the flash cookie. Keys are `swk_<hex>_<base64url>`, never holding a dot.
fn read_flash(headers: &HeaderMap) -> Option<(String, String)> {
    let raw = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == FLASH_COOKIE)
        .map(|(_, v)| v.to_string())?;
    let (key, id) = raw.split_once('.')?;
    key.starts_with("swk_").then(|| (key.to_string(), id.to_string()))
}

async fn page(State(state): State<AppState>, ca: ConsoleActor, headers: HeaderMap) -> ConsoleResult {
    let flash = read_flash(&headers);
    let form = FormState { kind: SourceKind::Web.as_str().into(), ..Default::default() };
    let mut res = sources_page(&state, &ca, &headers, flash, form).await?;
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if headers.get(COOKIE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains(FLASH_COOKIE))
        && let Some(v) = flash_cookie(&state, "", 0)
    {
        res.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(res)
}

async fn sources_page(
    state: &AppState,
    ca: &ConsoleActor,
    headers: &HeaderMap,
    flash: Option<(String, String)>,
    form: FormState,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "sources");
    let tr = chrome.tr;
    let list = state.app.list_sources(&ca.actor).await?;
    let created = flash.and_then(|(key, id)| {
        let s = list.iter().find(|s| s.id.to_string() == id)?;
        Some(NewKey { name: s.name.clone(), snippets: Snippets::new(&base_url(state, headers), &key), key })
    });
    let sources = list
        .into_iter()
        .map(|s| {
            let id = s.id.to_string();
            let rename_error = form.rename_error.as_ref().filter(|(e, _)| *e == id).map(|(_, m)| m.clone());
            SourceRow {
                name: s.name,
                kind: label(tr, "sources.kind", s.kind.as_str()),
                prefix: s.key_prefix,
                created: fmt_time(&s.created_at),
                revoked: s.revoked_at.as_ref().map(fmt_time),
                rename_error,
                id,
            }
        })
        .collect();
    let kinds = SourceKind::ALL
        .into_iter()
        .map(|k| (k.as_str().to_string(), label(tr, "sources.kind", k.as_str()), k.as_str() == form.kind))
        .collect();
    let page = SourcesPage { chrome, sources, created, name: form.name, kinds, errors: form.errors };
    Ok(render(&page))
}

async fn create(State(state): State<AppState>, headers: HeaderMap, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let name = text(&p, "name");
    let kind = text(&p, "kind");
    let result = match SourceKind::parse(&kind) {
        Some(k) => state.app.create_source(&ca.actor, &name, k).await,
        None => Err(AppError::invalid("kind", "expected_option")),
    };
    match result {
        Ok((source, key)) => {
            let mut res: Response = Redirect::to(PATH).into_response();
            if let Some(v) = flash_cookie(&state, &format!("{key}.{}", source.id), 300) {
                res.headers_mut().insert(SET_COOKIE, v);
            }
            Ok(res)
        }
        Err(e) if e.field().is_some() => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "sources").tr;
            let errors = FormErrors::from_error(tr, &e, "name");
            let form = FormState { name, kind, errors, rename_error: None };
            let page = sources_page(&state, &ca, &headers, None, form).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn rename(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    post: FormPost,
) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let id: SourceId = parse_id(&id)?;
    // Another tenant's source is not found, whatever the form holds.
    state.app.get_source(&ca.actor, id).await?;
    match state.app.rename_source(&ca.actor, id, &text(&p, "name")).await {
        Ok(_) => Ok(Redirect::to(PATH).into_response()),
        Err(e) if e.field().is_some() => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "sources").tr;
            let form = FormState {
                kind: SourceKind::Web.as_str().into(),
                rename_error: Some((id.to_string(), error_message(tr, &e))),
                ..Default::default()
            };
            let page = sources_page(&state, &ca, &headers, None, form).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: SourceId = parse_id(&id)?;
    state.app.revoke_source(&post.ca.actor, id).await?;
    Ok(Redirect::to(PATH).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snippets_change_only_the_host_and_use_the_key_as_basic_user() {
        let s = Snippets::new("https://cdp.example.com", "swk_abc_def");
        assert!(s.curl.contains("https://cdp.example.com/v1/track") && s.curl.contains("-u 'swk_abc_def:'"));
        assert!(s.python.contains("analytics.host = 'https://cdp.example.com'"));
        assert!(s.node.contains("host: 'https://cdp.example.com'") && s.node.contains("writeKey: 'swk_abc_def'"));
    }

    #[test]
    fn the_flash_cookie_holds_a_write_key_and_a_source_id() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("a=b; siyu_new_source=swk_1_x-y.0190-id"));
        assert_eq!(read_flash(&h), Some(("swk_1_x-y".into(), "0190-id".into())));
        h.insert(COOKIE, HeaderValue::from_static("siyu_new_source=syk_1_x.id"));
        assert_eq!(read_flash(&h), None, "only write keys are shown");
    }
}
