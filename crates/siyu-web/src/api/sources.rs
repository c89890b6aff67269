//! `/api/v1/sources`: event sources and their write keys (for `POST /v1/*`), and the event debugger feed
//! (latest accepted events and quarantined items of a source).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use siyu_domain::id::{CustomerId, EventId, QuarantineId, SourceId};
use siyu_domain::source::{Source, SourceKind};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

/// Events and quarantined items the debugger feed returns when no `limit` is given.
pub const DEFAULT_FEED_LIMIT: u32 = 50;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/sources", list_sources)
        .post("/api/v1/sources", create_source)
        .get("/api/v1/sources/{id}", get_source)
        .patch("/api/v1/sources/{id}", rename_source)
        .delete("/api/v1/sources/{id}", revoke_source)
        .get("/api/v1/sources/{id}/events", source_events)
        .into_router()
}

/// Every source of the tenant, revoked ones included, newest first.
#[utoipa::path(get, path = "/api/v1/sources", tag = "sources",
    responses((status = 200, body = Vec<Source>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_sources(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<Source>>> {
    Ok(Json(s.app.list_sources(&a).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSource {
    pub name: String,
    pub kind: SourceKind,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedSource {
    #[serde(flatten)]
    pub source: Source,
    /// The write key (HTTP Basic user name on `POST /v1/*`): shown once, store it now.
    pub write_key: String,
}

/// Creates a source and its write key.
#[utoipa::path(post, path = "/api/v1/sources", tag = "sources", request_body = NewSource,
    responses((status = 201, body = CreatedSource), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_source(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<NewSource>,
) -> ApiResult<Response> {
    let (source, write_key) = s.app.create_source(&a, &b.name, b.kind).await?;
    Ok((StatusCode::CREATED, Json(CreatedSource { source, write_key })).into_response())
}

#[utoipa::path(get, path = "/api/v1/sources/{id}", tag = "sources", params(("id" = SourceId, Path)),
    responses((status = 200, body = Source), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_source(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SourceId>,
) -> ApiResult<Json<Source>> {
    Ok(Json(s.app.get_source(&a, id).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcePatch {
    pub name: String,
}

/// Renames a source (its write key stays the same).
#[utoipa::path(patch, path = "/api/v1/sources/{id}", tag = "sources", params(("id" = SourceId, Path)),
    request_body = SourcePatch,
    responses((status = 200, body = Source), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rename_source(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SourceId>,
    ApiJson(b): ApiJson<SourcePatch>,
) -> ApiResult<Json<Source>> {
    Ok(Json(s.app.rename_source(&a, id, &b.name).await?))
}

/// Revokes a source's write key: its clients get 401 from now on; the events already received stay.
#[utoipa::path(delete, path = "/api/v1/sources/{id}", tag = "sources", params(("id" = SourceId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_source(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SourceId>,
) -> ApiResult<StatusCode> {
    s.app.revoke_source(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// How many events and how many quarantined items (1–200, default 50).
    pub limit: Option<u32>,
}

/// An accepted event as stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventBody {
    pub id: EventId,
    pub source_id: SourceId,
    /// The unified customer, once identity resolution has linked the event.
    pub customer_id: Option<CustomerId>,
    /// When it happened, corrected for the client's clock skew.
    pub event_time: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The message in Segment wire form (`type`, `messageId`, `userId`, `event`, `properties`, …).
    #[schema(value_type = Object)]
    pub message: serde_json::Value,
}

/// An item refused by validation, kept with its reason.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuarantinedBody {
    pub id: QuarantineId,
    pub source_id: SourceId,
    pub received_at: DateTime<Utc>,
    /// The item's position in its request (0 for single-message endpoints).
    pub index: usize,
    /// Stable snake_case reason, e.g. `missing_identity`, `missing_event`.
    pub code: String,
    pub message: String,
    /// The item as it was sent (personal data sealed).
    #[schema(value_type = Object)]
    pub item: serde_json::Value,
}

/// The debugger feed: newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceEvents {
    pub events: Vec<EventBody>,
    pub quarantined: Vec<QuarantinedBody>,
}

/// The latest accepted events and quarantined items of a source, newest first (the event debugger).
#[utoipa::path(get, path = "/api/v1/sources/{id}/events", tag = "sources", params(("id" = SourceId, Path), FeedParams),
    responses((status = 200, body = SourceEvents), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn source_events(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SourceId>,
    ApiQuery(p): ApiQuery<FeedParams>,
) -> ApiResult<Json<SourceEvents>> {
    // Another tenant's (or an unknown) source is not found, rather than an empty feed.
    let source = s.app.get_source(&a, id).await?;
    let limit = p.limit.unwrap_or(DEFAULT_FEED_LIMIT);
    let (events, bad) = s.app.latest_events(&a, Some(source.id), limit).await?;
    // (The store's row types are not named here: siyu-web sees them only through siyu-app.)
    let events = events
        .into_iter()
        .map(|e| EventBody {
            id: e.id,
            source_id: e.source_id,
            customer_id: e.customer_id,
            event_time: e.event_time,
            received_at: e.received_at,
            message: serde_json::to_value(&e.message).unwrap_or_default(),
        })
        .collect();
    let quarantined = bad
        .into_iter()
        .map(|q| QuarantinedBody {
            id: q.id,
            source_id: q.source_id,
            received_at: q.received_at,
            index: q.error.index,
            code: q.error.code.as_str().to_string(),
            message: q.error.message,
            item: q.error.item,
        })
        .collect();
    Ok(Json(SourceEvents { events, quarantined }))
}
