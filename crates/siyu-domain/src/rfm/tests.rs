use chrono::{DateTime, Duration, FixedOffset, Utc};

use super::*;
use crate::order::OrderStatus;

mod inputs;
mod super_users;

pub(super) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

pub(super) fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// Noon, 30 June 2025, Beijing time.
pub(super) fn as_of() -> DateTime<Utc> {
    at("2025-06-30T12:00:00+08:00")
}

/// A customer last active `days` days before [`as_of`].
pub(super) fn input(days: i64, frequency: u32, monetary_fen: i64) -> RfmInput {
    RfmInput { customer: CustomerId::new(), last_at: Some(as_of() - Duration::days(days)), frequency, monetary_fen }
}

pub(super) fn quantiles() -> RfmConfig {
    RfmConfig { scoring: Scoring::Quantiles, ..RfmConfig::default() }
}

pub(super) fn order(status: OrderStatus, paid_at: &str, paid_fen: i64, refunded_fen: i64) -> RfmOrder {
    RfmOrder { status, paid_at: at(paid_at), paid_fen, refunded_fen }
}

fn score(config: &RfmConfig, inputs: &[RfmInput]) -> Vec<RfmScore> {
    config.validate().unwrap();
    score_all(config, inputs, as_of(), beijing())
}

fn invalid(config: RfmConfig) -> (String, String) {
    let e = config.validate().unwrap_err();
    (e.field, e.reason)
}

#[test]
fn the_default_config_is_valid_and_uses_fixed_thresholds_over_the_last_year() {
    let config = RfmConfig::default();
    config.validate().unwrap();
    assert_eq!(config.version, 1);
    assert!(matches!(config.scoring, Scoring::Fixed { .. }));
    assert_eq!(config.frequency, FrequencyBasis::PurchaseDays);
    assert_eq!(config.frequency_window, Window::Days(365));
}

