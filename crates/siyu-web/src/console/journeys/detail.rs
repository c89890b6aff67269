//! One journey's page (`/console/journeys/{id}`): the canvas of the version shown with the live counts on
//! every node, the totals, the uplift panel (the goal's conversion of the treatment against the holdout)
//! and the graph's JSON; `?version=N` shows an older version and counts only its runs.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use siyu_domain::id::JourneyId;

use super::canvas::{Canvas, H, W, canvas};
use super::{group_text, percent, uplift_text};
use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::label;
use crate::console::page::{Chrome, ConsoleResult, render};
use crate::state::AppState;

/// One group's row of the uplift panel.
pub struct GroupRow {
    pub name: String,
    pub entries: i64,
    pub converted: i64,
    pub rate: String,
    /// Bar width in percent of the panel.
    pub bar: i64,
}

#[derive(Template)]
#[template(path = "journey_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    name: String,
    status: String,
    live: bool,
    version: String,
    /// (version, url, current) of every version up to the live one.
    versions: Vec<(i64, String, bool)>,
    /// Whether the counts are of the shown version alone.
    one_version: bool,
    entries: i64,
    waiting: i64,
    completed: i64,
    exited: i64,
    canvas: Canvas,
    node_w: i32,
    node_h: i32,
    /// The goal in words (`None`: the graph has none).
    goal: Option<String>,
    groups: Vec<GroupRow>,
    uplift: String,
    overall: String,
    graph_json: String,
    notice: Option<String>,
    can_manage: bool,
    /// Runs still on versions older than the live one.
    older_runs: i64,
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    pub version: Option<i64>,
    pub done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> ConsoleResult {
    let id: JourneyId = parse_id(&id)?;
    let a = &ca.actor;
    let chrome = Chrome::new(&ca.user, Some(a), "journeys");
    let tr = chrome.tr;
    let d = state.app.journey_detail(a, id, q.version).await?;
    let m = &d.metrics;
    let canvas = match &d.graph {
        Some(g) => canvas(tr, g, Some(m), &BTreeMap::new()),
        None => Canvas { width: W, height: H, nodes: Vec::new(), edges: Vec::new(), problems: Vec::new() },
    };
    let goal = m.goal.as_ref().map(|g| {
        tr.t("journeys.goal_text")
            .replace("{event}", &label(tr, "journeys.event", &g.event))
            .replace("{days}", &g.within_days.to_string())
    });
    let top = m.treatment.rate_bp.unwrap_or(0).max(m.holdout.rate_bp.unwrap_or(0)).max(1);
    let groups = [("journeys.treatment", &m.treatment), ("journeys.holdout", &m.holdout)]
        .into_iter()
        .map(|(key, g)| GroupRow {
            name: tr.t(key).to_string(),
            entries: g.entries,
            converted: g.converted,
            rate: percent(g.rate_bp),
            bar: g.rate_bp.unwrap_or(0) * 100 / top,
        })
        .collect();
    let all = siyu_app::journeys::metrics::GroupMetrics {
        entries: m.treatment.entries + m.holdout.entries,
        converted: m.treatment.converted + m.holdout.converted,
        rate_bp: None,
    };
    let overall = group_text(&siyu_app::journeys::metrics::GroupMetrics {
        rate_bp: (all.entries > 0).then(|| all.converted * 10_000 / all.entries),
        ..all
    });
    let live_version = d.journey.live_version.unwrap_or(0);
    let versions = (1..=live_version)
        .map(|v| (v, format!("/console/journeys/{id}?version={v}"), d.version == Some(v) && q.version.is_some()))
        .collect();
    let live_runs = state.app.journey_runs(a, id).await?;
    let older_runs = live_runs.iter().filter(|r| r.0 < live_version).map(|r| r.2).sum();
    let page = DetailPage {
        can_manage: a.can(siyu_domain::access::Permission::JourneysManage),
        older_runs,
        id: id.to_string(),
        name: d.journey.name.clone(),
        status: label(tr, "journeys.status", &d.journey.status),
        live: d.journey.status == "live",
        version: d.version.map_or("—".into(), |v| format!("v{v}")),
        versions,
        one_version: q.version.is_some(),
        entries: m.entries,
        waiting: m.live,
        completed: m.completed,
        exited: m.exited,
        canvas,
        node_w: W,
        node_h: H,
        goal,
        groups,
        uplift: uplift_text(tr, m.uplift_bp),
        overall,
        graph_json: d.graph.as_ref().and_then(|g| serde_json::to_string_pretty(g).ok()).unwrap_or_default(),
        notice: q.done.map(|x| label(tr, "journeys.done", &x)),
        chrome,
    };
    Ok(render(&page))
}
