//! `siyu bench wecom`: the WeCom side of siyu against the Python SDK `wechatpy`, in parts (`--part`).
//!
//! Part `callbacks` (the default): `--callbacks` realistic callbacks (`payloads`), encrypted and signed as WeCom
//! sends them, written to one file both sides read. siyu checks the signature, decrypts, parses and computes
//! the dedupe key of each on one thread (decrypt + parse), then receives each through the production path,
//! `App::receive_callback`, one callback per call from `--concurrency` tasks, storing it in
//! `wecom_callbacks` on a fresh SQLite file and a throwaway PostgreSQL database (`persist`). wechatpy's
//! `WeChatCrypto.decrypt_message` and `parse_message` go through the same file in the same run (`peer`); it
//! has no database, so its decrypt + parse is compared with both of ours.
//!
//! Part `mass`: a mass send to 1 M customers through the fake WeCom server: planning time, and the call
//! rate achieved against the configured quota (see `mass`).

mod docs;
mod mass;
mod mass_docs;
mod payloads;
mod peer;
mod persist;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use siyu_app::Settings;
use siyu_wecom::callback::{self, CallbackEvent};
use siyu_wecom::crypto::CallbackCrypto;

use super::databases::{self, Database};
use super::report::{machine, thousands};
use payloads::Payload;

/// The ratio to wechatpy's callbacks/s the project aims for.
pub const GOAL: f64 = 20.0;

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// Callback decrypt + parse (+ persist) per second against wechatpy.
    Callbacks,
    /// Mass-send planning of `--recipients` and the achieved call rate against `--quota`.
    Mass,
}

#[derive(Args)]
pub struct WecomArgs {
    /// Which part to run.
    #[arg(long, value_enum, default_value = "callbacks")]
    part: Part,
    /// Mass part: customers in the send.
    #[arg(long, default_value_t = 1_000_000)]
    recipients: usize,
    /// Mass part: staff the customers are spread over (each a sender with ≤10,000 per call).
    #[arg(long, default_value_t = 100)]
    senders: usize,
    /// Mass part: `add_msg_template` calls per minute the fake allows and siyu is configured with.
    #[arg(long, default_value_t = 60)]
    quota: u32,
    /// Callbacks generated, decrypted and stored by each side.
    #[arg(long, default_value_t = 100_000)]
    callbacks: usize,
    /// Seed of the event generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent `receive_callback` calls (as concurrent HTTP requests would make them).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Passes over the file for decrypt + parse, on each side (the best and the median are reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// `sqlite`, `postgres` or `both` for the persisting runs; `none` skips them.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Run siyu only, without wechatpy.
    #[arg(long)]
    skip_peer: bool,
    /// A Python interpreter that imports `wechatpy` and `cryptography` [default: a venv in target/bench-venv].
    #[arg(long)]
    python: Option<PathBuf>,
    /// Where the payload file and the peer's script are written.
    #[arg(long, default_value = "target/bench-wecom")]
    dir: PathBuf,
    /// Write the results into the docs file.
    #[arg(long)]
    write_docs: bool,
    #[arg(long, default_value = "docs/benchmarks.md")]
    docs: PathBuf,
}

pub async fn run(settings: Settings, a: WecomArgs) -> anyhow::Result<()> {
    match a.part {
        Part::Callbacks => callbacks(settings, a).await,
        Part::Mass => mass_send(settings, a).await,
    }
}

fn backends(backend: &str) -> anyhow::Result<(bool, bool)> {
    Ok(match backend {
        "both" => (true, true),
        "sqlite" => (true, false),
        "postgres" | "postgresql" => (false, true),
        "none" => (false, false),
        other => anyhow::bail!("--backend {other}: expected sqlite, postgres, both or none"),
    })
}

async fn mass_send(settings: Settings, a: WecomArgs) -> anyhow::Result<()> {
    let (sqlite, postgres) = backends(&a.backend)?;
    anyhow::ensure!(
        a.recipients > 0 && a.senders > 0 && a.quota > 0,
        "--recipients, --senders and --quota must be positive"
    );
    let mut outcomes = Vec::new();
    let mut skipped = None;
    if sqlite {
        let db = Database::sqlite("wecom-mass");
        outcomes.push(mass::on_database(&settings, db, a.recipients, a.senders, a.quota).await?);
    }
    if postgres {
        let (server, named) = databases::postgres_server(&settings.database.url);
        match Database::postgres(&server).await {
            Ok(db) => outcomes.push(mass::on_database(&settings, db, a.recipients, a.senders, a.quota).await?),
            Err(e) if !named => {
                println!("PostgreSQL: skipped ({e:#}); name a server with --database-url or SIYU_BENCH_PG_URL");
                skipped = Some(crate::redact(&server));
            }
            Err(e) => return Err(e.context(format!("PostgreSQL at {}", crate::redact(&server)))),
        }
    }
    println!("\n{}\n", machine());
    println!("{}", mass_docs::results(&outcomes));
    if a.write_docs {
        super::report::write_docs(&a.docs, mass_docs::SECTION, &mass_docs::section(&outcomes, skipped.as_deref()))?;
        println!("written to {}", a.docs.display());
    }
    if let Some(o) = outcomes.iter().find(|o| !o.complete()) {
        anyhow::bail!("{}: the send did not reach every recipient once ({:?})", o.label, o.counts);
    }
    Ok(())
}

