//! One item of a request: validating a JSON object into a [`Message`], or saying why not.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::timestamp::parse_timestamp;
use super::{Message, MessageType};

/// Longest `messageId`, in characters.
pub(super) const MAX_MESSAGE_ID: usize = 100;
/// Longest `anonymousId`, `userId`, `previousId` and `groupId`, in characters.
pub(super) const MAX_ID: usize = 255;
/// Longest `event`, `name` and `category`, in characters.
pub(super) const MAX_NAME: usize = 200;

/// Why one item of a request was rejected. The codes are stable snake_case, for quarantine rows and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemErrorCode {
    /// A batch item that is not a JSON object.
    NotAnObject,
    /// A batch item whose JSON text is over 32 KiB.
    ItemTooLarge,
    /// A batch item without `type`.
    MissingType,
    /// A `type` that is not one of the six calls.
    UnknownType,
    /// Neither `userId` nor `anonymousId` (all types but alias).
    MissingIdentity,
    /// Alias without `userId`.
    MissingUserId,
    /// Alias without `previousId`.
    MissingPreviousId,
    /// Track without a non-blank `event`.
    MissingEvent,
    /// Group without `groupId`.
    MissingGroupId,
    /// A field of the wrong JSON type (`properties` that is not an object, `userId` that is a boolean, …).
    InvalidFieldType,
    /// A string over its length limit.
    TooLong,
    /// A `timestamp` or `sentAt` that is not an ISO-8601 date-time.
    InvalidTimestamp,
}

impl ItemErrorCode {
    pub const ALL: [ItemErrorCode; 12] = [
        Self::NotAnObject,
        Self::ItemTooLarge,
        Self::MissingType,
        Self::UnknownType,
        Self::MissingIdentity,
        Self::MissingUserId,
        Self::MissingPreviousId,
        Self::MissingEvent,
        Self::MissingGroupId,
        Self::InvalidFieldType,
        Self::TooLong,
        Self::InvalidTimestamp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAnObject => "not_an_object",
            Self::ItemTooLarge => "item_too_large",
            Self::MissingType => "missing_type",
            Self::UnknownType => "unknown_type",
            Self::MissingIdentity => "missing_identity",
            Self::MissingUserId => "missing_user_id",
            Self::MissingPreviousId => "missing_previous_id",
            Self::MissingEvent => "missing_event",
            Self::MissingGroupId => "missing_group_id",
            Self::InvalidFieldType => "invalid_field_type",
            Self::TooLong => "too_long",
            Self::InvalidTimestamp => "invalid_timestamp",
        }
    }
}

/// A rejected item: where it was, why, and the item itself for the quarantine table ("bad rows").
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("item {index}: {message}")]
pub struct ItemError {
    /// Position in the `batch` array; 0 for a single-message endpoint.
    pub index: usize,
    pub code: ItemErrorCode,
    /// Human-readable detail naming the field (`userId: too long (max 255 characters)`). Never contains
    /// field values, so it is safe to log.
    pub message: String,
    /// The item as received, with batch-level `context`/`integrations`/`sentAt` merged in and `writeKey`
    /// removed. May be any JSON value for [`ItemErrorCode::NotAnObject`].
    pub item: Value,
}

/// A problem found while validating, before the item is attached.
type Problem = (ItemErrorCode, String);

fn problem(code: ItemErrorCode, message: impl Into<String>) -> Problem {
    (code, message.into())
}

/// Validates `obj` as a message of type `kind`. On failure the object is returned untouched in the error.
pub(super) fn decode(index: usize, kind: MessageType, obj: Map<String, Value>) -> Result<Message, ItemError> {
    match check(kind, &obj) {
        Ok(m) => Ok(attach_maps(m, obj)),
        Err((code, message)) => Err(ItemError { index, code, message, item: Value::Object(obj) }),
    }
}

