//! Segments: the compiled SQL, the in-memory evaluation of each customer and the columnar population
//! evaluator agree on random definitions over random data, customer groups included (on both databases);
//! materialisation and refresh log entries and exits once with rising versions, one customer's change
//! re-evaluates them, static segments change by hand, and bad definitions are refused.

use chrono::{Duration, SubsecRound, Utc};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use siyu_app::customers::{IdentityInput, NewCustomerInput};
use siyu_app::fields::NewField;
use siyu_app::segments::SegmentInput;
use siyu_app::tags::NewTagGroup;
use siyu_app::{Actor, ErrorCode};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::customer::Gender;
use siyu_domain::event::Endpoint;
use siyu_domain::field::FieldKind;
use siyu_domain::id::{CustomerId, GroupId, TagId, UserId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::order::MallOrderInput;
use siyu_domain::privacy::{ConsentPurpose, ConsentStatus};
use siyu_domain::segment::eval::At;
use siyu_domain::segment::population::Needs;
use siyu_domain::segment::{
    ChangeOp, ChangeReason, Condition, CountOp, Op, PropertyFilter, SegmentKind, TagMatch, text,
};
use siyu_domain::source::SourceKind;

use crate::{Ctx, segment_groups};

crate::on_both_backends!(
    the_compiled_sql_the_in_memory_evaluation_and_the_population_agree_on_random_definitions,
    a_dynamic_segment_records_its_first_members_as_initial_and_later_changes_once_with_rising_versions,
    a_change_to_one_customer_moves_them_in_and_out_of_dynamic_segments,
    static_segments_change_only_by_hand_and_nested_segments_are_evaluated_inline,
    bad_definitions_are_refused_with_every_problem_pointing_at_its_part,
);

const NAMES: [&str; 5] = ["张三", "李四", "王小明", "Anna", "赵六"];
const CITIES: [&str; 4] = ["上海", "杭州", "北京", "上海市"];
const SKUS: [&str; 4] = ["CREAM-50", "OAT-12", "BEAN-454", "面霜50ml"];
const EVENTS: [&str; 3] = ["add_to_cart", "Page Viewed", "live_watch"];
const CATEGORIES: [&str; 3] = ["母婴", "美妆", "食品"];

/// What the generators pick references from.
#[derive(Clone)]
struct World {
    tags: Vec<TagId>,
    staff: Vec<UserId>,
    groups: Vec<GroupId>,
}

/// A tenant of `n` random customers: profile and custom fields, identities, tags, follows, consents,
/// events with properties over the last 400 days, mall orders with refunds and customer groups.
async fn random_tenant(ctx: &Ctx, n: usize, seed: u64) -> World {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let mut rng = StdRng::seed_from_u64(seed);
    for (key, kind, options) in [
        ("city", FieldKind::Text, vec![]),
        ("score", FieldKind::Number, vec![]),
        ("birthday", FieldKind::Date, vec![]),
        ("level", FieldKind::SingleChoice, vec!["金".to_string(), "银".to_string()]),
        ("skin", FieldKind::MultiChoice, vec!["干性".to_string(), "油性".to_string(), "混合".to_string()]),
    ] {
        let f = NewField { key: key.into(), label: key.into(), kind, options, sort: 0 };
        app.create_field(owner, f).await.unwrap();
    }
    let group = NewTagGroup {
        name: "兴趣".into(),
        exclusive: false,
        kind: siyu_domain::tag::TagKind::Enterprise,
        sort: 0,
        tags: vec!["护肤".into(), "母婴".into(), "咖啡".into(), "高意向".into()],
    };
    let tags: Vec<TagId> =
        app.create_tag_group(owner, group).await.unwrap().tags.into_iter().map(|t| t.tag.id).collect();
    let other = ctx.member("sales1", Role::Staff, DataScope::SelfOnly).await;
    let staff = vec![owner.user, other.user];
    let (_, key) = app.create_source(owner, "web", SourceKind::Web).await.unwrap();
    let now = Utc::now();
    let mut events = Vec::new();
    let mut externals = Vec::new();
    for i in 0..n {
        let mut custom = serde_json::Map::new();
        if rng.gen_bool(0.6) {
            custom.insert("city".into(), json!(CITIES.choose(&mut rng).unwrap()));
        }
        if rng.gen_bool(0.6) {
            custom.insert("score".into(), json!(rng.gen_range(-5..100)));
        }
        if rng.gen_bool(0.5) {
            let d = now.date_naive() - Duration::days(rng.gen_range(0..800));
            custom.insert("birthday".into(), json!(d.format("%Y-%m-%d").to_string()));
        }
        if rng.gen_bool(0.5) {
            custom.insert("level".into(), json!(["金", "银"].choose(&mut rng).unwrap()));
        }
        if rng.gen_bool(0.6) {
            let k = rng.gen_range(0..3);
            let picked: Vec<&str> = ["干性", "油性", "混合"].choose_multiple(&mut rng, k).copied().collect();
            custom.insert("skin".into(), json!(picked));
        }
        let mut identities =
            vec![IdentityInput { kind: IdentityKind::Unionid, namespace: None, value: format!("U{i}") }];
        if rng.gen_bool(0.3) {
            identities.push(IdentityInput {
                kind: IdentityKind::Email,
                namespace: None,
                value: format!("c{i}@example.com"),
            });
        }
        // Most customers are WeCom contacts of the corp, a few with two external_userids.
        for (value, p) in [(format!("wm{i}"), 0.75), (format!("wm{i}b"), 0.15)] {
            if rng.gen_bool(p) {
                identities.push(segment_groups::external(&value));
                externals.push(value);
            }
        }
        let input = NewCustomerInput {
            name: NAMES.choose(&mut rng).unwrap().to_string(),
            gender: Some([Gender::Unknown, Gender::Male, Gender::Female][rng.gen_range(0..3)]),
            remark: rng.gen_bool(0.4).then(|| ["老客户", "VIP 老客户", "待回访"].choose(&mut rng).unwrap().to_string()),
            phone: rng.gen_bool(0.4).then(|| format!("1381234{:04}", i)),
            identities,
            tags: tags.iter().filter(|_| rng.gen_bool(0.35)).copied().collect(),
            custom,
            follow_user_id: Some(*staff.choose(&mut rng).unwrap()),
            ..Default::default()
        };
        let c = app.create_customer(owner, input).await.unwrap().id;
        for purpose in ConsentPurpose::ALL {
            if rng.gen_bool(0.5) {
                let status = [ConsentStatus::Granted, ConsentStatus::Withdrawn][rng.gen_range(0..2)];
                app.set_consent(owner, c, purpose, status, None).await.unwrap();
            }
        }
        for j in 0..rng.gen_range(0..4) {
            let at = now - Duration::days(rng.gen_range(0..400)) - Duration::minutes(rng.gen_range(0..1440));
            let status = ["paid", "received", "refunded", "closed", "partially_refunded"].choose(&mut rng).unwrap();
            let sku = SKUS.choose(&mut rng).unwrap();
            let price = rng.gen_range(1..500) * 100;
            let refunds = if *status == "partially_refunded" {
                json!([{"amount_fen": price, "line_id": "L1"}])
            } else {
                json!([])
            };
            let body = json!({"platform_order_id": format!("O{i}-{j}"), "status": status, "ordered_at": at,
                "paid_fen": price * 2, "refunds": refunds, "buyer": {"customer_id": c},
                "lines": [{"line_id": "L1", "sku_id": sku, "title": "商品", "quantity": 1, "paid_fen": price},
                          {"line_id": "L2", "sku_id": "GIFT", "title": sku, "quantity": 1, "paid_fen": price}]});
            let input: MallOrderInput = serde_json::from_value(body).unwrap();
            app.post_mall_order(owner, input).await.unwrap();
        }
        for j in 0..rng.gen_range(0..6) {
            let at = now - Duration::days(rng.gen_range(0..400)) - Duration::minutes(rng.gen_range(0..1440));
            let mut props = serde_json::Map::new();
            if rng.gen_bool(0.7) {
                props.insert("category".into(), json!(CATEGORIES.choose(&mut rng).unwrap()));
            }
            if rng.gen_bool(0.7) {
                props.insert("price".into(), json!(rng.gen_range(0..300)));
            }
            if rng.gen_bool(0.5) {
                props.insert("vip".into(), json!(rng.gen_bool(0.5)));
            }
            events.push(
                json!({"type": "track", "event": EVENTS.choose(&mut rng).unwrap(), "messageId": format!("e{i}-{j}"),
                "anonymousId": format!("a{i}"), "timestamp": at, "properties": props,
                "context": {"externalIds": [{"type": "unionid", "id": format!("U{i}")}]}}),
            );
        }
    }
    let body = serde_json::to_vec(&json!({ "batch": events })).unwrap();
    let receipt = app.ingest(Endpoint::Batch, &body, Some(&key)).await.unwrap();
    assert!(receipt.rejected.is_empty(), "{receipt:?}");
    app.run_due_work().await.unwrap();
    app.compute_rfm(owner.tenant).await.unwrap();
    app.fit_clv(owner.tenant).await.unwrap();
    let groups = segment_groups::random_groups(ctx, &mut rng, &externals).await;
    World { tags, staff, groups }
}

fn field_atom(w: &World) -> BoxedStrategy<Condition> {
    let _ = w;
    let f = |field: &'static str, op: Op, value: Value| Condition::Field { field: field.into(), op, value };
    let num_op = prop::sample::select(vec![Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge]);
    let text_field = prop::sample::select(vec!["name", "remark", "custom.city", "source"]);
    let time_field =
        prop::sample::select(vec!["created_at", "last_active_at", "first_order_at", "last_order_at", "first_seen_at"]);
    let any_text = prop::sample::select(vec!["张三", "老客户", "上海", "VIP", "", "api", "console", "Anna"]);
    prop_oneof![
        (
            prop::sample::select(vec!["order_count", "order_days", "event_count", "product_count"]),
            num_op.clone(),
            0..5i64
        )
            .prop_map(move |(k, op, v)| f(k, op, json!(v))),
        (prop::sample::select(vec!["paid_fen", "refund_fen", "avg_paid_fen"]), num_op.clone(), 0..80_000i64)
            .prop_map(move |(k, op, v)| f(k, op, json!(v))),
        (num_op.clone(), -10..110i64, any::<bool>()).prop_map(move |(op, v, half)| {
            f("custom.score", op, if half { json!(v as f64 + 0.5) } else { json!(v) })
        }),
        (text_field, prop::sample::select(vec![Op::Eq, Op::Ne, Op::Contains, Op::StartsWith]), any_text.clone())
            .prop_map(move |(k, op, v)| f(k, op, json!(v))),
        prop::collection::vec(any_text, 1..3).prop_map(move |v| f("name", Op::In, json!(v))),
        prop::sample::select(vec!["unknown", "male", "female"]).prop_map(move |g| f("gender", Op::Eq, json!(g))),
        prop::sample::select(vec!["金", "银"]).prop_map(move |g| f("custom.level", Op::Ne, json!(g))),
        (time_field.clone(), prop::sample::select(vec![Op::WithinDays, Op::OlderThanDays]), 1..400u32)
            .prop_map(move |(k, op, d)| f(k, op, json!(d))),
        (time_field, prop::sample::select(vec![Op::Lt, Op::Ge]), 0..400i64).prop_map(move |(k, op, d)| {
            f(k, op, json!((Utc::now() - Duration::days(d)).format("%Y-%m-%d").to_string()))
        }),
        (prop::sample::select(vec![Op::WithinDays, Op::OlderThanDays]), 1..800u32).prop_map(move |(op, d)| f(
            "custom.birthday",
            op,
            json!(d)
        )),
        (prop::sample::select(vec![Op::Eq, Op::Lt, Op::Ge]), 0..800i64).prop_map(move |(op, d)| {
            f("custom.birthday", op, json!((Utc::now() - Duration::days(d)).format("%Y-%m-%d").to_string()))
        }),
        (
            prop::sample::select(vec![Op::HasAny, Op::HasAll]),
            prop::sample::subsequence(vec!["干性", "油性", "混合"], 1..3)
        )
            .prop_map(move |(op, v)| f("custom.skin", op, json!(v))),
        (
            prop::sample::select(vec![Op::HasAny, Op::HasAll]),
            prop::sample::subsequence(vec!["own_mall", "taobao"], 1..2)
        )
            .prop_map(move |(op, v)| f("platforms", op, json!(v))),
        (prop::sample::select(vec!["rfm_r", "rfm_f", "rfm_m", "super_user"]), num_op.clone(), 0..6i64)
            .prop_map(move |(k, op, v)| f(k, op, json!(v))),
        (prop::sample::select(vec!["p_alive", "expected_purchases"]), num_op.clone(), 0..100i64)
            .prop_map(move |(k, op, v)| f(k, op, json!(v as f64 / 50.0))),
        (num_op.clone(), 0..200_000i64).prop_map(move |(op, v)| f("clv_fen", op, json!(v))),
        (
            prop::sample::select(vec!["rfm_class", "rfm_layer"]),
            prop::sample::select(vec![Op::Eq, Op::Ne]),
            prop::sample::select(vec!["important_value", "general_win_back", "important_keep", "value", "keep"]),
        )
            .prop_filter("an option of the field", |(k, _, v)| (*k == "rfm_layer") != v.contains('_'))
            .prop_map(move |(k, op, v)| f(k, op, json!(v))),
        (
            prop::sample::select(vec![
                "remark",
                "custom.city",
                "custom.score",
                "custom.skin",
                "custom.birthday",
                "last_order_at",
                "platforms",
                "rfm_class",
                "clv_fen"
            ]),
            any::<bool>()
        )
            .prop_map(move |(k, set)| f(k, if set { Op::IsSet } else { Op::IsNotSet }, Value::Null)),
    ]
    .boxed()
}

fn atom(w: &World) -> BoxedStrategy<Condition> {
    let tags = w.tags.clone();
    let staff = w.staff.clone();
    let groups = w.groups.clone();
    let prop_filter = prop_oneof![
        prop::sample::select(CATEGORIES.to_vec()).prop_map(|c| PropertyFilter {
            key: "category".into(),
            op: Op::Eq,
            value: json!(c)
        }),
        prop::sample::select(CATEGORIES.to_vec()).prop_map(|c| PropertyFilter {
            key: "category".into(),
            op: Op::Ne,
            value: json!(c)
        }),
        (prop::sample::select(vec![Op::Gt, Op::Le]), 0..300i64).prop_map(|(op, v)| PropertyFilter {
            key: "price".into(),
            op,
            value: json!(v)
        }),
        any::<bool>().prop_map(|b| PropertyFilter { key: "vip".into(), op: Op::Eq, value: json!(b) }),
    ];
    prop_oneof![
        4 => field_atom(w),
        1 => (prop::sample::subsequence(tags, 1..3), prop::sample::select(vec![TagMatch::Any, TagMatch::All, TagMatch::None]))
            .prop_map(|(tags, mode)| Condition::Tags { tags, mode }),
        1 => (prop::sample::subsequence(groups, 1..3), prop::sample::select(vec![TagMatch::Any, TagMatch::All, TagMatch::None]))
            .prop_map(|(groups, mode)| Condition::Groups { groups, mode }),
        1 => prop::sample::select(vec![IdentityKind::Unionid, IdentityKind::Phone, IdentityKind::Email, IdentityKind::Openid, IdentityKind::ExternalUserid])
            .prop_map(|kind| Condition::Identity { kind }),
        1 => (prop::option::of(prop::sample::select(staff)), prop::option::of(prop::sample::select(vec!["manual", "qr_code"])))
            .prop_map(|(staff, add_way)| Condition::Follow { staff, state: None, add_way: add_way.map(str::to_string), within_days: None }),
        2 => (prop::sample::select(EVENTS.to_vec()), prop::sample::select(vec![CountOp::Ge, CountOp::Eq, CountOp::Le]), 0..3u32,
              prop::option::of(1..400u32), prop::collection::vec(prop_filter, 0..2))
            .prop_map(|(name, op, count, within_days, filters)| Condition::Event { name: name.into(), op, count, within_days, filters }),
        1 => (prop::sample::select(SKUS.to_vec()), prop::option::of(1..400u32))
            .prop_map(|(p, within_days)| Condition::Bought { product: p.into(), within_days }),
        1 => (prop::sample::select(ConsentPurpose::ALL.to_vec()), prop::sample::select(ConsentStatus::ALL.to_vec()))
            .prop_map(|(purpose, status)| Condition::Consent { purpose, status }),
    ]
    .boxed()
}

fn definition(w: &World) -> impl Strategy<Value = Condition> {
    atom(w).prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|of| Condition::All { of }),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|of| Condition::Any { of }),
            inner.prop_map(|c| Condition::Not { not: Box::new(c) }),
        ]
    })
}

