//! The peer: `benches/search/peer.py` run with the benchmark's Python on the same files. It times only its
//! loops (jieba.lcut over the text; cut_for_search + FTS5 inserts + commit; cut_for_search + FTS5 MATCH per
//! query); loading jieba's dictionary and reading the files are reported apart.

use std::path::Path;

use serde::Deserialize;

use crate::bench::identity::spinner;
use crate::bench::python;

const SCRIPT: &str = include_str!("../../../../../benches/search/peer.py");
pub const SCRIPT_PATH: &str = "benches/search/peer.py";

/// `peer.py segment`.
#[derive(Debug, Clone, Deserialize)]
pub struct Segment {
    pub load_s: f64,
    pub seconds: f64,
    pub bytes: u64,
    pub tokens: u64,
}

/// `peer.py index`.
#[derive(Debug, Clone, Deserialize)]
pub struct Indexed {
    pub load_s: f64,
    pub seconds: f64,
    pub docs: u64,
}

/// `peer.py query`.
#[derive(Debug, Clone, Deserialize)]
pub struct Queried {
    pub load_s: f64,
    pub built_s: Option<f64>,
    pub queries: u64,
    pub hits: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
}

/// The versions every run prints.
#[derive(Debug, Clone, Deserialize)]
pub struct Versions {
    pub jieba: String,
    pub python: String,
    pub sqlite: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Out<T> {
    #[serde(flatten)]
    run: T,
    #[serde(flatten)]
    versions: Versions,
}

/// Runs `peer.py MODE args…` in `dir`, with a spinner saying `what`.
pub fn run<T: serde::de::DeserializeOwned>(
    python: &Path,
    dir: &Path,
    what: &str,
    args: &[String],
) -> anyhow::Result<(T, Versions, f64)> {
    let bar = spinner(format!("python {SCRIPT_PATH}: {what}"));
    let ran = python::run_script::<Out<T>>(python, dir, "peer.py", SCRIPT, args);
    bar.finish_and_clear();
    let ran = ran?;
    Ok((ran.output.run, ran.output.versions, ran.process_s))
}
