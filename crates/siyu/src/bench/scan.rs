//! `siyu bench scan`: the sensitive-word scanner (`siyu_search::Scanner`) over chat text, against Python
//! `pyahocorasick` on the same files.
//!
//! `data` generates 10,000 patterns and 64 MB of chat messages once per size and seed, into files both
//! sides read. siyu compiles the patterns into a `Scanner` (non-strict rules, a tenant segmenter with a few
//! brand words) and calls `Scanner::scan` on every line, the way the session-archive alert engine does:
//! normalisation, leftmost-longest Aho-Corasick, and the jieba check of each candidate hit. For context it
//! also runs the bare `aho_corasick` automaton over the lines as written (the same semantics as the peer).
//! pyahocorasick builds an `Automaton` and runs `iter_long` (leftmost-longest) over every line (`peer`).
//! Only the passes over the loaded lines are timed; building the automata is reported apart.

mod data;
mod docs;
mod peer;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, MatchKind};
use clap::Args;
use siyu_search::{Scanner, Segmenter, WordRule};

use super::identity::spinner;
use super::python::{self, PYAHOCORASICK};
use super::report::{machine, thousands};

/// The ratio of siyu's MB/s to pyahocorasick's the project aims for.
pub const GOAL: f64 = 20.0;

/// Brand words of the benchmark tenant, added to its segmenter.
const TENANT_WORDS: &[&str] = &["企业微信", "小米之家", "会员群", "直播间"];

#[derive(Args, Clone)]
pub struct ScanArgs {
    /// Distinct patterns generated.
    #[arg(long, default_value_t = 10_000)]
    patterns: usize,
    /// Megabytes of chat text generated (UTF-8, one message a line).
    #[arg(long, default_value_t = 64)]
    megabytes: u64,
    /// Seed of the generator: the same sizes and seed give the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed passes over the text on each side (the best and the median are reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where the generated files and the peer's script are written (and reused).
    #[arg(long, default_value = "target/bench-scan")]
    dir: PathBuf,
    /// Run siyu only, without pyahocorasick.
    #[arg(long)]
    skip_peer: bool,
    /// A Python interpreter that imports `ahocorasick` [default: a venv in target/bench-venv, made on first use].
    #[arg(long)]
    python: Option<PathBuf>,
    /// Write the results into the docs file.
    #[arg(long)]
    write_docs: bool,
    #[arg(long, default_value = "docs/benchmarks.md")]
    docs: PathBuf,
}

/// Timed passes over every line, and the hits one pass found.
pub struct Pass {
    pub runs: Vec<Duration>,
    pub hits: u64,
}

/// What siyu measured.
pub struct Ours {
    pub scanner_build: Duration,
    pub raw_build: Duration,
    /// Heap of the bare automaton.
    pub raw_bytes: usize,
    pub scanner: Pass,
    pub raw: Pass,
    /// The scanner with every rule strict: normalised, no jieba check.
    pub strict: Pass,
    /// Hits of the scanner whose original text differs from the rule as written (found by normalising).
    pub disguised_hits: u64,
}

pub async fn run(args: ScanArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || bench(&args)).await?
}