async fn the_compiled_sql_the_in_memory_evaluation_and_the_population_agree_on_random_definitions(ctx: Ctx) {
    let world = random_tenant(&ctx, 36, 7).await;
    let (app, tenant) = (&ctx.app, ctx.owner.tenant);
    let catalog = app.segment_catalog(tenant, None).await.unwrap();
    let at = At { now: Utc::now().trunc_subsecs(0), offset: app.tenant_offset(tenant).await.unwrap() };
    let customers =
        app.store.segments().matching_ids(tenant, &siyu_domain::segment::Rule::All(vec![]), at).await.unwrap();
    let mut profiles = Vec::new();
    for id in &customers {
        profiles.push(app.store.customers().get(tenant, *id).await.unwrap());
    }
    let strategy = definition(&world);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let (mut checked, mut nonempty) = (0, 0);
    for _ in 0..250 {
        let cond = strategy.new_tree(&mut runner).unwrap().current();
        let rule = match siyu_domain::segment::check(&cond, &catalog) {
            Ok(r) => r,
            Err(e) => panic!("generated an invalid definition {}: {e:?}", text::print(&cond, &catalog)),
        };
        let by_sql = app.store.segments().matching_ids(tenant, &rule, at).await.unwrap();
        let mut by_memory: Vec<CustomerId> = Vec::new();
        for c in &profiles {
            if app.evaluate(tenant, c, &[&rule], at).await.unwrap()[0] {
                by_memory.push(c.id);
            }
        }
        assert_eq!(by_sql, by_memory, "SQL and memory disagree on: {}", text::print(&cond, &catalog));
        // The third evaluator: the whole tenant in columns, external atoms by their SQL member sets.
        let needs = Needs::of(&rule);
        let population = app.store.segments().population(tenant, &needs).await.unwrap();
        let external = app.store.segments().external_sets(tenant, &population, &needs, at).await.unwrap();
        let by_population = population.ids_of(&population.evaluate(&rule, at, &external).unwrap());
        assert_eq!(by_sql, by_population, "SQL and the population disagree on: {}", text::print(&cond, &catalog));
        checked += 1;
        if !by_sql.is_empty() && by_sql.len() < customers.len() {
            nonempty += 1;
        }
    }
    assert_eq!(checked, 250);
    assert!(nonempty > 100, "too few definitions split the customers ({nonempty}): the data is not varied enough");
}

