//! Journey metrics, test mode and templates on both databases: per-node counts from the ledger, the runs
//! and the outbox; the goal's conversion for the treatment against the holdout; one customer simulated
//! with their own branch answers; every standard template publishing for a fresh tenant.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use siyu_app::customers::NewCustomerInput;
use siyu_app::journeys::simulate::SimulateInput;
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::CustomerId;
use siyu_domain::journey::JourneyGraph;
use siyu_domain::journey::simulate::SimEvent;

use crate::Ctx;

crate::on_both_backends!(
    metrics_count_every_node_and_the_goal_compares_the_treatment_with_the_holdout,
    test_mode_runs_a_customer_with_their_own_branch_answers_and_chosen_events,
    every_standard_template_publishes_for_a_fresh_tenant,
);

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Half held out; a welcome, then a reply or a 60-minute timeout; goal: a paid order within 7 days.
fn graph() -> JourneyGraph {
    serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "h"}},
        {"id": "h", "type": "holdout", "percent": 50, "next": {"treatment": "s1", "holdout": "s1"}},
        {"id": "s1", "type": "send", "channel": "sandbox", "template": "欢迎", "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "event", "name": "reply", "timeout_minutes": 60},
         "next": {"event": "s2", "timeout": "x"}},
        {"id": "s2", "type": "send", "channel": "sandbox", "template": "谢谢回复"},
        {"id": "x", "type": "exit"}
    ], "goal": {"event": "order_paid", "within_days": 7}}))
    .unwrap()
}

async fn customers(ctx: &Ctx, app: &siyu_app::App, n: usize) -> Vec<CustomerId> {
    let mut out = Vec::new();
    for i in 0..n {
        let input = NewCustomerInput { name: format!("客户{i}"), ..Default::default() };
        out.push(app.create_customer(&ctx.owner, input).await.unwrap().id);
    }
    out
}

async fn pay(ctx: &Ctx, app: &siyu_app::App, c: CustomerId, id: &str, paid_at: DateTime<Utc>) {
    let input = serde_json::from_value(json!({"platform_order_id": id, "status": "paid", "paid_at": paid_at,
        "paid_fen": 19_900, "lines": [{"title": "精华", "quantity": 1, "unit_price_fen": 19_900}],
        "buyer": {"customer_id": c}}))
    .unwrap();
    app.post_mall_order(&ctx.owner, input).await.unwrap();
}

async fn metrics_count_every_node_and_the_goal_compares_the_treatment_with_the_holdout(ctx: Ctx) {
    // 12:00 in Shanghai.
    let t0 = at("2026-12-07T04:00:00Z");
    let (app, clock) = ctx.clocked(t0);
    let tenant = ctx.owner.tenant;
    let j = app.create_journey(tenant, "欢迎", &graph(), None).await.unwrap();
    let people = customers(&ctx, &app, 12).await;
    for c in &people {
        app.enrol_in_journey(tenant, j, *c).await.unwrap();
    }
    app.run_due_work().await.unwrap();
    let mut held = Vec::new();
    for c in &people {
        let outbox = app.store.journeys().outbox_of(tenant, *c).await.unwrap();
        if outbox.iter().any(|o| o.1 == "withheld") {
            held.push(*c);
        }
    }
    let treated: Vec<CustomerId> = people.iter().filter(|c| !held.contains(c)).copied().collect();
    assert!(!held.is_empty() && !treated.is_empty(), "12 customers split 50/50 land in both groups");

    let m = app.journey_detail(&ctx.owner, j, None).await.unwrap().metrics;
    let by = |id: &str| m.nodes.iter().find(|n| n.node == id).unwrap().clone();
    assert_eq!((m.entries, m.live), (12, 12));
    assert_eq!((by("t").entered, by("h").entered, by("s1").entered, by("w").entered), (12, 12, 12, 12));
    assert_eq!((by("s1").sent, by("s1").withheld), (treated.len() as i64, held.len() as i64));
    assert_eq!(by("w").waiting, 12);

    // One treated customer replies; two treated and one held-out customer pay within the window, one more
    // treated customer pays too late (8 days after entering).
    app.store.journeys().wake(tenant, treated[0], "reply", t0 + Duration::minutes(5)).await.unwrap();
    clock.advance(Duration::minutes(5));
    app.run_due_work().await.unwrap();
    pay(&ctx, &app, treated[0], "A-1", t0 + Duration::hours(2)).await;
    if treated.len() > 1 {
        pay(&ctx, &app, treated[1], "A-2", t0 + Duration::days(3)).await;
    }
    pay(&ctx, &app, held[0], "B-1", t0 + Duration::days(1)).await;
    if let Some(late) = treated.get(2) {
        pay(&ctx, &app, *late, "C-1", t0 + Duration::days(8)).await;
    }
    clock.advance(Duration::minutes(60));
    app.run_due_work().await.unwrap();

    let m = app.journey_detail(&ctx.owner, j, None).await.unwrap().metrics;
    let by = |id: &str| m.nodes.iter().find(|n| n.node == id).unwrap().clone();
    assert_eq!((m.live, m.completed), (0, 12));
    // The welcome used the day's allowance: the thank-you is skipped by the cap.
    assert_eq!((by("s2").entered, by("s2").skipped, by("s2").completed), (1, 1, 1));
    assert_eq!((by("x").entered, by("x").completed), (11, 11));
    assert_eq!(by("w").entered, 12, "solved along the edges: 1 replied, 11 timed out");
    let paid_treated = treated.len().min(2) as i64;
    assert_eq!(by("s1").conversions, Some(paid_treated + 1));
    assert_eq!((m.treatment.entries, m.treatment.converted), (treated.len() as i64, paid_treated));
    assert_eq!((m.holdout.entries, m.holdout.converted), (held.len() as i64, 1));
    let rate = |n: i64, d: usize| n * 10_000 / d as i64;
    assert_eq!(m.uplift_bp, Some(rate(paid_treated, treated.len()) - rate(1, held.len())));
    // Counting version 1 alone gives the same: it is the only one.
    let v2 = app.journey_detail(&ctx.owner, j, Some(1)).await.unwrap();
    assert_eq!((v2.version, v2.metrics.entries), (Some(1), 12));
}

