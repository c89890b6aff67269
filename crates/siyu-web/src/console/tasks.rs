//! Console: 任务 (staff tasks). The list shows the tasks in the member's data scope (their own for a `self`
//! member, all for an admin), with "mine" and status filters, the due time (overdue ones marked), a link to
//! the customer and a complete button; the customer page has a card with the customer's tasks.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::tasks::TaskFilter;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, TaskId};
use siyu_domain::page::PageRequest;
use siyu_domain::task::{Task, TaskStatus};

use super::customers::parse_id;
use super::customers::view::{fmt_opt, fmt_time, one};
use super::page::{Chrome, ConsoleResult, check_csrf, render};
use crate::auth::ConsoleActor;
use crate::console::csrf_from;
use crate::routes::Routes;
use crate::state::AppState;

mod new;

pub(crate) use new::local_time;

const PATH: &str = "/console/tasks";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, page)
        .post("/console/tasks/{id}/complete", complete)
        .get("/console/customers/{id}/tasks/new", new::new_page)
        .post("/console/customers/{id}/tasks/new", new::create)
        .into_router()
}

/// One task as a row.
pub struct TaskRow {
    pub id: String,
    pub customer_id: String,
    pub customer: String,
    pub assignee: String,
    /// `call`, `send` or `follow_up` (the label key's suffix).
    pub kind: &'static str,
    pub title: String,
    pub note: String,
    pub due: String,
    pub overdue: bool,
    /// `open`, `done` or `cancelled` (the label key's suffix).
    pub status: &'static str,
    pub done: String,
    pub open: bool,
}

impl TaskRow {
    fn of(t: Task, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            id: t.id.to_string(),
            customer_id: t.customer_id.to_string(),
            overdue: t.overdue(now),
            customer: t.customer_name,
            assignee: t.assignee_name.unwrap_or_else(|| "—".into()),
            kind: t.kind.as_str(),
            title: t.title,
            note: t.note,
            due: fmt_time(&t.due_at),
            status: t.status.as_str(),
            done: fmt_opt(&t.done_at),
            open: t.status == TaskStatus::Open,
        }
    }
}

/// The customer page's card: the customer's tasks and a button for a new one.
pub struct TasksCard {
    pub customer_id: String,
    pub tasks: Vec<TaskRow>,
    pub can_complete: bool,
}

impl TasksCard {
    pub async fn load(state: &AppState, ca: &ConsoleActor, customer: CustomerId) -> Result<Self, AppError> {
        let now = state.app.now();
        let tasks = state.app.customer_tasks(&ca.actor, customer).await?;
        Ok(Self {
            customer_id: customer.to_string(),
            tasks: tasks.into_iter().map(|t| TaskRow::of(t, now)).collect(),
            can_complete: ca.actor.can(Permission::CustomersWrite),
        })
    }
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    chrome: Chrome,
    tasks: Vec<TaskRow>,
    /// The status filter (`open`, `done`, `cancelled` or empty for all).
    status: String,
    mine: bool,
    next: Option<String>,
    can_complete: bool,
}

impl TasksPage {
    /// The list's URL with the current filters and `cursor`.
    fn link(&self, cursor: &str) -> String {
        format!("{PATH}?status={}&mine={}&cursor={cursor}", self.status, self.mine)
    }
}

#[derive(Deserialize)]
struct Params {
    /// Open tasks unless told otherwise (`all` for every status).
    status: Option<String>,
    mine: Option<bool>,
    cursor: Option<String>,
}

async fn page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<Params>) -> ConsoleResult {
    let status = q.status.unwrap_or_else(|| "open".into());
    let filter = TaskFilter { status: TaskStatus::parse(&status), mine: q.mine.unwrap_or(false) };
    let page = PageRequest::parse(q.cursor.as_deref(), None).map_err(AppError::from)?;
    let found = state.app.list_tasks(&ca.actor, &filter, page).await?;
    let now = state.app.now();
    let page = TasksPage {
        chrome: Chrome::new(&ca.user, Some(&ca.actor), "tasks"),
        tasks: found.items.into_iter().map(|t| TaskRow::of(t, now)).collect(),
        status: filter.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
        mine: filter.mine,
        next: found.next_cursor,
        can_complete: ca.actor.can(Permission::CustomersWrite),
    };
    Ok(render(&page))
}

/// Completes a task and goes back where the button was (the list or the customer page).
async fn complete(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(p): Form<Vec<(String, String)>>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, one(&p, "_csrf")))?;
    let id: TaskId = parse_id(&id)?;
    let task = state.app.complete_task(&ca.actor, id).await?;
    let back = match one(&p, "back") {
        Some("customer") => format!("/console/customers/{}#tasks", task.customer_id),
        _ => PATH.to_string(),
    };
    Ok(Redirect::to(&back).into_response())
}
