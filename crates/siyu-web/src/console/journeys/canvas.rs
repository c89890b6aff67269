//! The journey canvas: a graph drawn as server-rendered SVG from each node's `x`/`y` (laid out by depth
//! when a graph has no positions), with its edges and port labels, the live counts on every node and the
//! publish problems on the node they belong to (highlighted).

use std::collections::{BTreeMap, BTreeSet};

use siyu_app::journeys::metrics::{JourneyMetrics, NodeMetrics};
use siyu_domain::journey::{JourneyGraph, Node, NodeKind, OnCap, Trigger, Wait};

use crate::console::customers::view::label;
use crate::console::segments::truncate;
use crate::i18n::Tr;

/// A node's box, in SVG user units.
pub const W: i32 = 230;
pub const H: i32 = 84;
const MARGIN: i32 = 20;

/// One count shown on a node.
pub struct Count {
    pub label: String,
    pub value: i64,
    /// `warn` for errors above 0.
    pub class: &'static str,
}

pub struct CanvasNode {
    pub id: String,
    /// The node kind (CSS class and `data-kind`).
    pub kind: &'static str,
    pub title: String,
    pub summary: String,
    pub x: i32,
    pub y: i32,
    /// Entered and waiting.
    pub counts: Vec<Count>,
    /// What happened to the node's messages or actions.
    pub effects: Vec<Count>,
    /// Everything the node's counts say, for its tooltip.
    pub detail: String,
    pub problems: Vec<String>,
    /// The first problem, short enough for the box.
    pub headline: String,
}

pub struct CanvasEdge {
    pub d: String,
    pub label: String,
    pub lx: i32,
    pub ly: i32,
}

pub struct Canvas {
    pub width: i32,
    pub height: i32,
    pub nodes: Vec<CanvasNode>,
    pub edges: Vec<CanvasEdge>,
    /// Problems of the graph as a whole (no node), e.g. `no_trigger`.
    pub problems: Vec<String>,
}

/// Positions by depth from the triggers (rows) and order within a depth (columns), for graphs without any.
fn layout(g: &JourneyGraph) -> BTreeMap<String, (i32, i32)> {
    let given = g.nodes.iter().any(|n| n.x != 0 || n.y != 0);
    if given {
        let (min_x, min_y) = g.nodes.iter().fold((i32::MAX, i32::MAX), |(a, b), n| (a.min(n.x), b.min(n.y)));
        return g.nodes.iter().map(|n| (n.id.clone(), (n.x - min_x + MARGIN, n.y - min_y + MARGIN))).collect();
    }
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    let mut todo: Vec<&str> = g.nodes.iter().filter(|n| n.kind.is_trigger()).map(|n| n.id.as_str()).collect();
    for t in &todo {
        depth.insert(t, 0);
    }
    while !todo.is_empty() {
        let mut next = Vec::new();
        for id in todo {
            let d = depth.get(id).copied().unwrap_or(0);
            for t in g.node(id).map(|n| n.next.values().collect::<Vec<_>>()).unwrap_or_default() {
                if g.node(t).is_some() && !depth.contains_key(t.as_str()) {
                    depth.insert(t, d + 1);
                    next.push(t.as_str());
                }
            }
        }
        todo = next;
    }
    let deepest = depth.values().max().copied().unwrap_or(0);
    let mut columns: BTreeMap<usize, i32> = BTreeMap::new();
    g.nodes
        .iter()
        .map(|n| {
            // Nodes nothing reaches go in a row of their own below the rest.
            let d = depth.get(n.id.as_str()).copied().unwrap_or(deepest + 1);
            let col = columns.entry(d).or_insert(0);
            let at = (MARGIN + *col * (W + 40), MARGIN + d as i32 * (H + 36));
            *col += 1;
            (n.id.clone(), at)
        })
        .collect()
}

fn minutes(tr: Tr, m: u32) -> String {
    let (n, unit) = match m {
        m if m % 1440 == 0 => (m / 1440, "journeys.unit.days"),
        m if m % 60 == 0 => (m / 60, "journeys.unit.hours"),
        m => (m, "journeys.unit.minutes"),
    };
    tr.t(unit).replace("{n}", &n.to_string())
}

