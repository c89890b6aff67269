//! The customer timeline: append-only events that every capability writes into.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::{CustomerId, TimelineId, UserId};

/// Well-known event types written by the foundation. Later capabilities add their own strings.
pub mod kinds {
    pub const CUSTOMER_CREATED: &str = "customer_created";
    pub const PROFILE_UPDATED: &str = "profile_updated";
    pub const TAG_ADDED: &str = "tag_added";
    pub const TAG_REMOVED: &str = "tag_removed";
    pub const NOTE_ADDED: &str = "note_added";
    pub const IDENTITY_ADDED: &str = "identity_added";
    pub const IDENTITY_REMOVED: &str = "identity_removed";
    pub const FOLLOW_ADDED: &str = "follow_added";
    pub const FOLLOW_REMOVED: &str = "follow_removed";
    pub const IMPORTED: &str = "imported";
    /// An imported order was attached to the customer (payload: order id, platform, status, paid fen).
    pub const ORDER_IMPORTED: &str = "order_imported";
    /// A re-import moved an order of the customer forward (payload: order id, `from`, `to`).
    pub const ORDER_STATUS_CHANGED: &str = "order_status_changed";
    /// A consent was granted or withdrawn (payload: purpose, `from`, `to`, source).
    pub const CONSENT_CHANGED: &str = "consent_changed";
    /// The customer was erased (PIPL); earlier entries keep their kind and time but no payload.
    pub const CUSTOMER_ERASED: &str = "customer_erased";
    /// The customer moved to another lifecycle stage (payload: `from`, `to`, reason, journey).
    pub const STAGE_CHANGED: &str = "stage_changed";
    /// A staff task about the customer was created (payload: task id, title, assignee, due_at, journey, node).
    pub const TASK_CREATED: &str = "task_created";
    /// A staff task about the customer was completed (payload: task id, journey, node).
    pub const TASK_COMPLETED: &str = "task_completed";
    /// A journey delivered a message or webhook (payload: journey, node, channel, dedupe_key).
    pub const MESSAGE_SENT: &str = "message_sent";
    /// A journey's message or webhook failed for good (payload: journey, node, channel, dedupe_key, error).
    pub const MESSAGE_FAILED: &str = "message_failed";
    /// WeCom reported a journey's message received by the customer (the staff member confirmed it; payload:
    /// journey, node, channel, dedupe_key, msgid).
    pub const MESSAGE_DELIVERED: &str = "message_delivered";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: TimelineId,
    pub customer_id: CustomerId,
    pub occurred_at: DateTime<Utc>,
    /// Which system wrote it: `console`, `api`, `import`, `wecom`, `sdk`, ...
    pub source: String,
    /// What happened: see [`kinds`].
    pub kind: String,
    pub actor_id: Option<UserId>,
    #[schema(value_type = Object)]
    pub payload: Value,
}
