//! Mass sends to customer groups (chat_type `group`), and what customer and group sends share.
//!
//! A group send's audience is the live groups of some owners (optionally by name); each owner sends one
//! `add_msg_template` per ≤2,000 of their groups with `chat_id_list` (reference/wecom.md §4.6), so every group
//! is recorded, sent at most once (the same claimed chunks as a customer send) and has its own result
//! (`get_groupmsg_send_result` rows carry `chat_id`). Here too: pulling results back, the recipients and
//! per-sender tallies the console shows, and an audience's size before a send is created.

use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, MassSendId, TenantId};
use siyu_domain::wecom::mass::{self, Audience, MassCounts, MassRecipient, MassSend};
use siyu_wecom::api::{ChatType, MsgTemplate, SendResult, Text};

use super::{MassSendInput, MassSendView};
use crate::error::{AppError, AppResult};
use crate::wecom::CorpHandle;
use crate::{Actor, App};

/// Customers or groups of a send.
pub(super) fn chat_type(send: &MassSend) -> ChatType {
    if send.audience.groups.is_some() { ChatType::Group } else { ChatType::Single }
}

/// A result row's recipient: the customer, or the group.
pub(super) fn target(r: &SendResult) -> &String {
    if r.chat_id.is_empty() { &r.external_userid } else { &r.chat_id }
}

/// The `add_msg_template` body of one chunk: `targets` are external_userids or chat_ids.
pub(super) fn template_for(send: &MassSend, sender: &str, targets: Vec<String>) -> MsgTemplate {
    let (external_userid, chat_id_list) =
        if send.audience.groups.is_some() { (Vec::new(), targets) } else { (targets, Vec::new()) };
    MsgTemplate {
        chat_type: chat_type(send),
        external_userid,
        chat_id_list,
        sender: Some(sender.to_owned()),
        text: (!send.content.text.trim().is_empty()).then(|| Text { content: send.content.text.clone() }),
        attachments: send.content.attachments.iter().filter_map(|a| serde_json::from_value(a.clone()).ok()).collect(),
        ..MsgTemplate::default()
    }
}

/// One sender's recipients by state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SenderCounts {
    /// The staff member (userid; absent for customers without one).
    pub sender: Option<String>,
    pub counts: MassCounts,
}

/// The audience a send would have.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MassPreviewInput {
    pub corp: CorpId,
    #[serde(default)]
    pub audience: Audience,
}

/// How many recipients an audience holds now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MassPreview {
    /// Customers (or groups) in the audience.
    pub total: i64,
    /// Of them, those a WeCom staff member of the corp can send to.
    pub reachable: i64,
}

impl App {
    /// Recipients by state, customers and groups together.
    pub(super) async fn mass_counts_all(&self, tenant: TenantId, id: MassSendId) -> AppResult<MassCounts> {
        let mut counts = self.store.wecom().mass_counts(tenant, id).await?;
        for (status, n) in self.store.wecom().mass_group_counts(tenant, id).await? {
            counts.add(&status, n);
        }
        Ok(counts)
    }

    /// A group audience names owners who are staff of the corp and no customer filters.
    pub(super) async fn check_group_audience(&self, tenant: TenantId, input: &MassSendInput) -> AppResult<()> {
        let Some(groups) = &input.audience.groups else { return Ok(()) };
        let a = &input.audience;
        if a.segment.is_some() || !a.tag_ids.is_empty() || !a.staff.is_empty() {
            return Err(AppError::invalid("groups", "a group send takes no customer filters"));
        }
        for userid in &groups.owners {
            if self.store.wecom().staff_by_userid(tenant, input.corp, userid).await?.is_none() {
                return Err(AppError::invalid("owners", format!("unknown staff {userid}")));
            }
        }
        Ok(())
    }

    pub(super) async fn chunk_targets(&self, tenant: TenantId, send: &MassSend, chunk: i64) -> AppResult<Vec<String>> {
        let wecom = self.store.wecom();
        Ok(if send.audience.groups.is_some() {
            wecom.group_chunk_recipients(tenant, send.id, chunk).await?
        } else {
            wecom.chunk_recipients(tenant, send.id, chunk).await?
        })
    }

