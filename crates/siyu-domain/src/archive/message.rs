//! One archived message in WeCom's decrypted JSON shape (doc 91774; silenceper `work/msgaudit/message.go`):
//! `{"msgid","action":"send"|"recall"|"switch","from","tolist":[],"roomid","msgtime":ms,"msgtype", <msgtype>:{…}}`.
//! A switch log (`{"msgid","action":"switch","time","user"}`) has no conversation.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::error::Invalid;

/// Longest msgid accepted (WeCom's are ~30 characters).
const MAX_ID: usize = 128;
/// Longest searchable text kept per message, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// What the message record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Send,
    Recall,
    Switch,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Recall => "recall",
            Self::Switch => "switch",
        }
    }
}

/// Who an id in a message is: the corp's staff (a userid), a customer (external_userid `wm…`/`wo…`) or a
/// robot (`wb…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Staff,
    Customer,
    Robot,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Customer => "customer",
            Self::Robot => "robot",
        }
    }
}

/// The party an id of the archive names.
pub fn party_of(id: &str) -> Party {
    if id.starts_with("wm") || id.starts_with("wo") {
        Party::Customer
    } else if id.starts_with("wb") {
        Party::Robot
    } else {
        Party::Staff
    }
}

/// Which conversation a message belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationKey {
    /// A group chat (`roomid`).
    Room(String),
    /// A 1:1 chat between a staff member and a customer.
    Single { staff: String, customer: String },
    /// A 1:1 chat between two staff members (ids sorted).
    Internal(String, String),
}

impl ConversationKey {
    /// The stable key stored with the conversation.
    pub fn key(&self) -> String {
        match self {
            Self::Room(r) => format!("room:{r}"),
            Self::Single { staff, customer } => format!("single:{staff}|{customer}"),
            Self::Internal(a, b) => format!("internal:{a}|{b}"),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Room(_) => "group",
            Self::Single { .. } => "single",
            Self::Internal(..) => "internal",
        }
    }
}

/// An archived message, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedMessage {
    pub msgid: String,
    pub action: Action,
    pub from: String,
    pub tolist: Vec<String>,
    pub roomid: String,
    pub msgtime: DateTime<Utc>,
    pub msgtype: String,
    /// The words a person would search for: text content, link titles, file names, card names.
    pub text: String,
    /// Links the message carries (a link card's URL; URLs inside text are found by [`super::behaviour`]).
    pub link_urls: Vec<String>,
    /// For `revoke`: the msgid of the message taken back.
    pub revoked: Option<String>,
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn clip(s: String) -> String {
    if s.chars().count() <= MAX_TEXT_CHARS { s } else { s.chars().take(MAX_TEXT_CHARS).collect() }
}

