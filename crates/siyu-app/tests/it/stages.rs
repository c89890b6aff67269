//! Lifecycle stages and the signals journeys react to (reference/journeys.md §2–4), on both databases:
//! stage rules on signals and on time, stage history, stage-enter and segment-enter triggers, exits on an
//! event, waits answered by an event, and the stage as a segment field.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use siyu_app::customers::NewCustomerInput;
use siyu_app::segments::SegmentInput;
use siyu_app::tags::NewTagGroup;
use siyu_app::{Actor, App};
use siyu_domain::id::{CustomerId, JourneyId, SegmentId, TagId};
use siyu_domain::journey::JourneyGraph;
use siyu_domain::order::MallOrderInput;
use siyu_domain::segment::SegmentKind;
use siyu_domain::stage::EntryRule;
use siyu_domain::tag::TagKind;
use siyu_domain::timeline::kinds;

use crate::Ctx;

crate::on_both_backends!(
    a_new_customer_enters_the_first_stage_and_the_stage_journey_greets_them_once,
    paid_orders_move_a_customer_to_purchased_then_repeat_with_history_and_end_runs_that_exit_on_payment,
    silence_moves_quiet_customers_to_silent_and_a_reply_brings_them_back_to_interested,
    a_wait_for_an_event_is_answered_when_it_happens_and_not_by_an_older_one,
    a_segment_enter_trigger_enrols_current_members_at_publish_and_later_entrants_as_they_enter,
    the_stage_is_a_segment_field_and_stages_live_journeys_use_cannot_be_removed,
    date_triggers_enrol_birthdays_and_replenishment_once_a_day_at_the_local_time,
    a_signal_of_a_customer_gone_since_is_dropped_and_never_holds_up_the_queue,
    two_journeys_stepping_one_customer_in_one_batch_share_the_days_cap,
);

/// Noon in Shanghai, 7 December 2026.
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T04:00:00Z").unwrap().with_timezone(&Utc)
}

async fn customer(app: &App, actor: &Actor, name: &str) -> CustomerId {
    app.create_customer(actor, NewCustomerInput { name: name.into(), ..Default::default() }).await.unwrap().id
}

async fn stage_of(app: &App, actor: &Actor, c: CustomerId) -> Option<String> {
    app.customer_stage(actor, c).await.unwrap().stage
}

async fn journey(app: &App, actor: &Actor, name: &str, graph: Value) -> JourneyId {
    let g: JourneyGraph = serde_json::from_value(graph).unwrap();
    app.create_journey(actor.tenant, name, &g, Some(actor.user)).await.unwrap()
}

async fn bodies(app: &App, actor: &Actor, c: CustomerId) -> Vec<String> {
    app.store.journeys().sandbox_of(actor.tenant, c).await.unwrap().into_iter().map(|m| m.1).collect()
}

async fn tags(app: &App, actor: &Actor, names: &[&str]) -> Vec<TagId> {
    let g = NewTagGroup {
        name: "互动".into(),
        exclusive: false,
        kind: TagKind::Enterprise,
        sort: 0,
        tags: names.iter().map(|s| s.to_string()).collect(),
    };
    app.create_tag_group(actor, g).await.unwrap().tags.into_iter().map(|t| t.tag.id).collect()
}

