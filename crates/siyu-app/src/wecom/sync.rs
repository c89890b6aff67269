//! The full sync of a corp as a resumable job: departments → staff → corp tags → customers (every staff
//! member with the customer-contact permission, 100 at a time, by cursor) → groups (by cursor). The job's
//! payload is its checkpoint, saved after every page, so a crash, a restart or a spent rate budget (the job
//! is put back in the queue for a minute) resumes where it stopped. Re-running it repairs drift: it is also
//! what the periodic reconciliation queues.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, TenantId};
use siyu_domain::job::{Job, JobStatus};

use super::contacts::SeenFollow;
use super::{CorpHandle, wecom_error};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The job kind of a full sync.
pub const SYNC_JOB: &str = "wecom_sync";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    #[default]
    Departments,
    Staff,
    Tags,
    Customers,
    Groups,
    Done,
}

/// What a sync did, also its checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncSummary {
    pub corp: CorpId,
    #[serde(default)]
    #[schema(value_type = String)]
    phase: Phase,
    #[serde(default)]
    pub departments: usize,
    #[serde(default)]
    pub staff: usize,
    #[serde(default)]
    pub tags: usize,
    /// (customer, staff) relations read.
    #[serde(default)]
    pub relations: usize,
    #[serde(default)]
    pub groups: usize,
    /// Index into the contact-enabled staff of the next batch of 100.
    #[serde(default)]
    staff_offset: usize,
    #[serde(default)]
    cursor: String,
    /// Times the job waited out WeCom's rate limit.
    #[serde(default)]
    pub deferred: usize,
}

impl App {
    /// Queues a full sync of a corp (or returns the one already queued or running).
    pub async fn queue_wecom_sync(&self, actor: &Actor, corp: CorpId) -> AppResult<Job> {
        actor.require(Permission::UsersManage)?;
        self.store.wecom().corp(actor.tenant, corp).await?;
        for job in self.store.jobs().recent(actor.tenant, 50).await? {
            let same = job.payload.get("corp").and_then(|c| c.as_str()) == Some(&corp.to_string());
            if job.kind == SYNC_JOB && same && matches!(job.status, JobStatus::Queued | JobStatus::Running) {
                return Ok(job);
            }
        }
        let payload =
            serde_json::to_value(SyncSummary { corp, ..SyncSummary::default() }).map_err(AppError::internal)?;
        let job = Job::queued(SYNC_JOB, payload, 5, actor.user, self.now());
        self.store.jobs().enqueue(actor.tenant, &job).await?;
        Ok(job)
    }

    pub(crate) async fn run_wecom_sync(&self, tenant: TenantId, job: &Job) -> AppResult<Option<serde_json::Value>> {
        let mut s: SyncSummary = serde_json::from_value(job.payload.clone()).map_err(AppError::internal)?;
        let handle = self.corp_handle(tenant, s.corp).await?;
        let lease = || self.now() + Duration::seconds(self.settings.worker.lease_secs);
        while s.phase != Phase::Done {
            match self.sync_step(tenant, &handle, &mut s).await {
                Ok(()) => {}
                Err(AppError::RateLimited { retry_after_secs }) => {
                    s.deferred += 1;
                    self.store.jobs().checkpoint(tenant, job.id, &to_value(&s)?).await?;
                    let at = self.now() + Duration::seconds(retry_after_secs as i64);
                    self.store.jobs().defer(tenant, job.id, at).await?;
                    tracing::info!(job = %job.id, "WeCom sync waits out the rate limit");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
            self.store.jobs().checkpoint(tenant, job.id, &to_value(&s)?).await?;
            let done = s.phase as i64;
            self.store.jobs().progress(tenant, job.id, done, 5, lease()).await?;
        }
        Ok(Some(to_value(&s)?))
    }

    async fn sync_step(&self, tenant: TenantId, handle: &CorpHandle, s: &mut SyncSummary) -> AppResult<()> {
        match s.phase {
            Phase::Departments => {
                s.departments = self.sync_departments(tenant, handle).await?;
                s.phase = Phase::Staff;
            }
            Phase::Staff => {
                s.staff = self.sync_staff(tenant, handle).await?;
                s.phase = Phase::Tags;
            }
            Phase::Tags => {
                s.tags = self.sync_corp_tags(tenant, handle).await?;
                s.phase = Phase::Customers;
            }
            Phase::Customers => {
                let mut staff: Vec<String> = self
                    .store
                    .wecom()
                    .staff(tenant, handle.corp)
                    .await?
                    .into_iter()
                    .filter(|m| m.contact_enabled)
                    .map(|m| m.userid)
                    .collect();
                staff.sort();
                let batch: Vec<String> = staff.iter().skip(s.staff_offset).take(100).cloned().collect();
                if batch.is_empty() {
                    s.phase = Phase::Groups;
                    s.cursor.clear();
                    return Ok(());
                }
                let page = handle
                    .client
                    .batch_get_by_user(&handle.contact, &batch, &s.cursor, 100)
                    .await
                    .map_err(wecom_error)?;
                let lookups = self.contact_lookups(tenant, handle).await?;
                for item in &page.external_contact_list {
                    let f = &item.follow_info;
                    let follow = SeenFollow {
                        userid: f.userid.clone(),
                        remark: f.remark.clone(),
                        description: f.description.clone(),
                        createtime: f.createtime,
                        add_way: f.add_way,
                        state: f.state.clone(),
                        tag_ids: f.tag_id.clone(),
                    };
                    let contact = &item.external_contact;
                    self.apply_contact(tenant, handle, &lookups, contact, &[follow], "wecom_sync").await?;
                    s.relations += 1;
                }
                if page.next_cursor.is_empty() {
                    s.staff_offset += batch.len();
                    s.cursor.clear();
                } else {
                    s.cursor = page.next_cursor;
                }
            }
            Phase::Groups => {
                let mut cursor = std::mem::take(&mut s.cursor);
                s.groups += self.sync_groups(tenant, handle, &mut cursor).await?;
                if cursor.is_empty() {
                    s.phase = Phase::Done;
                } else {
                    s.cursor = cursor;
                }
            }
            Phase::Done => {}
        }
        Ok(())
    }
}

fn to_value(s: &SyncSummary) -> AppResult<serde_json::Value> {
    serde_json::to_value(s).map_err(AppError::internal)
}
