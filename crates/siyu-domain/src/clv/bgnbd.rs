//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way: An Alternative to
//! the Pareto/NBD Model", Marketing Science 24(2)): while alive, a customer buys as a Poisson process with
//! rate `λ ~ Gamma(r, α)`; after each purchase they drop out with probability `p ~ Beta(a, b)`.
//!
//! [`fit`] maximises the likelihood over `(r, α, a, b)` as `lifetimes`' `BetaGeoFitter` does (same start,
//! time divided by the largest age while fitting, BFGS on the log-parameters), but on distinct
//! `(x, t_x, T)` patterns with analytic gradients, warm-started from a subsample on large data.
//! Predictions (`probability_alive`, `expected_purchases`) are in `bgnbd/prediction.rs`.

mod likelihood;
mod prediction;

use serde::{Deserialize, Serialize};

use self::likelihood::{Likelihood, Patterns};
use super::optimize::{hessian, minimize, standard_errors, warm_start};
use super::{ClvError, CustomerSummary, Fit, FitOptions};

/// The log-parameters BFGS starts from (`lifetimes` starts all at 0.1), in time scaled to the largest age.
const START: [f64; 4] = [0.1; 4];
/// Data with more than twice this many distinct patterns is first fitted on a subsample of about this many.
const WARM_START_FROM: usize = 20_000;

/// BG/NBD parameters; `alpha` is in the unit of the data it was fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbdParams {
    /// Shape of the purchase-rate gamma.
    pub r: f64,
    /// Scale (a time) of the purchase-rate gamma.
    pub alpha: f64,
    /// The dropout-probability beta's `a` and `b`.
    pub a: f64,
    pub b: f64,
}

impl BgNbdParams {
    /// Checked parameters: every one finite and positive.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ClvError> {
        let params = Self { r, alpha, a, b };
        params.check()?;
        Ok(params)
    }

    pub(crate) fn check(&self) -> Result<(), ClvError> {
        for (name, value) in [("r", self.r), ("alpha", self.alpha), ("a", self.a), ("b", self.b)] {
            if !value.is_finite() || value <= 0.0 {
                return Err(ClvError::InvalidParameter { name, reason: "not_positive_and_finite" });
            }
        }
        Ok(())
    }

    fn to_array(self) -> [f64; 4] {
        [self.r, self.alpha, self.a, self.b]
    }

    fn from_array([r, alpha, a, b]: [f64; 4]) -> Self {
        Self { r, alpha, a, b }
    }
}

/// Total log-likelihood of the customers under `params` (eq. 6 of the paper), in the data's units.
pub fn log_likelihood(params: &BgNbdParams, customers: &[CustomerSummary]) -> Result<f64, ClvError> {
    params.check()?;
    let patterns = Patterns::new(customers)?;
    let mut gradient = [0.0; 4];
    Ok(Likelihood::new(&patterns, 1.0, 1).evaluate(&params.to_array(), &mut gradient))
}

/// Maximum-likelihood BG/NBD parameters for the customers.
///
/// Errors when there are no customers, a summary is invalid ([`CustomerSummary::check_timing`]), nobody
/// made a repeat purchase (the model is not identified), or every age is zero. A fit that runs out of
/// iterations is returned with `converged: false`.
pub fn fit(customers: &[CustomerSummary], options: &FitOptions) -> Result<Fit<BgNbdParams>, ClvError> {
    let patterns = Patterns::new(customers)?;
    if !patterns.has_repeat_purchases() {
        return Err(ClvError::NoRepeatPurchases);
    }
    let scale = patterns.max_age;
    if scale <= 0.0 || !scale.is_finite() {
        return Err(ClvError::NoObservationTime);
    }
    let count = patterns.customers;
    let mut full = objective(&patterns, scale, options.threads);
    let warm = (patterns.len() > 2 * WARM_START_FROM)
        .then(|| patterns.subsample(patterns.len() / WARM_START_FROM))
        .flatten()
        .and_then(|sample| warm_start(objective(&sample, scale, options.threads), START, options));
    let found = match warm {
        Some((x0, inverse)) => minimize(&mut full, x0, Some(inverse), options),
        None => minimize(&mut full, START, None, options),
    };
    let found = found.ok_or(ClvError::NonFiniteLikelihood)?;
    let initial_value = if warm.is_some() { full(&START, &mut [0.0; 4]) } else { found.initial_value };
    let scaled = found.x.map(f64::exp);
    let errors = if options.standard_errors {
        hessian(&mut full, &found.x, &found.gradient).and_then(|h| standard_errors(&h, &scaled, count))
    } else {
        None
    };
    // Back to the data's unit: α scales with time, and each customer's density of t_x gains ln(scale)
    // per repeat purchase (ℓ_data = ℓ_scaled − x·ln scale).
    let unscale = |mut v: [f64; 4]| {
        v[1] *= scale;
        BgNbdParams::from_array(v)
    };
    let shift = patterns.purchases * scale.ln();
    Ok(Fit {
        params: unscale(scaled),
        log_likelihood: -found.value * count - shift,
        initial_log_likelihood: -initial_value * count - shift,
        customers: patterns.customers as u64,
        patterns: patterns.len(),
        iterations: found.iterations,
        evaluations: found.evaluations,
        converged: found.converged,
        gradient_norm: found.gradient.iter().fold(0.0, |m, g| m.max(g.abs())),
        standard_errors: errors.map(unscale),
    })
}

