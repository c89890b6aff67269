//! Segments: saved audience definitions. A definition is a condition tree (all / any / not over atoms on
//! profile fields, custom fields, aggregates, tags, identities, follows, events, purchases, consents and
//! other segments).
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

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::{CustomerId, SegmentId, TagId, UserId};
use crate::identity::IdentityKind;
use crate::privacy::{ConsentPurpose, ConsentStatus};

pub mod check;
pub mod eval;
pub mod field;
pub mod text;

pub use check::{Catalog, SegmentRef, check};
pub use field::{Builtin, FieldType};

/// Deepest nesting of groups (and inlined segments) a definition may have.
pub const MAX_DEPTH: usize = 12;
/// Most atoms a definition may have, inlined segments included.
pub const MAX_ATOMS: usize = 200;
/// Longest time window, in days.
pub const MAX_WINDOW_DAYS: u32 = 3660;

/// Whether membership is a snapshot taken once or kept current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Members are fixed when the segment is saved (or imported) and change only by hand.
    Static,
    /// Members are whoever matches the definition, recomputed as data changes.
    Dynamic,
}

impl SegmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::Dynamic => "dynamic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "static" => Some(Self::Static),
            "dynamic" => Some(Self::Dynamic),
            _ => None,
        }
    }
}

/// A saved segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub id: SegmentId,
    pub name: String,
    pub description: String,
    pub kind: SegmentKind,
    pub definition: Condition,
    /// Archived segments keep their members and history but are no longer refreshed.
    pub archived: bool,
    /// The last membership version handed out.
    pub seq: i64,
    pub member_count: i64,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Entering or leaving a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Enter,
    Exit,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enter => "enter",
            Self::Exit => "exit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enter" => Some(Self::Enter),
            "exit" => Some(Self::Exit),
            _ => None,
        }
    }
}

/// Why a membership changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeReason {
    /// The first materialisation: recorded, but not an entry journeys react to.
    Initial,
    /// A full recompute (scheduled or on demand).
    Refresh,
    /// The customer's own data changed.
    Change,
    /// Added or removed by hand (static segments).
    Manual,
}

impl ChangeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Refresh => "refresh",
            Self::Change => "change",
            Self::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Initial, Self::Refresh, Self::Change, Self::Manual].into_iter().find(|r| r.as_str() == s)
    }
}

/// One entry or exit: the delta journeys consume. `(segment, customer, version)` is unique and versions
/// grow, so a consumer drops a delta older than one it has seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MembershipChange {
    pub segment_id: SegmentId,
    pub customer_id: CustomerId,
    pub version: i64,
    pub op: ChangeOp,
    pub reason: ChangeReason,
    pub at: DateTime<Utc>,
}

/// A segment's size on one day (tenant time zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SegmentSize {
    pub day: String,
    pub members: i64,
    pub entered: i64,
    pub exited: i64,
}

/// What entered and left, given the old and the new members (both sorted ascending).
pub fn diff(old: &[CustomerId], new: &[CustomerId]) -> (Vec<CustomerId>, Vec<CustomerId>) {
    let (mut entered, mut exited) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(o), Some(n)) if o == n => {
                i += 1;
                j += 1;
            }
            (Some(o), Some(n)) if o < n => {
                exited.push(*o);
                i += 1;
            }
            (Some(o), None) => {
                exited.push(*o);
                i += 1;
            }
            (_, Some(n)) => {
                entered.push(*n);
                j += 1;
            }
            (None, None) => break,
        }
    }
    (entered, exited)
}

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

/// A checked definition: what both evaluators run.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Atom(Atom),
}

/// Where a field's value is read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldRef {
    Builtin(Builtin),
    /// `custom.<key>` with the field's type.
    Custom(String),
}

/// One checked test.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// `field op value` on a number (integers, fen and custom numbers all compare as numbers).
    Number {
        field: FieldRef,
        op: Cmp,
        value: f64,
    },
    Text {
        field: FieldRef,
        test: TextTest,
    },
    /// A point in time: built-in times.
    Time {
        field: FieldRef,
        test: TimeTest,
    },
    /// A calendar date: custom date fields (`YYYY-MM-DD`).
    Date {
        field: FieldRef,
        test: DateTest,
    },
    /// A list field (platforms, multi-choice custom fields) holding any / all of the values.
    List {
        field: FieldRef,
        all: bool,
        values: Vec<String>,
    },
    /// The field has a value (`set`) or not.
    Present {
        field: FieldRef,
        set: bool,
    },
    Tags {
        mode: TagMatch,
        tags: Vec<TagId>,
    },
    Identity(IdentityKind),
    Follow {
        staff: Option<UserId>,
        state: Option<String>,
        add_way: Option<String>,
        within_days: Option<u32>,
    },
    Event {
        name: String,
        op: CountOp,
        count: u32,
        within_days: Option<u32>,
        filters: Vec<PropertyTest>,
    },
    Bought {
        product: String,
        within_days: Option<u32>,
    },
    Consent {
        purpose: ConsentPurpose,
        status: ConsentStatus,
    },
    /// Member of a static segment (dynamic ones are inlined).
    Member(SegmentId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Eq => " = ",
            Cmp::Ne => " <> ",
            Cmp::Lt => " < ",
            Cmp::Le => " <= ",
            Cmp::Gt => " > ",
            Cmp::Ge => " >= ",
        }
    }

    pub fn holds<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TextTest {
    Eq(String),
    Ne(String),
    In(Vec<String>),
    Contains(String),
    StartsWith(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeTest {
    /// At or after `now − days`.
    WithinDays(u32),
    /// Before `now − days`.
    OlderThanDays(u32),
    /// Compared with an instant.
    At(Cmp, DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DateTest {
    /// On or after the tenant's today − days.
    WithinDays(u32),
    /// Before the tenant's today − days.
    OlderThanDays(u32),
    On(Cmp, NaiveDate),
}

/// A checked property filter: strings compare as strings, numbers as numbers, booleans by equality.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyTest {
    pub key: String,
    pub cmp: Cmp,
    pub value: PropertyValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Rule {
    /// The greatest event window the rule looks back over, in days (`None`: all time), and whether it
    /// reads events at all: what a single-customer evaluation needs to load.
    pub fn event_window(&self) -> Option<Option<u32>> {
        match self {
            Rule::All(v) | Rule::Any(v) => v.iter().filter_map(Rule::event_window).reduce(widest),
            Rule::Not(r) => r.event_window(),
            Rule::Atom(Atom::Event { within_days, .. }) => Some(*within_days),
            Rule::Atom(_) => None,
        }
    }
}

fn widest(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        _ => None,
    }
}
