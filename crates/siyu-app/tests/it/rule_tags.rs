//! Rule tags and bulk re-evaluation: a segment's tag follows its members (hand-made holdings untouched),
//! bad choices are refused, a segment reading a rule tag settles with its driver, and bulk paths move
//! customers through the worker.

use siyu_app::customers::{CustomerPatch, NewCustomerInput};
use siyu_app::segments::{SegmentInput, SegmentView};
use siyu_app::tags::{BulkTagRequest, BulkTarget, NewTagGroup};
use siyu_app::{AppError, ErrorCode};
use siyu_domain::customer::Gender;
use siyu_domain::id::{CustomerId, TagId};
use siyu_domain::page::PageRequest;
use siyu_domain::segment::{ChangeOp, ChangeReason, SegmentKind};
use siyu_domain::tag::TagKind;

use crate::Ctx;

crate::on_both_backends!(
    a_rule_tag_follows_its_segments_members_and_leaves_tags_added_by_hand_alone,
    rule_tags_cannot_be_changed_by_hand,
    rule_tags_from_exclusive_groups_their_own_definition_or_a_cycle_are_refused,
    a_segment_reading_a_rule_tag_moves_with_its_driver_in_one_change_and_one_sweep,
    changing_or_deleting_the_rule_tag_keeps_what_customers_hold,
    bulk_tagging_moves_customers_through_their_segments_when_the_worker_runs,
);

async fn group(ctx: &Ctx, name: &str, exclusive: bool, tags: &[&str]) -> Vec<TagId> {
    let g = NewTagGroup {
        name: name.into(),
        exclusive,
        kind: TagKind::Enterprise,
        sort: 0,
        tags: tags.iter().map(|s| s.to_string()).collect(),
    };
    ctx.app.create_tag_group(&ctx.owner, g).await.unwrap().tags.into_iter().map(|t| t.tag.id).collect()
}

async fn customer(ctx: &Ctx, name: &str, gender: Gender, tags: Vec<TagId>) -> CustomerId {
    let input = NewCustomerInput { name: name.into(), gender: Some(gender), tags, ..Default::default() };
    ctx.app.create_customer(&ctx.owner, input).await.unwrap().id
}