async fn segment(app: &App, actor: &Actor, name: &str, text: &str) -> SegmentId {
    let input = SegmentInput {
        name: name.into(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        definition: None,
        text: Some(text.into()),
        rule_tag: None,
    };
    app.create_segment(actor, input).await.unwrap().id
}

async fn pay(app: &App, actor: &Actor, c: CustomerId, order: &str, at: &str) {
    let body = json!({"platform_order_id": order, "status": "paid", "ordered_at": at, "paid_fen": 9_900,
        "lines": [{"sku_id": "TEA-1", "title": "白茶", "quantity": 1, "unit_price_fen": 9_900}],
        "buyer": {"customer_id": c}});
    let input: MallOrderInput = serde_json::from_value(body).unwrap();
    app.post_mall_order(actor, input).await.unwrap();
}

async fn a_new_customer_enters_the_first_stage_and_the_stage_journey_greets_them_once(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    journey(&app, owner, "新客7天培育", json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "stage_enter", "stage": "new"}, "next": {"next": "hi"}},
        {"id": "hi", "type": "send", "channel": "sandbox", "template": "{{ name }}，欢迎加入！", "next": {"next": "d1"}},
        {"id": "d1", "type": "wait", "wait": {"until": "stage_day", "day": 1, "at": "10:00"}, "next": {"next": "tip"}},
        {"id": "tip", "type": "send", "channel": "sandbox", "template": "第1天：新人礼包已到账"}
    ]}))
    .await;
    let c = customer(&app, owner, "小周").await;
    app.run_due_work().await.unwrap();
    assert_eq!(stage_of(&app, owner, c).await.as_deref(), Some("new"));
    assert_eq!(bodies(&app, owner, c).await, vec!["小周，欢迎加入！".to_string()]);

    // Day 1 at 10:00 Shanghai is 02:00 UTC on 8 December: the customer's own timeline, not a broadcast.
    clock.advance(Duration::hours(21));
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, c).await.len(), 1, "not before 10:00 on day 1");
    clock.advance(Duration::hours(1));
    app.run_due_work().await.unwrap();
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, c).await, vec!["小周，欢迎加入！".to_string(), "第1天：新人礼包已到账".to_string()]);

    let history = app.customer_stage(owner, c).await.unwrap().history;
    assert_eq!((history[0].to.as_str(), history[0].reason.as_str()), ("new", "rule:created"));
    let timeline = app
        .store
        .timeline()
        .of_customer(owner.tenant, c, siyu_domain::page::PageRequest { after: None, limit: 50 })
        .await
        .unwrap();
    assert!(timeline.iter().any(|e| e.kind == kinds::STAGE_CHANGED));
}

async fn paid_orders_move_a_customer_to_purchased_then_repeat_with_history_and_end_runs_that_exit_on_payment(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let c = customer(&app, owner, "老陈").await;
    app.run_due_work().await.unwrap();
    let chase = journey(
        &app,
        owner,
        "未成交跟进",
        json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "duration", "minutes": 1440}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "还在考虑吗？"}
    ], "exit_on": [{"on": "event", "name": "order_paid"}]}),
    )
    .await;
    assert_eq!(app.enrol_in_journey(owner.tenant, chase, c).await.unwrap(), Some(1));
    app.run_due_work().await.unwrap();

    pay(&app, owner, c, "P1", "2026-12-07T12:30:00+08:00").await;
    app.run_due_work().await.unwrap();
    assert_eq!(stage_of(&app, owner, c).await.as_deref(), Some("purchased"));
    clock.advance(Duration::days(2));
    app.run_due_work().await.unwrap();
    assert!(bodies(&app, owner, c).await.is_empty(), "the payment ended the follow-up before its message");

    pay(&app, owner, c, "P2", "2026-12-09T12:30:00+08:00").await;
    app.run_due_work().await.unwrap();
    assert_eq!(stage_of(&app, owner, c).await.as_deref(), Some("repeat"));
    let moves: Vec<String> =
        app.customer_stage(owner, c).await.unwrap().history.into_iter().rev().map(|h| h.to).collect();
    assert_eq!(moves, vec!["new", "purchased", "repeat"]);

    // An order from long ago moves the stage of a customer who has none but starts nothing.
    let old = customer(&app, owner, "旧客").await;
    app.set_customer_stage(owner, old, "interested").await.unwrap();
    pay(&app, owner, old, "P-OLD", "2025-01-01T12:00:00+08:00").await;
    app.run_due_work().await.unwrap();
    assert_eq!(stage_of(&app, owner, old).await.as_deref(), Some("purchased"));
}

async fn silence_moves_quiet_customers_to_silent_and_a_reply_brings_them_back_to_interested(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    journey(
        &app,
        owner,
        "沉默激活",
        json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "stage_enter", "stage": "silent"}, "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "好久不见，送你一张回归券"}
        ]}),
    )
    .await;
    let c = customer(&app, owner, "阿静").await;
    app.run_due_work().await.unwrap();
    clock.advance(Duration::days(61));
    app.run_due_work().await.unwrap();
    app.run_due_work().await.unwrap();
    assert_eq!(stage_of(&app, owner, c).await.as_deref(), Some("silent"));
    assert_eq!(bodies(&app, owner, c).await, vec!["好久不见，送你一张回归券".to_string()]);
    let history = app.customer_stage(owner, c).await.unwrap().history;
    assert_eq!(history[0].reason, "silence");

    // Staff tag the customer 已回复 when they answer; the tenant's rule for 有意向 listens for that tag.
    let replied = tags(&app, owner, &["已回复"]).await[0];
    let mut stages = app.stages(owner.tenant).await.unwrap().0;
    stages[1].rules.push(EntryRule::TagAdded { tag: replied, from: Vec::new() });
    app.save_stages(owner, stages).await.unwrap();
    app.tag_customer(owner, c, &[replied], &[]).await.unwrap();
    app.run_due_work().await.unwrap();
    assert_eq!(stage_of(&app, owner, c).await.as_deref(), Some("interested"), "out of a dormant stage any rule moves");
}

