//! Scheduled audience refresh ("定时更新的广告人群包"): a segment's ad audience file (see `audience.rs`)
//! regenerated every few hours and kept as the latest snapshot, sealed with the tenant key, for an ad-ops
//! member or an ad platform pulling it with an API token. Each run records its counts and how many hashes
//! entered and left since the previous snapshot.
//!
//! A run acts as the sync's creator with their access as it is then (`job_actor`): a creator who was
//! disabled, removed or lost `customers_export` makes the run fail, and the sync is disabled with the
//! error in its history. A dynamic segment is recomputed first. Runs are claimed by compare-and-set on
//! `next_run_at` under a lease, so two workers never run one sync at once. An erased customer has no phone,
//! openid or consent left: the next run drops their hashes (the snapshot holds no customer id).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use siyu_domain::access::Permission;
use siyu_domain::audience::{self, AudienceCounts, AudienceSync, AudienceSyncRun, SyncKey, check_every_hours};
use siyu_domain::id::{AudienceSyncId, SegmentId, TenantId, UserId};
use siyu_domain::segment::{ChangeReason, SegmentKind, check};
use siyu_domain::tenancy::TenantStatus;
use siyu_store::audience::Finished;
use tokio::sync::mpsc;

use super::AudienceKey;
use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Runs shown with each sync.
const HISTORY: i64 = 10;
/// The shortest lease a run holds (a big segment's file takes a while); the worker's lease when longer.
const MIN_LEASE: Duration = Duration::minutes(10);

/// A sync to create.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAudienceSync {
    /// `phone` or `openid`.
    pub key: AudienceKey,
    /// Hours between runs, 1 to 168.
    pub every_hours: i64,
}

/// A sync as the API shows it, with its latest runs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AudienceSyncView {
    pub id: AudienceSyncId,
    pub segment_id: SegmentId,
    pub key: AudienceKey,
    pub every_hours: u32,
    /// `false` once a run found the creator without access; runs then stop.
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
    /// The member the runs act as.
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// SHA-256 (hex) of the latest snapshot; absent before the first successful run.
    pub sha256: Option<String>,
    /// The counts of the latest snapshot.
    pub last: Option<AudienceCounts>,
    /// The error code of the last run when it failed (`forbidden`, `invalid_definition`, ...).
    pub last_error: Option<String>,
    /// The latest runs, newest first (at most 10).
    pub runs: Vec<AudienceSyncRun>,
}

/// The latest snapshot of a sync.
#[derive(Debug, Clone)]
pub struct AudienceFile {
    /// A file name such as `audience-phone-<segment>.csv`.
    pub name: String,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

fn key_of(k: SyncKey) -> AudienceKey {
    match k {
        SyncKey::Phone => AudienceKey::Phone,
        SyncKey::Openid => AudienceKey::Openid,
    }
}

fn sync_key(k: AudienceKey) -> SyncKey {
    match k {
        AudienceKey::Phone => SyncKey::Phone,
        AudienceKey::Openid => SyncKey::Openid,
    }
}

fn view(s: AudienceSync, runs: Vec<AudienceSyncRun>) -> AudienceSyncView {
    AudienceSyncView {
        id: s.id,
        segment_id: s.segment_id,
        key: key_of(s.key),
        every_hours: s.every_hours,
        enabled: s.enabled,
        next_run_at: s.next_run_at,
        created_by: s.created_by,
        created_at: s.created_at,
        last_run_at: s.last_run_at,
        sha256: s.sha256,
        last: s.last,
        last_error: s.last_error,
        runs,
    }
}

/// Errors that mean the creator can no longer act: the sync stops.
fn lost_access(e: &AppError) -> bool {
    matches!(e, AppError::Forbidden | AppError::NotFound | AppError::TenantSuspended | AppError::Unauthenticated)
}

impl App {
    fn audience_lease(&self) -> DateTime<Utc> {
        self.now() + Duration::seconds(self.settings.worker.lease_secs).max(MIN_LEASE)
    }

    async fn audience_sync_view(&self, tenant: TenantId, s: AudienceSync) -> AppResult<AudienceSyncView> {
        let runs = self.store.audience().runs(tenant, s.id, HISTORY).await?;
        Ok(view(s, runs))
    }

