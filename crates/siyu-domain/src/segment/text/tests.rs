use serde_json::json;

use super::*;
use crate::field::{FieldDef, FieldKind};
use crate::id::{FieldId, GroupId, SegmentId, TagId, UserId};
use crate::segment::check::SegmentRef;
use crate::segment::{Atom, SegmentKind};

fn catalog() -> Catalog {
    let field = |key: &str, kind: FieldKind, options: &[&str]| FieldDef {
        id: FieldId::new(),
        key: key.into(),
        label: key.into(),
        kind,
        options: options.iter().map(|s| s.to_string()).collect(),
        sort: 0,
    };
    Catalog {
        fields: vec![
            field("city", FieldKind::Text, &[]),
            field("birthday", FieldKind::Date, &[]),
            field("skin", FieldKind::MultiChoice, &["干性", "油性"]),
        ],
        tags: vec![
            (TagId::new(), "会员等级".into(), "金卡".into()),
            (TagId::new(), "意向".into(), "高意向".into()),
            (TagId::new(), "旧标签".into(), "金卡".into()),
        ],
        groups: vec![
            (GroupId::new(), "会员福利群".into()),
            (GroupId::new(), "群聊".into()),
            (GroupId::new(), "群聊".into()),
        ],
        staff: vec![(UserId::new(), "zhangsan".into(), "张三".into())],
        segments: Vec::new(),
        offset: None,
        defining: None,
    }
}

const EXAMPLE: &str = r#"order_count >= 3 and last_order_at within 90d
  and tag any ["会员等级/金卡", "高意向"] and not tag none ["高意向"]
  and (has unionid or follow staff "zhangsan" within 7d)
  and event "add_to_cart" >= 2 within 30d where (category = "母婴", price > 100)
  and bought "SKU-1001" within 365d and consent marketing granted
  and custom.city in ["上海", "杭州"] and platforms has_any ["taobao", "jd"] and remark is not set"#;

#[test]
fn the_documented_example_parses_into_one_and_group() {
    let (cond, rule) = parse(EXAMPLE, &catalog()).expect("parses");
    let Condition::All { of } = &cond else { panic!("not a group: {cond:?}") };
    assert_eq!(of.len(), 11);
    let Rule::All(rules) = rule else { panic!("rule is not a group") };
    assert!(matches!(rules[0], Rule::Atom(Atom::Number { value, .. }) if value == 3.0));
    assert!(matches!(&of[4], Condition::Any { of } if of.len() == 2));
}

#[test]
fn printing_then_parsing_gives_the_same_definition() {
    let c = catalog();
    let (cond, _) = parse(EXAMPLE, &c).expect("parses");
    let text = print(&cond, &c);
    let (again, _) = parse(&text, &c).expect("the printed text parses");
    assert_eq!(again, cond, "{text}");
}

#[test]
fn and_binds_tighter_than_or() {
    let (cond, _) = parse("has unionid and has phone or has email", &catalog()).expect("parses");
    let Condition::Any { of } = cond else { panic!("expected or at the top") };
    assert!(matches!(&of[0], Condition::All { of } if of.len() == 2));
}

#[test]
fn an_unknown_field_points_at_the_field_in_the_text() {
    let src = "order_count > 1 and shoe_size = 42";
    let errors = parse(src, &catalog()).expect_err("rejected");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "unknown_field");
    let (a, b) = errors[0].span.expect("has a span");
    assert_eq!(&src[a..b], "shoe_size = 42");
}

