//! `/api/v1/tag-groups` and `/api/v1/tags`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use siyu_app::tags::{NewTagGroup, TagGroupView};
use siyu_domain::id::{TagGroupId, TagId};
use siyu_domain::tag::{Tag, TagGroup};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/tag-groups", list_tag_groups)
        .post("/api/v1/tag-groups", create_tag_group)
        .patch("/api/v1/tag-groups/{id}", update_tag_group)
        .delete("/api/v1/tag-groups/{id}", delete_tag_group)
        .post("/api/v1/tag-groups/{id}/tags", create_tag)
        .patch("/api/v1/tags/{id}", update_tag)
        .delete("/api/v1/tags/{id}", delete_tag)
        .into_router()
}

/// Tag groups with their tags and how many customers hold each tag.
#[utoipa::path(get, path = "/api/v1/tag-groups", tag = "tags", responses((status = 200, body = Vec<TagGroupView>)), security(("bearer" = [])))]
pub async fn list_tag_groups(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<TagGroupView>>> {
    Ok(Json(s.app.tag_groups(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/tag-groups", tag = "tags", request_body = NewTagGroup,
    responses((status = 201, body = TagGroupView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_tag_group(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<NewTagGroup>,
) -> ApiResult<Response> {
    let g = s.app.create_tag_group(&a, b).await?;
    Ok((StatusCode::CREATED, Json(g)).into_response())
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagGroupPatch {
    pub name: Option<String>,
    pub exclusive: Option<bool>,
    pub sort: Option<i64>,
}

#[utoipa::path(patch, path = "/api/v1/tag-groups/{id}", tag = "tags", params(("id" = TagGroupId, Path)), request_body = TagGroupPatch,
    responses((status = 200, body = TagGroup), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_tag_group(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<TagGroupId>,
    ApiJson(p): ApiJson<TagGroupPatch>,
) -> ApiResult<Json<TagGroup>> {
    Ok(Json(s.app.update_tag_group(&a, id, p.name.as_deref(), p.exclusive, p.sort).await?))
}

/// Deletes the group, its tags and every customer's assignment of them.
#[utoipa::path(delete, path = "/api/v1/tag-groups/{id}", tag = "tags", params(("id" = TagGroupId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_tag_group(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<TagGroupId>,
) -> ApiResult<StatusCode> {
    s.app.delete_tag_group(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    pub name: String,
    pub sort: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/tag-groups/{id}/tags", tag = "tags", params(("id" = TagGroupId, Path)), request_body = NewTag,
    responses((status = 201, body = Tag), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_tag(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<TagGroupId>,
    ApiJson(b): ApiJson<NewTag>,
) -> ApiResult<Response> {
    let t = s.app.create_tag(&a, id, &b.name, b.sort).await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagPatch {
    pub name: Option<String>,
    pub sort: Option<i64>,
}

#[utoipa::path(patch, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = TagId, Path)), request_body = TagPatch,
    responses((status = 200, body = Tag), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_tag(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<TagId>,
    ApiJson(p): ApiJson<TagPatch>,
) -> ApiResult<Json<Tag>> {
    Ok(Json(s.app.update_tag(&a, id, p.name.as_deref(), p.sort).await?))
}

#[utoipa::path(delete, path = "/api/v1/tags/{id}", tag = "tags", params(("id" = TagId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_tag(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<TagId>,
) -> ApiResult<StatusCode> {
    s.app.delete_tag(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
