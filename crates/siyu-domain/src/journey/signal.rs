//! What journeys react to (reference/journeys.md §3–4): a signal is one thing that happened to a customer —
//! an event, a tag given, a segment entered, a stage changed, consent withdrawn — read from the row the
//! store's triggers queued in the same transaction as the fact. For each live journey, `react` says whether
//! the signal starts a run (its trigger), ends one (its exit criteria), and `wakes` whether it answers a wait.
//!
//! Only fresh signals start runs: an order imported from last year moves the customer's stage but does
//! not enrol them in "thank you for your order" today.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::{ExitOn, JourneyGraph, NodeKind, Trigger, Wait};
use crate::id::{JourneyId, SegmentId, TagId};
use crate::order::OrderStatus;
use crate::privacy::{ConsentPurpose, ConsentStatus};
use crate::segment::PropertyFilter;
use crate::segment::check::property_test;
use crate::segment::eval::property_holds;
use crate::timeline::kinds;

/// How old a signal may be and still start a run.
pub const FRESH: Duration = Duration::hours(24);

/// One thing that happened to a customer.
#[derive(Debug, Clone, PartialEq)]
pub enum Happening {
    Created,
    /// An ingested track event, or an internal one (`order_paid`, `task_completed`, `message_sent`, ...),
    /// with the properties its filters read.
    Event {
        name: String,
        properties: Map<String, Value>,
    },
    TagAdded(TagId),
    TagRemoved(TagId),
    SegmentEnter(SegmentId),
    SegmentExit(SegmentId),
    /// The customer's stage changed (`journey`: the journey whose node changed it).
    StageChanged {
        from: Option<String>,
        to: String,
        journey: Option<JourneyId>,
    },
    /// Marketing consent withdrawn.
    OptedOut,
    /// Anything else queued (kept for its event name only).
    Other(String),
}

/// The event name an order timeline entry means, when it means a payment.
pub const ORDER_PAID: &str = "order_paid";

impl Happening {
    /// Reads a queued signal: `source` (`timeline`, `event`, `segment`), `kind`, the segment of a segment
    /// signal and the payload.
    pub fn read(source: &str, kind: &str, segment: Option<SegmentId>, payload: Option<&Value>) -> Happening {
        let empty = Map::new();
        let obj = payload.and_then(Value::as_object).unwrap_or(&empty);
        let text = |k: &str| obj.get(k).and_then(Value::as_str);
        let tag = || text("tag_id").and_then(|t| t.parse().ok()).map(TagId);
        match (source, kind) {
            ("segment", "segment_enter") => segment.map_or(Happening::Other(kind.into()), Happening::SegmentEnter),
            ("segment", "segment_exit") => segment.map_or(Happening::Other(kind.into()), Happening::SegmentExit),
            ("event", name) => {
                let properties = obj.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
                Happening::Event { name: name.into(), properties }
            }
            (_, kinds::CUSTOMER_CREATED) => Happening::Created,
            (_, kinds::TAG_ADDED) => tag().map_or(Happening::Other(kind.into()), Happening::TagAdded),
            (_, kinds::TAG_REMOVED) => tag().map_or(Happening::Other(kind.into()), Happening::TagRemoved),
            (_, kinds::ORDER_IMPORTED | kinds::ORDER_STATUS_CHANGED) => {
                let status = text(if kind == kinds::ORDER_IMPORTED { "status" } else { "to" });
                let was = text("from").and_then(OrderStatus::parse);
                match status.and_then(OrderStatus::parse) {
                    Some(s) if s.is_paid() && !was.is_some_and(OrderStatus::is_paid) => {
                        Happening::Event { name: ORDER_PAID.into(), properties: obj.clone() }
                    }
                    _ => Happening::Other(kind.into()),
                }
            }
            (_, kinds::CONSENT_CHANGED) => {
                let purpose = obj.get("purpose").cloned().and_then(|v| serde_json::from_value(v).ok());
                let to = obj.get("to").cloned().and_then(|v| serde_json::from_value(v).ok());
                match (purpose, to) {
                    (Some(ConsentPurpose::Marketing), Some(ConsentStatus::Withdrawn)) => Happening::OptedOut,
                    _ => Happening::Other(kind.into()),
                }
            }
            (_, kinds::STAGE_CHANGED) => match text("to") {
                Some(to) => Happening::StageChanged {
                    from: text("from").map(str::to_string),
                    to: to.into(),
                    journey: text("journey").and_then(|j| j.parse().ok()).map(JourneyId),
                },
                None => Happening::Other(kind.into()),
            },
            (_, other) => Happening::Event { name: other.into(), properties: obj.clone() },
        }
    }

    /// The name a wait or an event trigger matches.
    pub fn event_name(&self) -> &str {
        match self {
            Happening::Created => kinds::CUSTOMER_CREATED,
            Happening::Event { name, .. } => name,
            Happening::TagAdded(_) => kinds::TAG_ADDED,
            Happening::TagRemoved(_) => kinds::TAG_REMOVED,
            Happening::SegmentEnter(_) => "segment_enter",
            Happening::SegmentExit(_) => "segment_exit",
            Happening::StageChanged { .. } => kinds::STAGE_CHANGED,
            Happening::OptedOut => "opted_out",
            Happening::Other(kind) => kind,
        }
    }

