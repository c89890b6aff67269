//! 「联系我」 contact ways (reference/wecom.md §4.3) and group join ways (加入群聊, §4.5). Both carry a `state`
//! (≤30 characters) that WeCom echoes back on the customer or member it brings in; both count against the corp's
//! quota of 500,000, so campaigns delete theirs when they end.

use serde::{Deserialize, Serialize};

use super::common::{Empty, check_chars, check_count, check_present};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// The longest `state`, in characters.
pub const STATE_MAX_CHARS: usize = 30;
/// The longest contact-way `remark`, in characters.
pub const REMARK_MAX_CHARS: usize = 30;
/// The most groups one join way may fill.
pub const JOIN_WAY_MAX_CHATS: usize = 5;

/// A contact way as `add_contact_way` takes it and `get_contact_way` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactWay {
    /// The way's id (set by WeCom; empty when adding).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub config_id: String,
    /// 1 single staff member (exactly one `user`), 2 several.
    #[serde(rename = "type")]
    pub kind: i64,
    /// 1 mini-program button (`style`), 2 QR code.
    pub scene: i64,
    /// The mini-program button style (scene 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<i64>,
    /// A note for the console, ≤30 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Add without the staff's confirmation (WeCom's default is true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_verify: Option<bool>,
    /// Echoed on the customers this way brings, ≤30 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The staff userids behind the way.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user: Vec<String>,
    /// The departments behind the way (type 2).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub party: Vec<i64>,
    /// Each customer goes to one staff member only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_exclusive: Option<bool>,
    /// A temporary-session way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_temp: Option<bool>,
    /// Temporary session: the QR code's lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// Temporary session: the chat's lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_expires_in: Option<i64>,
    /// Temporary session: the only customer allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Temporary session: the closing messages, as WeCom shapes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conclusions: Option<serde_json::Value>,
    /// The QR code URL (scene 2; set by WeCom).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub qr_code: String,
}

impl ContactWay {
    /// Checks `state`, `remark` and, for a single-staff way, that there is exactly one `user`.
    pub fn validate(&self) -> Result<(), WecomError> {
        check_chars("state", self.state.as_deref().unwrap_or_default(), STATE_MAX_CHARS)?;
        check_chars("remark", self.remark.as_deref().unwrap_or_default(), REMARK_MAX_CHARS)?;
        if self.kind == 1 && self.user.len() != 1 {
            return Err(WecomError::Invalid("a single-staff contact way (type 1) takes exactly one user".into()));
        }
        check_present("user or party", !self.user.is_empty() || !self.party.is_empty())
    }
}

/// The body of `update_contact_way`: `None` leaves a field as it is; lists replace the old ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateContactWayRequest {
    /// The way to update.
    pub config_id: String,
    /// A note, ≤30 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Add without confirmation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_verify: Option<bool>,
    /// The mini-program button style.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<i64>,
    /// The new `state`, ≤30 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The new staff list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Vec<String>>,
    /// The new department list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub party: Option<Vec<i64>>,
    /// Each customer goes to one staff member only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_exclusive: Option<bool>,
    /// Temporary session: the QR code's lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// Temporary session: the chat's lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_expires_in: Option<i64>,
    /// Temporary session: the only customer allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Temporary session: the closing messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conclusions: Option<serde_json::Value>,
}

/// What `add_contact_way` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactWayCreated {
    /// The new way's id.
    pub config_id: String,
    /// Its QR code URL (scene 2).
    pub qr_code: String,
}

/// The body of `list_contact_way` (without times: the last 90 days).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListContactWayRequest {
    /// Created at or after (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// Created before (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Empty for the first page.
    pub cursor: String,
    /// Page size, ≤1000.
    pub limit: u32,
}

/// One id of `list_contact_way`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactWayId {
    /// The way's id.
    pub config_id: String,
}

/// A page of `list_contact_way`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactWayPage {
    /// The ways of this page.
    pub contact_way: Vec<ContactWayId>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// A group join way as `groupchat/add_join_way` and `update_join_way` take it and `get_join_way` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JoinWay {
    /// The way's id: empty when adding, required when updating.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub config_id: String,
    /// 1 mini-program plugin, 2 QR code.
    pub scene: i64,
    /// A note for the console.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Open a new group when the last one is full (WeCom's default is 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_create_room: Option<i64>,
    /// The base name of the groups it opens, ≤40 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_base_name: Option<String>,
    /// The first number appended to `room_base_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_base_id: Option<i64>,
    /// The groups it fills, 1 to 5.
    pub chat_id_list: Vec<String>,
    /// Echoed on the members it brings, ≤30 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The QR code URL (set by WeCom).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub qr_code: String,
}

