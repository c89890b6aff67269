//! `/api/v1/customers/{id}/orders` and `/api/v1/orders/{id}`: imported orders, amounts in fen.
//!
//! Orders are read with the customer's visibility: a member scoped to the customers they follow sees the
//! orders of those customers only, and unmatched orders only with access to every customer. The receiver's
//! phone is masked.

use axum::extract::State;
use axum::{Json, Router};
use siyu_app::orders::{OrderDetail, OrderView};
use siyu_domain::id::{CustomerId, OrderId};
use siyu_domain::page::PageRequest;

use super::PageBody;
use super::customers::PageQuery;
use crate::auth::ApiActor;
use crate::error::{ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/customers/{id}/orders", customer_orders)
        .get("/api/v1/orders/{id}", get_order)
        .into_router()
}

/// A customer's orders, most recently placed first (without lines: see `GET /api/v1/orders/{id}`).
#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "orders", params(("id" = CustomerId, Path), PageQuery),
    responses((status = 200, body = PageBody<OrderView>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn customer_orders(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<PageBody<OrderView>>> {
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    Ok(Json(s.app.customer_orders(&a, id, page).await?.into()))
}

/// One order with its lines and its status history (oldest first).
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = OrderId, Path)),
    responses((status = 200, body = OrderDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_order(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<OrderId>,
) -> ApiResult<Json<OrderDetail>> {
    Ok(Json(s.app.order(&a, id).await?))
}
