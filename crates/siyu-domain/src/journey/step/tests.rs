use chrono::{DateTime, FixedOffset, Utc};
use proptest::prelude::*;
use serde_json::json;

use super::*;

struct View {
    branch: bool,
    may_send: bool,
    /// `may_send` refuses for the cap (not an opt-out).
    capped: bool,
    stage_entered_at: Option<DateTime<Utc>>,
}

impl CustomerView for View {
    fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }
    fn stage_entered_at(&self) -> Option<DateTime<Utc>> {
        self.stage_entered_at
    }
    fn branch(&self, _: &str) -> bool {
        self.branch
    }
    fn may_send(&self, _: &str) -> bool {
        self.may_send
    }
    fn capped(&self, _: &str) -> bool {
        self.capped
    }
}

const VIEW: View = View { branch: true, may_send: true, capped: false, stage_entered_at: None };

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn graph(nodes: serde_json::Value) -> JourneyGraph {
    serde_json::from_value(json!({ "nodes": nodes })).unwrap()
}

fn enter(at: DateTime<Utc>) -> Instance {
    Instance {
        journey: JourneyId::new(),
        customer: CustomerId::new(),
        entry_seq: 1,
        node: "t".into(),
        status: Status::Running,
        next_run_at: None,
        wait_event: None,
        entered_at: at,
        node_entered_at: at,
        defer_count: 0,
        exit_reason: None,
        held_out: false,
        entry_key: None,
    }
}

fn sent(effects: &[Effect]) -> Vec<&str> {
    effects.iter().filter(|e| matches!(e.action, Action::Send { .. })).map(|e| e.node.as_str()).collect()
}

/// Trigger → wait 60 min → send → tag (12:00 local entry: no quiet hours in the way).
fn welcome() -> JourneyGraph {
    graph(json!([
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "duration", "minutes": 60}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "hi", "next": {"next": "g"}},
        {"id": "g", "type": "tag", "add": [TagId::new()]}
    ]))
}

#[test]
fn an_instance_waits_its_own_time_then_sends_and_tags_in_one_step() {
    let g = welcome();
    let t0 = utc("2026-12-07T04:00:00Z");
    let (i, fx) = step(&g, enter(t0), &VIEW, t0, Wake::Clock);
    assert_eq!(
        (i.node.as_str(), &i.status, i.next_run_at),
        ("w", &Status::WaitingTime, Some(utc("2026-12-07T05:00:00Z")))
    );
    assert!(fx.is_empty());
    // Not due yet: nothing moves.
    let (same, fx) = step(&g, i.clone(), &VIEW, utc("2026-12-07T04:59:59Z"), Wake::Clock);
    assert_eq!((same, fx.len()), (i.clone(), 0));
    let (done, fx) = step(&g, i, &VIEW, utc("2026-12-07T05:00:00Z"), Wake::Clock);
    assert_eq!(sent(&fx), ["s"]);
    assert!(matches!(fx[1].action, Action::Tag { .. }));
    assert_eq!((&done.status, done.exit_reason.as_deref()), (&Status::Done, Some("end_of_path")));
    // A finished instance never acts again.
    assert!(step(&g, done, &VIEW, utc("2026-12-08T05:00:00Z"), Wake::Clock).1.is_empty());
}

#[test]
fn a_send_due_in_quiet_hours_waits_for_the_morning_and_keeps_its_dedupe_key() {
    let g = welcome();
    // Entered 22:30 local: the wait ends 23:30 local, inside 22:00–08:00.
    let t0 = utc("2026-12-07T14:30:00Z");
    let (i, _) = step(&g, enter(t0), &VIEW, t0, Wake::Clock);
    let (held, fx) = step(&g, i, &VIEW, utc("2026-12-07T15:30:00Z"), Wake::Clock);
    assert!(fx.is_empty());
    assert_eq!((held.node.as_str(), &held.status, held.defer_count), ("s", &Status::WaitingTime, 1));
    let release = held.next_run_at.unwrap();
    assert!(release >= utc("2026-12-08T00:00:00Z") && release <= utc("2026-12-08T00:15:00Z"), "{release}");
    let (done, fx) = step(&g, held.clone(), &VIEW, release, Wake::Clock);
    assert_eq!(sent(&fx), ["s"]);
    assert_eq!(fx[0].dedupe_key, dedupe_key(&held, "s"));
    assert_eq!(done.status, Status::Done);
}

