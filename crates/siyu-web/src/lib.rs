//! The only crate that speaks HTTP and HTML.
//!
//! - `/api/v1/*`: the Open API (JSON, bearer tokens, OpenAPI 3.1 at `/api/openapi.json`, docs at `/api/docs`);
//! - `/console/*`: the console (askama templates + htmx, session cookies, CSRF tokens);
//! - `/healthz`, `/readyz`; Prometheus `/metrics` is served on its own listener ([`metrics_router`]).
//!
//! Handlers translate HTTP to calls on [`siyu_app::App`] and back; they never decide access.

pub mod api;
pub mod auth;
pub mod console;
pub mod error;
pub mod i18n;
pub mod ingest;
pub mod links;
pub mod openapi;
pub mod routes;
pub mod sidebar;
pub mod state;
pub mod wecom;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use siyu_app::{App, AppError};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, ErrorMarker};
pub use crate::state::AppState;

/// The whole HTTP surface for one node.
pub fn router(app: App) -> Router {
    let state = AppState { app };
    let timeout = Duration::from_secs(state.app.settings.server.request_timeout_secs);
    let body_limit = state.app.settings.server.max_body_bytes;
    Router::new()
        .merge(api::router(&state).layer(axum::extract::DefaultBodyLimit::max(body_limit)))
        .merge(ingest::router())
        .merge(links::router())
        .merge(wecom::router())
        .merge(console::router())
        .merge(sidebar::router())
        .merge(openapi::router())
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/static/app.css", get(|| async { asset("text/css; charset=utf-8", include_str!("../static/app.css")) }))
        .route(
            "/static/htmx.min.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../static/htmx.min.js")) }),
        )
        .route(
            "/static/sidebar.css",
            get(|| async { asset("text/css; charset=utf-8", include_str!("../static/sidebar.css")) }),
        )
        .route(
            "/static/sidebar.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../static/sidebar.js")) }),
        )
        .route(
            "/static/segment_builder.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../static/segment_builder.js")) }),
        )
        .route(
            "/static/journey_canvas.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_str!("../static/journey_canvas.js")) }),
        )
        .fallback(not_found)
        .layer(middleware::from_fn(finish))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let rid = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %rid)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.app.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            ApiError(AppError::Unavailable).into_response()
        }
    }
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/console") {
        console::page::ConsoleError(AppError::NotFound).into_response()
    } else {
        ApiError(AppError::NotFound).into_response()
    }
}

/// Records the request's metrics and completes JSON error bodies with the request id (handlers do not know
/// it). One layer for both, allocating nothing for a successful request beyond the metric labels.
async fn finish(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let rid = req.headers().get("x-request-id").cloned();
    let mut res = next.run(req).await;
    let status = res.status();
    if res.extensions().get::<ErrorMarker>().is_some() {
        let rid = rid.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("-");
        res = with_request_id(res, rid).await;
    }
    let route = route.map_or(metrics::SharedString::const_str("unmatched"), metrics::SharedString::from);
    let status = status_label(status);
    let counter_labels = [("method", method.clone()), ("route", route.clone()), ("status", status)];
    metrics::counter!("siyu_http_requests_total", &counter_labels).increment(1);
    metrics::histogram!("siyu_http_request_duration_seconds", &[("method", method), ("route", route)])
        .record(start.elapsed().as_secs_f64());
    res
}

/// `res`'s JSON error body with `request_id` filled in.
async fn with_request_id(res: Response, rid: &str) -> Response {
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut v) => {
            v["request_id"] = serde_json::Value::String(rid.to_string());
            serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    };
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

fn method_label(m: &axum::http::Method) -> metrics::SharedString {
    match m.as_str() {
        "GET" => metrics::SharedString::const_str("GET"),
        "POST" => metrics::SharedString::const_str("POST"),
        "PUT" => metrics::SharedString::const_str("PUT"),
        "PATCH" => metrics::SharedString::const_str("PATCH"),
        "DELETE" => metrics::SharedString::const_str("DELETE"),
        other => metrics::SharedString::from(other.to_string()),
    }
}

/// The status code as a label, without formatting the common ones.
fn status_label(s: StatusCode) -> metrics::SharedString {
    let common = match s.as_u16() {
        200 => "200",
        201 => "201",
        204 => "204",
        302 => "302",
        303 => "303",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => return metrics::SharedString::from(s.as_u16().to_string()),
    };
    metrics::SharedString::const_str(common)
}

/// Installs the global Prometheus recorder (once per process) and returns its handle.
pub fn install_metrics() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .clone()
}

/// `/metrics` for the separate metrics listener.
pub fn metrics_router(handle: PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(move || async move { handle.render() }))
}

/// Serves `router` on `listener` until `shutdown` fires; in-flight requests get to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
