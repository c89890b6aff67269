//! The tenant's RFM configuration: every definitional choice of cdp.md §5, versioned as a whole.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::Invalid;
use crate::id::TagId;

use super::super_user::SuperUserRule;

/// Cut points per dimension of [`Scoring::Fixed`] (four cuts make the five scores).
pub const CUT_POINTS: usize = 4;
/// Longest window and largest recency cut point, in days (ten years).
pub const MAX_DAYS: u32 = 3660;
/// Largest frequency cut point.
pub const MAX_FREQUENCY: u32 = 100_000;
/// Largest amount a monetary cut point or threshold may have: ¥100 000 000, in fen.
pub const MAX_FEN: i64 = 10_000_000_000;
/// Most exclusion tags.
pub const MAX_EXCLUDE_TAGS: usize = 100;

/// How a tenant scores RFM. Stored as JSON; `version` is bumped by the store on every change so each
/// stored score says which configuration made it. Missing fields take their [`Default`] values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RfmConfig {
    pub version: u32,
    /// What R and F are measured on.
    pub source: RfmSource,
    /// What F counts.
    pub frequency: FrequencyBasis,
    /// Which activities F counts (by their day in the tenant's time zone).
    pub frequency_window: Window,
    /// What M adds up.
    pub monetary: MonetaryBasis,
    /// Which orders M adds up.
    pub monetary_window: Window,
    pub scoring: Scoring,
    /// When each dimension counts as high (for the class).
    pub high: HighRules,
    /// Customers holding any of these tags (staff, test, wholesale accounts) are left out of scoring and
    /// of the quantile population; see [`RfmConfig::excludes`].
    pub exclude_tags: Vec<TagId>,
    pub super_users: SuperUserRule,
}

/// What R and F are measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RfmSource {
    /// Counted orders (paid, not closed, not refunded in full).
    Orders,
    /// Chat and other interaction events, for customers who mostly do not order online (the kj-scrm
    /// option): R is the last interaction, F counts interactions (or the days with one). M is then not a
    /// five-step score but a spend threshold: net spend (as for `Orders`) of at least
    /// `spend_threshold_fen` scores 5 and is high, anything less scores 1 and is low.
    Interactions { spend_threshold_fen: i64 },
}

/// What F counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FrequencyBasis {
    /// Every counted order (every interaction, for [`RfmSource::Interactions`]).
    Orders,
    /// Distinct days with a counted order (an interaction) in the tenant's time zone: same-day orders
    /// count once, so split orders (拆单) do not inflate F.
    PurchaseDays,
}

/// Which activities a dimension looks at, by their calendar day in the tenant's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// Everything up to the as-of day.
    Lifetime,
    /// The as-of day and the `n − 1` days before it: an activity `d` whole days before the as-of day is
    /// inside when `d < n` (`Days(365)`: the last 365 calendar days, today included).
    Days(u32),
}

impl Window {
    /// Whether an activity `days_ago` whole days before the as-of day is inside the window.
    pub fn contains(self, days_ago: u32) -> bool {
        match self {
            Self::Lifetime => true,
            Self::Days(n) => days_ago < n,
        }
    }
}

/// What M adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MonetaryBasis {
    /// Σ (paid − refunded) fen over counted orders in the window.
    Total,
    /// That total divided by the number of counted orders in the window, floored (0 without orders).
    AveragePerOrder,
}

/// How values become scores 1–5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Operator-set cut points, four per dimension, strictly ascending. Stable and easy to explain.
    /// R: `r = 1 + #{c ∈ r_days : recency_days ≤ c}` (on a cut point scores the better side).
    /// F: `f = 1 + #{c ∈ f : frequency ≥ c}`. M: `m = 1 + #{c ∈ m_fen : monetary_fen ≥ c}`.
    Fixed { r_days: Vec<u32>, f: Vec<u32>, m_fen: Vec<i64> },
    /// Quintiles within the tenant's scored customers, R reversed so recent is high. With `N` scored
    /// customers and `L` the number of them whose value is strictly worse than the customer's:
    /// `score = 1 + ⌊5·L / N⌋`. Equal values have equal `L`, hence equal scores. In SQL:
    /// `1 + (5 * (RANK() OVER (ORDER BY v) - 1)) / COUNT(*) OVER ()` with integer division, ordering F and
    /// M ascending and R by `recency_days DESC`. Cut points move as the population changes.
    Quantiles,
}

/// When one dimension's score counts as high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HighRule {
    /// The score is at least this (1–5).
    ScoreAtLeast(u8),
    /// The score is at least the mean score of the scored customers (exactly: `score · N ≥ Σ scores`).
    AboveMeanScore,
}

impl HighRule {
    /// Whether `score` is high, given the population's score sum and size (for the mean rule).
    pub fn is_high(self, score: u8, sum: u64, population: u64) -> bool {
        match self {
            Self::ScoreAtLeast(c) => score >= c,
            Self::AboveMeanScore => u64::from(score) * population >= sum,
        }
    }
}