async fn a_wait_for_an_event_is_answered_when_it_happens_and_not_by_an_older_one(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let j = journey(
        &app,
        owner,
        "等回访",
        json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
            {"id": "w", "type": "wait", "wait": {"until": "event", "name": "order_paid", "timeout_minutes": 4320},
             "next": {"event": "thanks", "timeout": "nudge"}},
            {"id": "thanks", "type": "send", "channel": "sandbox", "template": "感谢下单"},
            {"id": "nudge", "type": "send", "channel": "sandbox", "template": "优惠即将到期"}
        ]}),
    )
    .await;
    let (a, b) = (customer(&app, owner, "甲").await, customer(&app, owner, "乙").await);
    for c in [a, b] {
        app.enrol_in_journey(owner.tenant, j, c).await.unwrap();
    }
    app.run_due_work().await.unwrap();
    clock.advance(Duration::hours(2));
    pay(&app, owner, a, "W1", "2026-12-07T14:00:00+08:00").await;
    // An order placed before the run reached its wait does not answer it.
    pay(&app, owner, b, "W2", "2026-12-06T14:00:00+08:00").await;
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, a).await, vec!["感谢下单".to_string()]);
    assert!(bodies(&app, owner, b).await.is_empty());
    clock.advance(Duration::days(3));
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, b).await, vec!["优惠即将到期".to_string()]);
    assert_eq!(bodies(&app, owner, a).await.len(), 1);
}

async fn a_segment_enter_trigger_enrols_current_members_at_publish_and_later_entrants_as_they_enter(ctx: Ctx) {
    let (app, _clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let vip = tags(&app, owner, &["VIP"]).await[0];
    let early = customer(&app, owner, "早").await;
    app.tag_customer(owner, early, &[vip], &[]).await.unwrap();
    let seg = segment(&app, owner, "VIP客户", "tag any [\"VIP\"]").await;
    app.run_due_work().await.unwrap();
    journey(
        &app,
        owner,
        "VIP关怀",
        json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "segment_enter", "segment": seg, "current": true},
             "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "尊贵的VIP，您好"}
        ]}),
    )
    .await;
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, early).await.len(), 1, "a current member enrolled at publish");

    let late = customer(&app, owner, "晚").await;
    app.run_due_work().await.unwrap();
    assert!(bodies(&app, owner, late).await.is_empty());
    app.tag_customer(owner, late, &[vip], &[]).await.unwrap();
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, late).await.len(), 1, "entering the segment enrolled them");
    assert_eq!(bodies(&app, owner, early).await.len(), 1, "and nobody twice");
}

async fn the_stage_is_a_segment_field_and_stages_live_journeys_use_cannot_be_removed(ctx: Ctx) {
    let (app, _clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let (a, b) = (customer(&app, owner, "甲").await, customer(&app, owner, "乙").await);
    app.run_due_work().await.unwrap();
    app.set_customer_stage(owner, b, "met").await.unwrap();
    app.run_due_work().await.unwrap();
    let seg = segment(&app, owner, "已见面", "stage = \"met\"").await;
    app.run_due_work().await.unwrap();
    let members = app.store.segments().member_ids(owner.tenant, seg).await.unwrap();
    assert_eq!(members, vec![b]);
    let _ = a;

    journey(
        &app,
        owner,
        "见面后",
        json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "stage_enter", "stage": "met"}}
        ]}),
    )
    .await;
    let mut stages = app.stages(owner.tenant).await.unwrap().0;
    stages.retain(|s| s.key != "met" && s.key != "not_purchased");
    let err = app.save_stages(owner, stages).await.unwrap_err();
    assert!(format!("{err:?}").contains("stage_in_use"), "{err:?}");
    assert_eq!(
        app.set_customer_stage(owner, a, "nowhere").await.unwrap_err().code(),
        siyu_app::ErrorCode::InvalidInput
    );
}

