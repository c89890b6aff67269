//! One API request as a handler sees it: its parameters (JSON body first, then the query string), the
//! errcode a handler answers with, and opaque, stable cursors.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::state::Env;

/// A handler's failure: a WeCom errcode and, for humans reading test output, what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub errcode: i64,
    pub detail: Option<String>,
}

impl ApiError {
    pub fn code(errcode: i64) -> Self {
        Self { errcode, detail: None }
    }

    pub fn with(errcode: i64, detail: impl Into<String>) -> Self {
        Self { errcode, detail: Some(detail.into()) }
    }

    /// 40058, invalid parameter.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::with(40058, detail)
    }
}

/// A handler's answer: the reply's fields besides `errcode`/`errmsg`.
pub(crate) type ApiResult = Result<Map<String, Value>, ApiError>;

/// Turns a `json!({...})` object into a reply.
pub(crate) fn reply(value: Value) -> ApiResult {
    match value {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

/// A request as handlers see it.
pub(crate) struct Ctx<'a> {
    pub env: Env<'a>,
    pub query: &'a BTreeMap<String, String>,
    pub body: &'a Value,
    /// Index of the secret the access token was issued for.
    pub app: usize,
    /// The file of a `multipart/form-data` request (`media/upload`).
    pub upload: Option<&'a super::media::MediaPart>,
}

impl Ctx<'_> {
    pub fn now(&self) -> i64 {
        self.env.now
    }

    /// A string parameter (body, then query); empty counts as absent.
    pub fn str(&self, key: &str) -> Option<&str> {
        let value = match self.body.get(key) {
            Some(Value::String(s)) => Some(s.as_str()),
            _ => self.query.get(key).map(String::as_str),
        };
        value.filter(|s| !s.is_empty())
    }

    /// A required string parameter: 40058 when absent.
    pub fn require(&self, key: &str) -> Result<&str, ApiError> {
        self.str(key).ok_or_else(|| ApiError::invalid(format!("{key} is required")))
    }

    /// An integer parameter given as a JSON number or a numeric string.
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.body.get(key) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => self.query.get(key).and_then(|s| s.parse().ok()),
        }
    }

    /// A boolean given as `true`/`false` or 1/0.
    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.body.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => self.int(key).map(|n| n != 0),
        }
    }

    /// A list of strings (absent = empty); 40058 when it is not one.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, ApiError> {
        strings_in(self.body, key)
    }

    /// `limit` clamped to `1..=max`, `default` when absent or 0.
    pub fn limit(&self, key: &str, default: usize, max: usize) -> usize {
        match self.int(key) {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(max).min(max),
            _ => default,
        }
    }

    /// The decoded `cursor`: `None` for the first page, 40058 for garbage.
    pub fn cursor(&self) -> Result<Option<u64>, ApiError> {
        match self.str("cursor") {
            None => Ok(None),
            Some(c) => decode_cursor(c).map(Some).ok_or_else(|| ApiError::invalid("invalid cursor")),
        }
    }
}

/// A list of strings under `key` of `value` (absent = empty).
pub(crate) fn strings_in(value: &Value, key: &str) -> Result<Vec<String>, ApiError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(ApiError::invalid(format!("{key} must hold strings"))),
            })
            .collect(),
        Some(_) => Err(ApiError::invalid(format!("{key} must be a list"))),
    }
}

/// Length of a string as WeCom counts it for its limits: characters.
pub(crate) fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Fails with 40058 when `value` is longer than `max` characters.
pub(crate) fn at_most(key: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if chars(v) > max => Err(ApiError::invalid(format!("{key} longer than {max} characters"))),
        _ => Ok(()),
    }
}

const CURSOR_MASK: u64 = 0x5DEE_CE66_D1A4_F00D;

/// An opaque cursor naming "after the item with key `seq`".
pub(crate) fn encode_cursor(seq: u64) -> String {
    format!("{:016X}", seq.rotate_left(23) ^ CURSOR_MASK)
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    if cursor.len() != 16 {
        return None;
    }
    u64::from_str_radix(cursor, 16).ok().map(|n| (n ^ CURSOR_MASK).rotate_right(23))
}

/// One page of `items` (ascending keys) after `after`: the items and the next cursor ("" at the end).
/// Keys are creation sequences, so a cursor stays valid and skips or repeats nothing while items are
/// added (after the cursor) or removed.
pub(crate) fn page<T>(items: impl Iterator<Item = (u64, T)>, after: Option<u64>, limit: usize) -> (Vec<T>, String) {
    let mut out = Vec::new();
    let mut last = None;
    let mut more = false;
    for (key, item) in items.filter(|(k, _)| after.is_none_or(|a| *k > a)) {
        if out.len() == limit {
            more = true;
            break;
        }
        last = Some(key);
        out.push(item);
    }
    let next = match (more, last) {
        (true, Some(key)) => encode_cursor(key),
        _ => String::new(),
    };
    (out, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_look_opaque() {
        for seq in [0, 1, 42, u64::MAX] {
            let c = encode_cursor(seq);
            assert_eq!(decode_cursor(&c), Some(seq));
            assert_ne!(c, format!("{seq:016X}"));
        }
        assert_eq!(decode_cursor("nonsense"), None);
    }

    #[test]
    fn a_page_ends_with_an_empty_cursor() {
        let items = [(1, "a"), (2, "b"), (5, "c")];
        let (first, next) = page(items.iter().copied(), None, 2);
        assert_eq!(first, vec!["a", "b"]);
        let after = decode_cursor(&next);
        let (second, end) = page(items.iter().copied(), after, 2);
        assert_eq!(second, vec!["c"]);
        assert_eq!(end, "");
    }
}
