//! What a fitted BG/NBD model says about one customer: the probability they are still alive and the
//! purchases to expect in the next `horizon` periods.
//!
//! The conditional expectation (Fader, Hardie & Lee 2005, eq. 10) is
//!
//! ```text
//! E[Y(t) | x, t_x, T] = P(alive) · C/(a−1) · [1 − ((α+T)/(α+T+t))^{r+x} · ₂F₁(r+x, b+x; C; z)]
//! C = a+b+x−1,  z = t/(α+T+t)
//! ```
//!
//! `lifetimes` evaluates it with scipy's `hyp2f1`, switching to Euler's transformation
//! `₂F₁(A,B;C;z) = (1−z)^{C−A−B} ₂F₁(C−A, C−B; C; z)` when the first overflows. Here the transformation is
//! always applied: with it `(1−z)^{r+x}` cancels and the bracket becomes `1 − (1−z)^{a−1} ₂F₁(a+b−1−r, a−1;
//! C; z)`, whose upper parameters no longer grow with `x`, so the series converges quickly for frequent
//! buyers. Writing `₂F₁ = 1 + (a−1)·H/C` (see `hypergeometric_tail`) and `L = ln(1−z)` gives
//!
//! ```text
//! E[Y(t) | alive] = −C·L·exprel((a−1)L) − e^{(a−1)L}·H,   exprel(y) = (eʸ−1)/y
//! ```
//!
//! which has no division by `a−1` or by `C`, both of which can vanish. Its series alternates when `r` is
//! much larger than `a+b` (its first parameter `a+b−1−r` is then very negative); when the terms' magnitudes
//! say cancellation ate more than [`ACCURACY`] of the result, the textbook form (positive terms, the factor
//! `(1−z)^{r+x}` applied term by term) is used instead, and if that is no better either (`a` too close to
//! 1), the result is an error rather than a wrong number.

use super::super::special::{Series, hypergeometric_scaled, hypergeometric_tail};
use super::super::{ClvError, CustomerSummary};
use super::BgNbdParams;

/// Relative rounding error an expectation may carry.
const ACCURACY: f64 = 1e-8;

/// Beyond this a or b is the degenerate limit of a fit, not a usable parameter.
pub const DEGENERATE: f64 = 1e7;

impl BgNbdParams {
    /// `P(alive | x, t_x, T)` (Fader, Hardie & Lee, note 021): 1 without repeat purchases.
    pub fn probability_alive(&self, customer: &CustomerSummary) -> Result<f64, ClvError> {
        self.check()?;
        customer.check_timing().map_err(ClvError::InvalidSummary)?;
        Ok(self.alive(customer))
    }

    /// Expected purchases in the next `horizon` periods of a customer with this history (eq. 10).
    pub fn expected_purchases(&self, customer: &CustomerSummary, horizon: f64) -> Result<f64, ClvError> {
        self.check()?;
        customer.check_timing().map_err(ClvError::InvalidSummary)?;
        if !horizon.is_finite() || horizon < 0.0 {
            return Err(ClvError::InvalidSetting { name: "horizon", reason: "not_finite_and_non_negative" });
        }
        let x = f64::from(customer.frequency);
        let (a, b, r) = (self.a, self.b, self.r);
        // A fit that ran off towards a, b → ∞ (the data does not identify the dropout): the series below
        // would take millions of terms per call before giving up; refuse at once.
        if a.max(b) > DEGENERATE {
            return Err(ClvError::Inaccurate);
        }
        let c = a + b + x - 1.0;
        let z = horizon / (self.alpha + customer.t + horizon);
        let ln_rest = -(horizon / (self.alpha + customer.t)).ln_1p();

        let transformed = hypergeometric_tail(a + b - 1.0 - r, a - 1.0, c, z).and_then(|tail| {
            let y = (a - 1.0) * ln_rest;
            let first = -c * ln_rest * exprel(y);
            let value = first - y.exp() * tail.sum;
            accurate(value, first.abs() * 2.0 * f64::EPSILON + y.exp() * tail.rounding())
        });
        let if_alive = match transformed {
            Some(value) => value,
            None => {
                let direct = hypergeometric_scaled(r + x, b + x, c, z, (r + x) * ln_rest);
                let ratio = c / (a - 1.0);
                direct
                    .and_then(|Series { sum, magnitude }| {
                        let rounding = Series { sum, magnitude: magnitude + 1.0 }.rounding();
                        accurate(ratio * (1.0 - sum), ratio.abs() * rounding)
                    })
                    .ok_or(ClvError::Inaccurate)?
            }
        };
        Ok(self.alive(customer) * if_alive.max(0.0))
    }

    /// Expected purchases in the first `horizon` periods of a new customer (eq. 9).
    pub fn expected_purchases_of_new_customer(&self, horizon: f64) -> Result<f64, ClvError> {
        self.expected_purchases(&CustomerSummary { frequency: 0, recency: 0.0, t: 0.0, monetary: 0.0 }, horizon)
    }

