//! `/api/v1/customers/{id}/consents`, `/export`, `/erasure` and `/privacy-requests`: PIPL consents, the
//! access export and erasure. Access is decided by the services (`siyu-app/src/privacy.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::Response;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use siyu_app::privacy::{ConsentsView, ErasureReport, PersonalDataExport, PersonalExport};
use siyu_app::{Actor, App, AppError};
use siyu_domain::id::CustomerId;
use siyu_domain::privacy::{Consent, ConsentPurpose, ConsentSource, ConsentStatus, PrivacyRequest};
use tokio::sync::mpsc;

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/customers/{id}/consents", list_consents)
        .put("/api/v1/customers/{id}/consents/{purpose}", set_consent)
        .get("/api/v1/customers/{id}/export", export_personal_data)
        .post("/api/v1/customers/{id}/erasure", erase_customer)
        .get("/api/v1/customers/{id}/privacy-requests", list_privacy_requests)
        .into_router()
}

/// A consent decision to record.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// `granted`, `withdrawn` or `unknown` (a record made in error).
    pub status: ConsentStatus,
    /// Where the decision was captured: `console`, `api` (the default), `import` or `event`.
    pub source: Option<ConsentSource>,
}

/// A consent purpose in a path; an unknown one is simply not found.
pub fn purpose(s: &str) -> Result<ConsentPurpose, AppError> {
    ConsentPurpose::parse(s).ok_or(AppError::NotFound)
}

/// The customer's consent per purpose (`marketing`, `ad_audience`; `unknown` where nothing was recorded) and
/// the history of every change, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/consents", tag = "privacy", params(("id" = CustomerId, Path)),
    responses((status = 200, body = ConsentsView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_consents(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<ConsentsView>> {
    Ok(Json(s.app.consents(&a, id).await?))
}

/// Record a consent decision for one purpose. Setting the status it already has changes nothing; a change is
/// appended to the history and audited. An erased customer answers 409 `customer_erased`.
#[utoipa::path(put, path = "/api/v1/customers/{id}/consents/{purpose}", tag = "privacy",
    params(("id" = CustomerId, Path), ("purpose" = ConsentPurpose, Path)), request_body = ConsentInput,
    responses((status = 200, body = Consent), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn set_consent(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, p)): ApiPath<(CustomerId, String)>,
    ApiJson(input): ApiJson<ConsentInput>,
) -> ApiResult<Json<Consent>> {
    let p = purpose(&p)?;
    Ok(Json(s.app.set_consent(&a, id, p, input.status, input.source).await?))
}

/// Everything held about the customer as one JSON document (PIPL access request), streamed: profile, custom
/// fields, identities, tags and their history, follows, notes, consents, privacy requests, timeline, events,
/// orders with lines and status history, and the audit entries about the customer. Phones, emails and
/// receivers are in clear only with the `pii_reveal` permission (`pii_revealed`). Needs `customers_export`;
/// recorded as an access request and audited.
#[utoipa::path(get, path = "/api/v1/customers/{id}/export", tag = "privacy", params(("id" = CustomerId, Path)),
    responses((status = 200, body = PersonalDataExport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_personal_data(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Response> {
    let plan = s.app.prepare_personal_export(&a, id).await?;
    let mut res = Response::new(export_body(s.app.clone(), a, plan));
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Erase the customer (PIPL deletion request): identities, tags, notes, follows and the profile go; the
/// timeline, events and orders are anonymised (orders keep amounts, status and lines so totals still add
/// up); granted consents are withdrawn. One transaction; recorded and audited. Repeating it is harmless
/// (`already_erased`). Needs `customers_erase` (owners and admins; tokens with the `admin` scope).
#[utoipa::path(post, path = "/api/v1/customers/{id}/erasure", tag = "privacy", params(("id" = CustomerId, Path)),
    responses((status = 200, body = ErasureReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn erase_customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<ErasureReport>> {
    Ok(Json(s.app.erase_customer(&a, id).await?))
}

/// The privacy requests carried out for the customer (access exports, erasures), newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/privacy-requests", tag = "privacy", params(("id" = CustomerId, Path)),
    responses((status = 200, body = Vec<PrivacyRequest>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_privacy_requests(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<Vec<PrivacyRequest>>> {
    Ok(Json(s.app.privacy_requests(&a, id).await?))
}

/// The body of a prepared export, written by a task while the client reads it. A failure midway aborts the
/// response instead of ending a document that looks complete.
pub fn export_body(app: App, actor: Actor, plan: PersonalExport) -> Body {
    streamed_body(move |tx| async move {
        let result = app.write_personal_export(&actor, &plan, tx).await;
        if let Err(e) = &result {
            tracing::warn!(error = ?e, customer = %plan.customer, "personal data export stopped");
        }
        result.map(|_| ())
    })
}

/// A response body filled by `run` through a channel of chunks, on its own task. If `run` fails, the
/// body ends with an error (the client sees an aborted download, not a short file that looks whole).
pub fn streamed_body<F, Fut>(run: F) -> Body
where
    F: FnOnce(mpsc::Sender<Vec<u8>>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = siyu_app::AppResult<()>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let failed = Arc::new(AtomicBool::new(false));
    let flag = failed.clone();
    tokio::spawn(async move {
        // Keeps the channel open until the outcome is known, so the reader sees the flag once it ends.
        let keep = tx.clone();
        if run(tx).await.is_err() {
            flag.store(true, Ordering::SeqCst);
        }
        drop(keep);
    });
    let stream = futures::stream::unfold((rx, failed), |(mut rx, failed)| async move {
        match rx.recv().await {
            Some(chunk) => Some((Ok(Bytes::from(chunk)), (rx, failed))),
            None if failed.swap(false, Ordering::SeqCst) => {
                Some((Err(std::io::Error::other("export failed")), (rx, failed)))
            }
            None => None,
        }
    });
    Body::from_stream(stream)
}
