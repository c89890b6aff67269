//! Console pages: the audit log, newest first, filtered by action prefix, paged with "older".

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::audit::AuditQuery;
use siyu_domain::id::AuditId;

use super::customers::view::{fmt_time, label};
use super::page::{Chrome, ConsoleResult, render};
use crate::auth::{ConsoleActor, urlencode};
use crate::routes::Routes;
use crate::state::AppState;

const PAGE: u32 = 50;

/// Action prefixes offered in the filter (any prefix may be typed).
const PREFIXES: [&str; 10] =
    ["auth.", "customer.", "pii.", "tag", "member.", "department.", "token.", "source.", "field.", "import"];

pub fn router() -> Router<AppState> {
    Routes::new().get("/console/audit", page).into_router()
}

pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub action: String,
    pub action_label: String,
    pub object_type: String,
    pub object_id: String,
    pub object_url: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditRow>,
    action: String,
    prefixes: Vec<(&'static str, String)>,
    older_url: Option<String>,
    newest_url: Option<String>,
}

#[derive(Deserialize)]
struct AuditParams {
    action: Option<String>,
    before: Option<String>,
}

async fn page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<AuditParams>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "audit");
    let tr = chrome.tr;
    let action: String = q.action.as_deref().map(str::trim).unwrap_or("").chars().take(64).collect();
    let before = match q.before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => Some(b.parse::<AuditId>().map_err(|_| AppError::invalid("before", "invalid_cursor"))?),
        None => None,
    };
    let query = AuditQuery {
        action_prefix: Some(action.clone()).filter(|a| !a.is_empty()),
        before,
        limit: PAGE,
        ..Default::default()
    };
    let log = state.app.audit_log(&ca.actor, query).await?;
    let action_q = if action.is_empty() { String::new() } else { format!("action={}&", urlencode(&action)) };
    let rows = log
        .items
        .into_iter()
        .map(|e| {
            let object_url = match (e.object_type.as_str(), &e.object_id) {
                ("customer", Some(id)) if e.action != "customer.delete" => Some(format!("/console/customers/{id}")),
                ("member", Some(id)) => Some(format!("/console/users/{id}/edit")),
                _ => None,
            };
            let detail = if e.detail.is_null() || e.detail == serde_json::json!({}) {
                String::new()
            } else {
                e.detail.to_string()
            };
            AuditRow {
                when: fmt_time(&e.at),
                actor: e.actor_name,
                action_label: label(tr, "audit.action", &e.action),
                action: e.action,
                object_type: label(tr, "audit.object_type", &e.object_type),
                object_id: e.object_id.unwrap_or_default(),
                object_url,
                ip: e.ip.unwrap_or_default(),
                user_agent: e.user_agent.unwrap_or_default(),
                detail,
            }
        })
        .collect();
    let page = AuditPage {
        rows,
        prefixes: PREFIXES.iter().map(|p| (*p, label(tr, "audit.prefix", p.trim_end_matches('.')))).collect(),
        older_url: log.next_cursor.map(|c| format!("/console/audit?{action_q}before={}", urlencode(&c))),
        newest_url: before.map(|_| format!("/console/audit?{}", action_q.trim_end_matches('&'))),
        action,
        chrome,
    };
    Ok(render(&page))
}
