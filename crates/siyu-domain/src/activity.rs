//! A customer's activity: their timeline entries, their events (resolved to them by identity resolution)
//! and their orders in one list, newest first, filtered by [`ActivityKind`].
//!
//! Timeline entries are sorted into kinds by the prefix of their `kind` ([`ActivityKind::of_timeline`]):
//! `order_*` are orders, `tag_*` tags, `identity_*` and anything about a merge (`customer_merged`,
//! `customer_unmerged`, …) identity, `note_*` notes, the rest other. An `order_imported` entry is left out
//! of the list ([`HIDDEN_TIMELINE_KINDS`]): the order itself stands in the list at the time it was placed.

use serde::{Deserialize, Serialize};

use crate::Invalid;
use crate::timeline::kinds;

/// Timeline kinds the activity list leaves out because another item of the list says the same.
pub const HIDDEN_TIMELINE_KINDS: [&str; 1] = [kinds::ORDER_IMPORTED];

/// What an activity item is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// An event from an SDK or server source.
    Events,
    /// An order, or a change of one.
    Orders,
    Tags,
    /// Identities added or removed, merges and un-merges.
    Identity,
    Notes,
    /// Everything else: profile changes, follows, imports, …
    Other,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 6] =
        [Self::Events, Self::Orders, Self::Tags, Self::Identity, Self::Notes, Self::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Orders => "orders",
            Self::Tags => "tags",
            Self::Identity => "identity",
            Self::Notes => "notes",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Parses the `kind` filter: empty or `all` is every kind.
    pub fn parse_filter(s: Option<&str>) -> Result<Option<Self>, Invalid> {
        match s.map(str::trim) {
            None | Some("") | Some("all") => Ok(None),
            Some(k) => Self::parse(k).map(Some).ok_or_else(|| Invalid::new("kind", "unknown_kind")),
        }
    }

    /// The prefixes of the timeline kinds of this kind (`Other` is what no other kind claims; `Events` has
    /// no timeline entries).
    pub fn timeline_prefixes(self) -> &'static [&'static str] {
        match self {
            Self::Orders => &["order_"],
            Self::Tags => &["tag_"],
            Self::Identity => &["identity_"],
            Self::Notes => &["note_"],
            Self::Events | Self::Other => &[],
        }
    }

    /// Whether timeline entries whose kind contains the word "merge" belong here (merges, un-merges).
    pub fn claims_merges(self) -> bool {
        self == Self::Identity
    }

    /// The kind of a timeline entry, by its `kind`.
    pub fn of_timeline(kind: &str) -> Self {
        [Self::Orders, Self::Tags, Self::Identity, Self::Notes]
            .into_iter()
            .find(|k| {
                k.timeline_prefixes().iter().any(|p| kind.starts_with(p))
                    || (k.claims_merges() && kind.contains("merge"))
            })
            .unwrap_or(Self::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_kinds_fall_into_activity_kinds_by_their_prefix() {
        let cases = [
            (kinds::ORDER_STATUS_CHANGED, ActivityKind::Orders),
            (kinds::TAG_ADDED, ActivityKind::Tags),
            (kinds::IDENTITY_REMOVED, ActivityKind::Identity),
            ("customer_merged", ActivityKind::Identity),
            ("customer_unmerged", ActivityKind::Identity),
            (kinds::NOTE_ADDED, ActivityKind::Notes),
            (kinds::PROFILE_UPDATED, ActivityKind::Other),
            (kinds::FOLLOW_ADDED, ActivityKind::Other),
            ("coupon_sent", ActivityKind::Other),
        ];
        for (kind, want) in cases {
            assert_eq!(ActivityKind::of_timeline(kind), want, "{kind}");
        }
    }

    #[test]
    fn the_kind_filter_takes_all_or_a_known_kind() {
        assert_eq!(ActivityKind::parse_filter(None), Ok(None));
        assert_eq!(ActivityKind::parse_filter(Some("all")), Ok(None));
        assert_eq!(ActivityKind::parse_filter(Some("orders")), Ok(Some(ActivityKind::Orders)));
        assert_eq!(ActivityKind::parse_filter(Some("chats")).unwrap_err().reason, "unknown_kind");
    }
}
