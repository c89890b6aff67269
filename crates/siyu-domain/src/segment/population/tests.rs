//! The population evaluator against `eval::matches`, customer by customer, on random subjects and random
//! rules over every atom kind (external atoms get the sets `matches` computes for them alone).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Bitset, ExternalSets, Needs, PopulationBuilder, PopulationError};
use crate::aggregate::CustomerAggregates;
use crate::clv::CustomerClv;
use crate::customer::{Customer, Follow, Gender};
use crate::id::{CustomerId, GroupId, SegmentId, TagId, UserId};
use crate::identity::IdentityKind;
use crate::order::{OrderStatus, Platform};
use crate::privacy::{ConsentPurpose, ConsentStatus};
use crate::rfm::{CustomerRfm, RfmClass, RfmLayer};
use crate::segment::eval::{At, EventFact, PurchaseFact, Subject, matches};
use crate::segment::field::{Builtin, FieldType};
use crate::segment::{Atom, Cmp, CountOp, DateTest, FieldRef, Rule, TagMatch, TextTest, TimeTest};

const TEXTS: [&str; 7] = ["张三", "张", "Anna", "", "VIP 老客户", "2026-11-20", "api"];
const LISTS: [&str; 5] = ["taobao", "jd", "own_mall", "干性", "油性"];
const KEYS: [&str; 3] = ["city", "score", "skin"];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap()
}

fn tag(i: u128) -> TagId {
    TagId(Uuid::from_u128(1000 + i))
}

fn group(i: u128) -> GroupId {
    GroupId(Uuid::from_u128(4000 + i))
}

fn segment_id(i: u128) -> SegmentId {
    SegmentId(Uuid::from_u128(2000 + i))
}

fn staff(i: u128) -> UserId {
    UserId(Uuid::from_u128(3000 + i))
}

/// A few fixed instants (to hit equality) or any millisecond in the last 400 days.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (0..4i64).prop_map(|i| base() - Duration::days(i * 30)),
        (0..400 * 86_400_000i64).prop_map(|ms| base() - Duration::milliseconds(ms)),
    ]
}

fn json_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        prop::sample::select(TEXTS.to_vec()).prop_map(|t| Some(json!(t))),
        (-3..4i64).prop_map(|n| Some(json!(n))),
        Just(Some(json!(2.5))),
        Just(Some(json!(true))),
        Just(Some(json!({"a": 1}))),
        prop::sample::subsequence(LISTS.to_vec(), 0..3).prop_map(|v| Some(json!(v))),
        Just(Some(json!([1, "jd"]))),
    ]
}

/// Everything one subject borrows.
#[derive(Debug, Clone)]
struct Owned {
    customer: Customer,
    aggregates: Option<CustomerAggregates>,
    tags: Vec<TagId>,
    groups: Vec<GroupId>,
    identities: Vec<IdentityKind>,
    follows: Vec<Follow>,
    events: Vec<EventFact>,
    purchases: Vec<PurchaseFact>,
    consents: Vec<(ConsentPurpose, ConsentStatus)>,
    memberships: Vec<SegmentId>,
    rfm: Option<CustomerRfm>,
    clv: Option<CustomerClv>,
    stage: Option<(String, chrono::DateTime<chrono::Utc>)>,
}

impl Owned {
    fn subject(&self) -> Subject<'_> {
        Subject {
            customer: &self.customer,
            aggregates: self.aggregates.as_ref(),
            tags: &self.tags,
            groups: &self.groups,
            identities: &self.identities,
            follows: &self.follows,
            events: &self.events,
            purchases: &self.purchases,
            consents: &self.consents,
            memberships: &self.memberships,
            rfm: self.rfm.as_ref(),
            clv: self.clv.as_ref(),
            stage: self.stage.as_ref().map(|(k, at)| (k.as_str(), *at)),
        }
    }
}

