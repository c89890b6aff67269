//! The peer of `siyu bench identity`: Python networkx, through `crates/siyu/bench/identity_networkx.py`
//! (built into the binary and written next to the edge file before each run).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Deserialize;

const SCRIPT: &str = include_str!("../../../bench/identity_networkx.py");
pub const SCRIPT_PATH: &str = "crates/siyu/bench/identity_networkx.py";

/// What the script prints (one JSON object), and the process's wall time measured here.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerRun {
    pub networkx: String,
    pub python: String,
    pub nodes: u64,
    pub components: u64,
    pub largest: u64,
    /// Reading the file and `add_edges_from`.
    pub read_build_s: f64,
    pub components_s: f64,
    /// From opening the file to the answer (after Python started and imported networkx).
    pub total_s: f64,
    pub peak_rss_kib: u64,
    /// The whole process: interpreter start, import, the work and freeing the graph.
    #[serde(skip)]
    pub process_s: f64,
}

/// The networkx version `python` imports, or an error saying how to install it.
pub fn check(python: &str) -> anyhow::Result<String> {
    let probe = Command::new(python)
        .args(["-c", "import networkx; print(networkx.__version__)"])
        .stderr(Stdio::null())
        .output();
    match probe {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        Ok(_) => anyhow::bail!(
            "networkx is not installed for {python}: install it with `pip install networkx`, or pass --skip-peer"
        ),
        Err(e) => {
            anyhow::bail!("cannot run {python} ({e}): install Python 3 and `pip install networkx`, or pass --skip-peer")
        }
    }
}

/// Runs the script on `edges` with `python`, writing it into `dir` first.
pub fn run(python: &str, dir: &Path, edges: &Path) -> anyhow::Result<PeerRun> {
    let script = dir.join("identity_networkx.py");
    std::fs::write(&script, SCRIPT)?;
    let spinner = super::spinner("networkx: reading, add_edges_from, connected_components");
    let started = Instant::now();
    let out = Command::new(python).arg(&script).arg(edges).stderr(Stdio::inherit()).output();
    let process_s = started.elapsed().as_secs_f64();
    spinner.finish_and_clear();
    let out = out?;
    anyhow::ensure!(out.status.success(), "{python} {} exited with {}", script.display(), out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let mut run: PeerRun =
        serde_json::from_str(last).map_err(|e| anyhow::anyhow!("the networkx script printed {last:?}: {e}"))?;
    run.process_s = process_s;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_reports_the_same_figures_as_siyu_on_a_small_file() {
        if check("python3").is_err() {
            eprintln!("skipped: python3 with networkx is not available");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let edges = dir.path().join("edges.tsv");
        std::fs::write(&edges, "a\tb\nc\td\nb\tc\ne\te\nf\tg\n小明\tf\n").unwrap();
        let run = run("python3", dir.path(), &edges).unwrap();
        assert_eq!((run.nodes, run.components, run.largest), (8, 3, 4));
    }
}
