//! Test mode: one customer run through a graph on a simulated clock with the pure [`step`], so an operator
//! sees what each node would do and when, in the customer's local time, before anyone enters for real.
//!
//! The clock jumps from one instant to the next that matters: the instance's `next_run_at` (a wait, a
//! quiet-hours release, a timeout) or an injected event, whichever comes first. Branches answer from the
//! operator's choices, sends obey quiet hours and, when asked, the daily cap and an opt-out. An injected
//! event named in the graph's `exit_on` ends the run at once, as it will in the worker.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::schedule::QuietHours;
use super::step::{CustomerView, Effect, Instance, Status, Wake, step};
use super::{ExitOn, JourneyGraph};
use crate::id::{CustomerId, JourneyId};

/// Most steps one simulation runs.
pub const MAX_STEPS: usize = 200;
/// How far ahead of the start the simulated clock may go.
pub const HORIZON_DAYS: i64 = 800;

/// An event the simulated customer does at a chosen time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimEvent {
    pub at: DateTime<Utc>,
    pub name: String,
}

/// How the simulated customer behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// When the customer enters.
    pub start: DateTime<Utc>,
    pub offset: FixedOffset,
    /// When the customer entered their lifecycle stage (`None`: at the start).
    pub stage_entered_at: Option<DateTime<Utc>>,
    /// Answers of branch nodes by id; a branch not listed answers `default_branch`.
    pub branches: BTreeMap<String, bool>,
    pub default_branch: bool,
    /// Marketing consent withdrawn: every send is skipped.
    pub opted_out: bool,
    /// Sends per channel and local day (`None`: no cap).
    pub daily_cap: Option<u32>,
    pub quiet_hours: QuietHours,
    pub events: Vec<SimEvent>,
}

impl Scenario {
    /// A customer entering at `start` in `offset`, answering "yes" to every branch, with no cap.
    pub fn new(start: DateTime<Utc>, offset: FixedOffset) -> Self {
        Self {
            start,
            offset,
            stage_entered_at: None,
            branches: BTreeMap::new(),
            default_branch: true,
            opted_out: false,
            daily_cap: None,
            quiet_hours: QuietHours::default(),
            events: Vec::new(),
        }
    }
}

/// Why a simulated step ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SimWake {
    /// The customer entered.
    Enter,
    /// A wait's time, a quiet-hours release or a timeout came.
    Clock,
    /// An injected event; `matched` when the run was waiting for it or it ended the run.
    Event { name: String, matched: bool },
}

/// One step of the simulation: when, why, where the run went and what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimStep {
    pub at: DateTime<Utc>,
    /// `at` in the customer's offset, `YYYY-MM-DD HH:MM`.
    pub local: String,
    pub wake: SimWake,
    /// The node the run is at after the step.
    pub node: String,
    /// `running`, `waiting_time`, `waiting_event`, `done` or `exited`.
    pub status: String,
    pub next_run_at: Option<DateTime<Utc>>,
    /// `next_run_at` in the customer's offset.
    pub next_local: Option<String>,
    pub wait_event: Option<String>,
    /// Held by quiet hours this many times at the current send.
    pub defer_count: u32,
    pub exit_reason: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub effects: Vec<Effect>,
}

/// What a simulation produced; `truncated` when it stopped at [`MAX_STEPS`] or the horizon while the run
/// was still live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Simulation {
    pub steps: Vec<SimStep>,
    pub truncated: bool,
}

struct View<'a> {
    s: &'a Scenario,
    now: DateTime<Utc>,
    sent: &'a RefCell<HashMap<(String, NaiveDate), u32>>,
}

