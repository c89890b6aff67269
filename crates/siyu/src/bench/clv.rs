//! `siyu bench clv`: fitting BG/NBD and Gamma-Gamma to a million customer summaries with
//! `siyu_domain::clv`, against the Python `lifetimes` package (`BetaGeoFitter`, `GammaGammaFitter`) on the
//! same CSV.
//!
//! The population is drawn from the models themselves with CDNOW's parameters (`population`), so both fits
//! should land on the same maximum. Goals: every parameter within 1e-3 (relative) of `lifetimes`', and the
//! fits at least 20× faster. Fit time is compared with fit time: siyu's `fit` calls against the seconds the
//! script measures around `lifetimes`' `fit` calls (reading the CSV is left out on both sides and reported
//! apart); the whole process is timed too.

mod population;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Deserialize;
use siyu_domain::clv::{BgNbdParams, CustomerSummary, Fit, FitOptions, GammaGammaParams, bgnbd, gamma_gamma};

use super::identity::spinner;
use super::python::{self, LIFETIMES};
use super::report::{machine, thousands};

/// Largest relative difference from `lifetimes`' parameters the project accepts.
pub const PARAMETER_GOAL: f64 = 1e-3;
/// The ratio of `lifetimes`' fit time to siyu's the project aims for.
pub const SPEED_GOAL: f64 = 20.0;
const SCRIPT: &str = include_str!("../../../../benches/clv/lifetimes_fit.py");
pub const SCRIPT_PATH: &str = "benches/clv/lifetimes_fit.py";

#[derive(Args, Clone)]
pub struct ClvArgs {
    /// Customers in the generated population.
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
    /// Seed of the generator: the same size and seed give the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fit this summary CSV (frequency, recency, T, monetary_value) instead of a generated one.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Where generated CSVs are kept (and reused).
    #[arg(long, default_value = "target/bench-clv")]
    dir: PathBuf,
    /// Threads siyu sums the likelihood on [default: the machine's cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Run siyu only, without `lifetimes`.
    #[arg(long)]
    skip_peer: bool,
    /// A Python interpreter that imports `lifetimes` [default: a venv in target/bench-venv, made on first use].
    #[arg(long)]
    python: Option<PathBuf>,
}

/// What `benches/clv/lifetimes_fit.py` prints.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerRun {
    pub lifetimes_version: String,
    #[serde(default)]
    pub python: String,
    #[serde(default)]
    pub numpy: String,
    #[serde(default)]
    pub scipy: String,
    pub customers: u64,
    pub bgnbd: PeerBgNbd,
    pub gamma_gamma: PeerGammaGamma,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PeerBgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    pub log_likelihood: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PeerGammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
    pub log_likelihood: f64,
    pub customers: u64,
    pub seconds: f64,
}

/// siyu's two fits and how long each took.
pub struct Ours {
    pub customers: usize,
    pub threads: usize,
    pub read: Duration,
    pub bgnbd: Fit<BgNbdParams>,
    pub bgnbd_time: Duration,
    pub gamma_gamma: Fit<GammaGammaParams>,
    pub gamma_gamma_time: Duration,
}

pub async fn run(args: ClvArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || bench(&args)).await?
}

fn bench(a: &ClvArgs) -> anyhow::Result<()> {
    let python = if a.skip_peer { None } else { Some(python::interpreter(a.python.as_deref(), &[LIFETIMES])?) };
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let path = match &a.csv {
        Some(path) => path.clone(),
        None => population::ensure(&a.dir, a.customers, a.seed)?,
    };
    let ours = fit(&path, threads)?;
    println!("{}", ours_line(&ours, threads));

    let peer = match &python {
        Some(python) => {
            println!("lifetimes: running {SCRIPT_PATH} (minutes per million customers)");
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let bar = spinner("lifetimes: BetaGeoFitter.fit, GammaGammaFitter.fit");
            let run =
                python::run_script::<PeerRun>(python, dir, "lifetimes_fit.py", SCRIPT, &[path.display().to_string()]);
            bar.finish_and_clear();
            let run = run?;
            anyhow::ensure!(
                run.output.customers as usize == ours.customers
                    && run.output.gamma_gamma.customers == ours.gamma_gamma.customers,
                "lifetimes read {} customers ({} with a repeat purchase), siyu {} ({})",
                run.output.customers,
                run.output.gamma_gamma.customers,
                ours.customers,
                ours.gamma_gamma.customers
            );
            println!(
                "lifetimes {}: BG/NBD fit {:.2} s, Gamma-Gamma fit {:.2} s (process {:.2} s)",
                run.output.lifetimes_version, run.output.bgnbd.seconds, run.output.gamma_gamma.seconds, run.process_s
            );
            Some((run.output, run.process_s))
        }
        None => None,
    };

    println!("\n{}\n", machine());
    println!("{}", results(&path, &ours, peer.as_ref()));
    Ok(())
}

