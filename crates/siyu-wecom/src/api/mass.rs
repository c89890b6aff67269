//! Mass send (企业群发, reference/wecom.md §4.6): creating a task, which each sender must still confirm in their
//! client, and following it (the list, per-sender tasks, per-recipient results, reminders, cancel).
//! Moments are in `moments.rs`.

use serde::{Deserialize, Serialize};

use super::common::{Empty, Text, check_bytes, check_count, check_present, lenient_i64};
use super::welcome::{Attachment, check_attachments};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// The most customers of one mass send.
pub const MASS_MAX_CUSTOMERS: usize = 10_000;
/// The most groups of one mass send.
pub const MASS_MAX_CHATS: usize = 2_000;
/// The longest mass-send text, in bytes.
pub const MASS_TEXT_MAX_BYTES: usize = 4_000;

/// To customers one by one, or to customer groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatType {
    /// To customers (`external_userid`, `tag_filter`).
    #[default]
    Single,
    /// To the groups of `sender` (`chat_id_list`).
    Group,
}

/// Tags selecting customers: a customer matches every group (AND) with any tag of it (OR).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagFilter {
    /// The tag groups.
    pub group_list: Vec<TagFilterGroup>,
}

/// One group of a [`TagFilter`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagFilterGroup {
    /// Tag ids.
    pub tag_list: Vec<String>,
}

/// The body of `add_msg_template`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsgTemplate {
    /// `single` or `group`.
    pub chat_type: ChatType,
    /// The customers (≤10,000).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_userid: Vec<String>,
    /// The groups (≤2,000; `group` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chat_id_list: Vec<String>,
    /// Customers by tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_filter: Option<TagFilter>,
    /// The staff who sends (required for `group`; without it each customer goes to whoever last chatted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Let the sender pick recipients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_select: Option<bool>,
    /// The text, ≤4,000 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    /// Up to nine attachments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl MsgTemplate {
    /// Checks the documented sizes, that there is something to send, and a `sender` for group sends.
    pub fn validate(&self) -> Result<(), WecomError> {
        check_count("external_userid", self.external_userid.len(), MASS_MAX_CUSTOMERS)?;
        check_count("chat_id_list", self.chat_id_list.len(), MASS_MAX_CHATS)?;
        let text = self.text.as_ref().map(|t| t.content.as_str()).unwrap_or_default();
        check_bytes("text.content", text, MASS_TEXT_MAX_BYTES)?;
        check_attachments(&self.attachments)?;
        check_present("text or attachments", !text.is_empty() || !self.attachments.is_empty())?;
        if self.chat_type == ChatType::Group {
            check_present("sender", self.sender.as_deref().is_some_and(|s| !s.is_empty()))?;
        }
        Ok(())
    }
}

/// What `add_msg_template` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgTemplateResult {
    /// Recipients who cannot receive it.
    pub fail_list: Vec<String>,
    /// The mass send's id.
    pub msgid: String,
}

/// The body of `get_groupmsg_list_v2`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMsgListRequest {
    /// `single` or `group`.
    pub chat_type: ChatType,
    /// Created at or after (unix seconds).
    pub start_time: i64,
    /// Created before (unix seconds).
    pub end_time: i64,
    /// Only those of this creator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// 0 corp-created, 1 personal, 2 all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_type: Option<i64>,
    /// Empty for the first page.
    pub cursor: String,
    /// Page size, ≤100.
    pub limit: u32,
}

/// One mass send of `get_groupmsg_list_v2`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMsg {
    /// The mass send's id.
    pub msgid: String,
    /// Who created it.
    pub creator: String,
    /// When (unix seconds).
    #[serde(deserialize_with = "lenient_i64")]
    pub create_time: i64,
    /// 0 by the corp, 1 by a staff member.
    pub create_type: i64,
    /// The text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    /// The attachments.
    pub attachments: Vec<Attachment>,
}

