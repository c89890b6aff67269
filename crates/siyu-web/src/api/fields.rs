//! `/api/v1/fields`: custom profile field definitions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use siyu_app::fields::{FieldPatch, NewField};
use siyu_domain::field::FieldDef;
use siyu_domain::id::FieldId;

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/fields", list_fields)
        .post("/api/v1/fields", create_field)
        .patch("/api/v1/fields/{id}", update_field)
        .delete("/api/v1/fields/{id}", delete_field)
        .into_router()
}

#[utoipa::path(get, path = "/api/v1/fields", tag = "fields", responses((status = 200, body = Vec<FieldDef>)), security(("bearer" = [])))]
pub async fn list_fields(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<FieldDef>>> {
    Ok(Json(s.app.fields(&a).await?))
}

/// Define a field: `key` is a stable machine name; choice fields need options.
#[utoipa::path(post, path = "/api/v1/fields", tag = "fields", request_body = NewField,
    responses((status = 201, body = FieldDef), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_field(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<NewField>,
) -> ApiResult<Response> {
    let f = s.app.create_field(&a, b).await?;
    Ok((StatusCode::CREATED, Json(f)).into_response())
}

#[utoipa::path(patch, path = "/api/v1/fields/{id}", tag = "fields", params(("id" = FieldId, Path)), request_body = FieldPatch,
    responses((status = 200, body = FieldDef), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_field(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<FieldId>,
    ApiJson(p): ApiJson<FieldPatch>,
) -> ApiResult<Json<FieldDef>> {
    Ok(Json(s.app.update_field(&a, id, p).await?))
}

#[utoipa::path(delete, path = "/api/v1/fields/{id}", tag = "fields", params(("id" = FieldId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_field(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<FieldId>,
) -> ApiResult<StatusCode> {
    s.app.delete_field(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
