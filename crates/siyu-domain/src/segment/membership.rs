//! Saved segments and their membership: kinds, the enter/exit deltas with their versions and reasons,
//! daily sizes, and the diff of two member lists.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Condition;
use crate::id::{CustomerId, SegmentId, TagId, UserId};

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
    /// A tag the members hold automatically (a rule tag): added on entry, removed on exit.
    pub rule_tag: Option<TagId>,
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
