//! The Python side of `siyu bench clv|segment|rfm|wecom`: a virtual environment under `target/` holding the
//! peer's packages (`lifetimes`, `duckdb`, `wechatpy`), made and filled with `pip` on first use, and the scripts of
//! `benches/*/` run in it, each printing one JSON object as its last line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::de::DeserializeOwned;

/// Where the benchmarks' virtual environment lives unless `--python` names an interpreter.
pub const VENV: &str = "target/bench-venv";

/// A package the peer needs: its name on PyPI and the module it imports as.
#[derive(Debug, Clone, Copy)]
pub struct Package {
    pub pip: &'static str,
    pub module: &'static str,
}

pub const LIFETIMES: Package = Package { pip: "lifetimes", module: "lifetimes" };
pub const DUCKDB: Package = Package { pip: "duckdb", module: "duckdb" };
pub const WECHATPY: Package = Package { pip: "wechatpy", module: "wechatpy" };
pub const CRYPTOGRAPHY: Package = Package { pip: "cryptography", module: "cryptography" };
pub const JIEBA: Package = Package { pip: "jieba", module: "jieba" };
pub const PYAHOCORASICK: Package = Package { pip: "pyahocorasick", module: "ahocorasick" };

/// The interpreter to run the peer with. With `python` given, it must already import every package (an
/// error says what to install). Without, the venv at [`VENV`] is made with `python3 -m venv` if missing and
/// what it lacks is installed with its `pip`; when that fails, the error gives the commands to run by hand.
pub fn interpreter(python: Option<&Path>, packages: &[Package]) -> anyhow::Result<PathBuf> {
    if let Some(python) = python {
        let missing = missing(python, packages);
        anyhow::ensure!(
            missing.is_empty(),
            "{} cannot import {}: run `{} -m pip install {}`",
            python.display(),
            names(&missing, |p| p.module),
            python.display(),
            names(&missing, |p| p.pip)
        );
        return Ok(python.to_path_buf());
    }
    let venv = Path::new(VENV);
    let python = venv.join("bin").join("python");
    let by_hand = format!("python3 -m venv {VENV} && {VENV}/bin/pip install {}", names(packages, |p| p.pip));
    if !python.exists() {
        println!("python: making the virtual environment {VENV}");
        let made = Command::new("python3").args(["-m", "venv"]).arg(venv).status();
        anyhow::ensure!(
            matches!(made, Ok(s) if s.success()),
            "could not make {VENV} with `python3 -m venv`: install Python 3 with venv, then run `{by_hand}` \
             (or pass --python, or --skip-peer)"
        );
    }
    let missing = missing(&python, packages);
    if !missing.is_empty() {
        println!("python: pip install {} into {VENV}", names(&missing, |p| p.pip));
        let installed = Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(missing.iter().map(|p| p.pip))
            .status();
        anyhow::ensure!(
            matches!(installed, Ok(s) if s.success()),
            "pip could not install {}: run `{by_hand}` by hand (or pass --python, or --skip-peer)",
            names(&missing, |p| p.pip)
        );
        let still = self::missing(&python, packages);
        anyhow::ensure!(
            still.is_empty(),
            "{VENV} still cannot import {}: run `{by_hand}`",
            names(&still, |p| p.module)
        );
    }
    Ok(python)
}

fn missing(python: &Path, packages: &[Package]) -> Vec<Package> {
    packages
        .iter()
        .filter(|p| {
            let probe = Command::new(python)
                .args(["-c", &format!("import {}", p.module)])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            !matches!(probe, Ok(s) if s.success())
        })
        .copied()
        .collect()
}

fn names(packages: &[Package], name: impl Fn(&Package) -> &'static str) -> String {
    packages.iter().map(name).collect::<Vec<_>>().join(" ")
}

/// What a script printed (its last non-empty line, as JSON) and the wall time of its whole process.
pub struct ScriptRun<T> {
    pub output: T,
    pub process_s: f64,
}

/// Writes `script` (embedded in the binary) as `dir/name` and runs it with `python` and `args`, its standard
/// error shown as it comes; the last line it prints is parsed as `T`.
pub fn run_script<T: DeserializeOwned>(
    python: &Path,
    dir: &Path,
    name: &str,
    script: &str,
    args: &[String],
) -> anyhow::Result<ScriptRun<T>> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, script)?;
    let started = Instant::now();
    let out = Command::new(python).arg(&path).args(args).stderr(Stdio::inherit()).output()?;
    let process_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(out.status.success(), "{} {} exited with {}", python.display(), path.display(), out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let output = serde_json::from_str(last).map_err(|e| anyhow::anyhow!("{name} printed {last:?}: {e}"))?;
    Ok(ScriptRun { output, process_s })
}
