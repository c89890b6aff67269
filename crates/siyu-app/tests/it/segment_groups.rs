//! Segments on customer-group membership (客户群): a customer is in a group through one of their
//! external_userid identities; a dynamic segment follows a group's joins and leaves as soon as the group's
//! sync marks the customers it moved, a dismissed group empties it, and the random data the property test
//! in `segments.rs` runs over includes groups (built here).

use chrono::Utc;
use rand::Rng;
use rand::rngs::StdRng;
use siyu_app::customers::{IdentityInput, NewCustomerInput};
use siyu_domain::id::{CorpId, CustomerId, GroupId, SegmentId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::page::PageRequest;
use siyu_domain::segment::{ChangeOp, ChangeReason, SegmentKind};
use siyu_domain::wecom::GroupMember;
use siyu_store::wecom::{GroupSync, NewCorp};

use crate::Ctx;

crate::on_both_backends!(
    a_dynamic_segment_on_group_membership_gains_a_customer_who_joins_and_loses_one_who_leaves,
    a_customer_counts_as_in_a_group_through_any_of_their_external_userids_and_only_as_a_customer_member,
);

/// The corp id of the connected corp: the namespace of the customers' external_userids.
pub const CORP_ID: &str = "wwsegments0001";

/// Connects the corp (its row only: the segment engine reads groups and identities, not WeCom).
pub async fn connect_corp(ctx: &Ctx) -> CorpId {
    let corp = CorpId::new();
    let new = NewCorp {
        id: corp,
        corp_id: CORP_ID.into(),
        name: "分群测试企业".into(),
        agent_id: None,
        secrets_enc: vec![0; 16],
        api_base: None,
        at: Utc::now(),
    };
    ctx.app.store.wecom().insert_corp(ctx.owner.tenant, &new).await.unwrap();
    corp
}

/// A staff (`kind` 1) or customer (`kind` 2) member.
pub fn member(key: &str, kind: i64) -> GroupMember {
    GroupMember {
        member_key: key.into(),
        member_type: kind,
        unionid: None,
        name: None,
        group_nickname: None,
        join_time: None,
        join_scene: Some(3),
        invitor: None,
        state: None,
    }
}

/// A group as WeCom describes it: owned by zhangsan (a staff member of it) with the given members.
pub fn group(chat_id: &str, name: &str, members: Vec<GroupMember>) -> GroupSync {
    let mut all = vec![member("zhangsan", 1)];
    all.extend(members);
    GroupSync {
        chat_id: chat_id.into(),
        name: name.into(),
        owner_userid: "zhangsan".into(),
        owner_id: None,
        notice: None,
        status: 0,
        member_version: None,
        wecom_created_at: None,
        members: all,
        at: Utc::now(),
    }
}

/// The external_userid identity of a customer of the corp.
pub fn external(value: &str) -> IdentityInput {
    IdentityInput { kind: IdentityKind::ExternalUserid, namespace: Some(CORP_ID.into()), value: value.into() }
}

/// Four groups over the customers' external_userids (`externals`; some customers hold two), each with a staff
/// member and a member no customer is; one group also has a staff member whose userid equals a customer's
/// external_userid (only customer members count), two share a name (the text form then prints their ids)
/// and one is dismissed (no members left).
pub async fn random_groups(ctx: &Ctx, rng: &mut StdRng, externals: &[String]) -> Vec<GroupId> {
    let (store, tenant) = (&ctx.app.store, ctx.owner.tenant);
    let corp = connect_corp(ctx).await;
    let mut groups = Vec::new();
    for (i, name) in ["会员福利群", "快闪群 0618", "群聊", "群聊"].into_iter().enumerate() {
        let mut members = vec![member(&format!("wmStranger{i}"), 2)];
        members.extend(externals.iter().filter(|_| rng.gen_bool(0.4)).map(|k| member(k, 2)));
        if i == 1
            && let Some(k) = externals.iter().find(|k| !members.iter().any(|m| &m.member_key == *k))
        {
            members.push(member(k, 1));
        }
        let (id, _, _) =
            store.wecom().sync_group(tenant, corp, &group(&format!("wrChat{i}"), name, members)).await.unwrap();
        groups.push(id);
    }
    store.wecom().dismiss_group(tenant, corp, "wrChat3", Utc::now()).await.unwrap();
    groups
}

async fn customer(ctx: &Ctx, name: &str, externals: &[&str]) -> CustomerId {
    let input = NewCustomerInput {
        name: name.into(),
        identities: externals.iter().map(|e| external(e)).collect(),
        ..Default::default()
    };
    ctx.app.create_customer(&ctx.owner, input).await.unwrap().id
}

async fn a_dynamic_segment_on_group_membership_gains_a_customer_who_joins_and_loses_one_who_leaves(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let corp = connect_corp(&ctx).await;
    let a = customer(&ctx, "甲", &["wmJia"]).await;
    let b = customer(&ctx, "乙", &["wmYi"]).await;
    let c = customer(&ctx, "丙", &[]).await;
    let sync = group("wrVip", "会员福利群", vec![member("wmYi", 2)]);
    let (vip, _, _) = app.store.wecom().sync_group(owner.tenant, corp, &sync).await.unwrap();

    let inside =
        crate::segments::segment(app, owner, "福利群客户", SegmentKind::Dynamic, r#"group any ["会员福利群"]"#).await;
    let outside =
        crate::segments::segment(app, owner, "未进福利群", SegmentKind::Dynamic, r#"group none ["会员福利群"]"#).await;
    assert_eq!((inside.member_count, outside.member_count), (1, 2));
    assert_eq!(inside.text, r#"group any ["会员福利群"]"#, "the text form names the group");
    assert_eq!(serde_json::to_value(&inside.definition).unwrap()["groups"][0], vip.0.to_string());

    // 甲 joins: after the sync its customers are marked (what `refresh_group` does), the worker re-evaluates.
    let sync = group("wrVip", "会员福利群", vec![member("wmYi", 2), member("wmJia", 2)]);
    app.store.wecom().sync_group(owner.tenant, corp, &sync).await.unwrap();
    app.after_group_change(owner.tenant, vip, sync.at).await;
    assert!(app.drain_dirty_segments().await.unwrap() >= 2);
    assert!(app.customer_matches_segment(owner, inside.id, a).await.unwrap(), "in memory too");
    let log = app.store.segments().changes_after(owner.tenant, inside.id, inside.version, 100).await.unwrap();
    let seen: Vec<_> = log.iter().map(|x| (x.customer_id, x.op, x.reason)).collect();
    assert_eq!(seen, [(a, ChangeOp::Enter, ChangeReason::Change)]);

    // 乙 leaves: they are no member any more, yet the sync's leave marks them too.
    let sync = group("wrVip", "会员福利群", vec![member("wmJia", 2)]);
    app.store.wecom().sync_group(owner.tenant, corp, &sync).await.unwrap();
    app.after_group_change(owner.tenant, vip, sync.at).await;
    app.drain_dirty_segments().await.unwrap();
    let now = app.get_segment(owner, inside.id).await.unwrap();
    let log = app.store.segments().changes_after(owner.tenant, inside.id, inside.version + 1, 100).await.unwrap();
    let seen: Vec<_> = log.iter().map(|x| (x.customer_id, x.op, x.reason)).collect();
    assert_eq!(seen, [(b, ChangeOp::Exit, ChangeReason::Change)]);
    assert_eq!(now.member_count, 1);
    assert_eq!(members(&ctx, outside.id).await, sorted(vec![b, c]));

    // A dismissed group has no members; the definition naming it still checks.
    app.store.wecom().dismiss_group(owner.tenant, corp, "wrVip", Utc::now()).await.unwrap();
    let r = app.refresh_segment(owner, inside.id).await.unwrap();
    assert_eq!((r.entered, r.exited, r.members), (0, 1, 0));
}

async fn a_customer_counts_as_in_a_group_through_any_of_their_external_userids_and_only_as_a_customer_member(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let corp = connect_corp(&ctx).await;
    let two = customer(&ctx, "两个身份", &["wmOne", "wmTwo"]).await;
    let staffish = customer(&ctx, "同名员工", &["lisi"]).await;
    let (left, _, _) =
        app.store.wecom().sync_group(owner.tenant, corp, &group("wrA", "A群", vec![member("wmOne", 2)])).await.unwrap();
    let b = vec![member("wmTwo", 2), member("lisi", 1)];
    let (right, _, _) = app.store.wecom().sync_group(owner.tenant, corp, &group("wrB", "B群", b)).await.unwrap();
    let all =
        crate::segments::segment(app, owner, "两群都在", SegmentKind::Dynamic, r#"group all ["A群", "B群"]"#).await;
    assert_eq!(members(&ctx, all.id).await, vec![two]);
    let any = crate::segments::segment(app, owner, "任一群", SegmentKind::Dynamic, r#"group any ["B群"]"#).await;
    assert_eq!(members(&ctx, any.id).await, vec![two], "a staff member's userid is no customer");
    for (id, group) in [(two, left), (two, right)] {
        let of = app.store.wecom().groups_of_customer(owner.tenant, id).await.unwrap();
        assert!(of.iter().any(|g| g.id == group));
    }
    assert!(!app.customer_matches_segment(owner, any.id, staffish).await.unwrap());
}

/// A segment's members, ascending.
async fn members(ctx: &Ctx, segment: SegmentId) -> Vec<CustomerId> {
    let page = PageRequest { after: None, limit: PageRequest::MAX_LIMIT };
    let (page, _) = ctx.app.segment_members(&ctx.owner, segment, page).await.unwrap();
    sorted(page.items.into_iter().map(|c| c.customer.id).collect())
}

fn sorted(mut v: Vec<CustomerId>) -> Vec<CustomerId> {
    v.sort();
    v
}
