//! Journey metrics (reference/journeys.md §7) for the API and the canvas: per node how many entries
//! reached it, wait there, finished or left there, what became of its messages, and how many converted;
//! per journey the goal conversion of the treatment against the holdout (the uplift).
//!
//! The ledger records action nodes only, so the entries of a wait, a branch or a split are inferred from
//! the graph: those there now plus those that reached a node only it leads to. A node reached from several
//! places without a record of its own counts only the runs there now (a lower bound).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use siyu_domain::access::Permission;
use siyu_domain::id::JourneyId;
use siyu_domain::journey::{Goal, JourneyGraph, NodeKind};
use siyu_store::journeys::{GroupFacts, JourneyFacts};

use super::JourneyView;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// One node's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NodeMetrics {
    pub node: String,
    /// `trigger`, `wait`, `send`, ...
    pub kind: String,
    pub entered: i64,
    /// Live runs at the node now.
    pub waiting: i64,
    /// Of those, sends deferred to later: by quiet hours, or by a frequency cap on a node with
    /// `on_cap: defer` (they send at the next allowed slot).
    pub deferred: i64,
    /// Runs that finished at the node.
    pub completed: i64,
    /// Runs that left the journey early at the node (all reasons).
    pub exited: i64,
    pub exit_reasons: BTreeMap<String, i64>,
    pub sent: i64,
    /// Waiting for a dispatcher.
    pub pending: i64,
    /// Sends recorded, not delivered, for holdout members.
    pub withheld: i64,
    /// Sends skipped by an opt-out, a cap or quiet hours.
    pub skipped: i64,
    /// Failed or unknown deliveries.
    pub errors: i64,
    /// Entries that met the goal within its window after reaching the node (`null` without a goal).
    pub conversions: Option<i64>,
}

/// Entries of one group and their goal conversion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GroupMetrics {
    pub entries: i64,
    pub converted: i64,
    /// Conversion rate in basis points (`null` without entries).
    pub rate_bp: Option<i64>,
}

impl From<GroupFacts> for GroupMetrics {
    fn from(g: GroupFacts) -> Self {
        let rate_bp = (g.entries > 0).then(|| g.converted * 10_000 / g.entries);
        Self { entries: g.entries, converted: g.converted, rate_bp }
    }
}

/// A journey's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JourneyMetrics {
    /// The version counted (`null`: every version).
    pub version: Option<i64>,
    pub entries: i64,
    pub live: i64,
    pub completed: i64,
    pub exited: i64,
    pub goal: Option<Goal>,
    /// Entries that got the messages, and those held out as the control group.
    pub treatment: GroupMetrics,
    pub holdout: GroupMetrics,
    /// Treatment rate minus holdout rate, in basis points (`null` unless both groups have entries).
    pub uplift_bp: Option<i64>,
    /// In the graph's node order.
    pub nodes: Vec<NodeMetrics>,
}

/// A journey with the graph it runs and its counts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JourneyDetail {
    #[serde(flatten)]
    pub journey: JourneyView,
    /// The graph of the version shown (the live one unless asked), `null` for a draft.
    pub graph: Option<JourneyGraph>,
    pub version: Option<i64>,
    pub metrics: JourneyMetrics,
}

fn is_action(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Send { .. }
            | NodeKind::Tag { .. }
            | NodeKind::Stage { .. }
            | NodeKind::Task { .. }
            | NodeKind::Webhook { .. }
            | NodeKind::Enrol { .. }
    )
}