/// A short description of what a node does.
pub fn summary(tr: Tr, n: &Node) -> String {
    let s = match &n.kind {
        NodeKind::Trigger { trigger } => match trigger {
            Trigger::Event { name, .. } => format!("{} {name}", tr.t("journeys.trigger.event")),
            Trigger::StageEnter { stage, .. } => format!("{} {}", tr.t("journeys.trigger.stage_enter"), stage),
            Trigger::SegmentEnter { .. } => tr.t("journeys.trigger.segment_enter").to_string(),
            Trigger::SegmentExit { .. } => tr.t("journeys.trigger.segment_exit").to_string(),
            Trigger::TagAdded { .. } => tr.t("journeys.trigger.tag_added").to_string(),
            Trigger::DateProperty { field, offset_days, at, .. } => format!("{field} {offset_days:+}d {at}"),
            Trigger::Manual => tr.t("journeys.trigger.manual").to_string(),
            #[allow(unreachable_patterns)]
            _ => String::new(),
        },
        NodeKind::Wait { wait } => match wait {
            Wait::Duration { minutes: m } => format!("{} {}", tr.t("journeys.wait.duration"), minutes(tr, *m)),
            Wait::Time { at, .. } => tr.t("journeys.wait.time").replace("{at}", at),
            Wait::StageDay { day, at } => {
                tr.t("journeys.wait.stage_day").replace("{day}", &day.to_string()).replace("{at}", at)
            }
            Wait::Event { name, timeout_minutes, .. } => {
                tr.t("journeys.wait.event").replace("{name}", name).replace("{timeout}", &minutes(tr, *timeout_minutes))
            }
        },
        NodeKind::Branch { condition } => {
            // `field op value` for a plain comparison, otherwise the condition's kind.
            let v = serde_json::to_value(condition).unwrap_or_default();
            let text = |k: &str| v.get(k).map_or(String::new(), |x| x.as_str().map_or(x.to_string(), str::to_string));
            match v.get("field") {
                Some(_) => format!("{} {} {}", text("field"), text("op"), text("value")),
                None => text("type"),
            }
        }
        NodeKind::Split { weights } => weights.iter().map(u32::to_string).collect::<Vec<_>>().join(" / "),
        NodeKind::Holdout { percent } => tr.t("journeys.holdout_percent").replace("{n}", &percent.to_string()),
        NodeKind::Send { template, .. } => template
            .replace("{{ name }}", "{name}")
            .replace("{{name}}", "{name}")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        NodeKind::Tag { add, remove } => format!("+{} −{}", add.len(), remove.len()),
        NodeKind::Stage { stage } => stage.clone(),
        NodeKind::Task { title, .. } => title.clone(),
        NodeKind::Webhook { url } => url.clone(),
        NodeKind::Enrol { journey } => journey.to_string(),
        NodeKind::Exit => String::new(),
    };
    truncate(&s, 16)
}

/// What the title adds to a node's kind and id: a trigger's key property, a send's cap policy when it
/// defers.
fn badge(tr: Tr, n: &Node) -> String {
    match &n.kind {
        NodeKind::Trigger { trigger: Trigger::Event { key: Some(k), .. } } => {
            format!(" · {}", tr.t("journeys.keyed_by").replace("{key}", k))
        }
        NodeKind::Send { on_cap: OnCap::Defer, .. } => format!(" · {}", tr.t("journeys.on_cap.defer")),
        _ => String::new(),
    }
}

fn port_label(tr: Tr, kind: &NodeKind, port: &str) -> String {
    match (kind, port) {
        (_, "next") => String::new(),
        (NodeKind::Split { weights }, p) => {
            let w = p.parse::<usize>().ok().and_then(|i| weights.get(i)).copied().unwrap_or(0);
            format!("#{p} · {w}")
        }
        (_, p) => label(tr, "journeys.port", p),
    }
}