#[test]
fn a_wrong_type_is_reported_with_the_value() {
    let errors = parse(r#"order_count >= "three""#, &catalog()).expect_err("rejected");
    assert_eq!(errors[0].code, "expected_number");
    assert_eq!(errors[0].path, "/value");
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let errors =
        parse(r#"paid_fen contains "x" or custom.nope = 1 or gender = "robot""#, &catalog()).expect_err("rejected");
    let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["op_not_for_type", "unknown_field", "unknown_option"]);
}

#[test]
fn an_ambiguous_tag_name_asks_for_its_group() {
    let errors = parse(r#"tag any ["金卡"]"#, &catalog()).expect_err("rejected");
    assert_eq!(errors[0].code, "ambiguous_tag");
    assert!(parse(r#"tag any ["旧标签/金卡"]"#, &catalog()).is_ok());
}

#[test]
fn syntax_errors_point_at_the_token() {
    for (src, code) in [
        ("order_count >=", "unexpected_end"),
        ("(has phone", "unexpected_end"),
        ("has phone has email", "unexpected_token"),
        ("\"unterminated", "unterminated_string"),
        ("name ~ 1", "unexpected_character"),
        ("tag some [\"x\"]", "expected_any_all_none"),
    ] {
        let errors = parse(src, &catalog()).expect_err(src);
        assert_eq!(errors[0].code, code, "{src}");
        assert!(errors[0].span.is_some(), "{src}");
    }
}

#[test]
fn an_empty_group_is_rejected() {
    let c: Condition = serde_json::from_value(json!({"type": "any", "of": []})).expect("valid json");
    let errors = check(&c, &catalog()).expect_err("rejected");
    assert_eq!(errors[0].code, "empty_group");
    assert_eq!(errors[0].path, "/of");
}

#[test]
fn a_cycle_through_nested_segments_is_rejected() {
    let (a, b) = (SegmentId::new(), SegmentId::new());
    let mut c = catalog();
    c.segments = vec![
        SegmentRef {
            id: a,
            name: "A".into(),
            kind: SegmentKind::Dynamic,
            definition: Condition::Segment { segment: b },
        },
        SegmentRef {
            id: b,
            name: "B".into(),
            kind: SegmentKind::Dynamic,
            definition: Condition::Segment { segment: a },
        },
    ];
    c.defining = Some(a);
    let errors = check(&Condition::Segment { segment: b }, &c).expect_err("rejected");
    assert_eq!(errors[0].code, "segment_cycle");
}

#[test]
fn a_dynamic_segment_is_inlined_and_a_static_one_is_a_membership_test() {
    let (dynamic, fixed) = (SegmentId::new(), SegmentId::new());
    let mut c = catalog();
    c.segments = vec![
        SegmentRef {
            id: dynamic,
            name: "复购".into(),
            kind: SegmentKind::Dynamic,
            definition: Condition::Identity { kind: IdentityKind::Unionid },
        },
        SegmentRef {
            id: fixed,
            name: "名单".into(),
            kind: SegmentKind::Static,
            definition: Condition::All { of: vec![] },
        },
    ];
    let (_, rule) = parse(r#"segment "复购" and segment "名单""#, &c).expect("parses");
    assert_eq!(
        rule,
        Rule::All(vec![Rule::Atom(Atom::Identity(IdentityKind::Unionid)), Rule::Atom(Atom::Member(fixed))])
    );
}

#[test]
fn date_literals_are_midnight_in_the_tenant_time_zone() {
    let mut c = catalog();
    c.offset = chrono::FixedOffset::east_opt(8 * 3600);
    let (_, rule) = parse(r#"created_at >= "2026-01-01""#, &c).expect("parses");
    let Rule::Atom(Atom::Time { test: crate::segment::TimeTest::At(_, t), .. }) = rule else { panic!("{rule:?}") };
    assert_eq!(t.to_rfc3339(), "2025-12-31T16:00:00+00:00");
}

#[test]
fn the_json_form_round_trips_through_serde() {
    let (cond, _) = parse(EXAMPLE, &catalog()).expect("parses");
    let json = serde_json::to_value(&cond).expect("serialises");
    let back: Condition = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, cond);
}

#[test]
fn a_group_condition_prints_unique_names_and_otherwise_ids_and_round_trips() {
    let c = catalog();
    let (vip, chat) = (c.groups[0].0, c.groups[2].0);
    let src =
        format!(r#"group any ["会员福利群"] and not group none ["{chat}"] and group all ["会员福利群", "{chat}"]"#);
    let (cond, rule) = parse(&src, &c).expect("parses");
    let Condition::All { of } = &cond else { panic!("not a group: {cond:?}") };
    assert_eq!(of[0], Condition::Groups { groups: vec![vip], mode: TagMatch::Any });
    let Rule::All(rules) = rule else { panic!("rule is not a group") };
    assert_eq!(rules[2], Rule::Atom(Atom::Groups { mode: TagMatch::All, groups: vec![vip, chat] }));
    let text = print(&cond, &c);
    assert!(
        text.contains(r#"group any ["会员福利群"]"#) && text.contains(&format!(r#"group none ["{chat}"]"#)),
        "{text}"
    );
    assert_eq!(parse(&text, &c).expect("the printed text parses").0, cond, "{text}");
    let json = serde_json::to_value(&of[0]).expect("serialises");
    assert_eq!(json, json!({"type": "groups", "groups": [vip], "match": "any"}));
    assert_eq!(serde_json::from_value::<Condition>(json).expect("deserialises"), of[0]);
}

#[test]
fn an_unknown_group_id_is_reported_at_its_place_in_the_list() {
    let c = catalog();
    let stranger = GroupId::new();
    let def = json!({"type": "all", "of": [{"type": "identity", "kind": "unionid"},
        {"type": "groups", "groups": [c.groups[0].0, stranger], "match": "all"}]});
    let def: Condition = serde_json::from_value(def).expect("valid json");
    let errors = check(&def, &c).expect_err("rejected");
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].code.as_str(), errors[0].path.as_str()), ("unknown_group", "/of/1/groups/1"));
    assert_eq!(errors[0].detail, stranger.to_string());
    let empty: Condition = serde_json::from_value(json!({"type": "groups", "groups": [], "match": "any"})).unwrap();
    assert_eq!(check(&empty, &c).expect_err("rejected")[0].code, "empty_list");
}

#[test]
fn a_group_name_in_the_text_must_name_exactly_one_group() {
    let src = r#"has unionid and group any ["会员福利群", "没有这个群"]"#;
    let errors = parse(src, &catalog()).expect_err("rejected");
    assert_eq!((errors[0].code.as_str(), errors[0].detail.as_str()), ("unknown_group", "没有这个群"));
    let (a, b) = errors[0].span.expect("has a span");
    assert_eq!(&src[a..b], r#""没有这个群""#);
    let errors = parse(r#"group none ["群聊"]"#, &catalog()).expect_err("rejected");
    assert_eq!(errors[0].code, "ambiguous_group");
    let errors = parse(&format!(r#"group any ["{}"]"#, GroupId::new()), &catalog()).expect_err("rejected");
    assert_eq!(errors[0].code, "unknown_group");
}

proptest::proptest! {
    #[test]
    fn parsing_any_text_never_panics(src in "\\PC{0,80}") {
        let _ = parse(&src, &catalog());
    }

    #[test]
    fn parsing_token_soup_never_panics(words in proptest::collection::vec(
        proptest::sample::select(vec!["and", "or", "not", "(", ")", "[", "]", ",", "tag", "any", "\"金卡\"",
            "order_count", ">=", "3", "30d", "within", "event", "\"x\"", "where", "has", "unionid", "is", "set",
            "follow", "staff", "segment", "=", "-1e9", "custom.city", "in", "group", "\"群聊\"", "none"]), 0..20)) {
        let _ = parse(&words.join(" "), &catalog());
    }
}
