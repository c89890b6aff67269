use chrono::TimeZone;
use serde_json::json;

use super::*;

fn graph(v: Value) -> JourneyGraph {
    serde_json::from_value(v).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 2, 0, 0).unwrap()
}

fn event(name: &str, props: Value) -> Happening {
    Happening::read("event", name, None, Some(&json!({"event": name, "properties": props})))
}

#[test]
fn an_order_entry_reads_as_order_paid_only_when_it_becomes_paid() {
    let paid = Happening::read("timeline", "order_imported", None, Some(&json!({"status": "paid", "paid_fen": 100})));
    assert_eq!(paid.event_name(), ORDER_PAID);
    let pending = Happening::read("timeline", "order_imported", None, Some(&json!({"status": "pending_payment"})));
    assert_ne!(pending.event_name(), ORDER_PAID);
    let moved = Happening::read(
        "timeline",
        "order_status_changed",
        None,
        Some(&json!({"from": "pending_payment", "to": "paid"})),
    );
    assert_eq!(moved.event_name(), ORDER_PAID);
    let shipped =
        Happening::read("timeline", "order_status_changed", None, Some(&json!({"from": "paid", "to": "shipped"})));
    assert_ne!(shipped.event_name(), ORDER_PAID);
}

#[test]
fn tags_segments_stages_and_consent_read_as_their_kinds() {
    let tag = TagId::new();
    assert_eq!(Happening::read("timeline", "tag_added", None, Some(&json!({"tag_id": tag}))), Happening::TagAdded(tag));
    let seg = SegmentId::new();
    assert_eq!(Happening::read("segment", "segment_exit", Some(seg), None), Happening::SegmentExit(seg));
    let stage = Happening::read("timeline", "stage_changed", None, Some(&json!({"from": "new", "to": "interested"})));
    assert_eq!(stage, Happening::StageChanged { from: Some("new".into()), to: "interested".into(), journey: None });
    let out = json!({"purpose": "marketing", "from": "granted", "to": "withdrawn"});
    assert_eq!(Happening::read("timeline", "consent_changed", None, Some(&out)), Happening::OptedOut);
    let task = Happening::read("timeline", "task_completed", None, Some(&json!({"task_id": "x"})));
    assert_eq!(task.event_name(), "task_completed");
}

#[test]
fn an_event_trigger_enrols_on_a_fresh_matching_event_only() {
    let id = JourneyId::new();
    let g = graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "Product Viewed",
            "filters": [{"key": "price", "op": "gt", "value": 100}]}},
    ]}));
    let cheap = event("Product Viewed", json!({"price": 50}));
    let dear = event("Product Viewed", json!({"price": 500}));
    assert_eq!(react(id, &g, &dear, now(), now()).enrol.as_deref(), Some("t"));
    assert!(react(id, &g, &cheap, now(), now()).enrol.is_none());
    assert!(react(id, &g, &dear, now(), now()).enrol.is_some());
    assert!(react(id, &g, &dear, now() - Duration::days(2), now()).enrol.is_none(), "a stale event starts nothing");
}

#[test]
fn stage_and_segment_triggers_match_their_targets() {
    let id = JourneyId::new();
    let seg = SegmentId::new();
    let g = graph(json!({"nodes": [
        {"id": "a", "type": "trigger", "trigger": {"on": "stage_enter", "stage": "silent", "from": "purchased"}},
        {"id": "b", "type": "trigger", "trigger": {"on": "segment_enter", "segment": seg}},
    ]}));
    let to_silent =
        |from: &str| Happening::StageChanged { from: Some(from.into()), to: "silent".into(), journey: None };
    assert!(react(id, &g, &to_silent("purchased"), now(), now()).enrol.is_some());
    assert!(react(id, &g, &to_silent("new"), now(), now()).enrol.is_none());
    assert!(react(id, &g, &Happening::SegmentEnter(seg), now(), now()).enrol.is_some());
    assert!(react(id, &g, &Happening::SegmentExit(seg), now(), now()).enrol.is_none());
}

#[test]
fn exit_criteria_end_a_run_but_not_on_the_journeys_own_stage_change() {
    let id = JourneyId::new();
    let g = graph(json!({"nodes": [{"id": "t", "type": "trigger", "trigger": {"on": "manual"}}],
        "exit_on": [{"on": "event", "name": "order_paid"}, {"on": "stage_change"}, {"on": "opt_out"}]}));
    let paid = Happening::read("timeline", "order_imported", None, Some(&json!({"status": "paid"})));
    assert_eq!(react(id, &g, &paid, now(), now()).exit.as_deref(), Some("exit_on:order_paid"));
    assert!(react(id, &g, &Happening::OptedOut, now(), now()).exit.is_some());
    let long_ago = now() - Duration::days(300);
    assert!(react(id, &g, &paid, long_ago, now()).exit.is_none(), "an old order ends nothing");
    assert!(react(id, &g, &Happening::OptedOut, long_ago, now()).exit.is_some(), "an opt-out always does");
    let own = Happening::StageChanged { from: None, to: "met".into(), journey: Some(id) };
    assert!(react(id, &g, &own, now(), now()).exit.is_none());
    let other = Happening::StageChanged { from: None, to: "met".into(), journey: None };
    assert!(react(id, &g, &other, now(), now()).exit.is_some());
}

#[test]
fn a_wait_is_answered_by_its_event_with_its_filters() {
    let g = graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "event", "name": "Coupon Redeemed", "timeout_minutes": 60,
            "filters": [{"key": "store", "op": "eq", "value": "徐汇店"}]}},
    ]}));
    assert!(wakes(&g, "w", &event("Coupon Redeemed", json!({"store": "徐汇店"}))));
    assert!(!wakes(&g, "w", &event("Coupon Redeemed", json!({"store": "静安店"}))));
    assert!(!wakes(&g, "t", &event("Coupon Redeemed", json!({"store": "徐汇店"}))));
    assert_eq!(listened_events(&g), vec!["Coupon Redeemed".to_string()]);
}