/// A page of `get_groupmsg_list_v2`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMsgPage {
    /// The mass sends of this page.
    pub group_msg_list: Vec<GroupMsg>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// One sender's task of a mass send.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMsgTask {
    /// The sender.
    pub userid: String,
    /// 0 not sent, 2 sent.
    pub status: i64,
    /// When it was sent (unix seconds; 0 if not).
    #[serde(deserialize_with = "lenient_i64")]
    pub send_time: i64,
}

/// A page of `get_groupmsg_task`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMsgTaskPage {
    /// The tasks of this page.
    pub task_list: Vec<GroupMsgTask>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// One recipient of a sender's task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SendResult {
    /// The customer (single sends).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub external_userid: String,
    /// The group (group sends).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub chat_id: String,
    /// The sender.
    pub userid: String,
    /// 0 not sent, 1 sent, 2 not a friend, 3 the customer reached the reception cap.
    pub status: i64,
    /// When it was sent (unix seconds; 0 if not).
    #[serde(deserialize_with = "lenient_i64")]
    pub send_time: i64,
}

/// A page of `get_groupmsg_send_result`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SendResultPage {
    /// The recipients of this page.
    pub send_list: Vec<SendResult>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

#[derive(Serialize)]
struct TaskRequest<'a> {
    msgid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    userid: Option<&'a str>,
    cursor: &'a str,
    limit: u32,
}

#[derive(Serialize)]
struct MsgId<'a> {
    msgid: &'a str,
}

impl Client {
    /// `externalcontact/add_msg_template`, after checking the sizes. Nothing is sent until each sender confirms.
    pub async fn add_msg_template(
        &self,
        creds: &CorpCredentials,
        template: &MsgTemplate,
    ) -> Result<MsgTemplateResult, WecomError> {
        template.validate()?;
        self.post(creds, "externalcontact/add_msg_template", template).await
    }

    /// `externalcontact/get_groupmsg_list_v2`: a page of mass sends, `limit` ≤100.
    pub async fn get_groupmsg_list_v2(
        &self,
        creds: &CorpCredentials,
        request: &GroupMsgListRequest,
    ) -> Result<GroupMsgPage, WecomError> {
        check_count("limit", request.limit as usize, 100)?;
        self.post(creds, "externalcontact/get_groupmsg_list_v2", request).await
    }

    /// `externalcontact/get_groupmsg_task`: a page of the senders of `msgid`, `limit` ≤1000.
    pub async fn get_groupmsg_task(
        &self,
        creds: &CorpCredentials,
        msgid: &str,
        cursor: &str,
        limit: u32,
    ) -> Result<GroupMsgTaskPage, WecomError> {
        check_count("limit", limit as usize, 1000)?;
        let body = TaskRequest { msgid, userid: None, cursor, limit };
        self.post(creds, "externalcontact/get_groupmsg_task", &body).await
    }

    /// `externalcontact/get_groupmsg_send_result`: a page of the recipients of sender `userid`, `limit` ≤1000.
    pub async fn get_groupmsg_send_result(
        &self,
        creds: &CorpCredentials,
        msgid: &str,
        userid: &str,
        cursor: &str,
        limit: u32,
    ) -> Result<SendResultPage, WecomError> {
        check_count("limit", limit as usize, 1000)?;
        let body = TaskRequest { msgid, userid: Some(userid), cursor, limit };
        self.post(creds, "externalcontact/get_groupmsg_send_result", &body).await
    }

    /// `externalcontact/remind_groupmsg_send`: reminds the senders who have not sent (≤3 per 24 h).
    pub async fn remind_groupmsg_send(&self, creds: &CorpCredentials, msgid: &str) -> Result<(), WecomError> {
        let _: Empty = self.post(creds, "externalcontact/remind_groupmsg_send", &MsgId { msgid }).await?;
        Ok(())
    }

    /// `externalcontact/cancel_groupmsg_send`: stops the senders who have not sent.
    pub async fn cancel_groupmsg_send(&self, creds: &CorpCredentials, msgid: &str) -> Result<(), WecomError> {
        let _: Empty = self.post(creds, "externalcontact/cancel_groupmsg_send", &MsgId { msgid }).await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "mass_tests.rs"]
mod tests;
