//! The journey form (`/console/journeys/new`): a name and the graph as JSON, blank or from a template, a
//! canvas preview checked against the tenant as the operator types (htmx, `/console/journeys/preview`),
//! and publishing, which on problems shows them inline and highlights each on its node. Beside the canvas,
//! `node_fields` draws the settings of send nodes and event triggers as form controls.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::journeys::NewJourney;
use siyu_app::journeys::templates::{journey_template, journey_templates};
use siyu_domain::access::Permission;
use siyu_domain::journey::JourneyGraph;

use super::canvas::{Canvas, H, W, canvas};
use super::node_fields::{FieldErrors, NodeFields, apply, field_errors, node_fields};
use super::problems;
use crate::auth::ConsoleActor;
use crate::console::customers::view::error_message;
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::state::AppState;

/// A graph to start from when no template is chosen.
const BLANK: &str = r#"{
  "nodes": [
    {"id": "start", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "hello"}, "x": 40, "y": 20},
    {"id": "hello", "type": "send", "channel": "sandbox", "template": "{{ name }}您好！", "on_cap": "skip", "next": {"next": "done"}, "x": 40, "y": 140},
    {"id": "done", "type": "exit", "x": 40, "y": 260}
  ],
  "reentry": {"policy": "never"},
  "goal": {"event": "order_paid", "within_days": 7}
}"#;

/// The canvas with what checking the graph found, or why it could not be read.
pub struct Preview {
    pub canvas: Option<Canvas>,
    pub node_w: i32,
    pub node_h: i32,
    /// Every problem as `node: message` (the list beside the canvas).
    pub list: Vec<(String, String)>,
    /// The JSON did not parse: the parser's message.
    pub json_error: Option<String>,
    pub ok: bool,
    /// The send nodes' cap policies and the event triggers' keys as form controls.
    pub fields: NodeFields,
}

impl Preview {
    pub(super) fn blank() -> Self {
        Preview {
            canvas: None,
            node_w: W,
            node_h: H,
            list: Vec::new(),
            json_error: None,
            ok: false,
            fields: NodeFields::default(),
        }
    }
}

#[derive(Template)]
#[template(path = "journey_preview.html")]
struct PreviewFragment {
    chrome: Chrome,
    preview: Preview,
}

#[derive(Template)]
#[template(path = "journey_form.html")]
struct FormPage {
    chrome: Chrome,
    name: String,
    graph: String,
    /// (key, name, chosen)
    templates: Vec<(String, String, bool)>,
    preview: Preview,
    error: Option<String>,
}

pub(super) fn parse(text: &str) -> Result<JourneyGraph, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Checks `text` against the tenant without saving and draws it.
pub(super) async fn check(state: &AppState, ca: &ConsoleActor, tr: Tr, text: &str) -> Preview {
    let mut p = Preview::blank();
    let g = match parse(text) {
        Ok(g) => g,
        Err(e) => {
            p.json_error = Some(e);
            return p;
        }
    };
    let (found, errors) = match state.app.check_journey(ca.actor.tenant, &g).await {
        Ok(()) => (BTreeMap::new(), FieldErrors::new()),
        Err(e) => (problems(tr, &g, &e), field_errors(tr, &g, &e)),
    };
    show(tr, &g, found, &errors, p)
}

pub(super) fn show(
    tr: Tr,
    g: &JourneyGraph,
    found: BTreeMap<String, Vec<String>>,
    errors: &FieldErrors,
    mut p: Preview,
) -> Preview {
    p.ok = found.is_empty() && errors.is_empty();
    p.fields = node_fields(tr, g, errors);
    p.list = found.iter().flat_map(|(node, list)| list.iter().map(move |m| (node.clone(), m.clone()))).collect();
    p.canvas = Some(canvas(tr, g, None, &found));
    p
}

fn templates(chosen: &str) -> Result<Vec<(String, String, bool)>, AppError> {
    Ok(journey_templates()?.into_iter().map(|t| (t.key.clone(), t.name, t.key == chosen)).collect())
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    pub template: Option<String>,
}

pub async fn new_page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<NewQuery>) -> ConsoleResult {
    ca.actor.require(Permission::JourneysManage)?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "journeys");
    let tr = chrome.tr;
    let (name, graph) = match q.template.as_deref().filter(|k| !k.is_empty()) {
        Some(key) => {
            let t = journey_template(key)?;
            (t.name, serde_json::to_string_pretty(&t.graph).map_err(|e| AppError::Internal(e.into()))?)
        }
        None => (String::new(), BLANK.to_string()),
    };
    let preview = check(&state, &ca, tr, &graph).await;
    let templates = templates(q.template.as_deref().unwrap_or(""))?;
    Ok(render(&FormPage { chrome, name, graph, templates, preview, error: None }))
}

pub(super) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// The canvas and problems of the typed graph (an htmx fragment).
pub async fn preview(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    post.ca.actor.require(Permission::JourneysManage)?;
    let chrome = Chrome::new(&post.ca.user, Some(&post.ca.actor), "journeys");
    let preview = check(&state, &post.ca, chrome.tr, field(&post.fields, "graph")).await;
    Ok(render(&PreviewFragment { chrome, preview }))
}

/// The typed graph with the posted node fields applied, and the text to show again (rewritten when the
/// fields changed the graph, so the JSON says what was submitted).
pub(super) fn with_fields(
    tr: Tr,
    text: &mut String,
    posted: &[(String, String)],
) -> Result<(JourneyGraph, FieldErrors), String> {
    let mut graph = parse(text)?;
    let before = graph.clone();
    let errors = apply(tr, &mut graph, posted);
    if graph != before
        && let Ok(t) = serde_json::to_string_pretty(&graph)
    {
        *text = t;
    }
    Ok((graph, errors))
}

/// Publishes the typed graph as a new journey; problems come back inline with their nodes highlighted.
pub async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let ca = &post.ca;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "journeys");
    let tr = chrome.tr;
    let (name, mut text) = (field(&post.fields, "name").to_string(), field(&post.fields, "graph").to_string());
    let blank = Preview::blank();
    let (preview, error) = match with_fields(tr, &mut text, &post.fields) {
        Err(e) => (Preview { json_error: Some(e), ..blank }, None),
        Ok((graph, errors)) if !errors.is_empty() => (show(tr, &graph, BTreeMap::new(), &errors, blank), None),
        Ok((graph, _)) => {
            match state.app.create_journey_as(&ca.actor, NewJourney { name: name.clone(), graph: graph.clone() }).await
            {
                Ok(j) => return Ok(Redirect::to(&format!("/console/journeys/{}?done=published", j.id)).into_response()),
                Err(e @ AppError::InvalidDefinition(_)) => {
                    (show(tr, &graph, problems(tr, &graph, &e), &field_errors(tr, &graph, &e), blank), None)
                }
                Err(e @ (AppError::Forbidden | AppError::CsrfFailed)) => return Err(e.into()),
                Err(e) => (show(tr, &graph, BTreeMap::new(), &FieldErrors::new(), blank), Some(error_message(tr, &e))),
            }
        }
    };
    let templates = templates("")?;
    let page = FormPage { chrome, name, graph: text, templates, preview, error };
    Ok((StatusCode::BAD_REQUEST, render(&page)).into_response())
}
