use chrono::{DateTime, FixedOffset, Utc};
use serde_json::json;

use super::*;
use crate::journey::step::Action;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn graph(v: serde_json::Value) -> JourneyGraph {
    serde_json::from_value(v).unwrap()
}

fn run(g: &JourneyGraph, s: &Scenario) -> Simulation {
    simulate(g, JourneyId::new(), CustomerId::new(), s).unwrap()
}

/// (local time, node, sent templates) per step.
fn trace(sim: &Simulation) -> Vec<(String, String, Vec<String>)> {
    sim.steps
        .iter()
        .map(|s| {
            let sent = s
                .effects
                .iter()
                .filter_map(|e| match &e.action {
                    Action::Send { template, .. } => Some(template.clone()),
                    Action::Skipped { reason, .. } => Some(format!("skipped:{reason}")),
                    _ => None,
                })
                .collect();
            (s.local.clone(), s.node.clone(), sent)
        })
        .collect()
}

fn nurture() -> JourneyGraph {
    graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "hi"}},
        {"id": "hi", "type": "send", "channel": "sandbox", "template": "欢迎", "next": {"next": "d1"}},
        {"id": "d1", "type": "wait", "wait": {"until": "stage_day", "day": 1, "at": "10:00"}, "next": {"next": "b"}},
        {"id": "b", "type": "branch", "condition": {"type": "field", "field": "order_count", "op": "ge", "value": 1},
         "next": {"yes": "x", "no": "coupon"}},
        {"id": "coupon", "type": "send", "channel": "sandbox", "template": "新人券", "next": {"next": "d3"}},
        {"id": "d3", "type": "wait", "wait": {"until": "stage_day", "day": 3, "at": "10:00"}, "next": {"next": "tip"}},
        {"id": "tip", "type": "send", "channel": "sandbox", "template": "护肤小课堂"},
        {"id": "x", "type": "exit"}
    ]}))
}

#[test]
fn a_customer_walks_through_the_nurture_on_their_own_local_days() {
    // 12:00 in Shanghai on Dec 7; branch "b" answers "no": they have not ordered.
    let mut s = Scenario::new(utc("2026-12-07T04:00:00Z"), shanghai());
    s.branches.insert("b".into(), false);
    let sim = run(&nurture(), &s);
    assert!(!sim.truncated);
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        trace(&sim),
        vec![
            ("2026-12-07 12:00".into(), "d1".into(), strs(&["欢迎"])),
            ("2026-12-08 10:00".into(), "d3".into(), strs(&["新人券"])),
            ("2026-12-10 10:00".into(), "tip".into(), strs(&["护肤小课堂"])),
        ]
    );
    assert_eq!(sim.steps[0].next_local.as_deref(), Some("2026-12-08 10:00"));
    assert_eq!((sim.steps[2].status.as_str(), sim.steps[2].exit_reason.as_deref()), ("done", Some("end_of_path")));
    assert_eq!(sim.steps[0].wake, SimWake::Enter);

    // Answering "yes" takes the other output and ends at the exit node.
    s.branches.insert("b".into(), true);
    let sim = run(&nurture(), &s);
    assert_eq!(sim.steps.last().map(|s| s.node.as_str()), Some("x"));
    assert_eq!(sim.steps.len(), 2);
}

#[test]
fn a_night_entry_is_held_until_the_morning_and_a_daily_cap_skips_the_second_send() {
    let g = graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s1"}},
        {"id": "s1", "type": "send", "channel": "sandbox", "template": "一", "next": {"next": "s2"}},
        {"id": "s2", "type": "send", "channel": "sandbox", "template": "二"}
    ]}));
    // 23:30 local.
    let mut s = Scenario::new(utc("2026-12-07T15:30:00Z"), shanghai());
    s.daily_cap = Some(1);
    let sim = run(&g, &s);
    assert_eq!((sim.steps[0].node.as_str(), sim.steps[0].defer_count), ("s1", 1));
    assert!(sim.steps[0].effects.is_empty());
    let morning = &sim.steps[1];
    assert!(morning.local.starts_with("2026-12-08 08:"), "{}", morning.local);
    assert_eq!(trace(&sim)[1].2, ["一", "skipped:cap_or_opt_out"]);
    // Without a cap both go; opted out, neither does.
    s.daily_cap = None;
    assert_eq!(trace(&run(&g, &s))[1].2, ["一", "二"]);
    s.opted_out = true;
    assert!(trace(&run(&g, &s))[1].2.iter().all(|x| x.starts_with("skipped")));
}