async fn test_mode_runs_a_customer_with_their_own_branch_answers_and_chosen_events(ctx: Ctx) {
    let g: JourneyGraph = serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "d1"}},
        {"id": "d1", "type": "wait", "wait": {"until": "time", "at": "10:00"}, "next": {"next": "b"}},
        {"id": "b", "type": "branch", "condition": {"type": "field", "field": "order_count", "op": "ge", "value": 1},
         "next": {"yes": "vip", "no": "coupon"}},
        {"id": "vip", "type": "send", "channel": "sandbox", "template": "{{ name }}，老客专享"},
        {"id": "coupon", "type": "send", "channel": "sandbox", "template": "{{ name }}，新人券还没用哦"}
    ], "exit_on": [{"on": "event", "name": "order_paid"}]}))
    .unwrap();
    let j = ctx.app.create_journey(ctx.owner.tenant, "测试模式", &g, None).await.unwrap();
    let c = customers(&ctx, &ctx.app, 1).await[0];
    let start = at("2026-12-07T04:00:00Z");
    let input = SimulateInput { customer_id: Some(c), start: Some(start), ..Default::default() };
    let sim = ctx.app.simulate_journey(&ctx.owner, j, input.clone()).await.unwrap();
    assert_eq!((sim.version, sim.offset.as_str(), sim.customer_name.as_str()), (1, "+08:00", "客户0"));
    assert_eq!(sim.branches.get("b"), Some(&false), "no orders yet");
    let last = sim.steps.last().unwrap();
    assert_eq!(
        (last.step.local.as_str(), last.messages.as_slice()),
        ("2026-12-08 10:00", &["客户0，新人券还没用哦".to_string()][..])
    );
    assert!(ctx.app.store.journeys().sandbox_of(ctx.owner.tenant, c).await.unwrap().is_empty(), "nothing sent");

    // The operator's answer overrides the data; an exit event before the morning ends the run.
    let mut chosen = input.clone();
    chosen.branches.insert("b".into(), true);
    let sim = ctx.app.simulate_journey(&ctx.owner, j, chosen).await.unwrap();
    assert_eq!(sim.steps.last().unwrap().messages, ["客户0，老客专享"]);
    let mut exits = input;
    exits.events = vec![SimEvent { at: start + Duration::hours(3), name: "order_paid".into(), key: None }];
    let sim = ctx.app.simulate_journey(&ctx.owner, j, exits).await.unwrap();
    assert_eq!(sim.steps.last().unwrap().step.exit_reason.as_deref(), Some("event:order_paid"));

    // A staff member who does not follow the customer cannot run them through; a made-up customer is fine.
    let staff = ctx.member("staff1", Role::Staff, DataScope::SelfOnly).await;
    let theirs = SimulateInput { customer_id: Some(c), ..Default::default() };
    assert!(matches!(ctx.app.simulate_journey(&staff, j, theirs).await, Err(siyu_app::AppError::NotFound)));
    let anyone = ctx.app.simulate_journey(&staff, j, SimulateInput::default()).await.unwrap();
    assert_eq!(anyone.customer_name, "测试客户");
}

async fn every_standard_template_publishes_for_a_fresh_tenant(ctx: Ctx) {
    let templates = siyu_app::journeys::templates::journey_templates().unwrap();
    assert_eq!(templates.len(), 5);
    let mut problems = Vec::new();
    for t in &templates {
        match ctx.app.create_journey_from_template(&ctx.owner, &t.key, None).await {
            Ok(j) => assert_eq!((j.name.as_str(), j.live_version), (t.name.as_str(), Some(1))),
            Err(e) => problems.push(format!("{}: {e}", t.key)),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    let again = ctx.app.create_journey_from_template(&ctx.owner, "live_stream", Some("双11直播".into())).await;
    assert_eq!(again.unwrap().name, "双11直播");
    assert!(matches!(
        ctx.app.create_journey_from_template(&ctx.owner, "nope", None).await,
        Err(siyu_app::AppError::NotFound)
    ));
}
