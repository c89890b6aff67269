//! Group tags (群标签), a group's local settings (kind and dates, tags, SOP template), group SOP templates
//! (群SOP) and a group's SOP calendar.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use siyu_app::wecom::{GroupPatch, GroupTagInput, GroupView, SopCalendar, SopInput, SopView};
use siyu_domain::id::{GroupId, GroupTagId, SopId};
use siyu_domain::wecom::sop::{GroupSop, GroupTag};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/group-tags", list_group_tags)
        .post("/api/v1/group-tags", create_group_tag)
        .patch("/api/v1/group-tags/{id}", rename_group_tag)
        .delete("/api/v1/group-tags/{id}", delete_group_tag)
        .patch("/api/v1/groups/{id}", patch_group)
        .get("/api/v1/groups/{id}/sop-calendar", group_sop_calendar)
        .get("/api/v1/group-sops", list_group_sops)
        .post("/api/v1/group-sops", create_group_sop)
        .get("/api/v1/group-sops/{id}", get_group_sop)
        .put("/api/v1/group-sops/{id}", update_group_sop)
        .delete("/api/v1/group-sops/{id}", delete_group_sop)
        .into_router()
}

/// The tenant's group tags, each with how many groups carry it.
#[utoipa::path(get, path = "/api/v1/group-tags", tag = "wecom",
    responses((status = 200, body = Vec<GroupTag>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_group_tags(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<GroupTag>>> {
    Ok(Json(s.app.group_tags(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/group-tags", tag = "wecom", request_body = GroupTagInput,
    responses((status = 201, body = GroupTag), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_group_tag(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<GroupTagInput>,
) -> ApiResult<(StatusCode, Json<GroupTag>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_group_tag(&a, &b).await?)))
}

#[utoipa::path(patch, path = "/api/v1/group-tags/{id}", tag = "wecom", params(("id" = GroupTagId, Path)),
    request_body = GroupTagInput,
    responses((status = 200, body = GroupTag), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn rename_group_tag(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupTagId>,
    ApiJson(b): ApiJson<GroupTagInput>,
) -> ApiResult<Json<GroupTag>> {
    Ok(Json(s.app.rename_group_tag(&a, id, &b).await?))
}

/// Deletes a group tag and takes it off its groups.
#[utoipa::path(delete, path = "/api/v1/group-tags/{id}", tag = "wecom", params(("id" = GroupTagId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_group_tag(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupTagId>,
) -> ApiResult<StatusCode> {
    s.app.delete_group_tag(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes a group's kind and dates (a flash-sale group closes 3 to 7 days after it opens), its tags
/// (replaced whole) and its SOP template (`null`: none); fields not given stay.
#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "wecom", params(("id" = GroupId, Path)),
    request_body = GroupPatch,
    responses((status = 200, body = GroupView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch_group(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupId>,
    ApiJson(b): ApiJson<GroupPatch>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(s.app.patch_group(&a, id, &b).await?))
}

/// A group's SOP calendar: days × steps, each occurrence scheduled, sent (with its mass send) or skipped.
#[utoipa::path(get, path = "/api/v1/groups/{id}/sop-calendar", tag = "wecom", params(("id" = GroupId, Path)),
    responses((status = 200, body = SopCalendar), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn group_sop_calendar(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupId>,
) -> ApiResult<Json<SopCalendar>> {
    Ok(Json(s.app.group_sop_calendar(&a, id).await?))
}

/// The tenant's group SOP templates, each with how many live groups follow it.
#[utoipa::path(get, path = "/api/v1/group-sops", tag = "wecom",
    responses((status = 200, body = Vec<SopView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_group_sops(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<SopView>>> {
    Ok(Json(s.app.group_sops(&a).await?))
}

/// A template: `flash` steps fall on day 0–7 after the group opens, `daily` steps on weekdays (none: every
/// day); each at a local time `HH:MM` with text and up to nine attachments in WeCom's form.
#[utoipa::path(post, path = "/api/v1/group-sops", tag = "wecom", request_body = SopInput,
    responses((status = 201, body = GroupSop), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_group_sop(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<SopInput>,
) -> ApiResult<(StatusCode, Json<GroupSop>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_group_sop(&a, &b).await?)))
}

#[utoipa::path(get, path = "/api/v1/group-sops/{id}", tag = "wecom", params(("id" = SopId, Path)),
    responses((status = 200, body = GroupSop), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_group_sop(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SopId>,
) -> ApiResult<Json<GroupSop>> {
    Ok(Json(s.app.group_sop(&a, id).await?))
}

/// Replaces a template (steps that keep their `id` keep their sent history).
#[utoipa::path(put, path = "/api/v1/group-sops/{id}", tag = "wecom", params(("id" = SopId, Path)),
    request_body = SopInput,
    responses((status = 200, body = GroupSop), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_group_sop(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SopId>,
    ApiJson(b): ApiJson<SopInput>,
) -> ApiResult<Json<GroupSop>> {
    Ok(Json(s.app.update_group_sop(&a, id, &b).await?))
}

/// Deletes a template; its groups stop following it (what was sent stays).
#[utoipa::path(delete, path = "/api/v1/group-sops/{id}", tag = "wecom", params(("id" = SopId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_group_sop(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SopId>,
) -> ApiResult<StatusCode> {
    s.app.delete_group_sop(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
