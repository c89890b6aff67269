//! One request body: size limits, JSON, the batch envelope, and the split into messages and rejected items.

use std::io;

use serde_json::{Map, Value};

use super::item::{self, ItemError, ItemErrorCode};
use super::{Endpoint, Message, MessageType};

/// Largest single-message request body, and largest item inside a batch: 32 KiB.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// Largest batch request body: 500 KiB.
pub const MAX_BATCH_BYTES: usize = 500 * 1024;

/// A request that cannot be taken at all. The HTTP layer answers 400 with [`EventError::code`]; official
/// clients do not retry a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The body is over [`Endpoint::max_body_bytes`].
    #[error("request body is {size} bytes, over the {limit} byte limit of this endpoint")]
    TooLarge { size: usize, limit: usize },
    /// Not UTF-8 JSON, or truncated. The detail is serde_json's (line and column, no content).
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// Valid JSON that is not an object.
    #[error("the request body must be a JSON object")]
    NotAnObject,
    /// A batch body without a `batch` array.
    #[error("a batch request needs a `batch` array")]
    MissingBatch,
    /// Batch-level `context` or `integrations` that is not an object (it would apply to every item).
    #[error("batch-level `{0}` must be an object")]
    InvalidBatchField(&'static str),
}

impl EventError {
    /// Stable snake_case code for the API error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "request_too_large",
            Self::MalformedJson(_) => "malformed_json",
            Self::NotAnObject => "not_an_object",
            Self::MissingBatch => "missing_batch",
            Self::InvalidBatchField(_) => "invalid_batch_field",
        }
    }
}

/// A well-formed request, split into what to store and what to quarantine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedRequest {
    /// Top-level `writeKey` of the body (single message or batch envelope), for auth when there is no HTTP
    /// Basic user name. `None` when absent, blank or not a string. Never copied into messages or items.
    pub write_key: Option<String>,
    /// The valid messages, in request order.
    pub messages: Vec<Message>,
    /// The rejected items, in request order. Empty for a fully valid request; an empty `batch` gives neither
    /// messages nor errors.
    pub errors: Vec<ItemError>,
}

/// Parses and validates the (decompressed) body posted to `endpoint`.
///
/// Returns `Err` only for whole-request problems: over the size limit, malformed JSON, not an object, no
/// `batch` array, or a batch-level `context`/`integrations` that is not an object. Everything wrong with a
/// single item (including the only message of a single-message endpoint) is an [`ItemError`] in
/// [`ParsedRequest::errors`], and the valid items are kept. Never panics, whatever the bytes.
pub fn parse_request(endpoint: Endpoint, body: &[u8]) -> Result<ParsedRequest, EventError> {
    let limit = endpoint.max_body_bytes();
    if body.len() > limit {
        return Err(EventError::TooLarge { size: body.len(), limit });
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| EventError::MalformedJson(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(EventError::NotAnObject);
    };
    let write_key = take_write_key(&mut obj);
    let mut parsed = ParsedRequest { write_key, ..ParsedRequest::default() };
    match endpoint {
        Endpoint::Single(kind) => parsed.push(item::decode(0, kind, obj)),
        Endpoint::Batch => parse_batch(obj, &mut parsed)?,
    }
    Ok(parsed)
}

impl ParsedRequest {
    fn push(&mut self, outcome: Result<Message, ItemError>) {
        match outcome {
            Ok(m) => self.messages.push(m),
            Err(e) => self.errors.push(e),
        }
    }
}

/// What a batch envelope contributes to each of its items.
struct Envelope {
    context: Option<Map<String, Value>>,
    integrations: Option<Map<String, Value>>,
    sent_at: Option<Value>,
}

fn parse_batch(mut obj: Map<String, Value>, parsed: &mut ParsedRequest) -> Result<(), EventError> {
    let Some(Value::Array(items)) = obj.remove("batch") else {
        return Err(EventError::MissingBatch);
    };
    let envelope = Envelope {
        context: envelope_object(&mut obj, "context")?,
        integrations: envelope_object(&mut obj, "integrations")?,
        sent_at: obj.remove("sentAt").filter(|v| !v.is_null()),
    };
    parsed.messages.reserve(items.len());
    for (index, item) in items.into_iter().enumerate() {
        parsed.push(batch_item(index, item, &envelope));
    }
    Ok(())
}

fn envelope_object(obj: &mut Map<String, Value>, key: &'static str) -> Result<Option<Map<String, Value>>, EventError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(EventError::InvalidBatchField(key)),
    }
}

fn batch_item(index: usize, item: Value, envelope: &Envelope) -> Result<Message, ItemError> {
    let reject = |code: ItemErrorCode, message: String, item: Value| Err(ItemError { index, code, message, item });
    let size = json_len(&item);
    if size > MAX_MESSAGE_BYTES {
        let message = format!("item is {size} bytes, over the {MAX_MESSAGE_BYTES} byte limit");
        return reject(ItemErrorCode::ItemTooLarge, message, item);
    }
    let Value::Object(mut obj) = item else {
        return reject(ItemErrorCode::NotAnObject, "batch item must be a JSON object".into(), item);
    };
    take_write_key(&mut obj);
    merge_envelope(&mut obj, envelope);
    let kind = match obj.get("type") {
        None | Some(Value::Null) => Err((ItemErrorCode::MissingType, "type is required in a batch".to_string())),
        Some(Value::String(s)) => MessageType::parse(s).ok_or_else(|| {
            (ItemErrorCode::UnknownType, "type: must be track, identify, page, screen, group or alias".into())
        }),
        Some(_) => Err((ItemErrorCode::UnknownType, "type: must be a string".into())),
    };
    match kind {
        Ok(kind) => item::decode(index, kind, obj),
        Err((code, message)) => reject(code, message, Value::Object(obj)),
    }
}

