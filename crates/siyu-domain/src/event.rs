//! Events: the Segment-compatible wire format that SDKs post to `/v1/*`, parsed and validated.
//!
//! This module is pure: it turns the (already decompressed) bytes of one request into validated
//! [`Message`]s plus a list of rejected items, and tells which identifiers each message carries. Auth, the
//! durable write, dedupe and identity resolution are done by the layers above.
//!
//! # How the layers above use it
//!
//! ```text
//! let endpoint = Endpoint::parse(path_segment)?;            // "track" … "batch", or analytics.js' "t" … "b"
//! let parsed = parse_request(endpoint, &body)?;             // Err(EventError) => 400 {"code": err.code()}
//! let key = basic_auth_user.or(parsed.write_key.as_deref()); // missing or unknown => 401
//! for m in &parsed.messages {                              // store; generate a messageId when m.message_id is None
//!     let when = m.event_time(received_at);
//!     let ids = m.identifiers();                           // carried (strong/weak) and dropped identifiers
//! }
//! for e in &parsed.errors { /* quarantine e.item with e.code, e.message */ } // still 200, as at Segment
//! ```
//!
//! # Decisions
//!
//! - **Size limits** ([`MAX_MESSAGE_BYTES`] = 32 KiB, [`MAX_BATCH_BYTES`] = 500 KiB) are checked on the body
//!   before parsing; a batch item is measured as its compact JSON text. Segment documents "32KB" and "500KB";
//!   we read them as KiB, which accepts everything the official clients send (the Python client caps items
//!   at 32 << 10 bytes and batches at 475,000 bytes).
//! - **`type` on single-message endpoints is ignored**: the endpoint decides the type, as Segment and
//!   RudderStack do, so `POST /v1/track` with `"type": "identify"` is a track call. Inside a batch `type` is
//!   required per item.
//! - **Invalid single messages are item errors too** (index 0), not request errors: Segment answers 200 for
//!   everything except oversize bodies and bad JSON, and quarantines the rest. The HTTP layer may choose 400.
//! - **`writeKey`** is read from the top level of the body (single message or batch envelope) and removed
//!   from the items; keys inside batch items are ignored and removed too, so no key reaches storage.
//! - **Batch-level `context` and `integrations`** are merged into each item one level deep, item keys
//!   winning; batch-level `sentAt` applies to items without their own. Other envelope fields (`timestamp`,
//!   `_metadata`) are ignored.
//! - **Unknown fields** (`_metadata`, `version`, `channel`, `receivedAt`, …) are tolerated and dropped; fields
//!   that do not belong to the message's type (`traits` on a track) are ignored the same way.
//! - **`null` means absent** for every optional field, and so does a blank string for ids; numeric ids are
//!   accepted and turned into their decimal text (old clients send `"userId": 42`).

mod identifier;
mod item;
mod message;
mod request;
mod timestamp;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use identifier::{CarriedIdentity, DroppedIdentifier, Identifiers, Strength};
pub use item::{ItemError, ItemErrorCode};
pub use message::Message;
pub use request::{EventError, MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, ParsedRequest, parse_request};
pub use timestamp::parse_timestamp;

/// The six Segment call types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Track,
    Identify,
    Page,
    Screen,
    Group,
    Alias,
}

impl MessageType {
    pub const ALL: [MessageType; 6] = [Self::Track, Self::Identify, Self::Page, Self::Screen, Self::Group, Self::Alias];

    /// The wire name: `track`, `identify`, `page`, `screen`, `group`, `alias`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Track => "track",
            Self::Identify => "identify",
            Self::Page => "page",
            Self::Screen => "screen",
            Self::Group => "group",
            Self::Alias => "alias",
        }
    }

    /// Parses a wire name, ignoring ASCII case and surrounding spaces.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

/// Which `/v1/*` endpoint a request was posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/v1/track`, `/v1/identify`, `/v1/page`, `/v1/screen`, `/v1/group`, `/v1/alias`: one message.
    Single(MessageType),
    /// `/v1/batch`: `{"batch": [...], "sentAt", "context", "integrations", "writeKey"}`.
    Batch,
}

impl Endpoint {
    /// Every endpoint, in the order of the Segment docs.
    pub const ALL: [Endpoint; 7] = [
        Self::Single(MessageType::Identify),
        Self::Single(MessageType::Track),
        Self::Single(MessageType::Page),
        Self::Single(MessageType::Screen),
        Self::Single(MessageType::Group),
        Self::Single(MessageType::Alias),
        Self::Batch,
    ];

    /// The last path segment: `track` … `alias`, `batch`; also the short forms analytics.js posts to
    /// (`t`, `i`, `p`, `s`, `g`, `a`, and `b` for batches) and `import`, Segment's old name for `batch`.
    pub fn parse(segment: &str) -> Option<Self> {
        let t = match segment {
            "batch" | "b" | "import" => return Some(Self::Batch),
            "t" => MessageType::Track,
            "i" => MessageType::Identify,
            "p" => MessageType::Page,
            "s" => MessageType::Screen,
            "g" => MessageType::Group,
            "a" => MessageType::Alias,
            other => MessageType::ALL.into_iter().find(|t| t.as_str() == other)?,
        };
        Some(Self::Single(t))
    }

    /// The canonical path segment (`track`, …, `batch`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single(t) => t.as_str(),
            Self::Batch => "batch",
        }
    }

    /// The largest body this endpoint accepts, in bytes (after decompression).
    pub fn max_body_bytes(self) -> usize {
        match self {
            Self::Single(_) => MAX_MESSAGE_BYTES,
            Self::Batch => MAX_BATCH_BYTES,
        }
    }
}