fn aggregates(id: CustomerId) -> impl Strategy<Value = CustomerAggregates> {
    let count = prop_oneof![0..5i64, Just(40_000), Just(-7)];
    let fen = prop_oneof![0..80_000i64, Just(5_000_000_000), Just(1 << 60)];
    (
        (count.clone(), count, fen.clone(), fen),
        (prop::option::of(instant()), prop::option::of(instant()), instant()),
        prop::sample::subsequence(Platform::ALL.to_vec(), 0..3),
    )
        .prop_map(move |((orders, days, paid, refund), (first, last, seen), platforms)| CustomerAggregates {
            customer_id: id,
            order_count: orders,
            order_days: days,
            paid_fen: paid,
            refund_fen: refund,
            avg_paid_fen: paid / 3,
            first_order_at: first,
            last_order_at: last,
            event_count: days,
            first_seen_at: seen,
            last_active_at: None,
            product_count: orders,
            platforms,
            products: vec![],
            channels: vec![],
            computed_at: base(),
        })
}

fn rfm(id: CustomerId) -> impl Strategy<Value = CustomerRfm> {
    (1..6u8, 1..6u8, 1..6u8, any::<bool>()).prop_map(move |(r, f, m, super_user)| CustomerRfm {
        customer_id: id,
        recency_days: 0,
        frequency: 0,
        monetary_fen: 0,
        r,
        f,
        m,
        class: RfmClass::of(r > 2, f > 2, m > 2),
        layer: RfmLayer::of(r > 2, f > 2),
        super_user,
        config_version: 1,
        computed_at: base(),
    })
}

fn clv(id: CustomerId) -> impl Strategy<Value = CustomerClv> {
    (0..100u32, 0..200_000i64).prop_map(move |(p, clv_fen)| CustomerClv {
        customer_id: id,
        frequency: 0,
        recency: 0.0,
        t: 0.0,
        monetary_fen: 0.0,
        p_alive: f64::from(p) / 50.0,
        expected_purchases: f64::from(p % 7) / 2.0,
        expected_spend_fen: 0,
        clv_fen,
        computed_at: base(),
    })
}

fn owned() -> impl Strategy<Value = Owned> {
    let consent =
        (prop::sample::select(ConsentPurpose::ALL.to_vec()), prop::sample::select(ConsentStatus::ALL.to_vec()));
    let follow = (0..2u128, prop::sample::select(vec!["manual", "qr_code"]), instant());
    let event = (prop::sample::select(vec!["add_to_cart", "live_watch"]), instant());
    let purchase = (
        prop::sample::select(OrderStatus::ALL.to_vec()),
        instant(),
        any::<bool>(),
        prop::sample::select(vec!["A", "B"]),
    );
    let profile = (
        any::<u128>(),
        prop::sample::select(TEXTS.to_vec()),
        0..3usize,
        prop::option::of(prop::sample::select(TEXTS.to_vec())),
        prop::sample::select(vec!["api", "console"]),
        instant(),
        prop::option::of(instant()),
        prop::collection::vec(json_value(), KEYS.len()),
    );
    let links = (
        prop::sample::subsequence((0..5u128).collect::<Vec<_>>(), 0..4),
        prop::sample::subsequence(IdentityKind::ALL.to_vec(), 0..3),
        prop::collection::vec(consent, 0..3),
        prop::sample::subsequence(vec![0u128, 1], 0..2),
        prop::collection::vec(follow, 0..2),
        prop::collection::vec(event, 0..3),
        prop::collection::vec(purchase, 0..2),
        prop::sample::subsequence((0..4u128).collect::<Vec<_>>(), 0..3),
    );
    (profile, links).prop_flat_map(|(p, links)| {
        let id = CustomerId(Uuid::from_u128(p.0));
        let values = (
            prop::option::weighted(0.7, aggregates(id)),
            prop::option::weighted(0.6, rfm(id)),
            prop::option::weighted(0.6, clv(id)),
            prop::option::weighted(0.5, prop::sample::select(vec!["new", "purchased", "silent"])),
        );
        values.prop_map(move |(aggregates, rfm, clv, stage)| {
            let (_, name, gender, remark, source, created_at, last_active_at, custom) = p.clone();
            let (tags, identities, consents, memberships, follows, events, purchases, groups) = links.clone();
            let custom: Map<String, Value> =
                KEYS.iter().zip(custom).filter_map(|(k, v)| Some((k.to_string(), v?))).collect();
            Owned {
                customer: Customer {
                    id,
                    name: name.into(),
                    gender: [Gender::Unknown, Gender::Male, Gender::Female][gender],
                    avatar_url: None,
                    remark: remark.map(str::to_string),
                    source: source.into(),
                    custom,
                    created_at,
                    updated_at: created_at,
                    last_active_at,
                },
                aggregates,
                tags: tags.into_iter().map(tag).collect(),
                groups: groups.into_iter().map(group).collect(),
                identities,
                follows: follows
                    .into_iter()
                    .map(|(u, way, added_at)| Follow {
                        customer_id: id,
                        user_id: staff(u),
                        remark: None,
                        description: None,
                        add_way: way.into(),
                        state: None,
                        added_at,
                    })
                    .collect(),
                events: events
                    .into_iter()
                    .map(|(name, at)| EventFact { name: name.into(), at, properties: Map::new() })
                    .collect(),
                purchases: purchases
                    .into_iter()
                    .map(|(status, placed_at, fully_refunded, sku)| PurchaseFact {
                        status,
                        placed_at,
                        fully_refunded,
                        sku_id: Some(sku.into()),
                        product_id: None,
                        title: None,
                    })
                    .collect(),
                consents,
                memberships: memberships.into_iter().map(segment_id).collect(),
                rfm,
                clv,
                stage: stage.map(|k| (k.to_string(), created_at)),
            }
        })
    })
}