/// siyu's decrypt + parse passes over the file on one thread, and what the events were.
pub struct Ours {
    pub runs: Vec<Duration>,
    pub callbacks: usize,
    pub kinds: std::collections::BTreeMap<String, u64>,
    pub welcome: u64,
}

async fn callbacks(settings: Settings, a: WecomArgs) -> anyhow::Result<()> {
    let (sqlite, postgres) = backends(&a.backend)?;
    anyhow::ensure!(a.callbacks > 0 && a.runs > 0, "--callbacks and --runs must be positive");
    let python = match (a.skip_peer, a.python.clone()) {
        (true, _) => None,
        (false, python) => Some(
            tokio::task::spawn_blocking(move || {
                super::python::interpreter(python.as_deref(), &[super::python::WECHATPY, super::python::CRYPTOGRAPHY])
            })
            .await??,
        ),
    };
    println!("callbacks: generating, encrypting and signing {} (seed {})", thousands(a.callbacks as f64), a.seed);
    let (dir, n, seed) = (a.dir.clone(), a.callbacks, a.seed);
    let written = tokio::task::spawn_blocking(move || payloads::write(&dir, n, seed)).await??;
    println!(
        "  {}: {:.1} MB, {} with a WelcomeCode",
        written.path.display(),
        written.bytes as f64 / 1e6,
        thousands(written.welcome as f64)
    );
    let payloads = Arc::new(written.payloads);

    let list = payloads.clone();
    let runs = a.runs;
    let ours = tokio::task::spawn_blocking(move || decrypt_parse(&list, runs)).await??;
    println!("siyu (1 thread): decrypt + parse + dedupe key: {}", docs::runs_line(ours.callbacks, &ours.runs));

    let peer = match &python {
        Some(python) => Some(peer::run(python, &a.dir, &written.path, a.runs, &ours).await?),
        None => None,
    };

    let mut stored = Vec::new();
    let mut skipped = None;
    if sqlite {
        stored.push(persist::on_database(&settings, Database::sqlite("wecom"), &payloads, a.concurrency).await?);
    }
    if postgres {
        let (server, named) = databases::postgres_server(&settings.database.url);
        match Database::postgres(&server).await {
            Ok(db) => stored.push(persist::on_database(&settings, db, &payloads, a.concurrency).await?),
            Err(e) if !named => {
                println!("PostgreSQL: skipped ({e:#}); name a server with --database-url or SIYU_BENCH_PG_URL");
                skipped = Some(crate::redact(&server));
            }
            Err(e) => return Err(e.context(format!("PostgreSQL at {}", crate::redact(&server)))),
        }
    }

    let outcome = docs::Outcome { ours, peer, stored, concurrency: a.concurrency, seed: a.seed, skipped };
    println!("\n{}\n", machine());
    println!("{}", docs::results(&outcome));
    if a.write_docs {
        super::report::write_docs(&a.docs, docs::SECTION, &docs::section(&outcome))?;
        println!("written to {}", a.docs.display());
    }
    if let Some(o) = outcome.stored.iter().find(|o| !o.complete()) {
        anyhow::bail!("{}: not every callback was stored once (see the lines above)", o.label);
    }
    Ok(())
}

/// Decrypts and parses every payload once to check it and count its kinds (a warm-up too), then `runs` timed
/// passes doing what `receive_callback` does before storing: signature check and decrypt, parse, dedupe key
/// and kind.
fn decrypt_parse(payloads: &[Payload], runs: usize) -> anyhow::Result<Ours> {
    let crypto = CallbackCrypto::new(payloads::TOKEN, payloads::AES_KEY, payloads::CORP_ID)
        .map_err(|e| anyhow::anyhow!("bench key: {e}"))?;
    let (mut kinds, mut welcome) = (std::collections::BTreeMap::new(), 0);
    for (i, p) in payloads.iter().enumerate() {
        let plain = crypto
            .decrypt_message(&p.msg_signature, &p.timestamp, &p.nonce, &p.body)
            .with_context(|| format!("payload {i}"))?;
        let parsed = callback::parse(&plain).with_context(|| format!("payload {i}"))?;
        *kinds.entry(parsed.kind()).or_insert(0) += 1;
        welcome += u64::from(matches!(&parsed.event, CallbackEvent::ExternalContact(c) if c.welcome_code.is_some()));
    }
    let bar = super::identity::spinner("siyu: decrypt + parse");
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut check = 0usize;
        for p in payloads {
            let plain = crypto.decrypt_message(&p.msg_signature, &p.timestamp, &p.nonce, &p.body)?;
            let parsed = callback::parse(&plain)?;
            let (key, kind) = (parsed.dedupe_key(), parsed.kind());
            check = check.wrapping_add(key.len() + kind.len());
            std::hint::black_box((parsed, key, kind));
        }
        times.push(started.elapsed());
        std::hint::black_box(check);
    }
    bar.finish_and_clear();
    Ok(Ours { runs: times, callbacks: payloads.len(), kinds, welcome })
}

/// A progress bar for `len` items of `what`.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template(&format!("  {what} {{bar:30}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"))
    {
        bar.set_style(style);
    }
    bar
}
