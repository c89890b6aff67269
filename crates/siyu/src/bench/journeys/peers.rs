//! The peers of `siyu bench journeys`: graphile-worker and pg-boss, Node.js job queues on PostgreSQL, each
//! draining the same number of no-op jobs in batches of the same size on the same database.
//!
//! Their packages are pinned in `benches/journeys/package.json` and `package-lock.json` (embedded in the
//! binary), copied into a folder under `target/` and installed there with `npm ci` on first use (again when
//! the lock file changed), like the Python benches' venv. The scripts print one JSON line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

const PACKAGE_JSON: &str = include_str!("../../../../../benches/journeys/package.json");
const PACKAGE_LOCK: &str = include_str!("../../../../../benches/journeys/package-lock.json");

/// A peer: what it is called in the report, its script, and the ratio siyu should reach against it.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub name: &'static str,
    script_name: &'static str,
    script: &'static str,
    pub goal: f64,
}

pub const PEERS: [Peer; 2] = [
    Peer {
        name: "graphile-worker",
        script_name: "graphile.mjs",
        script: include_str!("../../../../../benches/journeys/graphile.mjs"),
        goal: 1.0,
    },
    Peer {
        name: "pg-boss",
        script_name: "pgboss.mjs",
        script: include_str!("../../../../../benches/journeys/pgboss.mjs"),
        goal: 3.0,
    },
];

/// What a peer's script printed.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerRun {
    pub name: String,
    pub version: String,
    pub jobs: u64,
    pub seconds: f64,
    pub rate: f64,
    #[serde(skip)]
    pub goal: f64,
}

/// Installs the peers' packages into `dir` unless they are there already; returns the `node` to run.
pub fn prepare(dir: &Path) -> anyhow::Result<PathBuf> {
    let node = PathBuf::from("node");
    let by_hand = format!("cp benches/journeys/package*.json {0} && (cd {0} && npm ci)", dir.display());
    let version = Command::new(&node).arg("--version").output();
    anyhow::ensure!(
        matches!(&version, Ok(o) if o.status.success()),
        "`node` not found: install Node.js 20 or later with npm (or pass --skip-peers)"
    );
    std::fs::create_dir_all(dir)?;
    let lock = dir.join("package-lock.json");
    let installed = std::fs::read_to_string(&lock).is_ok_and(|l| l == PACKAGE_LOCK)
        && dir.join("node_modules/graphile-worker").exists()
        && dir.join("node_modules/pg-boss").exists();
    if !installed {
        println!("  peers: npm ci in {} (graphile-worker, pg-boss)", dir.display());
        std::fs::write(dir.join("package.json"), PACKAGE_JSON)?;
        std::fs::write(&lock, PACKAGE_LOCK)?;
        let status =
            Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(dir).status();
        anyhow::ensure!(
            matches!(status, Ok(s) if s.success()),
            "npm could not install the peers: run `{by_hand}` by hand (or pass --skip-peers)"
        );
    }
    Ok(node)
}

/// Runs one peer's script on the database at `url`: `jobs` no-op jobs after `warm` warm-up jobs.
pub fn run(node: &Path, dir: &Path, peer: Peer, url: &str, jobs: u64, warm: u64) -> anyhow::Result<PeerRun> {
    let path = dir.join(peer.script_name);
    std::fs::write(&path, peer.script)?;
    println!("  {}: {jobs} no-op jobs in batches of {} after {warm} to warm up", peer.name, super::BATCH);
    let out = Command::new(node)
        .arg(peer.script_name)
        .args([url.to_string(), jobs.to_string(), super::BATCH.to_string(), warm.to_string()])
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()?;
    anyhow::ensure!(out.status.success(), "{} exited with {}", path.display(), out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let mut run: PeerRun =
        serde_json::from_str(last).map_err(|e| anyhow::anyhow!("{} printed {last:?}: {e}", peer.script_name))?;
    anyhow::ensure!(run.jobs == jobs, "{} ran {} jobs, expected {jobs}", peer.name, run.jobs);
    run.goal = peer.goal;
    Ok(run)
}