fn field() -> impl Strategy<Value = FieldRef> {
    prop_oneof![
        3 => prop::sample::select(Builtin::ALL.to_vec()).prop_map(FieldRef::Builtin),
        1 => prop::sample::select(KEYS.to_vec()).prop_map(|k| FieldRef::Custom(k.into())),
    ]
}

/// A field of the given type most of the time, any field otherwise.
fn typed_field(t: FieldType) -> impl Strategy<Value = FieldRef> {
    let of_type: Vec<Builtin> = Builtin::ALL.into_iter().filter(|b| super::needs::kind(*b) == t).collect();
    prop_oneof![3 => prop::sample::select(of_type).prop_map(FieldRef::Builtin), 1 => field()]
}

fn cmp() -> impl Strategy<Value = Cmp> {
    prop::sample::select(vec![Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge])
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => (-4..6i32).prop_map(f64::from),
        1 => prop::sample::select(vec![0.5, 2.5, -0.5, 40_000.0, 50_000.0, 5e9, 1e19, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
        1 => (0..200_000i64).prop_map(|v| v as f64),
    ]
}

fn time_test() -> impl Strategy<Value = TimeTest> {
    prop_oneof![
        (0..400u32).prop_map(TimeTest::WithinDays),
        (0..400u32).prop_map(TimeTest::OlderThanDays),
        (cmp(), instant(), prop_oneof![Just(0i64), 1..1000i64, 0..2_000_000i64])
            .prop_map(|(c, t, ns)| TimeTest::At(c, t + Duration::nanoseconds(ns))),
    ]
}

fn day() -> impl Strategy<Value = NaiveDate> {
    (0..40i64).prop_map(|d| base().date_naive() - Duration::days(d))
}

fn text_test() -> impl Strategy<Value = TextTest> {
    let t = || prop::sample::select(TEXTS.to_vec()).prop_map(str::to_string);
    prop_oneof![
        t().prop_map(TextTest::Eq),
        t().prop_map(TextTest::Ne),
        prop::collection::vec(t(), 0..3).prop_map(TextTest::In),
        t().prop_map(TextTest::Contains),
        t().prop_map(TextTest::StartsWith),
    ]
}

fn external() -> impl Strategy<Value = Atom> {
    prop_oneof![
        (
            prop::option::of(0..3u128),
            prop::option::of(prop::sample::select(vec!["manual", "qr_code"])),
            prop::option::of(0..200u32)
        )
            .prop_map(|(u, way, within_days)| Atom::Follow {
                staff: u.map(staff),
                state: None,
                add_way: way.map(str::to_string),
                within_days
            }),
        (
            prop::sample::select(vec!["add_to_cart", "live_watch"]),
            prop::sample::select(vec![CountOp::Eq, CountOp::Ge, CountOp::Le]),
            0..3u32,
            prop::option::of(0..300u32)
        )
            .prop_map(|(name, op, count, within_days)| Atom::Event {
                name: name.into(),
                op,
                count,
                within_days,
                filters: vec![]
            }),
        (prop::sample::select(vec!["A", "B", "C"]), prop::option::of(0..300u32))
            .prop_map(|(p, within_days)| Atom::Bought { product: p.into(), within_days }),
    ]
}

fn atom() -> impl Strategy<Value = Atom> {
    let date_test = prop_oneof![
        (0..40u32).prop_map(DateTest::WithinDays),
        (0..40u32).prop_map(DateTest::OlderThanDays),
        (cmp(), day()).prop_map(|(c, d)| DateTest::On(c, d)),
    ];
    prop_oneof![
        3 => (typed_field(FieldType::Number), cmp(), number()).prop_map(|(field, op, value)| Atom::Number { field, op, value }),
        3 => (typed_field(FieldType::Text), text_test()).prop_map(|(field, test)| Atom::Text { field, test }),
        2 => (typed_field(FieldType::Time), time_test()).prop_map(|(field, test)| Atom::Time { field, test }),
        1 => (field(), date_test).prop_map(|(field, test)| Atom::Date { field, test }),
        2 => (typed_field(FieldType::List), any::<bool>(), prop::collection::vec(prop::sample::select(LISTS.to_vec()).prop_map(str::to_string), 0..3))
            .prop_map(|(field, all, values)| Atom::List { field, all, values }),
        2 => (field(), any::<bool>()).prop_map(|(field, set)| Atom::Present { field, set }),
        2 => (prop::sample::select(vec![TagMatch::Any, TagMatch::All, TagMatch::None]), prop::sample::subsequence((0..6u128).collect::<Vec<_>>(), 0..3))
            .prop_map(|(mode, tags)| Atom::Tags { mode, tags: tags.into_iter().map(tag).collect() }),
        2 => (prop::sample::select(vec![TagMatch::Any, TagMatch::All, TagMatch::None]), prop::sample::subsequence((0..5u128).collect::<Vec<_>>(), 0..3))
            .prop_map(|(mode, groups)| Atom::Groups { mode, groups: groups.into_iter().map(group).collect() }),
        1 => prop::sample::select(IdentityKind::ALL.to_vec()).prop_map(Atom::Identity),
        1 => (prop::sample::select(ConsentPurpose::ALL.to_vec()), prop::sample::select(ConsentStatus::ALL.to_vec()))
            .prop_map(|(purpose, status)| Atom::Consent { purpose, status }),
        1 => (0..3u128).prop_map(|i| Atom::Member(segment_id(i))),
        2 => external(),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    atom().prop_map(Rule::Atom).prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Rule::All),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Rule::Any),
            inner.prop_map(|r| Rule::Not(Box::new(r))),
        ]
    })
}

