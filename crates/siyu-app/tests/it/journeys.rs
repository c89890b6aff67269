//! The journey store's exactly-once contract (reference/journeys.md §5) on both databases: one live run
//! per customer, claims under a fenced lease, and a batch write whose ledger and outbox make every effect
//! happen once however often a step is replayed or a worker loses its lease.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::json;
use siyu_app::customers::NewCustomerInput;
use siyu_domain::id::{CustomerId, JourneyId};
use siyu_domain::journey::step::{Action, CustomerView, Status, Wake, step};
use siyu_domain::journey::{JourneyGraph, Reentry};
use siyu_store::journeys::{Claimed, Entry, StepWrite};

use crate::Ctx;

crate::on_both_backends!(
    a_run_is_claimed_once_and_its_effects_are_written_once_under_replays_and_lost_leases,
    re_entry_follows_the_journeys_rule_and_an_event_wakes_only_the_runs_waiting_for_it,
    a_published_journey_moves_each_customer_on_their_own_clock_and_the_sandbox_gets_each_message_once,
    sends_wait_out_quiet_hours_and_respect_opt_outs_and_the_daily_cap,
    a_graph_with_problems_is_refused_with_each_problem_on_its_node,
    a_burst_in_one_brand_is_stepped_a_batch_per_call_so_another_brands_due_run_is_not_held_up,
);

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn bodies(app: &siyu_app::App, tenant: siyu_domain::id::TenantId, c: CustomerId) -> Vec<String> {
    app.store.journeys().sandbox_of(tenant, c).await.unwrap().into_iter().map(|m| m.1).collect()
}

struct Noon;

impl CustomerView for Noon {
    fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }
    fn stage_entered_at(&self) -> Option<DateTime<Utc>> {
        None
    }
    fn branch(&self, _: &str) -> bool {
        true
    }
    fn may_send(&self, _: &str) -> bool {
        true
    }
}

fn graph() -> JourneyGraph {
    serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s1"}},
        {"id": "s1", "type": "send", "channel": "sandbox", "template": "欢迎", "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "event", "name": "reply", "timeout_minutes": 60},
         "next": {"event": "s2", "timeout": "s3"}},
        {"id": "s2", "type": "send", "channel": "sandbox", "template": "谢谢回复"},
        {"id": "s3", "type": "send", "channel": "sandbox", "template": "在吗？"}
    ]}))
    .unwrap()
}

async fn setup(ctx: &Ctx) -> (JourneyId, CustomerId, DateTime<Utc>) {
    let c = ctx
        .app
        .create_customer(&ctx.owner, NewCustomerInput { name: "甲".into(), ..Default::default() })
        .await
        .unwrap();
    let j = JourneyId::new();
    // Noon in Shanghai: no quiet hours in the way.
    let t0 = DateTime::parse_from_rfc3339("2026-12-07T04:00:00Z").unwrap().with_timezone(&Utc);
    let journeys = ctx.app.store.journeys();
    journeys.create(ctx.owner.tenant, j, "欢迎旅程", &graph(), None, t0).await.unwrap();
    assert_eq!(journeys.publish(ctx.owner.tenant, j, &graph(), None, t0).await.unwrap(), 1);
    (j, c.id, t0)
}

fn entry(journey: JourneyId, customer: CustomerId, reentry: Reentry) -> Entry<'static> {
    Entry { journey, version: 1, customer, start: "t", reentry, key: None }
}

fn run(c: &Claimed, now: DateTime<Utc>) -> StepWrite {
    let wake = c.resume_event.as_deref().map_or(Wake::Clock, Wake::Event);
    let (instance, effects) = step(&graph(), c.instance.clone(), &Noon, now, wake);
    StepWrite { claimed: c.clone(), instance, effects }
}

fn sends(outbox: &[siyu_store::journeys::OutboxItem]) -> Vec<&str> {
    outbox.iter().filter(|o| matches!(o.action, Action::Send { .. })).map(|o| o.node.as_str()).collect()
}

