//! `/api/v1/tasks`: staff tasks (a journey's task node creates one for the customer's owning staff member;
//! docs/journeys.md; members create them by hand), listed within the caller's data scope and completed; a
//! staff member on WeCom is told of a new task by app message; and the journeys' dead letters
//! (`/api/v1/journeys/dead-letters`: deliveries that failed for good), put back in the queue by hand.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::Deserialize;
use siyu_app::journeys::DeadLetterView;
use siyu_app::tasks::{TaskFilter, TaskInput};
use siyu_domain::id::{CustomerId, TaskId};
use siyu_domain::page::PageRequest;
use siyu_domain::task::{Task, TaskStatus};
use uuid::Uuid;

use super::PageBody;
use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/tasks", list_tasks)
        .post("/api/v1/tasks", create_task)
        .post("/api/v1/tasks/{id}/complete", complete_task)
        .get("/api/v1/customers/{id}/tasks", customer_tasks)
        .get("/api/v1/journeys/dead-letters", list_dead_letters)
        .post("/api/v1/journeys/dead-letters/{id}/retry", retry_dead_letter)
        .into_router()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TasksQuery {
    /// `open`, `done` or `cancelled`; all when absent.
    pub status: Option<TaskStatus>,
    /// `true`: only the tasks assigned to the caller.
    pub mine: Option<bool>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

/// Tasks in the caller's data scope (a `self` member sees their own, `all` every task), soonest due first.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TasksQuery),
    responses((status = 200, body = PageBody<Task>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_tasks(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<TasksQuery>,
) -> ApiResult<Json<PageBody<Task>>> {
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    let filter = TaskFilter { status: q.status, mine: q.mine.unwrap_or(false) };
    Ok(Json(s.app.list_tasks(&a, &filter, page).await?.into()))
}

/// Creates a task about a customer the caller sees (`customers_write`) for a staff member in the caller's
/// scope, or the customer's owning staff member when `assignee_id` is absent; `task_created` goes to the
/// customer's timeline and a staff member on WeCom gets an app message.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = TaskInput,
    responses((status = 201, body = Task), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_task(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<TaskInput>,
) -> ApiResult<(StatusCode, Json<Task>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_task(&a, &b).await?)))
}

/// Completes a task in the caller's scope (`customers_write`); `task_completed` goes to the customer's
/// timeline. Completing a done task changes nothing; a cancelled one answers 409.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "tasks", params(("id" = TaskId, Path)),
    responses((status = 200, body = Task), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn complete_task(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<TaskId>,
) -> ApiResult<Json<Task>> {
    Ok(Json(s.app.complete_task(&a, id).await?))
}

/// Every task about a customer the caller may see, soonest due first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/tasks", tag = "tasks", params(("id" = CustomerId, Path)),
    responses((status = 200, body = Vec<Task>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn customer_tasks(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<Vec<Task>>> {
    Ok(Json(s.app.customer_tasks(&a, id).await?))
}

/// Journey deliveries that failed for good (a webhook answered 4xx or ran out of retries, a template did not
/// render, ...), most recent first (`journeys_manage`).
#[utoipa::path(get, path = "/api/v1/journeys/dead-letters", tag = "journeys",
    responses((status = 200, body = Vec<DeadLetterView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_dead_letters(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<DeadLetterView>>> {
    Ok(Json(s.app.dead_letters(&a).await?))
}

/// Puts a dead letter back in the queue, due now with a fresh set of attempts (`journeys_manage`). A
/// webhook goes out again under the same `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/journeys/dead-letters/{id}/retry", tag = "journeys", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn retry_dead_letter(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.app.retry_dead_letter(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
