//! Group live codes (群活码) and group welcome templates (入群欢迎语素材).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::Deserialize;
use siyu_app::wecom::{GroupCodeInput, GroupCodeView, GroupWelcomeInput};
use siyu_domain::id::{GroupCodeId, GroupWelcomeId};
use siyu_domain::wecom::group_code::GroupWelcome;

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/group-codes", list_group_codes)
        .post("/api/v1/group-codes", create_group_code)
        .get("/api/v1/group-codes/{id}", get_group_code)
        .put("/api/v1/group-codes/{id}", update_group_code)
        .delete("/api/v1/group-codes/{id}", archive_group_code)
        .get("/api/v1/group-welcome-templates", list_group_welcomes)
        .post("/api/v1/group-welcome-templates", create_group_welcome)
        .get("/api/v1/group-welcome-templates/{id}", get_group_welcome)
        .put("/api/v1/group-welcome-templates/{id}", update_group_welcome)
        .delete("/api/v1/group-welcome-templates/{id}", delete_group_welcome)
        .into_router()
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupCodeParams {
    #[serde(default)]
    pub include_archived: bool,
}

/// The group codes with their groups (fill, role in the code, joins through it) and funnel.
#[utoipa::path(get, path = "/api/v1/group-codes", tag = "wecom", params(GroupCodeParams),
    responses((status = 200, body = Vec<GroupCodeView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_group_codes(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<GroupCodeParams>,
) -> ApiResult<Json<Vec<GroupCodeView>>> {
    Ok(Json(s.app.group_codes(&a, p.include_archived).await?))
}

/// Creates a group code: a WeCom join way (QR) holding `groups` (1 to 5 synced groups) with the code's `state`.
/// With `rollover` (default) a group reaching `threshold` members (default 190; QR joins stop at 200) leaves the
/// join way and the next `reserve` group takes its place; `needs_groups` turns true when the reserve runs out.
/// `auto_create_room`, `room_base_name` and `room_base_id` let WeCom open groups by itself when all are full.
#[utoipa::path(post, path = "/api/v1/group-codes", tag = "wecom", request_body = GroupCodeInput,
    responses((status = 201, body = GroupCodeView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_group_code(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<GroupCodeInput>,
) -> ApiResult<(StatusCode, Json<GroupCodeView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_group_code(&a, &b).await?)))
}

/// A group code with its groups and funnel (joins, today, leaves, stayed, customers, conversions).
#[utoipa::path(get, path = "/api/v1/group-codes/{id}", tag = "wecom", params(("id" = GroupCodeId, Path)),
    responses((status = 200, body = GroupCodeView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_group_code(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupCodeId>,
) -> ApiResult<Json<GroupCodeView>> {
    Ok(Json(s.app.group_code(&a, id).await?))
}

/// Changes a group code; `groups` and `reserve` replace the code's and are rolled over at once.
#[utoipa::path(put, path = "/api/v1/group-codes/{id}", tag = "wecom", params(("id" = GroupCodeId, Path)),
    request_body = GroupCodeInput,
    responses((status = 200, body = GroupCodeView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_group_code(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupCodeId>,
    ApiJson(b): ApiJson<GroupCodeInput>,
) -> ApiResult<Json<GroupCodeView>> {
    s.app.group_code(&a, id).await?;
    Ok(Json(s.app.update_group_code(&a, id, &b).await?))
}

/// Archives a group code: its WeCom join way is deleted, its history kept.
#[utoipa::path(delete, path = "/api/v1/group-codes/{id}", tag = "wecom", params(("id" = GroupCodeId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn archive_group_code(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupCodeId>,
) -> ApiResult<StatusCode> {
    s.app.archive_group_code(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/group-welcome-templates", tag = "wecom",
    responses((status = 200, body = Vec<GroupWelcome>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_group_welcomes(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<GroupWelcome>>> {
    Ok(Json(s.app.group_welcomes(&a).await?))
}

/// Creates a group welcome template here and in WeCom: text (`%NICKNAME%` is the joiner's nickname, ≤3000
/// bytes) and at most one attachment (image, link or miniprogram, in WeCom's wire form).
#[utoipa::path(post, path = "/api/v1/group-welcome-templates", tag = "wecom", request_body = GroupWelcomeInput,
    responses((status = 201, body = GroupWelcome), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_group_welcome(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<GroupWelcomeInput>,
) -> ApiResult<(StatusCode, Json<GroupWelcome>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_group_welcome(&a, &b).await?)))
}

#[utoipa::path(get, path = "/api/v1/group-welcome-templates/{id}", tag = "wecom",
    params(("id" = GroupWelcomeId, Path)),
    responses((status = 200, body = GroupWelcome), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_group_welcome(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupWelcomeId>,
) -> ApiResult<Json<GroupWelcome>> {
    Ok(Json(s.app.group_welcome(&a, id).await?))
}

#[utoipa::path(put, path = "/api/v1/group-welcome-templates/{id}", tag = "wecom",
    params(("id" = GroupWelcomeId, Path)), request_body = GroupWelcomeInput,
    responses((status = 200, body = GroupWelcome), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_group_welcome(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupWelcomeId>,
    ApiJson(b): ApiJson<GroupWelcomeInput>,
) -> ApiResult<Json<GroupWelcome>> {
    s.app.group_welcome(&a, id).await?;
    Ok(Json(s.app.update_group_welcome(&a, id, &b).await?))
}

/// Deletes a group welcome template in WeCom and here.
#[utoipa::path(delete, path = "/api/v1/group-welcome-templates/{id}", tag = "wecom",
    params(("id" = GroupWelcomeId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_group_welcome(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupWelcomeId>,
) -> ApiResult<StatusCode> {
    s.app.delete_group_welcome(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
