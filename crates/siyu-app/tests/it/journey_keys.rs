//! Keyed event triggers and per-node cap policies (reference/journeys.md §3) on both databases: one run per
//! order, a repeated event of the same order starting none, a wait answered only by its own order's event,
//! and a capped send that defers to the customer's next morning or, by default, is skipped. The workers are
//! stepped explicitly (signals, due runs, the outbox) on an injected clock.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use siyu_app::customers::NewCustomerInput;
use siyu_app::{Actor, App};
use siyu_domain::event::{Endpoint, MessageType};
use siyu_domain::id::{CustomerId, EventId, JourneyId, SourceId};
use siyu_domain::journey::JourneyGraph;
use siyu_domain::source::SourceKind;
use siyu_store::journeys::CustomerRun;

use crate::Ctx;

crate::on_both_backends!(
    a_keyed_trigger_starts_one_run_per_order_and_a_repeated_event_of_the_same_order_starts_none,
    a_keyed_wait_ignores_another_orders_event_and_wakes_on_its_own,
    a_capped_send_that_defers_goes_on_the_customers_next_morning_exactly_once,
    a_capped_send_without_a_policy_is_skipped_as_before_and_never_sent_later,
);

/// 12:00 in Shanghai.
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T04:00:00Z").unwrap().with_timezone(&Utc)
}

/// A checkout starts a run per order; its payment ends it, and a day without one sends a reminder; a
/// cancellation ends the order's run.
fn per_order() -> JourneyGraph {
    serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "event", "name": "checkout", "key": "order_id"},
         "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "event", "name": "order.paid", "timeout_minutes": 1440},
         "next": {"event": "x", "timeout": "nudge"}},
        {"id": "nudge", "type": "send", "channel": "sandbox", "template": "订单还没付款哦"},
        {"id": "x", "type": "exit"}
    ], "reentry": {"policy": "never"}, "exit_on": [{"on": "event", "name": "order.cancelled"}]}))
    .unwrap()
}

/// Runs the journey workers until nothing is left to do now.
async fn step_workers(app: &App) {
    while app.process_signals().await.unwrap()
        + app.run_due_journeys().await.unwrap()
        + app.dispatch_outbox().await.unwrap()
        > 0
    {}
}

async fn customer(app: &App, owner: &Actor, name: &str) -> CustomerId {
    app.create_customer(owner, NewCustomerInput { name: name.into(), ..Default::default() }).await.unwrap().id
}

/// A server source sending the shop's events.
struct Shop {
    source: SourceId,
    key: String,
}

async fn shop(app: &App, owner: &Actor) -> Shop {
    let (source, key) = app.create_source(owner, "商城后端", SourceKind::Server).await.unwrap();
    Shop { source: source.id, key }
}

/// Sends one track event and ties it to `c` (as identity resolution would), which queues its signal.
async fn track(app: &App, owner: &Actor, shop: &Shop, c: CustomerId, message_id: &str, name: &str, props: Value) {
    let body = json!({"type": "track", "event": name, "messageId": message_id, "anonymousId": format!("dev-{c}"),
        "properties": props});
    let receipt =
        app.ingest(Endpoint::Single(MessageType::Track), &serde_json::to_vec(&body).unwrap(), Some(&shop.key)).await;
    assert_eq!(receipt.unwrap().accepted, 1);
    let fresh: Vec<EventId> = app
        .store
        .events()
        .latest(owner.tenant, Some(shop.source), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.customer_id.is_none())
        .map(|e| e.id)
        .collect();
    app.store.events().assign_customer(owner.tenant, &fresh, c).await.unwrap();
}

/// The customer's runs as (key value, node, status), by key value (signals of one instant come in any
/// order, so entry numbers do too).
async fn runs(app: &App, owner: &Actor, j: JourneyId, c: CustomerId) -> Vec<(String, String, String)> {
    let runs: Vec<CustomerRun> = app.store.journeys().runs_of(owner.tenant, j, c).await.unwrap();
    let mut runs: Vec<_> = runs.into_iter().map(|r| (r.entry_key.unwrap_or_default(), r.node, r.status)).collect();
    runs.sort();
    runs
}

fn run(key: &str, node: &str, status: &str) -> (String, String, String) {
    (key.to_string(), node.to_string(), status.to_string())
}

async fn bodies(app: &App, owner: &Actor, c: CustomerId) -> Vec<String> {
    app.store.journeys().sandbox_of(owner.tenant, c).await.unwrap().into_iter().map(|m| m.1).collect()
}

