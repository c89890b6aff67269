//! Moving live runs to a new version (reference/journeys.md §6): the operator maps old nodes to new ones;
//! the plan says, per old node, how many runs move where, whether they restart at the new node (always
//! when the kind of node changes: a run waiting for an event cannot keep waiting at a timer), and which
//! nodes the new version inserted *before* their new position — steps those customers will not run, named
//! so nobody is surprised. Unmapped runs stay on their version and drain; nothing jumps silently.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{GraphError, JourneyGraph, NodeKind};

/// What happens to the runs at one old node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NodeMove {
    pub from_node: String,
    /// `None`: not mapped, the runs stay on their version.
    pub to_node: Option<String>,
    pub runs: i64,
    /// The runs start over at the new node now (a wait there counts from when they reached the old node).
    pub restart: bool,
    /// New nodes on the way to `to_node` that these runs will not pass.
    pub skipped_new_nodes: Vec<String>,
}

/// Plans a migration of the live runs (`live`: runs per old node) from `old` to `new` under `map`.
pub fn plan(
    old: &JourneyGraph,
    new: &JourneyGraph,
    map: &BTreeMap<String, String>,
    live: &[(String, i64)],
    restart: bool,
) -> Result<Vec<NodeMove>, Vec<GraphError>> {
    let mut errors = Vec::new();
    for (from, to) in map {
        if old.node(from).is_none() {
            errors.push(GraphError { node: Some(from.clone()), code: "unknown_old_node".into(), detail: from.clone() });
        }
        if new.node(to).is_none() {
            errors.push(GraphError { node: Some(from.clone()), code: "unknown_new_node".into(), detail: to.clone() });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let old_ids: BTreeSet<&str> = old.nodes.iter().map(|n| n.id.as_str()).collect();
    Ok(live
        .iter()
        .map(|(from, runs)| {
            let to = map.get(from);
            let changed = match (old.node(from), to.and_then(|t| new.node(t))) {
                (Some(a), Some(b)) => !same_kind(&a.kind, &b.kind),
                _ => false,
            };
            NodeMove {
                from_node: from.clone(),
                to_node: to.cloned(),
                runs: *runs,
                restart: to.is_some() && (restart || changed),
                skipped_new_nodes: to
                    .map(|t| ancestors(new, t).into_iter().filter(|a| !old_ids.contains(a.as_str())).collect())
                    .unwrap_or_default(),
            }
        })
        .collect())
}

/// Same kind of node, and for waits the same kind of wait.
fn same_kind(a: &NodeKind, b: &NodeKind) -> bool {
    match (a, b) {
        (NodeKind::Wait { wait: x }, NodeKind::Wait { wait: y }) => {
            std::mem::discriminant(x) == std::mem::discriminant(y)
        }
        _ => a.name() == b.name(),
    }
}

/// The nodes from which `target` can be reached, sorted.
fn ancestors(g: &JourneyGraph, target: &str) -> Vec<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo = vec![target.to_string()];
    while let Some(t) = todo.pop() {
        for n in &g.nodes {
            if n.next.values().any(|v| *v == t) && seen.insert(n.id.clone()) {
                todo.push(n.id.clone());
            }
        }
    }
    seen.remove(target);
    seen.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn g(v: serde_json::Value) -> JourneyGraph {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_plan_moves_mapped_runs_names_inserted_steps_and_leaves_the_rest_to_drain() {
        let v1 = g(json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
            {"id": "w", "type": "wait", "wait": {"until": "duration", "minutes": 60}, "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "a", "next": {"next": "e"}},
            {"id": "e", "type": "wait", "wait": {"until": "event", "name": "reply", "timeout_minutes": 60}}
        ]}));
        let v2 = g(json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "hello"}},
            {"id": "hello", "type": "send", "channel": "sandbox", "template": "新的问候", "next": {"next": "w"}},
            {"id": "w", "type": "wait", "wait": {"until": "duration", "minutes": 120}, "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "a", "next": {"next": "e2"}},
            {"id": "e2", "type": "wait", "wait": {"until": "duration", "minutes": 30}}
        ]}));
        let map: BTreeMap<String, String> =
            [("w".to_string(), "w".to_string()), ("e".to_string(), "e2".to_string())].into_iter().collect();
        let live = vec![("w".to_string(), 10), ("e".to_string(), 4), ("s".to_string(), 1)];
        let p = plan(&v1, &v2, &map, &live, false).unwrap();
        assert_eq!(p[0].to_node.as_deref(), Some("w"));
        assert!(!p[0].restart, "same kind of wait keeps its timer unless asked");
        assert_eq!(p[0].skipped_new_nodes, vec!["hello".to_string()]);
        assert!(p[1].restart, "an event wait mapped to a timer must restart");
        assert_eq!(p[2].to_node, None, "unmapped runs drain on their version");
        assert!(plan(&v1, &v2, &map, &live, true).unwrap()[0].restart);
        let bad: BTreeMap<String, String> = [("w".to_string(), "gone".to_string())].into_iter().collect();
        assert_eq!(plan(&v1, &v2, &bad, &live, false).unwrap_err()[0].code, "unknown_new_node");
    }
}
