//! Callback event XML: the decrypted events of `reference/wecom.md` §6, parsed into typed events.
//!
//! [`parse`] accepts values with or without CDATA and ignores elements it does not know. Unknown events and
//! change types are kept as `Other` values rather than rejected; only text that is not XML, or that lacks the
//! `ToUserName`, `CreateTime` or `MsgType` header, is a [`ParseError`].

mod flat;
mod parse;

use std::fmt;

use serde::{Deserialize, Serialize};
use sha1::{Digest as _, Sha1};

pub use parse::parse;

/// Why a decrypted callback could not be parsed.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    #[error("the callback is not well-formed XML: {0}")]
    Malformed(String),
    #[error("the callback has no {0} element")]
    MissingField(&'static str),
    #[error("the callback's {0} element is invalid")]
    InvalidField(&'static str),
}

impl ParseError {
    /// A stable snake_case code for logs, metrics and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "wecom_callback_malformed",
            Self::MissingField(_) => "wecom_callback_missing_field",
            Self::InvalidField(_) => "wecom_callback_invalid_field",
        }
    }
}

/// A string enum as WeCom spells it, with an `Other` fallback for values this version does not know.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, as sent.
            Other(String),
        }

        impl $name {
            /// The value as WeCom sends it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(value) => value,
                }
            }

            /// Maps WeCom's value, keeping unknown ones as `Other`.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($wire => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Ok(Self::from_wire(&value))
            }
        }
    };
}

wire_enum! {
    /// `ChangeType` of `change_external_contact`.
    ContactChangeKind {
        /// `add_external_contact`: a relation was created.
        Add => "add_external_contact",
        /// `add_half_external_contact`: added a skip-verify staff who has not confirmed yet.
        AddHalf => "add_half_external_contact",
        /// `edit_external_contact`: the staff edited remark, description or tags.
        Edit => "edit_external_contact",
        /// `del_external_contact`: the staff deleted the customer.
        Delete => "del_external_contact",
        /// `del_follow_user`: the customer deleted the staff.
        DeletedByCustomer => "del_follow_user",
        /// `transfer_fail`: a transfer was refused or hit the limit.
        TransferFail => "transfer_fail",
        /// `msg_audit_approved`: the customer agreed to session archiving.
        MsgAuditApproved => "msg_audit_approved",
    }
}

wire_enum! {
    /// `ChangeType` of `change_external_chat`.
    ChatChangeType { Create => "create", Update => "update", Dismiss => "dismiss" }
}

wire_enum! {
    /// `UpdateDetail` of a `change_external_chat` update.
    ChatUpdateDetail {
        AddMember => "add_member",
        DelMember => "del_member",
        ChangeOwner => "change_owner",
        ChangeName => "change_name",
        ChangeNotice => "change_notice",
    }
}

wire_enum! {
    /// `TagType` of `change_external_tag`.
    TagType { Tag => "tag", TagGroup => "tag_group" }
}

wire_enum! {
    /// `ChangeType` of `change_external_tag`.
    TagChangeType { Create => "create", Update => "update", Delete => "delete", Shuffle => "shuffle" }
}

wire_enum! {
    /// `ChangeType` of `change_contact` (staff and departments).
    StaffChangeType {
        CreateUser => "create_user",
        UpdateUser => "update_user",
        DeleteUser => "delete_user",
        CreateParty => "create_party",
        UpdateParty => "update_party",
        DeleteParty => "delete_party",
    }
}

/// A decrypted callback: the header and the typed event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// `ToUserName`: the corpid.
    pub corp_id: String,
    /// `CreateTime`, Unix seconds.
    pub create_time: i64,
    /// `AgentID`, when present and non-empty.
    pub agent_id: Option<String>,
    pub event: CallbackEvent,
}

/// The event a callback carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallbackEvent {
    /// `change_external_contact`.
    ExternalContact(ContactChange),
    /// `change_external_chat`.
    ExternalChat(ChatChange),
    /// `change_external_tag`.
    ExternalTag(TagChange),
    /// `change_contact` (staff and departments).
    Contact(StaffChange),
    /// `msgaudit_notify`: new session-archive data to pull.
    MsgAuditNotify,
    /// Any other message or event, kept by name.
    Other { msg_type: String, event: String, change_type: String },
}

/// A customer relation change (`change_external_contact`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactChange {
    pub change: ContactChangeKind,
    /// `UserID`: the staff (for `transfer_fail`, the takeover staff).
    pub user_id: String,
    pub external_user_id: String,
    /// `State` of the contact way the customer came through.
    pub state: Option<String>,
    /// `WelcomeCode`: valid 20 s, single use.
    pub welcome_code: Option<String>,
    /// `Source`, e.g. `DELETE_BY_TRANSFER`.
    pub source: Option<String>,
    /// `FailReason`: `customer_refused` or `customer_limit_exceed`.
    pub fail_reason: Option<String>,
}

/// A customer group change (`change_external_chat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatChange {
    /// `ChatId`.
    pub chat_id: String,
    pub change_type: ChatChangeType,
    pub update_detail: Option<ChatUpdateDetail>,
    /// `JoinScene`: 0 invited (incl. link), 3 QR code.
    pub join_scene: Option<i64>,
    /// `QuitScene`: 0 left, 1 removed by the owner or an admin.
    pub quit_scene: Option<i64>,
    pub mem_change_cnt: Option<i64>,
    /// `MemChangeList/Item`: the members who joined or left.
    pub mem_change_list: Vec<String>,
    /// `LastMemVer`: compare with the stored version to detect a missed event.
    pub last_mem_ver: Option<String>,
    pub cur_mem_ver: Option<String>,
}

