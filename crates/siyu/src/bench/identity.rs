//! `siyu bench identity`: resolving millions of identifiers into people, against Python networkx's
//! connected components on the same edge file.
//!
//! The edge file is generated once per size and seed (`edges`) and reused. siyu reads it, interns the
//! identifiers to dense ids (`scan`, `interner`) and unions the pairs (`resolve`); networkx reads it into a
//! `Graph` and runs `connected_components` (`peer`). Both must find the same number of components and the same largest one.
//! A second siyu run replays the same unions through the uniqueness guard (`guard`) and counts refusals.

mod docs;
mod edges;
mod guard;
mod interner;
mod peer;
mod resolve;
mod scan;

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::report::{self, thousands};
use resolve::Resolution;

/// The ratio of networkx's time to siyu's the project aims for.
pub const GOAL: f64 = 100.0;

#[derive(Args, Clone)]
pub struct IdentityArgs {
    /// Distinct identifiers in the generated edge file.
    #[arg(long, default_value_t = 10_000_000)]
    identifiers: u64,
    /// Seed of the generator: the same size and seed give the same file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run siyu only, without networkx.
    #[arg(long)]
    skip_peer: bool,
    /// Skip siyu's guarded run.
    #[arg(long)]
    skip_guarded: bool,
    /// Resolve this edge file (`a<TAB>b` lines) instead of a generated one.
    #[arg(long)]
    edges: Option<PathBuf>,
    /// Where generated edge files are kept (and reused).
    #[arg(long, default_value = "target/bench-identity")]
    dir: PathBuf,
    /// Threads for siyu's read, parse and intern steps [default: the machine's cores].
    #[arg(long)]
    threads: Option<usize>,
    /// The Python interpreter that imports networkx.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Write the results into the docs file.
    #[arg(long)]
    write_docs: bool,
    #[arg(long, default_value = "docs/benchmarks.md")]
    docs: PathBuf,
}

/// One siyu run and the process's peak resident memory during it.
pub struct Ours {
    pub run: Resolution,
    pub peak_kib: Option<u64>,
}

pub async fn run(args: IdentityArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || bench(&args)).await?
}

fn bench(a: &IdentityArgs) -> anyhow::Result<()> {
    let networkx = if a.skip_peer { None } else { Some(peer::check(&a.python)?) };
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (path, file) = match &a.edges {
        Some(path) => (path.clone(), None),
        None => {
            let file = edges::ensure(&a.dir, a.identifiers, a.seed)?;
            (file.path.clone(), Some(file))
        }
    };
    let bytes = std::fs::metadata(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?.len();
    println!("siyu: {threads} threads, {} of edges in {}", gigabytes(bytes), path.display());

    let plain = ours(&path, threads, false)?;
    println!("{}", line("siyu", &plain));
    let guarded = if a.skip_guarded { None } else { Some(ours(&path, threads, true)?) };
    if let Some(g) = &guarded {
        println!("{}", line("siyu, guarded", g));
    }
    let peer = match networkx {
        Some(version) => {
            println!("networkx {version}: running {} (a minute or more per 10 M identifiers)", peer::SCRIPT_PATH);
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let p = peer::run(&a.python, dir, &path)?;
            println!(
                "networkx: {} identifiers, {} components, largest {}: {:.2} s (read + add_edges_from {:.2} s, \
                 connected_components {:.2} s; process {:.2} s), peak {}",
                thousands(p.nodes as f64),
                thousands(p.components as f64),
                thousands(p.largest as f64),
                p.total_s,
                p.read_build_s,
                p.components_s,
                p.process_s,
                gigabytes(p.peak_rss_kib * 1024)
            );
            Some(p)
        }
        None => None,
    };

    let outcome = docs::Outcome { file, bytes, threads, plain, guarded, peer };
    println!("\n{}\n", report::machine());
    println!("{}", docs::results(&outcome));
    if a.write_docs {
        report::write_docs(&a.docs, "identity", &docs::section(&outcome))?;
        println!("written to {}", a.docs.display());
    }
    if !outcome.agree() {
        anyhow::bail!("siyu and networkx disagree on the components");
    }
    Ok(())
}

/// One siyu run under a spinner, with the peak memory it reached.
fn ours(path: &std::path::Path, threads: usize, guarded: bool) -> anyhow::Result<Ours> {
    reset_peak_memory();
    let label = if guarded { "siyu, guarded" } else { "siyu" };
    let spinner = spinner(format!("{label}: read, parse, intern, union"));
    let run = resolve::resolve(path, threads, guarded);
    spinner.finish_and_clear();
    Ok(Ours { run: run?, peak_kib: peak_memory_kib() })
}

fn line(label: &str, o: &Ours) -> String {
    let r = &o.run;
    let steps: Vec<String> = r.steps.iter().map(|(name, d)| format!("{name} {:.2}", d.as_secs_f64())).collect();
    let refused = r.refused.map(|n| format!(", {} unions refused", thousands(n as f64))).unwrap_or_default();
    format!(
        "{label}: {} identifiers, {} lines, {} components, largest {}{refused}: {:.2} s ({} s), peak {}",
        thousands(r.identifiers as f64),
        thousands(r.lines as f64),
        thousands(r.components as f64),
        thousands(f64::from(r.largest)),
        r.elapsed.as_secs_f64(),
        steps.join(", "),
        o.peak_kib.map_or_else(|| "unknown".to_string(), |k| gigabytes(k * 1024)),
    )
}

pub fn gigabytes(bytes: u64) -> String {
    format!("{:.2} GB", bytes as f64 / 1e9)
}

/// A spinner with the elapsed time, for steps with no known length.
pub fn spinner(message: impl Into<Cow<'static, str>>) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        spinner.set_style(style);
    }
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}

/// Starts a new peak (Linux: `/proc/self/clear_refs`); elsewhere the peak stays the process's.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident memory since the last reset, in KiB (Linux `VmHWM`).
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
