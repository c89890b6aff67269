//! Reading the archive (a conversation's messages; lists and search are in `search`), the alert inbox with each alert's context and
//! verdict, per-staff statistics and the daily digests. Opening a conversation is audited.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::archive::AlertStatus;
use siyu_domain::error::Invalid;
use siyu_domain::id::{AlertId, ConversationId};
use siyu_store::archive::{Alert, AlertQuery, Conversation, Digest, MessageRow};
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Messages of context shown either side of an alert's message.
const CONTEXT: i64 = 5;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationView {
    pub id: Uuid,
    /// `single` (staff × customer), `group` or `internal` (staff × staff).
    pub kind: String,
    pub staff_userid: Option<String>,
    pub staff_name: Option<String>,
    pub external_userid: Option<String>,
    pub customer_id: Option<Uuid>,
    pub customer_name: Option<String>,
    pub roomid: Option<String>,
    pub group_id: Option<Uuid>,
    pub group_name: Option<String>,
    pub messages: i64,
    pub first_msg_at: DateTime<Utc>,
    pub last_msg_at: DateTime<Utc>,
    /// A customer has waited for a reply since then.
    pub awaiting_since: Option<DateTime<Utc>>,
    /// In a text search: how many of its messages match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hits: Option<i64>,
    /// In a text search through the index: its best matching message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_message_id: Option<Uuid>,
    /// In a text search through the index: about 120 characters of the best match, HTML-escaped, each
    /// match in `<mark>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlight: Option<String>,
}

impl From<Conversation> for ConversationView {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id,
            kind: c.kind,
            staff_userid: c.staff_userid,
            staff_name: c.staff_name,
            external_userid: c.external_userid,
            customer_id: c.customer_id,
            customer_name: c.customer_name,
            roomid: c.roomid,
            group_id: c.group_id,
            group_name: c.group_name,
            messages: c.messages,
            first_msg_at: c.first_msg_at,
            last_msg_at: c.last_msg_at,
            awaiting_since: c.awaiting_since,
            hits: None,
            best_message_id: None,
            highlight: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub msgid: String,
    pub msgtype: String,
    pub sender: String,
    /// `staff`, `customer` or `robot`.
    pub sender_party: String,
    pub msgtime: DateTime<Utc>,
    pub text: String,
    /// Taken back by the sender.
    pub recalled: bool,
    /// In search results: about 120 characters of the text around the matches, HTML-escaped, with each
    /// match in `<mark>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlight: Option<String>,
}

impl From<MessageRow> for MessageView {
    fn from(m: MessageRow) -> Self {
        Self {
            id: m.id,
            conversation_id: m.conversation_id,
            msgid: m.msgid,
            msgtype: m.msgtype,
            sender: m.sender,
            sender_party: m.sender_party,
            msgtime: m.msgtime,
            text: m.body,
            recalled: m.recalled,
            highlight: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub rule_name: Option<String>,
    pub kind: String,
    pub conversation_id: Option<Uuid>,
    pub msgid: Option<String>,
    pub staff_userid: Option<String>,
    pub staff_name: Option<String>,
    pub customer_id: Option<Uuid>,
    pub customer_name: Option<String>,
    pub group_id: Option<Uuid>,
    pub group_name: Option<String>,
    /// What broke the rule: the words, the masked phone, the link's host, minutes waited, ….
    pub detail: String,
    pub excerpt: String,
    pub occurred_at: DateTime<Utc>,
    pub status: AlertStatus,
    pub handled_at: Option<DateTime<Utc>>,
    pub note: String,
}

impl From<Alert> for AlertView {
    fn from(a: Alert) -> Self {
        Self {
            id: a.id,
            rule_id: a.rule_id,
            rule_name: a.rule_name,
            kind: a.kind,
            conversation_id: a.conversation_id,
            msgid: a.msgid,
            staff_userid: a.staff_userid,
            staff_name: a.staff_name,
            customer_id: a.customer_id,
            customer_name: a.customer_name,
            group_id: a.group_id,
            group_name: a.group_name,
            detail: a.detail,
            excerpt: a.excerpt,
            occurred_at: a.occurred_at,
            status: AlertStatus::parse(&a.status).unwrap_or(AlertStatus::Open),
            handled_at: a.handled_at,
            note: a.note,
        }
    }
}

/// An auditor's verdict.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AlertVerdict {
    pub status: AlertStatus,
    #[serde(default)]
    pub note: String,
}

/// One staff member's alerts in a period, by rule kind.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffStatRow {
    pub staff_userid: Option<String>,
    pub staff_name: Option<String>,
    pub total: i64,
    pub open: i64,
    pub by_kind: BTreeMap<String, i64>,
}

/// Folds (staff, kind) counts into one row per staff member, most alerts first.
pub(crate) fn fold_stats(rows: Vec<siyu_store::archive::StaffStat>) -> Vec<StaffStatRow> {
    let mut out: Vec<StaffStatRow> = Vec::new();
    for r in rows {
        let i = match out.iter().position(|s| s.staff_userid == r.staff_userid) {
            Some(i) => i,
            None => {
                out.push(StaffStatRow {
                    staff_userid: r.staff_userid.clone(),
                    staff_name: r.staff_name.clone(),
                    total: 0,
                    open: 0,
                    by_kind: BTreeMap::new(),
                });
                out.len() - 1
            }
        };
        out[i].total += r.alerts;
        out[i].open += r.open;
        *out[i].by_kind.entry(r.kind).or_default() += r.alerts;
    }
    out.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.staff_userid.cmp(&b.staff_userid)));
    out
}

