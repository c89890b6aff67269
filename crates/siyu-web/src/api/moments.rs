//! Customer moments (客户朋友圈): posts staff publish to their customers' moments, with the posting staff and
//! the customers' tags as visibility, now or scheduled; WeCom creates them asynchronously, and who published,
//! whom they reached and the comments and likes are pulled back.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use siyu_app::wecom::{MomentInput, MomentView};
use siyu_domain::id::MomentId;
use siyu_domain::wecom::moment::MomentInteraction;

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/moments", list_moments)
        .post("/api/v1/moments", create_moment)
        .get("/api/v1/moments/{id}", get_moment)
        .post("/api/v1/moments/{id}/cancel", cancel_moment)
        .post("/api/v1/moments/{id}/results", refresh_moment_results)
        .get("/api/v1/moments/{id}/interactions", list_moment_interactions)
        .into_router()
}

#[utoipa::path(get, path = "/api/v1/moments", tag = "wecom",
    responses((status = 200, body = Vec<MomentView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_moments(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<MomentView>>> {
    Ok(Json(s.app.moments(&a).await?))
}

/// Schedules a moment (now, or at `scheduled_at`): text and up to nine images, or one video, or one link;
/// visible to the customers of the chosen staff (all with the customer-contact function when none) who hold
/// any of the chosen tags (all when none; tags must be linked to WeCom corp tags).
#[utoipa::path(post, path = "/api/v1/moments", tag = "wecom", request_body = MomentInput,
    responses((status = 201, body = MomentView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_moment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<MomentInput>,
) -> ApiResult<(StatusCode, Json<MomentView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_moment(&a, &b).await?)))
}

#[utoipa::path(get, path = "/api/v1/moments/{id}", tag = "wecom", params(("id" = MomentId, Path)),
    responses((status = 200, body = MomentView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_moment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MomentId>,
) -> ApiResult<Json<MomentView>> {
    Ok(Json(s.app.moment(&a, id).await?))
}

/// Cancels a moment: never posted if it was not yet; staff who have not published it can no longer.
#[utoipa::path(post, path = "/api/v1/moments/{id}/cancel", tag = "wecom", params(("id" = MomentId, Path)),
    responses((status = 200, body = MomentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel_moment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MomentId>,
) -> ApiResult<Json<MomentView>> {
    Ok(Json(s.app.cancel_moment(&a, id).await?))
}

/// Pulls who published the moment, which customers it reached, and its comments and likes (each new one
/// also on the customer's timeline).
#[utoipa::path(post, path = "/api/v1/moments/{id}/results", tag = "wecom", params(("id" = MomentId, Path)),
    responses((status = 200, body = MomentView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn refresh_moment_results(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MomentId>,
) -> ApiResult<Json<MomentView>> {
    Ok(Json(s.app.refresh_moment_results(&a, id).await?))
}

/// Comments and likes pulled so far, newest first.
#[utoipa::path(get, path = "/api/v1/moments/{id}/interactions", tag = "wecom", params(("id" = MomentId, Path)),
    responses((status = 200, body = Vec<MomentInteraction>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_moment_interactions(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MomentId>,
) -> ApiResult<Json<Vec<MomentInteraction>>> {
    Ok(Json(s.app.moment_interactions(&a, id).await?))
}
