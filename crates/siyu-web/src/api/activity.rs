//! `/api/v1/customers/{id}/activity` (timeline entries, resolved events and orders in one list, newest
//! first) and `/api/v1/customers/{id}/aggregates` (what the customer's orders and events add up to).

use axum::extract::State;
use axum::{Json, Router};
use serde::Deserialize;
use siyu_app::activity::{ActivityItem, activity_filter};
use siyu_domain::aggregate::CustomerAggregates;
use siyu_domain::id::CustomerId;
use siyu_domain::page::PageRequest;

use super::PageBody;
use crate::auth::ApiActor;
use crate::error::{ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/customers/{id}/activity", customer_activity)
        .get("/api/v1/customers/{id}/aggregates", customer_aggregates)
        .into_router()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivityQuery {
    /// `all` (default), `events`, `orders`, `tags`, `identity`, `notes` or `other`.
    pub kind: Option<String>,
    /// An event source kind (`web`, `mini_program`, `server`, `import`), an order platform (`taobao`, `jd`,
    /// `pinduoduo`, `youzan`, `douyin`, `own_mall`, `generic`) or a timeline source (`console`, `api`,
    /// `order_import`, …).
    pub source: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

/// A customer's activity, newest first: timeline entries, the events resolved to them and their orders
/// (each order once, when it was placed; its status changes are timeline entries of kind `orders`).
#[utoipa::path(get, path = "/api/v1/customers/{id}/activity", tag = "customers", params(("id" = CustomerId, Path), ActivityQuery),
    responses((status = 200, body = PageBody<ActivityItem>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn customer_activity(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<Json<PageBody<ActivityItem>>> {
    let filter = activity_filter(q.kind.as_deref(), q.source.as_deref())?;
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    Ok(Json(s.app.customer_activity(&a, id, &filter, page).await?.into()))
}

/// What a customer's orders and events add up to: order count and order days (in the tenant's time zone),
/// paid net of refunds and refunded amounts in fen, average order, first and last order, products bought,
/// platforms, last activity per channel, first seen and last active. Kept current as orders and events
/// arrive.
#[utoipa::path(get, path = "/api/v1/customers/{id}/aggregates", tag = "customers", params(("id" = CustomerId, Path)),
    responses((status = 200, body = CustomerAggregates), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn customer_aggregates(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<CustomerAggregates>> {
    Ok(Json(s.app.customer_aggregates(&a, id).await?))
}
