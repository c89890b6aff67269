//! The new-task form of a customer (`/console/customers/{id}/tasks/new`): what to do (call, send, follow up),
//! a title, when it is due (the tenant's local time), a note, and for whom (the customer's owning staff
//! member unless another is picked). Errors show inline with the input kept.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::{Duration, FixedOffset, NaiveDateTime, TimeZone, Utc};
use siyu_app::AppError;
use siyu_app::tasks::TaskInput;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, UserId};
use siyu_domain::task::TaskKind;

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FieldError, FormErrors, one};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "task_form.html")]
struct TaskForm {
    chrome: Chrome,
    customer_id: String,
    customer: String,
    kinds: Vec<&'static str>,
    kind: String,
    title: String,
    due: String,
    note: String,
    /// (user id, name) of the staff the task may be for.
    staff: Vec<(String, String)>,
    assignee: String,
    errors: FormErrors,
}

impl TaskForm {
    fn other_errors(&self) -> Vec<&FieldError> {
        self.errors.others(&["kind", "title", "due_at", "note", "assignee_id"])
    }
}

/// Reads `YYYY-MM-DD HH:MM` (or the `T` form of a datetime-local input) at the tenant's offset.
pub(crate) fn local_time(s: &str, offset: FixedOffset) -> Option<chrono::DateTime<Utc>> {
    let s = s.trim().replace('T', " ");
    let t = NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M").ok()?;
    offset.from_local_datetime(&t).single().map(|t| t.with_timezone(&Utc))
}

async fn form(
    state: &AppState,
    ca: &ConsoleActor,
    customer: CustomerId,
    fields: &[(String, String)],
    errors: FormErrors,
) -> Result<TaskForm, AppError> {
    let detail = state.app.get_customer(&ca.actor, customer).await?;
    let offset = state.app.tenant_offset(ca.actor.tenant).await?;
    let staff = state
        .app
        .list_members(&ca.actor)
        .await?
        .into_iter()
        .filter(|m| m.active && ca.actor.visibility.as_ref().is_none_or(|v| v.contains(&m.user_id)))
        .map(|m| (m.user_id.to_string(), m.display_name))
        .collect();
    let default_due = (state.app.now() + Duration::hours(24)).with_timezone(&offset).format("%Y-%m-%dT%H:%M");
    let value = |k: &str, d: String| one(fields, k).map(str::to_owned).unwrap_or(d);
    Ok(TaskForm {
        chrome: Chrome::new(&ca.user, Some(&ca.actor), "tasks"),
        customer_id: customer.to_string(),
        customer: detail.customer.name.clone(),
        kinds: TaskKind::ALL.iter().map(|k| k.as_str()).collect(),
        kind: value("kind", TaskKind::Call.as_str().into()),
        title: value("title", String::new()),
        due: value("due_at", default_due.to_string()),
        note: value("note", String::new()),
        staff,
        assignee: value("assignee_id", String::new()),
        errors,
    })
}

pub async fn new_page(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    ca.actor.require(Permission::CustomersWrite)?;
    let id: CustomerId = parse_id(&id)?;
    Ok(render(&form(&state, &ca, id, &[], FormErrors::default()).await?))
}

pub async fn create(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let customer: CustomerId = parse_id(&id)?;
    let offset = state.app.tenant_offset(ca.actor.tenant).await?;
    let input = || -> Result<TaskInput, AppError> {
        let kind = one(&fields, "kind").unwrap_or("follow_up");
        let kind = TaskKind::parse(kind).ok_or_else(|| AppError::invalid("kind", "unknown_task_kind"))?;
        let due = one(&fields, "due_at").unwrap_or("");
        let due_at = local_time(due, offset).ok_or_else(|| AppError::invalid("due_at", "invalid_time"))?;
        let assignee_id = match one(&fields, "assignee_id").map(str::trim).filter(|s| !s.is_empty()) {
            Some(a) => Some(UserId(a.parse().map_err(|_| AppError::invalid("assignee_id", "unknown_staff"))?)),
            None => None,
        };
        Ok(TaskInput {
            customer_id: customer,
            assignee_id,
            kind,
            title: one(&fields, "title").unwrap_or("").to_owned(),
            note: one(&fields, "note").unwrap_or("").to_owned(),
            due_at,
        })
    };
    let result = match input() {
        Ok(i) => state.app.create_task(&ca.actor, &i).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/console/customers/{customer}#tasks")).into_response()),
        Err(e) if e.field().is_some() => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "tasks").tr;
            let page = form(&state, &ca, customer, &fields, FormErrors::from_error(tr, &e, "")).await?;
            Ok((StatusCode::BAD_REQUEST, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
