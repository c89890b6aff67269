//! App messages to staff (reference/wecom.md §4.11), the JS-SDK tickets (§8) and the staff behaviour data
//! (§4.10).

use serde::{Deserialize, Serialize};

use super::common::{Text, check_bytes, check_count, check_present, flag};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// The longest text or markdown app message, in bytes.
pub const APP_MESSAGE_MAX_BYTES: usize = 2_048;
/// The most staff of one app message.
pub const APP_MESSAGE_MAX_USERS: usize = 1_000;

/// The body of an app message; on the wire `"msgtype":"text","text":{…}` beside the recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum AppMessageBody {
    /// Plain text, ≤2,048 bytes.
    Text {
        /// The text.
        text: Text,
    },
    /// A card with a link.
    Textcard {
        /// The card.
        textcard: TextCard,
    },
    /// Markdown (a WeCom subset), ≤2,048 bytes.
    Markdown {
        /// The markdown source.
        markdown: Text,
    },
}

/// The card of a `textcard` message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextCard {
    /// The title.
    pub title: String,
    /// The description (a little HTML allowed).
    pub description: String,
    /// Where a tap goes.
    pub url: String,
    /// The button text (default 详情).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btntxt: Option<String>,
}

/// The body of `message/send`. Build it with [`AppMessage::new`] and the `to_*` methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppMessage {
    /// Userids joined with `|`, or `@all`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub touser: Option<String>,
    /// Department ids joined with `|`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toparty: Option<String>,
    /// Tag ids joined with `|`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totag: Option<String>,
    /// The message.
    #[serde(flatten)]
    pub body: AppMessageBody,
    /// The sending app; the credentials' agent id when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agentid: Option<i64>,
    /// Drop a repeat of the same message within the check interval (default 1800 s).
    #[serde(default, with = "flag", skip_serializing_if = "std::ops::Not::not")]
    pub enable_duplicate_check: bool,
    /// The duplicate-check interval in seconds (≤4 h).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_check_interval: Option<u32>,
}

impl AppMessage {
    /// A message of `body` with no recipient yet.
    pub fn new(body: AppMessageBody) -> Self {
        AppMessage {
            touser: None,
            toparty: None,
            totag: None,
            body,
            agentid: None,
            enable_duplicate_check: false,
            duplicate_check_interval: None,
        }
    }

    /// To these staff (joined with `|`).
    pub fn to_users<S: AsRef<str>>(mut self, userids: &[S]) -> Self {
        self.touser = Some(join(userids.iter().map(AsRef::as_ref)));
        self
    }

    /// To these departments.
    pub fn to_parties(mut self, party_ids: &[i64]) -> Self {
        self.toparty = Some(join(party_ids.iter().map(i64::to_string)));
        self
    }

    /// To the members of these tags.
    pub fn to_tags(mut self, tag_ids: &[i64]) -> Self {
        self.totag = Some(join(tag_ids.iter().map(i64::to_string)));
        self
    }

    /// Checks that there is a recipient, ≤1,000 staff, and the text or markdown length.
    pub fn validate(&self) -> Result<(), WecomError> {
        let present = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
        check_present(
            "touser, toparty or totag",
            present(&self.touser) || present(&self.toparty) || present(&self.totag),
        )?;
        let users = self.touser.as_deref().map_or(0, |s| s.split('|').filter(|u| !u.is_empty()).count());
        check_count("touser", users, APP_MESSAGE_MAX_USERS)?;
        match &self.body {
            AppMessageBody::Text { text } => check_bytes("text.content", &text.content, APP_MESSAGE_MAX_BYTES),
            AppMessageBody::Markdown { markdown } => {
                check_bytes("markdown.content", &markdown.content, APP_MESSAGE_MAX_BYTES)
            }
            AppMessageBody::Textcard { textcard } => check_present("textcard.url", !textcard.url.is_empty()),
        }
    }
}

fn join<S: AsRef<str>>(items: impl Iterator<Item = S>) -> String {
    items.map(|s| s.as_ref().to_owned()).collect::<Vec<_>>().join("|")
}

/// What `message/send` returns: the recipients it could not reach, `|`-joined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageSendResult {
    /// Unknown userids.
    pub invaliduser: String,
    /// Unknown departments.
    pub invalidparty: String,
    /// Unknown tags.
    pub invalidtag: String,
    /// Staff without a licence.
    pub unlicenseduser: String,
    /// The message id (to recall it).
    pub msgid: String,
    /// For updating template cards.
    pub response_code: String,
}

/// A JS-SDK ticket (cache it: 400/h per corp, 100/h per app).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ticket {
    /// The ticket.
    pub ticket: String,
    /// Its lifetime in seconds (normally 7200).
    pub expires_in: i64,
}

/// The body of `get_user_behavior_data`: staff and/or departments (≤100 each) over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviorRequest {
    /// Staff userids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub userid: Vec<String>,
    /// Department ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partyid: Vec<i64>,
    /// The first day (unix seconds).
    pub start_time: i64,
    /// The last day (unix seconds).
    pub end_time: i64,
}

/// One day of `get_user_behavior_data`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BehaviorData {
    /// The day (its 00:00, unix seconds).
    pub stat_time: i64,
    /// Chats.
    pub chat_cnt: i64,
    /// Messages sent.
    pub message_cnt: i64,
    /// Share of chats replied to, in percent.
    pub reply_percentage: f64,
    /// Average first reply time, in minutes.
    pub avg_reply_time: f64,
    /// Customers who deleted or blocked the staff.
    pub negative_feedback_cnt: i64,
    /// Friend requests sent.
    pub new_apply_cnt: i64,
    /// New customers.
    pub new_contact_cnt: i64,
}

#[derive(Deserialize)]
struct BehaviorReply {
    #[serde(default)]
    behavior_data: Vec<BehaviorData>,
}

impl Client {
    /// `message/send`: an app message to staff (the agent id of `creds` when the message has none).
    pub async fn message_send(
        &self,
        creds: &CorpCredentials,
        message: &AppMessage,
    ) -> Result<MessageSendResult, WecomError> {
        message.validate()?;
        if message.agentid.is_some() {
            return self.post(creds, "message/send", message).await;
        }
        let agentid = creds.agent_id.ok_or_else(|| WecomError::Invalid("agentid is required".into()))?;
        let message = AppMessage { agentid: Some(agentid), ..message.clone() };
        self.post(creds, "message/send", &message).await
    }

    /// GET `get_jsapi_ticket`: the corp ticket for `wx.config`.
    pub async fn get_jsapi_ticket(&self, creds: &CorpCredentials) -> Result<Ticket, WecomError> {
        self.get(creds, "get_jsapi_ticket", &[]).await
    }

    /// GET `ticket/get?type=agent_config`: the app ticket for `wx.agentConfig` (the sidebar needs it).
    pub async fn get_agent_ticket(&self, creds: &CorpCredentials) -> Result<Ticket, WecomError> {
        self.get(creds, "ticket/get", &[("type", "agent_config".to_owned())]).await
    }

    /// `externalcontact/get_user_behavior_data`: one row per day.
    pub async fn user_behavior_data(
        &self,
        creds: &CorpCredentials,
        request: &BehaviorRequest,
    ) -> Result<Vec<BehaviorData>, WecomError> {
        check_present("userid or partyid", !request.userid.is_empty() || !request.partyid.is_empty())?;
        check_count("userid", request.userid.len(), 100)?;
        check_count("partyid", request.partyid.len(), 100)?;
        let reply: BehaviorReply = self.post(creds, "externalcontact/get_user_behavior_data", request).await?;
        Ok(reply.behavior_data)
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
