//! One step of one customer's instance, as a pure function (reference/journeys.md §4): given the pinned
//! graph, the instance, what the customer looks like now, the time and perhaps the event that woke it, it
//! returns the instance as it should be stored and the effects to write to the outbox. Non-waiting nodes
//! (branch → send → tag) collapse within one step until the next wait, an exit or the end of a path.
//!
//! Quiet hours defer a send (the instance waits at the send node until the morning, with a deterministic
//! jitter, counting deferrals); an opt-out skips it, and so does a frequency cap unless the node says
//! `on_cap: defer`, which holds it until the customer's next local day (after quiet hours, with the same
//! jitter and the same deferral limit). The store's ledger makes every
//! (entry, node) effect happen at most once however often a step is replayed.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::schedule::{QuietHours, next_local_day, next_local_time, stage_day};
use super::split::{held_out, pick, stable_hash};
use super::validate::parse_time;
use super::{JourneyGraph, Node, NodeKind, OnCap, Wait};
use crate::id::{CustomerId, JourneyId, TagId};

/// Most nodes one step passes through (a validated graph has no cycle without a wait).
pub const MAX_HOPS: usize = 256;
/// Most times quiet hours or a frequency cap may hold one send before it is skipped.
pub const MAX_DEFERRALS: u32 = 3;
/// Jitter added after quiet hours, in minutes.
pub const QUIET_JITTER_MINUTES: u32 = 15;

/// Where an instance is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Due to run now (just entered, or woken).
    Running,
    /// Waiting for `next_run_at`.
    WaitingTime,
    /// Waiting for an event named `wait_event`, or `next_run_at` as the timeout.
    WaitingEvent,
    Done,
    Exited,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::WaitingTime => "waiting_time",
            Status::WaitingEvent => "waiting_event",
            Status::Done => "done",
            Status::Exited => "exited",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Status::Running, Status::WaitingTime, Status::WaitingEvent, Status::Done, Status::Exited]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// Whether the instance still runs (one live instance per journey and customer).
    pub fn is_live(&self) -> bool {
        matches!(self, Status::Running | Status::WaitingTime | Status::WaitingEvent)
    }
}

/// The durable state of one customer's run through one journey version.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub journey: JourneyId,
    pub customer: CustomerId,
    /// Which entry of this customer this is (1, 2, ...): part of every dedupe key.
    pub entry_seq: u32,
    pub node: String,
    pub status: Status,
    pub next_run_at: Option<DateTime<Utc>>,
    /// The event a `WaitingEvent` instance waits for.
    pub wait_event: Option<String>,
    pub entered_at: DateTime<Utc>,
    pub node_entered_at: DateTime<Utc>,
    pub defer_count: u32,
    /// Why it ended (`exit_node`, `end_of_path`, `event:order_paid`, ...).
    pub exit_reason: Option<String>,
    /// Took a holdout's `holdout` output: its sends are withheld from here on.
    pub held_out: bool,
    /// The value of the journey's key property this run was entered with (keyed event triggers).
    pub entry_key: Option<String>,
}

/// What a step may ask about the customer now.
pub trait CustomerView {
    /// The offset from UTC the customer's local times are in.
    fn offset(&self) -> FixedOffset;
    /// When the customer entered their current lifecycle stage.
    fn stage_entered_at(&self) -> Option<DateTime<Utc>>;
    /// Whether the condition of branch `node` holds now.
    fn branch(&self, node: &str) -> bool;
    /// Whether a marketing message may go through `channel` now (opt-out, frequency caps); asked once per
    /// send about to go, so a view may count what a step has already sent.
    fn may_send(&self, channel: &str) -> bool;
    /// Whether `may_send` refused `channel` only because the frequency cap is used up (no opt-out), so a
    /// send that says `on_cap: defer` may wait for the next day.
    fn capped(&self, _channel: &str) -> bool {
        false
    }
    fn quiet_hours(&self) -> QuietHours {
        QuietHours::default()
    }
}

/// Something a step decided to do; written to the outbox under `dedupe_key` (one per entry and node).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Effect {
    pub node: String,
    pub dedupe_key: String,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Send {
        channel: String,
        template: String,
        attachments: Vec<String>,
    },
    /// What a holdout member would have been sent (kept for the uplift comparison, never delivered).
    Withheld {
        channel: String,
    },
    /// A send skipped by an opt-out, a cap (`cap_or_opt_out`) or too many deferrals (`quiet_hours`,
    /// `frequency_cap`).
    Skipped {
        channel: String,
        reason: String,
    },
    Tag {
        add: Vec<TagId>,
        remove: Vec<TagId>,
    },
    Stage {
        stage: String,
    },
    Task {
        title: String,
        due_at: DateTime<Utc>,
        #[serde(default)]
        kind: crate::task::TaskKind,
    },
    Webhook {
        url: String,
    },
    Enrol {
        journey: JourneyId,
    },
}