fn at() -> impl Strategy<Value = At> {
    (prop_oneof![Just(0i64), 0..86_400_000_000_000i64], prop::sample::select(vec![8 * 3600, 0, -5 * 3600])).prop_map(
        |(ns, off)| At { now: base() + Duration::nanoseconds(ns), offset: FixedOffset::east_opt(off).unwrap() },
    )
}

/// The population's answer and `matches`' per customer, the rows in push order.
fn both(people: &[Owned], rule: &Rule, at: At, sorted: bool) -> (Vec<bool>, Vec<bool>) {
    let mut people = people.to_vec();
    if sorted {
        people.sort_by_key(|p| p.customer.id);
        people.dedup_by_key(|p| p.customer.id);
    }
    let needs = Needs::of(rule);
    let mut b = PopulationBuilder::new(&needs);
    for p in &people {
        b.push_subject(&p.subject());
    }
    let population = b.finish();
    let mut external = ExternalSets::new();
    for a in &needs.external {
        let atom = Rule::Atom(a.clone());
        let rows: Vec<u32> =
            (0..people.len() as u32).filter(|&i| matches(&atom, &people[i as usize].subject(), at)).collect();
        external.insert(a.clone(), Bitset::from_indices(people.len(), &rows));
    }
    let got = population.evaluate(rule, at, &external).unwrap();
    assert_eq!(got.len(), people.len());
    let got: Vec<bool> = (0..people.len()).map(|i| got.contains(i)).collect();
    let want: Vec<bool> = people.iter().map(|p| matches(rule, &p.subject(), at)).collect();
    (got, want)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_population_evaluates_every_rule_as_matches_does_for_each_customer(
        people in prop::collection::vec(owned(), 0..12),
        rules in prop::collection::vec(rule(), 1..4),
        at in at(),
        sorted in any::<bool>(),
    ) {
        for rule in &rules {
            let (got, want) = both(&people, rule, at, sorted);
            prop_assert_eq!(got, want, "rule {:?}", rule);
        }
    }
}

