//! The Segment-compatible tracking API: `POST /v1/{track|identify|page|screen|group|alias|batch}`.
//!
//! Unmodified Segment and RudderStack clients work by changing only the host: the write key comes as the
//! HTTP Basic user name (or `writeKey` in the body), bodies may be gzip-compressed, and status codes follow
//! what the official clients retry on: `200` after the durable commit (items that failed validation are
//! quarantined and reported, the rest kept), `400` for a body that cannot be taken (malformed, over the
//! size limit), `401` for an unknown key, `429` with `Retry-After` over the source's rate, `503` when the
//! write could not be made durable. Retrying is always safe: events are deduplicated on `messageId`.

use std::io::Read;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::json;
use siyu_app::AppError;
use siyu_domain::event::{Endpoint, MAX_BATCH_BYTES};

use crate::error::ApiError;
use crate::state::AppState;

/// Compressed bodies read off the wire at most; decompressed ones are cut one byte past the endpoint's
/// limit, so that the parser reports them as too large without inflating a bomb.
const MAX_WIRE_BYTES: usize = MAX_BATCH_BYTES + 1;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/{endpoint}", post(ingest))
}

fn body_error(reason: &str) -> ApiError {
    ApiError(AppError::invalid("body", reason))
}

async fn ingest(State(s): State<AppState>, Path(endpoint): Path<String>, headers: HeaderMap, body: Body) -> Response {
    let Some(endpoint) = Endpoint::parse(&endpoint) else {
        return ApiError(AppError::NotFound).into_response();
    };
    let raw = match axum::body::to_bytes(body, MAX_WIRE_BYTES).await {
        Ok(b) => b,
        Err(_) => return body_error("request_too_large").into_response(),
    };
    let body = match decode(&headers, raw, endpoint.max_body_bytes() + 1) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let key = basic_user(&headers);
    match s.app.ingest(endpoint, &body, key.as_deref()).await {
        Ok(receipt) => {
            let rejected: Vec<_> = receipt
                .rejected
                .iter()
                .map(|e| json!({"index": e.index, "code": e.code.as_str(), "message": e.message}))
                .collect();
            let body = json!({
                "success": true,
                "accepted": receipt.accepted,
                "duplicates": receipt.duplicates,
                "rejected": rejected,
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// The body after `Content-Encoding` (none, `identity` or `gzip`), cut at `limit` bytes.
fn decode(headers: &HeaderMap, raw: Bytes, limit: usize) -> Result<Vec<u8>, ApiError> {
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("").trim();
    match encoding.to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(raw.to_vec()),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            let mut reader = flate2::read::GzDecoder::new(raw.as_ref()).take(limit as u64);
            reader.read_to_end(&mut out).map_err(|_| body_error("malformed_gzip"))?;
            Ok(out)
        }
        other => Err(ApiError(AppError::UnsupportedMediaType(format!("unsupported Content-Encoding: {other}")))),
    }
}

/// The user name of `Authorization: Basic base64(user:password)`: Segment's write key.
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
    (!user.is_empty()).then(|| user.to_string())
}
