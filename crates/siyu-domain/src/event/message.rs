//! A validated Segment message, and the corrected event time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::MessageType;

/// One validated call (`track`, `identify`, …) as the ingest pipeline stores it.
///
/// Built by [`parse_request`](super::parse_request), which guarantees:
/// - `anonymous_id` or `user_id` is present (alias: `user_id` and `previous_id`);
/// - `event` is present and non-blank for track, `group_id` for group;
/// - every id and name is within its length limit (messageId 100 characters, ids 255, event/name/category 200);
/// - only the fields of its type are set: `event` and `properties` for track; `name`, `category` and
///   `properties` for page and screen; `traits` for identify; `group_id` and `traits` for group;
///   `previous_id` for alias. `context` and `integrations` may be set on every type.
///
/// Serde uses the Segment wire names (`type`, `messageId`, `anonymousId`, `timestamp`, `sentAt`, …), so
/// `serde_json::to_vec(&message)` is a body that `parse_request` accepts again and yields the same message.
/// Deserialising does not validate: use it only for messages this crate produced and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The client's `messageId`, the dedupe key `(tenant, messageId)`. `None` when the client sent none: the
    /// caller generates one (a UUIDv7 is fine) before storing, so that a replay of the stored row dedupes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Alias only: the id the person was known by before, either a former `userId` or an `anonymousId`;
    /// identity resolution looks it up under both kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Track only: the event name (`Order Completed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Page and screen: the page or screen name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Page and screen: the page category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Track, page, screen: free-form properties. Empty when absent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
    /// Identify and group: traits. A `null` value removes the trait; an empty string is a value.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub traits: Map<String, Value>,
    /// `library`, `ip`, `device`, `page`, `externalIds`, …, with batch-level context merged in.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
    /// Per-destination switches, with batch-level integrations merged in.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub integrations: Map<String, Value>,
    /// The client's `timestamp`: when it happened on the client's clock (Segment's `originalTimestamp`).
    #[serde(default, rename = "timestamp", skip_serializing_if = "Option::is_none")]
    pub original_timestamp: Option<DateTime<Utc>>,
    /// The client's clock when it sent the request (from the item, else from the batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
}

impl Message {
    /// An empty message of the given type; the parser fills it in. Handy for building test messages.
    pub fn new(kind: MessageType) -> Self {
        Self {
            kind,
            message_id: None,
            anonymous_id: None,
            user_id: None,
            previous_id: None,
            group_id: None,
            event: None,
            name: None,
            category: None,
            properties: Map::new(),
            traits: Map::new(),
            context: Map::new(),
            integrations: Map::new(),
            original_timestamp: None,
            sent_at: None,
        }
    }

    /// When the event happened, corrected for the client's clock skew (cdp.md §1 "Clock skew", the Segment
    /// spec's rule):
    /// - `received_at − (sent_at − original_timestamp)` when both client times are present: the delay the
    ///   client measured on its own clock, laid onto ours;
    /// - else the client `timestamp` as sent;
    /// - else `received_at`.
    ///
    /// Never panics: a correction that would leave chrono's range falls back to the client timestamp.
    pub fn event_time(&self, received_at: DateTime<Utc>) -> DateTime<Utc> {
        match (self.original_timestamp, self.sent_at) {
            (Some(ts), Some(sent)) => received_at.checked_sub_signed(sent.signed_duration_since(ts)).unwrap_or(ts),
            (Some(ts), None) => ts,
            (None, _) => received_at,
        }
    }

    /// `context.library.name`, e.g. `analytics-python`, for logs and metrics.
    pub fn library(&self) -> Option<&str> {
        self.context.get("library")?.get("name")?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, s).unwrap()
    }

    #[test]
    fn a_client_clock_running_fast_is_corrected_by_the_send_delay() {
        let mut m = Message::new(MessageType::Track);
        m.original_timestamp = Some(at(10, 5, 0));
        m.sent_at = Some(at(10, 5, 30));
        assert_eq!(m.event_time(at(10, 0, 31)), at(10, 0, 1), "30 s before it reached us, on our clock");
    }

    #[test]
    fn without_sent_at_the_timestamp_is_taken_as_is_and_without_either_the_arrival() {
        let mut m = Message::new(MessageType::Page);
        assert_eq!(m.event_time(at(12, 0, 0)), at(12, 0, 0));
        m.sent_at = Some(at(9, 0, 0));
        assert_eq!(m.event_time(at(12, 0, 0)), at(12, 0, 0), "sentAt alone says nothing about the event");
        m.sent_at = None;
        m.original_timestamp = Some(at(11, 0, 0));
        assert_eq!(m.event_time(at(12, 0, 0)), at(11, 0, 0));
    }

    #[test]
    fn extreme_skews_never_panic() {
        let mut m = Message::new(MessageType::Track);
        m.original_timestamp = Some(DateTime::<Utc>::MIN_UTC);
        m.sent_at = Some(DateTime::<Utc>::MAX_UTC);
        assert_eq!(m.event_time(at(0, 0, 0)), DateTime::<Utc>::MIN_UTC);
        m.original_timestamp = Some(DateTime::<Utc>::MAX_UTC);
        m.sent_at = Some(DateTime::<Utc>::MIN_UTC);
        let _ = m.event_time(DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn the_library_name_is_read_from_the_context() {
        let mut m = Message::new(MessageType::Track);
        assert_eq!(m.library(), None);
        m.context.insert("library".into(), serde_json::json!({"name": "analytics-python", "version": "2.3.3"}));
        assert_eq!(m.library(), Some("analytics-python"));
    }
}