impl JoinWay {
    /// Checks `chat_id_list` (1 to 5 groups), `state` and `room_base_name`.
    pub fn validate(&self) -> Result<(), WecomError> {
        check_present("chat_id_list", !self.chat_id_list.is_empty())?;
        check_count("chat_id_list", self.chat_id_list.len(), JOIN_WAY_MAX_CHATS)?;
        check_chars("state", self.state.as_deref().unwrap_or_default(), STATE_MAX_CHARS)?;
        check_chars("room_base_name", self.room_base_name.as_deref().unwrap_or_default(), 40)
    }
}

#[derive(Serialize)]
struct ConfigId<'a> {
    config_id: &'a str,
}

#[derive(Deserialize)]
struct ContactWayReply {
    #[serde(default)]
    contact_way: ContactWay,
}

#[derive(Deserialize)]
struct JoinWayReply {
    #[serde(default)]
    join_way: JoinWay,
}

#[derive(Deserialize)]
struct JoinWayCreated {
    #[serde(default)]
    config_id: String,
}

impl Client {
    /// `externalcontact/add_contact_way`, after checking `state`, `remark` and the staff list.
    pub async fn add_contact_way(
        &self,
        creds: &CorpCredentials,
        way: &ContactWay,
    ) -> Result<ContactWayCreated, WecomError> {
        way.validate()?;
        self.post(creds, "externalcontact/add_contact_way", way).await
    }

    /// `externalcontact/get_contact_way`.
    pub async fn get_contact_way(&self, creds: &CorpCredentials, config_id: &str) -> Result<ContactWay, WecomError> {
        let reply: ContactWayReply =
            self.post(creds, "externalcontact/get_contact_way", &ConfigId { config_id }).await?;
        Ok(reply.contact_way)
    }

    /// `externalcontact/list_contact_way`: a page of way ids, `limit` ≤1000.
    pub async fn list_contact_way(
        &self,
        creds: &CorpCredentials,
        request: &ListContactWayRequest,
    ) -> Result<ContactWayPage, WecomError> {
        check_count("limit", request.limit as usize, 1000)?;
        self.post(creds, "externalcontact/list_contact_way", request).await
    }

    /// `externalcontact/update_contact_way`, after checking `state` and `remark`.
    pub async fn update_contact_way(
        &self,
        creds: &CorpCredentials,
        request: &UpdateContactWayRequest,
    ) -> Result<(), WecomError> {
        check_chars("state", request.state.as_deref().unwrap_or_default(), STATE_MAX_CHARS)?;
        check_chars("remark", request.remark.as_deref().unwrap_or_default(), REMARK_MAX_CHARS)?;
        let _: Empty = self.post(creds, "externalcontact/update_contact_way", request).await?;
        Ok(())
    }

    /// `externalcontact/del_contact_way`.
    pub async fn del_contact_way(&self, creds: &CorpCredentials, config_id: &str) -> Result<(), WecomError> {
        let _: Empty = self.post(creds, "externalcontact/del_contact_way", &ConfigId { config_id }).await?;
        Ok(())
    }

    /// `externalcontact/groupchat/add_join_way`: the new way's `config_id` (its QR code comes from `get_join_way`).
    pub async fn add_join_way(&self, creds: &CorpCredentials, way: &JoinWay) -> Result<String, WecomError> {
        way.validate()?;
        let reply: JoinWayCreated = self.post(creds, "externalcontact/groupchat/add_join_way", way).await?;
        Ok(reply.config_id)
    }

    /// `externalcontact/groupchat/get_join_way`.
    pub async fn get_join_way(&self, creds: &CorpCredentials, config_id: &str) -> Result<JoinWay, WecomError> {
        let reply: JoinWayReply =
            self.post(creds, "externalcontact/groupchat/get_join_way", &ConfigId { config_id }).await?;
        Ok(reply.join_way)
    }

    /// `externalcontact/groupchat/update_join_way`: `way` with its `config_id` set replaces the old settings.
    pub async fn update_join_way(&self, creds: &CorpCredentials, way: &JoinWay) -> Result<(), WecomError> {
        check_present("config_id", !way.config_id.is_empty())?;
        way.validate()?;
        let _: Empty = self.post(creds, "externalcontact/groupchat/update_join_way", way).await?;
        Ok(())
    }

    /// `externalcontact/groupchat/del_join_way`.
    pub async fn del_join_way(&self, creds: &CorpCredentials, config_id: &str) -> Result<(), WecomError> {
        let _: Empty = self.post(creds, "externalcontact/groupchat/del_join_way", &ConfigId { config_id }).await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "ways_tests.rs"]
mod tests;