async fn a_run_is_claimed_once_and_its_effects_are_written_once_under_replays_and_lost_leases(ctx: Ctx) {
    let (j, c, t0) = setup(&ctx).await;
    let (tenant, journeys) = (ctx.owner.tenant, ctx.app.store.journeys());
    assert_eq!(journeys.enrol(tenant, &entry(j, c, Reentry::Never), t0).await.unwrap(), Some(1));
    assert_eq!(journeys.enrol(tenant, &entry(j, c, Reentry::AfterExit), t0).await.unwrap(), None, "one live run");

    let lease = t0 + Duration::seconds(30);
    let first = journeys.claim_due(tenant, t0, lease, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(journeys.claim_due(tenant, t0, lease, 10).await.unwrap().is_empty(), "a leased run is not claimed twice");
    // The first worker stalls past its lease; a second one takes the run over and writes it.
    let later = t0 + Duration::seconds(31);
    let second = journeys.claim_due(tenant, later, later + Duration::seconds(30), 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert!(second[0].epoch > first[0].epoch);
    let r = journeys.write_steps(tenant, &[run(&second[0], later)], later).await.unwrap();
    assert_eq!((r.written, r.effects, r.fenced), (1, 1, 0));
    // The stalled worker wakes up and writes its (identical) step: fenced out, nothing written.
    let r = journeys.write_steps(tenant, &[run(&first[0], t0)], later).await.unwrap();
    assert_eq!((r.written, r.effects, r.fenced), (0, 0, 1));
    // A crash after commit replays the same write: the ledger already has the send.
    let r = journeys.write_steps(tenant, &[run(&second[0], later)], later).await.unwrap();
    assert_eq!((r.written, r.effects, r.replayed), (1, 0, 1));
    assert_eq!(sends(&journeys.pending_outbox(tenant, later, 100).await.unwrap()), ["s1"]);

    // Waiting for a reply with a 60-minute timeout: not due before, due after.
    assert!(journeys.claim_due(tenant, t0 + Duration::minutes(30), lease, 10).await.unwrap().is_empty());
    let late = t0 + Duration::minutes(61);
    let due = journeys.claim_due(tenant, late, late + Duration::seconds(30), 10).await.unwrap();
    assert_eq!(due[0].instance.status, Status::WaitingEvent);
    let step = run(&due[0], late);
    assert_eq!(step.instance.status, Status::Done);
    journeys.write_steps(tenant, &[step], late).await.unwrap();
    assert_eq!(sends(&journeys.pending_outbox(tenant, late, 100).await.unwrap()), ["s1", "s3"]);
    let keys = journeys.outbox_of(tenant, c).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert!(
        journeys.claim_due(tenant, late + Duration::days(1), lease, 10).await.unwrap().is_empty(),
        "done runs stay done"
    );
}

async fn re_entry_follows_the_journeys_rule_and_an_event_wakes_only_the_runs_waiting_for_it(ctx: Ctx) {
    let (j, c, t0) = setup(&ctx).await;
    let (tenant, journeys) = (ctx.owner.tenant, ctx.app.store.journeys());
    journeys.enrol(tenant, &entry(j, c, Reentry::AfterDays { days: 7 }), t0).await.unwrap();
    let claimed = journeys.claim_due(tenant, t0, t0 + Duration::seconds(30), 10).await.unwrap();
    journeys.write_steps(tenant, &[run(&claimed[0], t0)], t0).await.unwrap();
    // Another customer's reply, or another event of this one, wakes nothing.
    assert_eq!(journeys.wake(tenant, CustomerId::new(), "reply", t0).await.unwrap(), 0);
    assert_eq!(journeys.wake(tenant, c, "page_view", t0).await.unwrap(), 0);
    let replied = t0 + Duration::minutes(5);
    assert_eq!(journeys.wake(tenant, c, "reply", replied).await.unwrap(), 1);
    let woken = journeys.claim_due(tenant, replied, replied + Duration::seconds(30), 10).await.unwrap();
    assert_eq!(woken[0].resume_event.as_deref(), Some("reply"));
    journeys.write_steps(tenant, &[run(&woken[0], replied)], replied).await.unwrap();
    assert_eq!(sends(&journeys.pending_outbox(tenant, replied, 100).await.unwrap()), ["s1", "s2"]);

    // Re-entry after 7 days only, then a fresh entry number and a fresh set of dedupe keys.
    let r = Reentry::AfterDays { days: 7 };
    assert_eq!(journeys.enrol(tenant, &entry(j, c, r), t0 + Duration::days(6)).await.unwrap(), None);
    assert_eq!(journeys.enrol(tenant, &entry(j, c, r), t0 + Duration::days(7)).await.unwrap(), Some(2));
    assert_eq!(journeys.enrol(tenant, &entry(j, CustomerId::new(), Reentry::Never), t0).await.ok().flatten(), None);
    let never = journeys.enrol(tenant, &entry(j, c, Reentry::Never), t0 + Duration::days(30)).await.unwrap();
    assert_eq!(never, None, "a live second entry blocks a third");
}

/// Welcome now, then day 1 at 10:00 local a follow-up unless they ordered; a tag either way.
fn nurture(tag: siyu_domain::id::TagId) -> JourneyGraph {
    serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "hi"}},
        {"id": "hi", "type": "send", "channel": "sandbox", "template": "{{ name }}，欢迎关注！", "next": {"next": "d1"}},
        {"id": "d1", "type": "wait", "wait": {"until": "time", "at": "10:00"}, "next": {"next": "b"}},
        {"id": "b", "type": "branch", "condition": {"type": "field", "field": "order_count", "op": "ge", "value": 1},
         "next": {"yes": "x", "no": "f"}},
        {"id": "f", "type": "send", "channel": "sandbox", "template": "{{ name }}，新人券还没用哦", "next": {"next": "g"}},
        {"id": "g", "type": "tag", "add": [tag]},
        {"id": "x", "type": "exit"}
    ], "reentry": {"policy": "never"}}))
    .unwrap()
}

