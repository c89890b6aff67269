//! What makes a journey graph publishable. Every problem names its node (the canvas highlights it) with a
//! stable code: no trigger, duplicate or empty ids, an edge from a port the node does not have or to a node
//! that does not exist, an edge into a trigger, nodes no trigger reaches, a cycle with no wait on it (an
//! endless loop within one step), missing or broken templates, unknown channels, tags, segments, stages or
//! journeys, times that are not `HH:MM`, bad weights and percentages, an empty key property or event
//! triggers keyed by different properties.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveTime;
use serde::Serialize;

use super::{JourneyGraph, MAX_NODES, NodeKind, Trigger, Wait};
use crate::id::{JourneyId, SegmentId, TagId};

/// One problem, pointing at its node (`None`: the graph as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GraphError {
    pub node: Option<String>,
    /// Stable reason: `no_trigger`, `unreachable`, `instant_cycle`, `missing_template`, ...
    pub code: String,
    /// The offending value, for the message.
    pub detail: String,
}

/// What the graph refers to outside itself, as the tenant has it.
pub trait GraphCatalog {
    /// Whether a message template compiles (the error's text otherwise).
    fn check_template(&self, source: &str) -> Result<(), String>;
    fn has_channel(&self, channel: &str) -> bool;
    fn has_tag(&self, tag: TagId) -> bool;
    fn has_segment(&self, segment: SegmentId) -> bool;
    fn has_stage(&self, stage: &str) -> bool;
    fn has_journey(&self, journey: JourneyId) -> bool;
}

fn err(node: Option<&str>, code: &str, detail: impl Into<String>) -> GraphError {
    GraphError { node: node.map(str::to_string), code: code.to_string(), detail: detail.into() }
}

/// Parses a local time of day written `HH:MM`.
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// Every problem of a graph; empty when it may be published.
pub fn validate(g: &JourneyGraph, catalog: &dyn GraphCatalog) -> Vec<GraphError> {
    let mut out = Vec::new();
    if g.nodes.len() > MAX_NODES {
        out.push(err(None, "too_many_nodes", g.nodes.len().to_string()));
        return out;
    }
    let mut seen = BTreeSet::new();
    for n in &g.nodes {
        if n.id.trim().is_empty() || n.id.len() > 64 {
            out.push(err(Some(&n.id), "bad_node_id", n.id.clone()));
        } else if !seen.insert(n.id.as_str()) {
            out.push(err(Some(&n.id), "duplicate_node_id", n.id.clone()));
        }
    }
    if !g.nodes.iter().any(|n| n.kind.is_trigger()) {
        out.push(err(None, "no_trigger", ""));
    }
    for n in &g.nodes {
        let id = Some(n.id.as_str());
        let ports = n.kind.ports();
        for (port, target) in &n.next {
            if !ports.contains(port) {
                out.push(err(id, "unknown_port", port.clone()));
            }
            match g.node(target) {
                None => out.push(err(id, "dangling_edge", target.clone())),
                Some(t) if t.kind.is_trigger() => out.push(err(id, "edge_into_trigger", target.clone())),
                Some(_) => {}
            }
        }
        node_problems(&n.kind, id, catalog, &mut out);
    }
    // A keyed journey has one key: its waits match events by that property.
    if let Some(k) = g.entry_key() {
        for n in &g.nodes {
            if let NodeKind::Trigger { trigger: Trigger::Event { key: Some(other), .. } } = &n.kind
                && other != k
            {
                out.push(err(Some(&n.id), "mixed_keys", other.clone()));
            }
        }
    }
    for id in unreachable(g) {
        out.push(err(Some(&id), "unreachable", id.clone()));
    }
    if let Some(id) = instant_cycle(g) {
        out.push(err(Some(&id), "instant_cycle", id.clone()));
    }
    out
}

