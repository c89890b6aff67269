//! The facts journey metrics are counted from (reference/journeys.md §7), per node of one journey (and
//! optionally one version): where runs are and how they ended (`journey_instances`), which entries reached
//! each action node (the `journey_steps` ledger), what became of each effect (`outbox` status) and, given a
//! goal, which entries converted within its window after entering or after reaching a node.
//!
//! Every query is bounded by one journey: instances and the ledger by their primary keys, which begin with
//! (tenant, journey); the outbox through the journey's customers and its per-customer index; goal facts
//! (paid orders, or events by name) through their per-customer indexes.

use std::collections::BTreeMap;

use siyu_domain::id::{JourneyId, TenantId};
use siyu_domain::journey::Goal;

use super::Journeys;
use crate::{BackendKind, StoreError, on_pool};

/// What one node's rows say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFacts {
    /// Distinct entries known to have reached the node: a ledger row there, or the run is there now.
    pub reached: i64,
    /// Runs at the node and still live (waiting, or held by quiet hours).
    pub waiting: i64,
    /// Of those, sends held for later: by quiet hours or, with `on_cap: defer`, by a frequency cap.
    pub deferred: i64,
    /// Runs that finished at the node (an exit node or the end of a path).
    pub done: i64,
    /// Runs that left the journey early at the node, by reason.
    pub exited: BTreeMap<String, i64>,
    /// Outbox rows of the node by status (`pending`, `sent`, `failed`, `unknown`, `withheld`, `skipped`).
    pub outbox: BTreeMap<String, i64>,
    /// Entries that reached the node and met the goal within its window after.
    pub converted: i64,
}

/// Entries of one group and how many of them met the goal within its window after entering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupFacts {
    pub entries: i64,
    pub converted: i64,
}

/// The facts of one journey.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JourneyFacts {
    pub nodes: BTreeMap<String, NodeFacts>,
    /// Entries not held out (they got the messages) and those held out (the control group).
    pub treatment: GroupFacts,
    pub holdout: GroupFacts,
}

/// The SQL that is true when the customer of `e` met the goal in `[e.at, e.at + $3 days)`; `$4` is the
/// event name for goals other than `order_paid`.
fn goal_exists(kind: BackendKind, goal: &Goal) -> &'static str {
    match (kind, goal.event.as_str()) {
        (BackendKind::Postgres, "order_paid") => {
            "EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id = $1 AND o.customer_id = e.customer_id \
             AND o.paid_at >= e.at AND o.paid_at < e.at + make_interval(days => $3::int) AND $4 = $4)"
        }
        (BackendKind::Postgres, _) => {
            "EXISTS (SELECT 1 FROM events v WHERE v.tenant_id = $1 AND v.customer_id = e.customer_id AND v.name = $4 \
             AND v.event_time >= e.at AND v.event_time < e.at + make_interval(days => $3::int))"
        }
        (BackendKind::Sqlite, "order_paid") => {
            "EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id = $1 AND o.customer_id = e.customer_id \
             AND o.paid_at IS NOT NULL AND julianday(o.paid_at) >= julianday(e.at) \
             AND julianday(o.paid_at) < julianday(e.at) + $3 AND $4 = $4)"
        }
        (BackendKind::Sqlite, _) => {
            "EXISTS (SELECT 1 FROM events v WHERE v.tenant_id = $1 AND v.customer_id = e.customer_id AND v.name = $4 \
             AND julianday(v.event_time) >= julianday(e.at) AND julianday(v.event_time) < julianday(e.at) + $3)"
        }
    }
}

/// `version` filters runs by the version they pinned (`NULL`: every version).
const RUNS: &str = "SELECT customer_id, entry_seq, node, node_entered_at AS at, held_out, entered_at FROM journey_instances \
     WHERE tenant_id = $1 AND journey_id = $2 AND ($5 IS NULL OR version = $5)";
/// Ledger rows of the runs above.
const LEDGER: &str = "SELECT s.customer_id, s.entry_seq, s.node, s.at FROM journey_steps s JOIN journey_instances i \
     ON i.tenant_id = s.tenant_id AND i.journey_id = s.journey_id AND i.customer_id = s.customer_id AND i.entry_seq = s.entry_seq \
     WHERE s.tenant_id = $1 AND s.journey_id = $2 AND ($5 IS NULL OR i.version = $5)";

