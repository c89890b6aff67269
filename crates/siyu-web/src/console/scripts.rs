//! Console: 话术库 (quick-reply scripts). `/console/scripts` shows the team's groups and the member's own
//! with their scripts (text, attachments, uses), forms to add a group and a script to a group, a CSV/XLSX
//! import (good rows kept, each bad row listed with its line) and exports; `/console/scripts/{id}` edits one.
//! A refused form keeps what was typed with the error shown.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::scripts::{GroupInput, ScriptImport};
use siyu_app::transfer::ExportFormat;
use siyu_domain::access::Permission;
use siyu_domain::id::{ScriptGroupId, ScriptId};
use siyu_domain::script::{Script, ScriptGroup, ScriptInput, ScriptScope};
use uuid::Uuid;

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FormErrors, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, check_csrf, render};
use crate::console::transfer::{PostedBody, check_form_csrf, download, read_body};
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/scripts";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .post("/console/scripts/groups", create_group)
        .post("/console/scripts/groups/{id}/delete", delete_group)
        .post("/console/scripts/groups/{id}/scripts", add_script)
        .post("/console/scripts/import", import)
        .get("/console/scripts/export", export)
        .get("/console/scripts/{id}", edit_form)
        .post("/console/scripts/{id}", update)
        .post("/console/scripts/{id}/delete", delete_script)
        .into_router()
}

/// What the add-script form of a group holds after a refusal.
#[derive(Default)]
pub struct Draft {
    pub group: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub attachments: String,
}

#[derive(Template)]
#[template(path = "scripts.html")]
struct ListPage {
    chrome: Chrome,
    groups: Vec<ScriptGroup>,
    can_team: bool,
    errors: FormErrors,
    draft: Draft,
    report: Option<ScriptImport>,
}

impl ListPage {
    fn editable(&self, g: &ScriptGroup) -> bool {
        g.scope == ScriptScope::Personal || self.can_team
    }

    fn drafting(&self, g: &ScriptGroup) -> bool {
        self.draft.group == Some(g.id.0)
    }

    fn is_team(&self, g: &ScriptGroup) -> bool {
        g.scope == ScriptScope::Team
    }

    fn attachments_of(&self, s: &Script) -> usize {
        s.attachments.len()
    }
}

async fn page(
    state: &AppState,
    ca: &ConsoleActor,
    errors: FormErrors,
    draft: Draft,
    report: Option<ScriptImport>,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "scripts");
    let groups = state.app.script_groups(&ca.actor).await?;
    Ok(render(&ListPage { groups, can_team: ca.actor.can(Permission::ContentManage), errors, draft, report, chrome }))
}

async fn list(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    page(&state, &ca, FormErrors::default(), Draft::default(), None).await
}

fn refusable(e: &AppError) -> bool {
    matches!(e, AppError::Invalid(_) | AppError::Conflict(_) | AppError::Forbidden)
}