fn counts(tr: Tr, m: &NodeMetrics, goal: bool) -> (Vec<Count>, Vec<Count>, String) {
    let c = |key: &str, value: i64| Count { label: tr.t(key).to_string(), value, class: "" };
    let visits = vec![c("journeys.m.entered", m.entered), c("journeys.m.waiting", m.waiting)];
    let mut effects = Vec::new();
    if m.kind == "send" {
        effects.push(c("journeys.m.sent", m.sent));
        if m.withheld > 0 {
            effects.push(c("journeys.m.withheld", m.withheld));
        }
        if m.skipped > 0 {
            effects.push(c("journeys.m.skipped", m.skipped));
        }
        if m.deferred > 0 {
            effects.push(c("journeys.m.deferred", m.deferred));
        }
    }
    if m.errors > 0 || m.kind == "send" {
        let class = if m.errors > 0 { "warn" } else { "" };
        effects.push(Count { class, ..c("journeys.m.errors", m.errors) });
    }
    let mut detail = vec![
        format!("{} {}", tr.t("journeys.m.entered"), m.entered),
        format!("{} {}", tr.t("journeys.m.waiting"), m.waiting),
        format!("{} {}", tr.t("journeys.m.completed"), m.completed),
        format!("{} {}", tr.t("journeys.m.exited"), m.exited),
    ];
    for (reason, n) in &m.exit_reasons {
        detail.push(format!("  {reason}: {n}"));
    }
    for (key, n) in [
        ("journeys.m.sent", m.sent),
        ("journeys.m.pending", m.pending),
        ("journeys.m.withheld", m.withheld),
        ("journeys.m.skipped", m.skipped),
        ("journeys.m.deferred", m.deferred),
        ("journeys.m.errors", m.errors),
    ] {
        if n > 0 {
            detail.push(format!("{} {n}", tr.t(key)));
        }
    }
    if let (true, Some(n)) = (goal, m.conversions) {
        detail.push(format!("{} {n}", tr.t("journeys.m.conversions")));
    }
    (visits, effects, detail.join("\n"))
}

