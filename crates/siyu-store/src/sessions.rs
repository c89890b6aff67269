//! Console sessions and login throttling. Both live in the database so any node can serve any request.

use chrono::{DateTime, Utc};
use siyu_domain::id::{TenantId, UserId};
use uuid::Uuid;

use crate::{Store, StoreError, exec, on_pool};

pub struct Sessions<'a>(pub(crate) &'a Store);

/// A stored console session. The cookie holds a secret; only its SHA-256 (`id_hash`) is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: Vec<u8>,
    pub user_id: UserId,
    pub tenant_id: Option<TenantId>,
    pub csrf_token: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: Vec<u8>,
    user_id: Uuid,
    tenant_id: Option<Uuid>,
    csrf_token: String,
    ip: Option<String>,
    user_agent: Option<String>,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<SessionRow> for SessionRecord {
    fn from(r: SessionRow) -> Self {
        SessionRecord {
            id_hash: r.id_hash,
            user_id: UserId(r.user_id),
            tenant_id: r.tenant_id.map(TenantId),
            csrf_token: r.csrf_token,
            ip: r.ip,
            user_agent: r.user_agent,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
        }
    }
}

impl Store {
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions(self)
    }
}

impl Sessions<'_> {
    pub async fn insert(&self, s: &SessionRecord) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, tenant_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&s.id_hash).bind(s.user_id.0).bind(s.tenant_id.map(|t| t.0)).bind(&s.csrf_token)
            .bind(&s.ip).bind(&s.user_agent).bind(s.created_at).bind(s.last_seen_at).bind(s.expires_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn get(&self, id_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<SessionRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id_hash, user_id, tenant_id, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at \
             FROM sessions WHERE id_hash = $1")
            .bind(id_hash).fetch_optional(p).await)?;
        Ok(row.map(Into::into))
    }

    /// Marks activity (sliding idle expiry).
    pub async fn touch(&self, id_hash: &[u8], at: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash).bind(at).execute(p).await)?;
        Ok(())
    }

    pub async fn set_tenant(&self, id_hash: &[u8], tenant: TenantId) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("UPDATE sessions SET tenant_id = $2 WHERE id_hash = $1")
            .bind(id_hash).bind(tenant.0).execute(p).await)?;
        Ok(())
    }

    pub async fn delete(&self, id_hash: &[u8]) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(p).await)?;
        Ok(())
    }

    /// Ends every session of an account (password reset, account disabled).
    pub async fn delete_for_user(&self, user: UserId) -> Result<u64, StoreError> {
        let done =
            exec!(self.0, p => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.0).execute(p).await)?;
        Ok(done)
    }

    pub async fn purge_expired(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = exec!(self.0, p => sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR last_seen_at < $2")
            .bind(now).bind(idle_before).execute(p).await)?;
        Ok(done)
    }

    /// Counts a failed login for `key` in a fixed window starting at the first failure; returns the count.
    pub async fn record_failure(
        &self,
        key: &str,
        now: DateTime<Utc>,
        window_start_before: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row: (i64,) = on_pool!(self.0, p => sqlx::query_as(
            "INSERT INTO login_throttle (key, failures, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.window_start < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
               window_start = CASE WHEN login_throttle.window_start < $3 THEN $2 ELSE login_throttle.window_start END \
             RETURNING failures")
            .bind(key).bind(now).bind(window_start_before).fetch_one(p).await)?;
        Ok(row.0)
    }

    /// Failures for `key` in its current window, and when that window started.
    pub async fn failures(
        &self,
        key: &str,
        window_start_before: DateTime<Utc>,
    ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
        let row: Option<(i64, DateTime<Utc>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT failures, window_start FROM login_throttle WHERE key = $1 AND window_start >= $2")
            .bind(key).bind(window_start_before).fetch_optional(p).await)?;
        Ok(row)
    }

    pub async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(key).execute(p).await)?;
        Ok(())
    }
}
