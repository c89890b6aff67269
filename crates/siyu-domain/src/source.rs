//! Event sources: where a tenant's events come from (a website, a mini-program, a backend, an import), each
//! with its own write key.
//!
//! A write key identifies one source of one tenant (cdp.md §1 "Write-key auth"). Only a SHA-256 of the key is
//! stored, plus a hint (`key_prefix`: `swk_…` and the key's last characters) so operators can tell keys
//! apart. Rotating a key means creating a new source and revoking the old one; a revoked source no longer
//! authenticates but keeps its events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{SourceId, UserId};
use crate::{Invalid, text};

/// Longest source name, in characters.
pub const MAX_SOURCE_NAME: usize = 100;

/// What kind of client sends a source's events. Stored as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A website (analytics.js and friends).
    Web,
    /// A WeChat mini-program.
    MiniProgram,
    /// The tenant's own backend (analytics-python, analytics-node, …).
    Server,
    /// Historical data loaded in bulk.
    Import,
}

impl SourceKind {
    pub const ALL: [SourceKind; 4] = [Self::Web, Self::MiniProgram, Self::Server, Self::Import];

    /// The stable name: `web`, `mini_program`, `server`, `import`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::MiniProgram => "mini_program",
            Self::Server => "server",
            Self::Import => "import",
        }
    }

    /// Parses a stable name (exact match).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One source of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Source {
    pub id: SourceId,
    pub name: String,
    pub kind: SourceKind,
    /// A hint to recognise the write key in lists (`swk_…` and its last characters; never the whole key).
    pub key_prefix: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Source {
    /// Whether the source's write key still authenticates.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A source name: trimmed, non-empty, at most [`MAX_SOURCE_NAME`] characters, no control characters.
pub fn parse_source_name(s: &str) -> Result<String, Invalid> {
    text::required("name", s, MAX_SOURCE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_stable_name() {
        for k in SourceKind::ALL {
            assert_eq!(SourceKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        assert_eq!(SourceKind::parse("Web"), None);
    }

    #[test]
    fn source_names_are_trimmed_and_bounded() {
        assert_eq!(parse_source_name("  官网  ").unwrap(), "官网");
        assert!(parse_source_name(" ").is_err());
        assert!(parse_source_name(&"源".repeat(MAX_SOURCE_NAME + 1)).is_err());
    }
}
