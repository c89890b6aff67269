//! The special functions the CLV models need, written out so the domain crate stays dependency-free.
//!
//! - [`ln_gamma`] and [`digamma`] for positive arguments: shift the argument up by the recurrences
//!   `Γ(x+1) = xΓ(x)` and `ψ(x+1) = ψ(x) + 1/x` until it is at least [`ASYMPTOTIC_FROM`], then sum the
//!   Stirling (de Moivre) series, accurate to about 1e-15 there.
//! - [`RisingRatios`]: `ln Γ(c+x) − ln Γ(c)` and `ψ(c+x) − ψ(c)` for a sorted list of integers `x`, by
//!   summing `ln(c+k)` and `1/(c+k)` between neighbours (exact recurrences), falling back to the direct
//!   difference across long gaps. Every BG/NBD likelihood term that depends on the frequency is one of these.
//! - [`hypergeometric_tail`] and [`hypergeometric_scaled`]: the Gauss hypergeometric series the BG/NBD
//!   conditional expectation needs (see `bgnbd/prediction.rs`), summed until the tail is below double
//!   precision, with the sum of the terms' magnitudes to tell how much cancellation cost.
//!
//! Arguments outside the domain (zero, negative, NaN) give NaN rather than panicking.

use std::f64::consts::PI;

/// From this argument on, the asymptotic series alone is used.
const ASYMPTOTIC_FROM: f64 = 10.0;
/// Gaps between neighbouring frequencies longer than this are bridged by the direct difference.
const LONGEST_SUMMED_GAP: u32 = 64;
/// Terms the hypergeometric series may take before it is declared too slow.
const MAX_SERIES_TERMS: u32 = 5_000_000;

/// `ln Γ(x)` for `x > 0`; NaN outside.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    let mut z = x;
    // ln of the product x(x+1)…(z−1), kept as a product and logged once, in chunks to stay in range.
    let mut shift = 0.0;
    let mut product = 1.0;
    while z < ASYMPTOTIC_FROM {
        product *= z;
        z += 1.0;
        if product < 1e-250 {
            shift += product.ln();
            product = 1.0;
        }
    }
    shift += product.ln();
    let inv = 1.0 / z;
    let inv2 = inv * inv;
    // Bernoulli terms B_{2k} / (2k(2k−1) z^{2k−1}).
    let series = inv
        * (1.0 / 12.0
            + inv2
                * (-1.0 / 360.0
                    + inv2
                        * (1.0 / 1260.0
                            + inv2 * (-1.0 / 1680.0 + inv2 * (1.0 / 1188.0 + inv2 * (-691.0 / 360_360.0)))))); // B12
    (z - 0.5) * z.ln() - z + 0.5 * (2.0 * PI).ln() + series - shift
}

/// `ψ(x) = d/dx ln Γ(x)` for `x > 0`; NaN outside.
pub(crate) fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    let mut z = x;
    let mut shift = 0.0;
    while z < ASYMPTOTIC_FROM {
        shift += 1.0 / z;
        z += 1.0;
    }
    let inv2 = 1.0 / (z * z);
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0 - inv2 * (691.0 / 32_760.0))))));
    z.ln() - 0.5 / z - series - shift
}

/// `ln Γ(c+x) − ln Γ(c)` and `ψ(c+x) − ψ(c)` for each of a sorted list of distinct integers `x ≥ 0`.
#[derive(Debug, Clone, Default)]
pub(crate) struct RisingRatios {
    /// `ln Γ(c+x) − ln Γ(c)`, one per `x`.
    pub ln: Vec<f64>,
    /// `ψ(c+x) − ψ(c)`, one per `x`.
    pub psi: Vec<f64>,
}

impl RisingRatios {
    /// Recomputes both lists for `c` over the sorted distinct `xs`.
    pub fn fill(&mut self, c: f64, xs: &[u32]) {
        self.ln.clear();
        self.psi.clear();
        let (mut at, mut ln, mut psi) = (0u32, 0.0, 0.0);
        for &x in xs {
            if x - at > LONGEST_SUMMED_GAP {
                ln = ln_gamma(c + f64::from(x)) - ln_gamma(c);
                psi = digamma(c + f64::from(x)) - digamma(c);
            } else {
                for k in at..x {
                    let term = c + f64::from(k);
                    ln += term.ln();
                    psi += 1.0 / term;
                }
            }
            at = x;
            self.ln.push(ln);
            self.psi.push(psi);
        }
    }
}

