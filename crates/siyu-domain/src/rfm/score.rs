//! Scoring a tenant's customers: values → scores 1–5 → high/low → class and layer.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::id::CustomerId;

use super::class::{RfmClass, RfmLayer};
use super::config::{RfmConfig, RfmSource, Scoring};
use super::input::RfmInput;

/// One customer's RFM result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RfmScore {
    pub customer: CustomerId,
    /// Whole calendar days between the last qualifying activity and the as-of day, tenant's zone.
    pub recency_days: u32,
    pub frequency: u32,
    pub monetary_fen: i64,
    /// 1–5, 5 the most recent.
    pub r: u8,
    /// 1–5, 5 the most frequent.
    pub f: u8,
    /// 1–5, 5 the most spent.
    pub m: u8,
    pub class: RfmClass,
    pub layer: RfmLayer,
}

/// Scores every customer with a qualifying activity (`last_at` set); the others get no score. The
/// result keeps the order of `inputs`. Excluded customers ([`RfmConfig::excludes`]) must be left out of
/// `inputs` beforehand, so that they are not part of the quantile population either.
///
/// O(n) for fixed thresholds; O(n) expected for quantiles (four cut values per dimension selected in a
/// scratch buffer, then four comparisons per customer and dimension). `as_of` only counts by its calendar day in
/// the zone `tz`.
pub fn score_all(config: &RfmConfig, inputs: &[RfmInput], as_of: DateTime<Utc>, tz: FixedOffset) -> Vec<RfmScore> {
    let offset = i64::from(tz.local_minus_utc());
    let today = day_number(as_of, offset);
    let mut scores: Vec<RfmScore> = Vec::with_capacity(inputs.len());
    scores.extend(inputs.iter().filter_map(|i| {
        let last_at = i.last_at?;
        let days = today.saturating_sub(day_number(last_at, offset)).max(0);
        Some(RfmScore {
            customer: i.customer,
            recency_days: u32::try_from(days).unwrap_or(u32::MAX),
            frequency: i.frequency,
            monetary_fen: i.monetary_fen,
            r: 1,
            f: 1,
            m: 1,
            class: RfmClass::GeneralWinBack,
            layer: RfmLayer::WinBack,
        })
    }));
    if scores.is_empty() {
        return scores;
    }
    let threshold = match config.source {
        RfmSource::Orders => None,
        RfmSource::Interactions { spend_threshold_fen } => Some(spend_threshold_fen),
    };
    match &config.scoring {
        Scoring::Fixed { r_days, f, m_fen } => {
            for s in &mut scores {
                s.r = at_most(s.recency_days, r_days);
                s.f = at_least(s.frequency, f);
                s.m = at_least(s.monetary_fen, m_fen);
            }
        }
        Scoring::Quantiles => {
            let mut days = Vec::with_capacity(scores.len());
            let r = Quintiles::of(&mut days, scores.iter().map(recency_key));
            let f = Quintiles::of(&mut days, scores.iter().map(|s| s.frequency));
            drop(days);
            let m = match threshold {
                None => Quintiles::of(&mut Vec::with_capacity(scores.len()), scores.iter().map(|s| s.monetary_fen)),
                Some(_) => None,
            };
            for s in &mut scores {
                s.r = r.as_ref().map_or(1, |q| q.score(recency_key(s)));
                s.f = f.as_ref().map_or(1, |q| q.score(s.frequency));
                s.m = m.as_ref().map_or(1, |q| q.score(s.monetary_fen));
            }
        }
    }
    if let Some(t) = threshold {
        for s in &mut scores {
            s.m = if s.monetary_fen >= t { 5 } else { 1 };
        }
    }
    classify(config, &mut scores, threshold);
    scores
}

/// Sets every score's class and layer from its high/low dimensions.
fn classify(config: &RfmConfig, scores: &mut [RfmScore], threshold: Option<i64>) {
    let n = scores.len() as u64;
    let (sum_r, sum_f, sum_m) = scores
        .iter()
        .fold((0u64, 0u64, 0u64), |(r, f, m), s| (r + u64::from(s.r), f + u64::from(s.f), m + u64::from(s.m)));
    for s in scores {
        let r_high = config.high.r.is_high(s.r, sum_r, n);
        let f_high = config.high.f.is_high(s.f, sum_f, n);
        let m_high = match threshold {
            Some(t) => s.monetary_fen >= t,
            None => config.high.m.is_high(s.m, sum_m, n),
        };
        s.class = RfmClass::of(r_high, f_high, m_high);
        s.layer = s.class.layer();
    }
}

/// The calendar day of `at` at the UTC offset `offset` (seconds), as days since 1970-01-01: the same
/// difference as `days_between` of `local_date`s, in integer arithmetic.
fn day_number(at: DateTime<Utc>, offset: i64) -> i64 {
    at.timestamp().saturating_add(offset).div_euclid(86_400)
}

/// R as a value where larger is better, so every dimension is ranked the same way.
fn recency_key(s: &RfmScore) -> u32 {
    u32::MAX - s.recency_days
}

/// A fixed score where smaller is better: `1 + #{c ∈ cuts : v ≤ c}`, at most 5.
fn at_most<T: PartialOrd + Copy>(v: T, cuts: &[T]) -> u8 {
    one_plus(cuts.iter().filter(|c| v <= **c).count())
}

/// A fixed score where larger is better: `1 + #{c ∈ cuts : v ≥ c}`, at most 5.
fn at_least<T: PartialOrd + Copy>(v: T, cuts: &[T]) -> u8 {
    one_plus(cuts.iter().filter(|c| v >= **c).count())
}

fn one_plus(count: usize) -> u8 {
    u8::try_from(count.min(4)).unwrap_or(4) + 1
}

/// The quintile cut values of one dimension (larger is better): `q[k-1]` is the value at 1-based
/// position `⌈k·N/5⌉` of the values sorted ascending, and a value scores `1 + #{k : v > q[k-1]}`.
///
/// That equals `1 + ⌊5·L/N⌋` with `L = #{values < v}`: `⌊5L/N⌋ ≥ k ⟺ L ≥ ⌈kN/5⌉ ⟺ v > q[k-1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Quintiles<T> {
    pub(super) cuts: [T; 4],
}

impl<T: Ord + Copy> Quintiles<T> {
    /// The cut values of `values` (`None` without values), found by selection in `buffer` (cleared
    /// first, so one buffer serves several dimensions). O(n) expected.
    pub(super) fn of(buffer: &mut Vec<T>, values: impl Iterator<Item = T>) -> Option<Self> {
        buffer.clear();
        buffer.extend(values);
        let n = buffer.len();
        let mut cuts = [*buffer.first()?; 4];
        // From the highest position down: after selecting position p, buffer[..=p] holds the p + 1
        // smallest values, so each lower position (never above p) can be selected within it.
        let mut end = n;
        for k in (1..=4usize).rev() {
            let Some(position) = (k * n).div_ceil(5).checked_sub(1) else { continue };
            let Some(slice) = buffer.get_mut(..end) else { continue };
            if position >= slice.len() {
                continue;
            }
            let (_, value, _) = slice.select_nth_unstable(position);
            cuts[k - 1] = *value;
            end = position + 1;
        }
        Some(Self { cuts })
    }

    /// The score 1–5 of a value of the population.
    pub(super) fn score(&self, v: T) -> u8 {
        one_plus(self.cuts.iter().filter(|q| v > **q).count())
    }
}
