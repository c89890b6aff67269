//! The results table, the machine it ran on, and the section of `docs/benchmarks.md` it updates.

use std::path::Path;

use super::load::Stats;

/// The ratio to the bare handler `siyu bench api` aims for.
const API_GOAL: f64 = 0.3;
const INTRO: &str = "# Benchmarks

How siyu compares with a peer on the same machine. Each benchmark is a `siyu bench <name>` command that
prints the peer's figure, ours and the ratio; `--write-docs` pastes them here with the date and the machine.
Benchmarks are not tests: rerun them on your hardware before drawing conclusions.
";

/// One scenario measured on both servers.
pub struct Row {
    pub scenario: &'static str,
    pub siyu: Stats,
    pub bare: Stats,
}

/// How the run was set up.
pub struct Setup {
    pub customers: i64,
    pub rows: Option<u64>,
    pub concurrency: usize,
    pub seconds: u64,
    pub pool: u32,
    pub seeded: Option<(f64, f64)>,
}

/// What the rate columns count: `per_request` of `name` per request.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    pub name: &'static str,
    pub per_request: f64,
}

pub const REQUESTS: Unit = Unit { name: "req", per_request: 1.0 };

/// The Markdown comments around a benchmark's section of the docs: `<!-- bench NAME: begin|end -->`.
pub fn markers(name: &str) -> (String, String) {
    (format!("<!-- bench {name}: begin -->"), format!("<!-- bench {name}: end -->"))
}

pub fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The results as a Markdown table (also what the terminal shows), rates in `unit`s per second.
pub fn table<'a>(rows: impl IntoIterator<Item = &'a Row>, unit: Unit) -> String {
    let u = unit.name;
    let mut t = format!(
        "| scenario | siyu {u}/s | siyu p50 | siyu p99 | bare {u}/s | bare p50 | bare p99 | ratio |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let ratio = r.siyu.rate() / r.bare.rate().max(1e-9);
        t.push_str(&format!(
            "| {} | {} | {:.2} ms | {:.2} ms | {} | {:.2} ms | {:.2} ms | {:.2}× |\n",
            r.scenario,
            thousands(r.siyu.rate() * unit.per_request),
            r.siyu.quantile_ms(0.5),
            r.siyu.quantile_ms(0.99),
            thousands(r.bare.rate() * unit.per_request),
            r.bare.quantile_ms(0.5),
            r.bare.quantile_ms(0.99),
            ratio
        ));
    }
    t
}

/// CPU model, cores, memory and kernel, from `/proc` where there is one.
pub fn machine() -> String {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| format!(", {:.0} GiB RAM", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = read("/proc/sys/kernel/osrelease");
    let os =
        if kernel.trim().is_empty() { std::env::consts::OS.to_string() } else { format!("Linux {}", kernel.trim()) };
    format!("{cpu}, {cores} cores{mem_gib}, {os}")
}

/// The lowest ratio of siyu's rate to the bare handler's.
pub fn worst_ratio<'a>(rows: impl IntoIterator<Item = &'a Row>) -> f64 {
    rows.into_iter().map(|r| r.siyu.rate() / r.bare.rate().max(1e-9)).fold(f64::INFINITY, f64::min)
}

/// Whether every scenario reached the `goal` ratio, and the worst ratio.
fn verdict(rows: &[Row], goal: f64) -> String {
    let worst = worst_ratio(rows);
    if worst >= goal {
        format!("Goal met: the lowest ratio is {worst:.2}×.")
    } else {
        format!("**Goal not met**: the lowest ratio is {worst:.2}× (goal {goal}×); see the notes below.")
    }
}

/// The `siyu bench api` section of `docs/benchmarks.md`.
pub fn section(rows: &[Row], setup: &Setup) -> String {
    let seeded = match setup.seeded {
        Some((secs, rate)) => format!(" (this run seeded it in {secs:.0} s, {} customers/s)", thousands(rate)),
        None => String::new(),
    };
    let rows_note = setup.rows.map(|r| format!(", {} rows in all", thousands(r as f64))).unwrap_or_default();
    let (begin, end) = markers("api");
    format!(
        "{begin}
## API: customer profile and customer list (`siyu bench api`)

Goal: siyu serves at least 0.3× the requests per second of a bare axum handler returning the same JSON.

- **siyu**: the real router (`siyu_web::router`: bearer-token auth, request ids, tracing, metrics, timeout)
  over a SQLite file holding the demo brand with {customers} customers{rows_note}; pool of {pool} connections.
  Profile GET = `GET /api/v1/customers/{{id}}` for a random customer of all {customers}; list =
  `GET /api/v1/customers?limit=50` (newest first, masked phones and tags).
- **bare**: axum with no middleware, no auth and no database, answering the same routes with the same JSON
  (sampled from siyu before the run) serialised from memory on every request.
- **load**: an in-process client with {c} keep-alive connections, {s} s per scenario after a warm-up, in the
  same process as both servers; p50/p99 are per-request latencies seen by the client.

{table}
{verdict}

Measured {date} on {machine}, release build.

Reproduce: `cargo build --release -p siyu && target/release/siyu bench api --write-docs`. The first run seeds
`target/bench-api.db`{seeded}; later runs reuse it. Flags: `--customers`, `--concurrency`, `--seconds`, `--db`.
{end}
",
        customers = thousands(setup.customers as f64),
        pool = setup.pool,
        c = setup.concurrency,
        s = setup.seconds,
        table = table(rows, REQUESTS),
        verdict = verdict(rows, API_GOAL),
        date = chrono::Utc::now().format("%Y-%m-%d"),
        machine = machine(),
    )
}

/// Replaces (or appends) benchmark `name`'s section in `path` (`section` starts and ends with its
/// [`markers`]), creating the file with an introduction if needed.
pub fn write_docs(path: &Path, name: &str, section: &str) -> anyhow::Result<()> {
    let (begin, end) = markers(name);
    let current = std::fs::read_to_string(path).unwrap_or_else(|_| INTRO.to_string());
    let updated = match (current.find(&begin), current.find(&end)) {
        (Some(b), Some(e)) if e > b => format!("{}{}{}", &current[..b], section.trim_end(), &current[e + end.len()..]),
        _ => format!("{}\n\n{}", current.trim_end(), section),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, updated)?;
    Ok(())
}

/// The fastest of several timed runs.
pub fn best(runs: &[std::time::Duration]) -> std::time::Duration {
    runs.iter().copied().min().unwrap_or_default()
}

/// The median of several timed runs.
pub fn median(runs: &[std::time::Duration]) -> std::time::Duration {
    let mut sorted = runs.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated_with_commas() {
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(12_345.6), "12,346");
    }

    #[test]
    fn writing_the_docs_replaces_only_the_marked_section() {
        let dir = tempfile_dir();
        let path = dir.join("benchmarks.md");
        let (b, e) = markers("api");
        std::fs::write(&path, format!("# B\n\nother\n\n{b}\nold\n{e}\n\n## later\n")).unwrap();
        write_docs(&path, "api", &format!("{b}\nnew\n{e}\n")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("# B\n\nother\n\n{b}\nnew\n{e}\n\n## later\n"));
        let (ib, ie) = markers("ingest");
        write_docs(&path, "ingest", &format!("{ib}\nfirst\n{ie}\n")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("# B\n\nother\n\n{b}\nnew\n{e}\n\n## later\n\n{ib}\nfirst\n{ie}\n"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("siyu-bench-docs-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