/// The mean negative log-likelihood in the log-parameters (as `lifetimes` minimises it) and its gradient.
fn objective(patterns: &Patterns, scale: f64, threads: usize) -> impl FnMut(&[f64; 4], &mut [f64; 4]) -> f64 + '_ {
    let mut likelihood = Likelihood::new(patterns, scale, threads);
    let count = patterns.customers;
    move |u: &[f64; 4], g: &mut [f64; 4]| {
        let theta = u.map(f64::exp);
        let mut gradient = [0.0; 4];
        let ll = likelihood.evaluate(&theta, &mut gradient);
        *g = std::array::from_fn(|i| -theta[i] * gradient[i] / count);
        -ll / count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(frequency: u32, recency: f64, t: f64) -> CustomerSummary {
        CustomerSummary { frequency, recency, t, monetary: 0.0 }
    }

    /// Sixty customers over 39 weeks: some bought once, some often until lately, some once or twice early on
    /// and never again (dropout probabilities differ between customers, so a and b stay finite).
    fn sample() -> Vec<CustomerSummary> {
        (0..60u32)
            .map(|i| {
                let t = 39.0 - f64::from(i % 5);
                match i % 3 {
                    0 => customer(0, 0.0, t),
                    1 => customer(10 + i % 6, t - f64::from(i % 3), t),
                    _ => customer(1 + i % 2, f64::from(1 + i % 4), t),
                }
            })
            .collect()
    }

    #[test]
    fn the_analytic_gradient_matches_finite_differences() {
        let customers = sample();
        let patterns = Patterns::new(&customers).unwrap();
        let mut likelihood = Likelihood::new(&patterns, 7.0, 1);
        let theta = [0.7, 2.3, 1.4, 3.1];
        let mut gradient = [0.0; 4];
        likelihood.evaluate(&theta, &mut gradient);
        for i in 0..4 {
            let h = 1e-6 * theta[i];
            let (mut up, mut down) = (theta, theta);
            up[i] += h;
            down[i] -= h;
            let mut ignored = [0.0; 4];
            let numeric =
                (likelihood.evaluate(&up, &mut ignored) - likelihood.evaluate(&down, &mut ignored)) / (2.0 * h);
            assert!((numeric - gradient[i]).abs() < 1e-6 * numeric.abs().max(1.0), "{i}: {numeric} vs {}", gradient[i]);
        }
    }

    #[test]
    fn the_fitted_log_likelihood_is_the_log_likelihood_at_the_fitted_params() {
        let customers = sample();
        let fit = fit(&customers, &FitOptions::default()).unwrap();
        assert!(fit.converged, "{fit:?}");
        let direct = log_likelihood(&fit.params, &customers).unwrap();
        assert!((direct - fit.log_likelihood).abs() < 1e-9 * direct.abs(), "{direct} vs {}", fit.log_likelihood);
        assert!(fit.log_likelihood >= fit.initial_log_likelihood);
        assert_eq!((fit.customers, fit.patterns), (60, patterns_of(&customers)));
    }

    fn patterns_of(customers: &[CustomerSummary]) -> usize {
        Patterns::new(customers).unwrap().len()
    }

    #[test]
    fn large_data_is_fitted_through_a_subsample_to_the_same_optimum_on_any_number_of_threads() {
        let customers: Vec<CustomerSummary> = (0..120_000u32)
            .map(|i| {
                let t = 39.0 + f64::from(i % 997) * 0.01;
                match i % 3 {
                    0 => customer(0, 0.0, t),
                    1 => customer(10 + i % 6, t - f64::from(i % 7) * 0.5, t),
                    _ => customer(1 + i % 2, 1.0 + f64::from(i % 50) * 0.25, t),
                }
            })
            .collect();
        let one = fit(&customers, &FitOptions::default()).unwrap();
        let two = fit(&customers, &FitOptions { threads: 2, ..FitOptions::default() }).unwrap();
        assert!(one.patterns > 2 * WARM_START_FROM, "{}", one.patterns);
        assert!(one.converged && two.converged, "{one:?} {two:?}");
        for (a, b) in one.params.to_array().into_iter().zip(two.params.to_array()) {
            assert!((a - b).abs() < 1e-8 * a, "{one:?} {two:?}");
        }
        assert!(one.log_likelihood > one.initial_log_likelihood);
    }

    #[test]
    fn fitting_refuses_data_it_cannot_use() {
        let options = FitOptions::default();
        assert_eq!(fit(&[], &options).unwrap_err(), ClvError::NoCustomers);
        assert_eq!(fit(&[customer(0, 0.0, 5.0); 3], &options).unwrap_err(), ClvError::NoRepeatPurchases);
        assert_eq!(
            fit(&[customer(1, 2.0, 5.0), customer(1, f64::NAN, 5.0)], &options).unwrap_err(),
            ClvError::InvalidCustomer { index: 1, reason: "not_finite" }
        );
        assert_eq!(fit(&[customer(1, 0.0, 0.0)], &options).unwrap_err(), ClvError::NoObservationTime);
        assert!(log_likelihood(&BgNbdParams { r: -1.0, alpha: 1.0, a: 1.0, b: 1.0 }, &sample()).is_err());
    }
}