/// Entries per node: action nodes from their ledger records, a single trigger from all entries, the rest
/// solved along the edges (what enters a node and does not stop there leaves through its outputs; what
/// enters a node came in through its inputs) and, where that leaves a node undetermined, a lower bound.
pub fn entered(g: &JourneyGraph, facts: &JourneyFacts, entries: i64) -> BTreeMap<String, i64> {
    let ids: Vec<&str> = g.nodes.iter().map(|n| n.id.as_str()).collect();
    let edges: BTreeSet<(&str, &str)> = g
        .nodes
        .iter()
        .flat_map(|n| n.next.values().filter(|t| g.node(t).is_some()).map(move |t| (n.id.as_str(), t.as_str())))
        .collect();
    let reached = |id: &str| facts.nodes.get(id).map_or(0, |f| f.reached);
    let stopped = |id: &str| facts.nodes.get(id).map_or(0, |f| f.waiting + f.done + f.exited.values().sum::<i64>());
    let triggers = g.nodes.iter().filter(|n| n.kind.is_trigger()).count();
    let mut known: BTreeMap<&str, i64> = BTreeMap::new();
    for n in &g.nodes {
        if is_action(&n.kind) {
            known.insert(&n.id, reached(&n.id));
        } else if n.kind.is_trigger() && triggers == 1 {
            known.insert(&n.id, entries);
        } else if !edges.iter().any(|e| e.1 == n.id) && !n.kind.is_trigger() {
            known.insert(&n.id, reached(&n.id));
        }
    }
    let mut flow: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for _ in 0..=(2 * ids.len()) {
        let before = (known.len(), flow.len());
        for &id in &ids {
            let out: Vec<(&str, &str)> = edges.iter().filter(|e| e.0 == id).copied().collect();
            let into: Vec<(&str, &str)> = edges.iter().filter(|e| e.1 == id).copied().collect();
            let open_out: Vec<_> = out.iter().filter(|e| !flow.contains_key(*e)).collect();
            if let (Some(e), [_]) = (known.get(id), open_out.as_slice()) {
                let rest: i64 = out.iter().filter_map(|x| flow.get(x)).sum();
                flow.insert(*open_out[0], (e - stopped(id) - rest).max(0));
            }
            let open_in: Vec<_> = into.iter().filter(|e| !flow.contains_key(*e)).collect();
            let sum_in: i64 = into.iter().filter_map(|x| flow.get(x)).sum();
            match (known.get(id), open_in.as_slice()) {
                (None, []) if !into.is_empty() => {
                    known.insert(id, sum_in);
                }
                (Some(e), [one]) => {
                    flow.insert(**one, (e - sum_in).max(0));
                }
                _ => {}
            }
        }
        if (known.len(), flow.len()) == before {
            break;
        }
    }
    ids.iter()
        .map(|&id| {
            let floor: i64 = edges.iter().filter(|e| e.1 == id).filter_map(|e| flow.get(e)).sum();
            (id.to_string(), known.get(id).copied().unwrap_or(floor.max(reached(id))))
        })
        .collect()
}

/// The counts of a graph's nodes from the facts.
pub fn metrics(g: &JourneyGraph, facts: &JourneyFacts, version: Option<i64>) -> JourneyMetrics {
    let mut m = JourneyMetrics { version, goal: g.goal.clone(), ..Default::default() };
    for f in facts.nodes.values() {
        m.live += f.waiting;
        m.completed += f.done;
        m.exited += f.exited.values().sum::<i64>();
    }
    m.entries = m.live + m.completed + m.exited;
    let entered = entered(g, facts, m.entries);
    for n in &g.nodes {
        let f = facts.nodes.get(&n.id).cloned().unwrap_or_default();
        let status = |s: &str| f.outbox.get(s).copied().unwrap_or(0);
        m.nodes.push(NodeMetrics {
            node: n.id.clone(),
            kind: n.kind.name().to_string(),
            entered: entered.get(&n.id).copied().unwrap_or(0),
            waiting: f.waiting,
            deferred: f.deferred,
            completed: f.done,
            exited: f.exited.values().sum(),
            sent: status("sent"),
            pending: status("pending"),
            withheld: status("withheld"),
            skipped: status("skipped"),
            errors: status("failed") + status("unknown"),
            conversions: g.goal.as_ref().map(|_| f.converted),
            exit_reasons: f.exited,
        });
    }
    if g.goal.is_some() {
        m.treatment = facts.treatment.into();
        m.holdout = facts.holdout.into();
        if let (Some(t), Some(h)) = (m.treatment.rate_bp, m.holdout.rate_bp) {
            m.uplift_bp = Some(t - h);
        }
    }
    m
}

impl App {
    /// One journey with its graph (the live version, or `version`) and its counts (of that version when
    /// asked, of every version otherwise).
    pub async fn journey_detail(&self, actor: &Actor, id: JourneyId, version: Option<i64>) -> AppResult<JourneyDetail> {
        actor.require(Permission::CustomersRead)?;
        let journey = self.list_journeys(actor).await?.into_iter().find(|j| j.id == id).ok_or(AppError::NotFound)?;
        let shown = version.or(journey.live_version);
        let graph = match shown {
            Some(v) => Some(self.store.journeys().version(actor.tenant, id, v).await?),
            None => None,
        };
        let metrics = match &graph {
            Some(g) => {
                metrics(g, &self.store.journeys().facts(actor.tenant, id, version, g.goal.as_ref()).await?, version)
            }
            None => JourneyMetrics { version, ..Default::default() },
        };
        Ok(JourneyDetail { metrics, journey, graph, version: shown })
    }
}

#[cfg(test)]
mod tests;
