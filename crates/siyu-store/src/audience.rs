//! Audience syncs: a segment's ad audience file regenerated on a schedule, its latest snapshot (the bytes
//! the app sealed with the tenant key) and the history of runs. A run is claimed by moving `next_run_at`
//! to a lease only if it still holds the value the claimant read (compare-and-set), so two workers never
//! run one sync at once; a crashed run's lease runs out and the sync is due again.

use chrono::{DateTime, Utc};
use siyu_domain::audience::{AudienceCounts, AudienceSync, AudienceSyncRun, SyncKey};
use siyu_domain::id::{AudienceSyncId, SegmentId, TenantId, UserId};
use uuid::Uuid;

use crate::error::OptionExt;
use crate::{Store, StoreError, exec, in_tx, on_pool};

pub struct Audience<'a>(pub(crate) &'a Store);

impl Store {
    pub fn audience(&self) -> Audience<'_> {
        Audience(self)
    }
}

const COLUMNS: &str = "id, segment_id, key, every_hours, enabled, next_run_at, lease_until, created_by, created_at, \
     last_run_at, file_sha256, members, rows_written, without_consent, without_key, added, removed, last_error";

#[derive(sqlx::FromRow)]
struct SyncRow {
    id: Uuid,
    segment_id: Uuid,
    key: String,
    every_hours: i64,
    enabled: bool,
    next_run_at: DateTime<Utc>,
    lease_until: Option<DateTime<Utc>>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    last_run_at: Option<DateTime<Utc>>,
    file_sha256: Option<String>,
    members: Option<i64>,
    rows_written: Option<i64>,
    without_consent: Option<i64>,
    without_key: Option<i64>,
    added: Option<i64>,
    removed: Option<i64>,
    last_error: Option<String>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl TryFrom<SyncRow> for AudienceSync {
    type Error = StoreError;
    fn try_from(r: SyncRow) -> Result<Self, StoreError> {
        let key = SyncKey::parse(&r.key).ok_or_else(|| StoreError::Corrupt(format!("audience key {}", r.key)))?;
        let last = match (r.members, r.rows_written, r.without_consent, r.without_key, r.added, r.removed) {
            (Some(members), Some(rows), Some(without_consent), Some(without_key), Some(added), Some(removed)) => {
                Some(AudienceCounts {
                    members: count(members),
                    rows: count(rows),
                    without_consent: count(without_consent),
                    without_key: count(without_key),
                    added: count(added),
                    removed: count(removed),
                })
            }
            _ => None,
        };
        Ok(AudienceSync {
            id: AudienceSyncId(r.id),
            segment_id: SegmentId(r.segment_id),
            key,
            every_hours: u32::try_from(r.every_hours).unwrap_or(1),
            enabled: r.enabled,
            next_run_at: r.next_run_at,
            lease_until: r.lease_until,
            created_by: UserId(r.created_by),
            created_at: r.created_at,
            last_run_at: r.last_run_at,
            sha256: r.file_sha256,
            last,
            last_error: r.last_error,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RunRow {
    at: DateTime<Utc>,
    members: i64,
    rows_written: i64,
    without_consent: i64,
    without_key: i64,
    added: i64,
    removed: i64,
    sha256: Option<String>,
    error: Option<String>,
}

impl From<RunRow> for AudienceSyncRun {
    fn from(r: RunRow) -> Self {
        AudienceSyncRun {
            at: r.at,
            counts: AudienceCounts {
                members: count(r.members),
                rows: count(r.rows_written),
                without_consent: count(r.without_consent),
                without_key: count(r.without_key),
                added: count(r.added),
                removed: count(r.removed),
            },
            sha256: r.sha256,
            error: r.error,
        }
    }
}

/// How a run ended: its history row, and the new snapshot when it succeeded.
#[derive(Debug, Clone)]
pub struct Finished {
    pub run: AudienceSyncRun,
    /// The sealed file; `None` for a failed run (the previous snapshot stays).
    pub sealed: Option<Vec<u8>>,
    pub next_run_at: DateTime<Utc>,
    pub enabled: bool,
}

impl Audience<'_> {
    pub async fn insert(&self, tenant: TenantId, s: &AudienceSync) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO audience_syncs (tenant_id, id, segment_id, key, every_hours, enabled, next_run_at, created_by, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(tenant.0).bind(s.id.0).bind(s.segment_id.0).bind(s.key.as_str()).bind(i64::from(s.every_hours))
            .bind(s.enabled).bind(s.next_run_at).bind(s.created_by.0).bind(s.created_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn get(&self, tenant: TenantId, id: AudienceSyncId) -> Result<AudienceSync, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audience_syncs WHERE tenant_id = $1 AND id = $2");
        let row: Option<SyncRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.found()?.try_into()
    }

    /// The syncs of one segment, oldest first.
    pub async fn of_segment(&self, tenant: TenantId, segment: SegmentId) -> Result<Vec<AudienceSync>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audience_syncs WHERE tenant_id = $1 AND segment_id = $2 ORDER BY id");
        let rows: Vec<SyncRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(segment.0).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Enabled syncs of the tenant due at `now` and not held by a live lease, the longest due first.
    pub async fn due(&self, tenant: TenantId, now: DateTime<Utc>) -> Result<Vec<AudienceSync>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audience_syncs WHERE tenant_id = $1 AND next_run_at <= $2 AND enabled = $3 \
             AND (lease_until IS NULL OR lease_until < $2) ORDER BY next_run_at, id"
        );
        let rows: Vec<SyncRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(now).bind(true).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Takes the sync for one run until `lease`: only if `next_run_at` is still `seen` and no live lease
    /// holds it. `true` when this caller won.
    pub async fn claim(
        &self,
        tenant: TenantId,
        id: AudienceSyncId,
        seen: DateTime<Utc>,
        now: DateTime<Utc>,
        lease: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE audience_syncs SET next_run_at = $4, lease_until = $4 WHERE tenant_id = $1 AND id = $2 \
             AND next_run_at = $3 AND (lease_until IS NULL OR lease_until < $5)")
            .bind(tenant.0).bind(id.0).bind(seen).bind(lease).bind(now).execute(p).await)?;
        Ok(n == 1)
    }

    /// Records a run and releases the lease, in one transaction: the history row, the counts, and on success
    /// the new snapshot replacing the previous one.
    pub async fn finish(&self, tenant: TenantId, id: AudienceSyncId, f: &Finished) -> Result<(), StoreError> {
        let (t, r, c) = (tenant.0, &f.run, &f.run.counts);
        in_tx!(self.0, tx => {
            let n = if f.sealed.is_some() {
                sqlx::query(
                    "UPDATE audience_syncs SET next_run_at = $3, enabled = $4, lease_until = NULL, last_run_at = $5, \
                     file_sealed = $6, file_sha256 = $7, members = $8, rows_written = $9, without_consent = $10, \
                     without_key = $11, added = $12, removed = $13, last_error = NULL WHERE tenant_id = $1 AND id = $2")
                    .bind(t).bind(id.0).bind(f.next_run_at).bind(f.enabled).bind(r.at).bind(f.sealed.as_deref())
                    .bind(r.sha256.as_deref()).bind(int(c.members)).bind(int(c.rows)).bind(int(c.without_consent))
                    .bind(int(c.without_key)).bind(int(c.added)).bind(int(c.removed))
                    .execute(&mut *tx).await?.rows_affected()
            } else {
                sqlx::query(
                    "UPDATE audience_syncs SET next_run_at = $3, enabled = $4, lease_until = NULL, last_run_at = $5, \
                     last_error = $6 WHERE tenant_id = $1 AND id = $2")
                    .bind(t).bind(id.0).bind(f.next_run_at).bind(f.enabled).bind(r.at).bind(r.error.as_deref())
                    .execute(&mut *tx).await?.rows_affected()
            };
            if n == 0 {
                // Deleted (or its segment deleted) while it ran.
                return Err(StoreError::NotFound);
            }
            sqlx::query(
                "INSERT INTO audience_sync_runs (tenant_id, sync_id, id, at, members, rows_written, without_consent, \
                 without_key, added, removed, sha256, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                .bind(t).bind(id.0).bind(Uuid::now_v7()).bind(r.at).bind(int(c.members)).bind(int(c.rows))
                .bind(int(c.without_consent)).bind(int(c.without_key)).bind(int(c.added)).bind(int(c.removed))
                .bind(r.sha256.as_deref()).bind(r.error.as_deref())
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The latest snapshot as stored (sealed); `None` before the first successful run.
    pub async fn file(&self, tenant: TenantId, id: AudienceSyncId) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Option<Vec<u8>>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT file_sealed FROM audience_syncs WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        Ok(row.found()?.0)
    }

    /// The latest runs, newest first.
    pub async fn runs(
        &self,
        tenant: TenantId,
        id: AudienceSyncId,
        limit: i64,
    ) -> Result<Vec<AudienceSyncRun>, StoreError> {
        let rows: Vec<RunRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT at, members, rows_written, without_consent, without_key, added, removed, sha256, error \
             FROM audience_sync_runs WHERE tenant_id = $1 AND sync_id = $2 ORDER BY at DESC, id DESC LIMIT $3")
            .bind(tenant.0).bind(id.0).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Removes a sync with its snapshot and history; `false` when it was already gone.
    pub async fn delete(&self, tenant: TenantId, id: AudienceSyncId) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query("DELETE FROM audience_syncs WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).execute(p).await)?;
        Ok(n > 0)
    }
}