/// A sum of a series with the sum of its terms' magnitudes, which bounds the rounding error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Series {
    pub sum: f64,
    pub magnitude: f64,
}

impl Series {
    /// A bound on the rounding error of `sum`.
    pub fn rounding(&self) -> f64 {
        8.0 * f64::EPSILON * self.magnitude
    }
}

/// `H = Σ_{n≥1} (A)_n (B+1)_{n−1} / ((C+1)_{n−1} n!) · zⁿ` for `0 ≤ z < 1` and `C > −1`, where `(y)_n` is the
/// rising factorial. It is `(C·₂F₁(A, B; C; z) − C) / B` written so that neither `B = 0` nor `C = 0`
/// divides by zero. `None` when the sum takes more than [`MAX_SERIES_TERMS`] (z extremely close to 1) or
/// is not finite.
pub(crate) fn hypergeometric_tail(a: f64, b: f64, c: f64, z: f64) -> Option<Series> {
    if c <= -1.0 {
        return None;
    }
    sum_hypergeometric(a, b, c, z, a * z, 1.0, 0.0)
}

/// `e^{ln_factor} · ₂F₁(A, B; C; z)` for `0 ≤ z < 1` and `C > 0`, the factor applied term by term so that
/// neither it nor the sum over- or underflows on the way. `None` as for [`hypergeometric_tail`].
pub(crate) fn hypergeometric_scaled(a: f64, b: f64, c: f64, z: f64, ln_factor: f64) -> Option<Series> {
    if c <= 0.0 {
        return None;
    }
    sum_hypergeometric(a, b, c, z, 1.0, 0.0, ln_factor)
}

