//! Mass sends (企业群发) as a resumable job: plan (set-based, see `siyu_store::wecom::mass`), then one
//! `add_msg_template` per chunk of ≤10,000 customers of one sender, paced by the corp's rate budget.
//!
//! Exactly once: a recipient is planned once per send (unique row); a chunk is claimed (`sending`) before its
//! call and marked sent with the msgid (and its fail_list) in one transaction; its recipients are then
//! settled (marked sent, written to the journey outbox) while the next chunk is sent, and settled again,
//! idempotently, by any later run of the job, so a crash before settling loses nothing. A chunk found `sending` (the worker died between the
//! call and the commit) is first looked up in WeCom — a template by the same sender, same text, created since
//! the claim, whose recipients are the chunk's — and adopted if found; only if WeCom has no such template is
//! it sent again. A spent rate budget puts the chunk back and the job in the queue until the window opens.
//! A send to customer groups (`groups`) takes the same path with groups as recipients.

mod groups;

pub use groups::{MassPreview, MassPreviewInput, SenderCounts};

use chrono::{Datelike, Duration, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, MassSendId, TenantId};
use siyu_domain::job::Job;
use siyu_domain::wecom::mass::{self, Audience, MassContent, MassCounts, MassSend, MassStatus};
use siyu_store::wecom::{Chunk, PlanLimits};
use siyu_wecom::api::GroupMsgListRequest;
use siyu_wecom::{ErrorClass, WecomError};

use super::CorpHandle;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The job kind of a mass send.
pub const MASS_JOB: &str = "wecom_mass_send";

/// The mass send form.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MassSendInput {
    pub corp: CorpId,
    pub name: String,
    #[serde(default)]
    pub audience: Audience,
    pub content: MassContent,
    /// Marketing messages per customer per local day on WeCom, journeys included (default 1).
    #[serde(default)]
    pub daily_cap: Option<i64>,
    /// When to send (default: now).
    #[serde(default)]
    pub scheduled_at: Option<chrono::DateTime<Utc>>,
}

/// A mass send with its recipients' states.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MassSendView {
    #[serde(flatten)]
    pub send: MassSend,
    pub counts: MassCounts,
    pub chunks: usize,
    pub chunks_sent: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct MassJob {
    send: MassSendId,
}

