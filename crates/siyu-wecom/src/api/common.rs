//! Pieces every area shares: the `{"content"}` text body, the empty reply, the pre-send checks of the documented
//! limits (reference/wecom.md §2) and lenient decoders for fields WeCom sends either as numbers or as strings.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::WecomError;

/// A `{"content": "…"}` body (`text` of welcome messages, mass sends, moments and app messages).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Text {
    /// The text itself.
    pub content: String,
}

impl Text {
    /// A text body of `content`.
    pub fn new(content: impl Into<String>) -> Self {
        Text { content: content.into() }
    }
}

/// A reply with nothing in it but `errcode`/`errmsg` (which the client already checked).
pub(crate) type Empty = serde::de::IgnoredAny;

/// Fails with [`WecomError::Invalid`] when a list of `field` holds more than `max` items.
pub(crate) fn check_count(field: &str, len: usize, max: usize) -> Result<(), WecomError> {
    if len > max {
        return Err(WecomError::Invalid(format!("{field}: {len} items, at most {max}")));
    }
    Ok(())
}

/// Fails when `field` is longer than `max` characters (WeCom's "字符").
pub(crate) fn check_chars(field: &str, value: &str, max: usize) -> Result<(), WecomError> {
    let len = value.chars().count();
    if len > max {
        return Err(WecomError::Invalid(format!("{field}: {len} characters, at most {max}")));
    }
    Ok(())
}

/// Fails when `field` is longer than `max` bytes of UTF-8 (WeCom's "字节").
pub(crate) fn check_bytes(field: &str, value: &str, max: usize) -> Result<(), WecomError> {
    if value.len() > max {
        return Err(WecomError::Invalid(format!("{field}: {} bytes, at most {max}", value.len())));
    }
    Ok(())
}

/// Fails when `field` is empty.
pub(crate) fn check_present(field: &str, present: bool) -> Result<(), WecomError> {
    if !present {
        return Err(WecomError::Invalid(format!("{field} is required")));
    }
    Ok(())
}

/// An integer WeCom sends as `123`, `"123"`, `""` or `null` (timestamps of the mass-send replies).
pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Float(f64),
        Str(String),
        Null(()),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Int(n) => Ok(n),
        // Whole seconds: truncation of a float timestamp is what is meant.
        Raw::Float(f) => Ok(f as i64),
        Raw::Str(s) if s.trim().is_empty() => Ok(0),
        Raw::Str(s) => s.trim().parse().map_err(serde::de::Error::custom),
        Raw::Null(()) => Ok(0),
    }
}

/// A flag WeCom spells `0`/`1`: written as an integer, read from an integer or a boolean.
pub(crate) mod flag {
    use super::*;

    /// Writes `true` as `1` and `false` as `0`.
    pub fn serialize<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(u8::from(*value))
    }

    /// Reads `1`/`0`, `true`/`false` (anything non-zero is `true`).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Int(i64),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Bool(b) => b,
            Raw::Int(n) => n != 0,
        })
    }
}

/// Test helpers: a client that must never reach the network (the checks under test fail before sending).
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::Arc;

    use crate::client::{Client, ClientConfig, CorpCredentials};
    use crate::limiter::{LocalLimiter, Quota};

    /// A client pointed at the discard port: a call that gets as far as sending fails with a transport error.
    pub(crate) fn offline_client() -> Client {
        let config = ClientConfig { base_url: "http://127.0.0.1:9/".into(), ..ClientConfig::default() };
        Client::new(config, Arc::new(LocalLimiter::new(Quota::default()))).unwrap()
    }

    /// Credentials of a corp that does not exist.
    pub(crate) fn creds() -> CorpCredentials {
        CorpCredentials { corp_id: "ww-test".into(), secret: "s".into(), agent_id: Some(1_000_002) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, Serialize)]
    struct Stamped {
        #[serde(deserialize_with = "lenient_i64")]
        at: i64,
        #[serde(with = "flag")]
        on: bool,
    }

    #[test]
    fn timestamps_are_read_from_numbers_strings_and_nothing() {
        for (raw, want) in [(json!(17), 17), (json!("18"), 18), (json!(""), 0), (json!(null), 0)] {
            let read: Stamped = serde_json::from_value(json!({"at": raw, "on": 1})).unwrap();
            assert_eq!(read.at, want);
        }
    }

    #[test]
    fn flags_are_written_as_integers_and_read_from_both_spellings() {
        let read: Stamped = serde_json::from_value(json!({"at": 0, "on": true})).unwrap();
        assert!(read.on);
        assert_eq!(serde_json::to_value(&read).unwrap(), json!({"at": 0, "on": 1}));
    }

    #[test]
    fn limits_count_characters_and_bytes_separately() {
        assert!(check_chars("remark", "门店门店", 4).is_ok());
        assert!(check_bytes("text", "门店门店", 4).is_err());
        assert!(check_count("ids", 3, 2).is_err());
        assert!(matches!(check_present("sender", false), Err(WecomError::Invalid(_))));
    }
}