#[test]
fn an_injected_event_answers_a_wait_and_an_exit_event_ends_the_run_at_once() {
    let g = graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "event", "name": "reply", "timeout_minutes": 1440},
         "next": {"event": "thanks", "timeout": "nudge"}},
        {"id": "thanks", "type": "send", "channel": "sandbox", "template": "谢谢回复", "next": {"next": "later"}},
        {"id": "nudge", "type": "send", "channel": "sandbox", "template": "还在吗", "next": {"next": "later"}},
        {"id": "later", "type": "wait", "wait": {"until": "duration", "minutes": 4320}, "next": {"next": "last"}},
        {"id": "last", "type": "send", "channel": "sandbox", "template": "最后一条"}
    ], "exit_on": [{"on": "event", "name": "order_paid"}]}));
    let t0 = utc("2026-12-07T04:00:00Z");
    let mut s = Scenario::new(t0, shanghai());
    // No events: the timeout path, then the last message three days later.
    let quiet = trace(&run(&g, &s));
    assert_eq!(quiet.iter().flat_map(|t| t.2.clone()).collect::<Vec<_>>(), ["还在吗", "最后一条"]);
    // An unrelated event is recorded and ignored; the reply takes the event path; a paid order exits.
    s.events = vec![
        SimEvent { at: t0 + Duration::hours(1), name: "page_view".into(), key: None },
        SimEvent { at: t0 + Duration::hours(2), name: "reply".into(), key: None },
        SimEvent { at: t0 + Duration::days(1), name: "order_paid".into(), key: None },
    ];
    let sim = run(&g, &s);
    let wakes: Vec<&SimWake> = sim.steps.iter().map(|s| &s.wake).collect();
    assert_eq!(wakes[1], &SimWake::Event { name: "page_view".into(), matched: false });
    assert_eq!(wakes[2], &SimWake::Event { name: "reply".into(), matched: true });
    assert_eq!(trace(&sim)[2].2, ["谢谢回复"]);
    let last = sim.steps.last().unwrap();
    assert_eq!((last.status.as_str(), last.exit_reason.as_deref()), ("exited", Some("event:order_paid")));
    assert_eq!(last.local, "2026-12-08 12:00");
    assert_eq!(sim.steps.len(), 4, "nothing after the exit");
}

#[test]
fn a_loop_through_a_wait_stops_at_the_step_limit_and_says_so() {
    let g = graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "duration", "minutes": 60}, "next": {"next": "w2"}},
        {"id": "w2", "type": "wait", "wait": {"until": "duration", "minutes": 60}, "next": {"next": "w"}}
    ]}));
    let sim = run(&g, &Scenario::new(utc("2026-12-07T04:00:00Z"), shanghai()));
    assert!(sim.truncated);
    assert_eq!(sim.steps.len(), MAX_STEPS);
    let no_trigger = graph(json!({"nodes": [{"id": "x", "type": "exit"}]}));
    assert!(
        simulate(
            &no_trigger,
            JourneyId::new(),
            CustomerId::new(),
            &Scenario::new(utc("2026-12-07T04:00:00Z"), shanghai())
        )
        .is_none()
    );
}

fn ev(t0: DateTime<Utc>, minutes: i64, name: &str, key: &str) -> SimEvent {
    SimEvent { at: t0 + Duration::minutes(minutes), name: name.into(), key: Some(key.into()) }
}

/// An order journey keyed by `order_id`: remind until the order is paid, thank on payment.
fn orders() -> JourneyGraph {
    graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "order_created", "key": "order_id"},
         "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "event", "name": "paid", "timeout_minutes": 1440},
         "next": {"event": "thanks", "timeout": "nudge"}},
        {"id": "thanks", "type": "send", "channel": "sandbox", "template": "谢谢"},
        {"id": "nudge", "type": "send", "channel": "sandbox", "template": "待付款"}
    ], "exit_on": [{"on": "event", "name": "refund"}], "reentry": {"policy": "after_exit"}}))
}

