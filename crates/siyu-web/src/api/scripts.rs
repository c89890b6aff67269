//! Quick-reply scripts (话术): the team's groups and the caller's own, scripts with variables and
//! attachments, and a use that renders a script for a customer and counts it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::Deserialize;
use siyu_app::scripts::{GroupInput, RenderedScript};
use siyu_domain::id::{CustomerId, ScriptGroupId, ScriptId};
use siyu_domain::script::{Script, ScriptGroup, ScriptInput};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/script-groups", list_script_groups)
        .post("/api/v1/script-groups", create_script_group)
        .patch("/api/v1/script-groups/{id}", rename_script_group)
        .delete("/api/v1/script-groups/{id}", delete_script_group)
        .post("/api/v1/script-groups/{id}/scripts", create_script)
        .get("/api/v1/scripts/{id}", get_script)
        .put("/api/v1/scripts/{id}", update_script)
        .delete("/api/v1/scripts/{id}", delete_script)
        .post("/api/v1/scripts/{id}/use", use_script)
        .into_router()
}

/// The team's script groups, then the caller's own, each with its scripts in order.
#[utoipa::path(get, path = "/api/v1/script-groups", tag = "content",
    responses((status = 200, body = Vec<ScriptGroup>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_script_groups(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<ScriptGroup>>> {
    Ok(Json(s.app.script_groups(&a).await?))
}

/// Makes a group: the team's (needs `content_manage`) or the caller's own.
#[utoipa::path(post, path = "/api/v1/script-groups", tag = "content", request_body = GroupInput,
    responses((status = 201, body = ScriptGroup), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_script_group(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<GroupInput>,
) -> ApiResult<(StatusCode, Json<ScriptGroup>)> {
    let id = s.app.create_script_group(&a, &b).await?;
    let group = s.app.script_groups(&a).await?.into_iter().find(|g| g.id == id).ok_or(siyu_app::AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(group)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GroupRename {
    pub name: String,
}

#[utoipa::path(patch, path = "/api/v1/script-groups/{id}", tag = "content", params(("id" = ScriptGroupId, Path)),
    request_body = GroupRename,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rename_script_group(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ScriptGroupId>,
    ApiJson(b): ApiJson<GroupRename>,
) -> ApiResult<StatusCode> {
    s.app.rename_script_group(&a, id, &b.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a group with its scripts.
#[utoipa::path(delete, path = "/api/v1/script-groups/{id}", tag = "content", params(("id" = ScriptGroupId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_script_group(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ScriptGroupId>,
) -> ApiResult<StatusCode> {
    s.app.delete_script_group(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a script at the end of a group. Text may use {客户昵称} and {员工姓名}; up to nine attachments.
#[utoipa::path(post, path = "/api/v1/script-groups/{id}/scripts", tag = "content", params(("id" = ScriptGroupId, Path)),
    request_body = ScriptInput,
    responses((status = 201, body = Script), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_script(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ScriptGroupId>,
    ApiJson(b): ApiJson<ScriptInput>,
) -> ApiResult<(StatusCode, Json<Script>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_script(&a, id, b).await?)))
}

#[utoipa::path(get, path = "/api/v1/scripts/{id}", tag = "content", params(("id" = ScriptId, Path)),
    responses((status = 200, body = Script), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_script(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<Json<Script>> {
    Ok(Json(s.app.get_script(&a, id).await?))
}

#[utoipa::path(put, path = "/api/v1/scripts/{id}", tag = "content", params(("id" = ScriptId, Path)), request_body = ScriptInput,
    responses((status = 200, body = Script), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_script(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ScriptId>,
    ApiJson(b): ApiJson<ScriptInput>,
) -> ApiResult<Json<Script>> {
    Ok(Json(s.app.update_script(&a, id, b).await?))
}

#[utoipa::path(delete, path = "/api/v1/scripts/{id}", tag = "content", params(("id" = ScriptId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_script(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<StatusCode> {
    s.app.delete_script(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ScriptUse {
    /// The customer it is sent to: their name fills {客户昵称}.
    pub customer_id: Option<CustomerId>,
}

/// Renders a script for a customer and counts the use (the sidebar calls this as staff send it).
#[utoipa::path(post, path = "/api/v1/scripts/{id}/use", tag = "content", params(("id" = ScriptId, Path)), request_body = ScriptUse,
    responses((status = 200, body = RenderedScript), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn use_script(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ScriptId>,
    ApiJson(b): ApiJson<ScriptUse>,
) -> ApiResult<Json<RenderedScript>> {
    Ok(Json(s.app.use_script(&a, id, b.customer_id).await?))
}