/// Reads and checks everything except the big maps, which are moved over afterwards without copying.
fn check(kind: MessageType, obj: &Map<String, Value>) -> Result<Message, Problem> {
    use MessageType as T;
    let mut m = Message::new(kind);
    m.message_id = id(obj, "messageId", MAX_MESSAGE_ID)?;
    m.anonymous_id = id(obj, "anonymousId", MAX_ID)?;
    m.user_id = id(obj, "userId", MAX_ID)?;
    m.original_timestamp = timestamp(obj, "timestamp")?;
    m.sent_at = timestamp(obj, "sentAt")?;
    for key in ["context", "integrations"] {
        object(obj, key)?;
    }
    match kind {
        T::Track => {
            m.event = text(obj, "event", MAX_NAME)?;
            object(obj, "properties")?;
        }
        T::Page | T::Screen => {
            m.name = text(obj, "name", MAX_NAME)?;
            m.category = text(obj, "category", MAX_NAME)?;
            object(obj, "properties")?;
        }
        T::Identify => object(obj, "traits")?,
        T::Group => {
            m.group_id = id(obj, "groupId", MAX_ID)?;
            object(obj, "traits")?;
        }
        T::Alias => m.previous_id = id(obj, "previousId", MAX_ID)?,
    }
    required(&m)?;
    Ok(m)
}

fn required(m: &Message) -> Result<(), Problem> {
    use ItemErrorCode as C;
    match m.kind {
        MessageType::Alias if m.user_id.is_none() => Err(problem(C::MissingUserId, "alias needs userId")),
        MessageType::Alias if m.previous_id.is_none() => Err(problem(C::MissingPreviousId, "alias needs previousId")),
        MessageType::Alias => Ok(()),
        _ if m.user_id.is_none() && m.anonymous_id.is_none() => {
            Err(problem(C::MissingIdentity, "userId or anonymousId is required"))
        }
        MessageType::Track if m.event.is_none() => Err(problem(C::MissingEvent, "track needs a non-empty event")),
        MessageType::Group if m.group_id.is_none() => Err(problem(C::MissingGroupId, "group needs groupId")),
        _ => Ok(()),
    }
}

fn attach_maps(mut m: Message, mut obj: Map<String, Value>) -> Message {
    let mut take = |key: &str| match obj.remove(key) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    m.context = take("context");
    m.integrations = take("integrations");
    match m.kind {
        MessageType::Track | MessageType::Page | MessageType::Screen => m.properties = take("properties"),
        MessageType::Identify | MessageType::Group => m.traits = take("traits"),
        MessageType::Alias => {}
    }
    m
}

/// An id: a string, or a number taken as its decimal text. `null`, absent and blank are `None`.
fn id(obj: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, Problem> {
    match obj.get(key) {
        Some(Value::Number(n)) => bounded(key, &n.to_string(), max).map(Some),
        Some(v @ (Value::Bool(_) | Value::Array(_) | Value::Object(_))) => {
            Err(wrong_type(key, "a string or a number", v))
        }
        _ => text(obj, key, max),
    }
}

/// A string field. `null`, absent and blank are `None`; the value is kept as sent (not trimmed).
fn text(obj: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, Problem> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => bounded(key, s, max).map(Some),
        Some(other) => Err(wrong_type(key, "a string", other)),
    }
}

fn bounded(key: &str, s: &str, max: usize) -> Result<String, Problem> {
    if s.chars().nth(max).is_some() {
        return Err(problem(ItemErrorCode::TooLong, format!("{key}: too long (max {max} characters)")));
    }
    Ok(s.to_string())
}

/// An object field: absent, `null` or an object.
fn object(obj: &Map<String, Value>, key: &str) -> Result<(), Problem> {
    match obj.get(key) {
        None | Some(Value::Null | Value::Object(_)) => Ok(()),
        Some(other) => Err(wrong_type(key, "an object", other)),
    }
}

