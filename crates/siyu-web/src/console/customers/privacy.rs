//! The customer page's "隐私与授权" card (PIPL): the consent per purpose with grant/withdraw buttons (htmx
//! swaps the card), the consent history, the privacy requests carried out, the personal data download and
//! the way to erasure, which goes through a confirmation page (`GET /console/customers/{id}/erasure`).

use std::collections::HashMap;

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, UserId};
use siyu_domain::privacy::ConsentStatus;

use super::parse_id;
use super::view::{FieldError, FormErrors, error_message, fmt_opt, fmt_time, label, one};
use crate::api::privacy::{export_body, purpose};
use crate::auth::ConsoleActor;
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::console::transfer::download;
use crate::i18n::Tr;
use crate::state::AppState;

/// One purpose's consent as the card shows it.
pub struct ConsentRow {
    pub purpose: &'static str,
    pub label: String,
    pub status: &'static str,
    pub status_label: String,
    /// `控制台 · 2024-05-01 14:03`, empty while unknown.
    pub since: String,
}

/// One line of the consent history.
pub struct HistoryRow {
    pub purpose: String,
    pub from: String,
    pub to: String,
    pub source: String,
    pub actor: String,
    pub reason: String,
    pub when: String,
}

/// One privacy request carried out.
pub struct RequestRow {
    pub kind: String,
    pub actor: String,
    pub when: String,
}

/// The card (also swapped in by htmx after a change).
pub struct PrivacyCard {
    pub customer: String,
    pub consents: Vec<ConsentRow>,
    pub history: Vec<HistoryRow>,
    pub requests: Vec<RequestRow>,
    /// When the customer was erased.
    pub erased: Option<String>,
    pub can_write: bool,
    pub can_export: bool,
    pub can_erase: bool,
    pub error: Option<String>,
}

impl PrivacyCard {
    pub async fn load(
        state: &AppState,
        ca: &ConsoleActor,
        tr: Tr,
        customer: CustomerId,
        error: Option<String>,
    ) -> Result<Self, AppError> {
        let (app, a) = (&state.app, &ca.actor);
        let view = app.consents(a, customer).await?;
        let requests = app.privacy_requests(a, customer).await?;
        let names: HashMap<UserId, String> = app.member_names(a).await?;
        let name = |u: Option<UserId>| u.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| "—".into());
        let consents = view
            .consents
            .iter()
            .map(|c| ConsentRow {
                purpose: c.purpose.as_str(),
                label: label(tr, "privacy.purpose", c.purpose.as_str()),
                status: c.status.as_str(),
                status_label: label(tr, "privacy.status", c.status.as_str()),
                since: match (c.source, c.changed_at) {
                    (Some(s), Some(at)) => format!("{} · {}", label(tr, "source", s.as_str()), fmt_time(&at)),
                    _ => String::new(),
                },
            })
            .collect();
        let history = view
            .history
            .iter()
            .map(|h| HistoryRow {
                purpose: label(tr, "privacy.purpose", h.purpose.as_str()),
                from: label(tr, "privacy.status", h.from.as_str()),
                to: label(tr, "privacy.status", h.to.as_str()),
                source: label(tr, "source", h.source.as_str()),
                actor: name(h.actor_id),
                reason: if h.reason == "erasure" { tr.t("privacy.by_erasure").to_string() } else { String::new() },
                when: fmt_time(&h.at),
            })
            .collect();
        let requests = requests
            .iter()
            .map(|r| RequestRow {
                kind: label(tr, "privacy.request", r.kind.as_str()),
                actor: r.actor_name.clone(),
                when: fmt_time(&r.at),
            })
            .collect();
        Ok(Self {
            customer: customer.to_string(),
            consents,
            history,
            requests,
            erased: view.erased_at.map(|t| fmt_opt(&Some(t))),
            can_write: a.can(Permission::CustomersWrite) && view.erased_at.is_none(),
            can_export: a.can(Permission::CustomersExport),
            can_erase: a.can(Permission::CustomersErase) && view.erased_at.is_none(),
            error,
        })
    }
}