fn bench(a: &ScanArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        a.patterns > 0 && a.megabytes > 0 && a.runs > 0,
        "--patterns, --megabytes and --runs must be positive"
    );
    let python = if a.skip_peer { None } else { Some(python::interpreter(a.python.as_deref(), &[PYAHOCORASICK])?) };
    println!(
        "scan: {} patterns and {} MB of chat text (seed {}) in {}",
        thousands(a.patterns as f64),
        a.megabytes,
        a.seed,
        a.dir.display()
    );
    let files = data::ensure(&a.dir, a.patterns, a.megabytes, a.seed)?;
    let m = &files.manifest;
    println!(
        "  {} ({}): {} lines, {:.1} MB, {} patterns planted as written and {} disguised",
        files.chat.display(),
        if files.generated { "generated" } else { "reused" },
        thousands(m.lines as f64),
        m.bytes as f64 / 1e6,
        thousands(m.planted as f64),
        thousands(m.disguised as f64)
    );
    let patterns: Vec<String> = std::fs::read_to_string(&files.patterns)?.lines().map(str::to_string).collect();
    let text = std::fs::read_to_string(&files.chat)?;
    let lines: Vec<&str> = text.lines().collect();

    let ours = ours(&patterns, &lines, a.runs)?;
    println!("{}", docs::ours_lines(&ours, text.len()));

    let peer = match &python {
        Some(python) => {
            let p = peer::run(python, &a.dir, &files.patterns, &files.chat, a.runs)?;
            anyhow::ensure!(
                p.run.lines == lines.len() as u64 && p.run.patterns == patterns.len() as u64,
                "pyahocorasick read {} patterns and {} lines, siyu {} and {}",
                p.run.patterns,
                p.run.lines,
                patterns.len(),
                lines.len()
            );
            println!("{}", docs::peer_line(&p, text.len()));
            Some(p)
        }
        None => None,
    };

    let outcome = docs::Outcome { files, patterns: patterns.len(), bytes: text.len(), lines: lines.len(), ours, peer };
    println!("\n{}\n", machine());
    println!("{}", docs::results(&outcome));
    if a.write_docs {
        super::report::write_docs(&a.docs, docs::SECTION, &docs::section(&outcome))?;
        println!("written to {}", a.docs.display());
    }
    Ok(())
}

fn rules(patterns: &[String], strict: bool) -> impl Iterator<Item = WordRule> + '_ {
    patterns.iter().enumerate().map(move |(i, w)| WordRule { id: i as i64, word: w.clone(), strict })
}

/// Builds both automata, then times `runs` passes of each over every line.
fn ours(patterns: &[String], lines: &[&str], runs: usize) -> anyhow::Result<Ours> {
    let segmenter = Segmenter::with_user_words(TENANT_WORDS);
    let started = Instant::now();
    let scanner = Scanner::new(rules(patterns, false), segmenter.clone())?;
    let scanner_build = started.elapsed();
    anyhow::ensure!(
        scanner.len() == patterns.len(),
        "{} patterns compiled into {} rules",
        patterns.len(),
        scanner.len()
    );
    let started = Instant::now();
    let raw = AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(patterns)?;
    let raw_build = started.elapsed();

    let scanner_pass = passes("siyu: Scanner::scan over every line", runs, || {
        lines.iter().map(|line| scanner.scan(line).len() as u64).sum()
    });
    let raw_pass = passes("siyu: bare aho-corasick over every line", runs, || {
        lines.iter().map(|line| raw.find_iter(*line).count() as u64).sum()
    });

    let strict = Scanner::new(rules(patterns, true), segmenter)?;
    let strict = passes("siyu: Scanner::scan with every rule strict", runs, || {
        lines.iter().map(|line| strict.scan(line).len() as u64).sum()
    });
    let bar = spinner("siyu: counting disguised hits (not timed)");
    let disguised_hits = lines
        .iter()
        .map(|line| {
            scanner.scan(line).iter().filter(|h| line.get(h.start..h.end) != Some(h.word.as_str())).count() as u64
        })
        .sum();
    bar.finish_and_clear();
    Ok(Ours {
        scanner_build,
        raw_build,
        raw_bytes: raw.memory_usage(),
        scanner: scanner_pass,
        raw: raw_pass,
        strict,
        disguised_hits,
    })
}

/// `runs` timed calls of `pass` (which returns the hits it found) under a spinner.
fn passes(what: &'static str, runs: usize, pass: impl Fn() -> u64) -> Pass {
    let bar = spinner(what);
    let mut times = Vec::with_capacity(runs);
    let mut hits = 0;
    for _ in 0..runs {
        let started = Instant::now();
        hits = std::hint::black_box(pass());
        times.push(started.elapsed());
    }
    bar.finish_and_clear();
    Pass { runs: times, hits }
}