fn input(name: &str, text: &str, rule_tag: Option<TagId>) -> SegmentInput {
    SegmentInput {
        name: name.into(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        definition: None,
        text: Some(text.into()),
        rule_tag,
    }
}

async fn create(ctx: &Ctx, name: &str, text: &str, rule_tag: Option<TagId>) -> Result<SegmentView, AppError> {
    ctx.app.create_segment(&ctx.owner, input(name, text, rule_tag)).await
}

async fn holds(ctx: &Ctx, c: CustomerId, tag: TagId) -> bool {
    ctx.app.store.tags().held(ctx.owner.tenant, &[c]).await.unwrap().iter().any(|(_, t)| *t == tag)
}

async fn set_gender(ctx: &Ctx, c: CustomerId, gender: Gender) {
    let patch = CustomerPatch { gender: Some(gender), ..Default::default() };
    ctx.app.update_customer(&ctx.owner, c, patch).await.unwrap();
}

/// The customer's `tag_added` / `tag_removed` timeline entries, oldest first, as (kind, reason).
async fn tag_timeline(ctx: &Ctx, c: CustomerId) -> Vec<(String, String)> {
    let page = PageRequest { limit: 100, after: None };
    let mut entries = ctx.app.store.timeline().of_customer(ctx.owner.tenant, c, page).await.unwrap();
    entries.reverse();
    entries
        .into_iter()
        .filter(|e| e.kind.starts_with("tag_"))
        .map(|e| (e.kind, e.payload["reason"].as_str().unwrap_or("").to_string()))
        .collect()
}

async fn a_rule_tag_follows_its_segments_members_and_leaves_tags_added_by_hand_alone(ctx: Ctx) {
    let t = group(&ctx, "价值", false, &["女性客户"]).await[0];
    let by_hand = customer(&ctx, "甲", Gender::Female, vec![t]).await;
    let b = customer(&ctx, "乙", Gender::Female, vec![]).await;
    let c = customer(&ctx, "丙", Gender::Male, vec![]).await;
    let s = create(&ctx, "女性", r#"gender = "female""#, Some(t)).await.unwrap();
    assert_eq!(s.member_count, 2);
    assert_eq!(s.rule_tag, Some(t));
    assert_eq!(s.rule_tag_name.as_deref(), Some("价值/女性客户"));
    assert!(holds(&ctx, by_hand, t).await && holds(&ctx, b, t).await && !holds(&ctx, c, t).await);
    assert_eq!(tag_timeline(&ctx, b).await, [("tag_added".to_string(), "rule".to_string())]);

    // Changes move the tag with the membership: in and out, each once.
    set_gender(&ctx, c, Gender::Female).await;
    set_gender(&ctx, b, Gender::Male).await;
    assert!(holds(&ctx, c, t).await && !holds(&ctx, b, t).await);
    let added_removed =
        [("tag_added".to_string(), "rule".to_string()), ("tag_removed".to_string(), "rule".to_string())];
    assert_eq!(tag_timeline(&ctx, b).await, added_removed);
    // The customer who had it by hand leaves too, and keeps it.
    set_gender(&ctx, by_hand, Gender::Male).await;
    assert!(holds(&ctx, by_hand, t).await, "a tag added by hand is never taken by a rule");
    let log = ctx.app.store.segments().changes_after(ctx.owner.tenant, s.id, 0, 100).await.unwrap();
    assert!(log.iter().any(|l| l.customer_id == by_hand && l.op == ChangeOp::Exit));
    // A refresh with nothing new changes no tag.
    let r = ctx.app.refresh_segment(&ctx.owner, s.id).await.unwrap();
    assert_eq!((r.entered, r.exited), (0, 0));
    assert_eq!(tag_timeline(&ctx, b).await.len(), 2);
}

async fn rule_tags_cannot_be_changed_by_hand(ctx: Ctx) {
    let [t, other]: [TagId; 2] = group(&ctx, "价值", false, &["女性客户", "普通"]).await.try_into().unwrap();
    let a = customer(&ctx, "甲", Gender::Female, vec![]).await;
    create(&ctx, "女性", r#"gender = "female""#, Some(t)).await.unwrap();
    for (add, remove) in [(vec![t], vec![]), (vec![], vec![t])] {
        let err = ctx.app.tag_customer(&ctx.owner, a, &add, &remove).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(err.to_string().contains("rule_tag_is_automatic"), "{err}");
    }
    let input = NewCustomerInput { name: "乙".into(), tags: vec![t], ..Default::default() };
    assert!(ctx.app.create_customer(&ctx.owner, input).await.is_err());
    let bulk = BulkTagRequest { target: BulkTarget::Ids(vec![a]), add: vec![], remove: vec![t] };
    assert!(ctx.app.bulk_tag(&ctx.owner, bulk).await.is_err());
    // Other tags of the group are ordinary.
    assert_eq!(ctx.app.tag_customer(&ctx.owner, a, &[other], &[]).await.unwrap().len(), 1);
    assert!(holds(&ctx, a, t).await);
}

async fn rule_tags_from_exclusive_groups_their_own_definition_or_a_cycle_are_refused(ctx: Ctx) {
    let level = group(&ctx, "等级", true, &["金卡"]).await[0];
    let [t1, t2]: [TagId; 2] = group(&ctx, "运营", false, &["一", "二"]).await.try_into().unwrap();
    let reason = |e: AppError| match e {
        AppError::Invalid(i) => i.reason,
        other => panic!("expected invalid input, got {other}"),
    };
    let err = create(&ctx, "s0", r#"gender = "female""#, Some(level)).await.unwrap_err();
    assert_eq!(reason(err), "tags_of_exclusive_groups_cannot_be_rule_tags");
    let err = create(&ctx, "s1", r#"tag any ["一"]"#, Some(t1)).await.unwrap_err();
    assert_eq!(reason(err), "rule_tag_read_by_its_own_definition");
    let mut fixed = input("s2", r#"gender = "male""#, Some(t1));
    fixed.kind = SegmentKind::Static;
    assert_eq!(
        reason(ctx.app.create_segment(&ctx.owner, fixed).await.unwrap_err()),
        "rule_tags_need_a_dynamic_segment"
    );
    let err = create(&ctx, "s3", r#"gender = "male""#, Some(TagId::new())).await.unwrap_err();
    assert_eq!(reason(err), "unknown_tag");

    // s4 gives 一 and reads 二; s5 reading 一 may not give 二.
    create(&ctx, "s4", r#"tag any ["二"]"#, Some(t1)).await.unwrap();
    let err = create(&ctx, "s5", r#"tag any ["一"]"#, Some(t2)).await.unwrap_err();
    assert!(reason(err).starts_with("rule_tag_cycle"));
    // Nor may a second segment drive 一.
    let err = create(&ctx, "s6", r#"gender = "male""#, Some(t1)).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(ctx.app.list_segments(&ctx.owner).await.unwrap().iter().all(|s| s.name != "s5" && s.name != "s6"));
}

async fn a_segment_reading_a_rule_tag_moves_with_its_driver_in_one_change_and_one_sweep(ctx: Ctx) {
    let t = group(&ctx, "运营", false, &["女性客户"]).await[0];
    let a = customer(&ctx, "甲", Gender::Male, vec![]).await;
    // Created reader first, so list order alone would refresh it before its driver.
    let reader = create(&ctx, "读标签", r#"tag any ["女性客户"]"#, None).await.unwrap();
    let driver = create(&ctx, "女性", r#"gender = "female""#, Some(t)).await.unwrap();
    set_gender(&ctx, a, Gender::Female).await;
    let (current, _) = ctx.app.customer_segments(&ctx.owner, a).await.unwrap();
    let mut names: Vec<&str> = current.iter().map(|c| c.1.as_str()).collect();
    names.sort();
    assert_eq!(names, ["女性", "读标签"], "one change settles the chain");

    // Behind the services' back (as a raw data fix would): one forced sweep settles it, driver first.
    let b = customer(&ctx, "乙", Gender::Female, vec![]).await;
    assert!(holds(&ctx, b, t).await);
    let raw = siyu_domain::customer::Customer {
        gender: Gender::Male,
        ..ctx.app.store.customers().get(ctx.owner.tenant, b).await.unwrap()
    };
    ctx.app.store.customers().update(ctx.owner.tenant, &raw).await.unwrap();
    assert_eq!(ctx.app.sweep_segments(true).await.unwrap(), 2);
    assert!(!holds(&ctx, b, t).await);
    let segments = ctx.app.store.segments();
    assert_eq!(segments.member_ids(ctx.owner.tenant, driver.id).await.unwrap(), [a]);
    assert_eq!(segments.member_ids(ctx.owner.tenant, reader.id).await.unwrap(), [a]);
}

async fn changing_or_deleting_the_rule_tag_keeps_what_customers_hold(ctx: Ctx) {
    let [t1, t2]: [TagId; 2] = group(&ctx, "运营", false, &["一", "二"]).await.try_into().unwrap();
    let a = customer(&ctx, "甲", Gender::Female, vec![]).await;
    let s = create(&ctx, "女性", r#"gender = "female""#, Some(t1)).await.unwrap();
    let updated =
        ctx.app.update_segment(&ctx.owner, s.id, input("女性", r#"gender = "female""#, Some(t2))).await.unwrap();
    assert_eq!(updated.rule_tag, Some(t2));
    assert!(holds(&ctx, a, t1).await && holds(&ctx, a, t2).await, "the new tag is given at once; the old one stays");
    // The old tag is an ordinary tag now: it can be removed by hand, and leaving takes only the new one.
    ctx.app.tag_customer(&ctx.owner, a, &[], &[t1]).await.unwrap();
    ctx.app.tag_customer(&ctx.owner, a, &[t1], &[]).await.unwrap();
    set_gender(&ctx, a, Gender::Male).await;
    assert!(holds(&ctx, a, t1).await && !holds(&ctx, a, t2).await);
    // Deleting the driven tag leaves the segment without a rule tag.
    ctx.app.delete_tag(&ctx.owner, t2).await.unwrap();
    let after = ctx.app.get_segment(&ctx.owner, s.id).await.unwrap();
    assert_eq!(after.rule_tag, None);
    set_gender(&ctx, a, Gender::Female).await;
    assert_eq!(ctx.app.get_segment(&ctx.owner, s.id).await.unwrap().member_count, 1);
}

async fn bulk_tagging_moves_customers_through_their_segments_when_the_worker_runs(ctx: Ctx) {
    let t = group(&ctx, "运营", false, &["活动"]).await[0];
    let ids = [
        customer(&ctx, "甲", Gender::Female, vec![]).await,
        customer(&ctx, "乙", Gender::Male, vec![]).await,
        customer(&ctx, "丙", Gender::Female, vec![]).await,
    ];
    let s = create(&ctx, "活动女性", r#"tag any ["活动"] and gender = "female""#, None).await.unwrap();
    assert_eq!(s.member_count, 0);
    let bulk = BulkTagRequest { target: BulkTarget::Ids(ids.to_vec()), add: vec![t], remove: vec![] };
    ctx.app.bulk_tag(&ctx.owner, bulk).await.unwrap();
    ctx.app.run_due_work().await.unwrap();
    let log = ctx.app.store.segments().changes_after(ctx.owner.tenant, s.id, 0, 100).await.unwrap();
    let mut seen: Vec<_> = log.iter().map(|c| (c.customer_id, c.op, c.reason)).collect();
    seen.sort_by_key(|c| c.0);
    let mut want =
        vec![(ids[0], ChangeOp::Enter, ChangeReason::Change), (ids[2], ChangeOp::Enter, ChangeReason::Change)];
    want.sort_by_key(|c| c.0);
    assert_eq!(seen, want);
    // The marks are cleared: running again changes nothing.
    assert_eq!(ctx.app.drain_dirty_segments().await.unwrap(), 0);
    assert_eq!(ctx.app.get_segment(&ctx.owner, s.id).await.unwrap().member_count, 2);
}
