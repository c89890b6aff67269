//! Lifecycle stages (生命周期阶段): the tenant's stage list with its entry rules and customer counts, and
//! each customer's stage with its history. Moving a customer by hand is a journey signal like a rule's move.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use siyu_app::stages::{CustomerStage, StageInput, StageView};
use siyu_domain::id::CustomerId;
use siyu_domain::stage::StageDef;

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/stages", list_stages)
        .put("/api/v1/stages", save_stages)
        .get("/api/v1/customers/{id}/stage", customer_stage)
        .put("/api/v1/customers/{id}/stage", set_customer_stage)
        .into_router()
}

/// The tenant's stages in order (the defaults until edited), each with its entry rules and how many
/// customers are in it now.
#[utoipa::path(get, path = "/api/v1/stages", tag = "journeys",
    responses((status = 200, body = Vec<StageView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_stages(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<StageView>>> {
    Ok(Json(s.app.stage_list(&a).await?))
}

/// Replaces the stage list (`journeys_manage`). Rules: `created`, `event` (name, optional `from` stages),
/// `tag_added`, `paid_orders` (count), `silent` (days), `stalled` (stage, days). A stage a live journey
/// uses cannot be removed (`invalid_input` / `stage_in_use`).
#[utoipa::path(put, path = "/api/v1/stages", tag = "journeys", request_body = Vec<StageDef>,
    responses((status = 200, body = Vec<StageDef>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn save_stages(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<Vec<StageDef>>,
) -> ApiResult<Json<Vec<StageDef>>> {
    Ok(Json(s.app.save_stages(&a, b).await?))
}

/// A customer's current stage, when they entered it, and their moves newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/stage", tag = "journeys", params(("id" = CustomerId, Path)),
    responses((status = 200, body = CustomerStage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn customer_stage(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<CustomerStage>> {
    Ok(Json(s.app.customer_stage(&a, id).await?))
}

/// Moves a customer to a stage by hand (`customers_write`); journeys with a stage-enter trigger react.
#[utoipa::path(put, path = "/api/v1/customers/{id}/stage", tag = "journeys", params(("id" = CustomerId, Path)),
    request_body = StageInput,
    responses((status = 200, body = CustomerStage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn set_customer_stage(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(b): ApiJson<StageInput>,
) -> ApiResult<(StatusCode, Json<CustomerStage>)> {
    s.app.set_customer_stage(&a, id, &b.stage).await?;
    Ok((StatusCode::OK, Json(s.app.customer_stage(&a, id).await?)))
}
