//! RFM (cdp.md §5): recency, frequency and monetary value of a tenant's customers, scored 1–5 each and
//! sorted into the eight classes used in China (重要价值 … 一般挽留) and a four-class layering by R × F.
//!
//! Every definitional choice is explicit in the tenant's versioned [`RfmConfig`], so that an independent
//! SQL query over the same orders reproduces the scores row for row. The rules:
//!
//! **Days.** Every day is a calendar day in the tenant's time zone, a fixed UTC offset (China: UTC+8, no
//! daylight saving). `as_of` counts only by its day. Activities on a later day than the as-of day are
//! ignored.
//!
//! **Qualifying activity.** With [`RfmSource::Orders`], a counted order: status paid, shipped, received or
//! partially refunded, and `paid_fen − refunded_fen > 0` (closed, pending and refunded orders never
//! count; partial refunds reduce M). Timed by its paid time. With [`RfmSource::Interactions`], an
//! interaction (chat or other interaction event). A customer without a qualifying activity gets no score.
//!
//! **Values.** `recency_days` = as-of day − day of the last qualifying activity (lifetime, not
//! windowed). F = qualifying activities, or distinct days with one ([`FrequencyBasis`]), whose day is
//! `d < n` days before the as-of day for [`Window::Days`]`(n)`, or any for `Lifetime`. M = Σ
//! `(paid_fen − refunded_fen)` over counted orders in the monetary window, or that sum divided by the
//! number of those orders with integer division ([`MonetaryBasis`]); always from orders.
//!
//! **Scores.** [`Scoring::Fixed`]: `r = 1 + #{c ∈ r_days : recency_days ≤ c}`, `f = 1 + #{c ∈ f :
//! frequency ≥ c}`, `m = 1 + #{c ∈ m_fen : monetary_fen ≥ c}` (a value exactly on a cut point scores the
//! better side). [`Scoring::Quantiles`]: over the `N` scored customers (exclusions already left out),
//! `score = 1 + ⌊5·L/N⌋` where `L` counts the customers with a strictly worse value (F, M: smaller; R:
//! more days). Ties share the lowest rank, hence the same score; the worst value always scores 1. SQL:
//!
//! ```sql
//! 1 + (5 * (RANK() OVER (ORDER BY recency_days DESC) - 1)) / COUNT(*) OVER () AS r,
//! 1 + (5 * (RANK() OVER (ORDER BY frequency ASC) - 1)) / COUNT(*) OVER () AS f,
//! 1 + (5 * (RANK() OVER (ORDER BY monetary_fen ASC) - 1)) / COUNT(*) OVER () AS m
//! ```
//!
//! Equivalently by cut points: sort the values from worst to best; for k = 1..4 let `q_k` be the value
//! at 1-based position `⌈k·N/5⌉`; the score is 1 + the number of `q_k` the value is strictly better
//! than. With [`RfmSource::Interactions`] M is not graded: `m = 5` when `monetary_fen ≥
//! spend_threshold_fen`, else 1.
//!
//! **High/low.** [`HighRule::ScoreAtLeast`]`(c)`: `score ≥ c`. [`HighRule::AboveMeanScore`]: `score ≥
//! AVG(score)` over the scored customers, computed exactly as `score · N ≥ Σ score`. With
//! [`RfmSource::Interactions`], M is high exactly when the spend threshold is reached. The class is
//! [`RfmClass::of`]`(r_high, f_high, m_high)`, the layer [`RfmLayer::of`]`(r_high, f_high)`.
//!
//! **Exclusions.** Customers holding a tag of [`RfmConfig::exclude_tags`] are removed before scoring
//! ([`retain_included`]), so they do not move the quantile cut points either.
//!
//! **Super users.** [`SuperUserRule`]: the top share by M (ties on the boundary in), a minimum F and a
//! class, all among the scored customers ([`flag_super_users`]).
//!
//! Pure: the store reads each customer's orders ([`RfmOrder`]) or interactions, builds [`RfmInput`]s
//! and calls [`score_all`]; it stores `r, f, m`, class, `version` and the computation time.

mod class;
mod config;
mod input;
mod score;
mod super_user;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

pub use class::{RfmClass, RfmLayer};
pub use config::{
    CUT_POINTS, FrequencyBasis, HighRule, HighRules, MAX_DAYS, MAX_EXCLUDE_TAGS, MAX_FEN, MAX_FREQUENCY, MonetaryBasis,
    RfmConfig, RfmSource, Scoring, Window,
};
pub use input::{RfmInput, RfmOrder, days_between, local_date, recency_days};
pub use score::{RfmScore, score_all};
pub use super_user::{SuperUserRule, flag_super_users, super_users};

use crate::id::{CustomerId, TagId};

/// Removes the customers the configuration excludes (holding one of its exclusion tags) from `inputs`,
/// keeping the others' order. `tags_of` gives a customer's tags.
pub fn retain_included<'t>(
    config: &RfmConfig,
    inputs: &mut Vec<RfmInput>,
    mut tags_of: impl FnMut(CustomerId) -> &'t [TagId],
) {
    if config.exclude_tags.is_empty() {
        return;
    }
    inputs.retain(|i| !config.excludes(tags_of(i.customer)));
}

/// A customer's stored RFM result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CustomerRfm {
    pub customer_id: CustomerId,
    pub recency_days: u32,
    pub frequency: u32,
    pub monetary_fen: i64,
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub class: RfmClass,
    pub layer: RfmLayer,
    pub super_user: bool,
    pub config_version: u32,
    pub computed_at: chrono::DateTime<chrono::Utc>,
}

/// One RFM computation of a tenant: how many customers landed in each class and how many moved between
/// classes since the previous run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RfmRun {
    pub as_of: chrono::DateTime<chrono::Utc>,
    pub config_version: u32,
    pub scored: u64,
    pub super_users: u64,
    /// Customers per class code.
    pub classes: std::collections::BTreeMap<String, u64>,
    /// (from class, to class, customers) for customers whose class changed; `none` for no previous class.
    pub moves: Vec<(String, String, u64)>,
}