/// Batch-level `context` and `integrations` fill the keys the item lacks (one level deep; item keys win);
/// batch-level `sentAt` applies when the item has none. An item field that is present but not an object
/// is left alone, for validation to report.
fn merge_envelope(obj: &mut Map<String, Value>, envelope: &Envelope) {
    for (key, batch) in [("context", &envelope.context), ("integrations", &envelope.integrations)] {
        let Some(batch) = batch else { continue };
        match obj.get_mut(key) {
            Some(Value::Object(own)) => {
                for (k, v) in batch {
                    if !own.contains_key(k) {
                        own.insert(k.clone(), v.clone());
                    }
                }
            }
            None | Some(Value::Null) => {
                obj.insert(key.to_string(), Value::Object(batch.clone()));
            }
            Some(_) => {}
        }
    }
    if let Some(sent_at) = &envelope.sent_at
        && obj.get("sentAt").is_none_or(Value::is_null)
    {
        obj.insert("sentAt".into(), sent_at.clone());
    }
}

/// Removes `writeKey` and returns it when it is a non-blank string.
fn take_write_key(obj: &mut Map<String, Value>) -> Option<String> {
    match obj.remove("writeKey") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        _ => None,
    }
}

/// Length in bytes of the compact JSON text of `v`, without building the string.
fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, v) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch(v: Value) -> Result<ParsedRequest, EventError> {
        parse_request(Endpoint::Batch, v.to_string().as_bytes())
    }

    #[test]
    fn oversize_bodies_are_refused_before_parsing() {
        let single = vec![b' '; MAX_MESSAGE_BYTES + 1];
        let err = parse_request(Endpoint::Single(MessageType::Track), &single).unwrap_err();
        assert_eq!((err.code(), err), ("request_too_large", EventError::TooLarge { size: 32769, limit: 32768 }));
        let big = vec![b' '; MAX_BATCH_BYTES + 1];
        assert_eq!(parse_request(Endpoint::Batch, &big).unwrap_err().code(), "request_too_large");
        let fits = vec![b' '; MAX_BATCH_BYTES];
        assert_eq!(parse_request(Endpoint::Batch, &fits).unwrap_err().code(), "malformed_json", "size was fine");
    }

    #[test]
    fn request_level_problems_have_their_own_codes() {
        let t = Endpoint::Single(MessageType::Track);
        assert_eq!(parse_request(t, b"{\"userId\":").unwrap_err().code(), "malformed_json");
        assert_eq!(parse_request(t, b"").unwrap_err().code(), "malformed_json");
        assert_eq!(parse_request(t, &[0xff, 0xfe]).unwrap_err().code(), "malformed_json");
        assert_eq!(parse_request(t, b"[]").unwrap_err().code(), "not_an_object");
        assert_eq!(batch(json!({"items": []})).unwrap_err().code(), "missing_batch");
        assert_eq!(batch(json!({"batch": {}})).unwrap_err().code(), "missing_batch");
        assert_eq!(batch(json!({"batch": [], "context": [1]})).unwrap_err().code(), "invalid_batch_field");
    }

    #[test]
    fn an_empty_batch_is_fine_and_yields_nothing() {
        let p = batch(json!({"batch": [], "writeKey": "wk_1"})).unwrap();
        assert_eq!(p, ParsedRequest { write_key: Some("wk_1".into()), ..ParsedRequest::default() });
    }

    #[test]
    fn an_item_over_32_kib_is_rejected_alone() {
        let big = json!({"type": "track", "userId": "u", "event": "e", "properties": {"blob": "x".repeat(MAX_MESSAGE_BYTES)}});
        let small = json!({"type": "track", "userId": "u", "event": "e"});
        let p = batch(json!({"batch": [big, small]})).unwrap();
        assert_eq!(p.messages.len(), 1);
        assert_eq!((p.errors[0].index, p.errors[0].code), (0, ItemErrorCode::ItemTooLarge));
    }

    #[test]
    fn the_item_size_is_its_compact_json_text() {
        let v = json!({"a": [1, "二"], "b": null});
        assert_eq!(json_len(&v), serde_json::to_vec(&v).unwrap().len());
    }

    #[test]
    fn item_types_are_required_and_must_be_known() {
        let p = batch(json!({"batch": [
            {"userId": "u", "event": "e"},
            {"type": "purchase", "userId": "u"},
            {"type": 3, "userId": "u"},
            "track",
            {"type": "Track", "userId": "u", "event": "e"},
        ]}))
        .unwrap();
        let codes: Vec<_> = p.errors.iter().map(|e| (e.index, e.code.as_str())).collect();
        assert_eq!(codes, [(0, "missing_type"), (1, "unknown_type"), (2, "unknown_type"), (3, "not_an_object")]);
        assert_eq!(p.messages.len(), 1);
    }

    #[test]
    fn write_keys_are_exposed_once_and_never_stored() {
        let p = parse_request(Endpoint::Single(MessageType::Track), br#"{"writeKey":"wk","userId":"u"}"#).unwrap();
        assert_eq!(p.write_key.as_deref(), Some("wk"));
        assert_eq!(p.errors[0].code, ItemErrorCode::MissingEvent);
        assert!(p.errors[0].item.get("writeKey").is_none(), "the quarantined item has no key");
        let p = batch(json!({"writeKey": " ", "batch": [{"type": "alias", "writeKey": "other"}]})).unwrap();
        assert_eq!(p.write_key, None);
        assert!(p.errors[0].item.get("writeKey").is_none());
    }
}
