use super::{as_of, beijing, input};
use crate::rfm::*;

fn scored(values: &[(u32, i64)]) -> Vec<RfmScore> {
    let inputs: Vec<RfmInput> = values.iter().map(|(f, m)| input(5, *f, *m)).collect();
    score_all(&RfmConfig::default(), &inputs, as_of(), beijing())
}

fn only_top(percent: u8) -> SuperUserRule {
    SuperUserRule { top_monetary_percent: Some(percent), min_frequency: None, class: None }
}

#[test]
fn the_top_decile_by_monetary_are_super_users() {
    let values: Vec<(u32, i64)> = (1..=20).map(|i| (3, 1_000 * i)).collect();
    let scores = scored(&values);
    let flags = flag_super_users(&only_top(10), &scores);
    assert_eq!(flags.iter().filter(|f| **f).count(), 2);
    assert!(flags[18] && flags[19]);
    assert_eq!(super_users(&only_top(10), &scores), [scores[18].customer, scores[19].customer]);
}

#[test]
fn ties_on_the_percentile_boundary_are_all_in_and_a_share_rounds_up() {
    // Ten customers, the top decile is one of them, but three share the largest M.
    let mut values: Vec<(u32, i64)> = (1..=7).map(|i| (3, 100 * i)).collect();
    values.extend([(3, 5_000), (3, 5_000), (3, 5_000)]);
    let flags = flag_super_users(&only_top(10), &scored(&values));
    assert_eq!(flags, [false, false, false, false, false, false, false, true, true, true]);
    // Three customers: 10 % of 3 rounds up to one customer.
    let flags = flag_super_users(&only_top(10), &scored(&[(3, 1), (3, 3), (3, 2)]));
    assert_eq!(flags, [false, true, false]);
}

#[test]
fn nobody_without_spend_is_a_super_user_by_monetary() {
    let flags = flag_super_users(&only_top(100), &scored(&[(3, 0), (3, 0), (3, 10)]));
    assert_eq!(flags, [false, false, true]);
    assert!(flag_super_users(&only_top(10), &[]).is_empty());
}

#[test]
fn every_condition_of_the_rule_must_hold() {
    // Default rule: top 10 %, F ≥ 3, 重要价值. All recent and big spenders except where noted.
    let mut values: Vec<(u32, i64)> = (1..=17).map(|i| (3, 100 * i)).collect();
    values.extend([(3, 900_000), (2, 950_000), (5, 800_000)]);
    let scores = scored(&values);
    assert_eq!(scores[18].class, RfmClass::ImportantValue);
    let flags = flag_super_users(&SuperUserRule::default(), &scores);
    // The second largest spender bought on only two days; the third is outside the top two.
    assert_eq!(flags.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect::<Vec<_>>(), [17]);

    let by_class =
        SuperUserRule { top_monetary_percent: None, min_frequency: None, class: Some(RfmClass::GeneralValue) };
    let general: Vec<bool> = scores.iter().map(|s| s.class == RfmClass::GeneralValue).collect();
    assert_eq!(flag_super_users(&by_class, &scores), general);
    let repeat = SuperUserRule { top_monetary_percent: None, min_frequency: Some(4), class: None };
    assert_eq!(super_users(&repeat, &scores), [scores[19].customer]);
}
