//! Persisted WeCom callbacks (`wecom_callbacks`): written before WeCom gets its answer, deduplicated on the
//! event's key (WeCom retries repeat it), then claimed and processed by whoever gets there first (the
//! request's own task or a worker), callbacks carrying a welcome code first.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CallbackId, CorpId, TenantId};
use sqlx::types::Json;
use uuid::Uuid;

use super::Wecom;
use crate::{StoreError, exec, in_write_tx, on_pool};

/// A callback as received.
#[derive(Debug, Clone)]
pub struct NewCallback {
    pub id: CallbackId,
    pub corp: CorpId,
    pub dedupe_key: String,
    pub kind: String,
    /// 0 for a callback carrying a welcome code, 1 otherwise.
    pub priority: i64,
    /// The decrypted XML.
    pub body: String,
    /// The parsed event.
    pub event: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// A stored callback.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallbackRecord {
    pub id: Uuid,
    pub corp_row_id: Uuid,
    pub kind: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

const COLUMNS: &str = "id, corp_row_id, kind, body, status, attempts, received_at, processed_at, error";

/// The INSERT of one callback row (duplicates of its dedupe key do nothing).
macro_rules! insert_row {
    ($tenant:expr, $c:expr) => {{
        let (tenant, c): (TenantId, &NewCallback) = ($tenant, $c);
        sqlx::query(
            "INSERT INTO wecom_callbacks (tenant_id, id, corp_row_id, dedupe_key, kind, priority, body, event, \
             status, next_at, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9) \
             ON CONFLICT (tenant_id, corp_row_id, dedupe_key) DO NOTHING",
        )
        .bind(tenant.0)
        .bind(c.id.0)
        .bind(c.corp.0)
        .bind(c.dedupe_key.as_str())
        .bind(c.kind.as_str())
        .bind(c.priority)
        .bind(c.body.as_str())
        .bind(Json(c.event.clone()))
        .bind(c.at)
    }};
}

impl Wecom<'_> {
    /// Stores a callback; `false` when the same event was stored before (a WeCom retry).
    pub async fn insert_callback(&self, tenant: TenantId, c: &NewCallback) -> Result<bool, StoreError> {
        // One statement in autocommit: an explicit transaction would add two round trips.
        let n = exec!(self.0, p => insert_row!(tenant, c).execute(p).await)?;
        Ok(n == 1)
    }

    /// Stores callbacks of any tenants in one transaction (the inbox's group commit); for each, whether it was
    /// new (`false`: the same event was stored before, or earlier in `rows`).
    pub async fn insert_callbacks(&self, rows: &[(TenantId, &NewCallback)]) -> Result<Vec<bool>, StoreError> {
        let fresh = in_write_tx!(self.0, tx => {
            let mut fresh = Vec::with_capacity(rows.len());
            for (tenant, c) in rows {
                let n = insert_row!(*tenant, c).execute(&mut *tx).await?.rows_affected();
                fresh.push(n == 1);
            }
            fresh
        });
        Ok(fresh)
    }

    /// Claims one callback for processing until `lease_until`; `None` if someone else holds or did it.
    pub async fn claim_callback(
        &self,
        tenant: TenantId,
        id: CallbackId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<CallbackRecord>, StoreError> {
        let row: Option<CallbackRecord> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE wecom_callbacks SET status = 'running', lease_until = $4, attempts = attempts + 1 \
             WHERE tenant_id = $1 AND id = $2 AND next_at <= $3 \
             AND (status = 'pending' OR (status = 'running' AND lease_until < $3)) RETURNING {COLUMNS}")))
            .bind(tenant.0).bind(id.0).bind(now).bind(lease_until)
            .fetch_optional(p).await)?;
        Ok(row)
    }

    /// The ids of a tenant's due callbacks, welcome codes first, then in arrival order.
    pub async fn due_callbacks(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<CallbackId>, StoreError> {
        let rows: Vec<(i64, Uuid)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT priority, id FROM wecom_callbacks WHERE tenant_id = $1 AND status = 'pending' AND next_at <= $2 \
             UNION ALL SELECT priority, id FROM wecom_callbacks WHERE tenant_id = $1 AND status = 'running' \
             AND lease_until < $2 ORDER BY 1, 2 LIMIT $3")
            .bind(tenant.0).bind(now).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| CallbackId(r.1)).collect())
    }

    /// Marks a claimed callback done.
    pub async fn finish_callback(&self, tenant: TenantId, id: CallbackId, at: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE wecom_callbacks SET status = 'done', processed_at = $3, lease_until = NULL, error = NULL \
             WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(at).execute(p).await)?;
        Ok(())
    }

    /// Puts a claimed callback back for another try at `retry_at`, or fails it for good (`retry_at` None).
    pub async fn retry_callback(
        &self,
        tenant: TenantId,
        id: CallbackId,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (status, next) = match retry_at {
            Some(t) => ("pending", t),
            None => ("failed", at),
        };
        exec!(self.0, p => sqlx::query(
            "UPDATE wecom_callbacks SET status = $3, next_at = $4, error = $5, lease_until = NULL, \
             processed_at = CASE WHEN $3 = 'failed' THEN $6 ELSE NULL END WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(status).bind(next).bind(error).bind(at).execute(p).await)?;
        Ok(())
    }

    /// A corp's latest callbacks, newest first (the console's log).
    pub async fn recent_callbacks(
        &self,
        tenant: TenantId,
        corp: CorpId,
        limit: i64,
    ) -> Result<Vec<CallbackRecord>, StoreError> {
        let rows: Vec<CallbackRecord> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM wecom_callbacks WHERE tenant_id = $1 AND corp_row_id = $2 \
             ORDER BY id DESC LIMIT $3")))
            .bind(tenant.0).bind(corp.0).bind(limit).fetch_all(p).await)?;
        Ok(rows)
    }
}
