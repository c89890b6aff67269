//! The Gamma-Gamma model of spend per purchase (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary
//! Value", brucehardie.com note 025): a customer's purchase amounts are `Gamma(p, ν)`, and `ν ~ Gamma(q, v)`
//! across customers, independent of how often they buy. Only customers with repeat purchases inform it;
//! their `monetary` is the mean `z̄` of their `x` repeat purchases.
//!
//! Per customer (note 025, eq. 1a, as `lifetimes`' `GammaGammaFitter` writes it):
//!
//! ```text
//! ℓ = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + (px−1) ln z̄ + px ln x − (px+q) ln(x z̄ + v)
//! ```
//!
//! [`fit`] compresses customers into distinct `(x, z̄)`, divides money by the mean `z̄` while fitting (so `v`
//! is near one; `v` scales with money and the likelihood shifts by `ln` of the scale per customer), and runs
//! BFGS on the log-parameters from `lifetimes`' start (on large data, from a subsample's optimum).

use serde::{Deserialize, Serialize};

use super::optimize::{hessian, minimize, standard_errors, warm_start};
use super::special::{digamma, ln_gamma};
use super::tally::{FastMap, sum_in_parallel, tally};
use super::{ClvError, CustomerSummary, Fit, FitOptions};

/// The log-parameters BFGS starts from (as `lifetimes`).
const START: [f64; 3] = [0.1; 3];
/// Data with more than twice this many distinct spends is first fitted on a subsample of about this many.
const WARM_START_FROM: usize = 20_000;

/// Gamma-Gamma parameters; `v` is in the unit of the monetary values it was fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGammaParams {
    /// Shape of a customer's purchase amounts.
    pub p: f64,
    /// Shape and rate of the amounts' rate `ν` across customers.
    pub q: f64,
    pub v: f64,
}

impl GammaGammaParams {
    /// Checked parameters: every one finite and positive.
    pub fn new(p: f64, q: f64, v: f64) -> Result<Self, ClvError> {
        let params = Self { p, q, v };
        params.check()?;
        Ok(params)
    }

    fn check(&self) -> Result<(), ClvError> {
        for (name, value) in [("p", self.p), ("q", self.q), ("v", self.v)] {
            if !value.is_finite() || value <= 0.0 {
                return Err(ClvError::InvalidParameter { name, reason: "not_positive_and_finite" });
            }
        }
        Ok(())
    }

    /// Expected spend per purchase of a customer with `frequency` repeat purchases of mean `monetary`
    /// (note 025, eq. 5): a weighted mean of the population mean `pv/(q−1)` and the customer's own.
    /// Errors when `q ≤ 1`, where the population mean does not exist (`lifetimes` returns a negative number).
    pub fn expected_average_spend(&self, frequency: u32, monetary: f64) -> Result<f64, ClvError> {
        self.check()?;
        if self.q <= 1.0 {
            return Err(ClvError::InvalidParameter { name: "q", reason: "mean_spend_undefined" });
        }
        let population = self.p * self.v / (self.q - 1.0);
        if frequency == 0 {
            return Ok(population);
        }
        if !monetary.is_finite() {
            return Err(ClvError::InvalidSummary("not_finite"));
        }
        let px = self.p * f64::from(frequency);
        let own = px / (px + self.q - 1.0);
        Ok((1.0 - own) * population + own * monetary)
    }
}

/// Customers with repeat purchases, compressed to distinct `(x, z̄)`, money divided by `scale`.
#[derive(Debug, Clone)]
struct Spends {
    /// `(x, z̄ / scale, customers)`.
    rows: Vec<(f64, f64, f64)>,
    /// Distinct `x` with their customers.
    frequencies: Vec<(f64, f64)>,
    /// `Σ w x ln z̄ + Σ w x ln x` and `Σ w ln z̄` (scaled money).
    linear_p: f64,
    constant: f64,
    customers: f64,
    scale: f64,
    /// Threads the per-row sum runs on.
    threads: usize,
}

impl Spends {
    fn new(customers: &[CustomerSummary]) -> Result<Self, ClvError> {
        let mut keys = Vec::new();
        let mut total = 0.0;
        for (index, c) in customers.iter().enumerate().filter(|(_, c)| c.frequency > 0) {
            if !c.monetary.is_finite() {
                return Err(ClvError::InvalidCustomer { index, reason: "not_finite" });
            }
            if c.monetary <= 0.0 {
                return Err(ClvError::InvalidCustomer { index, reason: "monetary_not_positive" });
            }
            keys.push((c.frequency, c.monetary.to_bits()));
            total += c.monetary;
        }
        if keys.is_empty() {
            return Err(ClvError::NoRepeatPurchases);
        }
        let scale = total / keys.len() as f64;
        let rows = tally(&keys).into_iter().map(|((x, m), w)| (f64::from(x), f64::from_bits(m) / scale, w)).collect();
        Ok(Self::from_rows(rows, scale, 1))
    }