async fn a_published_journey_moves_each_customer_on_their_own_clock_and_the_sandbox_gets_each_message_once(ctx: Ctx) {
    let group = siyu_app::tags::NewTagGroup {
        name: "旅程".into(),
        exclusive: false,
        kind: siyu_domain::tag::TagKind::Enterprise,
        sort: 0,
        tags: vec!["已跟进".into()],
    };
    let tag = ctx.app.create_tag_group(&ctx.owner, group).await.unwrap().tags[0].tag.id;
    // 12:00 in Shanghai.
    let (app, clock) = ctx.clocked(at("2026-12-07T04:00:00Z"));
    let tenant = ctx.owner.tenant;
    let j = app.create_journey(tenant, "新客 7 天培育", &nurture(tag), None).await.unwrap();
    let a = app
        .create_customer(&ctx.owner, NewCustomerInput { name: "王芳".into(), ..Default::default() })
        .await
        .unwrap()
        .id;
    assert_eq!(app.enrol_in_journey(tenant, j, a).await.unwrap(), Some(1));
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, tenant, a).await, ["王芳，欢迎关注！"]);
    // A second customer enters three hours later: their own clock, same 10:00 the next day.
    clock.advance(Duration::hours(3));
    let b = app
        .create_customer(&ctx.owner, NewCustomerInput { name: "李雷".into(), ..Default::default() })
        .await
        .unwrap()
        .id;
    app.enrol_in_journey(tenant, j, b).await.unwrap();
    app.run_due_work().await.unwrap();
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, tenant, a).await.len(), 1, "re-running the worker sends nothing again");
    assert_eq!(bodies(&app, tenant, b).await, ["李雷，欢迎关注！"]);
    // 10:00 local the next day: both follow up, are tagged, and finish.
    clock.advance(Duration::hours(19));
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, tenant, a).await, ["王芳，欢迎关注！", "王芳，新人券还没用哦"]);
    assert_eq!(bodies(&app, tenant, b).await.len(), 2);
    let held = app.store.tags().held(tenant, &[a, b]).await.unwrap();
    assert_eq!(held.len(), 2);
    assert_eq!(app.enrol_in_journey(tenant, j, a).await.unwrap(), None, "re-entry: never");
}

