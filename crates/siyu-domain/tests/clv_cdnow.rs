//! The CLV models on the CDNOW sample, against the published fits and against Python `lifetimes`.
//!
//! Data: `fixtures/cdnow_customers_summary_with_transactions.csv`, copied unchanged from the PyPI package
//! `lifetimes` 0.11.3 (path inside the package: `lifetimes/datasets/cdnow_customers_summary_with_transactions.csv`);
//! originally the CDNOW sample of Fader & Hardie (2,357 customers, 39 weeks of calibration, times in weeks,
//! mean repeat spend in dollars). See `fixtures/README.md`.
//!
//! Published values: BG/NBD r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4 (Fader, Hardie & Lee
//! 2005, "Counting Your Customers the Easy Way"); Gamma-Gamma p = 6.25, q = 3.74, v = 15.44 (Fader & Hardie
//! 2013, "The Gamma-Gamma Model of Monetary Value").
//!
//! `lifetimes` 0.11.3 (numpy 2.4, scipy 1.17, pandas 3.1, autograd 1.9) on the same file gives
//! BetaGeoFitter r = 0.24259292827982148, α = 4.413532265271809, a = 0.7928859664406578,
//! b = 2.4257523826257374, LL (unscaled) = −9582.425560567368; GammaGammaFitter on the 946 customers with
//! x > 0: p = 6.24880249607099, q = 3.7445884609237634, v = 15.447748064943575, LL = −4055.9232435028644.
//! The prediction and CLV values below were printed by `lifetimes` with those parameters.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use siyu_domain::clv::{
    self, BgNbdParams, ClvSettings, CustomerSummary, FitOptions, GammaGammaParams, TimeUnit, bgnbd, gamma_gamma,
};

const FIXTURE: &str = include_str!("fixtures/cdnow_customers_summary_with_transactions.csv");

/// The parameters `lifetimes` fitted, to check predictions without depending on our own fit.
const LIFETIMES_BG: BgNbdParams =
    BgNbdParams { r: 0.24259292827982148, alpha: 4.413532265271809, a: 0.7928859664406578, b: 2.4257523826257374 };
const LIFETIMES_GG: GammaGammaParams =
    GammaGammaParams { p: 6.24880249607099, q: 3.7445884609237634, v: 15.447748064943575 };

fn cdnow() -> Vec<CustomerSummary> {
    FIXTURE
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<f64> = line.split(',').map(|f| f.trim().parse().unwrap()).collect();
            CustomerSummary { frequency: fields[1] as u32, recency: fields[2], t: fields[3], monetary: fields[4] }
        })
        .collect()
}

