//! Staff live codes (员工活码) and welcome messages (欢迎语).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::Deserialize;
use siyu_app::wecom::{LiveCodeInput, LiveCodeView, WelcomeSettings};
use siyu_domain::id::{LiveCodeId, UserId};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/live-codes", list_live_codes)
        .post("/api/v1/live-codes", create_live_code)
        .get("/api/v1/live-codes/{id}", get_live_code)
        .put("/api/v1/live-codes/{id}", update_live_code)
        .delete("/api/v1/live-codes/{id}", archive_live_code)
        .get("/api/v1/welcome", get_welcome)
        .put("/api/v1/welcome", set_welcome)
        .into_router()
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveCodeParams {
    #[serde(default)]
    pub include_archived: bool,
}

/// The live codes with their adds (total, today), deletions, conversions and welcome figures.
#[utoipa::path(get, path = "/api/v1/live-codes", tag = "wecom", params(LiveCodeParams),
    responses((status = 200, body = Vec<LiveCodeView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_live_codes(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<LiveCodeParams>,
) -> ApiResult<Json<Vec<LiveCodeView>>> {
    Ok(Json(s.app.live_codes(&a, p.include_archived).await?))
}

/// Creates a live code: routing (staff with daily caps, backups, rotation `round_robin` | `sequential` |
/// `random` | `least_loaded`, weekday × time schedule), auto-accept, exclusive routing, tags, remark template,
/// welcome message. The WeCom contact way is created with it; `qr_code` is the QR image URL.
#[utoipa::path(post, path = "/api/v1/live-codes", tag = "wecom", request_body = LiveCodeInput,
    responses((status = 201, body = LiveCodeView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_live_code(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<LiveCodeInput>,
) -> ApiResult<(StatusCode, Json<LiveCodeView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_live_code(&a, &b).await?)))
}

/// A live code with its figures and adds per day over 30 days.
#[utoipa::path(get, path = "/api/v1/live-codes/{id}", tag = "wecom", params(("id" = LiveCodeId, Path)),
    responses((status = 200, body = LiveCodeView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_live_code(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<LiveCodeId>,
) -> ApiResult<Json<LiveCodeView>> {
    Ok(Json(s.app.live_code(&a, id).await?))
}

#[utoipa::path(put, path = "/api/v1/live-codes/{id}", tag = "wecom", params(("id" = LiveCodeId, Path)),
    request_body = LiveCodeInput,
    responses((status = 200, body = LiveCodeView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_live_code(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<LiveCodeId>,
    ApiJson(b): ApiJson<LiveCodeInput>,
) -> ApiResult<Json<LiveCodeView>> {
    s.app.live_code(&a, id).await?;
    Ok(Json(s.app.update_live_code(&a, id, &b).await?))
}

/// Archives a live code: its WeCom contact way is deleted, its history kept.
#[utoipa::path(delete, path = "/api/v1/live-codes/{id}", tag = "wecom", params(("id" = LiveCodeId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn archive_live_code(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<LiveCodeId>,
) -> ApiResult<StatusCode> {
    s.app.archive_live_code(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WelcomeParams {
    /// A staff member's own welcome message; absent: the tenant's default (with the nickname block list).
    pub staff: Option<UserId>,
}

#[utoipa::path(get, path = "/api/v1/welcome", tag = "wecom", params(WelcomeParams),
    responses((status = 200, body = WelcomeSettings), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_welcome(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<WelcomeParams>,
) -> ApiResult<Json<WelcomeSettings>> {
    Ok(Json(s.app.welcome_settings(&a, p.staff).await?))
}

/// Sets the default or a staff member's welcome message (text with `{客户昵称}` / `{员工姓名}`, up to nine
/// attachments, time-sliced variants).
#[utoipa::path(put, path = "/api/v1/welcome", tag = "wecom", params(WelcomeParams), request_body = WelcomeSettings,
    responses((status = 200, body = WelcomeSettings), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_welcome(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<WelcomeParams>,
    ApiJson(b): ApiJson<WelcomeSettings>,
) -> ApiResult<Json<WelcomeSettings>> {
    Ok(Json(s.app.set_welcome_settings(&a, p.staff, &b).await?))
}
