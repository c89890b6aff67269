//! Unconstrained minimisation for the CLV fits: BFGS with a strong-Wolfe line search (Nocedal & Wright,
//! Numerical Optimization, algorithms 3.5, 3.6 and 6.1), finished by Newton steps on a numerical Hessian
//! where rounding stops the line search, a warm start from a subsample for large data, and the numerical
//! Hessian behind standard errors.
//!
//! The objective is the mean negative log-likelihood as a function of the log-parameters, so every point
//! is feasible; a step that overflows (a non-finite value) is treated as "too far" and shortened.

use super::FitOptions;

/// Sufficient decrease (Armijo) constant.
const C1: f64 = 1e-4;
/// Curvature constant; 0.9 is the usual choice for quasi-Newton methods.
const C2: f64 = 0.9;
/// No log-parameter moves by more than this in one step (a factor of e⁵ on the parameter).
const MAX_STEP: f64 = 5.0;
/// Trial steps while bracketing, and while zooming into a bracket.
const MAX_BRACKETING: u32 = 30;
const MAX_ZOOM: u32 = 40;
/// A decrease this small relative to the value is lost in its rounding.
const UNRESOLVABLE_DECREASE: f64 = 1e-13;
/// How much a polishing step may raise the value, relative to it: near the optimum the value is flat to
/// rounding (sums over a million customers), and the shrinking gradient is what tells a step is good.
const VALUE_NOISE: f64 = 1e-10;
/// Newton steps at most after BFGS.
const POLISHING_ROUNDS: u32 = 3;

/// Where a minimisation stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Minimum<const N: usize> {
    /// The objective at the starting point.
    pub initial_value: f64,
    pub x: [f64; N],
    pub value: f64,
    pub gradient: [f64; N],
    pub iterations: u32,
    pub evaluations: u32,
    pub converged: bool,
}

/// A point the objective was evaluated at.
#[derive(Debug, Clone, Copy)]
struct Point<const N: usize> {
    step: f64,
    x: [f64; N],
    value: f64,
    gradient: [f64; N],
    slope: f64,
}

/// Minimises `f` (value, writing the gradient into its second argument) from `x0`, with `inverse` as the
/// first approximation of the inverse Hessian when known (see [`warm_start`]). `None` when the starting
/// point's value or gradient is not finite.
pub(crate) fn minimize<const N: usize>(
    mut f: impl FnMut(&[f64; N], &mut [f64; N]) -> f64,
    x0: [f64; N],
    inverse: Option<[[f64; N]; N]>,
    options: &FitOptions,
) -> Option<Minimum<N>> {
    let mut gradient = [0.0; N];
    let mut value = f(&x0, &mut gradient);
    if !value.is_finite() || !gradient.iter().all(|g| g.is_finite()) {
        return None;
    }
    let initial_value = value;
    let mut evaluations = 1;
    let mut x = x0;
    let mut fresh = inverse.is_none();
    let mut inverse = inverse.unwrap_or_else(identity);
    let mut iterations = 0;
    while iterations < options.max_iterations {
        if max_abs(&gradient) <= options.gradient_tolerance {
            break;
        }
        iterations += 1;
        let mut direction = times(&inverse, &gradient).map(|d| -d);
        if dot(&direction, &gradient) >= 0.0 {
            inverse = identity();
            fresh = true;
            direction = gradient.map(|g| -g);
        }
        let here = Point { step: 0.0, x, value, gradient, slope: dot(&gradient, &direction) };
        if -here.slope <= UNRESOLVABLE_DECREASE * value.abs().max(1.0) {
            // The decrease this step promises is below the rounding of the value: leave it to Newton.
            break;
        }
        let Some(next) = line_search(&mut f, &here, &direction, &mut evaluations) else {
            if fresh {
                break;
            }
            // The curvature model misled the search: start again from steepest descent.
            inverse = identity();
            fresh = true;
            continue;
        };
        let s: [f64; N] = std::array::from_fn(|i| next.x[i] - x[i]);
        let y: [f64; N] = std::array::from_fn(|i| next.gradient[i] - gradient[i]);
        let sy = dot(&s, &y);
        if sy > 1e-12 * norm(&s) * norm(&y) {
            if fresh {
                // Scale the first inverse Hessian to the observed curvature (Nocedal & Wright 6.20).
                let scale = sy / dot(&y, &y);
                inverse = identity::<N>().map(|row| row.map(|v| v * scale));
            }
            bfgs_update(&mut inverse, &s, &y, sy);
            fresh = false;
        }
        (x, value, gradient) = (next.x, next.value, next.gradient);
    }
    // BFGS stalls where rounding hides any further decrease of the value, which on flat likelihoods can be
    // above the tolerance. The gradient is still accurate there, so Newton steps on the numerical Hessian,
    // kept while they shrink the gradient, finish the job.
    for _ in 0..POLISHING_ROUNDS {
        if max_abs(&gradient) <= options.gradient_tolerance {
            break;
        }
        evaluations += N as u32 + 1;
        let Some(inverse) = hessian(&mut f, &x, &gradient).and_then(|h| invert_positive_definite(&h)) else {
            break;
        };
        let step = times(&inverse, &gradient);
        let next_x: [f64; N] = std::array::from_fn(|i| x[i] - step[i]);
        let mut next_gradient = [0.0; N];
        let next_value = f(&next_x, &mut next_gradient);
        let better = next_value.is_finite()
            && next_value <= value + VALUE_NOISE * value.abs().max(1.0)
            && max_abs(&next_gradient) < max_abs(&gradient);
        if !better {
            break;
        }
        (x, value, gradient) = (next_x, next_value, next_gradient);
    }
    let converged = max_abs(&gradient) <= options.gradient_tolerance;
    Some(Minimum { initial_value, x, value, gradient, iterations, evaluations, converged })
}

