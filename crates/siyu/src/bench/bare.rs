//! The peers: bare axum servers with no auth, no middleware and no database, so the ratio shows what siyu's
//! whole stack costs on top of HTTP and JSON. [`router`] answers the customer routes with the same JSON from
//! memory; [`ingest_router`] takes `POST /v1/batch` and only parses the body.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use siyu_app::customers::{CustomerDetail, CustomerSummary};
use siyu_domain::id::CustomerId;

/// Profiles and one list page, read from siyu before the run.
pub struct Snapshot {
    pub profiles: HashMap<CustomerId, CustomerDetail>,
    pub page: Vec<CustomerSummary>,
    pub next_cursor: Option<String>,
}

/// The list body, borrowed (the shape of `siyu_web::api::PageBody`).
#[derive(Serialize)]
struct PageRef<'a> {
    items: &'a [CustomerSummary],
    next_cursor: Option<&'a str>,
}

pub fn router(snapshot: Arc<Snapshot>) -> Router {
    Router::new()
        .route("/api/v1/customers", get(list))
        .route("/api/v1/customers/{id}", get(profile))
        .with_state(snapshot)
}

async fn profile(State(s): State<Arc<Snapshot>>, Path(id): Path<CustomerId>) -> Response {
    match s.profiles.get(&id) {
        Some(p) => Json(p).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn list(State(s): State<Arc<Snapshot>>) -> Response {
    Json(PageRef { items: &s.page, next_cursor: s.next_cursor.as_deref() }).into_response()
}

/// `POST /v1/batch` that parses the JSON body and answers `{"success":true}` (400 if it is not JSON).
pub fn ingest_router() -> Router {
    Router::new().route("/v1/batch", post(batch))
}

async fn batch(body: Bytes) -> Response {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(_) => ([(header::CONTENT_TYPE, "application/json")], r#"{"success":true}"#).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}
