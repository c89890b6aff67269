//! Ingesting archived messages and checking them against the message rules as they arrive.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use siyu_domain::access::Permission;
use siyu_domain::archive::behaviour::{find_links, find_phones, host_matches, is_qr_link};
use siyu_domain::archive::{Action, ArchivedMessage, ConversationKey, Party, RuleKind};
use siyu_domain::id::{CorpId, TenantId};
use siyu_store::archive::{Conversation, ConversationUpsert, NewAlert, NewMessage};

use super::rules::CompiledRule;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Items accepted per call (WeCom's GetChatData returns at most 1000).
pub const MAX_ITEMS: usize = 1000;
/// Characters of message text kept as an alert's excerpt around a hit.
const EXCERPT_CHARS: usize = 30;

/// A batch of archived messages of one corp, in the decrypted shape of reference/wecom.md §7.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct IngestInput {
    /// WeCom's corp id (`ww…`) of a connected corp.
    pub corp_id: String,
    /// `{"seq", "publickey_ver", "message": {…}}` each; read one by one so a bad item rejects only itself.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

/// An item that was not stored, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RejectedItem {
    pub index: usize,
    pub code: String,
    pub message: String,
}

/// What a batch did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct IngestResult {
    /// New messages stored.
    pub accepted: usize,
    /// Messages the corp already had (same msgid): left as they were.
    pub duplicates: usize,
    /// Switch logs (no conversation): counted, not stored.
    pub skipped: usize,
    pub rejected: Vec<RejectedItem>,
    /// The corp's highest seq after this batch: where the next pull starts.
    pub max_seq: i64,
    /// Alerts raised by this batch.
    pub alerts: usize,
}

fn reject(index: usize, code: &str, message: impl Into<String>) -> RejectedItem {
    RejectedItem { index, code: code.into(), message: message.into() }
}

/// What a rule found in a message: the detail shown to auditors and the text around it.
pub(super) struct Finding {
    pub(super) detail: String,
    pub(super) excerpt: String,
}

fn excerpt_at(text: &str, start: usize, end: usize) -> String {
    let before: String =
        text[..start].chars().rev().take(EXCERPT_CHARS).collect::<Vec<_>>().into_iter().rev().collect();
    let after: String = text[end..].chars().take(EXCERPT_CHARS).collect();
    format!("{before}【{}】{after}", &text[start..end])
}

fn head(text: &str) -> String {
    text.chars().take(EXCERPT_CHARS * 2).collect()
}

/// Whether `rule` looks at a message of this sender in this kind of conversation.
fn applies(rule: &CompiledRule, key: &ConversationKey, sender: Party) -> bool {
    let in_group = matches!(key, ConversationKey::Room(_));
    if rule.kind.is_group() && !in_group {
        return false;
    }
    if !rule.kind.is_group() && rule.kind != RuleKind::Words && matches!(key, ConversationKey::Internal(..)) {
        return false;
    }
    rule.config.senders(rule.kind).includes(sender)
}

/// Runs one message rule over a message.
fn check(rule: &CompiledRule, m: &ArchivedMessage, payload: &Value) -> Option<Finding> {
    let text = m.text.as_str();
    let links = || {
        let mut all: Vec<(String, String, String)> =
            find_links(text).into_iter().map(|l| (l.url, l.host, l.path)).collect();
        for url in &m.link_urls {
            if let Some((host, path)) = siyu_domain::archive::behaviour::host_and_path(url)
                && !all.iter().any(|(u, ..)| u == url)
            {
                all.push((url.clone(), host, path));
            }
        }
        all
    };
    match rule.kind {
        RuleKind::Words | RuleKind::GroupWords => {
            let hits = rule.scanner.as_ref()?.scan(text);
            let first = hits.first()?;
            let words: BTreeSet<&str> = hits.iter().map(|h| h.word.as_str()).collect();
            Some(Finding {
                detail: words.into_iter().collect::<Vec<_>>().join("、"),
                excerpt: excerpt_at(text, first.start, first.end),
            })
        }
        RuleKind::Phone => {
            let phones = find_phones(text);
            let first = phones.first()?;
            let masked: Vec<String> = phones.iter().map(|p| siyu_domain::phone::mask(&p.digits)).collect();
            let excerpt = excerpt_at(text, first.range.start, first.range.end)
                .replace(&text[first.range.clone()], &siyu_domain::phone::mask(&first.digits));
            Some(Finding { detail: masked.join("、"), excerpt })
        }
        RuleKind::RedPacket => matches!(m.msgtype.as_str(), "redpacket" | "external_redpacket").then(|| {
            let body = payload.get(&m.msgtype);
            let fen = body.and_then(|b| b.get("totalamount")).and_then(Value::as_i64).unwrap_or(0);
            let count = body.and_then(|b| b.get("totalcnt")).and_then(Value::as_i64).unwrap_or(0);
            Finding { detail: format!("¥{}.{:02} × {count}", fen / 100, fen % 100), excerpt: head(text) }
        }),
        RuleKind::Card | RuleKind::GroupCard => {
            (m.msgtype == "card").then(|| Finding { detail: head(text), excerpt: head(text) })
        }
        RuleKind::GroupWeapp => (m.msgtype == "weapp").then(|| Finding { detail: head(text), excerpt: head(text) }),
        RuleKind::CompetitorLink => {
            let hit =
                links().into_iter().find(|(_, host, _)| rule.config.domains.iter().any(|d| host_matches(host, d)))?;
            Some(Finding { detail: hit.1, excerpt: head(text) })
        }
        RuleKind::GroupLink => {
            let hit = links().into_iter().find(|(_, host, path)| {
                !is_qr_link(host, path) && !rule.config.domains.iter().any(|d| host_matches(host, d))
            })?;
            Some(Finding { detail: hit.1, excerpt: head(text) })
        }
        RuleKind::GroupQr => {
            let hit = links().into_iter().find(|(_, host, path)| is_qr_link(host, path))?;
            Some(Finding { detail: hit.0, excerpt: head(text) })
        }
        RuleKind::DeleteCustomer | RuleKind::ResponseTime | RuleKind::GroupFlood => None,
    }
}

