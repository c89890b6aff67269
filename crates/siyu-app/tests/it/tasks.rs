//! Staff tasks from a journey's task node: created once for the customer's owning staff member (the earliest
//! follow), however often the delivery is retried; listed by data scope; completed by someone in scope, with
//! creation and completion on the customer's timeline.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use siyu_app::App;
use siyu_app::clock::Clock;
use siyu_app::customers::NewCustomerInput;
use siyu_app::tasks::TaskFilter;
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::CustomerId;
use siyu_domain::journey::JourneyGraph;
use siyu_domain::page::PageRequest;
use siyu_domain::task::TaskStatus;
use siyu_store::tasks::StepTask;

use crate::Ctx;

crate::on_both_backends!(
    a_task_node_creates_one_task_for_the_customers_owner_and_its_completion_goes_on_the_timeline,
    tasks_are_listed_and_completed_within_the_actors_data_scope,
    a_journey_waiting_for_its_task_moves_on_when_the_staff_member_completes_it,
);

fn call_back() -> JourneyGraph {
    serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "call"}},
        {"id": "call", "type": "task", "title": "打电话回访", "due_in_hours": 24, "kind": "call"}
    ]}))
    .unwrap()
}

/// The customer's timeline kinds, oldest first.
async fn kinds(ctx: &Ctx, c: CustomerId) -> Vec<String> {
    let page = ctx.app.timeline(&ctx.owner, c, PageRequest::first(200)).await.unwrap();
    page.items.into_iter().rev().map(|e| e.kind).filter(|k| k.starts_with("task_")).collect()
}

async fn a_task_node_creates_one_task_for_the_customers_owner_and_its_completion_goes_on_the_timeline(ctx: Ctx) {
    let t0 = DateTime::parse_from_rfc3339("2026-12-07T04:00:00Z").unwrap().with_timezone(&Utc);
    let (app, clock) = ctx.clocked(t0);
    let tenant = ctx.owner.tenant;
    let (first, second) = (
        ctx.member("sales1", Role::Staff, DataScope::SelfOnly).await,
        ctx.member("sales2", Role::Staff, DataScope::SelfOnly).await,
    );
    let c = app.create_customer(&ctx.owner, NewCustomerInput { name: "李雷".into(), ..Default::default() }).await;
    let c = c.unwrap().id;
    app.add_follow(&ctx.owner, c, first.user, None, None).await.unwrap();
    clock.advance(Duration::minutes(5));
    app.add_follow(&ctx.owner, c, second.user, None, None).await.unwrap();

    let j = app.create_journey(tenant, "回访", &call_back(), None).await.unwrap();
    app.enrol_in_journey(tenant, j, c).await.unwrap();
    app.run_due_work().await.unwrap();
    app.run_due_work().await.unwrap();
    let all = app.list_tasks(&ctx.owner, &TaskFilter::default(), PageRequest::first(50)).await.unwrap().items;
    assert_eq!(all.len(), 1);
    let task = &all[0];
    assert_eq!(task.assignee_id, Some(first.user), "the earliest follow owns the customer");
    assert_eq!(
        (task.title.as_str(), task.status, task.customer_name.as_str()),
        ("打电话回访", TaskStatus::Open, "李雷")
    );
    assert_eq!(task.due_at, clock.now() + Duration::hours(24));
    assert_eq!(task.kind, siyu_domain::task::TaskKind::Call, "the node's kind");
    assert_eq!((task.journey_id, task.node.as_deref()), (Some(j), Some("call")));
    let outbox = app.store.journeys().outbox_of(tenant, c).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].1, "sent");

    // A delivery retried after a crash (the same step's dedupe key) finds the task and creates nothing.
    let items = app.store.journeys().outbox_of(tenant, c).await.unwrap();
    let step = StepTask {
        outbox_id: uuid::Uuid::now_v7(),
        dedupe_key: &items[0].0,
        journey: j,
        node: "call",
        customer: c,
        title: "打电话回访",
        kind: siyu_domain::task::TaskKind::Call,
        due_at: task.due_at,
    };
    let (again, created) = app.store.tasks().create_for_step(tenant, &step, clock.now()).await.unwrap();
    assert_eq!((again, created), (task.id, false));
    assert_eq!(
        app.list_tasks(&ctx.owner, &TaskFilter::default(), PageRequest::first(50)).await.unwrap().items.len(),
        1
    );
    assert_eq!(kinds(&ctx, c).await, ["task_created"]);

    // The owner completes it: on the timeline once, with the task and the step it came from.
    clock.advance(Duration::hours(2));
    let done = app.complete_task(&first, task.id).await.unwrap();
    assert_eq!((done.status, done.done_by, done.done_at), (TaskStatus::Done, Some(first.user), Some(clock.now())));
    assert_eq!(
        app.complete_task(&first, task.id).await.unwrap().status,
        TaskStatus::Done,
        "completing twice is a no-op"
    );
    assert_eq!(kinds(&ctx, c).await, ["task_created", "task_completed"]);
    let page = ctx.app.timeline(&ctx.owner, c, PageRequest::first(200)).await.unwrap();
    let completed = page.items.iter().find(|e| e.kind == "task_completed").unwrap();
    assert_eq!(completed.payload["task_id"].as_str(), Some(task.id.to_string().as_str()));
    assert_eq!(completed.payload["journey_id"].as_str(), Some(j.to_string().as_str()));
    assert_eq!(completed.payload["node"], "call");
    assert_eq!(completed.actor_id, Some(first.user));
    assert_eq!(app.customer_tasks(&ctx.owner, c).await.unwrap()[0].status, TaskStatus::Done);
}

