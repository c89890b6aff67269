//! The checked form of a definition that both evaluators run: groups of typed atoms with resolved
//! references and windows in days.

use chrono::{DateTime, NaiveDate, Utc};

use super::field::Builtin;
use super::{CountOp, TagMatch};
use crate::id::{GroupId, SegmentId, TagId, UserId};
use crate::identity::IdentityKind;
use crate::privacy::{ConsentPurpose, ConsentStatus};

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
    /// Member of any / all / none of the customer groups.
    Groups {
        mode: TagMatch,
        groups: Vec<GroupId>,
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
