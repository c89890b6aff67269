//! Console page "合并建议": the identity graph's review queue. Each row shows the two customers side by
//! side with why they may be one person; an operator merges them (the older survives) or keeps them apart
//! (the pair is not raised again for that reason). Decided suggestions stay visible under their tabs.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::customers::CustomerSummary;
use siyu_app::graph::SuggestionView;
use siyu_domain::access::Permission;
use siyu_domain::graph::SuggestionStatus;
use siyu_domain::id::SuggestionId;

use super::customers::merges::evidence_label;
use super::customers::parse_id;
use super::customers::view::{error_message, fmt_time, label};
use super::page::{Chrome, ConsoleResult, FormPost, render};
use crate::auth::{ConsoleActor, urlencode};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/identity/suggestions";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, page)
        .post("/console/identity/suggestions/{id}/accept", accept)
        .post("/console/identity/suggestions/{id}/reject", reject)
        .into_router()
}

pub struct Side {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub tags: Vec<String>,
    pub created: String,
}

pub struct Row {
    pub id: String,
    pub reason: String,
    pub reason_code: &'static str,
    pub display: String,
    pub evidence: String,
    pub created: String,
    pub decided: Option<String>,
    /// The two customers, older first as they were created.
    pub sides: Vec<Side>,
}

#[derive(Template)]
#[template(path = "identity_suggestions.html")]
struct SuggestionsPage {
    chrome: Chrome,
    /// (status, label, count or empty, active)
    tabs: Vec<(&'static str, String, bool)>,
    rows: Vec<Row>,
    open: bool,
    can_write: bool,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    pub status: Option<String>,
    pub error: Option<String>,
    pub done: Option<String>,
}

fn side(c: CustomerSummary) -> Side {
    Side {
        id: c.customer.id.to_string(),
        name: c.customer.name,
        phone: c.phone.unwrap_or_default(),
        tags: c.tags.into_iter().take(4).map(|t| t.name).collect(),
        created: fmt_time(&c.customer.created_at),
    }
}

fn row(tr: Tr, s: SuggestionView) -> Row {
    let display = s.evidence.get("display").and_then(|d| d.as_str()).unwrap_or("").to_string();
    let evidence =
        s.evidence.get("evidence").and_then(|d| d.as_str()).map(|e| evidence_label(tr, e)).unwrap_or_default();
    Row {
        id: s.id.to_string(),
        reason: label(tr, "merges.reason", s.reason.as_str()),
        reason_code: s.reason.as_str(),
        display,
        evidence,
        created: fmt_time(&s.created_at),
        decided: s.decided_at.as_ref().map(fmt_time),
        sides: vec![side(s.a), side(s.b)],
    }
}

async fn page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<PageQuery>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "identity");
    let tr = chrome.tr;
    let status = q.status.as_deref().and_then(SuggestionStatus::parse).unwrap_or(SuggestionStatus::Open);
    let list = state.app.merge_suggestions(&ca.actor, status, None, 100).await?;
    let tabs = [SuggestionStatus::Open, SuggestionStatus::Accepted, SuggestionStatus::Rejected]
        .into_iter()
        .map(|s| (s.as_str(), label(tr, "merges.status", s.as_str()), s == status))
        .collect();
    let notice = q.done.as_deref().map(|d| label(tr, "merges.done", d));
    let page = SuggestionsPage {
        tabs,
        rows: list.into_iter().map(|s| row(tr, s)).collect(),
        open: status == SuggestionStatus::Open,
        can_write: ca.actor.can(Permission::CustomersWrite),
        error: q.error,
        notice,
        chrome,
    };
    Ok(render(&page))
}

async fn decide(state: &AppState, id: &str, post: FormPost, accept: bool) -> ConsoleResult {
    let FormPost { ca, .. } = post;
    let id = parse_id::<SuggestionId>(id)?;
    let result = if accept {
        state.app.accept_suggestion(&ca.actor, id).await.map(|_| ())
    } else {
        state.app.reject_suggestion(&ca.actor, id).await
    };
    let target = match result {
        Ok(()) => format!("{PATH}?done={}", if accept { "accepted" } else { "rejected" }),
        Err(e @ (siyu_app::AppError::NotFound | siyu_app::AppError::Forbidden)) => return Err(e.into()),
        Err(e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "identity").tr;
            format!("{PATH}?error={}", urlencode(&error_message(tr, &e)))
        }
    };
    Ok(Redirect::to(&target).into_response())
}

async fn accept(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    decide(&state, &id, post, true).await
}

async fn reject(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    decide(&state, &id, post, false).await
}