impl Journeys<'_> {
    /// Counts the facts of one journey's runs (of one version, or all), per node.
    pub async fn facts(
        &self,
        tenant: TenantId,
        journey: JourneyId,
        version: Option<i64>,
        goal: Option<&Goal>,
    ) -> Result<JourneyFacts, StoreError> {
        let mut out = JourneyFacts::default();
        let (days, event) = goal.map_or((0, String::new()), |g| (i64::from(g.within_days), g.event.clone()));
        let (t, j) = (tenant.0, journey.0);

        // Where runs are and how they ended.
        // (A run held at a send has a deferral count; one waiting at a wait node never has.)
        let sql = "SELECT node, status, COALESCE(exit_reason, ''), COUNT(*), \
             COUNT(CASE WHEN status = 'waiting_time' AND defer_count > 0 THEN 1 END) FROM journey_instances \
             WHERE tenant_id = $1 AND journey_id = $2 AND ($3 IS NULL OR version = $3) GROUP BY node, status, exit_reason";
        let rows: Vec<(String, String, String, i64, i64)> = on_pool!(self.0, p => sqlx::query_as(sql)
            .bind(t).bind(j).bind(version).fetch_all(p).await)?;
        for (node, status, reason, n, deferred) in rows {
            let f = out.nodes.entry(node).or_default();
            match status.as_str() {
                "done" => f.done += n,
                "exited" => *f.exited.entry(reason).or_default() += n,
                _ => {
                    f.waiting += n;
                    f.deferred += deferred;
                }
            }
        }

        // Entries that reached each node: the union drops an entry counted by both its ledger row and its place.
        let sql = format!(
            "SELECT node, COUNT(*) FROM (SELECT customer_id, entry_seq, node FROM ({LEDGER}) l \
             UNION SELECT customer_id, entry_seq, node FROM ({RUNS}) r WHERE $3 = $3 AND $4 = $4) u GROUP BY node"
        );
        let rows: Vec<(String, i64)> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(t).bind(j).bind(days).bind(&event).bind(version).fetch_all(p).await)?;
        for (node, n) in rows {
            out.nodes.entry(node).or_default().reached = n;
        }

        // What became of each node's effects.
        let sql = "SELECT o.node, o.status, COUNT(*) FROM outbox o WHERE o.tenant_id = $1 AND o.journey_id = $2 \
             AND o.customer_id IN (SELECT DISTINCT customer_id FROM journey_instances \
               WHERE tenant_id = $1 AND journey_id = $2 AND ($3 IS NULL OR version = $3)) GROUP BY o.node, o.status";
        let rows: Vec<(String, String, i64)> = on_pool!(self.0, p => sqlx::query_as(sql)
            .bind(t).bind(j).bind(version).fetch_all(p).await)?;
        for (node, status, n) in rows {
            *out.nodes.entry(node).or_default().outbox.entry(status).or_default() += n;
        }

        let Some(goal) = goal else { return Ok(out) };
        let exists = goal_exists(self.0.kind(), goal);
        // Per node: from its ledger row's time, or from arriving there for runs without one.
        let sql = format!(
            "SELECT e.node, COUNT(*) FROM (SELECT customer_id, entry_seq, node, at FROM ({LEDGER}) l \
               UNION ALL SELECT customer_id, entry_seq, node, at FROM ({RUNS}) r WHERE NOT EXISTS (SELECT 1 FROM journey_steps s \
                 WHERE s.tenant_id = $1 AND s.journey_id = $2 AND s.customer_id = r.customer_id AND s.entry_seq = r.entry_seq \
                 AND s.node = r.node)) e WHERE {exists} GROUP BY e.node"
        );
        let rows: Vec<(String, i64)> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(t).bind(j).bind(days).bind(&event).bind(version).fetch_all(p).await)?;
        for (node, n) in rows {
            out.nodes.entry(node).or_default().converted = n;
        }
        // Per group: from entering.
        let sql = format!(
            "SELECT e.held_out, COUNT(*), COALESCE(SUM(CASE WHEN {exists} THEN 1 ELSE 0 END), 0) FROM \
             (SELECT customer_id, held_out, entered_at AS at FROM ({RUNS}) r) e GROUP BY e.held_out"
        );
        let rows: Vec<(bool, i64, i64)> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(t).bind(j).bind(days).bind(&event).bind(version).fetch_all(p).await)?;
        for (held, entries, converted) in rows {
            let g = if held { &mut out.holdout } else { &mut out.treatment };
            g.entries += entries;
            g.converted += converted;
        }
        Ok(out)
    }
}
