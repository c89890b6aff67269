//! Property tests of the CLV models: no input makes a fit or a prediction panic, and a fit never ends
//! below the likelihood it started from.

use proptest::prelude::*;
use siyu_domain::clv::{self, BgNbdParams, ClvSettings, CustomerSummary, FitOptions, GammaGammaParams, TimeUnit};
use siyu_domain::clv::{bgnbd, gamma_gamma};

/// A valid summary: recency within the age, zero without repeat purchases, positive spend.
fn valid_customer() -> impl Strategy<Value = CustomerSummary> {
    (0u32..40, 0.0f64..=1.0, 0.0f64..400.0, 0.01f64..5000.0).prop_map(|(frequency, share, t, monetary)| {
        let recency = if frequency == 0 { 0.0 } else { (share * t).min(t) };
        CustomerSummary { frequency, recency, t, monetary }
    })
}

/// Anything, including NaN, infinities and recency beyond the age.
fn any_customer() -> impl Strategy<Value = CustomerSummary> {
    (any::<u32>(), any::<f64>(), any::<f64>(), any::<f64>())
        .prop_map(|(frequency, recency, t, monetary)| CustomerSummary { frequency, recency, t, monetary })
}

fn positive() -> impl Strategy<Value = f64> {
    prop_oneof![1e-6f64..1e-2, 1e-2f64..10.0, 10.0f64..1e4]
}

fn options() -> FitOptions {
    // Few iterations keep the cases fast; the properties hold whether or not a fit converges.
    FitOptions { max_iterations: 200, ..FitOptions::default() }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_bgnbd_fit_never_ends_below_its_starting_likelihood(customers in prop::collection::vec(valid_customer(), 0..60)) {
        if let Ok(fit) = bgnbd::fit(&customers, &options()) {
            let slack = 1e-9 * fit.initial_log_likelihood.abs().max(1.0);
            prop_assert!(fit.log_likelihood >= fit.initial_log_likelihood - slack, "{fit:?}");
            prop_assert!(fit.log_likelihood.is_finite());
            prop_assert!(fit.params.r > 0.0 && fit.params.alpha > 0.0 && fit.params.a > 0.0 && fit.params.b > 0.0);
        }
    }

    #[test]
    fn a_gamma_gamma_fit_never_ends_below_its_starting_likelihood(customers in prop::collection::vec(valid_customer(), 0..60)) {
        if let Ok(fit) = gamma_gamma::fit(&customers, &options()) {
            let slack = 1e-9 * fit.initial_log_likelihood.abs().max(1.0);
            prop_assert!(fit.log_likelihood >= fit.initial_log_likelihood - slack, "{fit:?}");
            prop_assert!(fit.log_likelihood.is_finite());
        }
    }

    #[test]
    fn fitting_arbitrary_summaries_never_panics(customers in prop::collection::vec(any_customer(), 0..20)) {
        let _ = bgnbd::fit(&customers, &options());
        let _ = gamma_gamma::fit(&customers, &options());
    }

    #[test]
    fn predictions_never_panic_and_valid_ones_are_sensible(
        customer in prop_oneof![valid_customer(), any_customer()],
        (r, alpha, a, b) in (positive(), positive(), positive(), positive()),
        (p, q, v) in (positive(), positive(), positive()),
        horizon in prop_oneof![0.0f64..1000.0, any::<f64>()],
    ) {
        let purchases = BgNbdParams { r, alpha, a, b };
        let spend = GammaGammaParams { p, q, v };
        if let Ok(alive) = purchases.probability_alive(&customer) {
            prop_assert!((0.0..=1.0).contains(&alive));
        }
        if let Ok(expected) = purchases.expected_purchases(&customer, horizon) {
            prop_assert!(expected.is_finite() && expected >= -1e-9 * (1.0 + horizon), "{expected}");
        }
        let _ = spend.expected_average_spend(customer.frequency, customer.monetary);
        let settings = ClvSettings { months: 3, monthly_discount_rate: 0.01, unit: TimeUnit::Days };
        let _ = clv::customer_lifetime_value(&purchases, &spend, &customer, &settings);
    }
}
