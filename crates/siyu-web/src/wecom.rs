//! `/wecom/callback/{route}`: where WeCom pushes a corp's events (reference/wecom.md §5).
//!
//! GET is the URL check (answer the decrypted `echostr`, bare). POST is an event: verified, decrypted,
//! parsed and stored before the answer, `success` as soon as it is stored (or found stored: a retry), then
//! processed in the background. A bad signature or body is answered 400 and nothing is stored; an unknown
//! route 404. WeCom only needs a 200 within 5 s.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use siyu_app::AppError;
use siyu_app::wecom::{CallbackAnswer, CallbackQuery};
use uuid::Uuid;

use crate::routes::Routes;
use crate::state::AppState;

/// Callback bodies are small XML documents; anything bigger is not WeCom.
const MAX_CALLBACK_BYTES: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/wecom/callback/{route}", verify_url)
        .post("/wecom/callback/{route}", receive)
        .into_router()
        .layer(axum::extract::DefaultBodyLimit::max(MAX_CALLBACK_BYTES))
}

fn plain(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn failure(e: AppError) -> Response {
    match e {
        AppError::NotFound => plain(StatusCode::NOT_FOUND, "unknown callback url".into()),
        AppError::Invalid(i) => plain(StatusCode::BAD_REQUEST, i.to_string()),
        other => {
            tracing::error!(error = %other, "wecom callback failed");
            plain(StatusCode::SERVICE_UNAVAILABLE, "try again".into())
        }
    }
}

async fn verify_url(State(s): State<AppState>, Path(route): Path<String>, Query(q): Query<CallbackQuery>) -> Response {
    let Ok(route) = Uuid::parse_str(&route) else {
        return plain(StatusCode::NOT_FOUND, "unknown callback url".into());
    };
    match s.app.verify_callback_url(route, &q).await {
        Ok(echo) => plain(StatusCode::OK, echo),
        Err(e) => failure(e),
    }
}

async fn receive(
    State(s): State<AppState>,
    Path(route): Path<String>,
    Query(q): Query<CallbackQuery>,
    body: Bytes,
) -> Response {
    let Ok(route) = Uuid::parse_str(&route) else {
        return plain(StatusCode::NOT_FOUND, "unknown callback url".into());
    };
    let Ok(body) = std::str::from_utf8(&body) else {
        return plain(StatusCode::BAD_REQUEST, "body is not UTF-8".into());
    };
    match s.app.receive_callback(route, &q, body).await {
        Ok(CallbackAnswer::Stored { tenant, id }) => {
            s.app.process_callback_soon(tenant, id);
            plain(StatusCode::OK, "success".into())
        }
        Ok(CallbackAnswer::Duplicate) => plain(StatusCode::OK, "success".into()),
        Err(e) => failure(e),
    }
}
