//! Staff tasks told to staff as WeCom app messages (应用消息, reference/wecom.md §4.11).
//!
//! A task for a staff member who is active WeCom staff of a connected corp with an app (agent id) becomes a
//! notice: one `staff_notices` row per (task, staff member), its `message/send` body fixed when it is made.
//! Sending claims the row (`sending`), calls WeCom with its duplicate check on, and records the answer. A
//! sender that dies between WeCom's answer and that record leaves the row `sending`; once stale it is sent
//! again with the same body, which WeCom's duplicate check (4 h) drops, so the staff member sees it once.
//! Tasks older than a day when first seen (e.g. made before the corp was connected) are not announced.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use siyu_domain::id::{CorpId, TaskId, TenantId, UserId};
use siyu_domain::task::TaskKind;
use siyu_store::wecom::{NewNotice, Notice, TaskToNotify};
use siyu_wecom::ErrorClass;
use siyu_wecom::api::{AppMessage, AppMessageBody, MessageSendResult, Text, TextCard};

use super::wecom_error;
use crate::App;
use crate::error::{AppError, AppResult};

/// How far back a task may have been created and still be announced.
const ANNOUNCE_WINDOW_HOURS: i64 = 24;
/// How long a claimed notice may stay `sending` before another sender takes it over.
const STALE_SECS: i64 = 60;
/// WeCom's longest duplicate-check interval (4 h).
const DUPLICATE_CHECK_SECS: u32 = 4 * 3600;
/// Attempts before a notice is given up.
const MAX_ATTEMPTS: i64 = 5;
const BATCH: i64 = 200;

fn kind_label(kind: &str) -> &'static str {
    match TaskKind::parse(kind) {
        Some(TaskKind::Call) => "电话回访",
        Some(TaskKind::Send) => "发送",
        _ => "跟进",
    }
}

/// The `message/send` body telling `t.userid` about a task: a card linking to the console's task list when
/// siyu has a public URL, plain text otherwise.
pub(crate) fn task_message(
    t: &TaskToNotify,
    offset: FixedOffset,
    public_url: &str,
    agent_id: Option<i64>,
) -> AppMessage {
    let due = t.due_at.with_timezone(&offset).format("%m-%d %H:%M");
    let title = format!("【待办·{}】{}", kind_label(&t.kind), t.customer_name);
    let mut lines = vec![format!("截止 {due}"), t.title.clone()];
    if !t.note.is_empty() {
        lines.push(t.note.clone());
    }
    let body = if public_url.is_empty() {
        AppMessageBody::Text { text: Text { content: format!("{title}\n{}", lines.join("\n")) } }
    } else {
        let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let description = format!(
            "<div class=\"gray\">{}</div><div class=\"normal\">{}</div>{}",
            escape(&lines[0]),
            escape(&lines[1]),
            lines.get(2).map(|n| format!("<div class=\"highlight\">{}</div>", escape(n))).unwrap_or_default()
        );
        let url = format!("{}/console/customers/{}", public_url.trim_end_matches('/'), t.customer_id);
        AppMessageBody::Textcard { textcard: TextCard { title, description, url, btntxt: Some("查看客户".into()) } }
    };
    let mut message = AppMessage::new(body).to_users(&[t.userid.as_str()]);
    message.agentid = agent_id;
    message.enable_duplicate_check = true;
    message.duplicate_check_interval = Some(DUPLICATE_CHECK_SECS);
    message
}

impl App {
    /// Queues a text app message to one staff member, once per dedupe key, with WeCom's duplicate check on
    /// (a re-send after a crash is dropped by WeCom); whether it was new. Archive alerts and digests and
    /// link-open alerts use it.
    pub(crate) async fn queue_text_notice(
        &self,
        tenant: TenantId,
        corp: CorpId,
        userid: &str,
        user: UserId,
        key: &str,
        content: String,
    ) -> AppResult<bool> {
        let agent = self.store.wecom().corp(tenant, corp).await?.agent_id;
        let mut message = AppMessage::new(AppMessageBody::Text { text: Text { content } }).to_users(&[userid]);
        message.agentid = agent;
        message.enable_duplicate_check = true;
        message.duplicate_check_interval = Some(DUPLICATE_CHECK_SECS);
        let body = serde_json::to_string(&message).map_err(AppError::internal)?;
        let notice = NewNotice { corp, userid, user, dedupe_key: key, task: None, body: &body };
        Ok(self.store.wecom().insert_notice(tenant, &notice, self.now()).await?)
    }