/// Finds a step along `direction` satisfying the strong Wolfe conditions, or at least Armijo's.
fn line_search<const N: usize>(
    f: &mut impl FnMut(&[f64; N], &mut [f64; N]) -> f64,
    start: &Point<N>,
    direction: &[f64; N],
    evaluations: &mut u32,
) -> Option<Point<N>> {
    let longest = MAX_STEP / max_abs(direction).max(f64::MIN_POSITIVE);
    let mut evaluate = |step: f64| {
        let x: [f64; N] = std::array::from_fn(|i| start.x[i] + step * direction[i]);
        let mut gradient = [0.0; N];
        let value = f(&x, &mut gradient);
        *evaluations += 1;
        let finite = value.is_finite() && gradient.iter().all(|g| g.is_finite());
        let value = if finite { value } else { f64::INFINITY };
        Point { step, x, value, gradient, slope: dot(&gradient, direction) }
    };
    let armijo = |p: &Point<N>| p.value <= start.value + C1 * p.step * start.slope;
    let curvature = |p: &Point<N>| p.slope.abs() <= -C2 * start.slope;

    let mut previous = *start;
    let mut step = longest.min(1.0);
    for round in 0..MAX_BRACKETING {
        let trial = evaluate(step);
        if !armijo(&trial) || (round > 0 && trial.value >= previous.value) {
            return zoom(&mut evaluate, start, previous, trial, &armijo, &curvature);
        }
        if curvature(&trial) {
            return Some(trial);
        }
        if trial.slope >= 0.0 {
            return zoom(&mut evaluate, start, trial, previous, &armijo, &curvature);
        }
        if step >= longest {
            return Some(trial);
        }
        previous = trial;
        step = (2.0 * step).min(longest);
    }
    (previous.step > 0.0).then_some(previous)
}

/// Narrows the bracket `[low, high]` (low: the better end) to a strong-Wolfe step.
fn zoom<const N: usize>(
    evaluate: &mut impl FnMut(f64) -> Point<N>,
    start: &Point<N>,
    mut low: Point<N>,
    mut high: Point<N>,
    armijo: &impl Fn(&Point<N>) -> bool,
    curvature: &impl Fn(&Point<N>) -> bool,
) -> Option<Point<N>> {
    for _ in 0..MAX_ZOOM {
        let width = high.step - low.step;
        if width.abs() <= 1e-14 * low.step.abs().max(1e-10) {
            break;
        }
        let step = interpolate(&low, &high);
        let trial = evaluate(step);
        if !armijo(&trial) || trial.value >= low.value {
            high = trial;
        } else {
            if curvature(&trial) {
                return Some(trial);
            }
            if trial.slope * (high.step - low.step) >= 0.0 {
                high = low;
            }
            low = trial;
        }
    }
    (low.step > 0.0 && low.value < start.value).then_some(low)
}

