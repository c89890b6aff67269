//! The customers `siyu bench clv` fits: summaries `(frequency, recency, T, monetary_value)` drawn from the
//! BG/NBD and Gamma-Gamma processes themselves, so the maximum-likelihood fit is well-posed and lands near
//! the generating parameters.
//!
//! Each customer's first purchase is a whole number of days `T` before the end of observation, uniform in
//! [`FIRST_AGE`]`..=`[`LAST_AGE`]. While alive they buy as a Poisson process with rate `λ ~ Gamma(r, α)`;
//! after each repeat purchase they drop out with probability `p ~ Beta(a, b)` (Fader, Hardie & Lee 2005).
//! `recency` is the last repeat purchase's time rounded down to the day. Each repeat purchase is worth
//! `z ~ Gamma(p, ν)` with `ν ~ Gamma(q, v)` per customer (Fader & Hardie 2013), so the mean of `x` of them
//! is `Gamma(p·x, ν·x)`; it is written in cents. The same size and seed give the same file, byte for byte.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use siyu_domain::clv::{BgNbdParams, CustomerSummary, GammaGammaParams};

use super::super::report::thousands;

/// The CDNOW fits of the papers, α converted from weeks to days.
pub const TRUE_BGNBD: BgNbdParams = BgNbdParams { r: 0.243, alpha: 4.414 * 7.0, a: 0.793, b: 2.426 };
pub const TRUE_GAMMA_GAMMA: GammaGammaParams = GammaGammaParams { p: 6.25, q: 3.74, v: 15.44 };
/// The youngest and oldest customer, in days since their first purchase.
pub const FIRST_AGE: u32 = 30;
pub const LAST_AGE: u32 = 730;
pub const HEADER: &str = "customer_id,frequency,recency,T,monetary_value";

/// The CSV for `customers` and `seed` in `dir`, written unless a complete one is there.
pub fn ensure(dir: &Path, customers: u64, seed: u64) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("customers-{customers}-seed{seed}.csv"));
    if path.exists() {
        println!("customers: reusing {}", path.display());
        return Ok(path);
    }
    let partial = path.with_extension("csv.partial");
    write(&partial, customers, seed)?;
    std::fs::rename(&partial, &path)?;
    println!("customers: {} written to {}", thousands(customers as f64), path.display());
    Ok(path)
}

fn write(path: &Path, customers: u64, seed: u64) -> anyhow::Result<()> {
    let bar = ProgressBar::new(customers).with_style(
        ProgressStyle::with_template("customers [{bar:40.cyan/blue}] {human_pos}/{human_len}, {per_sec}, eta {eta}")?
            .progress_chars("=> "),
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(out, "{HEADER}")?;
    for id in 0..customers {
        let c = draw(&mut rng);
        writeln!(out, "{id},{},{},{},{:.2}", c.frequency, c.recency, c.t, c.monetary)?;
        if id % 65_536 == 0 {
            bar.set_position(id);
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    Ok(())
}

/// One customer's summary.
fn draw(rng: &mut StdRng) -> CustomerSummary {
    let bg = TRUE_BGNBD;
    let age = f64::from(rng.gen_range(FIRST_AGE..=LAST_AGE));
    let rate = gamma(rng, bg.r) / bg.alpha;
    let dropout = beta(rng, bg.a, bg.b);
    let (mut now, mut frequency, mut last) = (0.0, 0u32, 0.0);
    loop {
        now += -(1.0 - rng.r#gen::<f64>()).ln() / rate;
        if now > age {
            break;
        }
        frequency += 1;
        last = now;
        if rng.r#gen::<f64>() < dropout {
            break;
        }
    }
    let monetary = if frequency == 0 {
        0.0
    } else {
        let gg = TRUE_GAMMA_GAMMA;
        let spend_rate = gamma(rng, gg.q) / gg.v;
        let x = f64::from(frequency);
        // Cents, never 0.00 (the Gamma-Gamma fit needs every repeat buyer's mean to be positive).
        (gamma(rng, gg.p * x) / (spend_rate * x)).max(0.01)
    };
    CustomerSummary { frequency, recency: f64::floor(last), t: age, monetary }
}

/// `Gamma(shape, 1)` by Marsaglia and Tsang's method (shape < 1 boosted by `U^(1/shape)`).
fn gamma(rng: &mut StdRng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u: f64 = 1.0 - rng.r#gen::<f64>();
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = 1.0 - rng.r#gen::<f64>();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

fn beta(rng: &mut StdRng, a: f64, b: f64) -> f64 {
    let x = gamma(rng, a);
    let y = gamma(rng, b);
    x / (x + y)
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u: f64 = 1.0 - rng.r#gen::<f64>();
    let v: f64 = rng.r#gen();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Reads a summary CSV with the columns frequency, recency, T and monetary_value (by header, any order;
/// other columns ignored), as the `lifetimes` script does.
pub fn read(path: &Path) -> anyhow::Result<Vec<CustomerSummary>> {
    let file = File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut lines = BufReader::with_capacity(1 << 20, file).lines();
    let header = lines.next().transpose()?.unwrap_or_default();
    let columns: Vec<&str> = header.trim().split(',').collect();
    let find = |name: &str| {
        columns.iter().position(|c| *c == name).ok_or_else(|| anyhow::anyhow!("{}: no column {name}", path.display()))
    };
    let at = [find("frequency")?, find("recency")?, find("T")?, find("monetary_value")?];
    let mut customers = Vec::new();
    for (number, line) in lines.enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let value = |i: usize| -> anyhow::Result<f64> {
            let text = fields.get(at[i]).map_or("", |f| f.trim());
            text.parse()
                .map_err(|_| anyhow::anyhow!("{} line {}: {text:?} is not a number", path.display(), number + 2))
        };
        customers.push(CustomerSummary {
            frequency: value(0)? as u32,
            recency: value(1)?,
            t: value(2)?,
            monetary: value(3)?,
        });
    }
    Ok(customers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_customers_are_valid_summaries_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = ensure(dir.path(), 2_000, 3).unwrap();
        let customers = read(&path).unwrap();
        assert_eq!(customers.len(), 2_000);
        for c in &customers {
            assert_eq!(c.check_timing(), Ok(()), "{c:?}");
            assert!((f64::from(FIRST_AGE)..=f64::from(LAST_AGE)).contains(&c.t));
            assert_eq!(c.frequency == 0, c.monetary == 0.0, "{c:?}");
        }
        let repeat = customers.iter().filter(|c| c.frequency > 0).count();
        assert!((200..1_600).contains(&repeat), "{repeat} repeat buyers");
        let again = dir.path().join("again.csv");
        write(&again, 2_000, 3).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap());
    }

    #[test]
    fn gamma_draws_have_the_right_mean() {
        let mut rng = StdRng::seed_from_u64(1);
        for shape in [0.243, 0.793, 3.74, 25.0] {
            let n = 200_000;
            let mean = (0..n).map(|_| gamma(&mut rng, shape)).sum::<f64>() / f64::from(n);
            assert!((mean - shape).abs() < 0.02 * shape.max(1.0), "shape {shape}: mean {mean}");
        }
    }
}
