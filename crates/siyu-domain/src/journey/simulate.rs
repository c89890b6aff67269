//! Test mode: one customer run through a graph on a simulated clock with the pure [`step`], so an operator
//! sees what each node would do and when, in the customer's local time, before anyone enters for real.
//!
//! The clock jumps from one instant to the next that matters: the instance's `next_run_at` (a wait, a
//! quiet-hours release, a timeout) or an injected event, whichever comes first. Branches answer from the
//! operator's choices, sends obey quiet hours and, when asked, the daily cap and an opt-out. An injected
//! event named in the graph's `exit_on` ends the run at once, as it will in the worker. Events may carry a
//! key value (an order id): in a keyed journey each value has its own run, started, woken and ended by the
//! engine's own rules (`signal::react`, `signal::wakes`, `Reentry::admits`).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use serde_json::{Map, Value};

use super::JourneyGraph;
use super::schedule::QuietHours;
use super::signal::{Happening, react, wakes};
use super::step::{CustomerView, Effect, Instance, Status, Wake, step};
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
    /// The value of the journey's key property the event carries (an order id), for keyed journeys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl SimEvent {
    /// The event as the engine reads it: its key value under the graph's key property.
    pub fn happening(&self, g: &JourneyGraph) -> Happening {
        let mut properties = Map::new();
        if let (Some(k), Some(v)) = (g.entry_key(), &self.key) {
            properties.insert(k.to_string(), Value::String(v.clone()));
        }
        Happening::Event { name: self.name.clone(), properties }
    }
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
    /// The key value the customer enters with, for a keyed journey (the order of the first run).
    pub entry_key: Option<String>,
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
            entry_key: None,
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
    /// The run the step belongs to (1, 2, ...: one per entry).
    #[serde(default)]
    pub entry_seq: u32,
    /// The run's key value, in a keyed journey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_key: Option<String>,
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
///
/// Injected events act as they do in the engine ([`react`], [`wakes`], [`Reentry::admits`]): an exit
/// event ends the live runs (in a keyed journey only the run of the event's key value, when it carries
/// one), a waiting run wakes only for an event of its own key value, and an event the graph's trigger
/// starts on starts another run when no run of its key value is live and the re-entry rule allows it, so
/// two orders give two runs. Events nothing answers are listed as ignored while a run is live.
///
/// [`Reentry::admits`]: super::Reentry::admits
pub fn simulate(g: &JourneyGraph, journey: JourneyId, customer: CustomerId, s: &Scenario) -> Option<Simulation> {
    let start = g.nodes.iter().find(|n| n.kind.is_trigger())?;
    let mut events = s.events.clone();
    events.sort_by_key(|e| e.at);
    let mut events = events.into_iter().filter(|e| e.at >= s.start).peekable();
    let mut sim = Runs { g, s, journey, customer, runs: Vec::new(), steps: Vec::new(), sent: RefCell::default() };
    sim.enter(&start.id, s.entry_key.clone(), s.start, SimWake::Enter);
    let horizon = s.start + Duration::days(HORIZON_DAYS);
    let mut now = s.start;
    while sim.steps.len() < MAX_STEPS {
        // The next instant that matters: the earliest run's own time or an event, whichever is first.
        let due = sim
            .runs
            .iter()
            .enumerate()
            .filter(|(_, i)| i.status.is_live())
            .map(|(n, i)| (i.next_run_at.filter(|_| i.status != Status::Running).unwrap_or(now).max(now), n))
            .min();
        let event_first = events.peek().is_some_and(|e| due.is_none_or(|(t, _)| e.at <= t));
        match (events.next_if(|_| event_first), due) {
            (Some(e), _) => {
                now = e.at.max(now);
                if now > horizon {
                    return Some(Simulation { steps: sim.steps, truncated: true });
                }
                sim.event(&e, now);
            }
            (None, Some((t, n))) => {
                now = t;
                if now > horizon {
                    return Some(Simulation { steps: sim.steps, truncated: true });
                }
                sim.advance(n, now, SimWake::Clock);
            }
            (None, None) => return Some(Simulation { steps: sim.steps, truncated: false }),
        }
    }
    let truncated = sim.runs.iter().any(|i| i.status.is_live()) || events.peek().is_some();
    Some(Simulation { steps: sim.steps, truncated })
}