/// The minimiser of the cubic through both ends, kept in the middle 80 % of the bracket; the midpoint when
/// the cubic is of no use (an end with an infinite value, no real minimiser).
fn interpolate<const N: usize>(low: &Point<N>, high: &Point<N>) -> f64 {
    let (a, b) = (low.step, high.step);
    let middle = 0.5 * (a + b);
    if !high.value.is_finite() {
        return middle;
    }
    let d1 = low.slope + high.slope - 3.0 * (low.value - high.value) / (a - b);
    let discriminant = d1 * d1 - low.slope * high.slope;
    if !discriminant.is_finite() || discriminant < 0.0 {
        return middle;
    }
    let d2 = (b - a).signum() * discriminant.sqrt();
    let step = b - (b - a) * (high.slope + d2 - d1) / (high.slope - low.slope + 2.0 * d2);
    let (lo, hi) = (a.min(b), a.max(b));
    let margin = 0.1 * (hi - lo);
    if step.is_finite() { step.clamp(lo + margin, hi - margin) } else { middle }
}

/// `H ← (I − ρsyᵀ) H (I − ρysᵀ) + ρssᵀ` with `ρ = 1/(yᵀs)`.
fn bfgs_update<const N: usize>(inverse: &mut [[f64; N]; N], s: &[f64; N], y: &[f64; N], sy: f64) {
    let rho = 1.0 / sy;
    let hy = times(inverse, y);
    let yhy = dot(y, &hy);
    for i in 0..N {
        for j in 0..N {
            inverse[i][j] += rho * ((1.0 + rho * yhy) * s[i] * s[j] - hy[i] * s[j] - s[i] * hy[j]);
        }
    }
}

/// Where to start on the full data: the minimum of `sample` (the same objective on a subsample, cheap to
/// evaluate) from `x0`, and the inverse of `sample`'s Hessian there as BFGS's first curvature model. Both are
/// close to the full data's, so BFGS then needs only a few steps. `None` when the subsample fit fails.
pub(crate) fn warm_start<const N: usize>(
    mut sample: impl FnMut(&[f64; N], &mut [f64; N]) -> f64,
    x0: [f64; N],
    options: &FitOptions,
) -> Option<([f64; N], [[f64; N]; N])> {
    let rough = FitOptions { gradient_tolerance: options.gradient_tolerance.max(1e-7), ..*options };
    let found = minimize(&mut sample, x0, None, &rough)?;
    let inverse = hessian(&mut sample, &found.x, &found.gradient).and_then(|h| invert_positive_definite(&h))?;
    Some((found.x, inverse))
}

/// Forward-difference Hessian of `f` at `x` from its analytic gradient (`gradient`, the one at `x`),
/// symmetrised: `N` evaluations, relative error about 1e-5, plenty for Newton steps and standard errors.
pub(crate) fn hessian<const N: usize>(
    mut f: impl FnMut(&[f64; N], &mut [f64; N]) -> f64,
    x: &[f64; N],
    gradient: &[f64; N],
) -> Option<[[f64; N]; N]> {
    let mut h = [[0.0; N]; N];
    for j in 0..N {
        let step = 1e-5 * x[j].abs().max(1.0);
        let mut plus = *x;
        plus[j] += step;
        let step = plus[j] - x[j];
        let mut g_plus = [0.0; N];
        f(&plus, &mut g_plus);
        for i in 0..N {
            h[i][j] = (g_plus[i] - gradient[i]) / step;
        }
    }
    let symmetric: [[f64; N]; N] = std::array::from_fn(|i| std::array::from_fn(|j| 0.5 * (h[i][j] + h[j][i])));
    symmetric.iter().flatten().all(|v| v.is_finite()).then_some(symmetric)
}

