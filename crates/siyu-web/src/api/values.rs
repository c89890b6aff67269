//! `/api/v1/rfm` and `/api/v1/clv`: customer value. RFM scores and classes under the tenant's versioned
//! configuration, and the CLV model (BG/NBD + Gamma-Gamma) with each customer's predictions. Both are
//! recomputed nightly; the `run` endpoints recompute now.

use axum::extract::State;
use axum::{Json, Router};
use serde::Serialize;
use siyu_app::values::{ClvOverview, RfmOverview};
use siyu_domain::clv::CustomerClv;
use siyu_domain::id::CustomerId;
use siyu_domain::rfm::{CustomerRfm, RfmConfig, RfmRun};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/rfm", rfm_overview)
        .put("/api/v1/rfm/config", set_rfm_config)
        .post("/api/v1/rfm/run", run_rfm)
        .get("/api/v1/clv", clv_overview)
        .post("/api/v1/clv/run", run_clv)
        .get("/api/v1/customers/{id}/values", customer_values)
        .into_router()
}

/// The RFM configuration, the latest runs (class counts and moves between classes) and the R × F heatmap.
#[utoipa::path(get, path = "/api/v1/rfm", tag = "values",
    responses((status = 200, body = RfmOverview), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn rfm_overview(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<RfmOverview>> {
    Ok(Json(s.app.rfm_overview(&a).await?))
}

/// Replaces the RFM configuration (its version becomes the current one + 1) and recomputes at once.
#[utoipa::path(put, path = "/api/v1/rfm/config", tag = "values", request_body = RfmConfig,
    responses((status = 200, body = RfmRun), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn set_rfm_config(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(config): ApiJson<RfmConfig>,
) -> ApiResult<Json<RfmRun>> {
    Ok(Json(s.app.set_rfm_config(&a, config).await?))
}

/// Recomputes every customer's RFM scores now (and the built-in RFM segments).
#[utoipa::path(post, path = "/api/v1/rfm/run", tag = "values",
    responses((status = 200, body = RfmRun), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn run_rfm(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<RfmRun>> {
    Ok(Json(s.app.run_rfm(&a).await?))
}

/// The current CLV model (parameters, log-likelihood, diagnostics), the top customers and the
/// distribution of values.
#[utoipa::path(get, path = "/api/v1/clv", tag = "values",
    responses((status = 200, body = ClvOverview), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn clv_overview(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<ClvOverview>> {
    Ok(Json(s.app.clv_overview(&a).await?))
}

/// Refits the CLV model now; `fitted` is false when there are no purchases to fit on yet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClvRun {
    pub fitted: bool,
}

#[utoipa::path(post, path = "/api/v1/clv/run", tag = "values",
    responses((status = 200, body = ClvRun), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn run_clv(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<ClvRun>> {
    Ok(Json(ClvRun { fitted: s.app.run_clv(&a).await?.is_some() }))
}

/// A customer's RFM result and CLV prediction (each absent until computed).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerValues {
    pub rfm: Option<CustomerRfm>,
    pub clv: Option<CustomerClv>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/values", tag = "values", params(("id" = CustomerId, Path)),
    responses((status = 200, body = CustomerValues), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn customer_values(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<CustomerValues>> {
    let (rfm, clv) = s.app.customer_values(&a, id).await?;
    Ok(Json(CustomerValues { rfm, clv }))
}