#[test]
fn a_rule_reading_what_the_population_was_loaded_without_is_an_error() {
    let rule = Rule::Atom(Atom::Number { field: FieldRef::Builtin(Builtin::PaidFen), op: Cmp::Gt, value: 1.0 });
    let population = PopulationBuilder::new(&Needs::default()).finish();
    let at = At { now: base(), offset: FixedOffset::east_opt(0).unwrap() };
    let err = population.evaluate(&rule, at, &ExternalSets::new()).unwrap_err();
    assert!(matches!(err, PopulationError::NotLoaded(_)), "{err}");
    let bought = Atom::Bought { product: "A".into(), within_days: None };
    let err = population.evaluate(&Rule::Atom(bought), at, &ExternalSets::new()).unwrap_err();
    assert!(matches!(err, PopulationError::NoMemberSet(_)), "{err}");
}

#[test]
fn a_time_between_two_microseconds_compares_as_matches_does() {
    let t = base();
    let rule = |cmp: Cmp, ns: i64| {
        Rule::Atom(Atom::Time {
            field: FieldRef::Builtin(Builtin::CreatedAt),
            test: TimeTest::At(cmp, t + Duration::nanoseconds(ns)),
        })
    };
    let mut b = PopulationBuilder::new(&Needs::of(&rule(Cmp::Eq, 0)));
    b.push_customer(CustomerId(Uuid::from_u128(1)));
    b.set_time(Builtin::CreatedAt, t);
    let population = b.finish();
    let at = At { now: base(), offset: FixedOffset::east_opt(0).unwrap() };
    for ns in [-1500, -1000, -1, 0, 1, 999, 1000, 1001] {
        for cmp in [Cmp::Eq, Cmp::Ne, Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge] {
            let got = population.evaluate(&rule(cmp, ns), at, &ExternalSets::new()).unwrap().contains(0);
            assert_eq!(got, cmp.holds(&t, &(t + Duration::nanoseconds(ns))), "{cmp:?} {ns}");
        }
    }
}

#[test]
fn big_populations_scan_on_two_threads_with_the_same_answer() {
    let needs = Needs::of(&Rule::Atom(Atom::Present { field: FieldRef::Builtin(Builtin::PaidFen), set: true }));
    let mut b = PopulationBuilder::new(&needs);
    let n = (1 << 20) + 77;
    for i in 0..n {
        b.push_customer(CustomerId(Uuid::from_u128(i as u128)));
        b.set_number(Builtin::PaidFen, (i % 1000) as f64);
    }
    let population = b.finish();
    let at = At { now: base(), offset: FixedOffset::east_opt(0).unwrap() };
    let rule = Rule::Atom(Atom::Number { field: FieldRef::Builtin(Builtin::PaidFen), op: Cmp::Ge, value: 500.0 });
    let got = population.evaluate(&rule, at, &ExternalSets::new()).unwrap();
    assert_eq!(got.count(), (0..n).filter(|i| i % 1000 >= 500).count());
    assert!(got.contains(n - 1 - 76 + 76) == ((n - 1) % 1000 >= 500));
    assert_eq!(population.index_of(CustomerId(Uuid::from_u128(12345))), Some(12345));
}
