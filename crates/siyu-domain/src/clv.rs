//! Customer lifetime value (CLV): how many more purchases a customer will make, how much each will be
//! worth, and what that adds up to, discounted. Pure numerics, no IO.
//!
//! - [`summary`]: a customer's purchases reduced to `(frequency, recency, T, monetary)` as the Python
//!   `lifetimes` package's `summary_data_from_transaction_data` does.
//! - [`bgnbd`]: the BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting Your Customers
//!   the Easy Way"): maximum-likelihood fit, expected purchases, probability alive.
//! - [`gamma_gamma`]: the Gamma-Gamma model of spend per purchase (Fader & Hardie 2013, "The Gamma-Gamma
//!   Model of Monetary Value").
//! - [`customer_lifetime_value`]: both combined and discounted month by month, as `lifetimes`'
//!   `GammaGammaFitter.customer_lifetime_value` does.
//!
//! Fits compress customers into distinct patterns with weights (`tally`), work on the log of the
//! parameters (all are positive) with analytic gradients and BFGS (`optimize`), and rescale time (BG/NBD)
//! or money (Gamma-Gamma) so the optimiser sees numbers near one; results are reported in the data's own
//! units. Large data (over 40,000 distinct patterns) is first fitted on a subsample of about 20,000, whose
//! optimum and Hessian start BFGS on the whole, and can be summed on several threads
//! ([`FitOptions::threads`]). Special functions (`special`) are written out, no dependency needed.
//! Nothing here panics on bad input: it returns a [`ClvError`].

pub mod bgnbd;
pub mod gamma_gamma;
mod optimize;
mod special;
pub mod summary;
mod tally;

use serde::{Deserialize, Serialize};

pub use bgnbd::BgNbdParams;
pub use gamma_gamma::GammaGammaParams;
pub use summary::{CustomerSummary, Purchase};

/// Why a CLV computation could not be done. Reasons are stable snake_case words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClvError {
    #[error("there are no customers to fit")]
    NoCustomers,
    #[error("no customer made a repeat purchase, so the model cannot be identified")]
    NoRepeatPurchases,
    #[error("every customer was first seen at the end of the observation period")]
    NoObservationTime,
    #[error("customer {index}: {reason}")]
    InvalidCustomer { index: usize, reason: &'static str },
    #[error("customer summary: {0}")]
    InvalidSummary(&'static str),
    #[error("parameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: &'static str },
    #[error("setting {name}: {reason}")]
    InvalidSetting { name: &'static str, reason: &'static str },
    #[error("the log-likelihood is not finite at the starting point")]
    NonFiniteLikelihood,
    #[error("the expected purchases cannot be computed accurately for these parameters")]
    Inaccurate,
}

/// The time unit of recency, T and horizons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    #[default]
    Days,
    /// Weeks from Monday to Sunday (pandas' `W` period).
    Weeks,
}

impl TimeUnit {
    /// Days in one period.
    pub fn days(self) -> i64 {
        match self {
            Self::Days => 1,
            Self::Weeks => 7,
        }
    }

    /// Periods in a month as `lifetimes` counts them (`D`: 30, `W`: 4.345).
    pub fn periods_per_month(self) -> f64 {
        match self {
            Self::Days => 30.0,
            Self::Weeks => 4.345,
        }
    }
}

/// How hard a fit tries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// BFGS iterations at most; a fit that needs more reports `converged: false`.
    pub max_iterations: u32,
    /// Converged when no component of the gradient of the mean negative log-likelihood with respect to the
    /// log-parameters exceeds this (`lifetimes` uses 1e-7 with scipy's BFGS).
    pub gradient_tolerance: f64,
    /// Compute standard errors from a numerical Hessian at the optimum (one gradient evaluation per
    /// parameter).
    pub standard_errors: bool,
    /// Threads the likelihood of large data (from 50,000 distinct patterns) is summed on; 1 keeps the fit on
    /// the calling thread. The caller decides (e.g. from `std::thread::available_parallelism`).
    pub threads: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { max_iterations: 500, gradient_tolerance: 1e-9, standard_errors: true, threads: 1 }
    }
}

/// A fitted model and how the fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit<P> {
    pub params: P,
    /// Total log-likelihood at `params`, in the data's units (comparable with the papers).
    pub log_likelihood: f64,
    /// Total log-likelihood at the starting point; never above `log_likelihood`.
    pub initial_log_likelihood: f64,
    /// Customers the fit used (Gamma-Gamma: those with a repeat purchase).
    pub customers: u64,
    /// Distinct patterns they compressed into.
    pub patterns: usize,
    pub iterations: u32,
    /// Likelihood-and-gradient evaluations, the line searches' included.
    pub evaluations: u32,
    pub converged: bool,
    /// Largest component of the gradient of the mean negative log-likelihood with respect to the
    /// log-parameters at `params`.
    pub gradient_norm: f64,
    /// Standard errors of `params` (delta method on the inverse Hessian, as `lifetimes` computes them);
    /// `None` when not asked for or when the Hessian is not positive definite.
    pub standard_errors: Option<P>,
}