#[test]
fn a_wait_for_an_event_takes_the_event_path_or_the_timeout_path() {
    let g = graph(json!([
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "event", "name": "order_paid", "timeout_minutes": 1440},
         "next": {"event": "thanks", "timeout": "nudge"}},
        {"id": "thanks", "type": "send", "channel": "sandbox", "template": "谢谢"},
        {"id": "nudge", "type": "send", "channel": "sandbox", "template": "还在考虑吗？"}
    ]));
    let t0 = utc("2026-12-07T04:00:00Z");
    let (waiting, _) = step(&g, enter(t0), &VIEW, t0, Wake::Clock);
    assert_eq!((&waiting.status, waiting.wait_event.as_deref()), (&Status::WaitingEvent, Some("order_paid")));
    let later = utc("2026-12-07T06:00:00Z");
    assert_eq!(step(&g, waiting.clone(), &VIEW, later, Wake::Event("page_view")).0, waiting);
    assert_eq!(sent(&step(&g, waiting.clone(), &VIEW, later, Wake::Event("order_paid")).1), ["thanks"]);
    assert!(step(&g, waiting.clone(), &VIEW, later, Wake::Clock).1.is_empty(), "not timed out yet");
    assert_eq!(sent(&step(&g, waiting, &VIEW, utc("2026-12-08T04:00:00Z"), Wake::Clock).1), ["nudge"]);
}

#[test]
fn branches_holdouts_caps_and_opt_outs_decide_what_goes_out() {
    let g = graph(json!([
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "b"}},
        {"id": "b", "type": "branch", "condition": {"type": "field", "field": "order_count", "op": "ge", "value": 1},
         "next": {"yes": "h", "no": "no"}},
        {"id": "h", "type": "holdout", "percent": 50, "next": {"treatment": "s", "holdout": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "老客专享"},
        {"id": "no", "type": "exit"}
    ]));
    let t0 = utc("2026-12-07T04:00:00Z");
    let no = View { branch: false, ..VIEW };
    let (i, fx) = step(&g, enter(t0), &no, t0, Wake::Clock);
    assert_eq!((fx.len(), i.exit_reason.as_deref()), (0, Some("exit_node")));
    let (mut withheld, mut delivered) = (0, 0);
    for _ in 0..400 {
        let (_, fx) = step(&g, enter(t0), &VIEW, t0, Wake::Clock);
        match fx[0].action {
            Action::Withheld { .. } => withheld += 1,
            Action::Send { .. } => delivered += 1,
            _ => panic!("{fx:?}"),
        }
    }
    assert!(withheld > 150 && delivered > 150, "{withheld} withheld, {delivered} sent");
    let capped = View { may_send: false, ..VIEW };
    let (_, fx) = step(&g, enter(t0), &capped, t0, Wake::Clock);
    assert!(matches!(&fx[0].action, Action::Skipped { reason, .. } if reason == "cap_or_opt_out"));
}

#[test]
fn a_capped_send_that_defers_waits_for_the_next_local_morning_and_one_that_skips_is_skipped() {
    let nodes = |on_cap: &str| {
        graph(json!([
            {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "你好", "on_cap": on_cap, "next": {"next": "x"}},
            {"id": "x", "type": "exit"}
        ]))
    };
    // 12:00 local on Dec 7, the day's allowance used up.
    let t0 = utc("2026-12-07T04:00:00Z");
    let capped = View { may_send: false, capped: true, ..VIEW };
    let (held, fx) = step(&nodes("defer"), enter(t0), &capped, t0, Wake::Clock);
    assert!(fx.is_empty(), "nothing recorded yet: {fx:?}");
    assert_eq!((held.node.as_str(), &held.status, held.defer_count), ("s", &Status::WaitingTime, 1));
    // Midnight is in quiet hours: 08:00 local on Dec 8 (00:00 UTC) plus a 0–15 minute jitter.
    let slot = held.next_run_at.unwrap();
    assert!(slot >= utc("2026-12-08T00:00:00Z") && slot <= utc("2026-12-08T00:15:00Z"), "{slot}");
    // Then, with a fresh allowance, it sends once and moves on.
    let (done, fx) = step(&nodes("defer"), held.clone(), &VIEW, slot, Wake::Clock);
    assert_eq!((sent(&fx), done.status), (vec!["s"], Status::Done));
    // Still capped every morning: skipped after the third deferral, with the reason.
    let mut i = held;
    for _ in 0..MAX_DEFERRALS {
        let now = i.next_run_at.unwrap();
        let (next, fx) = step(&nodes("defer"), i, &capped, now, Wake::Clock);
        i = next;
        if !fx.is_empty() {
            assert!(matches!(&fx[0].action, Action::Skipped { reason, .. } if reason == "frequency_cap"));
            assert_eq!(i.status, Status::Done);
            break;
        }
    }
    assert_eq!(i.status, Status::Done);
    // The default (and `skip`) skips at once, as does `defer` for an opt-out.
    for (g, view) in [(nodes("skip"), &capped), (nodes("defer"), &View { may_send: false, ..VIEW })] {
        let (done, fx) = step(&g, enter(t0), view, t0, Wake::Clock);
        assert!(matches!(&fx[0].action, Action::Skipped { reason, .. } if reason == "cap_or_opt_out"));
        assert_eq!(done.status, Status::Done);
    }
}