/// The high/low rule of each dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HighRules {
    pub r: HighRule,
    pub f: HighRule,
    pub m: HighRule,
}

impl Default for RfmConfig {
    /// Fixed thresholds for Chinese retail, over the last year: R high = bought within 90 days, F high =
    /// bought on two or more days (a repeat buyer), M high = spent ¥300 or more.
    fn default() -> Self {
        Self {
            version: 1,
            source: RfmSource::Orders,
            frequency: FrequencyBasis::PurchaseDays,
            frequency_window: Window::Days(365),
            monetary: MonetaryBasis::Total,
            monetary_window: Window::Days(365),
            scoring: Scoring::Fixed {
                r_days: vec![30, 90, 180, 365],
                f: vec![2, 3, 5, 8],
                m_fen: vec![10_000, 30_000, 80_000, 200_000],
            },
            high: HighRules {
                r: HighRule::ScoreAtLeast(4),
                f: HighRule::ScoreAtLeast(2),
                m: HighRule::ScoreAtLeast(3),
            },
            exclude_tags: Vec::new(),
            super_users: SuperUserRule::default(),
        }
    }
}

impl RfmConfig {
    /// Checks every field; the error names the first bad one (`scoring.r_days`, `high.m`, ...).
    pub fn validate(&self) -> Result<(), Invalid> {
        if let RfmSource::Interactions { spend_threshold_fen } = self.source {
            in_range("source.spend_threshold_fen", spend_threshold_fen, 1, MAX_FEN)?;
        }
        window("frequency_window", self.frequency_window)?;
        window("monetary_window", self.monetary_window)?;
        if let Scoring::Fixed { r_days, f, m_fen } = &self.scoring {
            cut_points("scoring.r_days", r_days, 0, MAX_DAYS)?;
            cut_points("scoring.f", f, 1, MAX_FREQUENCY)?;
            cut_points("scoring.m_fen", m_fen, 1, MAX_FEN)?;
        }
        high("high.r", self.high.r)?;
        high("high.f", self.high.f)?;
        high("high.m", self.high.m)?;
        if self.exclude_tags.len() > MAX_EXCLUDE_TAGS {
            return Err(Invalid::new("exclude_tags", format!("too_many (max {MAX_EXCLUDE_TAGS})")));
        }
        let mut seen = HashSet::new();
        if !self.exclude_tags.iter().all(|t| seen.insert(*t)) {
            return Err(Invalid::new("exclude_tags", "duplicate_tag"));
        }
        self.super_users.validate("super_users")
    }

    /// Whether a customer holding `tags` is left out of RFM (holds one of [`RfmConfig::exclude_tags`]).
    pub fn excludes(&self, tags: &[TagId]) -> bool {
        tags.iter().any(|t| self.exclude_tags.contains(t))
    }

    /// Whether one customer's scores and class depend on the other customers' (quantiles or a mean rule).
    /// When not, a single customer can be rescored alone, e.g. on an order change; otherwise rescore the
    /// tenant. (Super users by an M percentile always depend on the population.)
    pub fn depends_on_population(&self) -> bool {
        let mean = |h: HighRule| h == HighRule::AboveMeanScore;
        let m_by_threshold = matches!(self.source, RfmSource::Interactions { .. });
        self.scoring == Scoring::Quantiles
            || mean(self.high.r)
            || mean(self.high.f)
            || (mean(self.high.m) && !m_by_threshold)
    }
}

fn in_range<T: PartialOrd + std::fmt::Display>(field: &str, v: T, min: T, max: T) -> Result<(), Invalid> {
    if v < min || v > max {
        return Err(Invalid::new(field, format!("out_of_range ({min}..={max})")));
    }
    Ok(())
}

fn window(field: &str, w: Window) -> Result<(), Invalid> {
    match w {
        Window::Lifetime => Ok(()),
        Window::Days(n) => in_range(field, n, 1, MAX_DAYS),
    }
}

fn cut_points<T: PartialOrd + Copy + std::fmt::Display>(
    field: &str,
    cuts: &[T],
    min: T,
    max: T,
) -> Result<(), Invalid> {
    if cuts.is_empty() {
        return Err(Invalid::new(field, "required"));
    }
    if cuts.len() != CUT_POINTS {
        return Err(Invalid::new(field, format!("expected_{CUT_POINTS}_cut_points")));
    }
    for c in cuts {
        in_range(field, *c, min, max)?;
    }
    if cuts.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Invalid::new(field, "not_ascending"));
    }
    Ok(())
}

fn high(field: &str, h: HighRule) -> Result<(), Invalid> {
    match h {
        HighRule::ScoreAtLeast(c) => in_range(field, c, 1, 5),
        HighRule::AboveMeanScore => Ok(()),
    }
}