/// (run, key, node, status) per step.
fn runs(sim: &Simulation) -> Vec<(u32, Option<String>, String, String)> {
    sim.steps.iter().map(|s| (s.entry_seq, s.entry_key.clone(), s.node.clone(), s.status.clone())).collect()
}

#[test]
fn two_orders_give_two_runs_and_a_repeated_order_event_starts_none() {
    let t0 = utc("2026-12-07T04:00:00Z");
    let mut s = Scenario::new(t0, shanghai());
    s.entry_key = Some("A".into());
    s.events = vec![ev(t0, 30, "order_created", "B"), ev(t0, 40, "order_created", "A")];
    let sim = run(&orders(), &s);
    let keys: Vec<_> = runs(&sim).into_iter().map(|r| (r.0, r.1)).collect();
    let (a, b) = ((1, Some("A".to_string())), (2, Some("B".to_string())));
    assert_eq!(keys[..2], [a.clone(), b.clone()], "{sim:#?}");
    assert_eq!(sim.steps[1].wake, SimWake::Event { name: "order_created".into(), matched: true });
    // Order A's second event finds A's run live: ignored, no third run.
    assert_eq!(sim.steps[2].wake, SimWake::Event { name: "order_created".into(), matched: false });
    assert!(sim.steps.iter().all(|s| s.entry_seq <= 2));
    // Both time out on their own clocks and are nudged once each.
    let nudged: Vec<_> = sim.steps.iter().filter(|s| s.node == "nudge").map(|s| s.entry_key.clone()).collect();
    assert_eq!(nudged, [Some("A".to_string()), Some("B".to_string())]);
    assert!(!sim.truncated);
}

#[test]
fn a_wait_for_paid_on_order_a_is_not_woken_by_order_b_being_paid() {
    let t0 = utc("2026-12-07T04:00:00Z");
    let mut s = Scenario::new(t0, shanghai());
    s.entry_key = Some("A".into());
    s.events = vec![ev(t0, 10, "order_created", "B"), ev(t0, 60, "paid", "B")];
    let sim = run(&orders(), &s);
    let paid = sim.steps.iter().find(|s| s.local == "2026-12-07 13:00").unwrap();
    assert_eq!((paid.entry_key.as_deref(), paid.node.as_str()), (Some("B"), "thanks"));
    assert_eq!(paid.wake, SimWake::Event { name: "paid".into(), matched: true });
    assert_eq!(sim.steps.iter().filter(|s| s.local == "2026-12-07 13:00").count(), 1, "A is not woken");
    let a: Vec<_> = runs(&sim).into_iter().filter(|r| r.0 == 1).map(|r| r.2).collect();
    assert_eq!(a, ["w", "nudge"], "A times out and is nudged");
}

#[test]
fn a_keyed_exit_ends_only_its_own_run_and_the_same_order_may_enter_again_after_it() {
    let t0 = utc("2026-12-07T04:00:00Z");
    let mut s = Scenario::new(t0, shanghai());
    s.entry_key = Some("A".into());
    s.events = vec![ev(t0, 10, "order_created", "B"), ev(t0, 20, "refund", "A"), ev(t0, 30, "order_created", "A")];
    let sim = run(&orders(), &s);
    let r = runs(&sim);
    assert_eq!((r[2].0, r[2].3.as_str()), (1, "exited"), "{r:?}");
    assert_eq!(sim.steps[2].exit_reason.as_deref(), Some("event:refund"));
    assert_eq!((r[3].0, r[3].1.as_deref(), r[3].2.as_str()), (3, Some("A"), "w"), "after_exit: A again");
    assert!(r.iter().any(|x| x.0 == 2 && x.2 == "nudge"), "B was not ended by A's refund");
    // Without re-entry the second order_created of A starts nothing.
    let mut g = orders();
    g.reentry = crate::journey::Reentry::Never;
    assert!(runs(&run(&g, &s)).iter().all(|x| x.0 <= 2));
}
