use serde_json::json;
use siyu_store::journeys::NodeFacts;

use super::*;

fn graph() -> JourneyGraph {
    serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "duration", "minutes": 60}, "next": {"next": "b"}},
        {"id": "b", "type": "branch", "condition": {"type": "field", "field": "order_count", "op": "ge", "value": 1},
         "next": {"yes": "x", "no": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "hi", "next": {"next": "x"}},
        {"id": "x", "type": "exit"}
    ], "goal": {"event": "order_paid", "within_days": 7}}))
    .unwrap()
}

fn node(reached: i64, waiting: i64, done: i64) -> NodeFacts {
    NodeFacts { reached, waiting, done, ..Default::default() }
}

#[test]
fn waits_and_branches_count_the_runs_there_and_those_that_went_on_through_them() {
    // 10 entries: 3 waiting at w, 4 went through s (1 held there by quiet hours) and 3 took "yes" to x.
    let mut facts = JourneyFacts::default();
    facts.nodes.insert("w".into(), node(3, 3, 0));
    let mut s = node(4, 1, 0);
    s.outbox = [("sent".to_string(), 2), ("skipped".to_string(), 1)].into_iter().collect();
    facts.nodes.insert("s".into(), s);
    facts.nodes.insert("x".into(), node(6, 0, 6));
    facts.treatment = GroupFacts { entries: 8, converted: 2 };
    facts.holdout = GroupFacts { entries: 2, converted: 0 };
    let m = metrics(&graph(), &facts, None);
    let by: BTreeMap<&str, &NodeMetrics> = m.nodes.iter().map(|n| (n.node.as_str(), n)).collect();
    assert_eq!((m.entries, m.live, m.completed), (10, 4, 6));
    assert_eq!(by["t"].entered, 10);
    // Solved along the edges: all 10 reached the wait, 7 went on to the branch, 3 of them took "yes".
    assert_eq!(by["w"].entered, 10);
    assert_eq!(by["b"].entered, 7);
    assert_eq!((by["s"].sent, by["s"].skipped, by["s"].waiting), (2, 1, 1));
    assert_eq!(by["x"].entered, 6);
    assert_eq!((m.treatment.rate_bp, m.holdout.rate_bp, m.uplift_bp), (Some(2500), Some(0), Some(2500)));
    assert_eq!(by["s"].conversions, Some(0));
}

#[test]
fn without_a_goal_there_is_no_conversion_or_uplift() {
    let mut g = graph();
    g.goal = None;
    let facts = JourneyFacts { treatment: GroupFacts { entries: 5, converted: 5 }, ..Default::default() };
    let m = metrics(&g, &facts, Some(2));
    assert_eq!((m.version, m.uplift_bp, m.treatment.entries), (Some(2), None, 0));
    assert!(m.nodes.iter().all(|n| n.conversions.is_none()));
}