    /// Every `stride`-th row.
    fn subsample(&self, stride: usize) -> Self {
        Self::from_rows(self.rows.iter().step_by(stride.max(1)).copied().collect(), self.scale, self.threads)
    }

    /// `rows` with money already divided by `scale`.
    fn from_rows(rows: Vec<(f64, f64, f64)>, scale: f64, threads: usize) -> Self {
        let mut frequencies: Vec<(f64, f64)> = Vec::new();
        let mut index: FastMap<u64, usize> = FastMap::default();
        let (mut linear_p, mut constant, mut customers) = (0.0, 0.0, 0.0);
        for &(x, m, w) in &rows {
            let slot = *index.entry(x.to_bits()).or_insert_with(|| {
                frequencies.push((x, 0.0));
                frequencies.len() - 1
            });
            frequencies[slot].1 += w;
            linear_p += w * x * (m.ln() + x.ln());
            constant += w * m.ln();
            customers += w;
        }
        Self { rows, frequencies, linear_p, constant, customers, scale, threads }
    }

    /// Total log-likelihood at `[p, q, v]` (scaled money) and its gradient.
    fn evaluate(&self, [p, q, v]: [f64; 3], gradient: &mut [f64; 3]) -> f64 {
        let (ln_gamma_q, digamma_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
        let (mut ll, mut d_p, mut d_q, mut d_v) = (0.0, 0.0, 0.0, 0.0);
        for &(x, w) in &self.frequencies {
            let (px, pxq) = (p * x, p * x + q);
            ll += w * (ln_gamma(pxq) - ln_gamma(px) - ln_gamma_q + q * ln_v);
            let psi = digamma(pxq);
            d_p += w * x * (psi - digamma(px));
            d_q += w * (psi - digamma_q + ln_v);
            d_v += w * q / v;
        }
        let [x_ln, sum_ln, x_inv, sum_inv] = sum_in_parallel(&self.rows, self.threads, |rows| {
            let (mut x_ln, mut sum_ln, mut x_inv, mut sum_inv) = (0.0, 0.0, 0.0, 0.0);
            for &(x, m, w) in rows {
                let total = x * m + v;
                let (l, i) = (w * total.ln(), w / total);
                x_ln += x * l;
                sum_ln += l;
                x_inv += x * i;
                sum_inv += i;
            }
            [x_ln, sum_ln, x_inv, sum_inv]
        });
        ll += p * self.linear_p - self.constant - p * x_ln - q * sum_ln;
        *gradient = [d_p + self.linear_p - x_ln, d_q - sum_ln, d_v - p * x_inv - q * sum_inv];
        ll
    }
}

/// Total log-likelihood of the customers with repeat purchases under `params`, in the data's units.
pub fn log_likelihood(params: &GammaGammaParams, customers: &[CustomerSummary]) -> Result<f64, ClvError> {
    params.check()?;
    let spends = Spends::new(customers)?;
    let mut gradient = [0.0; 3];
    let scaled = [params.p, params.q, params.v / spends.scale];
    Ok(spends.evaluate(scaled, &mut gradient) - spends.customers * spends.scale.ln())
}

/// Maximum-likelihood Gamma-Gamma parameters from the customers with repeat purchases (the others are
/// skipped). Errors when none has one, or one of them has a monetary value that is not positive and finite.
pub fn fit(customers: &[CustomerSummary], options: &FitOptions) -> Result<Fit<GammaGammaParams>, ClvError> {
    let spends = Spends { threads: options.threads, ..Spends::new(customers)? };
    let count = spends.customers;
    let mut full = objective(&spends);
    let warm = (spends.rows.len() > 2 * WARM_START_FROM)
        .then(|| spends.subsample(spends.rows.len() / WARM_START_FROM))
        .and_then(|sample| warm_start(objective(&sample), START, options));
    let found = match warm {
        Some((x0, inverse)) => minimize(&mut full, x0, Some(inverse), options),
        None => minimize(&mut full, START, None, options),
    };
    let found = found.ok_or(ClvError::NonFiniteLikelihood)?;
    let initial_value = if warm.is_some() { full(&START, &mut [0.0; 3]) } else { found.initial_value };
    let scaled = found.x.map(f64::exp);
    let errors = if options.standard_errors {
        hessian(&mut full, &found.x, &found.gradient).and_then(|h| standard_errors(&h, &scaled, count))
    } else {
        None
    };
    let unscale = |[p, q, v]: [f64; 3]| GammaGammaParams { p, q, v: v * spends.scale };
    let shift = count * spends.scale.ln();
    Ok(Fit {
        params: unscale(scaled),
        log_likelihood: -found.value * count - shift,
        initial_log_likelihood: -initial_value * count - shift,
        customers: spends.customers as u64,
        patterns: spends.rows.len(),
        iterations: found.iterations,
        evaluations: found.evaluations,
        converged: found.converged,
        gradient_norm: found.gradient.iter().fold(0.0, |m, g| m.max(g.abs())),
        standard_errors: errors.map(unscale),
    })
}

/// The mean negative log-likelihood in the log-parameters (as `lifetimes` minimises it) and its gradient.
fn objective(spends: &Spends) -> impl FnMut(&[f64; 3], &mut [f64; 3]) -> f64 + '_ {
    move |u: &[f64; 3], g: &mut [f64; 3]| {
        let theta = u.map(f64::exp);
        let mut gradient = [0.0; 3];
        let ll = spends.evaluate(theta, &mut gradient);
        *g = std::array::from_fn(|i| -theta[i] * gradient[i] / spends.customers);
        -ll / spends.customers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buyer(frequency: u32, monetary: f64) -> CustomerSummary {
        CustomerSummary { frequency, recency: 1.0, t: 2.0, monetary }
    }

    fn sample() -> Vec<CustomerSummary> {
        // Customers' typical spends differ a lot more than one customer's purchases do.
        (0..80u32).map(|i| buyer(i % 5, 4.0 * 1.5f64.powi(((i * 37) % 11) as i32) + f64::from(i % 3))).collect()
    }

    #[test]
    fn the_analytic_gradient_matches_finite_differences() {
        let spends = Spends::new(&sample()).unwrap();
        let theta = [2.5, 3.5, 0.8];
        let mut gradient = [0.0; 3];
        spends.evaluate(theta, &mut gradient);
        for i in 0..3 {
            let h = 1e-6 * theta[i];
            let (mut up, mut down) = (theta, theta);
            up[i] += h;
            down[i] -= h;
            let mut ignored = [0.0; 3];
            let numeric = (spends.evaluate(up, &mut ignored) - spends.evaluate(down, &mut ignored)) / (2.0 * h);
            assert!((numeric - gradient[i]).abs() < 1e-6 * numeric.abs().max(1.0), "{i}: {numeric} vs {}", gradient[i]);
        }
    }

    #[test]
    fn the_fit_reaches_the_likelihood_it_reports_and_skips_one_time_buyers() {
        let customers = sample();
        let fit = fit(&customers, &FitOptions::default()).unwrap();
        assert!(fit.converged, "{fit:?}");
        assert_eq!(fit.customers, 64);
        let direct = log_likelihood(&fit.params, &customers).unwrap();
        assert!((direct - fit.log_likelihood).abs() < 1e-9 * direct.abs(), "{direct} vs {}", fit.log_likelihood);
        assert!(fit.log_likelihood >= fit.initial_log_likelihood);
    }

    #[test]
    fn large_data_is_fitted_through_a_subsample_to_the_same_optimum_on_any_number_of_threads() {
        let customers: Vec<CustomerSummary> = (0..100_000u32)
            .map(|i| buyer(1 + i % 7, 4.0 * 1.5f64.powi(((i * 37) % 11) as i32) + f64::from(i % 4001) * 0.01))
            .collect();
        let one = fit(&customers, &FitOptions::default()).unwrap();
        let two = fit(&customers, &FitOptions { threads: 2, ..FitOptions::default() }).unwrap();
        assert!(one.patterns > 2 * WARM_START_FROM, "{}", one.patterns);
        assert!(one.converged && two.converged, "{one:?} {two:?}");
        for (a, b) in [(one.params.p, two.params.p), (one.params.q, two.params.q), (one.params.v, two.params.v)] {
            assert!((a - b).abs() < 1e-8 * a, "{one:?} {two:?}");
        }
    }

    #[test]
    fn expected_spend_moves_from_the_population_mean_towards_the_customers_own() {
        let params = GammaGammaParams { p: 6.25, q: 3.74, v: 15.44 };
        let population = params.expected_average_spend(0, f64::NAN).unwrap();
        assert!((population - 6.25 * 15.44 / 2.74).abs() < 1e-12);
        let once = params.expected_average_spend(1, 100.0).unwrap();
        let often = params.expected_average_spend(50, 100.0).unwrap();
        assert!(population < once && once < often && often < 100.0);
        let no_mean = GammaGammaParams { q: 0.9, ..params };
        assert!(no_mean.expected_average_spend(1, 100.0).is_err());
    }

    #[test]
    fn fitting_refuses_spends_it_cannot_use() {
        let options = FitOptions::default();
        assert_eq!(fit(&[buyer(0, 0.0)], &options).unwrap_err(), ClvError::NoRepeatPurchases);
        assert_eq!(
            fit(&[buyer(0, 0.0), buyer(2, 0.0)], &options).unwrap_err(),
            ClvError::InvalidCustomer { index: 1, reason: "monetary_not_positive" }
        );
        assert_eq!(
            fit(&[buyer(2, f64::INFINITY)], &options).unwrap_err(),
            ClvError::InvalidCustomer { index: 0, reason: "not_finite" }
        );
    }
}
