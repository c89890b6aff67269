//! Journeys (客户旅程 SOP, reference/journeys.md): a graph of nodes each customer moves through on their own
//! clock. Triggers start a customer's instance; waits hold it (a duration, a local time, "day N of the
//! stage", an event with a timeout); branches, splits and holdouts route it; actions send, tag, change the
//! stage, create a task for the owning staff member, call a webhook or enrol in another journey; an exit
//! ends it. The graph is stored as JSON (this module's serde form) under a version that instances pin.
//!
//! This module holds the graph and its ports; `validate` what makes a graph publishable, `schedule` the
//! time rules (local times, day N, quiet hours) and `split` the deterministic random assignment.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::id::{JourneyId, SegmentId, TagId};
use crate::segment::{Condition, PropertyFilter};

pub mod migration;
pub mod schedule;
pub mod signal;
pub mod simulate;
pub mod split;
pub mod step;
pub mod validate;

pub use validate::{GraphCatalog, GraphError, validate};

/// The most nodes one journey may have.
pub const MAX_NODES: usize = 200;

/// A journey's structure: what one version pins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyGraph {
    pub nodes: Vec<Node>,
    /// Leave the journey at once when any of these happens (e.g. an order is paid).
    #[serde(default)]
    pub exit_on: Vec<ExitOn>,
    #[serde(default)]
    pub reentry: Reentry,
    /// What counts as a conversion (metrics: treatment vs holdout, per node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<Goal>,
}

/// A journey's goal: the customer does `event` (`order_paid`: a paid order) within `within_days` of entering
/// (of reaching a node, for that node's conversions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub event: String,
    pub within_days: u32,
}

/// One node: a stable id (edges and instances refer to it), what it does, and where each output leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Node {
    pub id: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub kind: NodeKind,
    /// Output port → the next node's id. An output left unconnected ends the journey there.
    #[serde(default)]
    pub next: BTreeMap<String, String>,
    /// Position on the canvas.
    #[serde(default)]
    pub x: i32,
    #[serde(default)]
    pub y: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeKind {
    Trigger {
        trigger: Trigger,
    },
    Wait {
        wait: Wait,
    },
    /// Routes by a condition on the customer's current data (the segment condition language).
    Branch {
        condition: Condition,
    },
    /// Random split: one output per weight (`"0"`, `"1"`, ...), fixed per version.
    Split {
        weights: Vec<u32>,
    },
    /// Holds out `percent` of the customers as a control group (output `holdout`; the rest `treatment`).
    Holdout {
        percent: u32,
    },
    /// Sends a message through a channel; the template is rendered at send time.
    Send {
        channel: String,
        template: String,
        #[serde(default)]
        attachments: Vec<String>,
        /// What a frequency cap does to this send: skip it (the default) or defer it to the next allowed day.
        #[serde(default, skip_serializing_if = "OnCap::is_skip")]
        on_cap: OnCap,
    },
    Tag {
        #[serde(default)]
        add: Vec<TagId>,
        #[serde(default)]
        remove: Vec<TagId>,
    },
    /// Moves the customer to a lifecycle stage.
    Stage {
        stage: String,
    },
    /// A task for the customer's owning staff member, e.g. "call this customer".
    Task {
        title: String,
        due_in_hours: u32,
        /// Call, send or follow up (the default).
        #[serde(default)]
        kind: crate::task::TaskKind,
    },
    /// A signed webhook; its idempotency key is the step's dedupe key.
    Webhook {
        url: String,
    },
    /// Enrols the customer in another journey.
    Enrol {
        journey: JourneyId,
    },
    Exit,
}

/// What a send node does when the customer's frequency cap for its channel is used up (reference §3:
/// "defer to the next allowed slot, or skip").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnCap {
    /// Record the send as `skipped` and move on (Klaviyo's Smart Sending).
    #[default]
    Skip,
    /// Hold the run at the node until the start of the customer's next local day (after quiet hours, with
    /// the deterministic jitter), counted as a deferral.
    Defer,
}

impl OnCap {
    pub fn is_skip(&self) -> bool {
        *self == OnCap::Skip
    }
}

/// What starts an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Trigger {
    /// An event (ingested or internal), with property filters; `key` names a property that keys the instance:
    /// one live run per (customer, key value), so two orders give two runs and a repeated event with the
    /// same value none; the journey's event waits then match only events carrying the run's value. An event
    /// without the property starts nothing.
    Event {
        name: String,
        #[serde(default)]
        filters: Vec<PropertyFilter>,
        #[serde(default)]
        key: Option<String>,
    },
    SegmentEnter {
        segment: SegmentId,
        /// Also enrol the segment's members at publish (otherwise only those who enter later).
        #[serde(default)]
        current: bool,
    },
    SegmentExit {
        segment: SegmentId,
    },
    /// Entering a lifecycle stage (from any stage, or from `from`).
    StageEnter {
        stage: String,
        #[serde(default)]
        from: Option<String>,
    },
    TagAdded {
        tag: TagId,
    },
    /// `offset_days` before (negative) or after a date on the profile, at a local time (`HH:MM`): a custom
    /// date field (`YYYY-MM-DD`; `yearly` matches its month and day, as for a birthday) or `last_order_at`
    /// (e.g. a replenishment reminder 30 days after the last order).
    DateProperty {
        field: String,
        offset_days: i32,
        at: String,
        #[serde(default)]
        yearly: bool,
    },
    /// Enrolled by an operator or another journey.
    Manual,
}