fn timestamp(obj: &Map<String, Value>, key: &str) -> Result<Option<DateTime<Utc>>, Problem> {
    let bad = || problem(ItemErrorCode::InvalidTimestamp, format!("{key}: not an ISO-8601 date-time"));
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_timestamp(s).map(Some).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

fn wrong_type(key: &str, want: &str, got: &Value) -> Problem {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    problem(ItemErrorCode::InvalidFieldType, format!("{key}: must be {want}, not {got}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode_json(kind: MessageType, v: Value) -> Result<Message, ItemError> {
        match v {
            Value::Object(obj) => decode(0, kind, obj),
            _ => unreachable!("tests pass objects"),
        }
    }

    fn code(kind: MessageType, v: Value) -> Option<&'static str> {
        decode_json(kind, v).err().map(|e| e.code.as_str())
    }

    #[test]
    fn every_code_is_distinct_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in ItemErrorCode::ALL {
            assert!(c.as_str().chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'));
            assert!(seen.insert(c.as_str()));
        }
    }

    #[test]
    fn each_type_requires_its_own_fields() {
        use MessageType as T;
        assert_eq!(code(T::Track, json!({"event": "x"})), Some("missing_identity"));
        assert_eq!(code(T::Track, json!({"userId": "u1"})), Some("missing_event"));
        assert_eq!(code(T::Track, json!({"userId": "u1", "event": "  "})), Some("missing_event"));
        assert_eq!(code(T::Group, json!({"userId": "u1"})), Some("missing_group_id"));
        assert_eq!(code(T::Alias, json!({"userId": "u1"})), Some("missing_previous_id"));
        assert_eq!(code(T::Alias, json!({"previousId": "a1", "anonymousId": "a2"})), Some("missing_user_id"));
        assert_eq!(code(T::Identify, json!({"anonymousId": "", "userId": null})), Some("missing_identity"));
        for t in [T::Identify, T::Page, T::Screen] {
            assert_eq!(code(t, json!({"anonymousId": "a1"})), None, "{t:?}");
        }
    }

    #[test]
    fn strings_over_their_limit_are_too_long_counted_in_characters() {
        let t = MessageType::Track;
        let ok = json!({"userId": "张".repeat(255), "event": "买".repeat(200), "messageId": "m".repeat(100)});
        assert_eq!(code(t, ok), None);
        assert_eq!(code(t, json!({"userId": "u".repeat(256), "event": "e"})), Some("too_long"));
        assert_eq!(code(t, json!({"userId": "u", "event": "e".repeat(201)})), Some("too_long"));
        assert_eq!(code(t, json!({"userId": "u", "event": "e", "messageId": "m".repeat(101)})), Some("too_long"));
    }

    #[test]
    fn maps_of_the_wrong_type_are_refused_but_fields_of_other_types_are_ignored() {
        let t = MessageType::Track;
        assert_eq!(code(t, json!({"userId": "u", "event": "e", "properties": [1]})), Some("invalid_field_type"));
        assert_eq!(code(t, json!({"userId": "u", "event": "e", "context": "web"})), Some("invalid_field_type"));
        assert_eq!(code(t, json!({"userId": true, "event": "e"})), Some("invalid_field_type"));
        let m = decode_json(t, json!({"userId": "u", "event": "e", "traits": "ignored", "groupId": 7})).unwrap();
        assert!(m.traits.is_empty() && m.group_id.is_none());
    }

    #[test]
    fn numeric_ids_become_their_decimal_text() {
        let m = decode_json(MessageType::Identify, json!({"userId": 42, "messageId": 7})).unwrap();
        assert_eq!((m.user_id.as_deref(), m.message_id.as_deref()), (Some("42"), Some("7")));
    }

    #[test]
    fn a_bad_timestamp_is_its_own_error_and_keeps_the_item_for_quarantine() {
        let item = json!({"userId": "u", "event": "e", "timestamp": "yesterday", "properties": {"a": 1}});
        let e = decode_json(MessageType::Track, item.clone()).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (ItemErrorCode::InvalidTimestamp, "timestamp: not an ISO-8601 date-time")
        );
        assert_eq!(e.item, item);
        assert_eq!(
            code(MessageType::Track, json!({"userId": "u", "event": "e", "sentAt": 1})),
            Some("invalid_timestamp")
        );
    }
}