/// `value` rounded to three significant figures equals `published` rounded so.
fn same_to_three_figures(value: f64, published: f64) -> bool {
    let round = |v: f64| {
        let magnitude = 10f64.powi(2 - v.abs().log10().floor() as i32);
        (v * magnitude).round() / magnitude
    };
    round(value) == round(published)
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn bgnbd_on_cdnow_reproduces_the_published_fit_and_lifetimes() {
    let customers = cdnow();
    assert_eq!(customers.len(), 2357);
    let started = Instant::now();
    let fit = bgnbd::fit(&customers, &FitOptions::default()).unwrap();
    eprintln!("bgnbd fit on cdnow: {:?} in {:?}", fit, started.elapsed());
    assert!(fit.converged);
    let p = fit.params;
    for (value, published) in
        [(p.r, 0.243), (p.alpha, 4.414), (p.a, 0.793), (p.b, 2.426), (fit.log_likelihood, -9582.4)]
    {
        assert!(same_to_three_figures(value, published), "{value} vs {published}");
    }
    assert!((fit.log_likelihood - -9582.4).abs() < 0.05, "{}", fit.log_likelihood);
    for (value, theirs) in
        [(p.r, LIFETIMES_BG.r), (p.alpha, LIFETIMES_BG.alpha), (p.a, LIFETIMES_BG.a), (p.b, LIFETIMES_BG.b)]
    {
        assert!(relative(value, theirs) < 1e-4, "{value} vs lifetimes {theirs}");
    }
    assert!(relative(fit.log_likelihood, -9582.425560567368) < 1e-9);
    // lifetimes' standard errors: r 0.012557, α 0.378221, a 0.185719, b 0.705345.
    let errors = fit.standard_errors.unwrap();
    for (value, theirs) in [(errors.r, 0.012557), (errors.alpha, 0.378221), (errors.a, 0.185719), (errors.b, 0.705345)]
    {
        assert!(relative(value, theirs) < 1e-3, "{value} vs lifetimes {theirs}");
    }
}

#[test]
fn gamma_gamma_on_cdnow_reproduces_the_published_fit_and_lifetimes() {
    let customers = cdnow();
    let started = Instant::now();
    let fit = gamma_gamma::fit(&customers, &FitOptions::default()).unwrap();
    eprintln!("gamma-gamma fit on cdnow: {:?} in {:?}", fit, started.elapsed());
    assert!(fit.converged);
    assert_eq!(fit.customers, 946);
    let p = fit.params;
    for (value, published) in [(p.p, 6.25), (p.q, 3.74), (p.v, 15.44)] {
        assert!(same_to_three_figures(value, published), "{value} vs {published}");
    }
    for (value, theirs) in [(p.p, LIFETIMES_GG.p), (p.q, LIFETIMES_GG.q), (p.v, LIFETIMES_GG.v)] {
        assert!(relative(value, theirs) < 1e-4, "{value} vs lifetimes {theirs}");
    }
    assert!(relative(fit.log_likelihood, -4055.9232435028644) < 1e-9, "{}", fit.log_likelihood);
}

/// `(x, t_x, T, z̄)` of the customers the predictions are checked on.
const CASES: [(u32, f64, f64, f64); 6] = [
    (0, 0.0, 38.86, 0.0),
    (1, 1.71, 38.86, 11.77),
    (2, 30.43, 38.86, 22.35),
    (7, 35.71, 38.86, 50.0),
    (29, 37.71, 38.86, 26.5),
    (3, 10.0, 20.0, 40.0),
];

fn cases() -> impl Iterator<Item = CustomerSummary> {
    CASES.into_iter().map(|(frequency, recency, t, monetary)| CustomerSummary { frequency, recency, t, monetary })
}

fn assert_all_close(ours: &[f64], theirs: &[f64], tolerance: f64) {
    for (a, b) in ours.iter().zip(theirs) {
        assert!(relative(*a, *b) < tolerance, "{a} vs lifetimes {b} (ours {ours:?})");
    }
}

#[test]
fn bgnbd_predictions_match_lifetimes() {
    let lifetimes_expected = [
        (
            10.0,
            [
                0.0542100973313467,
                0.05820268119914963,
                0.3569310086469064,
                1.343804367977495,
                5.903919946352512,
                0.6045504412522038,
            ],
        ),
        (
            39.0,
            [
                0.19478085793947836,
                0.20325062425618798,
                1.2259104241744068,
                4.472270318412387,
                19.261414674875375,
                1.9131812467282485,
            ],
        ),
        (
            520.0,
            [
                1.4624052122519533,
                1.3079994215981359,
                7.319496851793752,
                23.822484398687692,
                96.96481145098994,
                9.105463627611664,
            ],
        ),
    ];
    for (horizon, theirs) in lifetimes_expected {
        let ours: Vec<f64> = cases().map(|c| LIFETIMES_BG.expected_purchases(&c, horizon).unwrap()).collect();
        assert_all_close(&ours, &theirs, 1e-10);
    }
    let ours: Vec<f64> = cases().map(|c| LIFETIMES_BG.probability_alive(&c).unwrap()).collect();
    assert_all_close(
        &ours,
        &[1.0, 0.21222738807220765, 0.7266091367990596, 0.860083857837057, 0.9458192893221826, 0.5026916559029876],
        1e-12,
    );
    let new = LIFETIMES_BG.expected_purchases_of_new_customer(39.0).unwrap();
    assert!(relative(new, 1.195016228446194) < 1e-10, "{new}");
}

#[test]
fn expected_spend_and_lifetime_value_match_lifetimes() {
    let ours: Vec<f64> =
        cases().map(|c| LIFETIMES_GG.expected_average_spend(c.frequency, c.monetary).unwrap()).collect();
    assert_all_close(
        &ours,
        &[
            35.17100215250688,
            18.911479869933782,
            24.65861618923827,
            49.124482294003855,
            26.629366984421733,
            39.383294669012884,
        ],
        1e-12,
    );
    let lifetimes_values = [
        (
            TimeUnit::Weeks,
            [
                8.34409312180974,
                4.637466328570688,
                36.278495763627944,
                261.18456252856095,
                606.4409855401719,
                88.46263591322246,
            ],
        ),
        (
            TimeUnit::Days,
            [
                38.180574708814845,
                18.94346629894596,
                140.09621760108598,
                924.7727731635985,
                2056.2551064545514,
                287.29443613318125,
            ],
        ),
    ];
    for (unit, theirs) in lifetimes_values {
        let settings = ClvSettings { months: 12, monthly_discount_rate: 0.01, unit };
        let ours: Vec<f64> = cases()
            .map(|c| clv::customer_lifetime_value(&LIFETIMES_BG, &LIFETIMES_GG, &c, &settings).unwrap())
            .collect();
        assert_all_close(&ours, &theirs, 1e-10);
    }
}
