//! Privacy (PIPL): consents with their append-only history, the privacy requests carried out, the erasure
//! mark of customers, and the erasure itself (`privacy/erasure.rs`: one transaction, a list of per-table
//! statements).
//!
//! Also the reads an access export needs that no other repository has (a customer's tag history).

mod erasure;

use chrono::{DateTime, Utc};
use serde_json::Value;
use siyu_domain::id::{CustomerId, PrivacyRequestId, TagId, TenantId, UserId};
use siyu_domain::privacy::{
    Consent, ConsentChange, ConsentPurpose, ConsentSource, ConsentStatus, PrivacyRequest, PrivacyRequestKind,
};
use siyu_domain::timeline::TimelineEntry;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::OptionExt;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::statements::insert_timeline;
use crate::{BackendKind, Store, StoreError, exec, in_tx, on_pool};

pub use erasure::{ERASURE_STEPS, Erasure, ErasureOutcome, ErasureStep};

/// The repository of consents, privacy requests and erasures (`store.privacy()`).
pub struct Privacy<'a>(pub(crate) &'a Store);

impl Store {
    pub fn privacy(&self) -> Privacy<'_> {
        Privacy(self)
    }
}

/// One row of a customer's tag history (kept until the customer is erased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagHistoryEntry {
    pub tag_id: TagId,
    /// The tag's name at the time.
    pub tag_name: String,
    /// `add` or `remove`.
    pub op: String,
    pub actor_id: Option<UserId>,
    /// `manual`, `bulk`, `import`, `created`, ...
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ConsentRow {
    purpose: String,
    status: String,
    source: String,
    changed_by: Option<Uuid>,
    changed_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: Uuid,
    purpose: String,
    from_status: String,
    to_status: String,
    source: String,
    actor_id: Option<Uuid>,
    reason: String,
    at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: Uuid,
    customer_id: Uuid,
    kind: String,
    actor_id: Option<Uuid>,
    actor_name: String,
    at: DateTime<Utc>,
    detail: Json<Value>,
}

#[derive(sqlx::FromRow)]
struct TagHistoryRow {
    tag_id: Uuid,
    tag_name: String,
    op: String,
    actor_id: Option<Uuid>,
    reason: String,
    at: DateTime<Utc>,
}

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {v}"))
}

fn purpose(s: &str) -> Result<ConsentPurpose, StoreError> {
    ConsentPurpose::parse(s).ok_or_else(|| corrupt("consent purpose", s))
}

fn status(s: &str) -> Result<ConsentStatus, StoreError> {
    ConsentStatus::parse(s).ok_or_else(|| corrupt("consent status", s))
}

fn source(s: &str) -> Result<ConsentSource, StoreError> {
    ConsentSource::parse(s).ok_or_else(|| corrupt("consent source", s))
}

impl TryFrom<ConsentRow> for Consent {
    type Error = StoreError;
    fn try_from(r: ConsentRow) -> Result<Self, StoreError> {
        Ok(Consent {
            purpose: purpose(&r.purpose)?,
            status: status(&r.status)?,
            source: Some(source(&r.source)?),
            changed_at: Some(r.changed_at),
            changed_by: r.changed_by.map(UserId),
        })
    }
}

impl TryFrom<ChangeRow> for ConsentChange {
    type Error = StoreError;
    fn try_from(r: ChangeRow) -> Result<Self, StoreError> {
        Ok(ConsentChange {
            id: r.id,
            purpose: purpose(&r.purpose)?,
            from: status(&r.from_status)?,
            to: status(&r.to_status)?,
            source: source(&r.source)?,
            actor_id: r.actor_id.map(UserId),
            reason: r.reason,
            at: r.at,
        })
    }
}

impl TryFrom<RequestRow> for PrivacyRequest {
    type Error = StoreError;
    fn try_from(r: RequestRow) -> Result<Self, StoreError> {
        Ok(PrivacyRequest {
            id: PrivacyRequestId(r.id),
            customer_id: CustomerId(r.customer_id),
            kind: PrivacyRequestKind::parse(&r.kind).ok_or_else(|| corrupt("privacy request kind", &r.kind))?,
            actor_id: r.actor_id.map(UserId),
            actor_name: r.actor_name,
            at: r.at,
            detail: r.detail.0,
        })
    }
}

