//! Console pages: API tokens. A new token's secret is shown exactly once: the create handler redirects
//! (PRG) with the secret in a short-lived HttpOnly cookie scoped to this page, which the next page view
//! shows and clears.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router};
use siyu_domain::access::TokenScope;
use siyu_domain::id::ApiTokenId;

use super::customers::parse_id;
use super::customers::view::{FormErrors, fmt_opt, fmt_time, label, one, text};
use super::page::{Chrome, ConsoleResult, check_csrf, render};
use crate::auth::ConsoleActor;
use crate::console::csrf_from;
use crate::routes::Routes;
use crate::state::AppState;

const FLASH_COOKIE: &str = "siyu_new_token";
const PATH: &str = "/console/tokens";

pub fn router() -> Router<AppState> {
    Routes::new().get(PATH, page).post(PATH, create).post("/console/tokens/{id}/revoke", revoke).into_router()
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created: String,
    pub last_used: String,
    pub revoked: Option<String>,
}

/// The secret just created, shown once.
pub struct NewSecret {
    pub name: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenRow>,
    created: Option<NewSecret>,
    name: String,
    scopes: Vec<(String, String, String, bool)>,
    errors: FormErrors,
}

fn flash_cookie(state: &AppState, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if state.app.settings.server.secure_cookies { "; Secure" } else { "" };
    let c = format!("{FLASH_COOKIE}={value}; Path={PATH}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&c).ok()
}

fn read_flash(headers: &HeaderMap) -> Option<NewSecret> {
    let raw = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == FLASH_COOKIE)
        .map(|(_, v)| v.to_string())?;
    // `<secret>.<hex of the token name>`: secrets are `syk_<hex>_<base64url>`, never containing a dot.
    let (secret, name_hex) = raw.split_once('.')?;
    if !secret.starts_with("syk_") {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..name_hex.len())
        .step_by(2)
        .map(|i| name_hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    let name = String::from_utf8(bytes?).ok()?;
    Some(NewSecret { name, secret: secret.to_string() })
}

async fn page(State(state): State<AppState>, ca: ConsoleActor, headers: HeaderMap) -> ConsoleResult {
    let created = read_flash(&headers);
    let mut res =
        tokens_page(&state, &ca, created, String::new(), &["read".to_string()], FormErrors::default()).await?;
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if headers.get(axum::http::header::COOKIE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains(FLASH_COOKIE))
        && let Some(v) = flash_cookie(&state, "", 0)
    {
        res.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(res)
}

async fn tokens_page(
    state: &AppState,
    ca: &ConsoleActor,
    created: Option<NewSecret>,
    name: String,
    chosen: &[String],
    errors: FormErrors,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "tokens");
    let tr = chrome.tr;
    let tokens = state
        .app
        .list_tokens(&ca.actor)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            scopes: t.scopes.iter().map(|s| label(tr, "tokens.scope", s.as_str())).collect(),
            created: fmt_time(&t.created_at),
            last_used: fmt_opt(&t.last_used_at),
            revoked: t.revoked_at.as_ref().map(fmt_time),
        })
        .collect();
    let scopes = TokenScope::ALL
        .into_iter()
        .map(|s| {
            let v = s.as_str();
            (
                v.to_string(),
                label(tr, "tokens.scope", v),
                label(tr, "tokens.scope_hint", v),
                chosen.iter().any(|c| c == v),
            )
        })
        .collect();
    Ok(render(&TokensPage { chrome, tokens, created, name, scopes, errors }))
}

async fn create(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Form(p): Form<Vec<(String, String)>>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, one(&p, "_csrf")))?;
    let name = text(&p, "name");
    let chosen: Vec<String> = super::customers::view::all(&p, "scopes").into_iter().map(str::to_string).collect();
    let scopes: Vec<TokenScope> = chosen.iter().filter_map(|s| TokenScope::parse(s)).collect();
    match state.app.create_token(&ca.actor, &name, &scopes).await {
        Ok((token, secret)) => {
            let name_hex: String = token.name.bytes().map(|b| format!("{b:02x}")).collect();
            let mut res: Response = Redirect::to(PATH).into_response();
            if let Some(v) = flash_cookie(&state, &format!("{secret}.{name_hex}"), 300) {
                res.headers_mut().insert(SET_COOKIE, v);
            }
            Ok(res)
        }
        Err(e) if e.field().is_some() => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "tokens").tr;
            let errors = FormErrors::from_error(tr, &e, "name");
            let page = tokens_page(&state, &ca, None, name, &chosen, errors).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(p): Form<Vec<(String, String)>>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, one(&p, "_csrf")))?;
    let id: ApiTokenId = parse_id(&id)?;
    state.app.revoke_token(&ca.actor, id).await?;
    Ok(Redirect::to(PATH).into_response())
}
