//! Delivering outbox rows that leave the database (webhooks) and what comes back from a delivery.
//!
//! A dispatcher claims a pending row before it calls out (`claim_outbox`: the row's `next_attempt_at` moves
//! past a lease, so a second dispatcher skips it), then either finishes it (`finish_with_event`: the row
//! `sent` or `failed` and, for sends and webhooks, a `message_sent` / `message_failed` timeline entry in the
//! same transaction) or schedules the next attempt (`retry_outbox`). Failed rows are the dead letters an
//! operator lists and puts back in the queue by hand (`requeue`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use siyu_domain::id::{CustomerId, JourneyId, TenantId};
use siyu_domain::timeline::TimelineEntry;
use sqlx::types::Json;
use uuid::Uuid;

use super::{Journeys, OutboxItem};
use crate::statements::insert_timeline;
use crate::{StoreError, exec, in_tx, on_pool};

/// `UPDATE` marking one outbox row done (`sent`) or `failed` with what happened (as `finish_outbox` does).
macro_rules! finish_outbox_stmt {
    ($tenant:expr, $id:expr, $status:expr, $result:expr, $at:expr) => {
        sqlx::query(
            "UPDATE outbox SET status = $3, result = $4, sent_at = $5, attempts = attempts + 1 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind($tenant.0)
        .bind($id)
        .bind($status)
        .bind(sqlx::types::Json($result))
        .bind($at)
    };
}
pub(crate) use finish_outbox_stmt;

/// A failed outbox row, as the dead-letter list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub id: Uuid,
    pub journey_id: JourneyId,
    pub journey_name: Option<String>,
    pub customer_id: CustomerId,
    pub node: String,
    pub action: Value,
    pub attempts: i64,
    pub result: Option<Value>,
    pub failed_at: Option<DateTime<Utc>>,
}

type DeadRow = (Uuid, Uuid, Option<String>, Uuid, String, Json<Value>, i64, Option<Json<Value>>, Option<DateTime<Utc>>);

