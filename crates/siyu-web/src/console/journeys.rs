//! Console pages "旅程 / SOP": the list with each journey's live counts and the standard templates; the
//! form (`form`: a JSON graph editor from a template or blank, with a canvas preview, the publish
//! problems on their nodes and `node_fields`, the send nodes' cap policy and event triggers' key as form
//! controls), a journey's page (`detail`: the canvas with live counts on every node and the
//! uplift panel) and test mode (`test_mode`: one customer on a simulated clock).

pub mod canvas;
pub mod detail;
pub mod edit;
pub mod form;
pub mod node_fields;
pub mod test_mode;

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::journeys::metrics::GroupMetrics;
use siyu_app::journeys::templates::journey_templates;
use siyu_domain::access::Permission;
use siyu_domain::journey::JourneyGraph;

use super::customers::view::{error_message, label};
use super::page::{Chrome, ConsoleResult, render};
use crate::auth::ConsoleActor;
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/console/journeys", list)
        .get("/console/journeys/new", form::new_page)
        .post("/console/journeys", form::create)
        .post("/console/journeys/preview", form::preview)
        .get("/console/journeys/{id}", detail::show)
        .get("/console/journeys/{id}/test", test_mode::show)
        .get("/console/journeys/{id}/edit", edit::edit_page)
        .post("/console/journeys/{id}/versions", edit::publish)
        .get("/console/journeys/{id}/migrate", edit::migrate_page)
        .post("/console/journeys/{id}/migrate", edit::migrate)
        .post("/console/journeys/{id}/status", edit::set_status)
        .into_router()
}

/// A conversion rate in basis points as a percentage (`—` without entries).
pub fn percent(bp: Option<i64>) -> String {
    bp.map_or_else(|| "—".into(), |bp| format!("{}.{:02}%", bp / 100, (bp % 100).abs()))
}

/// An uplift in basis points as signed percentage points (`—` when there is none).
pub fn uplift_text(tr: Tr, bp: Option<i64>) -> String {
    let Some(bp) = bp else { return "—".into() };
    let n = format!("{}{}.{:02}", if bp >= 0 { "+" } else { "−" }, bp.abs() / 100, bp.abs() % 100);
    tr.t("journeys.points").replace("{n}", &n)
}

/// `converted / entries (rate)`.
pub fn group_text(g: &GroupMetrics) -> String {
    format!("{} / {} ({})", g.converted, g.entries, percent(g.rate_bp))
}

/// A problem's message: translated by code, with the offending value.
fn problem_text(tr: Tr, code: &str, detail: &str) -> String {
    let text = label(tr, "journeys.error", code);
    let value = detail.split_once(": ").map_or(detail, |(_, v)| v);
    if value.is_empty() || value == code { text } else { format!("{text}（{value}）") }
}

/// Publish problems by node id (`""`: the whole graph), from an `invalid_definition` error's `/nodes/<i>`
/// paths; any other error under `""`.
pub fn problems(tr: Tr, g: &JourneyGraph, e: &AppError) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    match e {
        AppError::InvalidDefinition(list) => {
            for d in list {
                let node = d
                    .path
                    .strip_prefix("/nodes/")
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| g.nodes.get(i))
                    .map_or(String::new(), |n| n.id.clone());
                out.entry(node).or_default().push(problem_text(tr, &d.code, &d.detail));
            }
        }
        other => out.entry(String::new()).or_default().push(error_message(tr, other)),
    }
    out
}

pub struct ListRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub live: bool,
    pub version: String,
    pub entries: i64,
    pub waiting: i64,
    pub converted: String,
    pub uplift: String,
}

pub struct TemplateCard {
    pub key: String,
    pub name: String,
    pub summary: String,
    pub nodes: usize,
}

#[derive(Template)]
#[template(path = "journeys_list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ListRow>,
    templates: Vec<TemplateCard>,
    can_manage: bool,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Notice {
    pub done: Option<String>,
}

async fn list(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<Notice>) -> ConsoleResult {
    let (app, a) = (&state.app, &ca.actor);
    let chrome = Chrome::new(&ca.user, Some(a), "journeys");
    let tr = chrome.tr;
    let mut rows = Vec::new();
    for j in app.list_journeys(a).await? {
        let m = app.journey_detail(a, j.id, None).await?.metrics;
        let converted = match &m.goal {
            Some(_) => group_text(&GroupMetrics {
                entries: m.treatment.entries + m.holdout.entries,
                converted: m.treatment.converted + m.holdout.converted,
                rate_bp: None,
            })
            .replace(" (—)", ""),
            None => "—".into(),
        };
        rows.push(ListRow {
            id: j.id.to_string(),
            status: label(tr, "journeys.status", &j.status),
            live: j.status == "live",
            version: j.live_version.map_or("—".into(), |v| format!("v{v}")),
            entries: m.entries,
            waiting: m.live,
            converted,
            uplift: uplift_text(tr, m.uplift_bp),
            name: j.name,
        });
    }
    let templates = journey_templates()?
        .into_iter()
        .map(|t| TemplateCard { nodes: t.graph.nodes.len(), key: t.key, name: t.name, summary: t.summary })
        .collect();
    let notice = q.done.map(|d| label(tr, "journeys.done", &d));
    let page = ListPage { rows, templates, can_manage: a.can(Permission::JourneysManage), notice, chrome };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_shown_as_percentages_with_two_decimals() {
        assert_eq!(percent(Some(2500)), "25.00%");
        assert_eq!(percent(Some(7)), "0.07%");
        assert_eq!(percent(None), "—");
        let g = GroupMetrics { entries: 8, converted: 2, rate_bp: Some(2500) };
        assert_eq!(group_text(&g), "2 / 8 (25.00%)");
    }
}
