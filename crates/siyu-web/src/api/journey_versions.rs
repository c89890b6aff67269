//! Editing live journeys over the API: a new version (runs stay on theirs), the migration of waiting runs
//! node by node (dry run first), and pause / resume / archive.

use axum::extract::State;
use axum::{Json, Router};
use siyu_app::journeys::versions::{MigrationInput, MigrationPlan, StatusInput};
use siyu_domain::id::JourneyId;
use siyu_domain::journey::JourneyGraph;

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .post("/api/v1/journeys/{id}/versions", publish_version)
        .post("/api/v1/journeys/{id}/migrations", migrate)
        .post("/api/v1/journeys/{id}/status", set_status)
        .into_router()
}

/// A published version number.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Published {
    pub version: i64,
}

/// How many runs a status change ended.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StatusChanged {
    pub status: String,
    pub ended_runs: u64,
}

/// Publishes a new version of the journey's graph (checked like a new journey; problems on their nodes).
/// New entries take it; waiting runs stay on their version until migrated.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/versions", tag = "journeys", params(("id" = JourneyId, Path)),
    request_body = JourneyGraph,
    responses((status = 200, body = Published), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn publish_version(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<JourneyId>,
    ApiJson(g): ApiJson<JourneyGraph>,
) -> ApiResult<Json<Published>> {
    Ok(Json(Published { version: s.app.publish_journey_version(&a, id, &g).await? }))
}

/// Moves the waiting runs of an older version to the live one under a map of old node → new node, or with
/// `dry_run` only counts them. The plan names, per old node, the runs, whether they restart, and the new
/// nodes before their new position they will not run.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/migrations", tag = "journeys", params(("id" = JourneyId, Path)),
    request_body = MigrationInput,
    responses((status = 200, body = MigrationPlan), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn migrate(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<JourneyId>,
    ApiJson(b): ApiJson<MigrationInput>,
) -> ApiResult<Json<MigrationPlan>> {
    Ok(Json(s.app.migrate_journey(&a, id, b).await?))
}

/// `live`, `paused` (no new entries, runs go on) or `archived` (runs end).
#[utoipa::path(post, path = "/api/v1/journeys/{id}/status", tag = "journeys", params(("id" = JourneyId, Path)),
    request_body = StatusInput,
    responses((status = 200, body = StatusChanged), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn set_status(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<JourneyId>,
    ApiJson(b): ApiJson<StatusInput>,
) -> ApiResult<Json<StatusChanged>> {
    let ended_runs = s.app.set_journey_status(&a, id, &b.status).await?;
    Ok(Json(StatusChanged { status: b.status, ended_runs }))
}