/// `INSERT` of one consent history row (`$c: &ConsentChange`) for `$customer`.
macro_rules! insert_change {
    ($tenant:expr, $customer:expr, $c:expr) => {{
        let c: &siyu_domain::privacy::ConsentChange = $c;
        sqlx::query(
            "INSERT INTO consent_history (tenant_id, id, customer_id, purpose, from_status, to_status, source, actor_id, \
             reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind($tenant.0)
        .bind(c.id)
        .bind($customer.0)
        .bind(c.purpose.as_str())
        .bind(c.from.as_str())
        .bind(c.to.as_str())
        .bind(c.source.as_str())
        .bind(c.actor_id.map(|a| a.0))
        .bind(c.reason.clone())
        .bind(c.at)
    }};
}
pub(crate) use insert_change;

/// Sets the current consent to `$c.to`, but only while the customer is not erased and a stored status is
/// still `$c.from` (a purpose without a row takes any change). Affects one row, or none when either moved.
macro_rules! set_consent {
    ($tenant:expr, $customer:expr, $c:expr) => {{
        let c: &siyu_domain::privacy::ConsentChange = $c;
        sqlx::query(
            "INSERT INTO consents (tenant_id, customer_id, purpose, status, source, changed_by, changed_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM customers c \
             WHERE c.tenant_id = $1 AND c.id = $2 AND c.erased_at IS NULL) \
             ON CONFLICT (tenant_id, customer_id, purpose) DO UPDATE SET status = excluded.status, \
             source = excluded.source, changed_by = excluded.changed_by, changed_at = excluded.changed_at \
             WHERE consents.status = $8",
        )
        .bind($tenant.0)
        .bind($customer.0)
        .bind(c.purpose.as_str())
        .bind(c.to.as_str())
        .bind(c.source.as_str())
        .bind(c.actor_id.map(|a| a.0))
        .bind(c.at)
        .bind(c.from.as_str())
    }};
}
pub(crate) use set_consent;

/// `INSERT` of one privacy request row (`$r: &PrivacyRequest`).
macro_rules! insert_request {
    ($tenant:expr, $r:expr) => {{
        let r: &siyu_domain::privacy::PrivacyRequest = $r;
        sqlx::query(
            "INSERT INTO privacy_requests (tenant_id, id, customer_id, kind, actor_id, actor_name, at, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($tenant.0)
        .bind(r.id.0)
        .bind(r.customer_id.0)
        .bind(r.kind.as_str())
        .bind(r.actor_id.map(|a| a.0))
        .bind(r.actor_name.clone())
        .bind(r.at)
        .bind(sqlx::types::Json(r.detail.clone()))
    }};
}
pub(crate) use insert_request;

impl Privacy<'_> {
    /// When the customer was erased (`None` while it is not); `NotFound` for a missing customer.
    pub async fn erased_at(&self, tenant: TenantId, customer: CustomerId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(Option<DateTime<Utc>>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT erased_at FROM customers WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(customer.0).fetch_optional(p).await)?;
        Ok(row.found()?.0)
    }

    /// The stored consents of a customer (purposes without a record are absent: see `Consent::all_of`).
    pub async fn consents(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<Consent>, StoreError> {
        let rows: Vec<ConsentRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT purpose, status, source, changed_by, changed_at FROM consents \
             WHERE tenant_id = $1 AND customer_id = $2 ORDER BY purpose")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Which of `customers` have granted `purpose` (no record is not a grant).
    pub async fn granted(
        &self,
        tenant: TenantId,
        purpose: ConsentPurpose,
        customers: &[CustomerId],
    ) -> Result<Vec<CustomerId>, StoreError> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT customer_id FROM consents WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND purpose = ").bind(Arg::Text(purpose.as_str().into()));
        sql.push(" AND status = 'granted' AND customer_id IN ").bind_list(customers.iter().map(|c| c.0));
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| CustomerId(r.0)).collect())
    }

    /// A customer's consent changes, newest first.
    pub async fn consent_history(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<ConsentChange>, StoreError> {
        let rows: Vec<ChangeRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, purpose, from_status, to_status, source, actor_id, reason, at FROM consent_history \
             WHERE tenant_id = $1 AND customer_id = $2 ORDER BY at DESC, id DESC")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Applies one consent change with its history row and timeline entry in one transaction. Answers
    /// `Conflict("consents_changed")` and writes nothing when the customer was erased or the stored status is
    /// no longer `change.from`.
    pub async fn change_consent(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        change: &ConsentChange,
        timeline: &TimelineEntry,
    ) -> Result<(), StoreError> {
        let postgres = self.0.kind() == BackendKind::Postgres;
        in_tx!(self.0, tx => {
            if postgres {
                // Waits for an erasure in progress (it holds the row FOR UPDATE), so the check below sees it.
                sqlx::query("SELECT 1 FROM customers WHERE tenant_id = $1 AND id = $2 FOR SHARE")
                    .bind(tenant.0).bind(customer.0).execute(&mut *tx).await?;
            }
            if set_consent!(tenant, customer, change).execute(&mut *tx).await?.rows_affected() == 0 {
                return Err(StoreError::Conflict("consents_changed".into()));
            }
            insert_change!(tenant, customer, change).execute(&mut *tx).await?;
            insert_timeline!(tenant, timeline).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Records a privacy request that was carried out (an access export; erasures record theirs in their
    /// own transaction).
    pub async fn record_request(&self, tenant: TenantId, r: &PrivacyRequest) -> Result<(), StoreError> {
        exec!(self.0, p => insert_request!(tenant, r).execute(p).await)?;
        Ok(())
    }

    /// A customer's privacy requests, newest first.
    pub async fn requests(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<PrivacyRequest>, StoreError> {
        let rows: Vec<RequestRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, customer_id, kind, actor_id, actor_name, at, detail FROM privacy_requests \
             WHERE tenant_id = $1 AND customer_id = $2 ORDER BY id DESC")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// A customer's tag history, oldest first.
    pub async fn tag_history(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<TagHistoryEntry>, StoreError> {
        let rows: Vec<TagHistoryRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT tag_id, tag_name, op, actor_id, reason, at FROM tag_history \
             WHERE tenant_id = $1 AND customer_id = $2 ORDER BY at, id")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| TagHistoryEntry {
                tag_id: TagId(r.tag_id),
                tag_name: r.tag_name,
                op: r.op,
                actor_id: r.actor_id.map(UserId),
                reason: r.reason,
                at: r.at,
            })
            .collect())
    }
}