/// `e^{ln_scale} Σ_{n ≥ first_n} t_n` with `t_{n+1} = t_n (A+n)(B+n) z / ((C+n)(n+1))`, summed until the
/// remaining tail is below the double precision of the sum. Large partial sums are rescaled into `ln_scale`.
fn sum_hypergeometric(a: f64, b: f64, c: f64, z: f64, first: f64, first_n: f64, ln_scale: f64) -> Option<Series> {
    if !(0.0..1.0).contains(&z) || ![a, b, c, first, ln_scale].iter().all(|v| v.is_finite()) {
        return None;
    }
    // From here on the term ratio moves monotonically towards z, so the tail is bounded geometrically.
    let monotone_from = a.abs() + b.abs() + 2.0;
    let (mut term, mut sum, mut magnitude, mut scale) = (first, first, first.abs(), ln_scale);
    let mut n = first_n;
    let mut converged = false;
    for _ in 0..MAX_SERIES_TERMS {
        if term == 0.0 {
            converged = true;
            break;
        }
        let ratio = (a + n) * (b + n) * z / ((c + n) * (n + 1.0));
        term *= ratio;
        sum += term;
        magnitude += term.abs();
        n += 1.0;
        if magnitude > 1e250 {
            scale += magnitude.ln();
            (term, sum) = (term / magnitude, sum / magnitude);
            magnitude = 1.0;
        }
        let bound = ratio.abs().max(z);
        if n >= monotone_from && bound < 1.0 && term.abs() <= f64::EPSILON * 0.5 * (1.0 - bound) * sum.abs() {
            converged = true;
            break;
        }
        if !sum.is_finite() {
            return None;
        }
    }
    let factor = scale.exp();
    let series = Series { sum: sum * factor, magnitude: magnitude * factor };
    (converged && series.sum.is_finite() && series.magnitude.is_finite()).then_some(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance * expected.abs().max(1.0)
    }

    #[test]
    fn ln_gamma_matches_factorials_and_the_half_integer_value() {
        let mut factorial: f64 = 1.0;
        for n in 1..30 {
            assert!(close(ln_gamma(f64::from(n)), factorial.ln(), 1e-14), "n={n}");
            factorial *= f64::from(n);
        }
        assert!(close(ln_gamma(0.5), PI.sqrt().ln(), 1e-14));
        assert!(close(ln_gamma(1e-8), -(1e-8f64).ln() - 0.5772156649015329e-8, 1e-14));
        // Γ(0.1) = 9.513507698668732; ln Γ(123.456) from the Stirling series to high order.
        assert!(close(ln_gamma(0.1), 9.513_507_698_668_732f64.ln(), 1e-14));
        assert!(close(ln_gamma(1e300), 1e300 * (1e300f64.ln() - 1.0), 1e-12));
    }

    #[test]
    fn digamma_matches_known_values() {
        let euler = 0.577_215_664_901_532_9;
        assert!(close(digamma(1.0), -euler, 1e-14));
        assert!(close(digamma(0.5), -euler - 2.0 * 2f64.ln(), 1e-14));
        assert!(close(digamma(10.0), -euler + (1..10).map(|k| 1.0 / f64::from(k)).sum::<f64>(), 1e-14));
        assert!(close(digamma(1e-6), -1e6 - euler + PI * PI / 6.0 * 1e-6, 1e-14));
    }

    #[test]
    fn special_functions_give_nan_outside_their_domain() {
        assert!(ln_gamma(0.0).is_nan() && ln_gamma(-1.0).is_nan() && ln_gamma(f64::NAN).is_nan());
        assert!(digamma(0.0).is_nan() && digamma(-3.5).is_nan());
    }

    #[test]
    fn rising_ratios_agree_with_direct_differences_across_short_and_long_gaps() {
        let xs = [0, 1, 2, 7, 60, 500, 501];
        let mut ratios = RisingRatios::default();
        for c in [0.01, 0.9, 3.7, 250.0] {
            ratios.fill(c, &xs);
            for (i, &x) in xs.iter().enumerate() {
                let x = f64::from(x);
                assert!(close(ratios.ln[i], ln_gamma(c + x) - ln_gamma(c), 1e-12), "c={c} x={x}");
                assert!(close(ratios.psi[i], digamma(c + x) - digamma(c), 1e-12), "c={c} x={x}");
            }
        }
    }

    #[test]
    fn hypergeometric_tail_matches_closed_forms() {
        // A = 1, B = 0, C = 0 (where the textbook form divides by zero twice): every term is zⁿ.
        let z = 0.3;
        assert!(close(hypergeometric_tail(1.0, 0.0, 0.0, z).unwrap().sum, z / (1.0 - z), 1e-14));
        // ₂F₁(1, 1; 2; z) = −ln(1−z)/z: with A = B = 1, C = 2, H = (2F − 2) / 1.
        let f = -(1.0f64 - z).ln() / z;
        assert!(close(hypergeometric_tail(1.0, 1.0, 2.0, z).unwrap().sum, 2.0 * f - 2.0, 1e-14));
        // Close to 1 the series still converges, and an out-of-range z is refused.
        let z = 0.999;
        let f = -(1.0f64 - z).ln() / z;
        assert!(close(hypergeometric_tail(1.0, 1.0, 2.0, z).unwrap().sum, 2.0 * f - 2.0, 1e-12));
        assert!(hypergeometric_tail(1.0, 1.0, 2.0, 1.0).is_none());
        assert!(hypergeometric_tail(1.0, 1.0, f64::NAN, 0.5).is_none());
    }

    #[test]
    fn the_scaled_hypergeometric_sum_survives_factors_beyond_the_range_of_doubles() {
        // ₂F₁(A, B; B; z) = (1−z)^{−A}: with the factor (1−z)^A the product is 1, though (1−z)^A underflows.
        let (a, z) = (2000.0, 0.5);
        let series = hypergeometric_scaled(a, 3.0, 3.0, z, a * (1.0f64 - z).ln()).unwrap();
        assert!(close(series.sum, 1.0, 1e-12), "{series:?}");
        // (1 − z)^{−A} itself overflows doubles for A = 2000 at z = 0.5, and the scaled sum still reports it.
        let series = hypergeometric_scaled(a, 3.0, 3.0, z, 0.0);
        assert!(series.is_none());
    }
}