/// Reads the CSV, then fits both models the way a caller of `siyu_domain::clv` would.
fn fit(path: &std::path::Path, threads: usize) -> anyhow::Result<Ours> {
    let started = Instant::now();
    let customers: Vec<CustomerSummary> = population::read(path)?;
    let read = started.elapsed();
    let options = FitOptions { threads, ..FitOptions::default() };
    let bar = spinner("siyu: BG/NBD fit");
    let started = Instant::now();
    let bg = bgnbd::fit(&customers, &options);
    let bgnbd_time = started.elapsed();
    bar.finish_and_clear();
    let bar = spinner("siyu: Gamma-Gamma fit");
    let started = Instant::now();
    let gg = gamma_gamma::fit(&customers, &options);
    let gamma_gamma_time = started.elapsed();
    bar.finish_and_clear();
    Ok(Ours {
        customers: customers.len(),
        threads,
        read,
        bgnbd: bg.map_err(|e| anyhow::anyhow!("BG/NBD fit: {e}"))?,
        bgnbd_time,
        gamma_gamma: gg.map_err(|e| anyhow::anyhow!("Gamma-Gamma fit: {e}"))?,
        gamma_gamma_time,
    })
}

fn ours_line(o: &Ours, threads: usize) -> String {
    format!(
        "siyu ({threads} threads): {} customers read in {:.2} s; BG/NBD {} patterns, {} iterations, {:.3} s; \
         Gamma-Gamma {} patterns, {} iterations, {:.3} s",
        thousands(o.customers as f64),
        o.read.as_secs_f64(),
        thousands(o.bgnbd.patterns as f64),
        o.bgnbd.iterations,
        o.bgnbd_time.as_secs_f64(),
        thousands(o.gamma_gamma.patterns as f64),
        o.gamma_gamma.iterations,
        o.gamma_gamma_time.as_secs_f64(),
    )
}

fn relative(ours: f64, theirs: f64) -> f64 {
    (ours - theirs).abs() / theirs.abs().max(f64::MIN_POSITIVE)
}

