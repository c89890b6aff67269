//! Editing a live journey in the console (reference/journeys.md §6): a new version from the live graph's
//! JSON (checked as typed, problems on their nodes), then moving the runs still on older versions node by
//! node — with a preview of how many runs go where, which ones restart, and which new steps they will skip
//! — and pausing, resuming or archiving the journey.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::journeys::versions::{MigrationInput, MigrationPlan};
use siyu_domain::access::Permission;
use siyu_domain::id::JourneyId;

use super::form::{Preview, check, field, show, with_fields};
use super::node_fields::{FieldErrors, field_errors};
use super::problems;
use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::error_message;
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "journey_edit.html")]
struct EditPage {
    chrome: Chrome,
    id: String,
    name: String,
    version: i64,
    graph: String,
    preview: Preview,
    error: Option<String>,
}

/// One old node's row of the migration form.
pub struct MoveRow {
    pub from: String,
    pub runs: i64,
    /// (new node id, selected)
    pub targets: Vec<(String, bool)>,
    /// From the preview: restart, skipped new nodes.
    pub restart: Option<bool>,
    pub skipped: Vec<String>,
}

#[derive(Template)]
#[template(path = "journey_migrate.html")]
struct MigratePage {
    chrome: Chrome,
    id: String,
    name: String,
    from: i64,
    to: i64,
    /// Older versions with live runs.
    older: Vec<i64>,
    rows: Vec<MoveRow>,
    restart: bool,
    previewed: bool,
    error: Option<String>,
}

pub async fn edit_page(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    ca.actor.require(Permission::JourneysManage)?;
    let id: JourneyId = parse_id(&id)?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "journeys");
    let d = state.app.journey_detail(&ca.actor, id, None).await?;
    let graph = d.graph.as_ref().and_then(|g| serde_json::to_string_pretty(g).ok()).unwrap_or_default();
    let preview = check(&state, &ca, chrome.tr, &graph).await;
    let version = d.journey.live_version.unwrap_or(0);
    Ok(render(&EditPage { chrome, id: id.to_string(), name: d.journey.name, version, graph, preview, error: None }))
}

/// Publishes the typed graph as the journey's next version; then, if older versions still have runs, the
/// migration form.
pub async fn publish(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let ca = &post.ca;
    let id: JourneyId = parse_id(&id)?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "journeys");
    let tr = chrome.tr;
    let mut text = field(&post.fields, "graph").to_string();
    let blank = Preview::blank();
    let (preview, error) = match with_fields(tr, &mut text, &post.fields) {
        Err(e) => (Preview { json_error: Some(e), ..blank }, None),
        Ok((graph, errors)) if !errors.is_empty() => (show(tr, &graph, BTreeMap::new(), &errors, blank), None),
        Ok((graph, _)) => match state.app.publish_journey_version(&ca.actor, id, &graph).await {
            Ok(v) => {
                let waiting = state.app.journey_runs(&ca.actor, id).await?;
                let target = match waiting.iter().map(|w| w.0).filter(|w| *w < v).min() {
                    Some(from) => format!("/console/journeys/{id}/migrate?from={from}"),
                    None => format!("/console/journeys/{id}?done=published"),
                };
                return Ok(Redirect::to(&target).into_response());
            }
            Err(e @ AppError::InvalidDefinition(_)) => {
                (show(tr, &graph, problems(tr, &graph, &e), &field_errors(tr, &graph, &e), blank), None)
            }
            Err(e @ (AppError::Forbidden | AppError::CsrfFailed | AppError::NotFound)) => return Err(e.into()),
            Err(e) => (show(tr, &graph, BTreeMap::new(), &FieldErrors::new(), blank), Some(error_message(tr, &e))),
        },
    };
    let d = state.app.journey_detail(&ca.actor, id, None).await?;
    let version = d.journey.live_version.unwrap_or(0);
    let page = EditPage { chrome, id: id.to_string(), name: d.journey.name, version, graph: text, preview, error };
    Ok((StatusCode::BAD_REQUEST, render(&page)).into_response())
}

