//! Segments: saved audience definitions. A definition is a condition tree (all / any / not over atoms on
//! profile fields, custom fields, aggregates, tags, customer groups, identities, follows, events, purchases,
//! consents and other segments).
//!
//! Three forms of one definition:
//! - [`Condition`], the stored and API form (JSON): references by id, so renaming a tag keeps it.
//! - The text form ([`text::parse`] / [`text::print`]), for power users: references by name.
//! - [`Rule`], the checked form ([`check::check`]): types resolved, nested dynamic segments inlined. The
//!   store compiles a `Rule` to SQL for both databases and [`eval::matches`] evaluates it in memory for one
//!   customer; the two agree (a property test runs both on random data).
//!
//! Semantics shared by both evaluators: an atom on a missing value is false (two-valued logic, so `not`
//! is plain negation); time windows are relative to the evaluation time `now`; date literals are midnight
//! in the tenant's time zone.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::{GroupId, SegmentId, TagId, UserId};
use crate::identity::IdentityKind;
use crate::privacy::{ConsentPurpose, ConsentStatus};

pub mod check;
pub mod eval;
pub mod field;
mod membership;
pub mod population;
mod rule;
pub mod rule_tag;
pub mod text;

pub use check::{Catalog, SegmentRef, check};
pub use field::{Builtin, FieldType};
pub use membership::{ChangeOp, ChangeReason, MembershipChange, Segment, SegmentKind, SegmentSize, diff};
pub use rule::{Atom, Cmp, DateTest, FieldRef, PropertyTest, PropertyValue, Rule, TextTest, TimeTest};

/// Deepest nesting of groups (and inlined segments) a definition may have.
pub const MAX_DEPTH: usize = 12;
/// Most atoms a definition may have, inlined segments included.
pub const MAX_ATOMS: usize = 200;
/// Longest time window, in days.
pub const MAX_WINDOW_DAYS: u32 = 3660;

/// A definition as stored and sent over the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// Every condition holds (an empty list is rejected).
    All {
        of: Vec<Condition>,
    },
    /// At least one condition holds (an empty list is rejected).
    Any {
        of: Vec<Condition>,
    },
    Not {
        not: Box<Condition>,
    },
    /// A profile, aggregate or custom field (`custom.<key>`) compared with a value.
    Field {
        field: String,
        op: Op,
        #[serde(default, skip_serializing_if = "Value::is_null")]
        value: Value,
    },
    /// Holds any / all / none of the tags.
    Tags {
        tags: Vec<TagId>,
        #[serde(rename = "match")]
        mode: TagMatch,
    },
    /// Is in any / all / none of the customer groups (客户群), through one of their external_userids.
    Groups {
        groups: Vec<GroupId>,
        #[serde(rename = "match")]
        mode: TagMatch,
    },
    /// Has an identity of the kind (a unionid, a phone, ...).
    Identity {
        kind: IdentityKind,
    },
    /// Is followed by a staff member; every given part must hold for the same follow.
    Follow {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        staff: Option<UserId>,
        /// The channel / live-code `state` the customer came through.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        add_way: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within_days: Option<u32>,
    },
    /// How many events named `name` (with the property filters) happened, compared with `count`.
    Event {
        name: String,
        #[serde(default = "default_count_op")]
        op: CountOp,
        #[serde(default = "one")]
        count: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within_days: Option<u32>,
        #[serde(default, rename = "where", skip_serializing_if = "Vec::is_empty")]
        filters: Vec<PropertyFilter>,
    },
    /// Bought a product (SKU code, product id or title) in a counted order.
    Bought {
        product: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within_days: Option<u32>,
    },
    /// The consent status for a purpose (no record is `unknown`).
    Consent {
        purpose: ConsentPurpose,
        status: ConsentStatus,
    },
    /// Is a member of another segment.
    Segment {
        segment: SegmentId,
    },
}

fn default_count_op() -> CountOp {
    CountOp::Ge
}

fn one() -> u32 {
    1
}

/// A field comparison. Which ones a field takes depends on its type ([`FieldType::ops`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// One of a list of values.
    In,
    Contains,
    StartsWith,
    /// A time or date within the last N days (value: N).
    WithinDays,
    /// A time or date more than N days ago (value: N).
    OlderThanDays,
    /// A list field holds at least one of the values.
    HasAny,
    /// A list field holds all of the values.
    HasAll,
    IsSet,
    IsNotSet,
}

impl Op {
    pub const ALL: [Op; 15] = [
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Le,
        Op::Gt,
        Op::Ge,
        Op::In,
        Op::Contains,
        Op::StartsWith,
        Op::WithinDays,
        Op::OlderThanDays,
        Op::HasAny,
        Op::HasAll,
        Op::IsSet,
        Op::IsNotSet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::In => "in",
            Op::Contains => "contains",
            Op::StartsWith => "starts_with",
            Op::WithinDays => "within_days",
            Op::OlderThanDays => "older_than_days",
            Op::HasAny => "has_any",
            Op::HasAll => "has_all",
            Op::IsSet => "is_set",
            Op::IsNotSet => "is_not_set",
        }
    }
}

/// How an event count is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountOp {
    Eq,
    Ge,
    Le,
}

/// How a list of tags (or customer groups) is matched: held any / all / none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TagMatch {
    Any,
    All,
    None,
}

/// An event property (`properties.<key>`) equal to / different from / above / below a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyFilter {
    pub key: String,
    pub op: Op,
    pub value: Value,
}