/// The searchable text of the object of type `msgtype`.
fn text_of(msgtype: &str, body: &Value) -> String {
    let join =
        |keys: &[&str]| keys.iter().map(|k| str_field(body, k)).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    match msgtype {
        "text" | "markdown" => join(&["content"]),
        "link" => join(&["title", "description", "link_url"]),
        "weapp" => join(&["title", "description", "displayname"]),
        "file" => join(&["filename"]),
        "card" => join(&["corpname", "userid"]),
        "location" => join(&["title", "address"]),
        "redpacket" | "external_redpacket" => join(&["wish"]),
        "chatrecord" | "docmsg" | "todo" | "calendar" => join(&["title", "content"]),
        "meeting" => join(&["topic"]),
        "vote" => join(&["votetitle"]),
        "mixed" => body
            .get("item")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter(|i| str_field(i, "type") == "text")
                    .filter_map(|i| serde_json::from_str::<Value>(str_field(i, "content")).ok())
                    .map(|c| str_field(&c, "content").to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default(),
        _ => String::new(),
    }
}

impl ArchivedMessage {
    /// Reads one message. Rejects what cannot be stored: no msgid, an unknown action, no sender or time.
    pub fn parse(v: &Value) -> Result<Self, Invalid> {
        let msgid = str_field(v, "msgid").trim();
        if msgid.is_empty() || msgid.len() > MAX_ID {
            return Err(Invalid::new("msgid", "missing_or_too_long"));
        }
        let action = match str_field(v, "action") {
            "send" | "" => Action::Send,
            "recall" => Action::Recall,
            "switch" => Action::Switch,
            _ => return Err(Invalid::new("action", "unknown")),
        };
        let (from, millis) = if action == Action::Switch {
            (str_field(v, "user"), v.get("time").and_then(Value::as_i64))
        } else {
            (str_field(v, "from"), v.get("msgtime").and_then(Value::as_i64))
        };
        if from.is_empty() || from.len() > MAX_ID {
            return Err(Invalid::new("from", "missing_or_too_long"));
        }
        let msgtime = millis
            .filter(|ms| *ms > 0)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .ok_or_else(|| Invalid::new("msgtime", "missing_or_invalid"))?;
        let tolist: Vec<String> = v
            .get("tolist")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let msgtype = if action == Action::Switch { "switch" } else { str_field(v, "msgtype") };
        if msgtype.is_empty() || msgtype.len() > 32 {
            return Err(Invalid::new("msgtype", "missing_or_too_long"));
        }
        let body = v.get(msgtype).cloned().unwrap_or(Value::Null);
        let link_urls = match msgtype {
            "link" => Some(str_field(&body, "link_url").to_string()).filter(|u| !u.is_empty()).into_iter().collect(),
            _ => Vec::new(),
        };
        let revoked =
            (msgtype == "revoke").then(|| str_field(&body, "pre_msgid").to_string()).filter(|s| !s.is_empty());
        let roomid = str_field(v, "roomid").to_string();
        if action != Action::Switch && roomid.is_empty() && tolist.is_empty() {
            return Err(Invalid::new("tolist", "missing"));
        }
        Ok(Self {
            msgid: msgid.to_string(),
            action,
            from: from.to_string(),
            tolist,
            roomid,
            msgtime,
            msgtype: msgtype.to_string(),
            text: clip(text_of(msgtype, &body)),
            link_urls,
            revoked,
        })
    }

    /// Who sent it.
    pub fn sender(&self) -> Party {
        party_of(&self.from)
    }

    /// Its conversation; none for a switch log.
    pub fn conversation(&self) -> Option<ConversationKey> {
        if self.action == Action::Switch {
            return None;
        }
        if !self.roomid.is_empty() {
            return Some(ConversationKey::Room(self.roomid.clone()));
        }
        let other = self.tolist.first()?.clone();
        let me = self.from.clone();
        Some(match (party_of(&me), party_of(&other)) {
            (Party::Staff, Party::Staff) => {
                let (a, b) = if me <= other { (me, other) } else { (other, me) };
                ConversationKey::Internal(a, b)
            }
            (Party::Staff, _) => ConversationKey::Single { staff: me, customer: other },
            (_, Party::Staff) => ConversationKey::Single { staff: other, customer: me },
            _ => {
                let (a, b) = if me <= other { (me, other) } else { (other, me) };
                ConversationKey::Internal(a, b)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reference_example_reads_as_a_single_chat_from_staff() {
        let v = json!({"msgid":"1234_1700000000","action":"send","from":"zhangsan","tolist":["wmA1"],"roomid":"",
            "msgtime":1700000000123_i64,"msgtype":"text","text":{"content":"已发货"}});
        let m = ArchivedMessage::parse(&v).unwrap();
        assert_eq!(m.text, "已发货");
        assert_eq!(m.sender(), Party::Staff);
        assert_eq!(m.msgtime.timestamp_millis(), 1700000000123);
        assert_eq!(
            m.conversation(),
            Some(ConversationKey::Single { staff: "zhangsan".into(), customer: "wmA1".into() })
        );
    }

    #[test]
    fn a_customer_reply_lands_in_the_same_conversation_as_the_staff_message() {
        let v = json!({"msgid":"a","from":"wmA1","tolist":["zhangsan"],"msgtime":1,"msgtype":"text","text":{"content":"好"}});
        let m = ArchivedMessage::parse(&v).unwrap();
        assert_eq!(m.conversation().unwrap().key(), "single:zhangsan|wmA1");
    }

    #[test]
    fn group_link_and_mixed_messages_expose_their_text_and_urls() {
        let link = json!({"msgid":"l","from":"wmB2","tolist":["zhangsan","wmA1"],"roomid":"wrX1","msgtime":5,
            "msgtype":"link","link":{"title":"低价","description":"点我","link_url":"https://shop.example.com/a"}});
        let m = ArchivedMessage::parse(&link).unwrap();
        assert_eq!(m.conversation().unwrap().key(), "room:wrX1");
        assert_eq!(m.link_urls, vec!["https://shop.example.com/a".to_string()]);
        assert!(m.text.contains("低价"));
        let mixed = json!({"msgid":"m","from":"zhangsan","tolist":["wmA1"],"msgtime":5,"msgtype":"mixed",
            "mixed":{"item":[{"type":"text","content":"{\"content\":\"你好\"}"},{"type":"image","content":"{}"}]}});
        assert_eq!(ArchivedMessage::parse(&mixed).unwrap().text, "你好");
    }

    #[test]
    fn messages_without_id_time_or_recipient_are_rejected_with_the_field() {
        let no_id = json!({"from":"a","tolist":["b"],"msgtime":1,"msgtype":"text"});
        assert_eq!(ArchivedMessage::parse(&no_id).unwrap_err().field, "msgid");
        let no_time = json!({"msgid":"x","from":"a","tolist":["b"],"msgtype":"text"});
        assert_eq!(ArchivedMessage::parse(&no_time).unwrap_err().field, "msgtime");
        let nobody = json!({"msgid":"x","from":"a","msgtime":1,"msgtype":"text"});
        assert_eq!(ArchivedMessage::parse(&nobody).unwrap_err().field, "tolist");
        assert!(ArchivedMessage::parse(&json!("not an object")).is_err());
    }

    #[test]
    fn a_switch_log_has_no_conversation() {
        let v = json!({"msgid":"s","action":"switch","time":1700000000000_i64,"user":"zhangsan"});
        let m = ArchivedMessage::parse(&v).unwrap();
        assert_eq!(m.action, Action::Switch);
        assert_eq!(m.conversation(), None);
    }
}
