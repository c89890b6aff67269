//! Console: 投递失败 (journey dead letters). Deliveries that failed for good (a webhook that answered 4xx or
//! ran out of retries, a template that did not render, ...) with a retry button, for `journeys_manage`; and
//! for admins (`tokens_manage`) the webhook signing secret with its rotate button and how receivers verify it.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router};
use siyu_domain::access::Permission;
use uuid::Uuid;

use super::customers::parse_id;
use super::customers::view::{fmt_opt, one};
use super::page::{Chrome, ConsoleResult, check_csrf, render};
use crate::auth::ConsoleActor;
use crate::console::csrf_from;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/deliveries";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, page)
        .post("/console/deliveries/{id}/retry", retry)
        .post("/console/deliveries/secret", rotate_secret)
        .into_router()
}

pub struct DeadRow {
    pub id: String,
    pub journey: String,
    pub customer_id: String,
    pub node: String,
    pub kind: String,
    pub target: String,
    pub attempts: i64,
    pub error: String,
    pub failed: String,
}

#[derive(Template)]
#[template(path = "deliveries.html")]
struct DeliveriesPage {
    chrome: Chrome,
    rows: Vec<DeadRow>,
    can_retry: bool,
    /// The webhook secret, for admins.
    secret: Option<String>,
}

async fn page(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let a = &ca.actor;
    let can_retry = a.can(Permission::JourneysManage);
    let secret = if a.can(Permission::TokensManage) { Some(state.app.webhook_secret(a).await?) } else { None };
    if !can_retry && secret.is_none() {
        return Err(siyu_app::AppError::Forbidden.into());
    }
    let rows = if can_retry {
        state
            .app
            .dead_letters(a)
            .await?
            .into_iter()
            .map(|d| DeadRow {
                id: d.id.to_string(),
                journey: d.journey_name.unwrap_or_else(|| d.journey_id.to_string()),
                customer_id: d.customer_id.to_string(),
                node: d.node,
                kind: d.kind,
                target: d.target.unwrap_or_default(),
                attempts: d.attempts,
                error: d.error.unwrap_or_default(),
                failed: fmt_opt(&d.failed_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    let chrome = Chrome::new(&ca.user, Some(a), "deliveries");
    let mut res = render(&DeliveriesPage { chrome, rows, can_retry, secret });
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn retry(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(p): Form<Vec<(String, String)>>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, one(&p, "_csrf")))?;
    let id: Uuid = parse_id(&id)?;
    state.app.retry_dead_letter(&ca.actor, id).await?;
    Ok(Redirect::to(PATH).into_response())
}

async fn rotate_secret(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Form(p): Form<Vec<(String, String)>>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, one(&p, "_csrf")))?;
    state.app.rotate_webhook_secret(&ca.actor).await?;
    Ok(Redirect::to(&format!("{PATH}#webhook-secret")).into_response())
}
