//! The segment form (`/console/segments/new`, `/console/segments/{id}/edit`): name, description, kind (when
//! creating) and the definition text, which is the single source of truth. The composer above the text
//! (`static/segment_builder.js`, fed by `composer`) appends conditions to it, and the live count below
//! (`preview`) follows it. A failed save shows the same inline problems with the typed text kept.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::segments::SegmentInput;
use siyu_domain::access::Permission;
use siyu_domain::id::{SegmentId, TagId};
use siyu_domain::segment::SegmentKind;
use siyu_domain::tag::TagKind;

use super::preview::{Problems, problems};
use super::{PATH, composer, segment_error};
use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FieldError, FormErrors, label, one, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::state::AppState;

/// What the form holds: as stored, or as typed.
pub struct Draft {
    pub name: String,
    pub description: String,
    pub kind: SegmentKind,
    pub text: String,
    pub rule_tag: Option<TagId>,
}

impl Draft {
    fn from_fields(fields: &[(String, String)], kind: SegmentKind) -> Self {
        Self {
            name: text(fields, "name"),
            description: text(fields, "description"),
            kind,
            // Kept as typed (not trimmed): it goes back into the textarea.
            text: one(fields, "text").unwrap_or("").to_string(),
            rule_tag: one(fields, "rule_tag").and_then(|t| t.parse().ok()),
        }
    }

    fn input(&self) -> SegmentInput {
        SegmentInput {
            name: self.name.clone(),
            description: self.description.clone(),
            kind: self.kind,
            definition: None,
            text: Some(self.text.clone()),
            rule_tag: self.rule_tag,
        }
    }
}

#[derive(Template)]
#[template(path = "segment_form.html")]
struct FormPage {
    chrome: Chrome,
    title: String,
    action: String,
    cancel_url: String,
    creating: bool,
    draft: Draft,
    /// (value, label, hint)
    kinds: Vec<(&'static str, String, String)>,
    conditions: Vec<(&'static str, String)>,
    /// Tags that may be rule tags: (id, `组/标签`).
    rule_tags: Vec<(String, String)>,
    catalog: String,
    errors: FormErrors,
    problems: Option<Problems>,
}

impl FormPage {
    fn kind_is(&self, kind: &str) -> bool {
        self.draft.kind.as_str() == kind
    }

    fn other_errors(&self) -> Vec<&FieldError> {
        self.errors.others(&["name", "description", "text", "rule_tag"])
    }

    fn rule_tag_is(&self, id: &str) -> bool {
        self.draft.rule_tag.is_some_and(|t| t.to_string() == id)
    }
}

async fn form_page(
    state: &AppState,
    ca: &ConsoleActor,
    editing: Option<SegmentId>,
    draft: Draft,
    errors: FormErrors,
    problems: Option<Problems>,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "segments");
    let tr = chrome.tr;
    let kinds = [SegmentKind::Dynamic, SegmentKind::Static]
        .iter()
        .map(|k| (k.as_str(), label(tr, "segments.kind", k.as_str()), label(tr, "segments.kind_hint", k.as_str())))
        .collect();
    let (title, action, cancel_url) = match editing {
        Some(id) => (tr.t("segments.edit").to_string(), format!("{PATH}/{id}"), format!("{PATH}/{id}")),
        None => (tr.t("segments.new").to_string(), PATH.to_string(), PATH.to_string()),
    };
    let page = FormPage {
        title,
        action,
        cancel_url,
        creating: editing.is_none(),
        draft,
        kinds,
        conditions: composer::kinds(tr),
        rule_tags: rule_tag_choices(state, ca).await?,
        catalog: composer::catalog_json(state, ca, tr, editing).await?,
        errors,
        problems,
        chrome,
    };
    Ok(render(&page))
}

/// Enterprise tags outside exclusive groups: what a segment may give its members.
async fn rule_tag_choices(state: &AppState, ca: &ConsoleActor) -> Result<Vec<(String, String)>, AppError> {
    let groups = state.app.tag_groups(&ca.actor).await?;
    let usable = groups.into_iter().filter(|g| g.group.kind == TagKind::Enterprise && !g.group.exclusive);
    Ok(usable
        .flat_map(|g| {
            let group = g.group.name;
            g.tags.into_iter().map(move |t| (t.tag.id.to_string(), format!("{group}/{}", t.tag.name)))
        })
        .collect())
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    /// A definition to start from (the list's example).
    pub text: Option<String>,
}

pub async fn new_page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<NewQuery>) -> ConsoleResult {
    ca.actor.require(Permission::SegmentsManage)?;
    let draft = Draft {
        name: String::new(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        text: q.text.unwrap_or_default(),
        rule_tag: None,
    };
    form_page(&state, &ca, None, draft, FormErrors::default(), None).await
}

pub async fn edit_page(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: SegmentId = parse_id(&id)?;
    let s = state.app.get_segment(&ca.actor, id).await?;
    ca.actor.require(Permission::SegmentsManage)?;
    let draft = Draft { name: s.name, description: s.description, kind: s.kind, text: s.text, rule_tag: s.rule_tag };
    form_page(&state, &ca, Some(id), draft, FormErrors::default(), None).await
}

/// `POST /console/segments`: creates and shows the segment, or the form again with its problems.
pub async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let kind = one(&fields, "kind").and_then(SegmentKind::parse).unwrap_or(SegmentKind::Dynamic);
    let draft = Draft::from_fields(&fields, kind);
    match state.app.create_segment(&ca.actor, draft.input()).await {
        Ok(s) => Ok(Redirect::to(&format!("{PATH}/{}?done=saved", s.id)).into_response()),
        Err(e) => failed(&state, &ca, None, draft, e).await,
    }
}

/// `POST /console/segments/{id}`: saves the form (the kind stays what it is).
pub async fn update(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: SegmentId = parse_id(&id)?;
    let current = state.app.get_segment(&ca.actor, id).await?;
    let draft = Draft::from_fields(&fields, current.kind);
    match state.app.update_segment(&ca.actor, id, draft.input()).await {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}/{id}?done=saved")).into_response()),
        Err(e) => failed(&state, &ca, Some(id), draft, e).await,
    }
}

/// The form again (400) with the problems inline; what is not about the form is an error page.
async fn failed(
    state: &AppState,
    ca: &ConsoleActor,
    editing: Option<SegmentId>,
    draft: Draft,
    e: AppError,
) -> ConsoleResult {
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "segments").tr;
    let (errors, found) = match &e {
        AppError::InvalidDefinition(list) => (FormErrors::default(), Some(problems(tr, draft.text.trim(), list))),
        AppError::Invalid(_) | AppError::Conflict(_) => {
            let field = match e.field() {
                Some("definition") => "text",
                Some(f) => f,
                None if e.to_string().contains("drives this tag") => "rule_tag",
                None => "name",
            };
            let error = FieldError {
                field: field.to_string(),
                message: segment_error(tr, &e),
                detail: e.to_string(),
                code: e.code().name(),
            };
            (FormErrors(vec![error]), None)
        }
        _ => return Err(e.into()),
    };
    let page = form_page(state, ca, editing, draft, errors, found).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}
