//! Console page: lifecycle stages (生命周期阶段). Each stage with how many customers are in it (a bar per
//! stage: the funnel at a glance), what moves customers in, and an editor for the list as JSON with the
//! problem shown inline. Journeys start on stage entries; segments test the stage.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_domain::access::Permission;
use siyu_domain::stage::{EntryRule, StageDef};

use super::customers::view::{FormErrors, one};
use super::page::{Chrome, ConsoleResult, FormPost, render};
use crate::auth::ConsoleActor;
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new().get("/console/stages", page).post("/console/stages", save).into_router()
}

pub struct StageRow {
    pub key: String,
    pub name: String,
    pub dormant: bool,
    pub rules: Vec<String>,
    pub customers: i64,
    /// Bar width, percent of the largest stage.
    pub width: i64,
}

#[derive(Template)]
#[template(path = "stages.html")]
struct StagesPage {
    chrome: Chrome,
    rows: Vec<StageRow>,
    can_edit: bool,
    json: String,
    errors: FormErrors,
}

/// A rule in words.
fn describe(tr: Tr, r: &EntryRule, name: &dyn Fn(&str) -> String) -> String {
    let from = |f: &[String]| {
        let names: Vec<String> = f.iter().map(|k| name(k)).collect();
        if f.is_empty() { String::new() } else { format!(" ({} {})", tr.t("stages.rule.from"), names.join(", ")) }
    };
    match r {
        EntryRule::Created => tr.t("stages.rule.created").to_string(),
        EntryRule::Event { name, from: f } => format!("{} {name}{}", tr.t("stages.rule.event"), from(f)),
        EntryRule::TagAdded { tag, from: f } => format!("{} {tag}{}", tr.t("stages.rule.tag"), from(f)),
        EntryRule::PaidOrders { count } => tr.t("stages.rule.paid_orders").replace("{n}", &count.to_string()),
        EntryRule::Silent { days } => tr.t("stages.rule.silent").replace("{n}", &days.to_string()),
        EntryRule::Stalled { stage, days } => {
            tr.t("stages.rule.stalled").replace("{stage}", &name(stage)).replace("{n}", &days.to_string())
        }
    }
}

async fn stages_page(state: &AppState, ca: &ConsoleActor, json: Option<String>, errors: FormErrors) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "stages");
    let tr = chrome.tr;
    let list = state.app.stage_list(&ca.actor).await?;
    let max = list.iter().map(|s| s.customers).max().unwrap_or(0).max(1);
    let defs: Vec<&StageDef> = list.iter().map(|s| &s.stage).collect();
    let name = |k: &str| defs.iter().find(|d| d.key == k).map_or_else(|| k.to_string(), |d| d.name.clone());
    let json = match json {
        Some(j) => j,
        None => serde_json::to_string_pretty(&defs).map_err(AppError::internal)?,
    };
    let rows = list
        .iter()
        .map(|s| StageRow {
            key: s.stage.key.clone(),
            name: s.stage.name.clone(),
            dormant: s.stage.dormant,
            rules: s.stage.rules.iter().map(|r| describe(tr, r, &name)).collect(),
            customers: s.customers,
            width: s.customers * 100 / max,
        })
        .collect();
    let can_edit = ca.actor.can(Permission::JourneysManage);
    let status = if errors.0.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, render(&StagesPage { chrome, rows, can_edit, json, errors })).into_response())
}

async fn page(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    stages_page(&state, &ca, None, FormErrors::default()).await
}

async fn save(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let json = one(&fields, "stages").unwrap_or("").to_string();
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "stages").tr;
    let list: Vec<StageDef> = match serde_json::from_str(&json) {
        Ok(l) => l,
        Err(e) => {
            let err = AppError::invalid("stages", format!("bad_json: {e}"));
            return stages_page(&state, &ca, Some(json), FormErrors::from_error(tr, &err, "stages")).await;
        }
    };
    match state.app.save_stages(&ca.actor, list).await {
        Ok(_) => Ok(Redirect::to("/console/stages").into_response()),
        Err(e @ AppError::Invalid(_)) => {
            stages_page(&state, &ca, Some(json), FormErrors::from_error(tr, &e, "stages")).await
        }
        Err(e) => Err(e.into()),
    }
}
