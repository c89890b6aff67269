//! The audit log: who did what, when, from where. Append-only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::{AuditId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    /// The actor's display name at the time (or `api token <name>`, `system`).
    pub actor_name: String,
    /// Stable action name, e.g. `customer.create`, `pii.reveal`, `auth.login_failed`.
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub detail: Value,
}
