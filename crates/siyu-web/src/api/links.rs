//! Tracked links and the interaction radar (互动雷达): mint a link per (target × staff × customer) — the same
//! link again for the same triple —, list links, one link with its opens, and the radar's figures.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::Deserialize;
use siyu_app::links::{LinkDetail, LinkFilter};
use siyu_app::radar::RadarStats;
use siyu_domain::id::{CustomerId, LinkId, UserId};
use siyu_domain::link::{Link, NewLink};
use siyu_domain::page::PageRequest;
use uuid::Uuid;

use crate::api::PageBody;
use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .post("/api/v1/links", mint_link)
        .get("/api/v1/links", list_links)
        .get("/api/v1/links/{id}", get_link)
        .get("/api/v1/radar/stats", radar_stats)
        .into_router()
}

/// Mints the tracked link of (material or URL, staff member, customer), or returns the one minted before
/// (200 then, 201 when new). Opening it records the open, tags the customer with `open_tag_id`, alerts the
/// staff member in WeCom and feeds journeys the event `link_opened`.
#[utoipa::path(post, path = "/api/v1/links", tag = "content", request_body = NewLink,
    responses((status = 201, body = LinkDetail), (status = 200, body = LinkDetail), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mint_link(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<NewLink>,
) -> ApiResult<(StatusCode, Json<LinkDetail>)> {
    let (link, new) = s.app.mint_link(&a, &b).await?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(s.app.link_detail(&a, link.id).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LinksQuery {
    pub staff_id: Option<UserId>,
    pub customer_id: Option<CustomerId>,
    pub material_id: Option<Uuid>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

/// Links newest first, of the staff members in the caller's data scope.
#[utoipa::path(get, path = "/api/v1/links", tag = "content", params(LinksQuery),
    responses((status = 200, body = PageBody<Link>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_links(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<LinksQuery>,
) -> ApiResult<Json<PageBody<Link>>> {
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    let filter = LinkFilter { staff: q.staff_id, customer: q.customer_id, material: q.material_id };
    Ok(Json(s.app.links(&a, &filter, page).await?.into()))
}

/// One link with its short URL and latest opens (time, customer, reading time, inside WeChat).
#[utoipa::path(get, path = "/api/v1/links/{id}", tag = "content", params(("id" = LinkId, Path)),
    responses((status = 200, body = LinkDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_link(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<LinkId>,
) -> ApiResult<Json<LinkDetail>> {
    Ok(Json(s.app.link_detail(&a, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RadarQuery {
    /// Days back from today, 1–90 (default 30).
    pub days: Option<i64>,
}

/// The radar: opens per day, unique customers, average reading time, top links and per staff member.
#[utoipa::path(get, path = "/api/v1/radar/stats", tag = "content", params(RadarQuery),
    responses((status = 200, body = RadarStats), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn radar_stats(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<RadarQuery>,
) -> ApiResult<Json<RadarStats>> {
    Ok(Json(s.app.radar_stats(&a, q.days.unwrap_or(30)).await?))
}