/// Why a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake<'a> {
    /// The clock (entry, a due wait, a timeout).
    Clock,
    /// An event the customer did, by name.
    Event(&'a str),
}

/// The dedupe key of an instance's effect at a node: stable across replays and workers.
pub fn dedupe_key(i: &Instance, node: &str) -> String {
    let h =
        stable_hash(&[i.journey.0.as_bytes(), i.customer.0.as_bytes(), &i.entry_seq.to_be_bytes(), node.as_bytes()]);
    format!("{}:{}:{}:{node}:{h:016x}", i.journey, i.customer, i.entry_seq)
}

/// Runs one step. An instance not due (waiting for a later time, or for another event) comes back unchanged
/// with no effects.
pub fn step(
    g: &JourneyGraph,
    mut i: Instance,
    view: &dyn CustomerView,
    now: DateTime<Utc>,
    wake: Wake<'_>,
) -> (Instance, Vec<Effect>) {
    let mut effects = Vec::new();
    // Where to go from the node the instance is at, if it moves at all.
    let port: &str = match (&i.status, wake) {
        (Status::Done | Status::Exited, _) => return (i, effects),
        (Status::Running, _) => "",
        (Status::WaitingEvent, Wake::Event(name)) if i.wait_event.as_deref() == Some(name) => "event",
        (Status::WaitingEvent, _) if i.next_run_at.is_some_and(|t| t <= now) => "timeout",
        (Status::WaitingTime, _) if i.next_run_at.is_some_and(|t| t <= now) => "next",
        _ => return (i, effects),
    };
    let Some(mut node) = g.node(&i.node) else {
        return (end(i, now, "node_removed"), effects);
    };
    // A woken send held by quiet hours runs its own node again; everything else moves on first.
    let resend = port == "next" && matches!(node.kind, NodeKind::Send { .. });
    if !port.is_empty() && !resend {
        match g.follow(&node.id, port) {
            Some(n) => node = arrive(&mut i, n, now),
            None => return (end(i, now, "end_of_path"), effects),
        }
    } else if port.is_empty() && node.kind.is_trigger() {
        match g.follow(&node.id, "next") {
            Some(n) => node = arrive(&mut i, n, now),
            None => return (end(i, now, "end_of_path"), effects),
        }
    }
    for _ in 0..MAX_HOPS {
        let out: Option<String> = match &node.kind {
            NodeKind::Trigger { .. } => Some("next".into()),
            NodeKind::Exit => return (end(i, now, "exit_node"), effects),
            NodeKind::Wait { wait } => match hold(&mut i, wait, view, now) {
                true => return (i, effects),
                false => Some(if matches!(wait, Wait::Event { .. }) { "timeout" } else { "next" }.into()),
            },
            NodeKind::Branch { .. } => Some(if view.branch(&node.id) { "yes" } else { "no" }.into()),
            NodeKind::Split { weights } => {
                Some(pick(weights, i.journey, i.customer, i.entry_seq, &node.id).to_string())
            }
            NodeKind::Holdout { percent } => {
                let held = held_out(*percent, i.journey, i.customer, i.entry_seq, &node.id);
                i.held_out |= held;
                Some(if held { "holdout" } else { "treatment" }.into())
            }
            NodeKind::Send { channel, template, attachments, on_cap } => {
                let offset = view.offset();
                let jitter_key = stable_hash(&[node.id.as_bytes(), i.customer.0.as_bytes()]);
                let release = view.quiet_hours().release(now, offset, jitter_key, QUIET_JITTER_MINUTES);
                // Quiet hours first: a held send has not used the customer's daily allowance yet.
                let action = if release > now && i.defer_count < MAX_DEFERRALS {
                    i.status = Status::WaitingTime;
                    i.next_run_at = Some(release);
                    i.defer_count += 1;
                    return (i, effects);
                } else if release > now {
                    Action::Skipped { channel: channel.clone(), reason: "quiet_hours".into() }
                } else if !view.may_send(channel) {
                    let defer = *on_cap == OnCap::Defer && view.capped(channel);
                    if defer && i.defer_count < MAX_DEFERRALS {
                        // The next local day, or the end of its quiet hours, plus the node's jitter.
                        let day = next_local_day(now, offset);
                        let slot = view.quiet_hours().release(day, offset, jitter_key, QUIET_JITTER_MINUTES);
                        let slot = if slot == day { day + jitter(jitter_key) } else { slot };
                        i.status = Status::WaitingTime;
                        i.next_run_at = Some(slot);
                        i.defer_count += 1;
                        return (i, effects);
                    }
                    let reason = if defer { "frequency_cap" } else { "cap_or_opt_out" };
                    Action::Skipped { channel: channel.clone(), reason: reason.into() }
                } else if i.held_out {
                    Action::Withheld { channel: channel.clone() }
                } else {
                    Action::Send {
                        channel: channel.clone(),
                        template: template.clone(),
                        attachments: attachments.clone(),
                    }
                };
                effects.push(Effect { node: node.id.clone(), dedupe_key: dedupe_key(&i, &node.id), action });
                Some("next".into())
            }
            NodeKind::Tag { add, remove } => {
                emit(&mut effects, &i, node, Action::Tag { add: add.clone(), remove: remove.clone() });
                Some("next".into())
            }
            NodeKind::Stage { stage } => {
                emit(&mut effects, &i, node, Action::Stage { stage: stage.clone() });
                Some("next".into())
            }
            NodeKind::Task { title, due_in_hours, kind } => {
                let due_at = now + Duration::hours(i64::from(*due_in_hours));
                emit(&mut effects, &i, node, Action::Task { title: title.clone(), due_at, kind: *kind });
                Some("next".into())
            }
            NodeKind::Webhook { url } => {
                emit(&mut effects, &i, node, Action::Webhook { url: url.clone() });
                Some("next".into())
            }
            NodeKind::Enrol { journey } => {
                emit(&mut effects, &i, node, Action::Enrol { journey: *journey });
                Some("next".into())
            }
        };
        let Some(port) = out else { return (i, effects) };
        match g.follow(&node.id, &port) {
            Some(n) => node = arrive(&mut i, n, now),
            None => return (end(i, now, "end_of_path"), effects),
        }
    }
    (end(i, now, "too_many_hops"), effects)
}

