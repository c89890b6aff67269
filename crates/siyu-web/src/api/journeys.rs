//! `/api/v1/journeys`: journeys (docs/journeys.md). A journey is created with its graph and published at
//! once as version 1 (a graph with problems answers `400 invalid_definition`, each problem at
//! `/nodes/<i>`); customers enter by hand here or through triggers; what the `sandbox` channel would have
//! sent a customer is at `/customers/{id}/sandbox`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use siyu_app::journeys::{JourneyView, NewJourney, SandboxMessage};
use siyu_domain::id::{CustomerId, JourneyId};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/journeys", list_journeys)
        .post("/api/v1/journeys", create_journey)
        .post("/api/v1/journeys/{id}/enrol", enrol)
        .get("/api/v1/customers/{id}/sandbox", customer_sandbox)
        .into_router()
}

/// The tenant's journeys.
#[utoipa::path(get, path = "/api/v1/journeys", tag = "journeys",
    responses((status = 200, body = Vec<JourneyView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_journeys(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<JourneyView>>> {
    Ok(Json(s.app.list_journeys(&a).await?))
}

/// Creates a journey and publishes its graph as version 1 (`journeys_manage`).
#[utoipa::path(post, path = "/api/v1/journeys", tag = "journeys", request_body = NewJourney,
    responses((status = 201, body = JourneyView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_journey(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<NewJourney>,
) -> ApiResult<(StatusCode, Json<JourneyView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_journey_as(&a, b).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    pub customer_id: CustomerId,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolled {
    /// The entry's number, or `null` when a live run or the re-entry rule kept the customer out.
    pub entry: Option<i64>,
}

/// Enrols a customer by hand (`journeys_manage`); the worker runs the first step.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/enrol", tag = "journeys", params(("id" = JourneyId, Path)),
    request_body = EnrolBody,
    responses((status = 200, body = Enrolled), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn enrol(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<JourneyId>,
    ApiJson(b): ApiJson<EnrolBody>,
) -> ApiResult<Json<Enrolled>> {
    Ok(Json(Enrolled { entry: s.app.enrol_customer(&a, id, b.customer_id).await? }))
}

/// What the `sandbox` channel recorded for a customer (the messages journeys would have sent), oldest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/sandbox", tag = "journeys", params(("id" = CustomerId, Path)),
    responses((status = 200, body = Vec<SandboxMessage>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn customer_sandbox(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<Vec<SandboxMessage>>> {
    Ok(Json(s.app.sandbox_messages(&a, id).await?))
}