#[test]
fn day_n_of_the_stage_counts_from_the_customers_own_stage_entry() {
    let g = graph(json!([
        {"id": "t", "type": "trigger", "trigger": {"on": "stage_enter", "stage": "new"}, "next": {"next": "d3"}},
        {"id": "d3", "type": "wait", "wait": {"until": "stage_day", "day": 3, "at": "10:00"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "第三天"}
    ]));
    // Entered the stage at 23:50 local on Dec 6; the journey picked them up at 01:00 UTC on Dec 7.
    let view = View { stage_entered_at: Some(utc("2026-12-06T15:50:00Z")), ..VIEW };
    let t0 = utc("2026-12-07T01:00:00Z");
    let (i, _) = step(&g, enter(t0), &view, t0, Wake::Clock);
    assert_eq!(i.next_run_at, Some(utc("2026-12-09T02:00:00Z")), "Dec 6 + 3 days at 10:00 local");
    // Reached after that day already passed: it runs on at once.
    let (done, fx) = step(&g, enter(t0), &view, utc("2026-12-10T04:00:00Z"), Wake::Clock);
    assert_eq!((sent(&fx), done.status), (vec!["s"], Status::Done));
}

proptest! {
    /// However the clock jumps and whatever events arrive, one entry emits each node's effect at most once,
    /// never before the node is reached, and finishes once the clock is far enough ahead.
    #[test]
    fn one_entry_emits_each_effect_at_most_once_under_any_clock_and_events(
        jumps in proptest::collection::vec((0i64..3_000, 0usize..3), 1..30)
    ) {
        let g = graph(json!([
            {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w1"}},
            {"id": "w1", "type": "wait", "wait": {"until": "duration", "minutes": 120}, "next": {"next": "s1"}},
            {"id": "s1", "type": "send", "channel": "sandbox", "template": "1", "next": {"next": "w2"}},
            {"id": "w2", "type": "wait", "wait": {"until": "event", "name": "reply", "timeout_minutes": 1440},
             "next": {"event": "s2", "timeout": "w3"}},
            {"id": "w3", "type": "wait", "wait": {"until": "time", "at": "10:00"}, "next": {"next": "s2"}},
            {"id": "s2", "type": "send", "channel": "sandbox", "template": "2"}
        ]));
        let mut now = utc("2026-12-07T04:00:00Z");
        let mut i = enter(now);
        let mut keys: Vec<String> = Vec::new();
        for (minutes, wake) in jumps {
            now += chrono::Duration::minutes(minutes);
            let wake = match wake { 0 => Wake::Clock, 1 => Wake::Event("reply"), _ => Wake::Event("other") };
            let (next, fx) = step(&g, i, &VIEW, now, wake);
            for e in fx {
                prop_assert!(!keys.contains(&e.dedupe_key), "{} twice", e.node);
                keys.push(e.dedupe_key);
            }
            prop_assert!(next.next_run_at.is_none_or(|t| t > now || next.status == Status::WaitingEvent));
            i = next;
        }
        for _ in 0..10 {
            now += chrono::Duration::days(2);
            let (next, fx) = step(&g, i, &VIEW, now, Wake::Clock);
            for e in fx {
                prop_assert!(!keys.contains(&e.dedupe_key));
                keys.push(e.dedupe_key);
            }
            i = next;
        }
        prop_assert_eq!(i.status, Status::Done);
        prop_assert_eq!(keys.len(), 2);
    }
}