fn node_problems(kind: &NodeKind, id: Option<&str>, catalog: &dyn GraphCatalog, out: &mut Vec<GraphError>) {
    let time = |s: &str, out: &mut Vec<GraphError>| {
        if parse_time(s).is_none() {
            out.push(err(id, "bad_time", s));
        }
    };
    match kind {
        NodeKind::Trigger { trigger } => match trigger {
            Trigger::Event { name, .. } if name.trim().is_empty() => out.push(err(id, "empty_event_name", "")),
            Trigger::Event { key: Some(k), .. } if k.trim().is_empty() || k.len() > 64 => {
                out.push(err(id, "bad_key", k.clone()));
            }
            Trigger::SegmentEnter { segment, .. } | Trigger::SegmentExit { segment }
                if !catalog.has_segment(*segment) =>
            {
                out.push(err(id, "unknown_segment", segment.to_string()));
            }
            Trigger::StageEnter { stage, from } => {
                for s in std::iter::once(stage).chain(from) {
                    if !catalog.has_stage(s) {
                        out.push(err(id, "unknown_stage", s.clone()));
                    }
                }
            }
            Trigger::TagAdded { tag } if !catalog.has_tag(*tag) => out.push(err(id, "unknown_tag", tag.to_string())),
            Trigger::DateProperty { at, offset_days, .. } => {
                time(at, out);
                if offset_days.unsigned_abs() > 366 {
                    out.push(err(id, "bad_offset", offset_days.to_string()));
                }
            }
            _ => {}
        },
        NodeKind::Wait { wait } => match wait {
            Wait::Duration { minutes: 0 } => out.push(err(id, "bad_duration", "0")),
            Wait::Time { at, weekdays } => {
                time(at, out);
                if let Some(d) = weekdays.iter().find(|d| !(1..=7).contains(*d)) {
                    out.push(err(id, "bad_weekday", d.to_string()));
                }
            }
            Wait::StageDay { at, day } => {
                time(at, out);
                if *day > 3660 {
                    out.push(err(id, "bad_day", day.to_string()));
                }
            }
            Wait::Event { name, timeout_minutes, .. } => {
                if name.trim().is_empty() {
                    out.push(err(id, "empty_event_name", ""));
                }
                if *timeout_minutes == 0 {
                    out.push(err(id, "bad_duration", "0"));
                }
            }
            Wait::Duration { .. } => {}
        },
        NodeKind::Split { weights } if weights.len() < 2 || weights.len() > 10 || weights.iter().all(|w| *w == 0) => {
            out.push(err(id, "bad_weights", format!("{weights:?}")));
        }
        NodeKind::Holdout { percent } if !(1..=50).contains(percent) => {
            out.push(err(id, "bad_percent", percent.to_string()));
        }
        NodeKind::Send { channel, template, .. } => {
            if !catalog.has_channel(channel) {
                out.push(err(id, "unknown_channel", channel.clone()));
            }
            if template.trim().is_empty() {
                out.push(err(id, "missing_template", ""));
            } else if let Err(e) = catalog.check_template(template) {
                out.push(err(id, "template_error", e));
            }
        }
        NodeKind::Tag { add, remove } => {
            if add.is_empty() && remove.is_empty() {
                out.push(err(id, "empty_tag_change", ""));
            }
            if let Some(t) = add.iter().chain(remove).find(|t| !catalog.has_tag(**t)) {
                out.push(err(id, "unknown_tag", t.to_string()));
            }
        }
        NodeKind::Stage { stage } if !catalog.has_stage(stage) => out.push(err(id, "unknown_stage", stage.clone())),
        NodeKind::Task { title, .. } if title.trim().is_empty() => out.push(err(id, "empty_task_title", "")),
        NodeKind::Webhook { url } if !(url.starts_with("https://") || url.starts_with("http://")) => {
            out.push(err(id, "bad_url", url.clone()));
        }
        NodeKind::Enrol { journey } if !catalog.has_journey(*journey) => {
            out.push(err(id, "unknown_journey", journey.to_string()));
        }
        _ => {}
    }
}