/// The deterministic jitter of a deferred send (as quiet hours add it).
fn jitter(key: u64) -> Duration {
    Duration::minutes((key % (u64::from(QUIET_JITTER_MINUTES) + 1)) as i64)
}

fn emit(effects: &mut Vec<Effect>, i: &Instance, node: &Node, action: Action) {
    effects.push(Effect { node: node.id.clone(), dedupe_key: dedupe_key(i, &node.id), action });
}

fn arrive<'g>(i: &mut Instance, n: &'g Node, now: DateTime<Utc>) -> &'g Node {
    i.node = n.id.clone();
    i.node_entered_at = now;
    i.status = Status::Running;
    i.next_run_at = None;
    i.wait_event = None;
    i.defer_count = 0;
    n
}

fn end(mut i: Instance, now: DateTime<Utc>, reason: &str) -> Instance {
    i.status = if reason == "exit_node" || reason == "end_of_path" { Status::Done } else { Status::Exited };
    i.next_run_at = None;
    i.wait_event = None;
    i.node_entered_at = now;
    i.exit_reason = Some(reason.to_string());
    i
}

/// Starts waiting at a wait node; `false` when its time has already passed (run on at once).
fn hold(i: &mut Instance, wait: &Wait, view: &dyn CustomerView, now: DateTime<Utc>) -> bool {
    let offset = view.offset();
    let at = |s: &str| parse_time(s).unwrap_or_default();
    let until = match wait {
        Wait::Duration { minutes } => i.node_entered_at + Duration::minutes(i64::from(*minutes)),
        Wait::Time { at: t, weekdays } => next_local_time(now, offset, at(t), weekdays),
        Wait::StageDay { day, at: t } => {
            stage_day(view.stage_entered_at().unwrap_or(i.entered_at), offset, *day, at(t))
        }
        Wait::Event { name, timeout_minutes, .. } => {
            i.status = Status::WaitingEvent;
            i.wait_event = Some(name.clone());
            i.next_run_at = Some(i.node_entered_at + Duration::minutes(i64::from(*timeout_minutes)));
            return true;
        }
    };
    if until <= now {
        return false;
    }
    i.status = Status::WaitingTime;
    i.next_run_at = Some(until);
    true
}

#[cfg(test)]
mod tests;