    /// Runs the notice sweep in the background soon (coalesced: one sweep at a time is enough).
    pub(crate) fn notify_staff_soon(&self) {
        if self.wecom.notices_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let app = self.clone();
        self.wecom.background.spawn(async move {
            app.wecom.notices_queued.store(false, Ordering::Release);
            if let Err(e) = app.send_staff_notices().await {
                tracing::warn!(error = %e, "staff notices failed; the worker retries");
            }
        });
    }

    /// Makes the notices of new tasks for every tenant with a connected corp, without sending them.
    pub async fn queue_staff_notices(&self) -> AppResult<()> {
        for tenant in self.store.wecom().tenants_with_corps().await? {
            self.make_task_notices(tenant).await?;
        }
        Ok(())
    }

    /// Makes the notices of new tasks and sends what is pending, for every tenant with a connected corp.
    /// Returns how many notices were sent.
    pub async fn send_staff_notices(&self) -> AppResult<usize> {
        let mut sent = 0;
        for tenant in self.store.wecom().tenants_with_corps().await? {
            self.make_task_notices(tenant).await?;
            sent += self.send_tenant_notices(tenant).await?;
        }
        Ok(sent)
    }

    async fn make_task_notices(&self, tenant: TenantId) -> AppResult<()> {
        let now = self.now();
        let since = now - Duration::hours(ANNOUNCE_WINDOW_HOURS);
        let offset = self.tenant_offset(tenant).await?;
        let corps = self.store.wecom().corps(tenant).await?;
        loop {
            let tasks = self.store.wecom().tasks_to_notify(tenant, since, BATCH).await?;
            for t in &tasks {
                let agent = corps.iter().find(|c| c.id.0 == t.corp_row_id).and_then(|c| c.agent_id);
                let message = task_message(t, offset, &self.settings.wecom.public_url, agent);
                let body = serde_json::to_string(&message).map_err(AppError::internal)?;
                let key = format!("task:{}", t.task_id);
                let notice = NewNotice {
                    corp: CorpId(t.corp_row_id),
                    userid: &t.userid,
                    user: UserId(t.user_id),
                    dedupe_key: &key,
                    task: Some(TaskId(t.task_id)),
                    body: &body,
                };
                self.store.wecom().insert_notice(tenant, &notice, now).await?;
            }
            if (tasks.len() as i64) < BATCH {
                return Ok(());
            }
        }
    }

    async fn send_tenant_notices(&self, tenant: TenantId) -> AppResult<usize> {
        let mut sent = 0;
        loop {
            let now = self.now();
            let stale = now - Duration::seconds(STALE_SECS);
            let batch = self.store.wecom().claim_notices(tenant, stale, now, BATCH).await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            for notice in batch {
                if self.send_notice(tenant, &notice).await? {
                    sent += 1;
                }
            }
        }
    }

    /// Sends one claimed notice and records the answer; whether WeCom accepted it.
    async fn send_notice(&self, tenant: TenantId, n: &Notice) -> AppResult<bool> {
        let store = self.store.wecom();
        let finish = |status: &'static str, msgid: Option<String>, error: Option<String>, at: DateTime<Utc>| {
            let store = self.store.wecom();
            async move { store.finish_notice(tenant, n.id, status, msgid.as_deref(), error.as_deref(), at).await }
        };
        let message: AppMessage = match serde_json::from_str(&n.body) {
            Ok(m) => m,
            Err(e) => {
                finish("failed", None, Some(format!("unreadable body: {e}")), self.now()).await?;
                return Ok(false);
            }
        };
        let handle = match self.corp_handle(tenant, CorpId(n.corp_row_id)).await {
            Ok(h) => h,
            Err(AppError::NotFound) => {
                finish("failed", None, Some("corp_gone".into()), self.now()).await?;
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let answer = handle.client.message_send(&handle.app, &message).await;
        let now = self.now();
        match answer {
            Ok(MessageSendResult { msgid, invaliduser, .. }) if invaliduser.split('|').any(|u| u == n.userid) => {
                finish("failed", Some(msgid), Some("invalid_user".into()), now).await?;
                Ok(false)
            }
            Ok(r) => {
                finish("sent", Some(r.msgid), None, now).await?;
                Ok(true)
            }
            Err(e) => {
                // A retryable failure stays `sending`: it is taken up again once stale, with the same body.
                let retry =
                    matches!(e.class(), ErrorClass::Retryable | ErrorClass::RateLimited) && n.attempts < MAX_ATTEMPTS;
                let status = if retry { "sending" } else { "failed" };
                store.finish_notice(tenant, n.id, status, None, Some(&e.to_string()), now).await?;
                tracing::info!(notice = %n.id, retry, error = %wecom_error(e), "app message not sent");
                Ok(false)
            }
        }
    }
}
