//! Uploaded files between the steps of an import (upload → mapping → preview → run → import job).
//!
//! They live in the database, not on a node's disk, so any `siyu serve` node can show the next step and
//! any `siyu worker` can run the import. The store keeps the bytes it is given (the app encrypts them).

use chrono::{DateTime, Utc};
use siyu_domain::id::{TenantId, UploadId, UserId};
use uuid::Uuid;

use crate::error::OptionExt;
use crate::{Store, StoreError, exec, on_pool};

pub struct Uploads<'a>(pub(crate) &'a Store);

/// One stored upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: UploadId,
    /// Who uploaded it: the only member who may use it.
    pub user_id: UserId,
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The size of the original file (the stored bytes may be larger once encrypted).
    pub size: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct UploadRow {
    id: Uuid,
    user_id: Uuid,
    filename: String,
    content_type: String,
    bytes: Vec<u8>,
    size: i64,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<UploadRow> for Upload {
    fn from(r: UploadRow) -> Self {
        Upload {
            id: UploadId(r.id),
            user_id: UserId(r.user_id),
            filename: r.filename,
            content_type: r.content_type,
            bytes: r.bytes,
            size: r.size,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

impl Store {
    pub fn uploads(&self) -> Uploads<'_> {
        Uploads(self)
    }
}

impl Uploads<'_> {
    pub async fn insert(&self, tenant: TenantId, u: &Upload) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO uploads (tenant_id, id, user_id, filename, content_type, bytes, size, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(tenant.0).bind(u.id.0).bind(u.user_id.0).bind(&u.filename).bind(&u.content_type).bind(&u.bytes)
            .bind(u.size).bind(u.created_at).bind(u.expires_at)
            .execute(p).await)?;
        Ok(())
    }

    /// The upload with its bytes; `NotFound` when it is unknown in this tenant (expired ones are returned
    /// until purged: callers compare `expires_at` with their clock).
    pub async fn get(&self, tenant: TenantId, id: UploadId) -> Result<Upload, StoreError> {
        let row: Option<UploadRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, user_id, filename, content_type, bytes, size, created_at, expires_at FROM uploads \
             WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        Ok(row.found()?.into())
    }

    /// Removes an upload; `false` when it was already gone.
    pub async fn delete(&self, tenant: TenantId, id: UploadId) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query("DELETE FROM uploads WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).execute(p).await)?;
        Ok(n > 0)
    }

    /// Removes every upload (of any tenant) that expired before `now`; returns how many. A maintenance
    /// sweep, like claiming jobs, and so the one query here across tenants.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let n = exec!(self.0, p => sqlx::query("DELETE FROM uploads WHERE expires_at < $1")
            .bind(now).execute(p).await)?;
        Ok(n)
    }
}
