//! The peer: `benches/wecom/wechatpy_callbacks.py` run with the benchmark's Python, reading the same payload
//! file. It times only its loop of `WeChatCrypto.decrypt_message` + `parse_message` (imports and reading the
//! file are left out) and reports the kinds of event it saw, which must match siyu's.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::Ours;
use super::payloads::{AES_KEY, CORP_ID, TOKEN};
use crate::bench::identity::spinner;
use crate::bench::python;

const SCRIPT: &str = include_str!("../../../../../benches/wecom/wechatpy_callbacks.py");
pub const SCRIPT_PATH: &str = "benches/wecom/wechatpy_callbacks.py";

/// What the script prints.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerRun {
    pub wechatpy: String,
    /// `wechatpy.work` (2.x) or `wechatpy.enterprise` (1.x).
    pub module: String,
    pub cryptography: String,
    pub python: String,
    pub callbacks: u64,
    pub seconds: Vec<f64>,
    pub kinds: BTreeMap<String, u64>,
    pub welcome: u64,
}

/// wechatpy's run and the wall time of its whole process.
pub struct Peer {
    pub run: PeerRun,
    pub process_s: f64,
}

/// Runs the script over `payloads` `runs` times; fails if it saw other events than siyu did.
pub async fn run(python: &Path, dir: &Path, payloads: &Path, runs: usize, ours: &Ours) -> anyhow::Result<Peer> {
    println!("wechatpy: running {SCRIPT_PATH}, {runs} passes");
    let args = [payloads.display().to_string(), TOKEN.into(), AES_KEY.into(), CORP_ID.into(), runs.to_string()];
    let (python, dir) = (python.to_path_buf(), dir.to_path_buf());
    let bar = spinner("wechatpy: decrypt_message + parse_message");
    let ran = tokio::task::spawn_blocking(move || {
        python::run_script::<PeerRun>(&python, &dir, "wechatpy_callbacks.py", SCRIPT, &args)
    })
    .await;
    bar.finish_and_clear();
    let ran = ran??;
    let p = &ran.output;
    anyhow::ensure!(
        p.callbacks == ours.callbacks as u64 && p.kinds == ours.kinds && p.welcome == ours.welcome,
        "wechatpy saw {} callbacks ({} with a WelcomeCode) of kinds {:?}; siyu {} ({}) of kinds {:?}",
        p.callbacks,
        p.welcome,
        p.kinds,
        ours.callbacks,
        ours.welcome,
        ours.kinds
    );
    println!(
        "wechatpy {} ({}, cryptography {}, Python {}): {} (process {:.2} s)",
        p.wechatpy,
        p.module,
        p.cryptography,
        p.python,
        super::docs::runs_line(
            ours.callbacks,
            &p.seconds.iter().map(|s| std::time::Duration::from_secs_f64(*s)).collect::<Vec<_>>()
        ),
        ran.process_s
    );
    Ok(Peer { run: ran.output, process_s: ran.process_s })
}
