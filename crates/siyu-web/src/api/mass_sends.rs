//! Mass sends (企业群发): to customers picked by segment, tags and staff, each sent once through their staff
//! member's WeCom, within the daily cap shared with journeys and WeCom's monthly reception limit.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use siyu_app::wecom::{MassPreview, MassPreviewInput, MassSendInput, MassSendView, SenderCounts};
use siyu_domain::id::MassSendId;
use siyu_domain::wecom::mass::MassRecipient;

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/mass-sends", list_mass_sends)
        .post("/api/v1/mass-sends", create_mass_send)
        .post("/api/v1/mass-sends/preview", preview_mass_send)
        .get("/api/v1/mass-sends/{id}", get_mass_send)
        .post("/api/v1/mass-sends/{id}/cancel", cancel_mass_send)
        .post("/api/v1/mass-sends/{id}/remind", remind_mass_send)
        .post("/api/v1/mass-sends/{id}/results", refresh_mass_results)
        .get("/api/v1/mass-sends/{id}/recipients", list_mass_recipients)
        .get("/api/v1/mass-sends/{id}/senders", list_mass_senders)
        .into_router()
}

#[utoipa::path(get, path = "/api/v1/mass-sends", tag = "wecom",
    responses((status = 200, body = Vec<MassSendView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_mass_sends(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<MassSendView>>> {
    Ok(Json(s.app.mass_sends(&a).await?))
}

/// Schedules a mass send (now, or at `scheduled_at`). A job plans the recipients (skipping opted-out and
/// capped customers and those without a WeCom staff member) and sends chunks of ≤10,000 per sender, paced
/// to the corp's rate budget. Senders confirm in the WeCom client.
#[utoipa::path(post, path = "/api/v1/mass-sends", tag = "wecom", request_body = MassSendInput,
    responses((status = 201, body = MassSendView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_mass_send(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<MassSendInput>,
) -> ApiResult<(StatusCode, Json<MassSendView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_mass_send(&a, &b).await?)))
}

#[utoipa::path(get, path = "/api/v1/mass-sends/{id}", tag = "wecom", params(("id" = MassSendId, Path)),
    responses((status = 200, body = MassSendView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_mass_send(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MassSendId>,
) -> ApiResult<Json<MassSendView>> {
    Ok(Json(s.app.mass_send(&a, id).await?))
}

/// Cancels a send: nothing more is sent, and templates already in WeCom are cancelled there.
#[utoipa::path(post, path = "/api/v1/mass-sends/{id}/cancel", tag = "wecom", params(("id" = MassSendId, Path)),
    responses((status = 200, body = MassSendView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cancel_mass_send(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MassSendId>,
) -> ApiResult<Json<MassSendView>> {
    Ok(Json(s.app.cancel_mass_send(&a, id).await?))
}

/// How many reminders went out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reminded {
    pub reminded: usize,
}

/// Reminds the senders who have not confirmed yet (WeCom allows three a day per message).
#[utoipa::path(post, path = "/api/v1/mass-sends/{id}/remind", tag = "wecom", params(("id" = MassSendId, Path)),
    responses((status = 200, body = Reminded), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn remind_mass_send(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MassSendId>,
) -> ApiResult<Json<Reminded>> {
    s.app.mass_send(&a, id).await?;
    Ok(Json(Reminded { reminded: s.app.remind_mass_send(&a, id).await? }))
}

/// Pulls the per-recipient results back from WeCom (delivered, not a friend, over WeCom's monthly cap).
#[utoipa::path(post, path = "/api/v1/mass-sends/{id}/results", tag = "wecom", params(("id" = MassSendId, Path)),
    responses((status = 200, body = MassSendView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn refresh_mass_results(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MassSendId>,
) -> ApiResult<Json<MassSendView>> {
    Ok(Json(s.app.refresh_mass_results(&a, id).await?))
}

/// How many customers (or groups) an audience holds now: the figure the console shows before creating.
#[utoipa::path(post, path = "/api/v1/mass-sends/preview", tag = "wecom", request_body = MassPreviewInput,
    responses((status = 200, body = MassPreview), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn preview_mass_send(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<MassPreviewInput>,
) -> ApiResult<Json<MassPreview>> {
    Ok(Json(s.app.preview_mass_send(&a, &b).await?))
}

/// Which recipients to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecipientQuery {
    /// Only this state (`planned`, `sent`, `delivered`, `not_friend`, `capped_by_wecom`, `failed`, `opted_out`,
    /// `capped`, `no_staff`).
    pub status: Option<String>,
    /// At most this many (default 200, ≤1000).
    pub limit: Option<i64>,
}

/// The recipients of a send (customers, or groups for a group send) with their states, by sender.
#[utoipa::path(get, path = "/api/v1/mass-sends/{id}/recipients", tag = "wecom",
    params(("id" = MassSendId, Path), RecipientQuery),
    responses((status = 200, body = Vec<MassRecipient>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_mass_recipients(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MassSendId>,
    Query(q): Query<RecipientQuery>,
) -> ApiResult<Json<Vec<MassRecipient>>> {
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    Ok(Json(s.app.mass_recipients(&a, id, status, q.limit.unwrap_or(200)).await?))
}

/// Recipients per sending staff member and state.
#[utoipa::path(get, path = "/api/v1/mass-sends/{id}/senders", tag = "wecom", params(("id" = MassSendId, Path)),
    responses((status = 200, body = Vec<SenderCounts>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_mass_senders(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MassSendId>,
) -> ApiResult<Json<Vec<SenderCounts>>> {
    Ok(Json(s.app.mass_senders(&a, id).await?))
}