impl Journeys<'_> {
    /// Takes a pending, due row for one delivery attempt: moves its next attempt to `lease_until`, so no other
    /// dispatcher takes it meanwhile. Returns the attempts made so far, or `None` when it is not there to take.
    pub async fn claim_outbox(
        &self,
        tenant: TenantId,
        id: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64,)> = on_pool!(self.0, p => sqlx::query_as(
            "UPDATE outbox SET next_attempt_at = $4 WHERE tenant_id = $1 AND id = $2 AND status = 'pending' \
             AND next_attempt_at <= $3 RETURNING attempts")
            .bind(tenant.0).bind(id).bind(now).bind(lease_until).fetch_optional(p).await)?;
        Ok(row.map(|r| r.0))
    }

    /// Counts a failed attempt and keeps the row pending until `next_attempt_at`, with the last error.
    pub async fn retry_outbox(
        &self,
        tenant: TenantId,
        id: Uuid,
        next_attempt_at: DateTime<Utc>,
        result: &Value,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $3, result = $4 \
             WHERE tenant_id = $1 AND id = $2 AND status = 'pending'")
            .bind(tenant.0).bind(id).bind(next_attempt_at).bind(Json(result)).execute(p).await)?;
        Ok(())
    }

    /// Marks an outbox row `sent` or `failed` (as `finish_outbox`) and appends `event` to the customer's
    /// timeline, together.
    pub async fn finish_with_event(
        &self,
        tenant: TenantId,
        id: Uuid,
        status: &str,
        result: &Value,
        event: Option<&TimelineEntry>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self.0, tx => {
            finish_outbox_stmt!(tenant, id, status, result, at).execute(&mut *tx).await?;
            if let Some(e) = event {
                insert_timeline!(tenant, e).execute(&mut *tx).await?;
            }
            Ok::<(), StoreError>(())
        })
    }

    /// Records a sandbox delivery (once per dedupe key), marks its outbox row sent and appends `event` to the
    /// customer's timeline, together (as `deliver_to_sandbox`, plus the event).
    pub async fn deliver_to_sandbox_with_event(
        &self,
        tenant: TenantId,
        item: &OutboxItem,
        channel: &str,
        body: &str,
        event: &TimelineEntry,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_tx!(self.0, tx => {
            let new = sqlx::query("INSERT INTO sandbox_messages (tenant_id, id, dedupe_key, customer_id, channel, body, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, dedupe_key) DO NOTHING")
                .bind(tenant.0).bind(Uuid::now_v7()).bind(&item.dedupe_key).bind(item.customer_id.0).bind(channel)
                .bind(body).bind(at).execute(&mut *tx).await?.rows_affected();
            sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $3, attempts = attempts + 1 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0).bind(item.id).bind(at).execute(&mut *tx).await?;
            if new > 0 {
                insert_timeline!(tenant, event).execute(&mut *tx).await?;
            }
            Ok::<(), StoreError>(())
        })
    }

    /// Failed outbox rows (dead letters), most recent first.
    pub async fn dead_letters(&self, tenant: TenantId, limit: i64) -> Result<Vec<DeadLetter>, StoreError> {
        let rows: Vec<DeadRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT o.id, o.journey_id, j.name, o.customer_id, o.node, o.action, o.attempts, o.result, o.sent_at \
             FROM outbox o LEFT JOIN journeys j ON j.tenant_id = o.tenant_id AND j.id = o.journey_id \
             WHERE o.tenant_id = $1 AND o.status = 'failed' ORDER BY o.sent_at DESC, o.id DESC LIMIT $2")
            .bind(tenant.0).bind(limit).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| DeadLetter {
                id: r.0,
                journey_id: JourneyId(r.1),
                journey_name: r.2,
                customer_id: CustomerId(r.3),
                node: r.4,
                action: r.5.0,
                attempts: r.6,
                result: r.7.map(|j| j.0),
                failed_at: r.8,
            })
            .collect())
    }

    /// Puts a failed row back in the queue, due at `at` with a fresh set of attempts (its last error stays in
    /// `result` until the next attempt). `NotFound` unless the tenant has such a failed row.
    pub async fn requeue(&self, tenant: TenantId, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $3, sent_at = NULL \
             WHERE tenant_id = $1 AND id = $2 AND status = 'failed'")
            .bind(tenant.0).bind(id).bind(at).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// One outbox row's status and attempts.
    pub async fn outbox_status(&self, tenant: TenantId, id: Uuid) -> Result<(String, i64, Option<Value>), StoreError> {
        let row: Option<(String, i64, Option<Json<Value>>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT status, attempts, result FROM outbox WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id).fetch_optional(p).await)?;
        let (status, attempts, result) = row.ok_or(StoreError::NotFound)?;
        Ok((status, attempts, result.map(|j| j.0)))
    }

    /// The tenant's webhook signing secret, as stored (encrypted by the caller).
    pub async fn webhook_secret(&self, tenant: TenantId) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Vec<u8>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT secret_enc FROM webhook_secrets WHERE tenant_id = $1")
            .bind(tenant.0).fetch_optional(p).await)?;
        Ok(row.map(|r| r.0))
    }

    /// Stores the tenant's first secret; `false` (and nothing changed) when one exists already.
    pub async fn init_webhook_secret(
        &self,
        tenant: TenantId,
        secret_enc: &[u8],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "INSERT INTO webhook_secrets (tenant_id, secret_enc, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO NOTHING")
            .bind(tenant.0).bind(secret_enc).bind(at).execute(p).await)?;
        Ok(done > 0)
    }

    /// Replaces the tenant's secret (rotation).
    pub async fn set_webhook_secret(
        &self,
        tenant: TenantId,
        secret_enc: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO webhook_secrets (tenant_id, secret_enc, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET secret_enc = excluded.secret_enc, created_at = excluded.created_at")
            .bind(tenant.0).bind(secret_enc).bind(at).execute(p).await)?;
        Ok(())
    }
}
