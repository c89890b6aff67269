use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;

fn as_of() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-30T12:00:00+08:00").unwrap().to_utc()
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// Customers from `(days ago, hour offset, frequency, monetary)`, numbered in order. Small value ranges,
/// so ties are frequent.
fn inputs(values: &[(i64, i64, u32, i64)]) -> Vec<RfmInput> {
    values
        .iter()
        .enumerate()
        .map(|(i, (days, hours, frequency, monetary_fen))| RfmInput {
            customer: CustomerId(Uuid::from_u128(i as u128 + 1)),
            last_at: Some(as_of() - Duration::days(*days) + Duration::hours(*hours)),
            frequency: *frequency,
            monetary_fen: *monetary_fen,
        })
        .collect()
}

fn values() -> impl Strategy<Value = Vec<(i64, i64, u32, i64)>> {
    prop::collection::vec((0i64..400, -3i64..3, 0u32..12, (0i64..40).prop_map(|m| m * 1_000)), 1..60)
}

fn ascending<T: std::fmt::Debug + Clone + Ord + 'static>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Vec<T>> {
    prop::collection::btree_set(s, 4).prop_map(|set| set.into_iter().collect())
}

fn high_rule() -> impl Strategy<Value = HighRule> {
    prop_oneof![(1u8..=5).prop_map(HighRule::ScoreAtLeast), Just(HighRule::AboveMeanScore)]
}

fn config() -> impl Strategy<Value = RfmConfig> {
    let fixed = (
        ascending(0u32..500),
        ascending(1u32..15),
        ascending(1i64..50).prop_map(|m| m.into_iter().map(|m| m * 1_000).collect::<Vec<_>>()),
    )
        .prop_map(|(r_days, f, m_fen)| Scoring::Fixed { r_days, f, m_fen });
    let scoring = prop_oneof![Just(Scoring::Quantiles), fixed];
    let source = prop_oneof![
        3 => Just(RfmSource::Orders),
        1 => (1i64..40_000).prop_map(|t| RfmSource::Interactions { spend_threshold_fen: t }),
    ];
    (scoring, source, high_rule(), high_rule(), high_rule()).prop_map(|(scoring, source, r, f, m)| {
        let config = RfmConfig { scoring, source, high: HighRules { r, f, m }, ..RfmConfig::default() };
        assert_eq!(config.validate(), Ok(()));
        config
    })
}

fn score(config: &RfmConfig, inputs: &[RfmInput]) -> Vec<RfmScore> {
    score_all(config, inputs, as_of(), beijing())
}

/// Checks `better(a, b) ⇒ score(a) ≥ score(b)` over every pair.
fn monotone(scores: &[RfmScore], better: impl Fn(&RfmScore, &RfmScore) -> bool, dim: impl Fn(&RfmScore) -> u8) {
    for a in scores {
        for b in scores {
            if better(a, b) {
                assert!(dim(a) >= dim(b), "{a:?} is better than {b:?} but scores lower");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_score_is_between_one_and_five(config in config(), values in values()) {
        let scores = score(&config, &inputs(&values));
        prop_assert_eq!(scores.len(), values.len());
        for s in &scores {
            prop_assert!((1..=5).contains(&s.r) && (1..=5).contains(&s.f) && (1..=5).contains(&s.m));
            prop_assert_eq!(s.layer, s.class.layer());
        }
    }

    #[test]
    fn more_recent_frequent_or_spending_customers_never_score_lower(config in config(), values in values()) {
        let scores = score(&config, &inputs(&values));
        monotone(&scores, |a, b| a.recency_days < b.recency_days, |s| s.r);
        monotone(&scores, |a, b| a.frequency > b.frequency, |s| s.f);
        monotone(&scores, |a, b| a.monetary_fen > b.monetary_fen, |s| s.m);
    }

    #[test]
    fn equal_inputs_get_equal_scores(config in config(), values in values(), copies in 1usize..4) {
        let mut values = values;
        let first = values[0];
        values.extend(std::iter::repeat_n(first, copies));
        let scores = score(&config, &inputs(&values));
        for a in &scores {
            for b in &scores {
                if (a.recency_days, a.frequency, a.monetary_fen) == (b.recency_days, b.frequency, b.monetary_fen) {
                    prop_assert_eq!((a.r, a.f, a.m, a.class), (b.r, b.f, b.m, b.class));
                }
            }
        }
    }

    #[test]
    fn the_order_of_the_inputs_changes_nobodys_score(
        config in config(),
        (values, shuffled) in values().prop_flat_map(|v| {
            let indices: Vec<usize> = (0..v.len()).collect();
            (Just(v), Just(indices).prop_shuffle())
        }),
    ) {
        let original = inputs(&values);
        let permuted: Vec<RfmInput> = shuffled.iter().map(|i| original[*i]).collect();
        let before: HashMap<CustomerId, RfmScore> = score(&config, &original).into_iter().map(|s| (s.customer, s)).collect();
        let after: HashMap<CustomerId, RfmScore> = score(&config, &permuted).into_iter().map(|s| (s.customer, s)).collect();
        prop_assert_eq!(before, after);
    }

    #[test]
    fn quantile_scores_equal_the_sql_rank_formula(values in values()) {
        let config = RfmConfig { scoring: Scoring::Quantiles, ..RfmConfig::default() };
        let scores = score(&config, &inputs(&values));
        let n = scores.len();
        // 1 + (5 * (RANK() OVER (ORDER BY v) - 1)) / COUNT(*) OVER (), RANK() - 1 = #{strictly worse}.
        let rank = |worse: &dyn Fn(&RfmScore) -> bool| 1 + (5 * scores.iter().filter(|x| worse(x)).count() / n) as u8;
        for s in &scores {
            prop_assert_eq!(s.r, rank(&|x| x.recency_days > s.recency_days));
            prop_assert_eq!(s.f, rank(&|x| x.frequency < s.frequency));
            prop_assert_eq!(s.m, rank(&|x| x.monetary_fen < s.monetary_fen));
        }
    }

    #[test]
    fn a_later_last_activity_never_lowers_a_customers_own_r(
        config in config(),
        values in values(),
        earlier_by in 1i64..400,
    ) {
        let mut later = inputs(&values);
        let before = score(&config, &later)[0];
        if let Some(at) = later[0].last_at {
            later[0].last_at = Some(at + Duration::days(earlier_by));
        }
        let after = score(&config, &later)[0];
        prop_assert!(after.r >= before.r);
    }

    #[test]
    fn scoring_counts_recency_in_the_same_calendar_days_as_recency_days(
        last in 0i64..4_000_000_000,
        ahead in -100_000_000i64..400_000_000,
        offset_minutes in -14 * 60i32..=14 * 60,
    ) {
        let tz = FixedOffset::east_opt(offset_minutes * 60).unwrap();
        let last_at = DateTime::from_timestamp(last, 0).unwrap();
        let as_of = DateTime::from_timestamp(last + ahead, 0).unwrap();
        let input = RfmInput { customer: CustomerId::new(), last_at: Some(last_at), frequency: 1, monetary_fen: 1 };
        let scored = score_all(&RfmConfig::default(), &[input], as_of, tz)[0].recency_days;
        prop_assert_eq!(scored, recency_days(last_at, as_of, tz));
    }
}
