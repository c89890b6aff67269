//! Privacy use cases (PIPL; cdp.md §8): consents per purpose, the access export (`privacy/export.rs`) and
//! erasure.
//!
//! - Consents are read with `customers_read` and changed with `customers_write`, within the data scope; every
//!   effective change is appended to the consent history, told on the timeline and audited (`consent.change`).
//! - Erasure needs `customers_erase` (owners and admins; API tokens with the `admin` scope). It runs in one
//!   transaction (`siyu-store/src/privacy/erasure.rs`), records a privacy request with what it removed, and is
//!   audited (`customer.erase`). Erasing twice is harmless: the second run finds nothing left.
//! - An erased customer keeps counting in aggregates but can no longer be changed: every write path on a
//!   customer calls [`App::ensure_editable`], which answers `customer_erased`.

mod export;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, PrivacyRequestId};
use siyu_domain::privacy::{
    Consent, ConsentChange, ConsentPurpose, ConsentSource, ConsentStatus, PrivacyRequest, PrivacyRequestKind,
};
use siyu_domain::timeline::kinds;
use siyu_store::StoreError;
use siyu_store::privacy::Erasure;

pub use export::{ExportHead, ExportedEvent, ExportedIdentity, ExportedOrder, ExportedReceiver, PersonalDataExport};
pub use export::{PersonalExport, TagChangeView};

use crate::actor::Via;
use crate::audit::AuditEvent;
use crate::customers::{entry, source_of};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A customer's consents (one per purpose, unknown where nothing was recorded) and their history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsentsView {
    pub consents: Vec<Consent>,
    /// Newest first.
    pub history: Vec<ConsentChange>,
    /// Set once the customer was erased: nothing can be changed any more.
    pub erased_at: Option<DateTime<Utc>>,
}

/// What an erasure did (also the API's response).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErasureReport {
    /// The erasure's privacy request: who, when, and rows removed or anonymised per table (`detail.counts`).
    pub request: PrivacyRequest,
    /// The customer had been erased before; this run only checked that nothing was left.
    pub already_erased: bool,
}

/// The consent source of a change made without naming one.
fn default_source(actor: &Actor) -> ConsentSource {
    match actor.via {
        Via::Session => ConsentSource::Console,
        Via::Token { .. } => ConsentSource::Api,
        Via::System => ConsentSource::Import,
    }
}

impl App {
    /// `NotFound` unless the customer is visible to the actor; `CustomerErased` once it was erased. Every use
    /// case that changes a customer (profile, identities, tags, follows, notes, consents, merges) calls it.
    pub async fn ensure_editable(&self, actor: &Actor, customer: CustomerId) -> AppResult<()> {
        self.ensure_visible(actor, customer).await?;
        match self.store.privacy().erased_at(actor.tenant, customer).await? {
            Some(_) => Err(AppError::CustomerErased),
            None => Ok(()),
        }
    }

