//! Console pages: custom profile fields (定义客户资料的自定义字段).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::fields::{FieldPatch, NewField};
use siyu_domain::access::Permission;
use siyu_domain::field::{FieldDef, FieldKind};
use siyu_domain::id::FieldId;

use super::csrf_from;
use super::page::{Chrome, ConsoleError, ConsoleResult, check_csrf, render};
use crate::auth::ConsoleActor;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> axum::Router<AppState> {
    Routes::new()
        .get("/console/fields", list)
        .post("/console/fields", create)
        .post("/console/fields/{id}", update)
        .post("/console/fields/{id}/delete", delete)
        .into_router()
}

#[derive(Template)]
#[template(path = "fields.html")]
struct FieldsPage {
    chrome: Chrome,
    fields: Vec<FieldDef>,
    can_manage: bool,
    error: Option<String>,
    error_field: String,
    form: FieldForm,
}

impl FieldsPage {
    fn kinds(&self) -> Vec<(&'static str, &'static str)> {
        FieldKind::ALL.iter().map(|k| (k.as_str(), self.chrome.t(kind_key(*k)))).collect()
    }

    fn kind_label(&self, f: &FieldDef) -> &'static str {
        self.chrome.t(kind_key(f.kind))
    }

    fn options_text(&self, f: &FieldDef) -> String {
        f.options.join("\n")
    }
}

fn kind_key(k: FieldKind) -> &'static str {
    match k {
        FieldKind::Text => "fields.kind_text",
        FieldKind::Number => "fields.kind_number",
        FieldKind::Date => "fields.kind_date",
        FieldKind::SingleChoice => "fields.kind_single",
        FieldKind::MultiChoice => "fields.kind_multi",
    }
}

#[derive(Debug, Default, Deserialize)]
struct FieldForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    kind: String,
    /// One option per line.
    #[serde(default)]
    options: String,
    #[serde(default)]
    sort: String,
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn sort(s: &str) -> Result<Option<i64>, AppError> {
    match s.trim() {
        "" => Ok(None),
        v => v.parse().map(Some).map_err(|_| AppError::invalid("sort", "expected_integer")),
    }
}

async fn page(state: &AppState, ca: &ConsoleActor, error: Option<AppError>, form: FieldForm) -> ConsoleResult {
    let fields = state.app.fields(&ca.actor).await?;
    let error_field = error.as_ref().and_then(|e| e.field()).unwrap_or("").to_string();
    let page = FieldsPage {
        chrome: Chrome::new(&ca.user, Some(&ca.actor), "fields"),
        fields,
        can_manage: ca.actor.can(Permission::FieldsManage),
        error: error.map(|e| e.to_string()),
        error_field,
        form,
    };
    Ok(render(&page))
}

async fn list(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    page(&state, &ca, None, FieldForm { kind: "text".into(), ..Default::default() }).await
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ca: ConsoleActor,
    Form(form): Form<FieldForm>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, Some(&form.csrf)))?;
    let result = async {
        let kind = FieldKind::parse(&form.kind).ok_or_else(|| AppError::invalid("kind", "unknown_kind"))?;
        let input = NewField {
            key: form.key.clone(),
            label: form.label.clone(),
            kind,
            options: lines(&form.options),
            sort: sort(&form.sort)?.unwrap_or(0),
        };
        state.app.create_field(&ca.actor, input).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/console/fields").into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => page(&state, &ca, Some(e), form).await,
        Err(e) => Err(ConsoleError(e)),
    }
}

async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Form(form): Form<FieldForm>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, Some(&form.csrf)))?;
    let id: FieldId = id.parse().map_err(|_| ConsoleError(AppError::NotFound))?;
    let result = async {
        let patch = FieldPatch {
            label: Some(form.label.clone()),
            options: Some(lines(&form.options)).filter(|o| !o.is_empty()),
            sort: sort(&form.sort)?,
        };
        state.app.update_field(&ca.actor, id, patch).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/console/fields").into_response()),
        Err(e @ AppError::Invalid(_)) => page(&state, &ca, Some(e), FieldForm::default()).await,
        Err(e) => Err(ConsoleError(e)),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, Some(&form.csrf)))?;
    let id: FieldId = id.parse().map_err(|_| ConsoleError(AppError::NotFound))?;
    state.app.delete_field(&ca.actor, id).await?;
    Ok(Redirect::to("/console/fields").into_response())
}