pub(crate) async fn segment(
    app: &siyu_app::App,
    actor: &Actor,
    name: &str,
    kind: SegmentKind,
    src: &str,
) -> siyu_app::segments::SegmentView {
    let input = SegmentInput {
        name: name.into(),
        description: String::new(),
        kind,
        definition: None,
        text: Some(src.into()),
        rule_tag: None,
    };
    app.create_segment(actor, input).await.unwrap()
}

async fn plain_customer(ctx: &Ctx, name: &str, tags: Vec<TagId>) -> CustomerId {
    let input = NewCustomerInput { name: name.into(), tags, ..Default::default() };
    ctx.app.create_customer(&ctx.owner, input).await.unwrap().id
}

async fn tag(ctx: &Ctx, names: &[&str]) -> Vec<TagId> {
    let group = NewTagGroup {
        name: "意向".into(),
        exclusive: false,
        kind: siyu_domain::tag::TagKind::Enterprise,
        sort: 0,
        tags: names.iter().map(|s| s.to_string()).collect(),
    };
    ctx.app.create_tag_group(&ctx.owner, group).await.unwrap().tags.into_iter().map(|t| t.tag.id).collect()
}

async fn a_dynamic_segment_records_its_first_members_as_initial_and_later_changes_once_with_rising_versions(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let t = tag(&ctx, &["高意向"]).await;
    let a = plain_customer(&ctx, "甲", t.clone()).await;
    let b = plain_customer(&ctx, "乙", vec![]).await;
    let s = segment(app, owner, "高意向客户", SegmentKind::Dynamic, r#"tag any ["高意向"]"#).await;
    assert_eq!((s.member_count, s.version), (1, 1));
    let log = app.store.segments().changes_after(owner.tenant, s.id, 0, 100).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].customer_id, log[0].op, log[0].reason), (a, ChangeOp::Enter, ChangeReason::Initial));

    // b gets the tag in the console: re-evaluated at once (reason `change`).
    app.tag_customer(owner, b, &t, &[]).await.unwrap();
    let log = app.store.segments().changes_after(owner.tenant, s.id, 1, 100).await.unwrap();
    let seen: Vec<_> = log.iter().map(|c| (c.customer_id, c.op, c.reason, c.version)).collect();
    assert_eq!(seen, [(b, ChangeOp::Enter, ChangeReason::Change, 2)]);
    // a loses it behind the service's back (as a bulk import would): only a refresh notices.
    let ctx = siyu_store::tags::ChangeContext { actor: None, source: "import", reason: "test", at: chrono::Utc::now() };
    let change = siyu_store::tags::TagChange { tag: t[0], tag_name: "高意向".into(), add: false };
    app.store.tags().change(owner.tenant, a, &[change], &ctx).await.unwrap();
    let r = app.refresh_segment(owner, s.id).await.unwrap();
    assert_eq!((r.entered, r.exited, r.members, r.version), (0, 1, 1, 3));
    let again = app.refresh_segment(owner, s.id).await.unwrap();
    assert_eq!((again.entered, again.exited, again.version), (0, 0, 3), "a re-run finds nothing to change");
    let log = app.store.segments().changes_after(owner.tenant, s.id, 2, 100).await.unwrap();
    let seen: Vec<_> = log.iter().map(|c| (c.customer_id, c.op, c.reason, c.version)).collect();
    assert_eq!(seen, [(a, ChangeOp::Exit, ChangeReason::Refresh, 3)]);

    // The worker's sweep leaves a freshly refreshed segment alone and recomputes a due one.
    assert_eq!(app.sweep_segments(false).await.unwrap(), 0);
    assert_eq!(app.sweep_segments(true).await.unwrap(), 1);
    let sizes = app.segment_sizes(owner, s.id, 7).await.unwrap();
    assert_eq!(sizes.len(), 1);
    assert_eq!((sizes[0].members, sizes[0].entered, sizes[0].exited), (1, 2, 1));
}

