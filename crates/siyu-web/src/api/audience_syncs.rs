//! Scheduled audience refresh ("定时更新的广告人群包"): a segment's ad audience file regenerated every few
//! hours and kept as the latest snapshot, which an ad platform pulls from `/api/v1/audience-syncs/{id}/file`
//! with an API token (the `read` scope covers `customers_export`). Each run records its counts and the hashes added and removed.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::ETAG;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::{Json, Router};
use siyu_app::segments::{AudienceSyncView, NewAudienceSync};
use siyu_domain::id::{AudienceSyncId, SegmentId};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/segments/{id}/audience-syncs", list_audience_syncs)
        .post("/api/v1/segments/{id}/audience-syncs", create_audience_sync)
        .post("/api/v1/audience-syncs/{id}/run", run_audience_sync)
        .delete("/api/v1/audience-syncs/{id}", delete_audience_sync)
        .get("/api/v1/audience-syncs/{id}/file", audience_sync_file)
        .into_router()
}

/// A segment's scheduled audience files, each with its last counts and its latest 10 runs.
#[utoipa::path(get, path = "/api/v1/segments/{id}/audience-syncs", tag = "segments", params(("id" = SegmentId, Path)),
    responses((status = 200, body = Vec<AudienceSyncView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_audience_syncs(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
) -> ApiResult<Json<Vec<AudienceSyncView>>> {
    Ok(Json(s.app.audience_syncs(&a, id).await?))
}

/// Schedules the segment's audience file (`phone` or `openid`) every `every_hours` (1–168); the first run
/// is due at once. Runs act as the caller, with their access at the time: losing `customers_export` stops
/// the sync.
#[utoipa::path(post, path = "/api/v1/segments/{id}/audience-syncs", tag = "segments", params(("id" = SegmentId, Path)),
    request_body = NewAudienceSync,
    responses((status = 201, body = AudienceSyncView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_audience_sync(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
    ApiJson(b): ApiJson<NewAudienceSync>,
) -> ApiResult<(StatusCode, Json<AudienceSyncView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_audience_sync(&a, id, b).await?)))
}

/// Runs a sync now (recomputing a dynamic segment first); a failed run shows in `runs` and `last_error`.
/// 409 `conflict` while another run holds it.
#[utoipa::path(post, path = "/api/v1/audience-syncs/{id}/run", tag = "segments", params(("id" = AudienceSyncId, Path)),
    responses((status = 200, body = AudienceSyncView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn run_audience_sync(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AudienceSyncId>,
) -> ApiResult<Json<AudienceSyncView>> {
    Ok(Json(s.app.run_audience_sync(&a, id).await?))
}

/// Stops a sync and deletes its snapshot and history.
#[utoipa::path(delete, path = "/api/v1/audience-syncs/{id}", tag = "segments", params(("id" = AudienceSyncId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_audience_sync(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AudienceSyncId>,
) -> ApiResult<StatusCode> {
    s.app.delete_audience_sync(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The latest snapshot: a header line (`sha256_phone` / `sha256_openid`), then one SHA-256 per line. The
/// `ETag` is the file's SHA-256. Audited as `segment.audience_download`; 404 `not_found` before the first
/// successful run; members who see only part of the customers fetch only the syncs they created.
#[utoipa::path(get, path = "/api/v1/audience-syncs/{id}/file", tag = "segments", params(("id" = AudienceSyncId, Path)),
    responses((status = 200, description = "One hash per line after a header", content_type = "text/csv"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn audience_sync_file(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AudienceSyncId>,
) -> ApiResult<Response> {
    Ok(file_download(&s, &a, id).await?)
}

/// The snapshot as a download (shared with the console).
pub async fn file_download(
    s: &AppState,
    a: &siyu_app::Actor,
    id: AudienceSyncId,
) -> Result<Response, siyu_app::AppError> {
    let file = s.app.audience_sync_file(a, id).await?;
    let mut res = crate::console::transfer::download("text/csv; charset=utf-8", &file.name, Body::from(file.bytes));
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", file.sha256)) {
        res.headers_mut().insert(ETAG, v);
    }
    Ok(res)
}