/// Ids of nodes no trigger reaches, in graph order.
fn unreachable(g: &JourneyGraph) -> Vec<String> {
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let mut todo: Vec<&str> = g.nodes.iter().filter(|n| n.kind.is_trigger()).map(|n| n.id.as_str()).collect();
    while let Some(id) = todo.pop() {
        if !reached.insert(id) {
            continue;
        }
        if let Some(n) = g.node(id) {
            todo.extend(n.next.values().map(String::as_str));
        }
    }
    g.nodes.iter().filter(|n| !reached.contains(n.id.as_str())).map(|n| n.id.clone()).collect()
}

/// A node on a cycle whose nodes never wait, if there is one (found by a depth-first search over the
/// edges between non-waiting nodes).
fn instant_cycle(g: &JourneyGraph) -> Option<String> {
    let edges: BTreeMap<&str, Vec<&str>> = g
        .nodes
        .iter()
        .filter(|n| !n.kind.waits())
        .map(|n| {
            let next = n.next.values().filter_map(|t| g.node(t)).filter(|t| !t.kind.waits()).map(|t| t.id.as_str());
            (n.id.as_str(), next.collect())
        })
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    for start in edges.keys() {
        if state.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        state.insert(start, 1);
        while let Some((node, i)) = stack.pop() {
            let next = edges.get(node).map_or(&[][..], Vec::as_slice);
            match next.get(i) {
                Some(&t) => {
                    stack.push((node, i + 1));
                    match state.get(t).copied().unwrap_or(0) {
                        1 => return Some(t.to_string()),
                        0 => {
                            state.insert(t, 1);
                            stack.push((t, 0));
                        }
                        _ => {}
                    }
                }
                None => {
                    state.insert(node, 2);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    struct Tenant;

    impl GraphCatalog for Tenant {
        fn check_template(&self, source: &str) -> Result<(), String> {
            if source.contains("{{") && !source.contains("}}") { Err("unclosed {{".into()) } else { Ok(()) }
        }
        fn has_channel(&self, channel: &str) -> bool {
            channel == "sandbox"
        }
        fn has_tag(&self, _: TagId) -> bool {
            true
        }
        fn has_segment(&self, _: SegmentId) -> bool {
            true
        }
        fn has_stage(&self, stage: &str) -> bool {
            ["new", "interested", "purchased"].contains(&stage)
        }
        fn has_journey(&self, _: JourneyId) -> bool {
            false
        }
    }

    fn graph(nodes: serde_json::Value) -> JourneyGraph {
        serde_json::from_value(json!({ "nodes": nodes })).unwrap()
    }

    fn codes(g: &JourneyGraph) -> Vec<(Option<String>, String)> {
        validate(g, &Tenant).into_iter().map(|e| (e.node, e.code)).collect()
    }

    fn at(node: &str, code: &str) -> (Option<String>, String) {
        (Some(node.to_string()), code.to_string())
    }

    #[test]
    fn a_seven_day_nurture_is_publishable() {
        let g = graph(json!([
            {"id": "t", "type": "trigger", "trigger": {"on": "stage_enter", "stage": "new"}, "next": {"next": "d1"}},
            {"id": "d1", "type": "wait", "wait": {"until": "stage_day", "day": 1, "at": "10:00"}, "next": {"next": "m1"}},
            {"id": "m1", "type": "send", "channel": "sandbox", "template": "{{ name }}，欢迎！", "next": {"next": "b"}},
            {"id": "b", "type": "branch", "condition": {"type": "field", "field": "order_count", "op": "ge", "value": 1},
             "next": {"yes": "x", "no": "w"}},
            {"id": "w", "type": "wait", "wait": {"until": "event", "name": "order_paid", "timeout_minutes": 8640},
             "next": {"event": "x", "timeout": "task"}},
            {"id": "task", "type": "task", "title": "打电话回访", "due_in_hours": 24},
            {"id": "x", "type": "exit"}
        ]));
        assert_eq!(codes(&g), []);
        assert_eq!(g.follow("w", "timeout").map(|n| n.id.as_str()), Some("task"));
    }

    #[test]
    fn a_keyed_journey_needs_a_key_name_and_one_key_for_all_its_event_triggers() {
        let g = graph(json!([
            {"id": "a", "type": "trigger", "trigger": {"on": "event", "name": "cart_created", "key": "cart_id"},
             "next": {"next": "s"}},
            {"id": "b", "type": "trigger", "trigger": {"on": "event", "name": "order_created", "key": "order_id"},
             "next": {"next": "s"}},
            {"id": "c", "type": "trigger", "trigger": {"on": "event", "name": "coupon", "key": " "}, "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "hi", "on_cap": "defer"}
        ]));
        let found = codes(&g);
        assert!(found.contains(&at("b", "mixed_keys")) && found.contains(&at("c", "bad_key")), "{found:?}");
        assert!(!found.iter().any(|f| f.0.as_deref() == Some("a") || f.0.as_deref() == Some("s")), "{found:?}");
    }

    #[test]
    fn structural_problems_point_at_their_nodes() {
        let g = graph(json!([
            {"id": "a", "type": "send", "channel": "sandbox", "template": "hi", "next": {"yes": "b", "next": "zz"}},
            {"id": "b", "type": "exit"},
            {"id": "b", "type": "exit"}
        ]));
        let found = codes(&g);
        assert!(found.contains(&(None, "no_trigger".into())), "{found:?}");
        assert!(found.contains(&at("b", "duplicate_node_id")));
        assert!(found.contains(&at("a", "unknown_port")));
        assert!(found.contains(&at("a", "dangling_edge")));
        assert!(found.contains(&at("a", "unreachable")));
    }

    #[test]
    fn a_cycle_without_a_wait_is_refused_and_one_through_a_wait_is_not() {
        let looped = |via_wait: bool| {
            let middle = if via_wait {
                json!({"id": "m", "type": "wait", "wait": {"until": "duration", "minutes": 60}, "next": {"next": "s"}})
            } else {
                json!({"id": "m", "type": "tag", "add": [TagId::new()], "next": {"next": "s"}})
            };
            graph(json!([
                {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
                {"id": "s", "type": "send", "channel": "sandbox", "template": "hi", "next": {"next": "m"}},
                middle
            ]))
        };
        let found = codes(&looped(false));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1, "instant_cycle");
        assert_eq!(codes(&looped(true)), []);
    }

    #[test]
    fn missing_templates_template_errors_and_bad_values_are_named() {
        let g = graph(json!([
            {"id": "t", "type": "trigger", "trigger": {"on": "date_property", "field": "birthday", "offset_days": -3, "at": "25:00"},
             "next": {"next": "s1"}},
            {"id": "s1", "type": "send", "channel": "sandbox", "template": " ", "next": {"next": "s2"}},
            {"id": "s2", "type": "send", "channel": "sms", "template": "{{ name", "next": {"next": "sp"}},
            {"id": "sp", "type": "split", "weights": [0, 0], "next": {"0": "h"}},
            {"id": "h", "type": "holdout", "percent": 80, "next": {"treatment": "st"}},
            {"id": "st", "type": "stage", "stage": "vip", "next": {"next": "e"}},
            {"id": "e", "type": "enrol", "journey": JourneyId::new()}
        ]));
        let found = codes(&g);
        for want in [
            at("t", "bad_time"),
            at("s1", "missing_template"),
            at("s2", "unknown_channel"),
            at("s2", "template_error"),
            at("sp", "bad_weights"),
            at("h", "bad_percent"),
            at("st", "unknown_stage"),
            at("e", "unknown_journey"),
        ] {
            assert!(found.contains(&want), "{want:?} not in {found:?}");
        }
    }

    #[test]
    fn times_are_two_digit_hours_and_minutes() {
        assert_eq!(parse_time("09:30"), NaiveTime::from_hms_opt(9, 30, 0));
        for bad in ["9:30", "24:00", "12:60", "12-30", "", "１２:３０"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }
}
