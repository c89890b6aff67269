//! Console: 群SOP templates. `/console/group-sops` lists them with how many groups follow each; the form
//! edits a template's name, kind and steps (a row per step: day after opening or weekdays, local time, text,
//! attachments as WeCom JSON), blank rows ignored, each refusal shown inline on its row.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_app::wecom::{SopInput, SopView};
use siyu_domain::access::Permission;
use siyu_domain::id::SopId;
use siyu_domain::wecom::GroupKind;
use siyu_domain::wecom::sop::{GroupSop, SopStep};

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FieldError, FormErrors, all, label, one, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/group-sops";
/// Blank step rows the form offers beyond the template's.
const BLANK_ROWS: usize = 2;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .post(PATH, create)
        .get("/console/group-sops/new", new_form)
        .get("/console/group-sops/{id}", edit_form)
        .post("/console/group-sops/{id}", update)
        .post("/console/group-sops/{id}/delete", delete)
        .into_router()
}

#[derive(Template)]
#[template(path = "group_sops.html")]
struct ListPage {
    chrome: Chrome,
    sops: Vec<SopView>,
    can_edit: bool,
}

async fn list(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "group_sops");
    let sops = state.app.group_sops(&ca.actor).await?;
    Ok(render(&ListPage { sops, can_edit: ca.actor.can(Permission::CustomersWrite), chrome }))
}

/// One step row of the form.
pub struct StepRow {
    pub index: usize,
    pub id: String,
    pub day: String,
    /// (ISO weekday, its label, checked).
    pub weekdays: Vec<(u32, String, bool)>,
    pub time: String,
    pub text: String,
    pub attachments: String,
    /// The refused field of this row (`time`, `day`, …) and why.
    pub error: Option<(String, String)>,
}

impl StepRow {
    fn new(tr: Tr, index: usize, s: &SopStep, attachments: String) -> Self {
        Self {
            index,
            id: s.id.clone(),
            day: s.day.to_string(),
            weekdays: (1..=7).map(|d| (d, label(tr, "sop.weekday", &d.to_string()), s.weekdays.contains(&d))).collect(),
            time: s.time.clone(),
            text: s.text.clone(),
            attachments,
            error: None,
        }
    }

    /// The message when `field` of this row was refused.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|e| e.0 == field).map(|e| e.1.as_str())
    }
}

#[derive(Template)]
#[template(path = "group_sop_form.html")]
struct FormPage {
    chrome: Chrome,
    /// The form's action.
    action: String,
    is_new: bool,
    name: String,
    kind: &'static str,
    rows: Vec<StepRow>,
    errors: FormErrors,
}

fn rows_of(tr: Tr, sop: Option<&GroupSop>) -> Vec<StepRow> {
    let steps = sop.map(|s| s.steps.clone()).unwrap_or_default();
    let mut rows: Vec<StepRow> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let json = if s.attachments.is_empty() {
                String::new()
            } else {
                serde_json::to_string(&s.attachments).unwrap_or_default()
            };
            StepRow::new(tr, i, s, json)
        })
        .collect();
    let blank = SopStep { time: String::new(), ..SopStep::default() };
    for i in rows.len()..rows.len() + BLANK_ROWS {
        let mut row = StepRow::new(tr, i, &blank, String::new());
        row.day = String::new();
        rows.push(row);
    }
    rows
}

async fn new_form(State(_state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    ca.actor.require(Permission::CustomersWrite)?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "group_sops");
    let rows = rows_of(chrome.tr, None);
    let page = FormPage {
        action: PATH.into(),
        is_new: true,
        name: String::new(),
        kind: "flash",
        rows,
        errors: FormErrors::default(),
        chrome,
    };
    Ok(render(&page))
}

async fn edit_form(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: SopId = parse_id(&id)?;
    let sop = state.app.group_sop(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "group_sops");
    let page = FormPage {
        action: format!("{PATH}/{id}"),
        is_new: false,
        name: sop.name.clone(),
        kind: sop.kind.as_str(),
        rows: rows_of(chrome.tr, Some(&sop)),
        errors: FormErrors::default(),
        chrome,
    };
    Ok(render(&page))
}