    /// Schedules a segment's audience file every `every_hours` (1–168); the first run is due at once. Runs
    /// act as the caller.
    pub async fn create_audience_sync(
        &self,
        actor: &Actor,
        segment: SegmentId,
        input: NewAudienceSync,
    ) -> AppResult<AudienceSyncView> {
        actor.require(Permission::CustomersExport)?;
        actor.require(Permission::SegmentsManage)?;
        let seg = self.store.segments().get(actor.tenant, segment).await?;
        let every_hours = check_every_hours(input.every_hours)?;
        let now = self.now();
        let s = AudienceSync {
            id: AudienceSyncId::new(),
            segment_id: segment,
            key: sync_key(input.key),
            every_hours,
            enabled: true,
            next_run_at: now,
            lease_until: None,
            created_by: actor.user,
            created_at: now,
            last_run_at: None,
            sha256: None,
            last: None,
            last_error: None,
        };
        self.store.audience().insert(actor.tenant, &s).await?;
        let ev = AuditEvent {
            action: "segment.audience_sync_create",
            object_type: "segment",
            object_id: Some(segment.to_string()),
            detail: json!({"name": seg.name, "sync": s.id, "key": input.key, "every_hours": every_hours}),
        };
        self.audit(actor, ev).await;
        Ok(view(s, Vec::new()))
    }

    /// The syncs of a segment with their latest runs.
    pub async fn audience_syncs(&self, actor: &Actor, segment: SegmentId) -> AppResult<Vec<AudienceSyncView>> {
        actor.require(Permission::CustomersExport)?;
        self.store.segments().get(actor.tenant, segment).await?;
        let mut out = Vec::new();
        for s in self.store.audience().of_segment(actor.tenant, segment).await? {
            out.push(self.audience_sync_view(actor.tenant, s).await?);
        }
        Ok(out)
    }

    /// One sync with its latest runs.
    pub async fn audience_sync(&self, actor: &Actor, id: AudienceSyncId) -> AppResult<AudienceSyncView> {
        actor.require(Permission::CustomersExport)?;
        let s = self.store.audience().get(actor.tenant, id).await?;
        self.audience_sync_view(actor.tenant, s).await
    }

    /// Stops a sync and deletes its snapshot and history.
    pub async fn delete_audience_sync(&self, actor: &Actor, id: AudienceSyncId) -> AppResult<()> {
        actor.require(Permission::CustomersExport)?;
        actor.require(Permission::SegmentsManage)?;
        let s = self.store.audience().get(actor.tenant, id).await?;
        if !self.store.audience().delete(actor.tenant, id).await? {
            return Err(AppError::NotFound);
        }
        let ev = AuditEvent {
            action: "segment.audience_sync_delete",
            object_type: "segment",
            object_id: Some(s.segment_id.to_string()),
            detail: json!({"sync": id, "key": key_of(s.key)}),
        };
        self.audit(actor, ev).await;
        Ok(())
    }

    /// Runs a sync now (as its creator), whether due or not; the next run is due `every_hours` after this
    /// one. A failed run is in the returned history; `conflict` while another run holds it.
    pub async fn run_audience_sync(&self, actor: &Actor, id: AudienceSyncId) -> AppResult<AudienceSyncView> {
        actor.require(Permission::CustomersExport)?;
        actor.require(Permission::SegmentsManage)?;
        let tenant = actor.tenant;
        let s = self.store.audience().get(tenant, id).await?;
        if !self.store.audience().claim(tenant, id, s.next_run_at, self.now(), self.audience_lease()).await? {
            return Err(AppError::Conflict("this audience sync is running; try again shortly".into()));
        }
        self.run_claimed_audience_sync(tenant, &s).await?;
        let s = self.store.audience().get(tenant, id).await?;
        self.audience_sync_view(tenant, s).await
    }

    /// Runs every due, enabled sync of every active tenant once (the worker's step); returns how many ran.
    pub async fn sweep_audience_syncs(&self) -> AppResult<usize> {
        let mut n = 0;
        for tenant in self.store.tenants().list().await? {
            if tenant.status != TenantStatus::Active {
                continue;
            }
            let now = self.now();
            for s in self.store.audience().due(tenant.id, now).await? {
                if !self.store.audience().claim(tenant.id, s.id, s.next_run_at, now, self.audience_lease()).await? {
                    continue;
                }
                match self.run_claimed_audience_sync(tenant.id, &s).await {
                    Ok(()) => n += 1,
                    // The lease runs out and the sync is due again.
                    Err(e) => tracing::error!(sync = %s.id, error = ?e, "audience sync could not record its run"),
                }
            }
        }
        Ok(n)
    }

