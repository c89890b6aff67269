//! The BG/NBD log-likelihood and its gradient over customers compressed into distinct patterns.
//!
//! For a customer with `x` repeat purchases, recency `t_x` and age `T` (Fader, Hardie & Lee 2005, eq. 6):
//!
//! ```text
//! ℓ = A₁ + A₂ + ln(e^{A₃} + [x > 0] e^{A₄})
//! A₁ = ln Γ(r+x) − ln Γ(r) + r ln α          A₃ = −(r+x) ln(α+T)
//! A₂ = ln B(a, b+x) − ln B(a, b)              A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)
//! ```
//!
//! `A₁` and `A₂` depend on `x` only: they are sums of `ln(c+k)` over `k < x` (see `RisingRatios`), computed
//! once per distinct frequency. The log-sum-exp term is `A₃ + softplus(A₄ − A₃)`; its derivatives weigh the
//! two branches by `s = sigmoid(A₄ − A₃)`. `ln(α+v)` and `1/(α+v)` are computed once per distinct age `v`
//! (recencies and ages share one table), so a pattern costs one `exp` and one `ln_1p` per evaluation.

use super::super::special::RisingRatios;
use super::super::tally::{FastMap, sum_in_parallel, tally};
use super::super::{ClvError, CustomerSummary};

/// One distinct `(x, t_x, T)` and how many customers share it.
#[derive(Debug, Clone, Copy)]
struct Pattern {
    /// Index into `Patterns::frequencies`.
    frequency: u32,
    /// Indexes into `Patterns::ages`.
    recency: u32,
    age: u32,
    /// `x` as a float, and the number of customers.
    x: f64,
    weight: f64,
}

/// Customers compressed for the likelihood.
#[derive(Debug, Clone)]
pub(crate) struct Patterns {
    patterns: Vec<Pattern>,
    /// Distinct frequencies, ascending, and the customers having each.
    frequencies: Vec<u32>,
    frequency_weights: Vec<f64>,
    /// Distinct recencies and ages, in the data's unit.
    ages: Vec<f64>,
    /// Customers, and the sum of their frequencies.
    pub customers: f64,
    pub purchases: f64,
    /// The largest age.
    pub max_age: f64,
}

/// The bits of a float with −0 folded into +0, for use as a key.
fn key(v: f64) -> u64 {
    (v + 0.0).to_bits()
}

impl Patterns {
    /// Validates and compresses the customers. Errors on an empty list or an invalid summary.
    pub fn new(customers: &[CustomerSummary]) -> Result<Self, ClvError> {
        if customers.is_empty() {
            return Err(ClvError::NoCustomers);
        }
        let mut keys = Vec::with_capacity(customers.len());
        for (i, c) in customers.iter().enumerate() {
            c.check_timing().map_err(|reason| ClvError::InvalidCustomer { index: i, reason })?;
            keys.push((c.frequency, key(c.recency), key(c.t)));
        }
        let found: Vec<(u32, f64, f64, f64)> = tally(&keys)
            .into_iter()
            .map(|((x, recency, t), count)| (x, f64::from_bits(recency), f64::from_bits(t), count))
            .collect();
        Ok(Self::from_distinct(&found))
    }

    /// Every `stride`-th pattern, for a warm start: `None` when that leaves nobody with a repeat purchase.
    pub fn subsample(&self, stride: usize) -> Option<Self> {
        let found: Vec<(u32, f64, f64, f64)> = self
            .patterns
            .iter()
            .step_by(stride.max(1))
            .map(|p| {
                let x = self.frequencies[p.frequency as usize];
                (x, self.ages[p.recency as usize], self.ages[p.age as usize], p.weight)
            })
            .collect();
        let sample = Self::from_distinct(&found);
        sample.has_repeat_purchases().then_some(sample)
    }

    /// Builds the tables from distinct `(x, t_x, T, customers)`.
    fn from_distinct(found: &[(u32, f64, f64, f64)]) -> Self {
        let mut frequencies: Vec<u32> = found.iter().map(|p| p.0).collect();
        frequencies.sort_unstable();
        frequencies.dedup();
        let frequency_index: FastMap<u32, u32> = frequencies.iter().enumerate().map(|(i, &x)| (x, i as u32)).collect();
        let mut ages = Vec::new();
        let mut age_index: FastMap<u64, u32> = FastMap::default();
        let mut age_slot = |v: f64| {
            *age_index.entry(key(v)).or_insert_with(|| {
                ages.push(v);
                (ages.len() - 1) as u32
            })
        };
        let mut frequency_weights = vec![0.0; frequencies.len()];
        let mut patterns = Vec::with_capacity(found.len());
        for &(x, recency, t, weight) in found {
            let frequency = frequency_index.get(&x).copied().unwrap_or_default();
            frequency_weights[frequency as usize] += weight;
            patterns.push(Pattern { frequency, recency: age_slot(recency), age: age_slot(t), x: f64::from(x), weight });
        }
        let max_age = ages.iter().fold(0.0f64, |m, &v| m.max(v));
        let purchases = patterns.iter().map(|p| p.x * p.weight).sum();
        let customers = patterns.iter().map(|p| p.weight).sum();
        Self { patterns, frequencies, frequency_weights, ages, customers, purchases, max_age }
    }

    /// Distinct patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether any customer made a repeat purchase.
    pub fn has_repeat_purchases(&self) -> bool {
        self.frequencies.last().is_some_and(|&x| x > 0)
    }
}