async fn create_group(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let scope = if text(&fields, "scope") == "team" { ScriptScope::Team } else { ScriptScope::Personal };
    match state.app.create_script_group(&ca.actor, &GroupInput { name: text(&fields, "name"), scope }).await {
        Ok(_) => Ok(Redirect::to(PATH).into_response()),
        Err(e) if refusable(&e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "scripts").tr;
            page(&state, &ca, FormErrors::from_error(tr, &e, "group"), Draft::default(), None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_group(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    state.app.delete_script_group(&post.ca.actor, ScriptGroupId(parse_id(&id)?)).await?;
    Ok(Redirect::to(PATH).into_response())
}

/// The script posted in a form; attachments as a JSON array.
fn posted_script(fields: &[(String, String)]) -> Result<ScriptInput, AppError> {
    let raw = text(fields, "attachments");
    let attachments = if raw.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&raw).map_err(|_| AppError::invalid("attachments", "not a JSON array"))?
    };
    Ok(ScriptInput { title: text(fields, "title"), body: text(fields, "body"), attachments })
}

fn draft(group: Option<Uuid>, fields: &[(String, String)]) -> Draft {
    Draft { group, title: text(fields, "title"), body: text(fields, "body"), attachments: text(fields, "attachments") }
}

async fn add_script(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let group = ScriptGroupId(parse_id(&id)?);
    let result = match posted_script(&fields) {
        Ok(input) => state.app.create_script(&ca.actor, group, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(PATH).into_response()),
        Err(e) if refusable(&e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "scripts").tr;
            page(&state, &ca, FormErrors::from_error(tr, &e, "body"), draft(Some(group.0), &fields), None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn import(State(state): State<AppState>, ca: ConsoleActor, req: Request) -> ConsoleResult {
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "scripts").tr;
    let (file_name, bytes, fields) = match read_body(&state, req).await {
        Ok(PostedBody::Upload { csrf, file_name, bytes, fields }) => {
            check_csrf(&ca.user, &csrf)?;
            (file_name, bytes, fields)
        }
        Ok(PostedBody::Form(pairs)) => {
            check_form_csrf(&ca.user, &pairs)?;
            let e = AppError::invalid("file", "required");
            return page(&state, &ca, FormErrors::from_error(tr, &e, "file"), Draft::default(), None).await;
        }
        Err(e) if matches!(e, AppError::Invalid(_) | AppError::PayloadTooLarge) => {
            return page(&state, &ca, FormErrors::from_error(tr, &e, "file"), Draft::default(), None).await;
        }
        Err(e) => return Err(e.into()),
    };
    let scope = if text(&fields, "scope") == "team" { ScriptScope::Team } else { ScriptScope::Personal };
    match state.app.import_scripts(&ca.actor, &file_name, &bytes, scope).await {
        Ok(report) => page(&state, &ca, FormErrors::default(), Draft::default(), Some(report)).await,
        Err(e) if refusable(&e) || matches!(e, AppError::PayloadTooLarge) => {
            page(&state, &ca, FormErrors::from_error(tr, &e, "file"), Draft::default(), None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ExportParams {
    format: Option<String>,
}

async fn export(State(state): State<AppState>, ca: ConsoleActor, Query(p): Query<ExportParams>) -> ConsoleResult {
    let (format, ct, name) = match p.format.as_deref() {
        Some("csv") => (ExportFormat::Csv, "text/csv; charset=utf-8", "scripts.csv"),
        _ => (ExportFormat::Xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "scripts.xlsx"),
    };
    let bytes = state.app.export_scripts(&ca.actor, format).await?;
    Ok(download(ct, name, Body::from(bytes)))
}

#[derive(Template)]
#[template(path = "script_form.html")]
struct EditPage {
    chrome: Chrome,
    script: Script,
    draft: Draft,
    errors: FormErrors,
}

async fn edit_form(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let script = state.app.get_script(&ca.actor, ScriptId(parse_id(&id)?)).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "scripts");
    let attachments = if script.attachments.is_empty() {
        String::new()
    } else {
        serde_json::to_string_pretty(&script.attachments).unwrap_or_default()
    };
    let draft = Draft { group: None, title: script.title.clone(), body: script.body.clone(), attachments };
    Ok(render(&EditPage { script, draft, errors: FormErrors::default(), chrome }))
}

async fn update(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id = ScriptId(parse_id(&id)?);
    let script = state.app.get_script(&ca.actor, id).await?;
    let result = match posted_script(&fields) {
        Ok(input) => state.app.update_script(&ca.actor, id, input).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(PATH).into_response()),
        Err(e) if refusable(&e) => {
            let chrome = Chrome::new(&ca.user, Some(&ca.actor), "scripts");
            let errors = FormErrors::from_error(chrome.tr, &e, "body");
            Ok(render(&EditPage { script, draft: draft(None, &fields), errors, chrome }))
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_script(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    state.app.delete_script(&post.ca.actor, ScriptId(parse_id(&id)?)).await?;
    Ok(Redirect::to(PATH).into_response())
}
