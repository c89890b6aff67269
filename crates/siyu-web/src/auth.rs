//! Extractors that authenticate requests: `ApiActor` (bearer token) for `/api/v1`, `ConsoleUser` and
//! `ConsoleActor` (session cookie) for `/console`.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use siyu_app::auth::SessionContext;
use siyu_app::{Actor, AppError};

use crate::console::page::ConsoleError;
use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "siyu_session";
pub const LANG_COOKIE: &str = "siyu_lang";

/// The client address: the socket peer, unless the peer is a trusted proxy (`server.trusted_proxies`); then
/// the rightmost `X-Forwarded-For` hop that is not itself a trusted proxy (hops to its left are the client's
/// own claims and could be forged).
pub fn client_ip(parts: &Parts, trusted: &[String]) -> Option<String> {
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    let behind_proxy = peer.as_ref().is_some_and(|p| trusted.iter().any(|t| t == p));
    if !behind_proxy {
        return peer;
    }
    let hops: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    hops.iter().rev().find(|h| !trusted.iter().any(|t| t == *h)).map(|h| h.chars().take(64).collect()).or(peer)
}

pub fn user_agent(parts: &Parts) -> Option<String> {
    parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(256).collect())
}

pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    cookie_value(&parts.headers, name)
}

/// A cookie's value from request headers.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// An Open API caller, authenticated by `Authorization: Bearer syk_...`.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(Self(actor.clone()));
        }
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(ApiError(AppError::Unauthenticated))?;
        let actor = state
            .app
            .token_actor(token, client_ip(parts, &state.app.settings.server.trusted_proxies), user_agent(parts))
            .await?;
        parts.extensions.insert(actor.clone());
        Ok(Self(actor))
    }
}

/// A signed-in console user (maybe without a current tenant). Redirects to the login page otherwise.
pub struct ConsoleUser {
    pub ctx: SessionContext,
    pub secret: String,
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let login = || {
            let back = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/console");
            let target = format!("/console/login?next={}", urlencode(back));
            if parts.headers.contains_key("hx-request") {
                let mut r = axum::http::StatusCode::NO_CONTENT.into_response();
                if let Ok(v) = axum::http::HeaderValue::from_str(&target) {
                    r.headers_mut().insert("hx-redirect", v);
                }
                r
            } else {
                Redirect::to(&target).into_response()
            }
        };
        let Some(secret) = cookie(parts, SESSION_COOKIE) else {
            return Err(login());
        };
        match state.app.session(&secret).await {
            Ok(Some(ctx)) => Ok(Self { ctx, secret }),
            Ok(None) => Err(login()),
            Err(e) => Err(ConsoleError::from(e).into_response()),
        }
    }
}

/// A signed-in console user acting in their current tenant.
pub struct ConsoleActor {
    pub actor: Actor,
    pub user: ConsoleUser,
}

impl FromRequestParts<AppState> for ConsoleActor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = ConsoleUser::from_request_parts(parts, state).await?;
        if user.ctx.tenant.is_none() {
            return Err(Redirect::to("/console/tenants").into_response());
        }
        match state
            .app
            .session_actor(&user.ctx, client_ip(parts, &state.app.settings.server.trusted_proxies), user_agent(parts))
            .await
        {
            Ok(actor) => Ok(Self { actor, user }),
            Err(e) => Err(ConsoleError::from(e).into_response()),
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The caller's address and user agent, for the audit log and login throttling.
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self { ip: client_ip(parts, &state.app.settings.server.trusted_proxies), user_agent: user_agent(parts) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, xff: Option<&str>) -> Parts {
        let mut req = axum::http::Request::builder();
        if let Some(x) = xff {
            req = req.header("x-forwarded-for", x);
        }
        let (mut parts, _) = req.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(axum::extract::ConnectInfo(format!("{peer}:4000").parse::<std::net::SocketAddr>().unwrap()));
        parts
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted = vec!["10.0.0.1".to_string()];
        assert_eq!(client_ip(&parts("203.0.113.9", Some("1.2.3.4")), &trusted).as_deref(), Some("203.0.113.9"));
        assert_eq!(
            client_ip(&parts("10.0.0.1", Some("6.6.6.6, 198.51.100.7")), &trusted).as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(client_ip(&parts("10.0.0.1", None), &trusted).as_deref(), Some("10.0.0.1"));
    }
}