/// How a customer lifetime value is discounted and over how long.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClvSettings {
    /// Months ahead to sum over.
    pub months: u32,
    /// Discount rate per month (0.01 is 1 % a month).
    pub monthly_discount_rate: f64,
    /// The unit the customer summaries and the BG/NBD parameters are in.
    pub unit: TimeUnit,
}

impl Default for ClvSettings {
    fn default() -> Self {
        Self { months: 12, monthly_discount_rate: 0.01, unit: TimeUnit::Days }
    }
}

/// Discounted value of a customer's purchases over the next `settings.months` months, in the unit of
/// `customer.monetary` (fen when the summary was built by [`CustomerSummary::from_purchases`]).
///
/// As `lifetimes`' `customer_lifetime_value`: spend per purchase is the Gamma-Gamma conditional expectation
/// for the customer, month `k` contributes the BG/NBD expected purchases between `(k−1)·f` and `k·f` periods
/// (`f` = [`TimeUnit::periods_per_month`]) times that spend, divided by `(1 + rate)^k`.
pub fn customer_lifetime_value(
    purchases: &BgNbdParams,
    spend: &GammaGammaParams,
    customer: &CustomerSummary,
    settings: &ClvSettings,
) -> Result<f64, ClvError> {
    let rate = settings.monthly_discount_rate;
    if !rate.is_finite() || rate <= -1.0 {
        return Err(ClvError::InvalidSetting { name: "monthly_discount_rate", reason: "not_above_minus_one" });
    }
    let per_purchase = spend.expected_average_spend(customer.frequency, customer.monetary)?;
    let factor = settings.unit.periods_per_month();
    let mut value = 0.0;
    let mut before = 0.0;
    for month in 1..=settings.months {
        let month = f64::from(month);
        let expected = purchases.expected_purchases(customer, month * factor)?;
        value += per_purchase * (expected - before) / (1.0 + rate).powf(month);
        before = expected;
    }
    Ok(value)
}

/// A tenant's fitted CLV model: both fits, the settings the values were computed with, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClvModel {
    pub fitted_at: chrono::DateTime<chrono::Utc>,
    pub unit: TimeUnit,
    pub settings: ClvSettings,
    /// Days ahead `expected_purchases` of [`CustomerClv`] counts.
    pub horizon_days: u32,
    pub purchases: Fit<BgNbdParams>,
    /// `None` when no customer has a repeat purchase yet (values are then not computed).
    pub spend: Option<Fit<GammaGammaParams>>,
}

/// A customer's predicted value under the tenant's latest model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerClv {
    pub customer_id: crate::id::CustomerId,
    pub frequency: u32,
    pub recency: f64,
    pub t: f64,
    /// Mean net spend of the repeat purchase days, fen.
    pub monetary_fen: f64,
    pub p_alive: f64,
    /// Purchases expected over the model's horizon.
    pub expected_purchases: f64,
    /// Expected spend per purchase (Gamma-Gamma), fen.
    pub expected_spend_fen: i64,
    /// Discounted value over the settings' months, fen.
    pub clv_fen: i64,
    pub computed_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_month_horizon_is_worth_nothing_and_a_bad_rate_is_refused() {
        let bg = BgNbdParams { r: 0.24, alpha: 4.4, a: 0.79, b: 2.4 };
        let gg = GammaGammaParams { p: 6.25, q: 3.74, v: 15.44 };
        let customer = CustomerSummary { frequency: 2, recency: 30.43, t: 38.86, monetary: 22.35 };
        let settings = ClvSettings { months: 0, monthly_discount_rate: 0.01, unit: TimeUnit::Weeks };
        assert_eq!(customer_lifetime_value(&bg, &gg, &customer, &settings), Ok(0.0));
        let settings = ClvSettings { months: 12, monthly_discount_rate: f64::NAN, unit: TimeUnit::Weeks };
        assert!(matches!(
            customer_lifetime_value(&bg, &gg, &customer, &settings),
            Err(ClvError::InvalidSetting { name: "monthly_discount_rate", .. })
        ));
    }

    #[test]
    fn a_higher_discount_rate_lowers_the_value() {
        let bg = BgNbdParams { r: 0.24, alpha: 4.4, a: 0.79, b: 2.4 };
        let gg = GammaGammaParams { p: 6.25, q: 3.74, v: 15.44 };
        let customer = CustomerSummary { frequency: 5, recency: 30.0, t: 38.0, monetary: 30.0 };
        let value = |rate| {
            let settings = ClvSettings { months: 24, monthly_discount_rate: rate, unit: TimeUnit::Weeks };
            customer_lifetime_value(&bg, &gg, &customer, &settings).unwrap()
        };
        assert!(value(0.0) > value(0.01) && value(0.01) > value(0.05) && value(0.05) > 0.0);
    }
}
