//! Idempotency records for POSTs carrying an `Idempotency-Key`: the first request claims the key, later
//! ones with the same key replay the stored response (within the retention window).

use chrono::{DateTime, Utc};
use siyu_domain::id::TenantId;

use crate::{Store, StoreError, exec, on_pool};

pub struct Idempotency<'a>(pub(crate) &'a Store);

/// What to do with a request carrying a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use: run the request, then `complete` (or `release` on failure).
    Fresh,
    /// Already answered: replay this status and body.
    Replay { status: u16, body: Vec<u8> },
    /// The same key is being processed right now.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

impl Store {
    pub fn idempotency(&self) -> Idempotency<'_> {
        Idempotency(self)
    }
}

impl Idempotency<'_> {
    pub async fn claim(
        &self,
        tenant: TenantId,
        principal: &str,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        // An expired record is forgotten first, so the key can be used again.
        exec!(self.0, p => sqlx::query(
            "DELETE FROM idempotency WHERE tenant_id = $1 AND principal = $2 AND key = $3 AND created_at < $4")
            .bind(tenant.0).bind(principal).bind(key).bind(expired_before).execute(p).await)?;
        let inserted = exec!(self.0, p => sqlx::query(
            "INSERT INTO idempotency (tenant_id, principal, key, request_hash, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, principal, key) DO NOTHING")
            .bind(tenant.0).bind(principal).bind(key).bind(request_hash).bind(now).execute(p).await)?;
        if inserted == 1 {
            return Ok(Claim::Fresh);
        }
        let row: Option<(String, Option<i64>, Option<Vec<u8>>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT request_hash, status, response_body FROM idempotency WHERE tenant_id = $1 AND principal = $2 AND key = $3")
            .bind(tenant.0).bind(principal).bind(key).fetch_optional(p).await)?;
        Ok(match row {
            None => Claim::InFlight,
            Some((hash, _, _)) if hash != request_hash => Claim::Mismatch,
            Some((_, Some(status), body)) => {
                Claim::Replay { status: u16::try_from(status).unwrap_or(500), body: body.unwrap_or_default() }
            }
            Some((_, None, _)) => Claim::InFlight,
        })
    }

    pub async fn complete(
        &self,
        tenant: TenantId,
        principal: &str,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE idempotency SET status = $4, response_body = $5 WHERE tenant_id = $1 AND principal = $2 AND key = $3")
            .bind(tenant.0).bind(principal).bind(key).bind(i64::from(status)).bind(body).execute(p).await)?;
        Ok(())
    }

    /// Forgets a claim whose request failed unexpectedly, so a retry runs it again.
    pub async fn release(&self, tenant: TenantId, principal: &str, key: &str) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "DELETE FROM idempotency WHERE tenant_id = $1 AND principal = $2 AND key = $3 AND status IS NULL")
            .bind(tenant.0).bind(principal).bind(key).execute(p).await)?;
        Ok(())
    }
}