/// A corp tag change (`change_external_tag`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChange {
    /// `Id`: the tag or group; for `shuffle`, the reordered group (empty = all groups).
    pub id: String,
    /// `TagType`; absent on `shuffle`.
    pub tag_type: Option<TagType>,
    pub change_type: TagChangeType,
    pub strategy_id: Option<i64>,
}

/// A staff or department change (`change_contact`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffChange {
    pub change_type: StaffChangeType,
    pub user_id: Option<String>,
    /// `NewUserID` when `update_user` renamed the account.
    pub new_user_id: Option<String>,
    /// `Name`: the staff's name, or the department's for party events.
    pub name: Option<String>,
    /// `Department` ("1,2").
    pub department: Vec<i64>,
    pub main_department: Option<i64>,
    pub position: Option<String>,
    pub status: Option<i64>,
    /// `Id` of the department (party events).
    pub party_id: Option<i64>,
    /// `ParentId` of the department (party events).
    pub parent_id: Option<i64>,
}

impl CallbackEvent {
    /// The `Event` name (for `Other` messages without one, the `MsgType`).
    pub fn event_name(&self) -> &str {
        match self {
            Self::ExternalContact(_) => "change_external_contact",
            Self::ExternalChat(_) => "change_external_chat",
            Self::ExternalTag(_) => "change_external_tag",
            Self::Contact(_) => "change_contact",
            Self::MsgAuditNotify => "msgaudit_notify",
            Self::Other { msg_type, event, .. } if event.is_empty() => msg_type,
            Self::Other { event, .. } => event,
        }
    }

    /// The `ChangeType`, empty when the event has none.
    pub fn change_type(&self) -> &str {
        match self {
            Self::ExternalContact(c) => c.change.as_str(),
            Self::ExternalChat(c) => c.change_type.as_str(),
            Self::ExternalTag(t) => t.change_type.as_str(),
            Self::Contact(s) => s.change_type.as_str(),
            Self::MsgAuditNotify => "",
            Self::Other { change_type, .. } => change_type,
        }
    }
}

impl Callback {
    /// `Event/ChangeType`, e.g. `change_external_contact/add_external_contact`, or just the event (or message
    /// type) when there is no change type.
    pub fn kind(&self) -> String {
        let (event, change) = (self.event.event_name(), self.event.change_type());
        let mut kind = String::with_capacity(event.len() + 1 + change.len());
        kind.push_str(event);
        if !change.is_empty() {
            kind.push('/');
            kind.push_str(change);
        }
        kind
    }

    /// A stable key for dropping WeCom's retries (which repeat the plaintext): hex sha1 over the corp, event,
    /// change type, create time and every parsed field, so two distinct changes in the same second (e.g.
    /// different `MemChangeList` or `CurMemVer`) differ. `Other` events are keyed on their names only.
    pub fn dedupe_key(&self) -> String {
        let mut key = KeyHasher(Sha1::new());
        key.str("siyu-callback-v1");
        key.str(&self.corp_id);
        key.str(self.event.event_name());
        key.str(self.event.change_type());
        key.int(Some(self.create_time));
        key.opt(self.agent_id.as_deref());
        match &self.event {
            CallbackEvent::ExternalContact(c) => {
                for field in [c.user_id.as_str(), &c.external_user_id] {
                    key.str(field);
                }
                for field in [&c.state, &c.welcome_code, &c.source, &c.fail_reason] {
                    key.opt(field.as_deref());
                }
            }
            CallbackEvent::ExternalChat(c) => {
                key.str(&c.chat_id);
                key.opt(c.update_detail.as_ref().map(ChatUpdateDetail::as_str));
                for field in [c.join_scene, c.quit_scene, c.mem_change_cnt] {
                    key.int(field);
                }
                key.int(i64::try_from(c.mem_change_list.len()).ok());
                for member in &c.mem_change_list {
                    key.str(member);
                }
                key.opt(c.last_mem_ver.as_deref());
                key.opt(c.cur_mem_ver.as_deref());
            }
            CallbackEvent::ExternalTag(t) => {
                key.str(&t.id);
                key.opt(t.tag_type.as_ref().map(TagType::as_str));
                key.int(t.strategy_id);
            }
            CallbackEvent::Contact(s) => {
                for field in [&s.user_id, &s.new_user_id, &s.name, &s.position] {
                    key.opt(field.as_deref());
                }
                key.int(i64::try_from(s.department.len()).ok());
                for field in
                    s.department.iter().map(|&d| Some(d)).chain([s.main_department, s.status, s.party_id, s.parent_id])
                {
                    key.int(field);
                }
            }
            CallbackEvent::MsgAuditNotify => {}
            CallbackEvent::Other { msg_type, .. } => key.str(msg_type),
        }
        let mut hex = [0u8; 40];
        match hex::encode_to_slice(key.0.finalize(), &mut hex) {
            Ok(()) => hex.iter().map(|&b| char::from(b)).collect(),
            // Unreachable: a SHA-1 is 20 bytes, 40 hex digits.
            Err(_) => String::new(),
        }
    }
}

/// Feeds fields unambiguously (length-prefixed, with presence markers) into a sha1.
struct KeyHasher(Sha1);

impl KeyHasher {
    fn str(&mut self, value: &str) {
        self.0.update((value.len() as u64).to_be_bytes());
        self.0.update(value.as_bytes());
    }

    fn opt(&mut self, value: Option<&str>) {
        match value {
            Some(value) => {
                self.0.update([1]);
                self.str(value);
            }
            None => self.0.update([0]),
        }
    }

    fn int(&mut self, value: Option<i64>) {
        match value {
            Some(value) => {
                self.0.update([1]);
                self.0.update(value.to_be_bytes());
            }
            None => self.0.update([0]),
        }
    }
}

#[cfg(test)]
mod tests;
