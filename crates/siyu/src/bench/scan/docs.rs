//! The results of `siyu bench scan` for the terminal, and its section of `docs/benchmarks.md` (between
//! `<!-- bench scan: begin|end -->`).

use std::time::Duration;

use super::data::Files;
use super::peer::{Peer, SCRIPT_PATH};
use super::{GOAL, Ours, Pass, TENANT_WORDS};
use crate::bench::report::{best, median};
use crate::bench::report::{machine, markers, thousands};

pub const SECTION: &str = "scan";

/// Everything one run measured.
pub struct Outcome {
    pub files: Files,
    pub patterns: usize,
    pub bytes: usize,
    pub lines: usize,
    pub ours: Ours,
    pub peer: Option<Peer>,
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}

fn secs(runs: &[Duration]) -> String {
    runs.iter().map(|d| format!("{:.3}", d.as_secs_f64())).collect::<Vec<_>>().join(", ")
}

fn peer_runs(p: &Peer) -> Vec<Duration> {
    p.run.seconds.iter().map(|s| Duration::from_secs_f64(*s)).collect()
}

fn pass_line(label: &str, pass: &Pass, bytes: usize) -> String {
    format!(
        "{label}: {} hits; best {:.1} MB/s, median {:.1} MB/s ({} s)",
        thousands(pass.hits as f64),
        mb_per_s(bytes, best(&pass.runs)),
        mb_per_s(bytes, median(&pass.runs)),
        secs(&pass.runs)
    )
}

/// What siyu's passes printed.
pub fn ours_lines(o: &Ours, bytes: usize) -> String {
    format!(
        "{}\n{}\n  build: Scanner::new {:.3} s, bare automaton {:.3} s ({:.1} MB)",
        pass_line("siyu Scanner::scan (1 thread)", &o.scanner, bytes),
        pass_line("siyu bare aho-corasick (1 thread)", &o.raw, bytes),
        o.scanner_build.as_secs_f64(),
        o.raw_build.as_secs_f64(),
        o.raw_bytes as f64 / 1e6
    )
}

pub fn peer_line(p: &Peer, bytes: usize) -> String {
    let r = &p.run;
    format!(
        "{} (process {:.2} s, build {:.3} s, peak {:.0} MB)",
        pass_line(&format!("pyahocorasick {} (Python {})", r.pyahocorasick, r.python), &pass_of(p), bytes),
        p.process_s,
        r.build_s,
        r.peak_rss_kib as f64 / 1024.0
    )
}

fn pass_of(p: &Peer) -> Pass {
    Pass { runs: peer_runs(p), hits: p.run.hits }
}

impl Outcome {
    /// Our best MB/s over pyahocorasick's best, for the scanner and for the bare automaton.
    fn ratios(&self) -> Option<(f64, f64, f64)> {
        let p = best(&peer_runs(self.peer.as_ref()?)).as_secs_f64();
        let o = &self.ours;
        let r = |pass: &Pass| p / best(&pass.runs).as_secs_f64().max(1e-9);
        Some((r(&o.scanner), r(&o.raw), r(&o.strict)))
    }
}

/// The table and what follows it.
pub fn results(o: &Outcome) -> String {
    let (bytes, lines) = (o.bytes, o.lines);
    let ratios = o.ratios();
    let mut t = String::from(
        "| run (1 thread) | build | hits | best | median | MB/s | lines/s | ratio |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut row = |label: String, build: f64, pass: &Pass, ratio: Option<f64>| {
        let b = best(&pass.runs);
        t.push_str(&format!(
            "| {label} | {build:.2} s | {} | {:.3} s | {:.3} s | {:.1} | {} | {} |\n",
            thousands(pass.hits as f64),
            b.as_secs_f64(),
            median(&pass.runs).as_secs_f64(),
            mb_per_s(bytes, b),
            thousands(lines as f64 / b.as_secs_f64().max(1e-9)),
            ratio.map_or_else(|| "–".to_string(), |r| format!("{r:.1}×")),
        ));
    };
    if let Some(p) = &o.peer {
        let label = format!("pyahocorasick {} (Python {}): `iter_long` per line", p.run.pyahocorasick, p.run.python);
        row(label, p.run.build_s, &pass_of(p), Some(1.0));
    }
    let ours = &o.ours;
    row(
        "**siyu `Scanner::scan` per line** (normalise + leftmost-longest AC + jieba check)".to_string(),
        ours.scanner_build.as_secs_f64(),
        &ours.scanner,
        ratios.map(|r| r.0),
    );
    row(
        "siyu `Scanner::scan`, every rule strict (no jieba check)".to_string(),
        ours.scanner_build.as_secs_f64(),
        &ours.strict,
        ratios.map(|r| r.2),
    );
    row(
        "siyu bare `aho-corasick` per line (as written, like the peer)".to_string(),
        ours.raw_build.as_secs_f64(),
        &ours.raw,
        ratios.map(|r| r.1),
    );
    t.push_str(&format!(
        "\nHits: the bare automaton {} and pyahocorasick {}; the scanner {} ({} of them found only by \
         normalising: disguised, full-width or uppercase), or {} with every rule strict, so {} candidate \
         hits were dropped as inside a longer dictionary word.\n",
        thousands(ours.raw.hits as f64),
        o.peer.as_ref().map_or_else(|| "–".to_string(), |p| thousands(p.run.hits as f64)),
        thousands(ours.scanner.hits as f64),
        thousands(ours.disguised_hits as f64),
        thousands(ours.strict.hits as f64),
        thousands(ours.strict.hits.saturating_sub(ours.scanner.hits) as f64),
    ));
    t.push('\n');
    t.push_str(&verdict(o));
    t
}