#[derive(Deserialize, Default)]
pub struct MigrateQuery {
    pub from: Option<i64>,
}

/// The migration form: every old node with runs, its target (the same id by default) and a preview.
pub async fn migrate_page(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<MigrateQuery>,
) -> ConsoleResult {
    ca.actor.require(Permission::JourneysManage)?;
    let id: JourneyId = parse_id(&id)?;
    migrate_form(&state, &ca, id, q.from, None, false, Ok(None)).await
}

/// Previews (`preview`) or applies the mapping posted.
pub async fn migrate(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let ca = &post.ca;
    let id: JourneyId = parse_id(&id)?;
    // A missing version reads as 0, which the app refuses after it found the journey (so another tenant's
    // journey answers 404, not 400).
    let from: i64 = field(&post.fields, "from").parse().unwrap_or(0);
    let map: BTreeMap<String, String> = post
        .fields
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("to.").map(|node| (node.to_string(), v.clone())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let restart = field(&post.fields, "restart") == "on";
    let dry_run = field(&post.fields, "apply").is_empty();
    let input = MigrationInput { from_version: from, map: map.clone(), restart, dry_run };
    match state.app.migrate_journey(&ca.actor, id, input).await {
        Ok(plan) if !dry_run => {
            Ok(Redirect::to(&format!("/console/journeys/{id}?done=migrated&moved={}", plan.moved)).into_response())
        }
        Ok(plan) => migrate_form(&state, ca, id, Some(from), Some(map), restart, Ok(Some(plan))).await,
        Err(e @ (AppError::Invalid(_) | AppError::InvalidDefinition(_))) => {
            migrate_form(&state, ca, id, Some(from), Some(map), restart, Err(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn migrate_form(
    state: &AppState,
    ca: &ConsoleActor,
    id: JourneyId,
    from: Option<i64>,
    chosen: Option<BTreeMap<String, String>>,
    restart: bool,
    plan: Result<Option<MigrationPlan>, AppError>,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "journeys");
    let d = state.app.journey_detail(&ca.actor, id, None).await?;
    let to = d.journey.live_version.unwrap_or(0);
    let live = state.app.journey_runs(&ca.actor, id).await?;
    let mut older: Vec<i64> = live.iter().map(|w| w.0).filter(|v| *v < to).collect();
    older.dedup();
    let from = from.or(older.first().copied()).unwrap_or(to.max(2) - 1);
    let new_nodes: Vec<String> =
        d.graph.as_ref().map(|g| g.nodes.iter().map(|n| n.id.clone()).collect()).unwrap_or_default();
    let (plan, error) = match plan {
        Ok(p) => (p, None),
        Err(e) => (None, Some(error_message(chrome.tr, &e))),
    };
    let rows = live
        .iter()
        .filter(|w| w.0 == from)
        .map(|(_, node, runs)| {
            let pick = match &chosen {
                Some(map) => map.get(node).cloned(),
                None => new_nodes.contains(node).then(|| node.clone()),
            };
            let planned = plan.as_ref().and_then(|p| p.moves.iter().find(|m| &m.from_node == node));
            MoveRow {
                from: node.clone(),
                runs: *runs,
                targets: new_nodes.iter().map(|n| (n.clone(), pick.as_deref() == Some(n.as_str()))).collect(),
                restart: planned.filter(|m| m.to_node.is_some()).map(|m| m.restart),
                skipped: planned.map(|m| m.skipped_new_nodes.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let page = MigratePage {
        chrome,
        id: id.to_string(),
        name: d.journey.name,
        from,
        to,
        older,
        rows,
        restart,
        previewed: plan.is_some(),
        error,
    };
    Ok(render(&page))
}

/// Pauses, resumes or archives the journey.
pub async fn set_status(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: JourneyId = parse_id(&id)?;
    let status = field(&post.fields, "status").to_string();
    state.app.set_journey_status(&post.ca.actor, id, &status).await?;
    Ok(Redirect::to(&format!("/console/journeys/{id}?done={status}")).into_response())
}
