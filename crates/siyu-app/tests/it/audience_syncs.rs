//! Scheduled audience refresh: a sync's snapshot holds exactly the consenting members' hashes, later runs
//! report who entered and left and replace it, the worker runs a due sync once (and two sweeps at once run
//! it once), an erased customer drops out at the next run, a creator who lost access stops the sync with
//! the error in its history, and bad input is refused.

use std::sync::Arc;

use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use siyu_app::clock::ManualClock;
use siyu_app::customers::NewCustomerInput;
use siyu_app::segments::{AudienceKey, NewAudienceSync, SegmentInput};
use siyu_app::tags::NewTagGroup;
use siyu_app::tenancy::MemberPatch;
use siyu_app::{Actor, App, AppError, ErrorCode};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::{CustomerId, SegmentId, TagId};
use siyu_domain::privacy::{ConsentPurpose, ConsentStatus};
use siyu_domain::segment::SegmentKind;
use siyu_store::audit::AuditQuery;

use crate::Ctx;

crate::on_both_backends!(
    a_syncs_first_run_holds_exactly_the_consenting_members_hashes,
    a_later_run_reports_who_entered_and_left_and_replaces_the_snapshot,
    a_due_sync_runs_once_when_the_worker_steps_and_not_again_until_it_is_due,
    a_creator_who_lost_the_export_permission_makes_the_run_fail_and_the_sync_stop,
    bad_frequencies_missing_permissions_and_files_before_the_first_run_are_refused,
);