async fn a_change_to_one_customer_moves_them_in_and_out_of_dynamic_segments(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let t = tag(&ctx, &["咖啡"]).await;
    let a = plain_customer(&ctx, "甲", vec![]).await;
    let s = segment(app, owner, "咖啡客", SegmentKind::Dynamic, r#"tag all ["咖啡"] and not name = "乙""#).await;
    assert_eq!(s.member_count, 0);
    // Tagging in the console re-evaluates the customer at once; evaluating again changes nothing.
    app.tag_customer(owner, a, &t, &[]).await.unwrap();
    assert!(app.customer_matches_segment(owner, s.id, a).await.unwrap());
    assert_eq!(app.refresh_customer_segments(owner.tenant, a).await.unwrap(), (0, 0));
    let (current, changes) = app.customer_segments(owner, a).await.unwrap();
    assert_eq!(current.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(), ["咖啡客"]);
    assert_eq!((changes[0].op, changes[0].reason), (ChangeOp::Enter, ChangeReason::Change));
    // So do a profile change and a mall order: renamed to 乙, the customer leaves.
    let patch = siyu_app::customers::CustomerPatch { name: Some("乙".into()), ..Default::default() };
    app.update_customer(owner, a, patch).await.unwrap();
    assert!(app.customer_segments(owner, a).await.unwrap().0.is_empty());
    assert_eq!(app.get_segment(owner, s.id).await.unwrap().member_count, 0);
}

async fn static_segments_change_only_by_hand_and_nested_segments_are_evaluated_inline(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let a = plain_customer(&ctx, "甲", vec![]).await;
    let b = plain_customer(&ctx, "乙", vec![]).await;
    let fixed = segment(app, owner, "活动名单", SegmentKind::Static, r#"name = "甲""#).await;
    assert_eq!(fixed.member_count, 1);
    let err = app.refresh_segment(owner, fixed.id).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    let r = app.change_static_members(owner, fixed.id, &[b], &[a]).await.unwrap();
    assert_eq!((r.entered, r.exited, r.members), (1, 1, 1));

    let named = segment(app, owner, "叫乙的", SegmentKind::Dynamic, r#"name starts_with "乙""#).await;
    let both =
        segment(app, owner, "名单里叫乙的", SegmentKind::Dynamic, r#"segment "活动名单" and segment "叫乙的""#).await;
    assert_eq!(both.member_count, 1);
    assert!(both.text.contains("segment \"活动名单\""), "{}", both.text);
    let err = app.delete_segment(owner, named.id).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");

    // Editing 叫乙的 to refer to 名单里叫乙的 would make a cycle.
    let input = SegmentInput {
        name: "叫乙的".into(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        definition: None,
        text: Some(r#"segment "名单里叫乙的""#.into()),
        rule_tag: None,
    };
    let err = app.update_segment(owner, named.id, input).await.unwrap_err();
    match err {
        siyu_app::AppError::InvalidDefinition(errors) => assert_eq!(errors[0].code, "segment_cycle"),
        other => panic!("expected a cycle, got {other}"),
    }
}

async fn bad_definitions_are_refused_with_every_problem_pointing_at_its_part(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let def: Condition = serde_json::from_value(json!({"type": "all", "of": [
        {"type": "field", "field": "shoe_size", "op": "eq", "value": 42},
        {"type": "field", "field": "order_count", "op": "contains", "value": "x"},
        {"type": "any", "of": []},
        {"type": "tags", "tags": [TagId::new()], "match": "any"},
        {"type": "groups", "groups": [GroupId::new()], "match": "none"}
    ]}))
    .unwrap();
    let input = SegmentInput {
        name: "坏的".into(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        definition: Some(def),
        text: None,
        rule_tag: None,
    };
    let err = app.create_segment(owner, input).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidDefinition);
    let siyu_app::AppError::InvalidDefinition(errors) = err else { panic!("not a definition error") };
    let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.path.as_str(), e.code.as_str())).collect();
    assert_eq!(
        got,
        [
            ("/of/0/field", "unknown_field"),
            ("/of/1/op", "op_not_for_type"),
            ("/of/2/of", "empty_group"),
            ("/of/3/tags", "unknown_tag"),
            ("/of/4/groups/0", "unknown_group")
        ]
    );
    assert!(app.list_segments(owner).await.unwrap().is_empty(), "nothing was saved");

    // A staff member may look but not define.
    let staff = ctx.member("staff1", Role::Staff, DataScope::SelfOnly).await;
    let input = SegmentInput {
        name: "x".into(),
        description: String::new(),
        kind: SegmentKind::Dynamic,
        definition: None,
        text: Some("has phone".into()),
        rule_tag: None,
    };
    assert_eq!(app.create_segment(&staff, input).await.unwrap_err().code(), ErrorCode::Forbidden);
}