    fn properties(&self) -> Option<&Map<String, Value>> {
        match self {
            Happening::Event { properties, .. } => Some(properties),
            _ => None,
        }
    }

    /// The value of property `name` as a key (`order_id` of an order event): a non-empty string, or a
    /// number written out; anything else (missing, empty, null, an object) is no key.
    pub fn key(&self, name: &str) -> Option<String> {
        match self.properties()?.get(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Whether the happening is the named event with every filter holding.
    pub fn is_event(&self, name: &str, filters: &[PropertyFilter]) -> bool {
        if self.event_name() != name {
            return false;
        }
        let empty = Map::new();
        let props = self.properties().unwrap_or(&empty);
        filters.iter().all(|f| property_test(f).is_ok_and(|t| property_holds(&t, props)))
    }
}

/// What one signal does to one journey.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaction {
    /// Start a run at this trigger node (its re-entry rule still applies).
    pub enrol: Option<String>,
    /// The run's key value, for a keyed event trigger (one live run per value).
    pub key: Option<String>,
    /// Why a matching trigger started nothing (`missing_key`: the event lacks the key property).
    pub refused: Option<&'static str>,
    /// End the live run, with this reason.
    pub exit: Option<String>,
    /// In a keyed journey, an exit event carrying the key property ends only the run of that value (the
    /// order that was paid); otherwise every live run of the customer ends.
    pub exit_key: Option<String>,
}

/// How a live journey reacts to a signal that happened at `at`, seen at `now`.
pub fn react(id: JourneyId, g: &JourneyGraph, h: &Happening, at: DateTime<Utc>, now: DateTime<Utc>) -> Reaction {
    let mut by_event = false;
    let exit = g.exit_on.iter().find_map(|e| {
        let hit = match (e, h) {
            (ExitOn::Event { name }, _) => {
                by_event = h.event_name() == name;
                by_event
            }
            (ExitOn::SegmentExit { segment }, Happening::SegmentExit(s)) => s == segment,
            (ExitOn::StageChange, Happening::StageChanged { journey, .. }) => *journey != Some(id),
            (ExitOn::OptOut, Happening::OptedOut) => true,
            _ => false,
        };
        hit.then(|| format!("exit_on:{}", h.event_name()))
    });
    // Old news (an order imported from last year) neither starts nor ends a run; a withdrawn consent
    // always ends one.
    let fresh = now - at <= FRESH;
    let exit = exit.filter(|_| fresh || *h == Happening::OptedOut);
    let trigger = g.nodes.iter().find_map(|n| match &n.kind {
        NodeKind::Trigger { trigger } if fresh && starts(trigger, h) => Some((n, trigger)),
        _ => None,
    });
    let exit_key = g.entry_key().filter(|_| by_event && exit.is_some()).and_then(|k| h.key(k));
    let mut r = Reaction { exit, exit_key, ..Reaction::default() };
    match trigger {
        Some((_, Trigger::Event { key: Some(k), .. })) if h.key(k).is_none() => r.refused = Some("missing_key"),
        Some((n, Trigger::Event { key: Some(k), .. })) => {
            r.enrol = Some(n.id.clone());
            r.key = h.key(k);
        }
        Some((n, _)) => r.enrol = Some(n.id.clone()),
        None => {}
    }
    r
}

fn starts(t: &Trigger, h: &Happening) -> bool {
    match (t, h) {
        (Trigger::Event { name, filters, .. }, _) => h.is_event(name, filters),
        (Trigger::SegmentEnter { segment, .. }, Happening::SegmentEnter(s)) => s == segment,
        (Trigger::SegmentExit { segment }, Happening::SegmentExit(s)) => s == segment,
        (Trigger::StageEnter { stage, from }, Happening::StageChanged { from: was, to, .. }) => {
            to == stage && from.as_ref().is_none_or(|f| was.as_ref() == Some(f))
        }
        (Trigger::TagAdded { tag }, Happening::TagAdded(t)) => t == tag,
        _ => false,
    }
}

/// Whether a run waiting at `node` of `g` is answered by the happening (the caller checks it happened
/// after the run reached the wait). A run entered with a key value (`entry_key`) is answered only by an
/// event whose key property (the graph's [`JourneyGraph::entry_key`]) has that value: `order_paid` of its
/// own order, not of another.
pub fn wakes(g: &JourneyGraph, node: &str, h: &Happening, entry_key: Option<&str>) -> bool {
    let keyed = match (g.entry_key(), entry_key) {
        (Some(k), Some(value)) => h.key(k).as_deref() == Some(value),
        _ => true,
    };
    match g.node(node).map(|n| &n.kind) {
        Some(NodeKind::Wait { wait: Wait::Event { name, filters, .. } }) => keyed && h.is_event(name, filters),
        _ => false,
    }
}

/// The event names a graph listens for (its event triggers, waits and exits), so the store queues them.
pub fn listened_events(g: &JourneyGraph) -> Vec<String> {
    let mut out: Vec<String> = g
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Trigger { trigger: Trigger::Event { name, .. } } => Some(name.clone()),
            NodeKind::Wait { wait: Wait::Event { name, .. } } => Some(name.clone()),
            _ => None,
        })
        .chain(g.exit_on.iter().filter_map(|e| match e {
            ExitOn::Event { name } => Some(name.clone()),
            _ => None,
        }))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