async fn a_keyed_trigger_starts_one_run_per_order_and_a_repeated_event_of_the_same_order_starts_none(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let j = app.create_journey(owner.tenant, "下单未付款", &per_order(), None).await.unwrap();
    let shop = shop(&app, owner).await;
    let (a, b) = (customer(&app, owner, "王芳").await, customer(&app, owner, "李雷").await);
    step_workers(&app).await;

    track(&app, owner, &shop, a, "m1", "checkout", json!({"order_id": "A-1"})).await;
    track(&app, owner, &shop, a, "m2", "checkout", json!({"order_id": "A-2"})).await;
    step_workers(&app).await;
    assert_eq!(
        runs(&app, owner, j, a).await,
        [run("A-1", "w", "waiting_event"), run("A-2", "w", "waiting_event")],
        "two orders, two runs"
    );

    // The shop retries the first checkout (a new message id, the same order), in the same batch as the
    // other customer's checkout of an order with the same number and one without an order id.
    clock.advance(Duration::minutes(5));
    track(&app, owner, &shop, a, "m3", "checkout", json!({"order_id": "A-1"})).await;
    track(&app, owner, &shop, b, "m4", "checkout", json!({"order_id": "A-1"})).await;
    track(&app, owner, &shop, b, "m5", "checkout", json!({"coupon": "NEW10"})).await;
    step_workers(&app).await;
    assert_eq!(runs(&app, owner, j, a).await.len(), 2, "the repeated checkout started nothing");
    assert_eq!(runs(&app, owner, j, b).await, [run("A-1", "w", "waiting_event")], "keys are per customer");

    // Re-entry applies per order: once A-1's run is over, `never` keeps its checkout from starting another.
    track(&app, owner, &shop, a, "m6", "order.paid", json!({"order_id": "A-1"})).await;
    step_workers(&app).await;
    track(&app, owner, &shop, a, "m7", "checkout", json!({"order_id": "A-1"})).await;
    step_workers(&app).await;
    assert_eq!(
        runs(&app, owner, j, a).await,
        [run("A-1", "x", "done"), run("A-2", "w", "waiting_event")],
        "no second run of a finished order"
    );
}

async fn a_keyed_wait_ignores_another_orders_event_and_wakes_on_its_own(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let j = app.create_journey(owner.tenant, "下单未付款", &per_order(), None).await.unwrap();
    let shop = shop(&app, owner).await;
    let a = customer(&app, owner, "王芳").await;
    step_workers(&app).await;
    track(&app, owner, &shop, a, "m1", "checkout", json!({"order_id": "A-1"})).await;
    track(&app, owner, &shop, a, "m2", "checkout", json!({"order_id": "B-2"})).await;
    track(&app, owner, &shop, a, "m2c", "checkout", json!({"order_id": "C-3"})).await;
    step_workers(&app).await;

    // B-2 is paid and C-3 cancelled: only their runs move on; A-1's keeps waiting for its own payment.
    clock.advance(Duration::minutes(10));
    track(&app, owner, &shop, a, "m3", "order.paid", json!({"order_id": "B-2"})).await;
    track(&app, owner, &shop, a, "m3c", "order.cancelled", json!({"order_id": "C-3"})).await;
    step_workers(&app).await;
    assert_eq!(
        runs(&app, owner, j, a).await,
        [run("A-1", "w", "waiting_event"), run("B-2", "x", "done"), run("C-3", "w", "exited")]
    );
    // A payment event without an order id answers no keyed wait either.
    track(&app, owner, &shop, a, "m4", "order.paid", json!({"amount": 99})).await;
    step_workers(&app).await;
    assert_eq!(runs(&app, owner, j, a).await[0], run("A-1", "w", "waiting_event"));

    clock.advance(Duration::minutes(10));
    track(&app, owner, &shop, a, "m5", "order.paid", json!({"order_id": "A-1"})).await;
    step_workers(&app).await;
    assert_eq!(runs(&app, owner, j, a).await[..2], [run("A-1", "x", "done"), run("B-2", "x", "done")]);
    // Neither run times out into a reminder later.
    clock.advance(Duration::days(2));
    step_workers(&app).await;
    assert!(bodies(&app, owner, a).await.is_empty());
}

