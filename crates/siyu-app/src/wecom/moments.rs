//! Customer moments (客户朋友圈, reference/wecom.md §4.7) as a resumable job: at its time the task is claimed
//! (`submitting`), `add_moment_task` called and its job id stored (`creating`); then the job polls
//! `get_moment_task_result`, putting itself back in the queue while WeCom is still at it, until the moment
//! exists (`published`, with what WeCom could not use of the visibility) or failed.
//!
//! Once only: a moment found `submitting` (the worker died around the call) is first looked for in WeCom's
//! list of the corp's moments (same text, created since the claim, not one of ours) and adopted; it is
//! submitted again only when WeCom has none ten minutes on (creation is asynchronous).
//!
//! Results: who published (`get_moment_task`), whom it reached (`get_moment_send_result`) and the comments
//! and likes (`get_moment_comments`), which land on the customers' timelines once each. The moment's job
//! pulls them on its own 1 h, 6 h, 24 h and 72 h after publishing (staff publish over the first hours,
//! customers react over days), then ends; an operator can pull them at any time as well.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, MomentId, TenantId};
use siyu_domain::job::Job;
use siyu_domain::wecom::moment::{
    Moment, MomentContent, MomentInteraction, MomentInvalid, MomentSender, MomentStatus, MomentVisibility,
};
use siyu_store::wecom::{MomentSet, NewInteraction};
use siyu_wecom::api::{ExternalContactRange, MomentListRequest, MomentTask, SenderList, Text, VisibleRange};
use siyu_wecom::{ErrorClass, WecomError};

use super::{CorpHandle, wecom_error};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The job kind of a moment.
pub const MOMENT_JOB: &str = "wecom_moment";
/// How often a moment being created is polled.
const POLL_SECS: i64 = 5;
/// When, after publishing, the job pulls a moment's results on its own.
const REFRESH_AFTER_HOURS: [i64; 4] = [1, 6, 24, 72];

/// The moment form.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MomentInput {
    pub corp: CorpId,
    pub name: String,
    pub content: MomentContent,
    #[serde(default)]
    pub visibility: MomentVisibility,
    /// When to post (default: now).
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// A moment with what it reached.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MomentView {
    #[serde(flatten)]
    pub moment: Moment,
    pub senders: Vec<MomentSender>,
    /// Staff who published it.
    pub published: usize,
    pub visible: i64,
    pub comments: i64,
    pub likes: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct MomentJob {
    moment: MomentId,
}

