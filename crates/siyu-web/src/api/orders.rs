//! `/api/v1/customers/{id}/orders` and `/api/v1/orders/{id}`: imported orders, amounts in fen;
//! `POST /api/v1/orders`: an order of the tenant's own mall, created or updated.
//!
//! Orders are read with the customer's visibility: a member scoped to the customers they follow sees the
//! orders of those customers only, and unmatched orders only with access to every customer. The receiver's
//! phone is masked.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use siyu_app::orders::{MallOrderOutcome, MallOrderResult, OrderDetail, OrderView};
use siyu_domain::id::{CustomerId, OrderId};
use siyu_domain::order::MallOrderInput;
use siyu_domain::page::PageRequest;

use super::PageBody;
use super::customers::PageQuery;
use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/customers/{id}/orders", customer_orders)
        .post("/api/v1/orders", post_order)
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

/// Create or update an order of the tenant's own mall (platform `own_mall`), keyed by `(shop,
/// platform_order_id)`. The buyer is matched by `customer_id`, else unionid/openid, the mall's buyer id, a
/// full mobile (a masked phone never matches); an unknown buyer with identifiers becomes a prospect customer.
/// Posting again changes nothing, a newer status updates the order and appends to its history, an older one
/// is ignored (`kept_older`). 201 when created, else 200. Needs the import permission.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = MallOrderInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = MallOrderResult), (status = 200, body = MallOrderResult), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_order(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(input): ApiJson<MallOrderInput>,
) -> ApiResult<Response> {
    let result = s.app.post_mall_order(&a, input).await?;
    let status = if result.outcome == MallOrderOutcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(result)).into_response())
}
