//! The peer: `benches/scan/peer.py` run with the benchmark's Python over the same pattern and chat files.
//! It times only its loop of `Automaton.iter_long` over the lines (the build is timed apart; imports and
//! reading the files are left out).

use std::path::Path;

use serde::Deserialize;

use crate::bench::identity::spinner;
use crate::bench::python;

const SCRIPT: &str = include_str!("../../../../../benches/scan/peer.py");
pub const SCRIPT_PATH: &str = "benches/scan/peer.py";

/// What the script prints.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerRun {
    pub pyahocorasick: String,
    pub python: String,
    pub patterns: u64,
    pub lines: u64,
    pub hits: u64,
    pub build_s: f64,
    pub seconds: Vec<f64>,
    pub peak_rss_kib: u64,
}

/// pyahocorasick's run and the wall time of its whole process.
pub struct Peer {
    pub run: PeerRun,
    pub process_s: f64,
}

/// Runs the script over the files `runs` times.
pub fn run(python: &Path, dir: &Path, patterns: &Path, chat: &Path, runs: usize) -> anyhow::Result<Peer> {
    println!("pyahocorasick: running {SCRIPT_PATH}, {runs} passes");
    let args = [patterns.display().to_string(), chat.display().to_string(), runs.to_string()];
    let bar = spinner("pyahocorasick: Automaton.iter_long over every line");
    let ran = python::run_script::<PeerRun>(python, dir, "scan_peer.py", SCRIPT, &args);
    bar.finish_and_clear();
    let ran = ran?;
    Ok(Peer { run: ran.output, process_s: ran.process_s })
}