fn verdict(o: &Outcome) -> String {
    let Some((scanner, raw, _)) = o.ratios() else {
        return "pyahocorasick was skipped (`--skip-peer`): no ratio.".to_string();
    };
    let agree = o.peer.as_ref().is_some_and(|p| p.run.hits == o.ours.raw.hits);
    let agreement = if agree {
        "The bare automaton and pyahocorasick find the same number of hits."
    } else {
        "**The bare automaton and pyahocorasick find different numbers of hits.**"
    };
    let met = if scanner >= GOAL { "goal met" } else { "**goal not met**" };
    format!(
        "{agreement}\nsiyu `Scanner::scan` MB/s / pyahocorasick MB/s = {scanner:.1}× (goal ≥ {GOAL:.0}×): {met}; \
         the bare automaton {raw:.1}×."
    )
}

/// The `siyu bench scan` section of `docs/benchmarks.md`.
pub fn section(o: &Outcome) -> String {
    let (begin, end) = markers(SECTION);
    let m = &o.files.manifest;
    let peer_env = o.peer.as_ref().map_or_else(
        || "skipped in this run".to_string(),
        |p| format!("pyahocorasick {} on Python {}", p.run.pyahocorasick, p.run.python),
    );
    format!(
        "{begin}
## Sensitive-word scan against pyahocorasick (`siyu bench scan`)

Goal: `siyu_search::Scanner::scan` goes through chat text at least {GOAL:.0}× as many MB/s as Python
pyahocorasick's leftmost-longest `iter_long`, with {patterns} patterns.

- **data**: {patterns} distinct patterns of 2–6 characters (`{patterns_file}`): verb or modifier + object
  (代开发票, 低价出售银行卡), object + suffix (刷单群), verb + object + suffix, and a twentieth mixed with
  ASCII or digits (加vx, qq群, 12306代购), lowercase. {lines} chat messages, {mb:.1} MB of UTF-8, one a line
  (`{chat_file}`): customer-service small talk with products, order numbers, sizes, emoji and punctuation;
  {planted} messages have a pattern planted as written and {disguised} a disguised one (a space, `·`, `.`,
  `*`, `、`, an emoji or a zero-width space inside, or full-width or uppercase ASCII). Generated from the
  seed once and reused; both sides read the same two files and time only the passes over the loaded lines.
- **siyu `Scanner::scan`**: the patterns as non-strict `WordRule`s, a tenant segmenter with {tenant};
  `scan` on every line, as the session-archive alert engine calls it: a first pass over the line, building
  nothing, that classifies each character as the normalisation does (full-width folding, lowercasing,
  filler characters dropped) and looks for a two-character rule or a longer rule's first three characters
  (hashed bit tables in the L1 cache, then the exact lists), so most lines stop there; then the
  normalising pass with its offset map, leftmost-longest Aho-Corasick over the normalised line from the
  first pair that begins a rule, and for each candidate hit the jieba check of the words around it. One
  thread. The same with every rule strict shows the jieba check's cost.
- **siyu bare**: `aho_corasick::AhoCorasick` (`MatchKind::LeftmostLongest`) `find_iter` over each line as
  written: the same semantics as the peer, for context.
- **pyahocorasick**: `{SCRIPT_PATH}` ({peer_env}): `Automaton.add_word` for each pattern,
  `make_automaton`, then `for _ in automaton.iter_long(line)` over every line, counting.
  Build time is reported apart; reading the files and Python's start are not timed.

{results}

Measured {date} on {machine}, release build.

Reproduce: `cargo build --release -p siyu && target/release/siyu bench scan --write-docs` (the first run
makes the venv `target/bench-venv` and installs `pyahocorasick` with pip; `--python PATH` uses another
interpreter, `--skip-peer` runs siyu only). Flags: `--patterns`, `--megabytes`, `--seed`, `--runs`, `--dir`.
{end}
",
        patterns = thousands(o.patterns as f64),
        patterns_file = o.files.patterns.display(),
        chat_file = o.files.chat.display(),
        lines = thousands(o.lines as f64),
        mb = o.bytes as f64 / 1e6,
        planted = thousands(m.planted as f64),
        disguised = thousands(m.disguised as f64),
        tenant = TENANT_WORDS.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", "),
        results = results(o),
        date = chrono::Utc::now().format("%Y-%m-%d"),
        machine = machine(),
    )
}