impl App {
    pub async fn create_mass_send(&self, actor: &Actor, input: &MassSendInput) -> AppResult<MassSendView> {
        actor.require(Permission::CustomersWrite)?;
        self.store
            .wecom()
            .corp(actor.tenant, input.corp)
            .await
            .map_err(|_| AppError::invalid("corp", "unknown corp"))?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::invalid("name", "1 to 60 characters"));
        }
        input.content.validate().map_err(|(f, m)| AppError::invalid(f, m))?;
        super::live_codes::check_attachments(&input.content.attachments)?;
        if let Some(segment) = input.audience.segment {
            self.store
                .segments()
                .get(actor.tenant, segment)
                .await
                .map_err(|_| AppError::invalid("segment", "unknown segment"))?;
        }
        for tag in &input.audience.tag_ids {
            self.store
                .tags()
                .tag(actor.tenant, *tag)
                .await
                .map_err(|_| AppError::invalid("tag_ids", format!("unknown tag {tag}")))?;
        }
        for userid in &input.audience.staff {
            if self.store.wecom().staff_by_userid(actor.tenant, input.corp, userid).await?.is_none() {
                return Err(AppError::invalid("staff", format!("unknown staff {userid}")));
            }
        }
        self.check_group_audience(actor.tenant, input).await?;
        let daily_cap = input.daily_cap.unwrap_or(1);
        if !(1..=20).contains(&daily_cap) {
            return Err(AppError::invalid("daily_cap", "1 to 20 a day"));
        }
        let now = self.now();
        let send = MassSend {
            id: MassSendId::new(),
            corp: input.corp,
            name: name.to_owned(),
            audience: input.audience.clone(),
            content: input.content.clone(),
            daily_cap,
            scheduled_at: input.scheduled_at.unwrap_or(now).max(now),
            status: MassStatus::Scheduled,
            error: None,
            created_at: now,
            planned_at: None,
            finished_at: None,
        };
        self.store.wecom().insert_mass_send(actor.tenant, &send, Some(actor.user)).await?;
        let payload = serde_json::to_value(MassJob { send: send.id }).map_err(AppError::internal)?;
        let job = Job::queued(MASS_JOB, payload, 1, actor.user, now);
        self.store.jobs().enqueue(actor.tenant, &job).await?;
        if send.scheduled_at > now {
            self.store.jobs().defer(actor.tenant, job.id, send.scheduled_at).await?;
        }
        self.mass_send(actor, send.id).await
    }

    pub async fn mass_send(&self, actor: &Actor, id: MassSendId) -> AppResult<MassSendView> {
        actor.require(Permission::CustomersRead)?;
        let send = self.store.wecom().mass_send(actor.tenant, id).await?;
        let counts = self.mass_counts_all(actor.tenant, id).await?;
        let chunks = self.store.wecom().mass_chunks(actor.tenant, id).await?;
        let chunks_sent = chunks.iter().filter(|c| c.status == "sent").count();
        Ok(MassSendView { send, counts, chunks: chunks.len(), chunks_sent })
    }

    pub async fn mass_sends(&self, actor: &Actor) -> AppResult<Vec<MassSendView>> {
        actor.require(Permission::CustomersRead)?;
        let mut out = Vec::new();
        for send in self.store.wecom().mass_sends(actor.tenant, 100).await? {
            out.push(self.mass_send(actor, send.id).await?);
        }
        Ok(out)
    }

    /// Cancels a send: unsent chunks are never sent; templates already in WeCom are cancelled there.
    pub async fn cancel_mass_send(&self, actor: &Actor, id: MassSendId) -> AppResult<MassSendView> {
        actor.require(Permission::CustomersWrite)?;
        let send = self.store.wecom().mass_send(actor.tenant, id).await?;
        let open = [MassStatus::Scheduled, MassStatus::Planned, MassStatus::Sending, MassStatus::Sent];
        if !self.store.wecom().set_mass_status(actor.tenant, id, &open, MassStatus::Cancelled, None, self.now()).await?
        {
            return Err(AppError::Conflict("status".into()));
        }
        let handle = self.corp_handle(actor.tenant, send.corp).await?;
        for chunk in self.store.wecom().mass_chunks(actor.tenant, id).await? {
            if let Some(msgid) = chunk.msgid {
                handle.client.cancel_groupmsg_send(&handle.contact, &msgid).await.map_err(super::wecom_error)?;
            }
        }
        self.mass_send(actor, id).await
    }

    /// Reminds the senders who have not confirmed yet (WeCom allows three reminders a day per message).
    pub async fn remind_mass_send(&self, actor: &Actor, id: MassSendId) -> AppResult<usize> {
        actor.require(Permission::CustomersWrite)?;
        let send = self.store.wecom().mass_send(actor.tenant, id).await?;
        let handle = self.corp_handle(actor.tenant, send.corp).await?;
        let mut n = 0;
        for msgid in self.store.wecom().mass_chunks(actor.tenant, id).await?.into_iter().filter_map(|c| c.msgid) {
            handle.client.remind_groupmsg_send(&handle.contact, &msgid).await.map_err(super::wecom_error)?;
            n += 1;
        }
        Ok(n)
    }

    /// Plans a scheduled mass send now, as its job does first (the job then only sends); `siyu bench wecom
    /// --part mass` times it. A send planned already is left as it is.
    pub async fn plan_scheduled_mass_send(&self, tenant: TenantId, id: MassSendId) -> AppResult<MassCounts> {
        let send = self.store.wecom().mass_send(tenant, id).await?;
        if send.status == MassStatus::Scheduled {
            let handle = self.corp_handle(tenant, send.corp).await?;
            self.plan_mass_send(tenant, &handle, &send).await?;
        }
        self.mass_counts_all(tenant, id).await
    }

    pub(crate) async fn run_mass_send(&self, tenant: TenantId, job: &Job) -> AppResult<Option<serde_json::Value>> {
        let payload: MassJob = serde_json::from_value(job.payload.clone()).map_err(AppError::internal)?;
        let send = self.store.wecom().mass_send(tenant, payload.send).await?;
        if send.status == MassStatus::Cancelled {
            return Ok(Some(serde_json::json!({"cancelled": true})));
        }
        let handle = self.corp_handle(tenant, send.corp).await?;
        if send.status == MassStatus::Scheduled {
            self.plan_mass_send(tenant, &handle, &send).await?;
        }
        let wecom = self.store.wecom();
        wecom.set_mass_status(tenant, send.id, &[MassStatus::Planned], MassStatus::Sending, None, self.now()).await?;
        let chunks = wecom.mass_chunks(tenant, send.id).await?;
        let total = chunks.len() as i64;
        // The chunk sent last is settled while the next one is sent (see `settle`).
        let mut unsettled: Option<Settle> = None;
        for (done, chunk) in chunks.iter().enumerate() {
            if self.store.wecom().mass_send(tenant, send.id).await?.status == MassStatus::Cancelled {
                self.settle(tenant, &send, unsettled.take()).await?;
                return Ok(Some(serde_json::json!({"cancelled": true})));
            }
            let (sent, settled) = tokio::join!(
                self.send_chunk(tenant, &handle, &send, chunk),
                self.settle(tenant, &send, unsettled.take())
            );
            settled?;
            match sent {
                Ok(next) => unsettled = next,
                Err(ChunkError::Later(wait)) => {
                    self.store.jobs().defer(tenant, job.id, self.now() + wait).await?;
                    return Ok(None);
                }
                Err(ChunkError::App(e)) => return Err(e),
            }
            let lease = self.now() + Duration::seconds(self.settings.worker.lease_secs);
            self.store.jobs().progress(tenant, job.id, done as i64 + 1, total, lease).await?;
        }
        self.settle(tenant, &send, unsettled).await?;
        wecom.set_mass_status(tenant, send.id, &[MassStatus::Sending], MassStatus::Sent, None, self.now()).await?;
        let counts = self.mass_counts_all(tenant, send.id).await?;
        Ok(Some(serde_json::to_value(counts).map_err(AppError::internal)?))
    }

    async fn plan_mass_send(&self, tenant: TenantId, handle: &CorpHandle, send: &MassSend) -> AppResult<()> {
        let offset = self.tenant_offset(tenant).await?;
        let local = self.now().with_timezone(&offset).date_naive();
        let midnight = |d: chrono::NaiveDate| {
            offset.from_local_datetime(&d.and_time(NaiveTime::MIN)).single().map(|t| t.with_timezone(&Utc))
        };
        let month_first = local.with_day0(0).unwrap_or(local);
        let limits = PlanLimits {
            corp_id: &handle.corp_id,
            day_start: midnight(local).unwrap_or_else(|| self.now()),
            month_start: midnight(month_first).unwrap_or_else(|| self.now()),
            days_in_month: i64::from(mass::days_in_month(local)),
            at: self.now(),
        };
        if send.audience.groups.is_some() {
            return Ok(self.store.wecom().plan_group_mass_send(tenant, send, &limits).await?);
        }
        Ok(self.store.wecom().plan_mass_send(tenant, send, &limits).await?)
    }

    /// Sends one chunk (or finds it sent); the chunk's recipients to settle, if any.
    async fn send_chunk(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        send: &MassSend,
        chunk: &Chunk,
    ) -> Result<Option<Settle>, ChunkError> {
        let wecom = self.store.wecom();
        // A chunk marked sent may have recipients left to settle (the worker died while settling).
        let settle = |msgid: &str| {
            let customers = send.audience.groups.is_none();
            customers.then(|| Settle { chunk: chunk.chunk_no, msgid: msgid.to_owned() })
        };
        match chunk.status.as_str() {
            "sent" => return Ok(chunk.msgid.as_deref().and_then(settle)),
            "failed" => return Ok(None),
            _ => {}
        }
        let recipients = self.chunk_targets(tenant, send, chunk.chunk_no).await?;
        if chunk.status == "sending" {
            if let Some((msgid, failed)) = self.find_sent_chunk(tenant, handle, send, chunk, &recipients).await? {
                self.finish_targets(tenant, send, chunk.chunk_no, &msgid, &failed).await?;
                return Ok(settle(&msgid));
            }
            wecom.release_chunk(tenant, send.id, chunk.chunk_no).await.map_err(AppError::from)?;
        }
        if !wecom.claim_chunk(tenant, send.id, chunk.chunk_no, self.now()).await.map_err(AppError::from)? {
            return Ok(None);
        }
        let template = groups::template_for(send, &chunk.sender, recipients);
        match handle.client.add_msg_template(&handle.contact, &template).await {
            Ok(result) => {
                metrics::counter!("siyu_wecom_mass_chunks_total", "outcome" => "sent").increment(1);
                self.finish_targets(tenant, send, chunk.chunk_no, &result.msgid, &result.fail_list).await?;
                Ok(settle(&result.msgid))
            }
            Err(e @ WecomError::Throttled { .. }) => {
                wecom.release_chunk(tenant, send.id, chunk.chunk_no).await.map_err(AppError::from)?;
                let WecomError::Throttled { wait, .. } = e else { return Ok(None) };
                Err(ChunkError::Later(
                    Duration::from_std(wait).unwrap_or(Duration::seconds(60)).max(Duration::seconds(1)),
                ))
            }
            Err(WecomError::Transport { .. }) => {
                // No answer: WeCom may have created the template. The chunk stays `sending`, so the next
                // attempt looks for it in WeCom before sending again.
                Err(ChunkError::Later(Duration::seconds(10)))
            }
            Err(e) if matches!(e.class(), ErrorClass::RateLimited | ErrorClass::Retryable) => {
                // 45009 or a busy WeCom: nothing was created; try again after WeCom's window.
                wecom.release_chunk(tenant, send.id, chunk.chunk_no).await.map_err(AppError::from)?;
                let wait = if e.class() == ErrorClass::RateLimited { 60 } else { 10 };
                Err(ChunkError::Later(Duration::seconds(wait)))
            }
            Err(e) => {
                metrics::counter!("siyu_wecom_mass_chunks_total", "outcome" => "failed").increment(1);
                self.fail_targets(tenant, send, chunk.chunk_no, &e.to_string()).await?;
                Ok(None)
            }
        }
    }

    /// Settles a sent chunk of customers: its recipients become `sent` and enter the journey outbox
    /// (`siyu_store::wecom` `settle_chunk`), while the next chunk's call goes out.
    async fn settle(&self, tenant: TenantId, send: &MassSend, settle: Option<Settle>) -> AppResult<()> {
        let Some(s) = settle else { return Ok(()) };
        self.store.wecom().settle_chunk(tenant, send.id, s.chunk, &s.msgid, self.now()).await?;
        Ok(())
    }

    /// The template WeCom holds for a chunk whose call may have gone through before the worker died: by the
    /// same sender, with the same text, created since the claim, whose recipients are the chunk's. Two calls
    /// (the list and one page of recipients), so a tight rate budget cannot starve it.
    async fn find_sent_chunk(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        send: &MassSend,
        chunk: &Chunk,
        recipients: &[String],
    ) -> AppResult<Option<(String, Vec<String>)>> {
        let since = chunk.claimed_at.unwrap_or(send.created_at) - Duration::minutes(10);
        // The templates of this send's other chunks are known; only a stranger can be this chunk's.
        let known: std::collections::HashSet<String> =
            self.store.wecom().mass_chunks(tenant, send.id).await?.into_iter().filter_map(|c| c.msgid).collect();
        let mut cursor = String::new();
        loop {
            let request = GroupMsgListRequest {
                chat_type: groups::chat_type(send),
                start_time: since.timestamp(),
                end_time: (self.now() + Duration::minutes(10)).timestamp(),
                creator: Some(chunk.sender.clone()),
                filter_type: Some(0),
                cursor: cursor.clone(),
                limit: 100,
            };
            let page =
                handle.client.get_groupmsg_list_v2(&handle.contact, &request).await.map_err(super::wecom_error)?;
            for msg in page.group_msg_list {
                let text = msg.text.as_ref().map(|t| t.content.as_str()).unwrap_or_default();
                if text != send.content.text || known.contains(&msg.msgid) {
                    continue;
                }
                // One page of the template's recipients tells whether it is this chunk's (a chunk's customers
                // are in no other template of this send); who was in the fail_list is left to the results pull.
                let page = handle
                    .client
                    .get_groupmsg_send_result(&handle.contact, &msg.msgid, &chunk.sender, "", 1000)
                    .await
                    .map_err(super::wecom_error)?;
                let all: std::collections::HashSet<&String> = recipients.iter().collect();
                let got = page.send_list.iter().map(groups::target);
                if !page.send_list.is_empty() && got.into_iter().all(|g| all.contains(g)) {
                    return Ok(Some((msg.msgid, Vec::new())));
                }
            }
            if page.next_cursor.is_empty() {
                return Ok(None);
            }
            cursor = page.next_cursor;
        }
    }
}

/// A sent chunk of customers whose recipients are still to be settled.
struct Settle {
    chunk: i64,
    msgid: String,
}

enum ChunkError {
    /// Try again after this long (the rate window).
    Later(Duration),
    App(AppError),
}

impl From<AppError> for ChunkError {
    fn from(e: AppError) -> Self {
        match e {
            // The reconciliation's own calls ran out of budget, or WeCom was busy: later, not failed.
            AppError::RateLimited { retry_after_secs } => ChunkError::Later(Duration::seconds(retry_after_secs as i64)),
            AppError::Unavailable => ChunkError::Later(Duration::seconds(10)),
            other => ChunkError::App(other),
        }
    }
}