#[derive(Template)]
#[template(path = "customer_privacy.html")]
struct PrivacyFragment {
    chrome: Chrome,
    privacy: PrivacyCard,
}

/// `POST /console/customers/{id}/consents/{purpose}` with `status=granted|withdrawn`.
pub async fn change_consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, p)): Path<(String, String)>,
    post: FormPost,
) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: CustomerId = parse_id(&id)?;
    // Another tenant's (or an invisible) customer is not found, whatever the form says.
    state.app.ensure_visible(&ca.actor, id).await?;
    let p = purpose(&p)?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "customers");
    let status = one(&fields, "status").and_then(ConsentStatus::parse);
    let outcome = match status {
        Some(s) => state.app.set_consent(&ca.actor, id, p, s, None).await.map(|_| ()),
        None => Err(AppError::invalid("status", "expected_option")),
    };
    let htmx = headers.contains_key("hx-request");
    let error = match outcome {
        Ok(()) => None,
        Err(e @ (AppError::Invalid(_) | AppError::CustomerErased | AppError::Conflict(_))) if htmx => {
            Some(error_message(chrome.tr, &e))
        }
        Err(e) => return Err(e.into()),
    };
    if !htmx {
        return Ok(Redirect::to(&format!("/console/customers/{id}#privacy")).into_response());
    }
    let privacy = PrivacyCard::load(&state, &ca, chrome.tr, id, error).await?;
    Ok(render(&PrivacyFragment { chrome, privacy }))
}

/// `GET /console/customers/{id}/personal-data`: everything held about the customer, as a download.
pub async fn export(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: CustomerId = parse_id(&id)?;
    let plan = state.app.prepare_personal_export(&ca.actor, id).await?;
    let body: Body = export_body(state.app.clone(), ca.actor, plan);
    Ok(download("application/json", &format!("customer-{id}.json"), body))
}

#[derive(Template)]
#[template(path = "customer_erasure.html")]
struct ErasurePage {
    chrome: Chrome,
    id: String,
    name: String,
    erased: bool,
    can_erase: bool,
    error: Option<FieldError>,
}

async fn erasure_page(
    state: &AppState,
    ca: &ConsoleActor,
    id: CustomerId,
    error: Option<FieldError>,
) -> Result<ErasurePage, AppError> {
    let d = state.app.get_customer(&ca.actor, id).await?;
    let erased = state.app.erased_at(&ca.actor, id).await?.is_some();
    Ok(ErasurePage {
        chrome: Chrome::new(&ca.user, Some(&ca.actor), "customers"),
        id: id.to_string(),
        name: d.customer.name,
        erased,
        can_erase: ca.actor.can(Permission::CustomersErase),
        error,
    })
}

/// `GET /console/customers/{id}/erasure`: what erasure removes and keeps, and a confirmation to tick.
pub async fn confirm(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: CustomerId = parse_id(&id)?;
    Ok(render(&erasure_page(&state, &ca, id, None).await?))
}

/// `POST /console/customers/{id}/erasure` with `confirm=yes`.
pub async fn erase(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: CustomerId = parse_id(&id)?;
    state.app.ensure_visible(&ca.actor, id).await?;
    if one(&fields, "confirm") != Some("yes") {
        let tr = Chrome::new(&ca.user, Some(&ca.actor), "customers").tr;
        let e = AppError::invalid("confirm", "confirmation_required");
        let error = FormErrors::from_error(tr, &e, "confirm").0.into_iter().next();
        let page = erasure_page(&state, &ca, id, error).await?;
        return Ok((StatusCode::BAD_REQUEST, render(&page)).into_response());
    }
    state.app.erase_customer(&ca.actor, id).await?;
    Ok(Redirect::to(&format!("/console/customers/{id}#privacy")).into_response())
}
