//! `/api/v1/journeys`: journeys (docs/journeys.md). A journey is created with its graph and published at
//! once as version 1 (a graph with problems answers `400 invalid_definition`, each problem at
//! `/nodes/<i>`); customers enter by hand here or through triggers; what the `sandbox` channel would have
//! sent a customer is at `/customers/{id}/sandbox`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use siyu_app::journeys::metrics::JourneyDetail;
use siyu_app::journeys::simulate::{SimulateInput, SimulationView};
use siyu_app::journeys::templates::{JourneyTemplate, journey_templates};
use siyu_app::journeys::{JourneyView, NewJourney, SandboxMessage};
use siyu_domain::id::{CustomerId, JourneyId};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/journeys", list_journeys)
        .post("/api/v1/journeys", create_journey)
        .post("/api/v1/journeys/{id}/enrol", enrol)
        .get("/api/v1/journeys/{id}", get_journey)
        .post("/api/v1/journeys/{id}/simulate", simulate_journey)
        .get("/api/v1/journey-templates", list_journey_templates)
        .post("/api/v1/journey-templates/{key}", create_from_template)
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// Show this version's graph and count only its runs (default: the live graph, every version's runs).
    pub version: Option<i64>,
}

/// One journey: its graph, the version shown and its metrics (per node: entered, waiting, completed,
/// exited, sent, withheld, skipped, errors, conversions; per journey: the goal's conversion of the treatment
/// against the holdout).
#[utoipa::path(get, path = "/api/v1/journeys/{id}", tag = "journeys", params(("id" = JourneyId, Path), VersionQuery),
    responses((status = 200, body = JourneyDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_journey(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<JourneyId>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> ApiResult<Json<JourneyDetail>> {
    Ok(Json(s.app.journey_detail(&a, id, q.version).await?))
}

/// Test mode: runs one customer (or a made-up one) through the journey on a simulated clock and returns
/// each step with its local time; nothing is stored or sent.
#[utoipa::path(post, path = "/api/v1/journeys/{id}/simulate", tag = "journeys", params(("id" = JourneyId, Path)),
    request_body = SimulateInput,
    responses((status = 200, body = SimulationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn simulate_journey(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<JourneyId>,
    ApiJson(b): ApiJson<SimulateInput>,
) -> ApiResult<Json<SimulationView>> {
    Ok(Json(s.app.simulate_journey(&a, id, b).await?))
}

/// The standard plays as ready graphs: new-customer nurture, not-purchased follow-up, silent activation,
/// post-purchase care with a replenish reminder, live stream before/during/after.
#[utoipa::path(get, path = "/api/v1/journey-templates", tag = "journeys",
    responses((status = 200, body = Vec<JourneyTemplate>)), security(("bearer" = [])))]
pub async fn list_journey_templates(ApiActor(_): ApiActor) -> ApiResult<Json<Vec<JourneyTemplate>>> {
    Ok(Json(journey_templates()?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromTemplate {
    /// The journey's name (default: the template's).
    #[serde(default)]
    pub name: Option<String>,
}

/// Creates and publishes a journey from a template (`journeys_manage`).
#[utoipa::path(post, path = "/api/v1/journey-templates/{key}", tag = "journeys", params(("key" = String, Path)),
    request_body = FromTemplate,
    responses((status = 201, body = JourneyView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_from_template(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(key): ApiPath<String>,
    ApiJson(b): ApiJson<FromTemplate>,
) -> ApiResult<(StatusCode, Json<JourneyView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_journey_from_template(&a, &key, b.name).await?)))
}
