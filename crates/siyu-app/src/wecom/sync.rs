//! The full sync of a corp as a resumable job: departments → staff → corp tags → customers (every staff
//! member with the customer-contact permission, 100 at a time, by cursor) → reconcile (per staff member,
//! the relations siyu has that WeCom's `externalcontact/list` no longer does are ended, removed by
//! `reconcile`) → groups (by cursor). The job's payload is its checkpoint, saved after every page, so a
//! crash, a restart or a spent rate budget (the job is put back in the queue for a minute) resumes where it
//! stopped. Re-running it repairs drift, so it is also the periodic reconciliation: the worker queues it
//! for every corp whose last full sync finished `wecom.reconcile_hours` ago.

use std::collections::HashSet;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, TenantId, UserId};
use siyu_domain::job::{Job, JobStatus};
use siyu_domain::wecom::WecomStaff;

use super::contacts::SeenFollow;
use super::{CorpHandle, wecom_error};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The job kind of a full sync.
pub const SYNC_JOB: &str = "wecom_sync";

/// Relations younger than this are never ended by the reconciliation (they may postdate WeCom's list).
const RECENT_MINUTES: i64 = 10;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    #[default]
    Departments,
    Staff,
    Tags,
    Customers,
    /// Relations siyu has that WeCom no longer lists (a lost callback) are ended.
    Reconcile,
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
    /// Relations ended because WeCom no longer has them.
    #[serde(default)]
    pub ended: usize,
    /// Index into the contact-enabled staff of the next batch of 100.
    #[serde(default)]
    staff_offset: usize,
    /// Index into the contact-enabled staff of the next one to reconcile.
    #[serde(default)]
    reconcile_offset: usize,
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
        Ok(self.enqueue_wecom_sync(actor.tenant, corp, Some(actor.user)).await?.0)
    }

    /// The corp's queued or running sync, or a new one; and whether it is new.
    async fn enqueue_wecom_sync(&self, tenant: TenantId, corp: CorpId, by: Option<UserId>) -> AppResult<(Job, bool)> {
        for job in self.store.jobs().recent(tenant, 50).await? {
            let same = job.payload.get("corp").and_then(|c| c.as_str()) == Some(&corp.to_string());
            if job.kind == SYNC_JOB && same && matches!(job.status, JobStatus::Queued | JobStatus::Running) {
                return Ok((job, false));
            }
        }
        let payload =
            serde_json::to_value(SyncSummary { corp, ..SyncSummary::default() }).map_err(AppError::internal)?;
        let mut job = Job::queued(SYNC_JOB, payload, 6, UserId(uuid::Uuid::nil()), self.now());
        job.created_by = by;
        self.store.jobs().enqueue(tenant, &job).await?;
        Ok((job, true))
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
            self.store.jobs().progress(tenant, job.id, done, 6, lease()).await?;
        }
        self.store.wecom().set_synced(tenant, s.corp, self.now()).await?;
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
                let staff: Vec<String> =
                    self.contact_staff(tenant, handle).await?.into_iter().map(|m| m.userid).collect();
                let batch: Vec<String> = staff.iter().skip(s.staff_offset).take(100).cloned().collect();
                if batch.is_empty() {
                    s.phase = Phase::Reconcile;
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
            Phase::Reconcile => {
                let staff = self.contact_staff(tenant, handle).await?;
                let Some(member) = staff.get(s.reconcile_offset) else {
                    s.phase = Phase::Groups;
                    return Ok(());
                };
                let asked = self.now();
                let theirs: HashSet<String> = handle
                    .client
                    .external_contact_list(&handle.contact, &member.userid)
                    .await
                    .map_err(wecom_error)?
                    .into_iter()
                    .collect();
                let ours = self.store.wecom().followed_contacts(tenant, &handle.corp_id, member.user_id).await?;
                for (external_userid, customer, _) in ours.iter().filter(|(e, _, _)| !theirs.contains(e)) {
                    // A relation made around the list call (its callback already in) is not drift.
                    let follows = self.store.follows().of_customer(tenant, *customer).await?;
                    let recent = Duration::minutes(RECENT_MINUTES);
                    if follows.iter().any(|f| f.user_id == member.user_id && f.added_at > asked - recent) {
                        continue;
                    }
                    self.end_follow(tenant, handle, &member.userid, external_userid, "reconcile").await?;
                    s.ended += 1;
                }
                s.reconcile_offset += 1;
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

impl App {
    /// The corp's staff with the customer-contact permission, by userid.
    async fn contact_staff(&self, tenant: TenantId, handle: &CorpHandle) -> AppResult<Vec<WecomStaff>> {
        let mut staff: Vec<WecomStaff> =
            self.store.wecom().staff(tenant, handle.corp).await?.into_iter().filter(|m| m.contact_enabled).collect();
        staff.sort_by(|a, b| a.userid.cmp(&b.userid));
        Ok(staff)
    }

    /// Queues the periodic full sync (the reconciliation) of every corp whose last one finished more than
    /// `wecom.reconcile_hours` ago; 0 turns it off. Returns how many were queued.
    pub async fn schedule_wecom_reconciliation(&self) -> AppResult<usize> {
        let hours = self.settings.wecom.reconcile_hours;
        if hours == 0 {
            return Ok(0);
        }
        let before = self.now() - Duration::hours(i64::from(hours));
        let mut queued = 0;
        for (tenant, corp) in self.store.wecom().corps_due_for_sync(before).await? {
            if self.enqueue_wecom_sync(tenant, corp, None).await?.1 {
                queued += 1;
            }
        }
        Ok(queued)
    }
}

fn to_value(s: &SyncSummary) -> AppResult<serde_json::Value> {
    serde_json::to_value(s).map_err(AppError::internal)
}
