//! Event sources and their write keys. Only a SHA-256 of each key is stored (with a display prefix); the
//! ingest endpoints look a key up with [`Sources::authenticate`] on every request, so that read goes through
//! the [`reader`](crate::reader) like the bearer-token check.

use chrono::{DateTime, Utc};
use siyu_domain::id::{SourceId, TenantId, UserId};
use siyu_domain::source::{Source, SourceKind};
use uuid::Uuid;

use crate::error::OptionExt;
use crate::reader::read_row;
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError, exec};

/// The repository of event sources (`store.sources()`).
pub struct Sources<'a>(pub(crate) &'a Store);

read_row! {
    #[derive(sqlx::FromRow)]
    struct SourceRow {
        id: Uuid,
        name: String,
        kind: String,
        key_prefix: String,
        created_by: Uuid,
        created_at: DateTime<Utc>,
        revoked_at: Option<DateTime<Utc>>,
    }
}

impl TryFrom<SourceRow> for Source {
    type Error = StoreError;

    fn try_from(r: SourceRow) -> Result<Self, StoreError> {
        Ok(Source {
            id: SourceId(r.id),
            name: r.name,
            kind: SourceKind::parse(&r.kind).ok_or_else(|| StoreError::Corrupt(format!("source kind {}", r.kind)))?,
            key_prefix: r.key_prefix,
            created_by: UserId(r.created_by),
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

impl Store {
    /// Event sources and their write keys.
    pub fn sources(&self) -> Sources<'_> {
        Sources(self)
    }
}

const SELECT: &str = "SELECT id, name, kind, key_prefix, created_by, created_at, revoked_at FROM event_sources";

impl Sources<'_> {
    /// Stores a new source with the SHA-256 of its write key. A key hash the tenant already has answers
    /// `Conflict("event_sources_key")` (PostgreSQL) or a conflict naming `key_hash` (SQLite); check with
    /// [`StoreError::is_conflict_on`]`("key_hash")` or `("event_sources_key")`.
    pub async fn create(&self, tenant: TenantId, s: &Source, key_hash: &[u8]) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO event_sources (tenant_id, id, name, kind, key_prefix, key_hash, created_by, created_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(tenant.0).bind(s.id.0).bind(&s.name).bind(s.kind.as_str()).bind(&s.key_prefix).bind(key_hash)
            .bind(s.created_by.0).bind(s.created_at).bind(s.revoked_at)
            .execute(p).await)?;
        Ok(())
    }

    /// Every source of the tenant, revoked ones included, newest first.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<Source>, StoreError> {
        let sql = Sql::with(
            &format!("{SELECT} WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC"),
            vec![Arg::Uuid(tenant.0)],
        );
        let rows: Vec<SourceRow> = self.0.read_all(sql).await?;
        rows.into_iter().map(Source::try_from).collect()
    }

    /// One source (revoked or not); [`StoreError::NotFound`] when the tenant has no such source.
    pub async fn get(&self, tenant: TenantId, id: SourceId) -> Result<Source, StoreError> {
        let sql = Sql::with(
            &format!("{SELECT} WHERE tenant_id = $1 AND id = $2"),
            vec![Arg::Uuid(tenant.0), Arg::Uuid(id.0)],
        );
        let row: Option<SourceRow> = self.0.read_optional(sql).await?;
        row.found()?.try_into()
    }

    /// Renames a source; [`StoreError::NotFound`] when the tenant has no such source.
    pub async fn rename(&self, tenant: TenantId, id: SourceId, name: &str) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "UPDATE event_sources SET name = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(name).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Revokes a source's write key from `at` on (idempotent: the first revocation time is kept). Its events
    /// stay. [`StoreError::NotFound`] when the tenant has no such source.
    pub async fn revoke(&self, tenant: TenantId, id: SourceId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "UPDATE event_sources SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(at).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// The live (unrevoked) source whose write key hashes to `key_hash`, if any, and whether its tenant is
    /// active. One indexed read on the hot path of every ingest request.
    pub async fn authenticate(&self, tenant: TenantId, key_hash: &[u8]) -> Result<Option<(Source, bool)>, StoreError> {
        read_row! {
            #[derive(sqlx::FromRow)]
            struct Row {
                #[sqlx(flatten)]
                source: SourceRow,
                tenant_status: String,
            }
        }
        let sql = Sql::with(
            "SELECT s.id, s.name, s.kind, s.key_prefix, s.created_by, s.created_at, s.revoked_at, \
             t.status AS tenant_status FROM event_sources s JOIN tenants t ON t.tenant_id = s.tenant_id \
             WHERE s.tenant_id = $1 AND s.key_hash = $2 AND s.revoked_at IS NULL",
            vec![Arg::Uuid(tenant.0), Arg::Bytes(key_hash.to_vec())],
        );
        let row: Option<Row> = self.0.read_optional(sql).await?;
        row.map(|r| Ok((Source::try_from(r.source)?, r.tenant_status == "active"))).transpose()
    }
}