    /// One run of a claimed sync: its outcome, success or failure, is recorded with the lease released.
    async fn run_claimed_audience_sync(&self, tenant: TenantId, s: &AudienceSync) -> AppResult<()> {
        let at = self.now();
        let next_run_at = at + Duration::hours(i64::from(s.every_hours));
        let outcome: AppResult<Finished> = async {
            let (file, report) = self.audience_snapshot(tenant, s).await?;
            let keys = self.vault.keys(&self.store, tenant).await?;
            let previous = match self.store.audience().file(tenant, s.id).await? {
                Some(sealed) => keys.decrypt_bytes(&sealed)?,
                None => Vec::new(),
            };
            let (added, removed) = audience::diff(&previous, &file);
            let counts = AudienceCounts {
                members: report.members,
                rows: report.rows,
                without_consent: report.without_consent,
                without_key: report.without_key,
                added,
                removed,
            };
            let sha256 = hex::encode(Sha256::digest(&file));
            let sealed = keys.encrypt_bytes(&file)?;
            let run = AudienceSyncRun { at, counts, sha256: Some(sha256), error: None };
            Ok(Finished { run, sealed: Some(sealed), next_run_at, enabled: true })
        }
        .await;
        let finished = outcome.unwrap_or_else(|e| {
            let stop = lost_access(&e);
            tracing::warn!(sync = %s.id, error = ?e, stopped = stop, "audience sync run failed");
            let run = AudienceSyncRun {
                at,
                counts: AudienceCounts::default(),
                sha256: None,
                error: Some(e.code().name().into()),
            };
            Finished { run, sealed: None, next_run_at, enabled: s.enabled && !stop }
        });
        self.store.audience().finish(tenant, s.id, &finished).await?;
        metrics::counter!("siyu_audience_sync_runs_total", "outcome" => if finished.sealed.is_some() { "ok" } else { "failed" })
            .increment(1);
        Ok(())
    }

    /// The file a run makes: as the creator (their access now), after recomputing a dynamic segment.
    async fn audience_snapshot(
        &self,
        tenant: TenantId,
        s: &AudienceSync,
    ) -> AppResult<(Vec<u8>, super::AudienceReport)> {
        let actor = self.job_actor(tenant, Some(s.created_by)).await?;
        actor.require(Permission::CustomersExport)?;
        let seg = self.store.segments().get(tenant, s.segment_id).await?;
        if seg.kind == SegmentKind::Dynamic && !seg.archived {
            let catalog = self.segment_catalog(tenant, Some(seg.id)).await?;
            let rule = check(&seg.definition, &catalog).map_err(AppError::InvalidDefinition)?;
            let reason = if seg.refreshed_at.is_none() { ChangeReason::Initial } else { ChangeReason::Refresh };
            self.materialise(tenant, seg.id, &rule, reason).await?;
        }
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(8);
        let collect = async move {
            let mut file = Vec::new();
            while let Some(chunk) = rx.recv().await {
                file.extend_from_slice(&chunk);
            }
            file
        };
        let (report, file) = tokio::join!(self.export_audience(&actor, seg.id, key_of(s.key), tx), collect);
        Ok((file, report?))
    }

    /// The latest snapshot (decrypted), audited as a download. Members whose data scope is narrower than the
    /// whole tenant may only fetch the syncs they created (the file covers the creator's scope).
    /// `not_found` before the first successful run.
    pub async fn audience_sync_file(&self, actor: &Actor, id: AudienceSyncId) -> AppResult<AudienceFile> {
        actor.require(Permission::CustomersExport)?;
        let s = self.store.audience().get(actor.tenant, id).await?;
        if actor.visibility.is_some() && actor.user != s.created_by {
            return Err(AppError::Forbidden);
        }
        let (Some(sealed), Some(sha256)) = (self.store.audience().file(actor.tenant, id).await?, s.sha256.clone())
        else {
            return Err(AppError::NotFound);
        };
        let bytes = self.vault.keys(&self.store, actor.tenant).await?.decrypt_bytes(&sealed)?;
        let rows = s.last.map_or(0, |c| c.rows);
        let ev = AuditEvent {
            action: "segment.audience_download",
            object_type: "segment",
            object_id: Some(s.segment_id.to_string()),
            detail: json!({"sync": id, "key": key_of(s.key), "sha256": sha256, "rows": rows}),
        };
        self.audit(actor, ev).await;
        Ok(AudienceFile { name: format!("audience-{}-{}.csv", s.key.as_str(), s.segment_id), sha256, bytes })
    }
}