/// The canvas of `g`, with `metrics` on its nodes and `problems` (by node id; `""` for the whole graph).
pub fn canvas(
    tr: Tr,
    g: &JourneyGraph,
    metrics: Option<&JourneyMetrics>,
    problems: &BTreeMap<String, Vec<String>>,
) -> Canvas {
    let at = layout(g);
    let pos = |id: &str| at.get(id).copied().unwrap_or((MARGIN, MARGIN));
    let mut edges = Vec::new();
    for n in &g.nodes {
        let (sx, sy) = pos(&n.id);
        let targets: BTreeSet<&String> = n.next.values().collect();
        for (port, target) in &n.next {
            if g.node(target).is_none() {
                continue;
            }
            let (tx, ty) = pos(target);
            let (x1, y1, x2, y2) = (sx + W / 2, sy + H, tx + W / 2, ty);
            let bend = ((y2 - y1).abs() / 2).max(40);
            // Two ports to the same node share one curve; label both.
            let shared: Vec<String> = n
                .next
                .iter()
                .filter(|(_, t)| *t == target)
                .map(|(p, _)| port_label(tr, &n.kind, p))
                .filter(|l| !l.is_empty())
                .collect();
            if targets.len() < n.next.len() && n.next.iter().find(|(_, t)| *t == target).map(|(p, _)| p) != Some(port) {
                continue;
            }
            edges.push(CanvasEdge {
                d: format!("M{x1},{y1} C{x1},{} {x2},{} {x2},{y2}", y1 + bend, y2 - bend),
                label: shared.join(" / "),
                lx: (x1 + x2) / 2,
                ly: (y1 + y2) / 2,
            });
        }
    }
    let by_node: BTreeMap<&str, &NodeMetrics> =
        metrics.map(|m| m.nodes.iter().map(|n| (n.node.as_str(), n)).collect()).unwrap_or_default();
    let goal = metrics.is_some_and(|m| m.goal.is_some());
    let nodes: Vec<CanvasNode> = g
        .nodes
        .iter()
        .map(|n| {
            let (x, y) = pos(&n.id);
            let (counts, effects, detail) = match by_node.get(n.id.as_str()) {
                Some(m) => counts(tr, m, goal),
                None => (Vec::new(), Vec::new(), String::new()),
            };
            CanvasNode {
                id: n.id.clone(),
                kind: n.kind.name(),
                title: format!("{} · {}{}", label(tr, "journeys.kind", n.kind.name()), n.id, badge(tr, n)),
                summary: summary(tr, n),
                x,
                y,
                counts,
                effects,
                detail,
                headline: problems.get(&n.id).and_then(|p| p.first()).map_or(String::new(), |p| truncate(p, 16)),
                problems: problems.get(&n.id).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let width = nodes.iter().map(|n| n.x + W + MARGIN).max().unwrap_or(W + 2 * MARGIN);
    let height = nodes.iter().map(|n| n.y + H + MARGIN).max().unwrap_or(H + 2 * MARGIN);
    Canvas { width, height, nodes, edges, problems: problems.get("").cloned().unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::i18n::Lang;

    fn graph(v: serde_json::Value) -> JourneyGraph {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_graph_without_positions_is_laid_out_by_depth_and_ports_are_labelled() {
        let g = graph(json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "b"}},
            {"id": "b", "type": "branch", "condition": {"type": "field", "field": "order_count", "op": "ge", "value": 1},
             "next": {"yes": "x", "no": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "你好", "next": {"next": "x"}},
            {"id": "x", "type": "exit"},
            {"id": "lost", "type": "exit"}
        ]}));
        let mut problems = BTreeMap::new();
        problems.insert("lost".to_string(), vec!["unreachable".to_string()]);
        let c = canvas(Tr(Lang::Zh), &g, None, &problems);
        let at: BTreeMap<&str, (i32, i32)> = c.nodes.iter().map(|n| (n.id.as_str(), (n.x, n.y))).collect();
        assert_eq!(at["t"].1, MARGIN);
        assert!(at["b"].1 > at["t"].1 && at["x"].1 == at["s"].1 && at["x"].0 != at["s"].0);
        assert!(at["lost"].1 > at["x"].1, "unreachable nodes go below");
        let labels: Vec<&str> = c.edges.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["", "否", "是", ""], "ports in key order: no, yes");
        assert_eq!(c.nodes[4].problems, ["unreachable"]);
        assert!(c.width >= 2 * W && c.height > 3 * H);
    }

    #[test]
    fn two_ports_to_the_same_node_share_one_edge_with_both_labels() {
        let g = graph(json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "h"}, "x": 40, "y": 20},
            {"id": "h", "type": "holdout", "percent": 10, "next": {"treatment": "s", "holdout": "s"}, "x": 40, "y": 120},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "你好", "x": 40, "y": 220}
        ]}));
        let c = canvas(Tr(Lang::Zh), &g, None, &BTreeMap::new());
        assert_eq!(c.edges.len(), 2);
        assert_eq!(c.edges[1].label, "对照组 / 实验组");
        assert_eq!((c.nodes[0].x, c.nodes[0].y), (MARGIN, MARGIN), "shifted to the margin");
    }

    #[test]
    fn a_keyed_trigger_and_a_deferring_send_say_so_in_their_titles() {
        let g = graph(json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "checkout", "key": "order_id"},
             "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "你好", "on_cap": "defer", "next": {"next": "u"}},
            {"id": "u", "type": "send", "channel": "sandbox", "template": "再见"}
        ]}));
        let c = canvas(Tr(Lang::En), &g, None, &BTreeMap::new());
        assert!(c.nodes[0].title.ends_with("per order_id"), "{}", c.nodes[0].title);
        assert!(c.nodes[1].title.ends_with("defers when capped"), "{}", c.nodes[1].title);
        assert!(!c.nodes[2].title.contains("capped"), "skip is the default and says nothing");
    }
}
