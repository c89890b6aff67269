//! `/api/v1/users` (members of the tenant) and `/api/v1/departments`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use siyu_app::tenancy::{MemberPatch, NewMember};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::{DepartmentId, UserId};
use siyu_domain::tenancy::{Department, Member};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/users", list_users)
        .post("/api/v1/users", add_user)
        .get("/api/v1/users/{id}", get_user)
        .patch("/api/v1/users/{id}", update_user)
        .get("/api/v1/departments", list_departments)
        .post("/api/v1/departments", create_department)
        .patch("/api/v1/departments/{id}", update_department)
        .delete("/api/v1/departments/{id}", delete_department)
        .into_router()
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<Member>)), security(("bearer" = [])))]
pub async fn list_users(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(s.app.list_members(&a).await?))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<Member>> {
    Ok(Json(s.app.get_member(&a, id).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// An existing account with this username joins the tenant; otherwise a new account is created.
    pub username: String,
    pub display_name: String,
    /// Required for a new account (10–128 characters).
    pub password: Option<String>,
    pub role: Role,
    /// Defaults by role: staff see only their own customers, others all.
    pub scope: Option<DataScope>,
    pub department_id: Option<DepartmentId>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = Member), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<NewUser>,
) -> ApiResult<Response> {
    let input = NewMember {
        username: b.username,
        display_name: b.display_name,
        password: b.password,
        role: b.role,
        scope: b.scope,
        department_id: b.department_id,
    };
    let m = s.app.add_member(&a, input).await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<DataScope>,
    /// `null` removes the department.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DepartmentId>)]
    pub department_id: Option<Option<DepartmentId>>,
    pub active: Option<bool>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<DepartmentId>>, D::Error> {
    Option::<DepartmentId>::deserialize(d).map(Some)
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = UserId, Path)), request_body = UserPatch,
    responses((status = 200, body = Member), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_user(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(p): ApiJson<UserPatch>,
) -> ApiResult<Json<Member>> {
    let patch = MemberPatch {
        display_name: p.display_name,
        role: p.role,
        scope: p.scope,
        department_id: p.department_id,
        active: p.active,
    };
    Ok(Json(s.app.update_member(&a, id, patch).await?))
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "users", responses((status = 200, body = Vec<Department>)), security(("bearer" = [])))]
pub async fn list_departments(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<Department>>> {
    Ok(Json(s.app.departments(&a).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentBody {
    pub name: String,
    pub parent_id: Option<DepartmentId>,
}

#[utoipa::path(post, path = "/api/v1/departments", tag = "users", request_body = DepartmentBody,
    responses((status = 201, body = Department), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_department(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<DepartmentBody>,
) -> ApiResult<Response> {
    let d = s.app.create_department(&a, &b.name, b.parent_id).await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

#[utoipa::path(patch, path = "/api/v1/departments/{id}", tag = "users", params(("id" = DepartmentId, Path)), request_body = DepartmentBody,
    responses((status = 200, body = Department), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_department(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<DepartmentId>,
    ApiJson(b): ApiJson<DepartmentBody>,
) -> ApiResult<Json<Department>> {
    Ok(Json(s.app.update_department(&a, id, &b.name, b.parent_id).await?))
}

/// Deletes an empty department (409 while it has members or sub-departments).
#[utoipa::path(delete, path = "/api/v1/departments/{id}", tag = "users", params(("id" = DepartmentId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_department(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<DepartmentId>,
) -> ApiResult<StatusCode> {
    s.app.delete_department(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
