//! Customer inheritance (在职/离职继承): hand a staff member's customers and groups to another, on-job (with the
//! notice the customers see) or after they left. Preview first: the 2-transfers-per-90-days guard and the
//! other reasons a customer or group would not go are shown before anything is sent.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use siyu_app::wecom::{TransferInput, TransferPreview, TransferView, UnassignedView};
use siyu_domain::id::{CorpId, TransferId};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/transfers", list_transfers)
        .post("/api/v1/transfers", create_transfer)
        .post("/api/v1/transfers/preview", preview_transfer)
        .get("/api/v1/transfers/{id}", get_transfer)
        .post("/api/v1/transfers/{id}/results", refresh_transfer)
        .get("/api/v1/wecom/corps/{id}/unassigned", list_unassigned)
        .into_router()
}

/// The newest 100 batches with their item counts.
#[utoipa::path(get, path = "/api/v1/transfers", tag = "wecom",
    responses((status = 200, body = Vec<TransferView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_transfers(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<TransferView>>> {
    Ok(Json(s.app.transfers(&a).await?))
}

/// What a transfer would do: each customer and group, and why one would not go (`limited` by WeCom's two
/// transfers per customer in 90 days, with the date it lifts; `in_progress`; `not_followed`;
/// `not_unassigned`; `not_owner`). Nothing is sent.
#[utoipa::path(post, path = "/api/v1/transfers/preview", tag = "wecom", request_body = TransferInput,
    responses((status = 200, body = TransferPreview), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn preview_transfer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<TransferInput>,
) -> ApiResult<Json<TransferPreview>> {
    Ok(Json(s.app.preview_transfer(&a, &b).await?))
}

/// Creates a batch: blocked items are stored with their reason and never sent; a job sends the rest to WeCom
/// (100 per call) and follows them until taken over (24 h later unless the customer refuses). A `key` used
/// before returns the earlier batch.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "wecom", request_body = TransferInput,
    responses((status = 201, body = TransferView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_transfer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<TransferInput>,
) -> ApiResult<(StatusCode, Json<TransferView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_transfer(&a, &b).await?)))
}

/// A batch with every item's state, WeCom status and errcode.
#[utoipa::path(get, path = "/api/v1/transfers/{id}", tag = "wecom", params(("id" = TransferId, Path)),
    responses((status = 200, body = TransferView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_transfer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<TransferId>,
) -> ApiResult<Json<TransferView>> {
    Ok(Json(s.app.transfer(&a, id).await?))
}

/// Sends what is pending and pulls WeCom's `transfer_result` now (the job does it on its own as well).
#[utoipa::path(post, path = "/api/v1/transfers/{id}/results", tag = "wecom", params(("id" = TransferId, Path)),
    responses((status = 200, body = TransferView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn refresh_transfer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<TransferId>,
) -> ApiResult<Json<TransferView>> {
    Ok(Json(s.app.refresh_transfer(&a, id).await?))
}

/// The customers of staff who left that WeCom has not reassigned yet (`get_unassigned_list`).
#[utoipa::path(get, path = "/api/v1/wecom/corps/{id}/unassigned", tag = "wecom", params(("id" = CorpId, Path)),
    responses((status = 200, body = Vec<UnassignedView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_unassigned(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CorpId>,
) -> ApiResult<Json<Vec<UnassignedView>>> {
    Ok(Json(s.app.unassigned_customers(&a, id).await?))
}