/// Two sends the same day; the second defers (`on_cap: defer`) or, by default, is skipped.
fn two_sends(on_cap: Option<&str>) -> JourneyGraph {
    let mut second = json!({"id": "s2", "type": "send", "channel": "sandbox", "template": "二", "next": {"next": "x"}});
    if let Some(p) = on_cap {
        second["on_cap"] = json!(p);
    }
    serde_json::from_value(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "s1"}},
        {"id": "s1", "type": "send", "channel": "sandbox", "template": "一", "next": {"next": "s2"}},
        second,
        {"id": "x", "type": "exit"}
    ]}))
    .unwrap()
}

async fn a_capped_send_that_defers_goes_on_the_customers_next_morning_exactly_once(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let g = two_sends(Some("defer"));
    assert_eq!(serde_json::to_value(&g).unwrap()["nodes"][2]["on_cap"], "defer", "kept when published");
    let j = app.create_journey(owner.tenant, "两条消息", &g, None).await.unwrap();
    let a = customer(&app, owner, "王芳").await;
    step_workers(&app).await;
    assert_eq!(app.enrol_in_journey(owner.tenant, j, a).await.unwrap(), Some(1));
    step_workers(&app).await;

    // The first went; the second waits at its node for tomorrow: after midnight's quiet hours, 08:00–08:15.
    assert_eq!(bodies(&app, owner, a).await, ["一"]);
    let held = app.store.journeys().runs_of(owner.tenant, j, a).await.unwrap().remove(0);
    assert_eq!((held.node.as_str(), held.status.as_str()), ("s2", "waiting_time"));
    let slot = held.next_run_at.unwrap();
    let morning = DateTime::parse_from_rfc3339("2026-12-08T00:00:00Z").unwrap().with_timezone(&Utc);
    assert!(slot >= morning && slot <= morning + Duration::minutes(15), "{slot}");
    let detail = app.journey_detail(owner, j, None).await.unwrap();
    let s2 = detail.metrics.nodes.iter().find(|n| n.node == "s2").unwrap();
    assert_eq!((s2.deferred, s2.waiting, s2.skipped, s2.sent), (1, 1, 0, 0), "counted as deferred, not dropped");

    // Late evening: still held.
    clock.advance(Duration::hours(11));
    step_workers(&app).await;
    assert_eq!(bodies(&app, owner, a).await.len(), 1);

    // The next morning it goes, once, and the run finishes.
    clock.advance(morning + Duration::minutes(20) - app.now());
    step_workers(&app).await;
    step_workers(&app).await;
    assert_eq!(bodies(&app, owner, a).await, ["一", "二"]);
    let statuses: Vec<String> =
        app.store.journeys().outbox_of(owner.tenant, a).await.unwrap().into_iter().map(|o| o.1).collect();
    assert_eq!(statuses, ["sent", "sent"]);
    assert_eq!(runs(&app, owner, j, a).await, [run("", "x", "done")]);
    clock.advance(Duration::days(1));
    step_workers(&app).await;
    assert_eq!(bodies(&app, owner, a).await.len(), 2, "exactly once");
    let detail = app.journey_detail(owner, j, None).await.unwrap();
    let s2 = detail.metrics.nodes.iter().find(|n| n.node == "s2").unwrap();
    assert_eq!((s2.deferred, s2.sent), (0, 1));
}

async fn a_capped_send_without_a_policy_is_skipped_as_before_and_never_sent_later(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let mut customers = Vec::new();
    for (name, on_cap) in [("默认", None), ("跳过", Some("skip"))] {
        let j = app.create_journey(owner.tenant, name, &two_sends(on_cap), None).await.unwrap();
        let c = customer(&app, owner, name).await;
        customers.push(c);
        step_workers(&app).await;
        app.enrol_in_journey(owner.tenant, j, c).await.unwrap();
        step_workers(&app).await;
        assert_eq!(runs(&app, owner, j, c).await, [run("", "x", "done")], "{name}: not held");
        let statuses: Vec<String> =
            app.store.journeys().outbox_of(owner.tenant, c).await.unwrap().into_iter().map(|o| o.1).collect();
        assert_eq!(statuses, ["sent", "skipped"], "{name}");
        let detail = app.journey_detail(owner, j, None).await.unwrap();
        let s2 = detail.metrics.nodes.iter().find(|n| n.node == "s2").unwrap();
        assert_eq!((s2.deferred, s2.skipped), (0, 1), "{name}");
    }
    clock.advance(Duration::days(1));
    step_workers(&app).await;
    for c in customers {
        assert_eq!(bodies(&app, owner, c).await, ["一"], "the skipped send never goes later");
    }
}