/// The comparison table and the verdicts.
pub fn results(path: &std::path::Path, o: &Ours, peer: Option<&(PeerRun, f64)>) -> String {
    let (bg, gg) = (o.bgnbd.params, o.gamma_gamma.params);
    let (tb, tg) = (population::TRUE_BGNBD, population::TRUE_GAMMA_GAMMA);
    let mut t = format!(
        "{} customers from {} ({} with a repeat purchase).\n\n",
        thousands(o.customers as f64),
        path.display(),
        thousands(o.gamma_gamma.customers as f64)
    );
    let label =
        peer.map_or_else(|| "lifetimes (skipped)".to_string(), |(p, _)| format!("lifetimes {}", p.lifetimes_version));
    if let Some((p, _)) = peer {
        t.push_str(&format!(
            "lifetimes {} on Python {}, numpy {}, scipy {}; siyu with {} threads.\n\n",
            p.lifetimes_version, p.python, p.numpy, p.scipy, o.threads
        ));
    }
    t.push_str(&format!("| | generating | {label} | siyu | relative difference |\n|---|---:|---:|---:|---:|\n"));
    let mut worst: f64 = 0.0;
    let mut row = |name: &str, truth: Option<f64>, theirs: Option<f64>, ours: f64, counts: bool| {
        let diff = theirs.map(|th| relative(ours, th));
        if counts {
            worst = worst.max(diff.unwrap_or(0.0));
        }
        t.push_str(&format!(
            "| {name} | {} | {} | {ours:.6} | {} |\n",
            truth.map_or_else(String::new, |v| format!("{v:.3}")),
            theirs.map_or_else(|| "–".to_string(), |v| format!("{v:.6}")),
            diff.map_or_else(|| "–".to_string(), |d| format!("{d:.1e}")),
        ));
    };
    let p = peer.map(|(p, _)| p);
    row("BG/NBD r", Some(tb.r), p.map(|p| p.bgnbd.r), bg.r, true);
    row("BG/NBD α (days)", Some(tb.alpha), p.map(|p| p.bgnbd.alpha), bg.alpha, true);
    row("BG/NBD a", Some(tb.a), p.map(|p| p.bgnbd.a), bg.a, true);
    row("BG/NBD b", Some(tb.b), p.map(|p| p.bgnbd.b), bg.b, true);
    row("BG/NBD log-likelihood", None, p.map(|p| p.bgnbd.log_likelihood), o.bgnbd.log_likelihood, false);
    row("Gamma-Gamma p", Some(tg.p), p.map(|p| p.gamma_gamma.p), gg.p, true);
    row("Gamma-Gamma q", Some(tg.q), p.map(|p| p.gamma_gamma.q), gg.q, true);
    row("Gamma-Gamma v", Some(tg.v), p.map(|p| p.gamma_gamma.v), gg.v, true);
    row(
        "Gamma-Gamma log-likelihood",
        None,
        p.map(|p| p.gamma_gamma.log_likelihood),
        o.gamma_gamma.log_likelihood,
        false,
    );

    let secs = |d: Duration| d.as_secs_f64();
    let ours_total = secs(o.bgnbd_time) + secs(o.gamma_gamma_time);
    t.push_str("\n| fit | lifetimes | siyu | lifetimes / siyu |\n|---|---:|---:|---:|\n");
    let times = [
        ("BG/NBD", p.map(|p| p.bgnbd.seconds), secs(o.bgnbd_time)),
        ("Gamma-Gamma", p.map(|p| p.gamma_gamma.seconds), secs(o.gamma_gamma_time)),
        ("both", p.map(|p| p.bgnbd.seconds + p.gamma_gamma.seconds), ours_total),
    ];
    for (name, theirs, ours) in times {
        t.push_str(&format!(
            "| {name} | {} | {ours:.3} s | {} |\n",
            theirs.map_or_else(|| "–".to_string(), |s| format!("{s:.2} s")),
            theirs.map_or_else(|| "–".to_string(), |s| format!("{:.0}×", s / ours.max(1e-9))),
        ));
    }
    t.push_str(&format!(
        "\nsiyu: reading the CSV {:.2} s (not in the fit times); BG/NBD {} distinct patterns, {} iterations, {} \
         evaluations, converged {}; Gamma-Gamma {} patterns, {} iterations, converged {}.\n",
        secs(o.read),
        thousands(o.bgnbd.patterns as f64),
        o.bgnbd.iterations,
        o.bgnbd.evaluations,
        o.bgnbd.converged,
        thousands(o.gamma_gamma.patterns as f64),
        o.gamma_gamma.iterations,
        o.gamma_gamma.converged,
    ));
    match peer {
        None => t.push_str("\nlifetimes was skipped (`--skip-peer`): no comparison.\n"),
        Some((p, process_s)) => {
            let ratio = (p.bgnbd.seconds + p.gamma_gamma.seconds) / ours_total.max(1e-9);
            t.push_str(&format!(
                "lifetimes: the whole script (Python start, imports, reading the CSV, both fits) {process_s:.2} s.\n\n"
            ));
            let met = |ok: bool| if ok { "goal met" } else { "**goal not met**" };
            t.push_str(&format!(
                "Largest relative parameter difference {worst:.1e} (goal ≤ {PARAMETER_GOAL:.0e}): {}.\n\
                 lifetimes fit time / siyu fit time = {ratio:.0}× (goal ≥ {SPEED_GOAL:.0}×): {}.\n",
                met(worst <= PARAMETER_GOAL),
                met(ratio >= SPEED_GOAL),
            ));
        }
    }
    t
}