/// What holds an instance until its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "until", rename_all = "snake_case")]
pub enum Wait {
    /// Elapsed time.
    Duration { minutes: u32 },
    /// The next local time of day (`HH:MM`), on one of `weekdays` (1 = Monday … 7 = Sunday; empty: any).
    Time {
        at: String,
        #[serde(default)]
        weekdays: Vec<u8>,
    },
    /// Day `day` after the customer entered their current stage, at a local time (day 0 = the entry date).
    StageDay { day: u32, at: String },
    /// An event (outputs `event` and `timeout`). In a keyed journey ([`JourneyGraph::entry_key`]) only an
    /// event whose key property equals the run's entry key answers it.
    Event {
        name: String,
        #[serde(default)]
        filters: Vec<PropertyFilter>,
        timeout_minutes: u32,
    },
}

/// What makes a customer leave the journey at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum ExitOn {
    Event { name: String },
    SegmentExit { segment: SegmentId },
    StageChange,
    OptOut,
}

/// Whether a customer may enter again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum Reentry {
    #[default]
    Never,
    /// Once the previous instance ended.
    AfterExit,
    /// `days` after the previous entry.
    AfterDays { days: u32 },
    /// At most `times` entries in all.
    AtMost { times: u32 },
}

impl Reentry {
    /// Whether a customer may start another run, given when their earlier entries of the same key value
    /// started (oldest first; the live run of that value, if any, is checked by the caller).
    pub fn admits(self, past: &[chrono::DateTime<chrono::Utc>], at: chrono::DateTime<chrono::Utc>) -> bool {
        match (self, past.last()) {
            (_, None) | (Reentry::AfterExit, Some(_)) => true,
            (Reentry::Never, Some(_)) => false,
            (Reentry::AfterDays { days }, Some(last)) => *last + chrono::Duration::days(i64::from(days)) <= at,
            (Reentry::AtMost { times }, Some(_)) => (past.len() as u64) < u64::from(times),
        }
    }
}

impl NodeKind {
    /// The output ports this kind of node has.
    pub fn ports(&self) -> Vec<String> {
        let fixed = |p: &[&str]| p.iter().map(|s| s.to_string()).collect();
        match self {
            NodeKind::Exit => Vec::new(),
            NodeKind::Wait { wait: Wait::Event { .. } } => fixed(&["event", "timeout"]),
            NodeKind::Branch { .. } => fixed(&["yes", "no"]),
            NodeKind::Split { weights } => (0..weights.len()).map(|i| i.to_string()).collect(),
            NodeKind::Holdout { .. } => fixed(&["treatment", "holdout"]),
            _ => fixed(&["next"]),
        }
    }

    /// Whether reaching this node hands the instance back to the clock (or an event): a cycle through a
    /// wait is a loop in time, one without is an endless loop within a step.
    pub fn waits(&self) -> bool {
        matches!(self, NodeKind::Wait { .. })
    }

    pub fn is_trigger(&self) -> bool {
        matches!(self, NodeKind::Trigger { .. })
    }

    /// The stable name of the kind (`trigger`, `wait`, `send`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            NodeKind::Trigger { .. } => "trigger",
            NodeKind::Wait { .. } => "wait",
            NodeKind::Branch { .. } => "branch",
            NodeKind::Split { .. } => "split",
            NodeKind::Holdout { .. } => "holdout",
            NodeKind::Send { .. } => "send",
            NodeKind::Tag { .. } => "tag",
            NodeKind::Stage { .. } => "stage",
            NodeKind::Task { .. } => "task",
            NodeKind::Webhook { .. } => "webhook",
            NodeKind::Enrol { .. } => "enrol",
            NodeKind::Exit => "exit",
        }
    }
}

impl JourneyGraph {
    /// The property that keys the journey's runs: the `key` of its (first keyed) event trigger.
    pub fn entry_key(&self) -> Option<&str> {
        self.nodes.iter().find_map(|n| match &n.kind {
            NodeKind::Trigger { trigger: Trigger::Event { key: Some(k), .. } } => Some(k.as_str()),
            _ => None,
        })
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The node an instance goes to from `node` through `port` (`None`: the journey ends there).
    pub fn follow(&self, node: &str, port: &str) -> Option<&Node> {
        self.node(node)?.next.get(port).and_then(|id| self.node(id))
    }
}
