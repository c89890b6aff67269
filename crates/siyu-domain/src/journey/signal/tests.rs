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
    assert!(wakes(&g, "w", &event("Coupon Redeemed", json!({"store": "徐汇店"})), None));
    assert!(!wakes(&g, "w", &event("Coupon Redeemed", json!({"store": "静安店"})), None));
    assert!(!wakes(&g, "t", &event("Coupon Redeemed", json!({"store": "徐汇店"})), None));
    assert_eq!(listened_events(&g), vec!["Coupon Redeemed".to_string()]);
}

#[test]
fn a_keyed_trigger_starts_a_run_per_key_value_and_its_wait_answers_only_its_own_key() {
    let g = graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "checkout_started", "key": "order_id"},
         "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "event", "name": "order.paid", "timeout_minutes": 60}}
    ]}));
    let id = JourneyId::new();
    assert_eq!(g.entry_key(), Some("order_id"));
    let a = react(id, &g, &event("checkout_started", json!({"order_id": "A-1"})), now(), now());
    assert_eq!((a.enrol.as_deref(), a.key.as_deref(), a.refused), (Some("t"), Some("A-1"), None));
    let n = react(id, &g, &event("checkout_started", json!({"order_id": 42})), now(), now());
    assert_eq!(n.key.as_deref(), Some("42"), "a number keys too");
    for props in [json!({}), json!({"order_id": ""}), json!({"order_id": null}), json!({"order_id": {"a": 1}})] {
        let r = react(id, &g, &event("checkout_started", props.clone()), now(), now());
        assert_eq!((r.enrol, r.refused), (None, Some("missing_key")), "{props}");
    }
    let paid = |order: &str| event("order.paid", json!({"order_id": order}));
    assert!(wakes(&g, "w", &paid("A-1"), Some("A-1")));
    assert!(!wakes(&g, "w", &paid("B-2"), Some("A-1")), "another order's payment");
    assert!(!wakes(&g, "w", &event("order.paid", json!({})), Some("A-1")));
    assert!(wakes(&g, "w", &paid("B-2"), None), "a run entered without a key waits as before");
}

#[test]
fn an_exit_event_of_a_keyed_journey_ends_only_the_run_of_its_key_value() {
    let g = graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "checkout", "key": "cart_id"}}
    ], "exit_on": [{"on": "event", "name": "order_paid"}, {"on": "opt_out"}]}));
    let id = JourneyId::new();
    let paid = react(id, &g, &event("order_paid", json!({"cart_id": "C-1"})), now(), now());
    assert_eq!((paid.exit.as_deref(), paid.exit_key.as_deref()), (Some("exit_on:order_paid"), Some("C-1")));
    let unkeyed = react(id, &g, &event("order_paid", json!({})), now(), now());
    assert_eq!((unkeyed.exit.is_some(), unkeyed.exit_key), (true, None), "no key: every run ends");
    let out = react(id, &g, &Happening::OptedOut, now(), now());
    assert_eq!((out.exit.is_some(), out.exit_key), (true, None));
}