async fn sends_wait_out_quiet_hours_and_respect_opt_outs_and_the_daily_cap(ctx: Ctx) {
    let g: JourneyGraph = serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s1"}},
        {"id": "s1", "type": "send", "channel": "sandbox", "template": "一", "next": {"next": "s2"}},
        {"id": "s2", "type": "send", "channel": "sandbox", "template": "二"}
    ], "reentry": {"policy": "after_exit"}}))
    .unwrap();
    // 23:30 in Shanghai.
    let (app, clock) = ctx.clocked(at("2026-12-07T15:30:00Z"));
    let tenant = ctx.owner.tenant;
    let j = app.create_journey(tenant, "夜里", &g, None).await.unwrap();
    let a =
        app.create_customer(&ctx.owner, NewCustomerInput { name: "甲".into(), ..Default::default() }).await.unwrap().id;
    app.enrol_in_journey(tenant, j, a).await.unwrap();
    app.run_due_work().await.unwrap();
    assert!(bodies(&app, tenant, a).await.is_empty(), "held until the morning");
    clock.advance(Duration::hours(8) + Duration::minutes(45));
    app.run_due_work().await.unwrap();
    // The first goes at 08:00–08:15 local; the second is over the daily cap and skipped, not sent late.
    assert_eq!(bodies(&app, tenant, a).await, ["一"]);
    let outbox = app.store.journeys().outbox_of(tenant, a).await.unwrap();
    assert_eq!(outbox.iter().map(|o| o.1.as_str()).collect::<Vec<_>>(), ["sent", "skipped"]);

    // A customer who withdrew marketing consent gets nothing.
    let b =
        app.create_customer(&ctx.owner, NewCustomerInput { name: "乙".into(), ..Default::default() }).await.unwrap().id;
    let (marketing, withdrawn) =
        (siyu_domain::privacy::ConsentPurpose::Marketing, siyu_domain::privacy::ConsentStatus::Withdrawn);
    app.set_consent(&ctx.owner, b, marketing, withdrawn, None).await.unwrap();
    app.enrol_in_journey(tenant, j, b).await.unwrap();
    app.run_due_work().await.unwrap();
    assert!(bodies(&app, tenant, b).await.is_empty());
}

async fn a_graph_with_problems_is_refused_with_each_problem_on_its_node(ctx: Ctx) {
    let g: JourneyGraph = serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sms", "template": "{{ name", "next": {"next": "call"}},
        {"id": "call", "type": "task", "title": "回访", "due_in_hours": 24},
        {"id": "lost", "type": "exit"}
    ]}))
    .unwrap();
    let err = ctx.app.create_journey(ctx.owner.tenant, "坏旅程", &g, None).await.unwrap_err();
    let siyu_app::AppError::InvalidDefinition(errors) = err else { panic!("expected invalid_definition") };
    let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.path.as_str(), e.code.as_str())).collect();
    for want in [("/nodes/1", "unknown_channel"), ("/nodes/1", "template_error"), ("/nodes/3", "unreachable")] {
        assert!(found.contains(&want), "{want:?} not in {found:?}");
    }
    assert!(ctx.app.store.journeys().list(ctx.owner.tenant).await.unwrap().is_empty(), "nothing saved");

    // A tag a segment gives automatically cannot be changed by a journey either.
    let group = siyu_app::tags::NewTagGroup {
        name: "智能".into(),
        exclusive: false,
        kind: siyu_domain::tag::TagKind::Enterprise,
        sort: 0,
        tags: vec!["女性".into()],
    };
    let tag = ctx.app.create_tag_group(&ctx.owner, group).await.unwrap().tags[0].tag.id;
    let input = siyu_app::segments::SegmentInput {
        name: "女性".into(),
        description: String::new(),
        kind: siyu_domain::segment::SegmentKind::Dynamic,
        definition: None,
        text: Some(r#"gender = "female""#.into()),
        rule_tag: Some(tag),
    };
    ctx.app.create_segment(&ctx.owner, input).await.unwrap();
    let g: JourneyGraph = serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "g"}},
        {"id": "g", "type": "tag", "add": [tag]}
    ]}))
    .unwrap();
    let err = ctx.app.create_journey(ctx.owner.tenant, "打标签", &g, None).await.unwrap_err();
    let siyu_app::AppError::InvalidDefinition(errors) = err else { panic!("expected invalid_definition") };
    assert_eq!((errors[0].path.as_str(), errors[0].code.as_str()), ("/nodes/1", "rule_tag_is_automatic"));
}

