//! Credentials: `gettoken` access tokens per (corp, secret) that expire on the fake clock, the token check
//! every other call goes through, early revocation, and the JS-SDK tickets (`get_jsapi_ticket`,
//! `ticket/get?type=agent_config`).

use std::collections::BTreeMap;

use rand::Rng;
use rand::distributions::Alphanumeric;
use serde_json::json;

use super::config::FakeConfig;
use super::request::{ApiError, ApiResult, Ctx, reply};
use super::state::{Corp, State};
use super::{FakeError, FakeHandle, limits};

/// An issued access token.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub corp_id: String,
    pub app: usize,
    pub expires_at: i64,
}

/// Which JS-SDK ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketKind {
    /// `get_jsapi_ticket`, for `wx.config`.
    Corp,
    /// `ticket/get?type=agent_config`, for `wx.agentConfig`.
    Agent,
}

/// A JS-SDK ticket the fake handed out.
#[derive(Clone, Debug)]
pub struct IssuedTicket {
    pub kind: TicketKind,
    /// Index of the secret (app) the ticket was fetched with.
    pub app: usize,
    pub ticket: String,
    pub issued_at: i64,
}

fn random_token(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// `GET gettoken?corpid=&corpsecret=`: the corp it resolved (for logging and rate limits) and the reply.
pub(crate) fn gettoken(
    state: &mut State,
    config: &FakeConfig,
    now: i64,
    query: &BTreeMap<String, String>,
) -> (Option<String>, ApiResult) {
    let Some(corp_id) = query.get("corpid").filter(|s| !s.is_empty()) else {
        return (None, Err(ApiError::code(41002)));
    };
    let Some(corp) = state.corps.get(corp_id) else {
        return (None, Err(ApiError::code(40013)));
    };
    let corp_id = corp_id.clone();
    let Some(secret) = query.get("corpsecret").filter(|s| !s.is_empty()) else {
        return (Some(corp_id), Err(ApiError::code(41004)));
    };
    let Some(app) = corp.setup.secrets.iter().position(|s| s == secret) else {
        return (Some(corp_id), Err(ApiError::code(40001)));
    };
    let limits = (config.minute_limit, config.hour_limit);
    if let Err(e) = limits::count_call(state, config, now, &corp_id, "gettoken", limits) {
        return (Some(corp_id), Err(e));
    }
    let token = random_token(64);
    let expires_at = now + config.token_ttl;
    state.tokens.insert(token.clone(), Token { corp_id: corp_id.clone(), app, expires_at });
    (Some(corp_id), reply(json!({"access_token": token, "expires_in": config.token_ttl})))
}

/// The token check of every call but `gettoken`: 41001 missing, 40014 unknown or revoked, 42001 expired.
pub(crate) fn authenticate(
    state: &State,
    now: i64,
    query: &BTreeMap<String, String>,
) -> Result<(String, usize), ApiError> {
    let token = query.get("access_token").filter(|s| !s.is_empty()).ok_or(ApiError::code(41001))?;
    let issued = state.tokens.get(token).ok_or(ApiError::code(40014))?;
    if now >= issued.expires_at {
        return Err(ApiError::code(42001));
    }
    Ok((issued.corp_id.clone(), issued.app))
}

fn issue_ticket(corp: &mut Corp, ctx: &Ctx<'_>, kind: TicketKind, hourly: u32) -> ApiResult {
    let now = ctx.now();
    let recent = corp
        .tickets
        .iter()
        .filter(|t| t.kind == kind && (kind == TicketKind::Corp || t.app == ctx.app) && now - t.issued_at < 3600)
        .count();
    if recent >= usize::try_from(hourly).unwrap_or(usize::MAX) {
        return Err(ApiError::code(45009));
    }
    let ticket = random_token(86);
    corp.tickets.push(IssuedTicket { kind, app: ctx.app, ticket: ticket.clone(), issued_at: now });
    reply(json!({"ticket": ticket, "expires_in": 7200}))
}

/// `GET get_jsapi_ticket`: the corp ticket (400 per hour per corp).
pub(crate) fn get_jsapi_ticket(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    issue_ticket(corp, ctx, TicketKind::Corp, ctx.env.config.corp_ticket_hourly)
}

/// `GET ticket/get?type=agent_config`: the app ticket (100 per hour per app).
pub(crate) fn get_agent_ticket(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    match ctx.str("type") {
        Some("agent_config") => issue_ticket(corp, ctx, TicketKind::Agent, ctx.env.config.app_ticket_hourly),
        _ => Err(ApiError::invalid("type must be agent_config")),
    }
}

impl FakeHandle {
    /// Revokes every access token of `corp` early: their next use answers 40014.
    pub fn revoke_token(&self, corp: &str) {
        self.lock().tokens.retain(|_, t| t.corp_id != corp);
    }

    /// The access tokens of `corp` still valid on the fake clock.
    pub fn valid_tokens(&self, corp: &str) -> Vec<String> {
        let now = self.now();
        let state = self.lock();
        let mut tokens: Vec<String> = state
            .tokens
            .iter()
            .filter(|(_, t)| t.corp_id == corp && now < t.expires_at)
            .map(|(k, _)| k.clone())
            .collect();
        tokens.sort();
        tokens
    }

    /// The JS-SDK tickets handed out to `corp`, oldest first.
    pub fn tickets(&self, corp: &str) -> Result<Vec<IssuedTicket>, FakeError> {
        self.with_corp(corp, |c, _| Ok(c.tickets.clone()))
    }
}