impl App {
    /// A conversation and its messages from `after` on (at most `limit`); the read is audited.
    pub async fn conversation_messages(
        &self,
        actor: &Actor,
        id: ConversationId,
        after: Option<DateTime<Utc>>,
        limit: i64,
    ) -> AppResult<(ConversationView, Vec<MessageView>)> {
        actor.require(Permission::ArchiveAudit)?;
        let conv = self.store.archive().conversation(actor.tenant, id).await?;
        let messages = self.store.archive().messages(actor.tenant, id, after, limit.clamp(1, 500)).await?;
        self.audit(
            actor,
            AuditEvent {
                action: "archive.view",
                object_type: "conversation",
                object_id: Some(id.to_string()),
                detail: json!({"messages": messages.len()}),
            },
        )
        .await;
        Ok((conv.into(), messages.into_iter().map(Into::into).collect()))
    }

    pub async fn alerts(&self, actor: &Actor, q: &AlertQuery) -> AppResult<(Vec<AlertView>, i64)> {
        actor.require(Permission::ArchiveAudit)?;
        let (rows, total) = self.store.archive().alerts(actor.tenant, q).await?;
        Ok((rows.into_iter().map(Into::into).collect(), total))
    }

    /// An alert and the messages around it.
    pub async fn alert(&self, actor: &Actor, id: AlertId) -> AppResult<(AlertView, Vec<MessageView>)> {
        actor.require(Permission::ArchiveAudit)?;
        let alert = self.store.archive().alert(actor.tenant, id).await?;
        let context = match alert.conversation_id {
            Some(conv) => {
                self.store.archive().context(actor.tenant, ConversationId(conv), alert.occurred_at, CONTEXT).await?
            }
            None => Vec::new(),
        };
        Ok((alert.into(), context.into_iter().map(Into::into).collect()))
    }

    /// Confirms or dismisses an alert (or opens it again), with a note.
    pub async fn judge_alert(&self, actor: &Actor, id: AlertId, verdict: &AlertVerdict) -> AppResult<AlertView> {
        actor.require(Permission::ArchiveAudit)?;
        if verdict.note.chars().count() > 500 {
            return Err(AppError::Invalid(Invalid::new("note", "too_long")));
        }
        let now = self.now();
        self.store
            .archive()
            .handle_alert(actor.tenant, id, verdict.status.as_str(), verdict.note.trim(), actor.user, now)
            .await?;
        self.audit(
            actor,
            AuditEvent {
                action: "alert.judge",
                object_type: "alert",
                object_id: Some(id.to_string()),
                detail: json!({"status": verdict.status.as_str()}),
            },
        )
        .await;
        Ok(self.store.archive().alert(actor.tenant, id).await?.into())
    }

    /// Alerts per staff member between `from` and `to`.
    pub async fn alert_stats(
        &self,
        actor: &Actor,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AppResult<Vec<StaffStatRow>> {
        actor.require(Permission::ArchiveAudit)?;
        if to <= from {
            return Err(AppError::Invalid(Invalid::new("to", "before_from")));
        }
        Ok(fold_stats(self.store.archive().staff_stats(actor.tenant, from, to).await?))
    }

    pub async fn alert_digests(&self, actor: &Actor) -> AppResult<Vec<Digest>> {
        actor.require(Permission::ArchiveAudit)?;
        Ok(self.store.archive().digests(actor.tenant, 30).await?)
    }

    /// The archive cursors of the tenant's corps (how far each corp's archive was forwarded).
    pub async fn archive_cursors(&self, actor: &Actor) -> AppResult<Vec<siyu_store::archive::Cursor>> {
        actor.require(Permission::ArchiveAudit)?;
        Ok(self.store.archive().cursors(actor.tenant).await?)
    }

    /// The alerts matching `q` (at most 10 000) as an XLSX workbook, with `headers` as the first row.
    pub async fn alerts_xlsx(&self, actor: &Actor, q: &AlertQuery, headers: &[&str]) -> AppResult<Vec<u8>> {
        actor.require(Permission::ArchiveAudit)?;
        let q = AlertQuery { limit: 10_000, offset: 0, ..q.clone() };
        let (rows, _) = self.store.archive().alerts(actor.tenant, &q).await?;
        let offset = self.tenant_offset(actor.tenant).await?;
        let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::internal(e);
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book.add_worksheet();
        crate::transfer::xlsx_headers(ws, headers, |i| if i >= 6 { 40.0 } else { 16.0 }).map_err(xlsx)?;
        for (r, a) in rows.iter().enumerate() {
            let place = a.group_name.clone().or(a.customer_name.clone()).unwrap_or_default();
            let cells = [
                a.occurred_at.with_timezone(&offset).format("%Y-%m-%d %H:%M").to_string(),
                a.rule_name.clone().unwrap_or_default(),
                a.kind.clone(),
                a.staff_name.clone().or(a.staff_userid.clone()).unwrap_or_default(),
                place,
                a.status.clone(),
                a.detail.clone(),
                a.excerpt.clone(),
                a.note.clone(),
            ];
            for (c, v) in cells.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, v).map_err(xlsx)?;
            }
        }
        self.audit(
            actor,
            AuditEvent {
                action: "alert.export",
                object_type: "archive",
                object_id: None,
                detail: json!({"rows": rows.len()}),
            },
        )
        .await;
        book.save_to_buffer().map_err(xlsx)
    }
}