/// The customer's runs of one simulation and the steps they took.
struct Runs<'a> {
    g: &'a JourneyGraph,
    s: &'a Scenario,
    journey: JourneyId,
    customer: CustomerId,
    runs: Vec<Instance>,
    steps: Vec<SimStep>,
    sent: RefCell<HashMap<(String, NaiveDate), u32>>,
}

impl Runs<'_> {
    /// Starts a run at trigger `node` with `key` and takes its first step.
    fn enter(&mut self, node: &str, key: Option<String>, now: DateTime<Utc>, wake: SimWake) {
        self.runs.push(Instance {
            journey: self.journey,
            customer: self.customer,
            entry_seq: self.runs.len() as u32 + 1,
            node: node.to_string(),
            status: Status::Running,
            next_run_at: Some(now),
            wait_event: None,
            entered_at: now,
            node_entered_at: now,
            defer_count: 0,
            exit_reason: None,
            held_out: false,
            entry_key: key,
        });
        self.advance(self.runs.len() - 1, now, wake);
    }

    /// Steps run `n` (woken by the clock, or by the event of `wake`); returns whether it moved.
    fn advance(&mut self, n: usize, now: DateTime<Utc>, mut wake: SimWake) -> bool {
        let view = View { s: self.s, now, sent: &self.sent };
        let i = self.runs[n].clone();
        let (next, effects) = match &wake {
            SimWake::Event { name, .. } => step(self.g, i.clone(), &view, now, Wake::Event(name)),
            _ => step(self.g, i.clone(), &view, now, Wake::Clock),
        };
        let moved = next != i;
        if let SimWake::Event { matched, .. } = &mut wake {
            *matched = moved;
        }
        self.steps.push(record(&next, now, wake, effects, self.s.offset));
        self.runs[n] = next;
        moved
    }

    /// What an injected event does, in the engine's order: exits, then wakes, then a new run.
    fn event(&mut self, e: &SimEvent, now: DateTime<Utc>) {
        let h = e.happening(self.g);
        let r = react(self.journey, self.g, &h, now, now);
        let hit = || SimWake::Event { name: e.name.clone(), matched: true };
        let mut answered = false;
        if r.exit.is_some() {
            for n in 0..self.runs.len() {
                let i = &self.runs[n];
                if i.status.is_live() && r.exit_key.as_ref().is_none_or(|k| i.entry_key.as_ref() == Some(k)) {
                    self.runs[n] = exit(i.clone(), now, &e.name);
                    self.steps.push(record(&self.runs[n], now, hit(), Vec::new(), self.s.offset));
                    answered = true;
                }
            }
        }
        for n in 0..self.runs.len() {
            let i = &self.runs[n];
            if i.status == Status::WaitingEvent && wakes(self.g, &i.node, &h, i.entry_key.as_deref()) {
                answered |= self.advance(n, now, hit());
            }
        }
        if let Some(start) = r.enrol {
            let past: Vec<&Instance> = self.runs.iter().filter(|i| i.entry_key == r.key).collect();
            let entered: Vec<DateTime<Utc>> = past.iter().map(|i| i.entered_at).collect();
            if !past.iter().any(|i| i.status.is_live()) && self.g.reentry.admits(&entered, now) {
                self.enter(&start, r.key, now, hit());
                answered = true;
            }
        }
        // An event nothing answered is listed against the latest live run (after the last run ended it
        // is dropped: it changes nothing).
        if let Some(i) = self.runs.iter().rev().find(|i| i.status.is_live()).filter(|_| !answered) {
            let wake = SimWake::Event { name: e.name.clone(), matched: false };
            self.steps.push(record(i, now, wake, Vec::new(), self.s.offset));
        }
    }
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
        entry_seq: i.entry_seq,
        entry_key: i.entry_key.clone(),
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
