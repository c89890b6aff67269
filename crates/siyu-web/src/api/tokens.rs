//! `/api/v1/tokens` (API tokens) and `/api/v1/audit` (the audit log).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use siyu_app::audit::AuditQuery;
use siyu_domain::access::TokenScope;
use siyu_domain::audit::AuditEntry;
use siyu_domain::id::{ApiTokenId, AuditId, UserId};
use siyu_domain::tenancy::ApiToken;

use super::PageBody;
use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/tokens", list_tokens)
        .post("/api/v1/tokens", create_token)
        .delete("/api/v1/tokens/{id}", revoke_token)
        .get("/api/v1/audit", list_audit)
        .into_router()
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<ApiToken>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_tokens(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(s.app.list_tokens(&a).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<TokenScope>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The token itself: shown once, store it now.
    pub secret: String,
}

/// Issue a token acting as the caller with the given scopes (`read`, `write`, `admin`).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_token(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<NewToken>,
) -> ApiResult<Response> {
    let (token, secret) = s.app.create_token(&a, &b.name, &b.scopes).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })).into_response())
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = ApiTokenId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_token(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ApiTokenId>,
) -> ApiResult<StatusCode> {
    s.app.revoke_token(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Actions starting with this, e.g. `auth.` or `customer.delete`.
    pub action: Option<String>,
    pub actor: Option<UserId>,
    pub object_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = PageBody<AuditEntry>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_audit(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<Json<PageBody<AuditEntry>>> {
    let before = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(c.parse::<AuditId>().map_err(|_| siyu_domain::Invalid::new("cursor", "invalid_cursor"))?),
        None => None,
    };
    let q = AuditQuery {
        action_prefix: p.action,
        actor: p.actor,
        object_id: p.object_id,
        before,
        limit: p.limit.unwrap_or(50),
    };
    Ok(Json(s.app.audit_log(&a, q).await?.into()))
}