async fn date_triggers_enrol_birthdays_and_replenishment_once_a_day_at_the_local_time(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let field = siyu_app::fields::NewField {
        key: "birthday".into(),
        label: "生日".into(),
        kind: siyu_domain::field::FieldKind::Date,
        options: Vec::new(),
        sort: 0,
    };
    app.create_field(owner, field).await.unwrap();
    let birthday = |name: &str, date: &str| NewCustomerInput {
        name: name.into(),
        custom: [("birthday".to_string(), json!(date))].into_iter().collect(),
        ..Default::default()
    };
    let soon = app.create_customer(owner, birthday("小寿星", "1990-12-10")).await.unwrap().id;
    let later = app.create_customer(owner, birthday("晚生", "1992-12-25")).await.unwrap().id;
    let bad: JourneyGraph = serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "date_property", "field": "nickname", "offset_days": 0, "at": "10:00"}}
    ]}))
    .unwrap();
    let e = app.create_journey(owner.tenant, "坏", &bad, None).await.unwrap_err();
    assert!(e.to_string().contains("unknown_date_field") || format!("{e:?}").contains("unknown_date_field"), "{e:?}");
    journey(
        &app,
        owner,
        "生日关怀",
        json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "date_property", "field": "birthday", "offset_days": -3,
            "at": "10:00", "yearly": true}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "{{ name }}，生日快乐，三天后有惊喜"}
    ], "reentry": {"policy": "after_exit"}}),
    )
    .await;
    app.run_due_work().await.unwrap();
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, soon).await, vec!["小寿星，生日快乐，三天后有惊喜".to_string()]);
    assert!(bodies(&app, owner, later).await.is_empty());
    clock.advance(Duration::hours(3));
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, soon).await.len(), 1, "one scan a day, even when re-entry allows another run");

    // Replenishment: 30 days after the last order (8 November), due at 10:00 local on 8 December.
    let buyer = customer(&app, owner, "回购客").await;
    pay(&app, owner, buyer, "R1", "2026-11-08T09:00:00+08:00").await;
    journey(&app, owner, "补货提醒", json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "date_property", "field": "last_order_at", "offset_days": 30,
            "at": "10:00"}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "白茶快喝完了吧？"}
    ]}))
    .await;
    clock.advance(Duration::hours(15));
    app.run_due_work().await.unwrap();
    assert!(bodies(&app, owner, buyer).await.is_empty(), "not before 10:00 local");
    clock.advance(Duration::hours(5));
    app.run_due_work().await.unwrap();
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, buyer).await, vec!["白茶快喝完了吧？".to_string()]);
}

async fn a_signal_of_a_customer_gone_since_is_dropped_and_never_holds_up_the_queue(ctx: Ctx) {
    let (app, _clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let vip = tags(&app, owner, &["VIP"]).await[0];
    journey(
        &app,
        owner,
        "VIP欢迎",
        json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "tag_added", "tag": vip}, "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": "欢迎成为VIP"}
        ]}),
    )
    .await;
    // A tag entry of a customer merged away before the worker got to it (no customer row any more).
    let gone = CustomerId::new();
    let entry = siyu_domain::timeline::TimelineEntry {
        id: siyu_domain::id::TimelineId::new(),
        customer_id: gone,
        occurred_at: t0(),
        source: "console".into(),
        kind: kinds::TAG_ADDED.into(),
        actor_id: None,
        payload: json!({"tag_id": vip, "tag": "VIP"}),
    };
    app.store.timeline().append(owner.tenant, &entry).await.unwrap();
    let c = customer(&app, owner, "真客户").await;
    app.tag_customer(owner, c, &[vip], &[]).await.unwrap();
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, c).await, vec!["欢迎成为VIP".to_string()], "the queue moved past the lost one");
    assert!(app.store.signals().pending(owner.tenant, 10).await.unwrap().is_empty());
}

async fn two_journeys_stepping_one_customer_in_one_batch_share_the_days_cap(ctx: Ctx) {
    let (app, _clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let mut ids = Vec::new();
    for name in ["上新提醒", "会员日"] {
        let graph = json!({"nodes": [
            {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s"}},
            {"id": "s", "type": "send", "channel": "sandbox", "template": name}
        ]});
        ids.push(journey(&app, owner, name, graph).await);
    }
    let c = customer(&app, owner, "阿珍").await;
    for j in &ids {
        app.enrol_in_journey(owner.tenant, *j, c).await.unwrap();
    }
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, owner, c).await.len(), 1, "one marketing message a day, across journeys");
    let outbox = app.store.journeys().outbox_of(owner.tenant, c).await.unwrap();
    assert!(outbox.iter().any(|(_, status)| status == "skipped"), "{outbox:?}");
}
