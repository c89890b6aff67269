//! Editing live journeys (reference/journeys.md §6) on both databases: waiting runs stay on their version
//! until an operator migrates them after a dry run; new entries take the new version; pausing stops entries
//! and archiving ends runs.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use siyu_app::App;
use siyu_app::customers::NewCustomerInput;
use siyu_app::journeys::versions::MigrationInput;
use siyu_domain::id::CustomerId;
use siyu_domain::journey::JourneyGraph;

use crate::Ctx;

crate::on_both_backends!(
    waiting_runs_stay_on_their_version_until_migrated_and_the_dry_run_counts_them_first,
    pausing_stops_new_entries_and_archiving_ends_the_runs,
);

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T04:00:00Z").unwrap().with_timezone(&Utc)
}

fn graph(v: serde_json::Value) -> JourneyGraph {
    serde_json::from_value(v).unwrap()
}

fn v1() -> JourneyGraph {
    graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "w"}},
        {"id": "w", "type": "wait", "wait": {"until": "duration", "minutes": 1440}, "next": {"next": "s"}},
        {"id": "s", "type": "send", "channel": "sandbox", "template": "旧版第二天问候"}
    ], "reentry": {"policy": "after_exit"}}))
}

fn v2() -> JourneyGraph {
    graph(json!({"nodes": [
        {"id": "t", "type": "trigger", "trigger": {"on": "manual"}, "next": {"next": "hi"}},
        {"id": "hi", "type": "send", "channel": "sandbox", "template": "新版欢迎", "next": {"next": "w2"}},
        {"id": "w2", "type": "wait", "wait": {"until": "duration", "minutes": 720}, "next": {"next": "s2"}},
        {"id": "s2", "type": "send", "channel": "sandbox", "template": "新版跟进"}
    ], "reentry": {"policy": "after_exit"}}))
}

async fn bodies(app: &App, ctx: &Ctx, c: CustomerId) -> Vec<String> {
    app.store.journeys().sandbox_of(ctx.owner.tenant, c).await.unwrap().into_iter().map(|m| m.1).collect()
}

async fn customers(app: &App, ctx: &Ctx, names: &[&str]) -> Vec<CustomerId> {
    let mut out = Vec::new();
    for n in names {
        let input = NewCustomerInput { name: (*n).into(), ..Default::default() };
        out.push(app.create_customer(&ctx.owner, input).await.unwrap().id);
    }
    out
}

async fn waiting_runs_stay_on_their_version_until_migrated_and_the_dry_run_counts_them_first(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let j = app.create_journey(owner.tenant, "培育", &v1(), Some(owner.user)).await.unwrap();
    let cs = customers(&app, &ctx, &["甲", "乙", "丙"]).await;
    for c in &cs[..2] {
        app.enrol_in_journey(owner.tenant, j, *c).await.unwrap();
    }
    app.run_due_work().await.unwrap();
    assert_eq!(app.publish_journey_version(owner, j, &v2()).await.unwrap(), 2);
    // A new entry takes version 2 at once.
    app.enrol_in_journey(owner.tenant, j, cs[2]).await.unwrap();
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, &ctx, cs[2]).await, vec!["新版欢迎".to_string()]);

    let map: BTreeMap<String, String> = [("w".to_string(), "w2".to_string())].into_iter().collect();
    let dry = MigrationInput { from_version: 1, map: map.clone(), restart: false, dry_run: true };
    let plan = app.migrate_journey(owner, j, dry).await.unwrap();
    assert_eq!((plan.moves.len(), plan.moves[0].runs, plan.moved), (1, 2, 0));
    assert_eq!(plan.moves[0].skipped_new_nodes, vec!["hi".to_string()], "the preview names the step they skip");
    let by_node = app.store.journeys().live_by_node(owner.tenant, j).await.unwrap();
    assert!(by_node.contains(&(1, "w".to_string(), 2)), "a dry run moves nobody: {by_node:?}");

    let applied = app
        .migrate_journey(owner, j, MigrationInput { from_version: 1, map, restart: true, dry_run: false })
        .await
        .unwrap();
    assert_eq!(applied.moved, 2);
    // Restarted at w2: due 12 hours from when they reached the old wait (midnight in Shanghai), held by
    // quiet hours until the morning.
    clock.advance(Duration::hours(21));
    app.run_due_work().await.unwrap();
    for c in &cs[..2] {
        assert_eq!(bodies(&app, &ctx, *c).await, vec!["新版跟进".to_string()], "migrated runs follow version 2");
    }
    clock.advance(Duration::days(2));
    app.run_due_work().await.unwrap();
    assert_eq!(bodies(&app, &ctx, cs[0]).await.len(), 1, "nothing from version 1 reaches a migrated run");

    let bad = MigrationInput {
        from_version: 1,
        map: [("w".to_string(), "nowhere".to_string())].into_iter().collect(),
        restart: false,
        dry_run: true,
    };
    assert!(format!("{:?}", app.migrate_journey(owner, j, bad).await.unwrap_err()).contains("unknown_new_node"));
}

async fn pausing_stops_new_entries_and_archiving_ends_the_runs(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let owner = &ctx.owner;
    let j = app.create_journey(owner.tenant, "培育", &v1(), Some(owner.user)).await.unwrap();
    let cs = customers(&app, &ctx, &["甲", "乙"]).await;
    app.enrol_in_journey(owner.tenant, j, cs[0]).await.unwrap();
    app.run_due_work().await.unwrap();
    app.set_journey_status(owner, j, "paused").await.unwrap();
    assert_eq!(app.enrol_in_journey(owner.tenant, j, cs[1]).await.unwrap(), None, "no new entries while paused");
    app.set_journey_status(owner, j, "live").await.unwrap();
    assert_eq!(app.set_journey_status(owner, j, "archived").await.unwrap(), 1, "the waiting run ended");
    clock.advance(Duration::days(2));
    app.run_due_work().await.unwrap();
    assert!(bodies(&app, &ctx, cs[0]).await.is_empty());
    assert!(app.set_journey_status(owner, j, "deleted").await.is_err());
}