/// The posted form: the input (blank rows left out) and the rows to show again, with the form row of each
/// input step.
fn parse(tr: Tr, fields: &[(String, String)]) -> (Result<SopInput, AppError>, Vec<StepRow>, Vec<usize>) {
    let kind = GroupKind::parse(one(fields, "kind").unwrap_or(""));
    let count = fields
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("steps.")?.split('.').next()?.parse::<usize>().ok())
        .max()
        .map_or(0, |m| m + 1);
    let (mut steps, mut rows, mut origin) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_error: Option<AppError> = None;
    for i in 0..count {
        let f = |name: &str| text(fields, &format!("steps.{i}.{name}"));
        let weekdays: Vec<u32> =
            all(fields, &format!("steps.{i}.weekdays")).iter().filter_map(|d| d.parse().ok()).collect();
        let (day, time, body, attachments) = (f("day"), f("time"), f("text"), f("attachments"));
        let step = SopStep {
            id: f("id"),
            day: day.parse().unwrap_or(-1),
            weekdays,
            time: time.clone(),
            text: body.clone(),
            attachments: Vec::new(),
        };
        let mut row = StepRow::new(tr, rows.len(), &step, attachments.clone());
        row.day = day.clone();
        let blank = time.is_empty() && body.is_empty() && attachments.is_empty();
        if !blank {
            let mut step = step;
            if kind != Some(GroupKind::Flash) && day.is_empty() {
                step.day = 0;
            }
            match serde_json::from_str::<Vec<serde_json::Value>>(if attachments.is_empty() {
                "[]"
            } else {
                &attachments
            }) {
                Ok(a) => step.attachments = a,
                Err(_) if first_error.is_none() => {
                    first_error =
                        Some(AppError::invalid(format!("steps.{}.attachments", steps.len()), "not a JSON array"));
                }
                Err(_) => {}
            }
            origin.push(rows.len());
            steps.push(step);
        }
        rows.push(row);
    }
    let input = match (kind, first_error) {
        (_, Some(e)) => Err(e),
        (None, None) => Err(AppError::invalid("kind", "expected_option")),
        (Some(kind), None) => Ok(SopInput { name: text(fields, "name"), kind, steps }),
    };
    (input, rows, origin)
}

/// The refusal on the form: a step's field goes to its row, anything else to the field or the top.
fn place_error(tr: Tr, e: &AppError, rows: &mut [StepRow], origin: &[usize]) -> FormErrors {
    let mut errors = FormErrors::from_error(tr, e, "steps");
    let Some(first) = errors.0.first_mut() else { return errors };
    let suffix = first.field.rsplit('.').next().unwrap_or("").to_owned();
    let key = format!("sop.err.{suffix}");
    if tr.t(&key) != key {
        first.message = tr.t(&key).to_owned();
    }
    let parts: Vec<&str> = first.field.split('.').collect();
    if let ["steps", n, field] = parts.as_slice()
        && let Some(row) = n.parse::<usize>().ok().and_then(|n| origin.get(n)).and_then(|r| rows.get_mut(*r))
    {
        row.error = Some(((*field).to_owned(), first.message.clone()));
        let FieldError { field, .. } = first;
        *field = format!("steps.{}.{}", row.index, row.error.as_ref().map_or("", |e| e.0.as_str()));
    }
    errors
}

async fn save(state: &AppState, post: FormPost, id: Option<SopId>) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    if let Some(id) = id {
        state.app.group_sop(&ca.actor, id).await?;
    }
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "group_sops");
    let tr = chrome.tr;
    let (input, mut rows, origin) = parse(tr, &fields);
    let result = match input {
        Ok(input) => match id {
            Some(id) => state.app.update_group_sop(&ca.actor, id, &input).await,
            None => state.app.create_group_sop(&ca.actor, &input).await,
        },
        Err(e) => Err(e),
    };
    let e = match result {
        Ok(_) => return Ok(Redirect::to(PATH).into_response()),
        Err(e @ AppError::Invalid(_)) => e,
        Err(e) => return Err(e.into()),
    };
    let errors = place_error(tr, &e, &mut rows, &origin);
    let blank = SopStep::default();
    for _ in 0..BLANK_ROWS.saturating_sub(rows.len().saturating_sub(origin.len())) {
        rows.push(StepRow::new(tr, rows.len(), &blank, String::new()));
    }
    let kind = GroupKind::parse(one(&fields, "kind").unwrap_or("")).map_or("flash", GroupKind::as_str);
    let page = FormPage {
        action: id.map_or_else(|| PATH.to_owned(), |id| format!("{PATH}/{id}")),
        is_new: id.is_none(),
        name: text(&fields, "name"),
        kind,
        rows,
        errors,
        chrome,
    };
    Ok((StatusCode::BAD_REQUEST, render(&page)).into_response())
}

async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    save(&state, post, None).await
}

async fn update(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: SopId = parse_id(&id)?;
    save(&state, post, Some(id)).await
}

async fn delete(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: SopId = parse_id(&id)?;
    state.app.delete_group_sop(&post.ca.actor, id).await?;
    Ok(Redirect::to(PATH).into_response())
}
