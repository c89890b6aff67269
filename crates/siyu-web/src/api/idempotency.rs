//! `Idempotency-Key` on POSTs: the first request with a key runs and its response is stored; a retry with
//! the same key and body gets the stored response (marked `Idempotent-Replayed: true`) for 24 hours;
//! the same key with another body is refused. Records live in the database, so retries may land on any node.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use siyu_app::AppError;
use siyu_app::idempotency::Claim;

use crate::auth::ApiActor;
use crate::error::ApiError;
use crate::state::AppState;

const MAX_KEY_LEN: usize = 255;
const MAX_BODY: usize = 8 * 1024 * 1024;

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key("idempotency-key") {
        return next.run(req).await;
    }
    match run(state, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn run(state: AppState, req: Request, next: Next) -> Result<Response, ApiError> {
    let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_string();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ApiError(AppError::invalid("Idempotency-Key", "must be 1 to 255 characters")));
    }
    let (mut parts, body) = req.into_parts();
    let ApiActor(actor) = ApiActor::from_request_parts(&mut parts, &state).await?;
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| ApiError(AppError::PayloadTooLarge))?;
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or(""));
    h.update(&bytes);
    let hash = hex_string(&h.finalize());
    let app = &state.app;
    match app.claim_idempotency(&actor, &key, &hash).await? {
        Claim::Replay { status, body } => {
            let mut res = Response::new(Body::from(body));
            *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            res.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
            res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(res);
        }
        Claim::InFlight => return Err(ApiError(AppError::IdempotencyInFlight)),
        Claim::Mismatch => return Err(ApiError(AppError::IdempotencyKeyReused)),
        Claim::Fresh => {}
    }
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if res.status().is_server_error() {
        app.release_idempotency(&actor, &key).await?;
        return Ok(res);
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        app.release_idempotency(&actor, &key).await?;
        return Err(ApiError(AppError::PayloadTooLarge));
    };
    app.complete_idempotency(&actor, &key, parts.status.as_u16(), &bytes).await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