/// Standard errors of the parameters `θ = exp(u)` from the Hessian of the mean negative log-likelihood in
/// `u` over `count` customers: `θᵢ √((H⁻¹)ᵢᵢ / count)`, as `lifetimes` computes them. `None` unless the
/// Hessian is positive definite.
pub(crate) fn standard_errors<const N: usize>(h: &[[f64; N]; N], params: &[f64; N], count: f64) -> Option<[f64; N]> {
    let inverse = invert_positive_definite(h)?;
    let errors: [f64; N] = std::array::from_fn(|i| params[i] * (inverse[i][i] / count).sqrt());
    errors.iter().all(|e| e.is_finite()).then_some(errors)
}

/// The inverse of a symmetric positive-definite matrix through its Cholesky factor.
fn invert_positive_definite<const N: usize>(a: &[[f64; N]; N]) -> Option<[[f64; N]; N]> {
    let mut l = [[0.0; N]; N];
    for i in 0..N {
        for j in 0..=i {
            let sum: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if sum <= 0.0 || sum.is_nan() {
                    return None;
                }
                l[i][i] = sum.sqrt();
            } else {
                l[i][j] = sum / l[j][j];
            }
        }
    }
    // Solve L Lᵀ X = I column by column; X is symmetric, so its columns are its rows.
    let column = |c: usize| {
        let mut y = [0.0; N];
        for i in 0..N {
            let e = if i == c { 1.0 } else { 0.0 };
            y[i] = (e - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
        }
        let mut x = [0.0; N];
        for i in (0..N).rev() {
            x[i] = (y[i] - (i + 1..N).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
        }
        x
    };
    Some(std::array::from_fn(column))
}

fn identity<const N: usize>() -> [[f64; N]; N] {
    std::array::from_fn(|i| std::array::from_fn(|j| if i == j { 1.0 } else { 0.0 }))
}

fn times<const N: usize>(m: &[[f64; N]; N], v: &[f64; N]) -> [f64; N] {
    std::array::from_fn(|i| dot(&m[i], v))
}

fn dot<const N: usize>(a: &[f64; N], b: &[f64; N]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm<const N: usize>(a: &[f64; N]) -> f64 {
    dot(a, a).sqrt()
}

fn max_abs<const N: usize>(a: &[f64; N]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64; 2], g: &mut [f64; 2]) -> f64 {
        let (a, b) = (1.0 - x[0], x[1] - x[0] * x[0]);
        g[0] = -2.0 * a - 400.0 * x[0] * b;
        g[1] = 200.0 * b;
        a * a + 100.0 * b * b
    }

    #[test]
    fn bfgs_finds_the_minimum_of_the_rosenbrock_valley() {
        let found = minimize(rosenbrock, [-1.2, 1.0], None, &FitOptions::default()).unwrap();
        assert!(found.converged, "{found:?}");
        assert!((found.x[0] - 1.0).abs() < 1e-8 && (found.x[1] - 1.0).abs() < 1e-8, "{found:?}");
        assert!(found.iterations < 100);
    }

    #[test]
    fn steps_into_overflow_are_shortened_instead_of_accepted() {
        // exp(x) − 2x has its minimum at ln 2, and overflows far to the right.
        let f = |x: &[f64; 1], g: &mut [f64; 1]| {
            g[0] = x[0].exp() - 2.0;
            x[0].exp() - 2.0 * x[0]
        };
        let found = minimize(f, [-30.0], None, &FitOptions::default()).unwrap();
        assert!(found.converged && (found.x[0] - 2f64.ln()).abs() < 1e-8, "{found:?}");
    }

    #[test]
    fn a_non_finite_start_is_refused() {
        let f = |_: &[f64; 1], g: &mut [f64; 1]| {
            g[0] = 0.0;
            f64::NAN
        };
        assert!(minimize(f, [0.0], None, &FitOptions::default()).is_none());
    }

    #[test]
    fn the_inverse_of_a_positive_definite_matrix_is_exact_and_others_are_refused() {
        let a = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let inverse = invert_positive_definite(&a).unwrap();
        for (i, row) in a.iter().enumerate() {
            for j in 0..3 {
                let product: f64 = row.iter().zip(&inverse).map(|(v, inverse_row)| v * inverse_row[j]).sum();
                assert!((product - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        assert!(invert_positive_definite(&[[1.0, 2.0], [2.0, 1.0]]).is_none());
    }
}
