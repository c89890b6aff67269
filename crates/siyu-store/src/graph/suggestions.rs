//! Merge suggestions: pairs of customers that may be one person, for an operator to accept or reject.
//! A pair has one row per reason (`customer_a` < `customer_b`), so a rejected pair is not raised again.

use chrono::{DateTime, Utc};
use siyu_domain::graph::{SuggestionReason, SuggestionStatus};
use siyu_domain::id::{CustomerId, SuggestionId, TenantId, UserId};
use sqlx::types::Json;
use uuid::Uuid;

use super::Graph;
use crate::{StoreError, exec, on_pool};

#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionRecord {
    pub id: SuggestionId,
    pub a: CustomerId,
    pub b: CustomerId,
    pub reason: SuggestionReason,
    /// What raised it: the identifier kind and masked display, the event or order.
    pub evidence: serde_json::Value,
    pub status: SuggestionStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<UserId>,
}

impl SuggestionRecord {
    /// A new open suggestion for the pair, in either order.
    pub fn open(
        x: CustomerId,
        y: CustomerId,
        reason: SuggestionReason,
        evidence: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Self {
        let (a, b) = if x.0 <= y.0 { (x, y) } else { (y, x) };
        Self {
            id: SuggestionId::new(),
            a,
            b,
            reason,
            evidence,
            status: SuggestionStatus::Open,
            created_at: at,
            decided_at: None,
            decided_by: None,
        }
    }
}

/// `INSERT` of a suggestion; a pair already raised for the same reason is left as it is.
macro_rules! insert_suggestion {
    ($tenant:expr, $s:expr) => {{
        let s: &$crate::graph::SuggestionRecord = $s;
        sqlx::query(
            "INSERT INTO merge_suggestions (tenant_id, id, customer_a, customer_b, reason, evidence, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, customer_a, customer_b, reason) DO NOTHING",
        )
        .bind($tenant.0)
        .bind(s.id.0)
        .bind(s.a.0)
        .bind(s.b.0)
        .bind(s.reason.as_str())
        .bind(sqlx::types::Json(s.evidence.clone()))
        .bind(s.status.as_str())
        .bind(s.created_at)
    }};
}
pub(crate) use insert_suggestion;

type Row =
    (Uuid, Uuid, Uuid, String, Json<serde_json::Value>, String, DateTime<Utc>, Option<DateTime<Utc>>, Option<Uuid>);

const SELECT: &str = "SELECT id, customer_a, customer_b, reason, evidence, status, created_at, decided_at, decided_by \
     FROM merge_suggestions WHERE tenant_id = $1";

fn record(r: Row) -> Result<SuggestionRecord, StoreError> {
    Ok(SuggestionRecord {
        id: SuggestionId(r.0),
        a: CustomerId(r.1),
        b: CustomerId(r.2),
        reason: SuggestionReason::parse(&r.3)
            .ok_or_else(|| StoreError::Corrupt(format!("suggestion reason {}", r.3)))?,
        evidence: r.4.0,
        status: SuggestionStatus::parse(&r.5)
            .ok_or_else(|| StoreError::Corrupt(format!("suggestion status {}", r.5)))?,
        created_at: r.6,
        decided_at: r.7,
        decided_by: r.8.map(UserId),
    })
}

impl Graph<'_> {
    pub async fn add_suggestion(&self, tenant: TenantId, s: &SuggestionRecord) -> Result<(), StoreError> {
        exec!(self.0, p => insert_suggestion!(tenant, s).execute(p).await)?;
        Ok(())
    }

    pub async fn suggestion(&self, tenant: TenantId, id: SuggestionId) -> Result<SuggestionRecord, StoreError> {
        let sql = format!("{SELECT} AND id = $2");
        let row: Option<Row> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        record(row.ok_or(StoreError::NotFound)?)
    }

    /// Suggestions with `status`, newest first, at most `limit`, before `before` (paging).
    pub async fn suggestions(
        &self,
        tenant: TenantId,
        status: SuggestionStatus,
        before: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<SuggestionRecord>, StoreError> {
        let before_clause = if before.is_some() { "AND created_at < $4" } else { "AND $4 IS NULL" };
        let sql = format!("{SELECT} AND status = $2 {before_clause} ORDER BY created_at DESC, id DESC LIMIT $3");
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(status.as_str()).bind(limit).bind(before).fetch_all(p).await)?;
        rows.into_iter().map(record).collect()
    }

    /// Open suggestions involving `customer`.
    pub async fn suggestions_of(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<SuggestionRecord>, StoreError> {
        let sql = format!(
            "{SELECT} AND status = 'open' AND (customer_a = $2 OR customer_b = $2) ORDER BY created_at DESC LIMIT 50"
        );
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        rows.into_iter().map(record).collect()
    }

    pub async fn count_suggestions(&self, tenant: TenantId, status: SuggestionStatus) -> Result<i64, StoreError> {
        let row: (i64,) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(*) FROM merge_suggestions WHERE tenant_id = $1 AND status = $2")
            .bind(tenant.0).bind(status.as_str()).fetch_one(p).await)?;
        Ok(row.0)
    }

    /// Records the operator's decision on an open suggestion; `false` when it was no longer open.
    pub async fn decide_suggestion(
        &self,
        tenant: TenantId,
        id: SuggestionId,
        status: SuggestionStatus,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE merge_suggestions SET status = $3, decided_by = $4, decided_at = $5 \
             WHERE tenant_id = $1 AND id = $2 AND status = 'open'")
            .bind(tenant.0).bind(id.0).bind(status.as_str()).bind(by.0).bind(at).execute(p).await)?;
        Ok(n > 0)
    }
}