impl CustomerView for View<'_> {
    fn offset(&self) -> FixedOffset {
        self.s.offset
    }
    fn stage_entered_at(&self) -> Option<DateTime<Utc>> {
        Some(self.s.stage_entered_at.unwrap_or(self.s.start))
    }
    fn branch(&self, node: &str) -> bool {
        self.s.branches.get(node).copied().unwrap_or(self.s.default_branch)
    }
    fn may_send(&self, channel: &str) -> bool {
        if self.s.opted_out {
            return false;
        }
        let Some(cap) = self.s.daily_cap else { return true };
        let day = self.now.with_timezone(&self.s.offset).date_naive();
        let mut sent = self.sent.borrow_mut();
        let n = sent.entry((channel.to_string(), day)).or_insert(0);
        if *n < cap {
            *n += 1;
            true
        } else {
            false
        }
    }
    fn capped(&self, channel: &str) -> bool {
        let Some(cap) = self.s.daily_cap.filter(|_| !self.s.opted_out) else { return false };
        let day = self.now.with_timezone(&self.s.offset).date_naive();
        self.sent.borrow().get(&(channel.to_string(), day)).copied().unwrap_or(0) >= cap
    }
    fn quiet_hours(&self) -> QuietHours {
        self.s.quiet_hours
    }
}

fn local(t: DateTime<Utc>, offset: FixedOffset) -> String {
    t.with_timezone(&offset).format("%Y-%m-%d %H:%M").to_string()
}

/// Runs `customer` through `g` from its first trigger; `None` when the graph has no trigger.
pub fn simulate(g: &JourneyGraph, journey: JourneyId, customer: CustomerId, s: &Scenario) -> Option<Simulation> {
    let start = g.nodes.iter().find(|n| n.kind.is_trigger())?;
    let mut i = Instance {
        journey,
        customer,
        entry_seq: 1,
        node: start.id.clone(),
        status: Status::Running,
        next_run_at: Some(s.start),
        wait_event: None,
        entered_at: s.start,
        node_entered_at: s.start,
        defer_count: 0,
        exit_reason: None,
        held_out: false,
        entry_key: None,
    };
    let mut events = s.events.clone();
    events.sort_by_key(|e| e.at);
    let mut events = events.into_iter().filter(|e| e.at >= s.start).peekable();
    let sent = RefCell::new(HashMap::new());
    let horizon = s.start + Duration::days(HORIZON_DAYS);
    let (mut now, mut wake) = (s.start, SimWake::Enter);
    let mut steps = Vec::new();
    while steps.len() < MAX_STEPS {
        let view = View { s, now, sent: &sent };
        let (next, effects) = match &wake {
            SimWake::Event { name, .. }
                if g.exit_on.iter().any(|x| matches!(x, ExitOn::Event { name: n } if n == name)) =>
            {
                (exit(i.clone(), now, name), Vec::new())
            }
            SimWake::Event { name, .. } => step(g, i.clone(), &view, now, Wake::Event(name)),
            _ => step(g, i.clone(), &view, now, Wake::Clock),
        };
        if let SimWake::Event { matched, .. } = &mut wake {
            *matched = next != i;
        }
        i = next;
        steps.push(record(&i, now, wake, effects, s.offset));
        if !i.status.is_live() {
            return Some(Simulation { steps, truncated: false });
        }
        // The next instant that matters: the run's own time or an event, whichever is first.
        let due = i.next_run_at.filter(|_| i.status != Status::Running).unwrap_or(now);
        match events.peek() {
            Some(e) if e.at <= due => {
                now = e.at.max(now);
                wake = SimWake::Event { name: e.name.clone(), matched: false };
                events.next();
            }
            _ => {
                now = due.max(now);
                wake = SimWake::Clock;
            }
        }
        if now > horizon {
            break;
        }
    }
    Some(Simulation { steps, truncated: true })
}

fn exit(mut i: Instance, now: DateTime<Utc>, event: &str) -> Instance {
    i.status = Status::Exited;
    i.next_run_at = None;
    i.wait_event = None;
    i.node_entered_at = now;
    i.exit_reason = Some(format!("event:{event}"));
    i
}

fn record(i: &Instance, at: DateTime<Utc>, wake: SimWake, effects: Vec<Effect>, offset: FixedOffset) -> SimStep {
    SimStep {
        at,
        local: local(at, offset),
        wake,
        node: i.node.clone(),
        status: i.status.as_str().to_string(),
        next_run_at: i.next_run_at,
        next_local: i.next_run_at.map(|t| local(t, offset)),
        wait_event: i.wait_event.clone(),
        defer_count: i.defer_count,
        exit_reason: i.exit_reason.clone(),
        effects,
    }
}

#[cfg(test)]
mod tests;