/// SHA-256 (hex) of the 11-digit mobile, computed here rather than by the code under test.
fn hashed(mobile: &str) -> String {
    Sha256::digest(mobile.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn file_of(mobiles: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = mobiles.iter().map(|m| hashed(m)).collect();
    lines.sort();
    lines
}

/// The hash lines of a file, sorted, after checking its header.
fn lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut it = text.lines();
    assert_eq!(it.next(), Some("sha256_phone"));
    let mut out: Vec<String> = it.map(str::to_string).collect();
    out.sort();
    out
}

/// A tag "投放" and a dynamic segment of the customers holding it.
async fn setup(app: &App, owner: &Actor) -> (TagId, SegmentId) {
    let group = NewTagGroup {
        name: "人群".into(),
        exclusive: false,
        kind: siyu_domain::tag::TagKind::Enterprise,
        sort: 0,
        tags: vec!["投放".into()],
    };
    let tag = app.create_tag_group(owner, group).await.unwrap().tags[0].tag.id;
    let input = SegmentInput {
        name: "投放人群".into(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        definition: None,
        text: Some(r#"tag any ["投放"]"#.into()),
        rule_tag: None,
    };
    let segment = app.create_segment(owner, input).await.unwrap().id;
    (tag, segment)
}

async fn customer(app: &App, owner: &Actor, phone: Option<&str>, consent: bool, tags: &[TagId]) -> CustomerId {
    let input = NewCustomerInput {
        name: "客户".into(),
        phone: phone.map(str::to_string),
        tags: tags.to_vec(),
        ..Default::default()
    };
    let id = app.create_customer(owner, input).await.unwrap().id;
    if consent {
        app.set_consent(owner, id, ConsentPurpose::AdAudience, ConsentStatus::Granted, None).await.unwrap();
    }
    id
}

fn daily(key: AudienceKey) -> NewAudienceSync {
    NewAudienceSync { key, every_hours: 24 }
}

async fn a_syncs_first_run_holds_exactly_the_consenting_members_hashes(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let (tag, segment) = setup(app, owner).await;
    customer(app, owner, Some("13800000001"), true, &[tag]).await;
    customer(app, owner, Some("13800000002"), false, &[tag]).await; // no consent
    customer(app, owner, None, true, &[tag]).await; // consent but no phone
    customer(app, owner, Some("13800000004"), true, &[]).await; // not a member
    let sync = app.create_audience_sync(owner, segment, daily(AudienceKey::Phone)).await.unwrap();
    assert_eq!((sync.enabled, sync.every_hours, sync.sha256.as_deref()), (true, 24, None));
    let view = app.run_audience_sync(owner, sync.id).await.unwrap();
    let counts = view.last.unwrap();
    assert_eq!((counts.members, counts.rows, counts.without_consent, counts.without_key), (3, 1, 1, 1));
    assert_eq!((counts.added, counts.removed), (1, 0), "everything is new in the first snapshot");
    let file = app.audience_sync_file(owner, sync.id).await.unwrap();
    assert_eq!(lines(&file.bytes), file_of(&["13800000001"]));
    let sha: String = Sha256::digest(&file.bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!((file.sha256.as_str(), view.sha256.as_deref()), (sha.as_str(), Some(sha.as_str())));
    assert_eq!(file.name, format!("audience-phone-{segment}.csv"));
    assert_eq!(view.runs.len(), 1);
    assert!(view.runs[0].error.is_none());
    assert!(view.next_run_at >= view.runs[0].at + Duration::hours(24));
    // The export is counted and audited as the creator, the download as the one who fetched it.
    for action in ["segment.audience_export", "segment.audience_download", "segment.audience_sync_create"] {
        let q = AuditQuery { action_prefix: Some(action.into()), actor: None, object_id: None, before: None, limit: 5 };
        assert_eq!(app.audit_log(owner, q).await.unwrap().items.len(), 1, "{action}");
    }
    // The snapshot is stored sealed: no hash in clear in the database.
    let raw = match app.store.raw_dump().await.unwrap() {
        Some(dump) => dump,
        None => {
            let path = ctx.db_url().trim_start_matches("sqlite://").split('?').next().unwrap().to_string();
            String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
        }
    };
    let clear = &hashed("13800000001")[..40];
    let as_bytea: String = clear.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(!raw.contains(clear) && !raw.contains(&as_bytea), "the snapshot is sealed with the tenant key");
    // openid syncs hash openids.
    let openid = app.create_audience_sync(owner, segment, daily(AudienceKey::Openid)).await.unwrap();
    let view = app.run_audience_sync(owner, openid.id).await.unwrap();
    assert_eq!(view.last.map(|c| (c.rows, c.without_key)), Some((0, 2)));
    let syncs = app.audience_syncs(owner, segment).await.unwrap();
    assert_eq!(syncs.iter().map(|s| s.key).collect::<Vec<_>>(), vec![AudienceKey::Phone, AudienceKey::Openid]);
}

async fn a_later_run_reports_who_entered_and_left_and_replaces_the_snapshot(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let (tag, segment) = setup(app, owner).await;
    let a = customer(app, owner, Some("13800000001"), true, &[tag]).await;
    let b = customer(app, owner, Some("13800000002"), true, &[tag]).await;
    let c = customer(app, owner, Some("13800000003"), true, &[]).await;
    let sync = app.create_audience_sync(owner, segment, daily(AudienceKey::Phone)).await.unwrap();
    let first = app.run_audience_sync(owner, sync.id).await.unwrap();
    assert_eq!(first.last.map(|c| (c.rows, c.added, c.removed)), Some((2, 2, 0)));
    // a leaves, c enters, b withdraws the consent, d is new.
    app.tag_customer(owner, a, &[], &[tag]).await.unwrap();
    app.tag_customer(owner, c, &[tag], &[]).await.unwrap();
    app.set_consent(owner, b, ConsentPurpose::AdAudience, ConsentStatus::Withdrawn, None).await.unwrap();
    let d = customer(app, owner, Some("13800000004"), true, &[tag]).await;
    let second = app.run_audience_sync(owner, sync.id).await.unwrap();
    let counts = second.last.unwrap();
    assert_eq!((counts.members, counts.rows, counts.without_consent), (3, 2, 1));
    assert_eq!((counts.added, counts.removed), (2, 2), "c and d in; a and b out");
    let file = app.audience_sync_file(owner, sync.id).await.unwrap();
    assert_eq!(lines(&file.bytes), file_of(&["13800000003", "13800000004"]));
    assert_ne!(second.sha256, first.sha256);
    assert_eq!(second.runs.len(), 2, "newest first");
    assert_eq!(second.runs[0].counts, counts);
    assert_eq!(second.runs[1].counts.rows, 2);
    // Nothing changed: nothing added or removed, same file.
    let third = app.run_audience_sync(owner, sync.id).await.unwrap();
    assert_eq!(third.last.map(|c| (c.added, c.removed)), Some((0, 0)));
    assert_eq!(third.sha256, second.sha256);
    // An erased customer (PIPL) has no phone or consent left: the next run drops their hash.
    app.erase_customer(owner, d).await.unwrap();
    let fourth = app.run_audience_sync(owner, sync.id).await.unwrap();
    assert_eq!(fourth.last.map(|c| (c.rows, c.added, c.removed)), Some((1, 0, 1)));
    let file = app.audience_sync_file(owner, sync.id).await.unwrap();
    assert_eq!(lines(&file.bytes), file_of(&["13800000003"]));
    // Deleting stops it and drops the snapshot.
    app.delete_audience_sync(owner, sync.id).await.unwrap();
    assert!(matches!(app.audience_sync_file(owner, sync.id).await, Err(AppError::NotFound)));
    assert!(app.audience_syncs(owner, segment).await.unwrap().is_empty());
}

async fn a_due_sync_runs_once_when_the_worker_steps_and_not_again_until_it_is_due(ctx: Ctx) {
    let clock = ManualClock::new(Utc::now());
    let mut app = ctx.app.clone();
    app.clock = Arc::new(clock.clone());
    let owner = &ctx.owner;
    let (tag, segment) = setup(&app, owner).await;
    customer(&app, owner, Some("13800000001"), true, &[tag]).await;
    let sync = app
        .create_audience_sync(owner, segment, NewAudienceSync { key: AudienceKey::Phone, every_hours: 6 })
        .await
        .unwrap();
    let runs = |app: App| async move { app.audience_sync(owner, sync.id).await.unwrap().runs.len() };
    app.run_due_work().await.unwrap();
    assert_eq!(runs(app.clone()).await, 1, "due at creation");
    app.run_due_work().await.unwrap();
    clock.advance(Duration::hours(5));
    app.run_due_work().await.unwrap();
    assert_eq!(runs(app.clone()).await, 1, "not due again before 6 hours");
    clock.advance(Duration::hours(1));
    // Two workers sweeping at once: one of them runs it.
    let (x, y) = tokio::join!(app.sweep_audience_syncs(), app.sweep_audience_syncs());
    assert_eq!(x.unwrap() + y.unwrap(), 1);
    assert_eq!(runs(app.clone()).await, 2);
    let view = app.audience_sync(owner, sync.id).await.unwrap();
    assert_eq!(view.next_run_at, view.runs[0].at + Duration::hours(6));
    assert_eq!(view.runs[0].counts.rows, 1);
}

async fn a_creator_who_lost_the_export_permission_makes_the_run_fail_and_the_sync_stop(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let (tag, segment) = setup(app, owner).await;
    customer(app, owner, Some("13800000001"), true, &[tag]).await;
    let ops = ctx.member("ops", Role::Operator, DataScope::All).await;
    let sync = app.create_audience_sync(&ops, segment, daily(AudienceKey::Phone)).await.unwrap();
    let patch = MemberPatch { role: Some(Role::Staff), ..Default::default() };
    app.update_member(owner, ops.user, patch).await.unwrap();
    app.run_due_work().await.unwrap();
    let view = app.audience_sync(owner, sync.id).await.unwrap();
    assert!(!view.enabled, "the sync stops");
    assert_eq!(view.last_error.as_deref(), Some("forbidden"));
    assert_eq!(view.runs.len(), 1);
    assert_eq!((view.runs[0].error.as_deref(), view.runs[0].sha256.as_deref()), (Some("forbidden"), None));
    assert!(view.last.is_none() && view.sha256.is_none());
    assert!(matches!(app.audience_sync_file(owner, sync.id).await, Err(AppError::NotFound)));
    // A disabled sync is not swept again.
    assert_eq!(app.sweep_audience_syncs().await.unwrap(), 0);
    // A disabled creator stops theirs the same way, also when run by hand.
    let ops2 = ctx.member("ops2", Role::Operator, DataScope::All).await;
    let sync = app.create_audience_sync(&ops2, segment, daily(AudienceKey::Phone)).await.unwrap();
    app.update_member(owner, ops2.user, MemberPatch { active: Some(false), ..Default::default() }).await.unwrap();
    let view = app.run_audience_sync(owner, sync.id).await.unwrap();
    assert_eq!((view.enabled, view.last_error.as_deref()), (false, Some("forbidden")));
}

async fn bad_frequencies_missing_permissions_and_files_before_the_first_run_are_refused(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let (_, segment) = setup(app, owner).await;
    for hours in [0, 169, -1] {
        let e =
            app.create_audience_sync(owner, segment, NewAudienceSync { key: AudienceKey::Phone, every_hours: hours });
        let e = e.await.unwrap_err();
        assert_eq!((e.code(), e.field()), (ErrorCode::InvalidInput, Some("every_hours")), "{hours}");
    }
    let staff = ctx.member("staff", Role::Staff, DataScope::SelfOnly).await;
    let e = app.create_audience_sync(&staff, segment, daily(AudienceKey::Phone)).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Forbidden);
    let e = app.create_audience_sync(owner, SegmentId::new(), daily(AudienceKey::Phone)).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    let sync = app.create_audience_sync(owner, segment, daily(AudienceKey::Phone)).await.unwrap();
    assert_eq!(app.audience_syncs(&staff, segment).await.unwrap_err().code(), ErrorCode::Forbidden);
    assert_eq!(app.run_audience_sync(&staff, sync.id).await.unwrap_err().code(), ErrorCode::Forbidden);
    assert_eq!(app.audience_sync_file(owner, sync.id).await.unwrap_err().code(), ErrorCode::NotFound, "no run yet");
    app.run_audience_sync(owner, sync.id).await.unwrap();
    // A member seeing part of the customers fetches only the syncs they made (the file covers the creator's).
    let scoped = ctx.member("scoped", Role::Operator, DataScope::SelfOnly).await;
    assert_eq!(app.audience_sync_file(&scoped, sync.id).await.unwrap_err().code(), ErrorCode::Forbidden);
    assert!(app.audience_sync_file(owner, sync.id).await.is_ok());
}