async fn a_burst_in_one_brand_is_stepped_a_batch_per_call_so_another_brands_due_run_is_not_held_up(ctx: Ctx) {
    // 12:00 in Shanghai.
    let (app, _clock) = ctx.clocked(at("2026-12-07T04:00:00Z"));
    let one_send: JourneyGraph = serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "你好"}
    ]}))
    .unwrap();
    let busy = ctx.owner.tenant;
    let burst = app.create_journey(busy, "大促", &one_send, None).await.unwrap();
    for i in 0..150 {
        let input = NewCustomerInput { name: format!("顾客{i}"), ..Default::default() };
        let c = app.create_customer(&ctx.owner, input).await.unwrap().id;
        app.enrol_in_journey(busy, burst, c).await.unwrap();
    }
    let brand = app.create_tenant("别的品牌").await.unwrap();
    let account = app.create_account("other-owner", "店主", "correct horse battery", false).await.unwrap();
    let member = app.add_membership(brand.id, &account, siyu_domain::access::Role::Owner, None, None).await.unwrap();
    let other = siyu_app::Actor::for_member(&app.store, &member, siyu_app::actor::Via::System).await.unwrap();
    let quiet = app.create_journey(brand.id, "欢迎", &one_send, None).await.unwrap();
    let lone =
        app.create_customer(&other, NewCustomerInput { name: "独自".into(), ..Default::default() }).await.unwrap();
    app.enrol_in_journey(brand.id, quiet, lone.id).await.unwrap();

    // One call: at most a batch of the burst (a claim takes up to 100) and the other brand's run.
    let first = app.run_due_journeys().await.unwrap();
    assert!((2..=100 + 1).contains(&first), "{first} steps in the first call");
    let (_, pending) = app.store.journeys().bench_open_work(brand.id, quiet).await.unwrap();
    assert_eq!(pending, 1, "the other brand's send is in its outbox after the first call");
    // The rest of the burst on the next calls, then nothing: every run stepped once.
    let mut total = first;
    loop {
        let n = app.run_due_journeys().await.unwrap();
        assert!(n <= 100, "{n} steps in one call");
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, 150 + 1);
    // The outbox likewise: a batch per brand per call, every message once.
    assert_eq!(app.dispatch_outbox().await.unwrap(), 100 + 1);
    assert_eq!(bodies(&app, brand.id, lone.id).await, ["你好"], "delivered in the first call");
    assert_eq!(app.dispatch_outbox().await.unwrap(), 50);
    assert_eq!(app.dispatch_outbox().await.unwrap(), 0);
    assert_eq!(bodies(&app, brand.id, lone.id).await, ["你好"]);
    assert_eq!(app.store.journeys().bench_open_work(busy, burst).await.unwrap(), (0, 0));
}