impl App {
    pub async fn create_moment(&self, actor: &Actor, input: &MomentInput) -> AppResult<MomentView> {
        actor.require(Permission::CustomersWrite)?;
        let wecom = self.store.wecom();
        wecom.corp(actor.tenant, input.corp).await.map_err(|_| AppError::invalid("corp", "unknown corp"))?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::invalid("name", "1 to 60 characters"));
        }
        input.content.validate().map_err(|(f, m)| AppError::invalid(f, m))?;
        super::live_codes::check_attachments(&input.content.attachments)?;
        for userid in &input.visibility.staff {
            if wecom.staff_by_userid(actor.tenant, input.corp, userid).await?.is_none() {
                return Err(AppError::invalid("staff", format!("unknown staff {userid}")));
            }
        }
        self.corp_tag_ids(actor.tenant, input.corp, &input.visibility).await?;
        let now = self.now();
        let moment = Moment {
            id: MomentId::new(),
            corp: input.corp,
            name: name.to_owned(),
            content: input.content.clone(),
            visibility: input.visibility.clone(),
            scheduled_at: input.scheduled_at.unwrap_or(now).max(now),
            status: MomentStatus::Scheduled,
            moment_id: None,
            invalid: None,
            error: None,
            created_at: now,
            submitted_at: None,
            published_at: None,
            results_at: None,
        };
        wecom.insert_moment(actor.tenant, &moment, Some(actor.user)).await?;
        let payload = serde_json::to_value(MomentJob { moment: moment.id }).map_err(AppError::internal)?;
        let job = Job::queued(MOMENT_JOB, payload, 1, actor.user, now);
        self.store.jobs().enqueue(actor.tenant, &job).await?;
        if moment.scheduled_at > now {
            self.store.jobs().defer(actor.tenant, job.id, moment.scheduled_at).await?;
        }
        self.moment(actor, moment.id).await
    }

    /// The WeCom corp tag ids of the visibility's tags; a tag not linked to a corp tag is refused.
    async fn corp_tag_ids(&self, tenant: TenantId, corp: CorpId, v: &MomentVisibility) -> AppResult<Vec<String>> {
        if v.tag_ids.is_empty() {
            return Ok(Vec::new());
        }
        let links = self.store.wecom().tag_links(tenant, corp).await?;
        v.tag_ids
            .iter()
            .map(|t| {
                links
                    .iter()
                    .find(|l| l.kind == "tag" && l.local_id == t.0)
                    .map(|l| l.wecom_id.clone())
                    .ok_or_else(|| AppError::invalid("tag_ids", format!("tag {t} is not a WeCom corp tag")))
            })
            .collect()
    }

    pub async fn moment(&self, actor: &Actor, id: MomentId) -> AppResult<MomentView> {
        actor.require(Permission::CustomersRead)?;
        let moment = self.store.wecom().moment(actor.tenant, id).await?;
        let senders = self.store.wecom().moment_senders(actor.tenant, id).await?;
        Ok(MomentView {
            published: senders.iter().filter(|s| s.published).count(),
            visible: senders.iter().map(|s| s.visible).sum(),
            comments: senders.iter().map(|s| s.comments).sum(),
            likes: senders.iter().map(|s| s.likes).sum(),
            senders,
            moment,
        })
    }

    pub async fn moments(&self, actor: &Actor) -> AppResult<Vec<MomentView>> {
        actor.require(Permission::CustomersRead)?;
        let mut out = Vec::new();
        for m in self.store.wecom().moments(actor.tenant, 100).await? {
            out.push(self.moment(actor, m.id).await?);
        }
        Ok(out)
    }

    /// Comments and likes, newest first.
    pub async fn moment_interactions(&self, actor: &Actor, id: MomentId) -> AppResult<Vec<MomentInteraction>> {
        actor.require(Permission::CustomersRead)?;
        self.store.wecom().moment(actor.tenant, id).await?;
        Ok(self.store.wecom().moment_interactions(actor.tenant, id, 500).await?)
    }

    /// Cancels a moment: not posted if it was not yet; staff who have not published it can no longer.
    pub async fn cancel_moment(&self, actor: &Actor, id: MomentId) -> AppResult<MomentView> {
        actor.require(Permission::CustomersWrite)?;
        let m = self.store.wecom().moment(actor.tenant, id).await?;
        let open = [MomentStatus::Scheduled, MomentStatus::Submitting, MomentStatus::Creating, MomentStatus::Published];
        let (wecom, set) = (self.store.wecom(), MomentSet::default());
        let moved = wecom.move_moment(actor.tenant, id, &open, MomentStatus::Cancelled, set, self.now());
        if !moved.await? {
            return Err(AppError::Conflict("status".into()));
        }
        if let Some(moment_id) = &m.moment_id {
            let handle = self.corp_handle(actor.tenant, m.corp).await?;
            handle.client.cancel_moment_task(&handle.contact, moment_id).await.map_err(wecom_error)?;
        }
        self.moment(actor, id).await
    }

    /// Pulls who published, whom it reached, and the comments and likes (new ones onto the timelines).
    pub async fn refresh_moment_results(&self, actor: &Actor, id: MomentId) -> AppResult<MomentView> {
        actor.require(Permission::CustomersRead)?;
        let m = self.store.wecom().moment(actor.tenant, id).await?;
        if m.moment_id.is_none() {
            return Err(AppError::Conflict("the moment is not in WeCom yet".into()));
        }
        let handle = self.corp_handle(actor.tenant, m.corp).await?;
        self.pull_moment_results(actor.tenant, &handle, &m).await?;
        self.moment(actor, id).await
    }

    /// Pulls a published moment's results into the store (see the module documentation).
    async fn pull_moment_results(&self, tenant: TenantId, handle: &CorpHandle, m: &Moment) -> AppResult<()> {
        let Some(moment_id) = m.moment_id.clone() else { return Ok(()) };
        let (client, creds) = (&handle.client, &handle.contact);
        let mut senders = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = client.get_moment_task(creds, &moment_id, &cursor, 1000).await.map_err(wecom_error)?;
            senders.extend(page.task_list.into_iter().map(|t| (t.userid, t.publish_status)));
            if page.next_cursor.is_empty() {
                break;
            }
            cursor = page.next_cursor;
        }
        let (mut visible, mut interactions) = (Vec::new(), Vec::new());
        for (userid, _) in senders.iter().filter(|s| s.1 == 1) {
            let mut cursor = String::new();
            loop {
                let page = client.get_moment_send_result(creds, &moment_id, userid, &cursor, 5000).await;
                let page = page.map_err(wecom_error)?;
                visible.extend(page.customer_list.into_iter().map(|c| (userid.clone(), c.external_userid)));
                if page.next_cursor.is_empty() {
                    break;
                }
                cursor = page.next_cursor;
            }
            let c = client.get_moment_comments(creds, &moment_id, userid).await.map_err(wecom_error)?;
            let tagged =
                c.comment_list.into_iter().map(|i| (false, i)).chain(c.like_list.into_iter().map(|i| (true, i)));
            interactions.extend(tagged.map(|(like, i)| NewInteraction {
                userid: userid.clone(),
                like,
                external_userid: i.external_userid,
                staff_userid: i.userid,
                create_time: i.create_time,
            }));
        }
        let wecom = self.store.wecom();
        wecom.save_moment_results(tenant, m, &handle.corp_id, &senders, &visible, &interactions, self.now()).await?;
        Ok(())
    }

    /// The next time after now the job pulls `m`'s results, if any is left.
    fn next_refresh(&self, m: &Moment) -> Option<DateTime<Utc>> {
        let published = m.published_at?;
        REFRESH_AFTER_HOURS.iter().map(|h| published + Duration::hours(*h)).find(|at| *at > self.now())
    }

    /// A published moment's job: pulls the results when one of their times has come, then waits for the next
    /// one or ends.
    async fn refresh_on_schedule(
        &self,
        tenant: TenantId,
        job: &Job,
        handle: &CorpHandle,
        m: &Moment,
    ) -> AppResult<Option<serde_json::Value>> {
        let first = m.published_at.map(|at| at + Duration::hours(REFRESH_AFTER_HOURS[0]));
        if first.is_some_and(|first| self.now() >= first) {
            let wait = match self.pull_moment_results(tenant, handle, m).await {
                Ok(()) => None,
                Err(AppError::RateLimited { retry_after_secs }) => Some(retry_after_secs as i64),
                Err(AppError::Unavailable) => Some(30),
                Err(e) => return Err(e),
            };
            if let Some(wait) = wait {
                self.store.jobs().defer(tenant, job.id, self.now() + Duration::seconds(wait)).await?;
                return Ok(None);
            }
        }
        match self.next_refresh(m) {
            Some(at) => {
                self.store.jobs().defer(tenant, job.id, at).await?;
                Ok(None)
            }
            None => Ok(Some(serde_json::json!({"status": "published", "moment_id": m.moment_id}))),
        }
    }

    pub(crate) async fn run_moment(&self, tenant: TenantId, job: &Job) -> AppResult<Option<serde_json::Value>> {
        let payload: MomentJob = serde_json::from_value(job.payload.clone()).map_err(AppError::internal)?;
        let m = self.store.wecom().moment(tenant, payload.moment).await?;
        let handle = self.corp_handle(tenant, m.corp).await?;
        let wecom = self.store.wecom();
        let jobs = self.store.jobs();
        let later = |secs: i64| jobs.defer(tenant, job.id, self.now() + Duration::seconds(secs));
        match m.status {
            MomentStatus::Scheduled => {}
            MomentStatus::Submitting => match self.find_submitted(tenant, &handle, &m).await? {
                Some(moment_id) => {
                    let set = MomentSet { moment_id: Some(&moment_id), ..MomentSet::default() };
                    let from = [MomentStatus::Submitting];
                    wecom.move_moment(tenant, m.id, &from, MomentStatus::Published, set, self.now()).await?;
                    return Ok(Some(serde_json::json!({"status": "published", "adopted": true})));
                }
                None if m.submitted_at.is_some_and(|at| self.now() - at < Duration::minutes(10)) => {
                    later(30).await?;
                    return Ok(None);
                }
                None => {
                    let (from, set) = ([MomentStatus::Submitting], MomentSet::default());
                    wecom.move_moment(tenant, m.id, &from, MomentStatus::Scheduled, set, self.now()).await?;
                }
            },
            MomentStatus::Creating => return self.poll_moment(tenant, job, &handle, &m).await,
            MomentStatus::Published => return self.refresh_on_schedule(tenant, job, &handle, &m).await,
            done => return Ok(Some(serde_json::json!({"status": done.as_str()}))),
        }
        let (from, set) = ([MomentStatus::Scheduled], MomentSet::default());
        if !wecom.move_moment(tenant, m.id, &from, MomentStatus::Submitting, set, self.now()).await? {
            return Ok(None);
        }
        let tags = self.corp_tag_ids(tenant, m.corp, &m.visibility).await?;
        let task = MomentTask {
            text: (!m.content.text.trim().is_empty()).then(|| Text::new(m.content.text.clone())),
            attachments: m.content.attachments.iter().filter_map(|a| serde_json::from_value(a.clone()).ok()).collect(),
            visible_range: Some(VisibleRange {
                sender_list: (!m.visibility.staff.is_empty())
                    .then(|| SenderList { user_list: m.visibility.staff.clone(), department_list: Vec::new() }),
                external_contact_list: (!tags.is_empty()).then_some(ExternalContactRange { tag_list: tags }),
            }),
        };
        let release = [MomentStatus::Submitting];
        match handle.client.add_moment_task(&handle.contact, &task).await {
            Ok(jobid) => {
                let set = MomentSet { jobid: Some(&jobid), ..MomentSet::default() };
                wecom.move_moment(tenant, m.id, &release, MomentStatus::Creating, set, self.now()).await?;
                let m = wecom.moment(tenant, m.id).await?;
                self.poll_moment(tenant, job, &handle, &m).await
            }
            Err(WecomError::Transport { .. }) => {
                // No answer: WeCom may have the task; it stays `submitting` and is looked for first.
                later(30).await?;
                Ok(None)
            }
            Err(e) if matches!(e.class(), ErrorClass::RateLimited | ErrorClass::Retryable) => {
                wecom
                    .move_moment(tenant, m.id, &release, MomentStatus::Scheduled, MomentSet::default(), self.now())
                    .await?;
                later(if e.class() == ErrorClass::RateLimited { 60 } else { 10 }).await?;
                Ok(None)
            }
            Err(e) => {
                let error = e.to_string();
                let set = MomentSet { error: Some(&error), ..MomentSet::default() };
                wecom.move_moment(tenant, m.id, &release, MomentStatus::Failed, set, self.now()).await?;
                Ok(Some(serde_json::json!({"status": "failed", "error": error})))
            }
        }
    }

    /// One poll of WeCom's job: done (published or failed), or the job back in the queue.
    async fn poll_moment(
        &self,
        tenant: TenantId,
        job: &Job,
        handle: &CorpHandle,
        m: &Moment,
    ) -> AppResult<Option<serde_json::Value>> {
        let wecom = self.store.wecom();
        let jobid = wecom.moment_jobid(tenant, m.id).await?.unwrap_or_default();
        let reply = match handle.client.get_moment_task_result(&handle.contact, &jobid).await {
            Ok(reply) => reply,
            Err(e) if matches!(e.class(), ErrorClass::RateLimited | ErrorClass::Retryable) => {
                self.store.jobs().defer(tenant, job.id, self.now() + Duration::seconds(60)).await?;
                return Ok(None);
            }
            Err(e) => return Err(wecom_error(e)),
        };
        let Some(result) = reply.result.filter(|_| reply.status == 3) else {
            self.store.jobs().defer(tenant, job.id, self.now() + Duration::seconds(POLL_SECS)).await?;
            return Ok(None);
        };
        let from = [MomentStatus::Creating];
        if result.errcode != 0 || result.moment_id.is_empty() {
            let error = format!("{}: {}", result.errcode, result.errmsg);
            let set = MomentSet { error: Some(&error), ..MomentSet::default() };
            wecom.move_moment(tenant, m.id, &from, MomentStatus::Failed, set, self.now()).await?;
            return Ok(Some(serde_json::json!({"status": "failed", "error": error})));
        }
        let invalid = MomentInvalid {
            users: result.invalid_sender_list.user_list,
            departments: result.invalid_sender_list.department_list,
            tags: result.invalid_external_contact_list.tag_list,
        };
        let set = MomentSet { moment_id: Some(&result.moment_id), invalid: Some(&invalid), ..MomentSet::default() };
        wecom.move_moment(tenant, m.id, &from, MomentStatus::Published, set, self.now()).await?;
        let published = wecom.moment(tenant, m.id).await?;
        self.refresh_on_schedule(tenant, job, handle, &published).await
    }

    /// The moment WeCom holds for a submit whose answer was lost: corp-created since the claim, same text,
    /// not one of the corp's known moments.
    async fn find_submitted(&self, tenant: TenantId, handle: &CorpHandle, m: &Moment) -> AppResult<Option<String>> {
        let known = self.store.wecom().known_moment_ids(tenant, m.corp).await?;
        let since = m.submitted_at.unwrap_or(m.created_at) - Duration::minutes(10);
        let mut cursor = String::new();
        loop {
            let request = MomentListRequest {
                start_time: since.timestamp(),
                end_time: (self.now() + Duration::minutes(10)).timestamp(),
                creator: None,
                filter_type: Some(0),
                cursor: cursor.clone(),
                limit: 20,
            };
            let page = handle.client.get_moment_list(&handle.contact, &request).await.map_err(wecom_error)?;
            for summary in page.moment_list {
                let text = summary.text.as_ref().map(|t| t.content.as_str()).unwrap_or_default();
                if text == m.content.text && !known.contains(&summary.moment_id) {
                    return Ok(Some(summary.moment_id));
                }
            }
            if page.next_cursor.is_empty() {
                return Ok(None);
            }
            cursor = page.next_cursor;
        }
    }
}
