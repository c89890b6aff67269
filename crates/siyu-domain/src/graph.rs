//! The identity graph's rules (cdp.md §2): which identifiers may make two customers one, and how a wrong
//! merge is undone.
//!
//! The graph itself lives in the store: identities are its nodes (each held by exactly one customer), an
//! append-only edge log records which identities were observed together and by what evidence, and a merge
//! log records every time two customers became one. This module holds the two decisions taken over it,
//! as pure functions:
//!
//! - [`decide`]: what one observation (an event, an order, a confirmed suggestion) does: which customer
//!   it belongs to, which customers merge into the oldest one, which new identities join, which edges are
//!   recorded and which pairs become merge suggestions instead (uniqueness conflicts, caps, weak evidence,
//!   masked phones).
//! - [`partition`]: un-merge as a replay. Given a customer's identities, the edges among them and the two
//!   sides' anchors, it splits the identities by the remaining evidence and names the edges to retract.

mod decide;
mod partition;

pub use decide::{Decision, Limits, Person, Seen, decide};
pub use partition::{Partition, Side, partition};

use serde::{Deserialize, Serialize};

use crate::identity::IdentityKind;

/// One identifier as the graph sees it: kind, namespace and lookup (the value itself, or for phones and
/// emails the blind index, so the graph never needs the clear value).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Key {
    pub kind: IdentityKind,
    pub namespace: String,
    pub lookup: String,
}

impl Key {
    pub fn new(kind: IdentityKind, namespace: &str, lookup: &str) -> Self {
        Self { kind, namespace: namespace.to_string(), lookup: lookup.to_string() }
    }
}

impl IdentityKind {
    /// A person holds at most one value of this kind per namespace (cdp.md §2.1): two customers holding
    /// different values are different people and never merge automatically.
    pub fn is_unique_per_person(self) -> bool {
        matches!(
            self,
            Self::Unionid | Self::Openid | Self::ExternalUserid | Self::UserId | Self::PlatformBuyer | Self::MemberNo
        )
    }

    /// Resolution priority, highest first: the customer of the highest-priority identifier wins, and the
    /// lowest-priority identifiers are the ones dropped when a limit would break (§2.3 "Priority").
    pub fn priority(self) -> u8 {
        match self {
            Self::UserId => 9,
            Self::Unionid => 8,
            Self::ExternalUserid => 7,
            Self::Openid => 6,
            Self::MemberNo => 5,
            Self::PlatformBuyer => 4,
            Self::Phone => 3,
            Self::Email => 2,
            Self::AnonymousId => 1,
        }
    }

    /// How many identities of this kind (per namespace) one person may hold.
    pub fn limit_per_person(self) -> usize {
        match self {
            k if k.is_unique_per_person() => 1,
            // One current and a few historical numbers (family phones, a changed number).
            Self::Phone | Self::Email => 3,
            // Devices and browsers: many, but bounded so one shared kiosk id cannot swallow a store.
            _ => 50,
        }
    }
}

/// The order in which an observation's identifiers count: strong before weak, then by kind priority. The
/// first one in the group is the anchor the observation is attributed through.
pub fn precedence(strength: crate::event::Strength, kind: IdentityKind) -> impl Ord {
    (std::cmp::Reverse(strength), std::cmp::Reverse(kind.priority()))
}

/// Why two customers were not merged automatically but offered to an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionReason {
    /// A typed-in (unverified) phone or email held by another customer.
    WeakIdentifier,
    /// A masked phone (`138****1234`) whose prefix and last four digits match another customer's phone.
    MaskedPhone,
    /// An order's receiver phone is another customer's phone (a gift's receiver is not the buyer).
    ReceiverPhone,
    /// Strong evidence joins two customers holding different values of a unique kind (two unionids, two
    /// openids of one app, two userIds).
    UniqueConflict,
    /// The merge would pass the per-customer caps (merges, identities).
    MergeCap,
}

impl SuggestionReason {
    pub const ALL: [Self; 5] =
        [Self::WeakIdentifier, Self::MaskedPhone, Self::ReceiverPhone, Self::UniqueConflict, Self::MergeCap];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WeakIdentifier => "weak_identifier",
            Self::MaskedPhone => "masked_phone",
            Self::ReceiverPhone => "receiver_phone",
            Self::UniqueConflict => "unique_conflict",
            Self::MergeCap => "merge_cap",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    Open,
    Accepted,
    Rejected,
    /// One of the two was merged away or erased before anyone decided.
    Obsolete,
}

impl SuggestionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Obsolete => "obsolete",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Accepted, Self::Rejected, Self::Obsolete].into_iter().find(|x| x.as_str() == s)
    }
}

/// A pair of customers an operator should look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub other: crate::id::CustomerId,
    pub reason: SuggestionReason,
    /// The identifier that raised it.
    pub key: Key,
}