impl App {
    /// Stores a batch of archived messages of one corp and checks each new one against the rules.
    pub async fn ingest_archive(&self, actor: &Actor, input: &IngestInput) -> AppResult<IngestResult> {
        actor.require(Permission::ArchiveManage)?;
        if input.items.len() > MAX_ITEMS {
            return Err(AppError::Invalid(siyu_domain::Invalid::new("items", format!("at_most_{MAX_ITEMS}"))));
        }
        let corp = self
            .store
            .wecom()
            .corp_by_corp_id(actor.tenant, input.corp_id.trim())
            .await?
            .ok_or_else(|| AppError::Invalid(siyu_domain::Invalid::new("corp_id", "not_connected")))?;
        self.ingest_items(actor.tenant, corp.id, &corp.corp_id, &input.items).await
    }

    /// The ingest of a corp's items (the API and the CLI end here).
    pub async fn ingest_items(
        &self,
        tenant: TenantId,
        corp: CorpId,
        corp_id: &str,
        items: &[Value],
    ) -> AppResult<IngestResult> {
        let rules = self.rule_set(tenant).await?;
        let store = self.store.archive();
        let mut out = IngestResult::default();
        let mut max_seq = 0;
        let mut last_msg_at: Option<DateTime<Utc>> = None;
        let mut notify = false;
        let mut indexed: Vec<siyu_search::SearchDoc> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let Some(seq) = item.get("seq").and_then(Value::as_i64).filter(|s| *s >= 0) else {
                out.rejected.push(reject(index, "invalid_seq", "seq must be a non-negative integer"));
                continue;
            };
            let Some(payload) = item.get("message").filter(|m| m.is_object()) else {
                out.rejected.push(reject(index, "missing_message", "message must be an object"));
                continue;
            };
            let m = match ArchivedMessage::parse(payload) {
                Ok(m) => m,
                Err(e) => {
                    out.rejected.push(reject(index, "invalid_message", e.to_string()));
                    continue;
                }
            };
            max_seq = max_seq.max(seq);
            let Some(key) = m.conversation() else {
                out.skipped += 1;
                continue;
            };
            let (staff, customer, room) = match &key {
                ConversationKey::Single { staff, customer } => (Some(staff.as_str()), Some(customer.as_str()), None),
                ConversationKey::Room(r) => (None, None, Some(r.as_str())),
                ConversationKey::Internal(..) => (None, None, None),
            };
            let conv_key = key.key();
            let upsert = ConversationUpsert {
                corp,
                corp_id,
                key: &conv_key,
                kind: key.kind(),
                staff_userid: staff,
                external_userid: customer,
                roomid: room,
                at: m.msgtime,
            };
            let conversation = store.upsert_conversation(tenant, &upsert).await?;
            let payload_text = payload.to_string();
            let new = NewMessage {
                id: uuid::Uuid::now_v7(),
                corp,
                conversation: Some(conversation),
                msgid: &m.msgid,
                seq,
                action: m.action.as_str(),
                msgtype: &m.msgtype,
                sender: &m.from,
                sender_party: m.sender().as_str(),
                msgtime: m.msgtime,
                body: &m.text,
                payload: &payload_text,
            };
            if !store.insert_message(tenant, &new, self.now()).await? {
                out.duplicates += 1;
                continue;
            }
            out.accepted += 1;
            if !m.text.is_empty() {
                indexed.push(crate::search::chat_doc(new.id, Some(conversation.0), &m.text, m.msgtime));
            }
            last_msg_at = Some(last_msg_at.map_or(m.msgtime, |t| t.max(m.msgtime)));
            if let Some(revoked) = &m.revoked {
                store.mark_recalled(tenant, corp, revoked).await?;
            }
            let sender = m.sender();
            let conv = store.conversation(tenant, conversation).await?;
            let waited = store
                .count_message(tenant, &conv, m.msgtime, &m.msgid, sender == Party::Customer, sender == Party::Staff)
                .await?;
            if m.action == Action::Recall {
                continue;
            }
            if let Some((since, waiting)) = waited {
                let minutes = (m.msgtime - since).num_minutes();
                for rule in rules.of_kind(RuleKind::ResponseTime) {
                    if minutes >= i64::from(rule.config.minutes.unwrap_or(30)) {
                        let finding = Finding { detail: format!("{minutes}"), excerpt: head(&m.text) };
                        let key = format!("reply:{}:{waiting}:{}", corp.0, rule.id);
                        let made = self.raise(tenant, rule, &conv, key, Some(waiting.clone()), since, finding).await?;
                        out.alerts += usize::from(made.is_some());
                        notify |= made == Some(true);
                    }
                }
            }
            for rule in rules.rules.iter().filter(|r| r.kind.on_message() && applies(r, &key, sender)) {
                let Some(finding) = check(rule, &m, payload) else { continue };
                let key = format!("msg:{}:{}:{}", corp.0, m.msgid, rule.id);
                let made = self.raise(tenant, rule, &conv, key, Some(m.msgid.clone()), m.msgtime, finding).await?;
                out.alerts += usize::from(made.is_some());
                notify |= made == Some(true);
            }
        }
        let prior = store.cursors(tenant).await?.into_iter().find(|c| c.corp_row_id == corp.0).map_or(0, |c| c.max_seq);
        store.advance_cursor(tenant, corp, max_seq, out.accepted as i64, last_msg_at, self.now()).await?;
        out.max_seq = prior.max(max_seq);
        self.index_new_messages(tenant, indexed).await;
        if notify {
            self.notify_staff_soon();
        }
        Ok(out)
    }

    /// Makes an alert for a conversation unless its key exists; `Some(told_owner)` when it was new.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn raise(
        &self,
        tenant: TenantId,
        rule: &CompiledRule,
        conv: &Conversation,
        dedupe_key: String,
        msgid: Option<String>,
        occurred_at: DateTime<Utc>,
        finding: Finding,
    ) -> AppResult<Option<bool>> {
        // A group chat's staff member is its owner, whatever the rule.
        let owner = if rule.kind.is_group() || conv.kind == "group" {
            conv.group_owner.clone()
        } else {
            conv.staff_userid.clone()
        };
        let alert = NewAlert {
            rule_id: rule.id,
            kind: rule.kind.as_str().into(),
            dedupe_key,
            corp: Some(conv.corp_row_id),
            conversation: Some(conv.id),
            msgid,
            staff_userid: owner.clone(),
            customer: conv.customer_id,
            group: conv.group_id,
            detail: finding.detail,
            excerpt: finding.excerpt,
            occurred_at,
        };
        let Some(id) = self.store.archive().insert_alert(tenant, &alert, self.now()).await? else {
            return Ok(None);
        };
        let told = match (rule.config.notifies_owner(rule.kind), owner) {
            (true, Some(owner)) => {
                let where_ = conv.group_name.clone().or(conv.customer_name.clone()).unwrap_or_default();
                self.queue_alert_notice(
                    tenant,
                    CorpId(conv.corp_row_id),
                    &owner,
                    id,
                    &rule.name,
                    &where_,
                    &alert.excerpt,
                )
                .await?
            }
            _ => false,
        };
        Ok(Some(told))
    }

    /// Queues an app message telling `userid` of an alert (once per alert); whether one was queued.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue_alert_notice(
        &self,
        tenant: TenantId,
        corp: CorpId,
        userid: &str,
        alert: siyu_domain::id::AlertId,
        rule_name: &str,
        place: &str,
        excerpt: &str,
    ) -> AppResult<bool> {
        let Some(staff) = self.store.wecom().staff_by_userid(tenant, corp, userid).await? else {
            return Ok(false);
        };
        let content = format!("【会话预警·{rule_name}】{place}\n{excerpt}");
        let key = format!("alert:{}", alert.0);
        self.queue_text_notice(tenant, corp, userid, staff.user_id, &key, content).await
    }
}