/// Evaluates the log-likelihood of `Patterns` with time divided by a fixed scale, reusing its buffers.
#[derive(Debug)]
pub(crate) struct Likelihood<'a> {
    patterns: &'a Patterns,
    threads: usize,
    scaled_ages: Vec<f64>,
    ln_age: Vec<f64>,
    inv_age: Vec<f64>,
    by_r: RisingRatios,
    by_b: RisingRatios,
    by_ab: RisingRatios,
    /// Per distinct frequency: `ln a − ln(b+x−1)` and `1/(b+x−1)` (unused for x = 0).
    log_odds: Vec<f64>,
    inv_bx: Vec<f64>,
}

impl<'a> Likelihood<'a> {
    /// Times (recencies, ages and α) are measured in units of `scale` of the data's unit; large data is
    /// summed on up to `threads` threads.
    pub fn new(patterns: &'a Patterns, scale: f64, threads: usize) -> Self {
        let n = patterns.frequencies.len();
        Self {
            patterns,
            threads,
            scaled_ages: patterns.ages.iter().map(|v| v / scale).collect(),
            ln_age: vec![0.0; patterns.ages.len()],
            inv_age: vec![0.0; patterns.ages.len()],
            by_r: RisingRatios::default(),
            by_b: RisingRatios::default(),
            by_ab: RisingRatios::default(),
            log_odds: vec![0.0; n],
            inv_bx: vec![0.0; n],
        }
    }

    /// Total log-likelihood at `θ = [r, α, a, b]` (α in scaled time), with its gradient in `θ` written into
    /// `gradient`. NaN or infinite when `θ` is not positive and finite.
    pub fn evaluate(&mut self, theta: &[f64; 4], gradient: &mut [f64; 4]) -> f64 {
        let [r, alpha, a, b] = *theta;
        let p = self.patterns;
        self.by_r.fill(r, &p.frequencies);
        self.by_b.fill(b, &p.frequencies);
        self.by_ab.fill(a + b, &p.frequencies);
        for (v, (ln, inv)) in self.scaled_ages.iter().zip(self.ln_age.iter_mut().zip(self.inv_age.iter_mut())) {
            *ln = (alpha + v).ln();
            *inv = 1.0 / (alpha + v);
        }
        let ln_alpha = alpha.ln();
        let ln_a = a.ln();

        // The terms that depend on the frequency alone.
        let (mut ll, mut d_r, mut d_alpha, mut d_a, mut d_b) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (k, (&x, &w)) in p.frequencies.iter().zip(&p.frequency_weights).enumerate() {
            ll += w * (self.by_r.ln[k] + r * ln_alpha + self.by_b.ln[k] - self.by_ab.ln[k]);
            d_r += w * (self.by_r.psi[k] + ln_alpha);
            d_alpha += w * r / alpha;
            d_a -= w * self.by_ab.psi[k];
            d_b += w * (self.by_b.psi[k] - self.by_ab.psi[k]);
            let bx = b + f64::from(x) - 1.0;
            self.log_odds[k] = ln_a - bx.ln();
            self.inv_bx[k] = 1.0 / bx;
        }

        // The log-sum-exp term, pattern by pattern.
        let tables =
            Tables { ln_age: &self.ln_age, inv_age: &self.inv_age, log_odds: &self.log_odds, inv_bx: &self.inv_bx };
        let [lse, lse_r, lse_alpha, alive_a, alive_b] =
            sum_in_parallel(&p.patterns, self.threads, |chunk| tables.sum(chunk, r));
        ll += lse;
        d_r += lse_r;
        d_alpha += lse_alpha;
        *gradient = [d_r, d_alpha, d_a + alive_a / a, d_b - alive_b];
        ll
    }
}

/// What the per-pattern terms read, computed once per evaluation.
#[derive(Debug, Clone, Copy)]
struct Tables<'t> {
    ln_age: &'t [f64],
    inv_age: &'t [f64],
    log_odds: &'t [f64],
    inv_bx: &'t [f64],
}

impl Tables<'_> {
    /// The log-sum-exp terms of `patterns`: their sum, its derivatives in r and α, and the sums of
    /// `w·s` and `w·s/(b+x−1)` that make its derivatives in a and b.
    fn sum(&self, patterns: &[Pattern], r: f64) -> [f64; 5] {
        let (mut ll, mut d_r, mut d_alpha, mut alive_a, mut alive_b) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for q in patterns {
            let (w, rx) = (q.weight, r + q.x);
            let (ln_t, inv_t) = (self.ln_age[q.age as usize], self.inv_age[q.age as usize]);
            if q.x == 0.0 {
                ll -= w * rx * ln_t;
                d_r -= w * ln_t;
                d_alpha -= w * rx * inv_t;
                continue;
            }
            let (ln_tx, inv_tx) = (self.ln_age[q.recency as usize], self.inv_age[q.recency as usize]);
            let k = q.frequency as usize;
            let d = self.log_odds[k] + rx * (ln_t - ln_tx);
            let e = (-d.abs()).exp();
            let softplus = d.max(0.0) + e.ln_1p();
            let s = if d >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
            ll += w * (softplus - rx * ln_t);
            d_r += w * (s * (ln_t - ln_tx) - ln_t);
            d_alpha -= w * rx * ((1.0 - s) * inv_t + s * inv_tx);
            alive_a += w * s;
            alive_b += w * s * self.inv_bx[k];
        }
        [ll, d_r, d_alpha, alive_a, alive_b]
    }
}
