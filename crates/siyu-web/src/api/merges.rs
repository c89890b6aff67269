//! `/api/v1/merge-suggestions` and merges: the identity graph's review queue (pairs the rules would not
//! merge on their own) and the merge log of a customer, with un-merge.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use siyu_app::graph::{MergeView, Resolution, SuggestionView, UnmergeOutcome};
use siyu_domain::graph::SuggestionStatus;
use siyu_domain::id::{CustomerId, MergeId, SuggestionId};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/merge-suggestions", list_suggestions)
        .post("/api/v1/merge-suggestions/{id}/accept", accept_suggestion)
        .post("/api/v1/merge-suggestions/{id}/reject", reject_suggestion)
        .get("/api/v1/customers/{id}/merges", customer_merges)
        .post("/api/v1/merges/{id}/undo", undo_merge)
        .into_router()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SuggestionQuery {
    /// `open` (default), `accepted`, `rejected` or `obsolete`.
    pub status: Option<SuggestionStatus>,
    /// Only suggestions raised before this time (the last item's `created_at`, for the next page).
    pub before: Option<DateTime<Utc>>,
    /// At most this many (default 50, at most 200).
    pub limit: Option<i64>,
}

/// Merge suggestions, newest first: pairs of customers that may be one person (a typed-in or masked
/// phone, a receiver phone, a uniqueness conflict, a cap) for an operator to accept or reject.
#[utoipa::path(get, path = "/api/v1/merge-suggestions", tag = "identity", params(SuggestionQuery),
    responses((status = 200, body = Vec<SuggestionView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_suggestions(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<SuggestionQuery>,
) -> ApiResult<Json<Vec<SuggestionView>>> {
    let status = q.status.unwrap_or(SuggestionStatus::Open);
    Ok(Json(s.app.merge_suggestions(&a, status, q.before, q.limit.unwrap_or(50)).await?))
}

/// Accepts a suggestion: the two customers merge into the older one (an attributed, strong link).
/// 409 when they hold different values of a unique identifier or the suggestion was already decided.
#[utoipa::path(post, path = "/api/v1/merge-suggestions/{id}/accept", tag = "identity", params(("id" = SuggestionId, Path)),
    responses((status = 200, body = Resolution), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn accept_suggestion(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SuggestionId>,
) -> ApiResult<Json<Resolution>> {
    Ok(Json(s.app.accept_suggestion(&a, id).await?))
}

/// Rejects a suggestion: the pair stays apart and is not raised again for the same reason.
#[utoipa::path(post, path = "/api/v1/merge-suggestions/{id}/reject", tag = "identity", params(("id" = SuggestionId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reject_suggestion(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SuggestionId>,
) -> ApiResult<StatusCode> {
    s.app.reject_suggestion(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The merges a customer took part in, as survivor or absorbed, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/merges", tag = "identity", params(("id" = CustomerId, Path)),
    responses((status = 200, body = Vec<MergeView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn customer_merges(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<Vec<MergeView>>> {
    Ok(Json(s.app.merges_of(&a, id).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoMerge {
    /// Why the merge was wrong (kept in the merge log and the audit log).
    pub reason: String,
}

/// Undoes a merge by replaying the identity graph without the wrong link: the absorbed customer comes back
/// under its old id with the identities, events, orders, tags, follows and notes that belong to it.
#[utoipa::path(post, path = "/api/v1/merges/{id}/undo", tag = "identity", params(("id" = MergeId, Path)),
    request_body = UndoMerge,
    responses((status = 200, body = UnmergeOutcome), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn undo_merge(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MergeId>,
    ApiJson(b): ApiJson<UndoMerge>,
) -> ApiResult<Json<UnmergeOutcome>> {
    let reason = siyu_domain::text::required("reason", &b.reason, 200).map_err(siyu_app::AppError::from)?;
    Ok(Json(s.app.unmerge(&a, id, &reason).await?))
}