#[test]
fn the_config_round_trips_through_json_and_missing_fields_take_the_defaults() {
    let config = RfmConfig { exclude_tags: vec![crate::id::TagId::new()], ..quantiles() };
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!(json["scoring"], "quantiles");
    assert_eq!(json["frequency_window"]["days"], 365);
    assert_eq!(json["high"]["r"]["score_at_least"], 4);
    assert_eq!(serde_json::from_value::<RfmConfig>(json).unwrap(), config);

    let partial: RfmConfig = serde_json::from_str(r#"{"version": 7, "scoring": "quantiles"}"#).unwrap();
    assert_eq!(partial, RfmConfig { version: 7, ..quantiles() });
    assert!(serde_json::from_str::<RfmConfig>(r#"{"versoin": 7}"#).is_err());
}

#[test]
fn cut_points_that_are_not_ascending_are_rejected_naming_the_field() {
    let fixed = |r_days: Vec<u32>, f: Vec<u32>, m_fen: Vec<i64>| RfmConfig {
        scoring: Scoring::Fixed { r_days, f, m_fen },
        ..RfmConfig::default()
    };
    let ok_m = vec![100, 200, 300, 400];
    assert_eq!(invalid(fixed(vec![30, 90, 90, 365], vec![2, 3, 5, 8], ok_m.clone())).0, "scoring.r_days");
    assert_eq!(invalid(fixed(vec![30, 90, 180, 365], vec![3, 2, 5, 8], ok_m.clone())).1, "not_ascending");
    let (field, reason) = invalid(fixed(vec![30, 90, 180, 365], vec![2, 3, 5, 8], vec![400, 300, 200, 100]));
    assert_eq!((field.as_str(), reason.as_str()), ("scoring.m_fen", "not_ascending"));
}

#[test]
fn empty_short_and_out_of_range_settings_are_rejected_naming_the_field() {
    let with_scoring = |r_days: Vec<u32>, f: Vec<u32>| RfmConfig {
        scoring: Scoring::Fixed { r_days, f, m_fen: vec![1, 2, 3, 4] },
        ..RfmConfig::default()
    };
    assert_eq!(invalid(with_scoring(vec![], vec![2, 3, 5, 8])), ("scoring.r_days".into(), "required".into()));
    assert_eq!(invalid(with_scoring(vec![30, 90, 180], vec![2, 3, 5, 8])).1, "expected_4_cut_points");
    assert_eq!(invalid(with_scoring(vec![30, 90, 180, 365], vec![0, 3, 5, 8])).0, "scoring.f");
    assert_eq!(invalid(with_scoring(vec![30, 90, 180, 99_999], vec![2, 3, 5, 8])).1, "out_of_range (0..=3660)");

    let high = |r| RfmConfig { high: HighRules { r, ..RfmConfig::default().high }, ..RfmConfig::default() };
    assert_eq!(invalid(high(HighRule::ScoreAtLeast(0))).0, "high.r");
    assert_eq!(invalid(high(HighRule::ScoreAtLeast(6))).1, "out_of_range (1..=5)");
    high(HighRule::AboveMeanScore).validate().unwrap();

    let window = RfmConfig { monetary_window: Window::Days(0), ..RfmConfig::default() };
    assert_eq!(invalid(window).0, "monetary_window");
    let source = RfmConfig { source: RfmSource::Interactions { spend_threshold_fen: 0 }, ..RfmConfig::default() };
    assert_eq!(invalid(source).0, "source.spend_threshold_fen");
    let tag = crate::id::TagId::new();
    let tags = RfmConfig { exclude_tags: vec![tag, tag], ..RfmConfig::default() };
    assert_eq!(invalid(tags), ("exclude_tags".into(), "duplicate_tag".into()));
    let rule = SuperUserRule { top_monetary_percent: Some(0), ..SuperUserRule::default() };
    assert_eq!(invalid(RfmConfig { super_users: rule, ..RfmConfig::default() }).0, "super_users.top_monetary_percent");
    let none = SuperUserRule { top_monetary_percent: None, min_frequency: None, class: None };
    assert_eq!(invalid(RfmConfig { super_users: none, ..RfmConfig::default() }).1, "no_condition");
}

#[test]
fn a_recency_exactly_on_a_cut_point_scores_the_better_side() {
    let config = RfmConfig::default(); // r_days 30, 90, 180, 365
    let days = [0, 30, 31, 90, 91, 180, 181, 365, 366, 2000];
    let inputs: Vec<RfmInput> = days.iter().map(|d| input(*d, 1, 1)).collect();
    let r: Vec<u8> = score(&config, &inputs).iter().map(|s| s.r).collect();
    assert_eq!(r, [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
}

#[test]
fn frequency_and_monetary_exactly_on_a_cut_point_reach_that_score() {
    let config = RfmConfig::default(); // f 2, 3, 5, 8; m_fen 10 000, 30 000, 80 000, 200 000
    let values = [(0, 0), (1, 9_999), (2, 10_000), (4, 29_999), (5, 30_000), (7, 80_000), (8, 200_000), (99, 1 << 40)];
    let inputs: Vec<RfmInput> = values.iter().map(|(f, m)| input(1, *f, *m)).collect();
    let scores = score(&config, &inputs);
    assert_eq!(scores.iter().map(|s| s.f).collect::<Vec<_>>(), [1, 1, 2, 3, 4, 4, 5, 5]);
    assert_eq!(scores.iter().map(|s| s.m).collect::<Vec<_>>(), [1, 1, 2, 2, 3, 4, 5, 5]);
}

#[test]
fn quintiles_split_distinct_values_into_five_equal_groups_with_recent_scoring_high() {
    let inputs: Vec<RfmInput> = (0..10).map(|i| input(i, 10 - i as u32, 100 * i)).collect();
    let scores = score(&quantiles(), &inputs);
    assert_eq!(scores.iter().map(|s| s.r).collect::<Vec<_>>(), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    assert_eq!(scores.iter().map(|s| s.f).collect::<Vec<_>>(), [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    assert_eq!(scores.iter().map(|s| s.m).collect::<Vec<_>>(), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
}

#[test]
fn equal_values_share_a_quintile_because_ties_take_the_lowest_rank() {
    // Six one-time buyers, two with F = 2, one with 3, one with 4: L = 0, 6, 8, 9 → 1 + ⌊5L/10⌋.
    let f = [1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    let inputs: Vec<RfmInput> = f.iter().map(|f| input(3, *f, 500)).collect();
    let scores = score(&quantiles(), &inputs);
    assert_eq!(scores.iter().map(|s| s.f).collect::<Vec<_>>(), [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]);
    // Everyone bought on the same day and spent the same: every R and M is the lowest score.
    assert!(scores.iter().all(|s| s.r == 1 && s.m == 1));
}

#[test]
fn a_single_customer_scores_one_in_quantiles() {
    let scores = score(&quantiles(), &[input(0, 9, 1_000_000)]);
    assert_eq!((scores[0].r, scores[0].f, scores[0].m), (1, 1, 1));
}

#[test]
fn customers_without_a_qualifying_activity_get_no_score_and_the_rest_keep_their_order() {
    let none = RfmInput { last_at: None, ..input(0, 0, 0) };
    let inputs = [input(1, 1, 1), none, input(2, 2, 2)];
    let scores = score(&RfmConfig::default(), &inputs);
    assert_eq!(scores.iter().map(|s| s.customer).collect::<Vec<_>>(), [inputs[0].customer, inputs[2].customer]);
    assert!(score_all(&quantiles(), &[none], as_of(), beijing()).is_empty());
}

#[test]
fn the_eight_classes_follow_the_table_with_stable_codes_and_labels() {
    use RfmClass::*;
    let table = [
        ((true, true, true), ImportantValue, "important_value", "重要价值"),
        ((true, false, true), ImportantDevelop, "important_develop", "重要发展"),
        ((false, true, true), ImportantKeep, "important_keep", "重要保持"),
        ((false, false, true), ImportantWinBack, "important_win_back", "重要挽留"),
        ((true, true, false), GeneralValue, "general_value", "一般价值"),
        ((true, false, false), GeneralDevelop, "general_develop", "一般发展"),
        ((false, true, false), GeneralKeep, "general_keep", "一般保持"),
        ((false, false, false), GeneralWinBack, "general_win_back", "一般挽留"),
    ];
    for (((r, f, m), class, code, zh), listed) in table.into_iter().zip(RfmClass::all()) {
        assert_eq!(RfmClass::of(r, f, m), class);
        assert_eq!(listed, class);
        assert_eq!((class.as_str(), class.label_zh()), (code, zh));
        assert_eq!(RfmClass::parse(code), Some(class));
        assert_eq!(serde_json::to_value(class).unwrap(), code);
        assert_eq!(class.is_important(), m);
        assert_eq!(class.layer(), RfmLayer::of(r, f));
        assert!(!class.label_en().is_empty());
    }
    let layers: Vec<_> = RfmLayer::all().iter().map(|l| (l.as_str(), l.label_zh())).collect();
    assert_eq!(layers, [("value", "价值"), ("develop", "发展"), ("keep", "保持"), ("win_back", "挽留")]);
    assert_eq!(RfmLayer::parse("win_back"), Some(RfmLayer::WinBack));
}

#[test]
fn scores_are_classified_by_the_high_rules() {
    let config = RfmConfig::default(); // high: r ≥ 4 (≤ 90 days), f ≥ 2 (2+ days), m ≥ 3 (≥ ¥300)
    let inputs = [input(90, 2, 30_000), input(91, 2, 30_000), input(10, 1, 29_999), input(400, 1, 0)];
    let classes: Vec<_> = score(&config, &inputs).iter().map(|s| (s.class, s.layer)).collect();
    use RfmClass::*;
    assert_eq!(
        classes,
        [
            (ImportantValue, RfmLayer::Value),
            (ImportantKeep, RfmLayer::Keep),
            (GeneralDevelop, RfmLayer::Develop),
            (GeneralWinBack, RfmLayer::WinBack),
        ]
    );
}

#[test]
fn above_mean_score_compares_each_score_with_the_population_mean() {
    let high = HighRules { r: HighRule::AboveMeanScore, f: HighRule::AboveMeanScore, m: HighRule::AboveMeanScore };
    let config = RfmConfig { high, ..RfmConfig::default() };
    // r scores 5, 4, 1, 1: mean 2.75, so the first two are high; f 1, 1, 1, 5: mean 2, only the last.
    let inputs = [input(1, 1, 0), input(60, 1, 0), input(999, 1, 0), input(999, 9, 0)];
    let scores = score(&config, &inputs);
    assert_eq!(scores.iter().map(|s| s.r).collect::<Vec<_>>(), [5, 4, 1, 1]);
    let layers: Vec<_> = scores.iter().map(|s| s.layer).collect();
    assert_eq!(layers, [RfmLayer::Develop, RfmLayer::Develop, RfmLayer::WinBack, RfmLayer::Keep]);
    // Everyone's m is 1, which equals the mean: high for all.
    assert!(scores.iter().all(|s| s.class.is_important()));
}

#[test]
fn interaction_mode_grades_m_by_the_spend_threshold_alone() {
    let source = RfmSource::Interactions { spend_threshold_fen: 5_000 };
    let config = RfmConfig {
        source,
        high: HighRules { m: HighRule::ScoreAtLeast(5), ..RfmConfig::default().high },
        ..quantiles()
    };
    let scores = score(&config, &[input(1, 3, 4_999), input(1, 3, 5_000), input(1, 3, 0)]);
    assert_eq!(scores.iter().map(|s| s.m).collect::<Vec<_>>(), [1, 5, 1]);
    assert_eq!(scores.iter().map(|s| s.class.is_important()).collect::<Vec<_>>(), [false, true, false]);
    assert!(config.depends_on_population());
}

#[test]
fn excluded_customers_are_left_out_and_do_not_move_the_quantiles() {
    let staff = crate::id::TagId::new();
    let config = RfmConfig { exclude_tags: vec![staff], ..quantiles() };
    let buyers: Vec<RfmInput> = (0..5).map(|i| input(i, 1 + i as u32, 100 * (i + 1))).collect();
    let tester = input(0, 50, 9_000_000);
    let mut inputs = buyers.clone();
    inputs.insert(2, tester);
    let staff_tags = [staff];
    retain_included(&config, &mut inputs, |c| if c == tester.customer { &staff_tags[..] } else { &[] });
    assert_eq!(inputs, buyers);
    let scores = score(&config, &inputs);
    assert_eq!(scores.iter().map(|s| s.m).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert!(config.excludes(&[crate::id::TagId::new(), staff]));
    assert!(!config.excludes(&[]));
}

#[test]
fn only_quantiles_and_mean_rules_make_scores_depend_on_the_population() {
    let config = RfmConfig::default();
    assert!(!config.depends_on_population());
    assert!(quantiles().depends_on_population());
    let mean = HighRules { f: HighRule::AboveMeanScore, ..config.high };
    assert!(RfmConfig { high: mean, ..config.clone() }.depends_on_population());
    // M by a spend threshold ignores the M rule.
    let m_mean = HighRules { m: HighRule::AboveMeanScore, ..config.high };
    let source = RfmSource::Interactions { spend_threshold_fen: 1 };
    assert!(!RfmConfig { high: m_mean, source, ..config }.depends_on_population());
}