    pub(super) async fn finish_targets(
        &self,
        tenant: TenantId,
        send: &MassSend,
        chunk: i64,
        msgid: &str,
        fail_list: &[String],
    ) -> AppResult<()> {
        let (wecom, now) = (self.store.wecom(), self.now());
        if send.audience.groups.is_some() {
            wecom.finish_group_chunk(tenant, send.id, chunk, msgid, fail_list, now).await?;
        } else {
            wecom.finish_chunk(tenant, send.id, chunk, msgid, fail_list, now).await?;
        }
        Ok(())
    }

    pub(super) async fn fail_targets(&self, tenant: TenantId, send: &MassSend, chunk: i64, e: &str) -> AppResult<()> {
        Ok(self.store.wecom().fail_chunk(tenant, send.id, chunk, e).await?)
    }

    /// Pulls per-recipient results back from WeCom (delivered, not a friend or the group gone, over WeCom's
    /// monthly cap).
    pub async fn refresh_mass_results(&self, actor: &Actor, id: MassSendId) -> AppResult<MassSendView> {
        actor.require(Permission::CustomersRead)?;
        let send = self.store.wecom().mass_send(actor.tenant, id).await?;
        let handle = self.corp_handle(actor.tenant, send.corp).await?;
        for chunk in self.store.wecom().mass_chunks(actor.tenant, id).await? {
            let Some(msgid) = &chunk.msgid else { continue };
            let results: Vec<(String, &'static str)> = self
                .send_results(&handle, msgid, &chunk.sender)
                .await?
                .into_iter()
                .filter_map(|(to, status)| mass::result_status(status).map(|s| (to, s)))
                .collect();
            let (wecom, now) = (self.store.wecom(), self.now());
            if send.audience.groups.is_some() {
                wecom.set_group_mass_results(actor.tenant, id, &results, now).await?;
            } else {
                wecom.set_mass_results(actor.tenant, id, &results, now).await?;
            }
        }
        self.mass_send(actor, id).await
    }

    async fn send_results(&self, handle: &CorpHandle, msgid: &str, sender: &str) -> AppResult<Vec<(String, i64)>> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = handle
                .client
                .get_groupmsg_send_result(&handle.contact, msgid, sender, &cursor, 1000)
                .await
                .map_err(crate::wecom::wecom_error)?;
            out.extend(page.send_list.iter().map(|r| (target(r).clone(), r.status)));
            if page.next_cursor.is_empty() {
                return Ok(out);
            }
            cursor = page.next_cursor;
        }
    }

    /// The recipients of a send (customers or groups) with their states, `status` only if given.
    pub async fn mass_recipients(
        &self,
        actor: &Actor,
        id: MassSendId,
        status: Option<&str>,
        limit: i64,
    ) -> AppResult<Vec<MassRecipient>> {
        actor.require(Permission::CustomersRead)?;
        self.store.wecom().mass_send(actor.tenant, id).await?;
        Ok(self.store.wecom().mass_recipients(actor.tenant, id, status, limit.clamp(1, 1000)).await?)
    }

    /// Recipients per sender and state.
    pub async fn mass_senders(&self, actor: &Actor, id: MassSendId) -> AppResult<Vec<SenderCounts>> {
        actor.require(Permission::CustomersRead)?;
        self.store.wecom().mass_send(actor.tenant, id).await?;
        let mut out: Vec<SenderCounts> = Vec::new();
        for (sender, status, n) in self.store.wecom().mass_sender_tallies(actor.tenant, id).await? {
            match out.last_mut() {
                Some(last) if last.sender == sender => last.counts.add(&status, n),
                _ => {
                    let mut counts = MassCounts::default();
                    counts.add(&status, n);
                    out.push(SenderCounts { sender, counts });
                }
            }
        }
        Ok(out)
    }

    /// How many customers (or groups) an audience holds now, before a send is created.
    pub async fn preview_mass_send(&self, actor: &Actor, input: &MassPreviewInput) -> AppResult<MassPreview> {
        actor.require(Permission::CustomersRead)?;
        self.store
            .wecom()
            .corp(actor.tenant, input.corp)
            .await
            .map_err(|_| AppError::invalid("corp", "unknown corp"))?;
        let (total, reachable) =
            self.store.wecom().mass_audience_size(actor.tenant, input.corp, &input.audience).await?;
        Ok(MassPreview { total, reachable })
    }
}
