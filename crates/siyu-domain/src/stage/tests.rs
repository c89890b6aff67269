use super::*;

fn moved<'a>(s: &'a Stages, current: Option<&str>, fact: Fact<'_>) -> Option<&'a str> {
    s.on_fact(current, fact).map(|(d, _)| d.key.as_str())
}

#[test]
fn a_new_customer_enters_the_first_stage() {
    let s = defaults();
    assert_eq!(moved(&s, None, Fact::Created), Some("new"));
    assert_eq!(moved(&s, Some("new"), Fact::Created), None);
}

#[test]
fn rules_move_customers_forward_only() {
    let s = defaults();
    assert_eq!(moved(&s, Some("new"), Fact::Event("Product Viewed")), Some("interested"));
    assert_eq!(moved(&s, Some("purchased"), Fact::Event("Product Viewed")), None);
    assert_eq!(moved(&s, Some("interested"), Fact::PaidOrders(1)), Some("purchased"));
    assert_eq!(moved(&s, Some("new"), Fact::PaidOrders(2)), Some("repeat"));
    assert_eq!(moved(&s, Some("repeat"), Fact::PaidOrders(3)), None);
}

#[test]
fn a_silent_customer_moves_back_on_a_reply_and_on_to_repeat_on_an_order() {
    let s = defaults();
    assert_eq!(moved(&s, Some("silent"), Fact::Event("reply")), Some("interested"));
    assert_eq!(moved(&s, Some("reactivating"), Fact::PaidOrders(4)), Some("repeat"));
    assert_eq!(moved(&s, Some("silent"), Fact::PaidOrders(1)), Some("purchased"));
}

#[test]
fn a_rule_naming_its_from_stages_moves_only_from_those() {
    let tag = TagId::new();
    let mut list = defaults().0;
    list[1].rules.push(EntryRule::TagAdded { tag, from: vec!["repeat".into()] });
    let s = Stages::parse(list).unwrap();
    assert_eq!(moved(&s, Some("repeat"), Fact::TagAdded(tag)), Some("interested"));
    assert_eq!(moved(&s, Some("new"), Fact::TagAdded(tag)), None);
}

#[test]
fn time_rules_are_listed_for_the_sweep() {
    let s = defaults();
    let silence: Vec<_> = s.silence().map(|(d, n)| (d.key.as_str(), n)).collect();
    assert_eq!(silence, vec![("silent", 60)]);
    let stalls: Vec<_> = s.stalls().map(|(d, from, n)| (d.key.as_str(), from, n)).collect();
    assert_eq!(stalls, vec![("not_purchased", "met", 14)]);
    assert!(s.event_names().any(|n| n == "quote_sent"));
}

#[test]
fn a_stage_list_with_problems_is_refused_with_a_code() {
    let code = |list: Vec<StageDef>| Stages::parse(list).unwrap_err().reason;
    let mut dup = defaults().0;
    dup[1].key = "new".into();
    assert_eq!(code(dup), "duplicate_stage");
    let mut bad = defaults().0;
    bad[0].key = "新".into();
    assert_eq!(code(bad), "bad_stage_key");
    let mut dangling = defaults().0;
    dangling[3].rules = vec![EntryRule::Stalled { stage: "nowhere".into(), days: 3 }];
    assert_eq!(code(dangling), "unknown_stage");
    assert_eq!(code(Vec::new()), "stage_count_out_of_range");
    let mut zero = defaults().0;
    zero[6].rules = vec![EntryRule::Silent { days: 0 }];
    assert_eq!(code(zero), "days_out_of_range");
}

#[test]
fn the_defaults_parse_and_round_trip_as_json() {
    let s = defaults();
    let back: Vec<StageDef> = serde_json::from_value(serde_json::to_value(&s.0).unwrap()).unwrap();
    assert_eq!(Stages::parse(back).unwrap(), s);
}