    fn alive(&self, customer: &CustomerSummary) -> f64 {
        if customer.frequency == 0 {
            return 1.0;
        }
        let rx = self.r + f64::from(customer.frequency);
        let bx = self.b + f64::from(customer.frequency) - 1.0;
        let gap = (customer.t - customer.recency) / (self.alpha + customer.recency);
        // ln of the odds of having dropped out after the last purchase.
        let odds = (self.a / bx).ln() + rx * gap.ln_1p();
        if odds > 0.0 {
            let e = (-odds).exp();
            e / (1.0 + e)
        } else {
            1.0 / (1.0 + odds.exp())
        }
    }
}

/// `value` when `error` is within [`ACCURACY`] of it.
fn accurate(value: f64, error: f64) -> Option<f64> {
    (value.is_finite() && error <= ACCURACY * value.abs()).then_some(value)
}

/// `(eʸ − 1)/y`, 1 at 0.
fn exprel(y: f64) -> f64 {
    if y.abs() < 1e-5 { 1.0 + y * (0.5 + y / 6.0) } else { y.exp_m1() / y }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDNOW: BgNbdParams = BgNbdParams { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

    fn customer(frequency: u32, recency: f64, t: f64) -> CustomerSummary {
        CustomerSummary { frequency, recency, t, monetary: 0.0 }
    }

    #[test]
    fn nothing_is_expected_over_no_time_and_a_one_time_buyer_is_alive() {
        let c = customer(3, 10.0, 20.0);
        assert_eq!(CDNOW.expected_purchases(&c, 0.0), Ok(0.0));
        assert_eq!(CDNOW.probability_alive(&customer(0, 0.0, 50.0)), Ok(1.0));
    }

    #[test]
    fn expectations_are_continuous_where_the_textbook_formula_divides_by_zero() {
        let c = customer(2, 10.0, 30.0);
        let at = |a: f64| BgNbdParams { a, ..CDNOW }.expected_purchases(&c, 52.0).unwrap();
        let (below, one, above) = (at(1.0 - 1e-7), at(1.0), at(1.0 + 1e-7));
        assert!(one.is_finite() && (below - one).abs() < 1e-6 && (above - one).abs() < 1e-6, "{below} {one} {above}");
        // a + b = 1 makes C = 0 for a new customer.
        let new = |b: f64| BgNbdParams { a: 0.4, b, ..CDNOW }.expected_purchases_of_new_customer(30.0).unwrap();
        let (below, zero, above) = (new(0.6 - 1e-8), new(0.6), new(0.6 + 1e-8));
        assert!(zero.is_finite() && (below - zero).abs() < 1e-6 && (above - zero).abs() < 1e-6);
    }

    #[test]
    fn more_purchases_are_expected_over_a_longer_horizon_and_from_recent_buyers() {
        let recent = customer(5, 38.0, 39.0);
        let lapsed = customer(5, 5.0, 39.0);
        let e = |c: &CustomerSummary, t: f64| CDNOW.expected_purchases(c, t).unwrap();
        assert!(e(&recent, 10.0) < e(&recent, 20.0) && e(&recent, 20.0) < e(&recent, 400.0));
        assert!(e(&lapsed, 39.0) < e(&recent, 39.0));
        assert!(CDNOW.probability_alive(&lapsed).unwrap() < CDNOW.probability_alive(&recent).unwrap());
    }

    #[test]
    fn very_frequent_buyers_and_long_horizons_stay_finite() {
        for x in [1, 50, 1000, 100_000] {
            let c = customer(x, 300.0, 365.0);
            for horizon in [1.0, 30.0, 365.0, 3650.0] {
                let e = CDNOW.expected_purchases(&c, horizon).unwrap();
                assert!(e.is_finite() && e >= 0.0, "x={x} horizon={horizon}: {e}");
            }
        }
    }

    #[test]
    fn a_purchase_rate_shape_far_above_the_dropout_shapes_still_gives_an_accurate_expectation() {
        // r ≫ a + b makes the transformed series alternate wildly, and the direct one takes over. The
        // references are eq. 10 evaluated with mpmath's hyp2f1 at 60 digits.
        let c = customer(20, 0.0, 0.0);
        let moderate = BgNbdParams { r: 30.0, alpha: 50.0, a: 0.5, b: 0.5 };
        let value = moderate.expected_purchases(&c, 36.0).unwrap();
        assert!((value - 26.359552800777914).abs() < 1e-9 * value, "{value}");
        let extreme = BgNbdParams { r: 7055.447527862766, alpha: 8644.943196749657, a: 1e-6, b: 1e-6 };
        let value = extreme.expected_purchases(&c, 336.36939280406796).unwrap();
        assert!((value - 275.30074814527835).abs() < 1e-9 * value, "{value}");
    }

    #[test]
    fn invalid_customers_params_and_horizons_are_errors() {
        let c = customer(1, 5.0, 10.0);
        assert!(CDNOW.expected_purchases(&c, f64::NAN).is_err());
        assert!(CDNOW.expected_purchases(&c, -1.0).is_err());
        assert!(CDNOW.probability_alive(&customer(1, 11.0, 10.0)).is_err());
        assert!(BgNbdParams { alpha: 0.0, ..CDNOW }.expected_purchases(&c, 1.0).is_err());
    }
}