async fn tasks_are_listed_and_completed_within_the_actors_data_scope(ctx: Ctx) {
    let tenant = ctx.owner.tenant;
    let mine = ctx.member("mine", Role::Staff, DataScope::SelfOnly).await;
    let other = ctx.member("other", Role::Staff, DataScope::SelfOnly).await;
    let auditor = ctx.member("auditor", Role::Auditor, DataScope::All).await;
    let j = ctx.app.create_journey(tenant, "回访", &call_back(), None).await.unwrap();
    let mut customers = Vec::new();
    for (name, staff) in [("甲", Some(&mine)), ("乙", Some(&other)), ("丙", None)] {
        let c = ctx.app.create_customer(&ctx.owner, NewCustomerInput { name: name.into(), ..Default::default() });
        let c = c.await.unwrap().id;
        if let Some(s) = staff {
            ctx.app.add_follow(&ctx.owner, c, s.user, None, None).await.unwrap();
        }
        ctx.app.enrol_in_journey(tenant, j, c).await.unwrap();
        customers.push(c);
    }
    ctx.app.run_due_work().await.unwrap();
    let list = |a: &siyu_app::Actor, f: TaskFilter| {
        let (app, a) = (ctx.app.clone(), a.clone());
        async move {
            let page = app.list_tasks(&a, &f, PageRequest::first(50)).await.unwrap();
            page.items.into_iter().map(|t| t.customer_name).collect::<Vec<_>>()
        }
    };
    let mut all = list(&ctx.owner, TaskFilter::default()).await;
    all.sort();
    assert_eq!(all, ["丙", "乙", "甲"], "an owner sees every task, unassigned ones too");
    assert_eq!(list(&mine, TaskFilter::default()).await, ["甲"]);
    assert_eq!(list(&other, TaskFilter::default()).await, ["乙"]);
    assert!(list(&ctx.owner, TaskFilter { mine: true, ..Default::default() }).await.is_empty(), "none is the owner's");
    assert_eq!(list(&mine, TaskFilter { mine: true, status: Some(TaskStatus::Open) }).await, ["甲"]);

    let theirs = ctx.app.customer_tasks(&ctx.owner, customers[1]).await.unwrap()[0].id;
    assert!(matches!(ctx.app.complete_task(&mine, theirs).await, Err(siyu_app::AppError::NotFound)));
    assert!(matches!(ctx.app.complete_task(&auditor, theirs).await, Err(siyu_app::AppError::Forbidden)));
    assert!(matches!(ctx.app.customer_tasks(&mine, customers[1]).await, Err(siyu_app::AppError::NotFound)));
    ctx.app.complete_task(&other, theirs).await.unwrap();
    assert!(list(&other, TaskFilter { mine: true, status: Some(TaskStatus::Open) }).await.is_empty());
    assert_eq!(list(&other, TaskFilter { status: Some(TaskStatus::Done), ..Default::default() }).await, ["乙"]);
}

async fn a_journey_waiting_for_its_task_moves_on_when_the_staff_member_completes_it(ctx: Ctx) {
    let t0 = DateTime::parse_from_rfc3339("2026-12-07T04:00:00Z").unwrap().with_timezone(&Utc);
    let (app, clock) = ctx.clocked(t0);
    let tenant = ctx.owner.tenant;
    let g: JourneyGraph = serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "call"}},
        {"id": "call", "type": "task", "title": "打电话回访", "due_in_hours": 24, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "event", "name": "task_completed", "timeout_minutes": 2880},
         "next": {"event": "thanks", "timeout": "nudge"}},
        {"id": "thanks", "type": "send", "channel": "sandbox", "template": "感谢您的时间"},
        {"id": "nudge", "type": "send", "channel": "sandbox", "template": "还在考虑吗？"}
    ]}))
    .unwrap();
    let j = app.create_journey(tenant, "回访后致谢", &g, None).await.unwrap();
    let c = app.create_customer(&ctx.owner, NewCustomerInput { name: "韩梅梅".into(), ..Default::default() }).await;
    let c = c.unwrap().id;
    app.enrol_in_journey(tenant, j, c).await.unwrap();
    app.run_due_work().await.unwrap();
    let task = app.customer_tasks(&ctx.owner, c).await.unwrap()[0].id;
    clock.advance(Duration::hours(3));
    app.run_due_work().await.unwrap();
    let sandbox = |app: App| async move { app.store.journeys().sandbox_of(tenant, c).await.unwrap() };
    assert!(sandbox(app.clone()).await.is_empty(), "waiting for the call");
    app.complete_task(&ctx.owner, task).await.unwrap();
    app.run_due_work().await.unwrap();
    let sent: Vec<String> = sandbox(app.clone()).await.into_iter().map(|m| m.1).collect();
    assert_eq!(sent, ["感谢您的时间"], "the completion answered the wait, not the timeout");
}