    /// When the customer was erased, if it was (for pages that show an erased customer differently).
    pub async fn erased_at(&self, actor: &Actor, customer: CustomerId) -> AppResult<Option<DateTime<Utc>>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        Ok(self.store.privacy().erased_at(actor.tenant, customer).await?)
    }

    /// A customer's consents and their history.
    pub async fn consents(&self, actor: &Actor, customer: CustomerId) -> AppResult<ConsentsView> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let privacy = self.store.privacy();
        let stored = privacy.consents(actor.tenant, customer).await?;
        Ok(ConsentsView {
            consents: Consent::all_of(&stored),
            history: privacy.consent_history(actor.tenant, customer).await?,
            erased_at: privacy.erased_at(actor.tenant, customer).await?,
        })
    }

    /// Records a customer's consent for one purpose. Setting the status it already has changes nothing (the
    /// first record stays the evidence). `source` defaults to where the call came from (console, api).
    pub async fn set_consent(
        &self,
        actor: &Actor,
        customer: CustomerId,
        purpose: ConsentPurpose,
        status: ConsentStatus,
        source: Option<ConsentSource>,
    ) -> AppResult<Consent> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, customer).await?;
        let source = source.unwrap_or_else(|| default_source(actor));
        let stored = self.store.privacy().consents(actor.tenant, customer).await?;
        let current = Consent::all_of(&stored).into_iter().find(|c| c.purpose == purpose);
        let current = current.unwrap_or_else(|| Consent::unknown(purpose));
        let now = self.now();
        let Some(change) = current.change(status, source, Some(actor.user), "manual", now) else {
            return Ok(current);
        };
        let payload = json!({"purpose": purpose, "from": change.from, "to": change.to, "source": source});
        let e = entry(customer, actor, source_of(actor), kinds::CONSENT_CHANGED, now, payload.clone());
        match self.store.privacy().change_consent(actor.tenant, customer, &change, &e).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                if self.store.privacy().erased_at(actor.tenant, customer).await?.is_some() {
                    return Err(AppError::CustomerErased);
                }
                return Err(AppError::Conflict("the consent changed meanwhile; reload and try again".into()));
            }
            Err(other) => return Err(other.into()),
        }
        let ev = AuditEvent {
            action: "consent.change",
            object_type: "customer",
            object_id: Some(customer.to_string()),
            detail: payload,
        };
        self.audit(actor, ev).await;
        metrics::counter!("siyu_consent_changes_total", "purpose" => purpose.as_str(), "to" => status.as_str())
            .increment(1);
        self.after_customer_change(actor.tenant, customer).await;
        Ok(Consent::after(&change))
    }

    /// The privacy requests carried out for a customer (access exports, erasures), newest first.
    pub async fn privacy_requests(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<PrivacyRequest>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        Ok(self.store.privacy().requests(actor.tenant, customer).await?)
    }

    /// Erases a customer (PIPL Art. 47): identities, tags, notes, follows, custom values and profile go; the
    /// timeline, events and orders are anonymised (orders keep their amounts); granted consents are
    /// withdrawn. One transaction; recorded as a privacy request and audited. Repeating it is harmless.
    pub async fn erase_customer(&self, actor: &Actor, customer: CustomerId) -> AppResult<ErasureReport> {
        actor.require(Permission::CustomersErase)?;
        self.ensure_visible(actor, customer).await?;
        let now = self.now();
        let request = PrivacyRequest {
            id: PrivacyRequestId::new(),
            customer_id: customer,
            kind: PrivacyRequestKind::Erasure,
            actor_id: Some(actor.user),
            actor_name: actor.audit_name(),
            at: now,
            detail: json!({"via": source_of(actor)}),
        };
        let timeline = entry(customer, actor, source_of(actor), kinds::CUSTOMER_ERASED, now, json!({}));
        let erasure = Erasure {
            customer,
            at: now,
            actor: Some(actor.user),
            source: default_source(actor),
            request: &request,
            timeline: &timeline,
        };
        let out = self.store.privacy().erase(actor.tenant, &erasure).await?;
        // The archive's search index may hold their messages: rebuild it from what the database kept.
        self.search.mark_stale(actor.tenant);
        let already_erased = out.already_erased.is_some();
        let ev = AuditEvent {
            action: "customer.erase",
            object_type: "customer",
            object_id: Some(customer.to_string()),
            detail: json!({"counts": out.counts, "already_erased": already_erased}),
        };
        self.audit(actor, ev).await;
        let request = match out.recorded {
            Some(r) => {
                metrics::counter!("siyu_customers_erased_total").increment(1);
                r
            }
            None => {
                let earlier = self.store.privacy().requests(actor.tenant, customer).await?;
                earlier.into_iter().find(|r| r.kind == PrivacyRequestKind::Erasure).unwrap_or(request)
            }
        };
        Ok(ErasureReport { request, already_erased })
    }
}
