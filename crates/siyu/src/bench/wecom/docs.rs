//! The results of `siyu bench wecom --part callbacks`: the table the terminal shows, the verdicts, and the
//! section of `docs/benchmarks.md` (between `<!-- bench wecom-callbacks: begin|end -->`).

use std::time::Duration;

use super::peer::Peer;
use super::persist::{self, Measured};
use super::{GOAL, Ours};
use crate::bench::report::{best, median};
use crate::bench::report::{machine, markers, thousands};

/// The section's name in the docs (the mass-send part will have its own).
pub const SECTION: &str = "wecom-callbacks";

/// Everything one run measured.
pub struct Outcome {
    pub ours: Ours,
    pub peer: Option<Peer>,
    pub stored: Vec<persist::Outcome>,
    pub concurrency: usize,
    pub seed: u64,
    /// The default PostgreSQL server, when it did not answer.
    pub skipped: Option<String>,
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// "best N/s, median M/s (a, b, c s)" for passes over `n` callbacks.
pub fn runs_line(n: usize, runs: &[Duration]) -> String {
    let secs: Vec<String> = runs.iter().map(|d| format!("{:.3}", d.as_secs_f64())).collect();
    format!(
        "best {} callbacks/s, median {} callbacks/s ({} s)",
        thousands(rate(n, best(runs))),
        thousands(rate(n, median(runs))),
        secs.join(", ")
    )
}

impl Outcome {
    fn peer_runs(&self) -> Option<Vec<Duration>> {
        self.peer.as_ref().map(|p| p.run.seconds.iter().map(|s| Duration::from_secs_f64(*s)).collect())
    }

    /// wechatpy's best callbacks/s.
    fn peer_rate(&self) -> Option<f64> {
        self.peer_runs().map(|r| rate(self.ours.callbacks, best(&r)))
    }
}

/// The comparison table and the verdicts.
pub fn results(o: &Outcome) -> String {
    let n = o.ours.callbacks;
    let mut kinds: Vec<(&String, &u64)> = o.ours.kinds.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1));
    let kinds: Vec<String> = kinds.iter().map(|(k, c)| format!("{k} {}", thousands(**c as f64))).collect();
    let mut t = format!(
        "{} callbacks, {} with a WelcomeCode: {}.\n\n",
        thousands(n as f64),
        thousands(o.ours.welcome as f64),
        kinds.join(", ")
    );
    t.push_str("| run | callbacks/s | median | p50 | p99 | ratio to wechatpy |\n|---|---:|---:|---:|---:|---:|\n");
    let peer_rate = o.peer_rate();
    let ratio = |r: f64| peer_rate.map_or_else(|| "–".to_string(), |p| format!("{:.1}×", r / p.max(1e-9)));
    if let (Some(p), Some(runs)) = (&o.peer, o.peer_runs()) {
        t.push_str(&format!(
            "| wechatpy {} (Python {}, 1 thread): decrypt + parse, no database | {} | {} | | | 1.0× |\n",
            p.run.wechatpy,
            p.run.python,
            thousands(rate(n, best(&runs))),
            thousands(rate(n, median(&runs))),
        ));
    }
    let ours_rate = rate(n, best(&o.ours.runs));
    t.push_str(&format!(
        "| siyu (1 thread): decrypt + parse + dedupe key | {} | {} | | | **{}** |\n",
        thousands(ours_rate),
        thousands(rate(n, median(&o.ours.runs))),
        ratio(ours_rate),
    ));
    for s in &o.stored {
        let mut row = |what: &str, m: &Measured, bold: bool| {
            let r = ratio(m.rate());
            t.push_str(&format!(
                "| siyu, {}: + persist, {what} | {} | | {:.2} ms | {:.2} ms | {} |\n",
                s.label,
                thousands(m.rate()),
                m.quantile_ms(0.5),
                m.quantile_ms(0.99),
                if bold { format!("**{r}**") } else { r },
            ));
        };
        row("`App::receive_callback`", &s.app, true);
        row("store path (crypto built once)", &s.store, false);
    }
    t.push_str(&format!(
        "\nPersisting runs: {} concurrent tasks, one callback per call (no batching), one pass each; p50/p99 are \
         per-callback latencies.\n",
        o.concurrency
    ));
    for s in &o.stored {
        t.push_str(&format!(
            "{}: {} (pool of {}); rows afterwards {} + {} for {} + {} callbacks{}.\n",
            s.label,
            s.durability,
            s.pool,
            thousands(s.rows.0 as f64),
            thousands(s.rows.1 as f64),
            thousands(s.app.callbacks as f64),
            thousands(s.store.callbacks as f64),
            if s.complete() { ", every one stored once" } else { ": **incomplete**" }
        ));
    }
    if let Some(p) = &o.peer {
        t.push_str(&format!(
            "wechatpy's whole process (Python start, imports, reading the file, {} passes): {:.2} s.\n",
            p.run.seconds.len(),
            p.process_s
        ));
    }
    if let Some(server) = &o.skipped {
        t.push_str(&format!("PostgreSQL: skipped, {server} did not answer.\n"));
    }
    t.push('\n');
    t.push_str(&verdicts(o, ours_rate));
    t
}

fn verdicts(o: &Outcome, ours_rate: f64) -> String {
    let Some(peer) = o.peer_rate() else {
        return "wechatpy was skipped (`--skip-peer`): no comparison.\n".to_string();
    };
    let met = |r: f64| if r >= GOAL { "goal met" } else { "**goal not met**" };
    let dp = ours_rate / peer.max(1e-9);
    let mut t = format!(
        "Both sides decrypted and parsed the same {} callbacks into the same kinds of event.\n\
         decrypt + parse / wechatpy's decrypt + parse = {dp:.1}× (goal ≥ {GOAL:.0}×): {}.\n",
        thousands(o.ours.callbacks as f64),
        met(dp)
    );
    for s in &o.stored {
        let r = s.app.rate() / peer.max(1e-9);
        t.push_str(&format!(
            "decrypt + parse + persist on {} (`App::receive_callback`) / wechatpy's decrypt + parse = {r:.2}× \
             (goal ≥ {GOAL:.0}×): {}.\n",
            s.label,
            met(r)
        ));
    }
    t
}

/// The `siyu bench wecom` callbacks section of `docs/benchmarks.md`.
pub fn section(o: &Outcome) -> String {
    let (begin, end) = markers(SECTION);
    let peer = o.peer.as_ref().map_or_else(
        || "not run".to_string(),
        |p| {
            format!(
                "wechatpy {} (`{}`), cryptography {}, Python {}",
                p.run.wechatpy, p.run.module, p.run.cryptography, p.run.python
            )
        },
    );
    format!(
        "{begin}
## WeCom callbacks: decrypt + parse + persist against wechatpy (`siyu bench wecom`)

Goal: siyu receives WeCom callbacks (signature check, decrypt, parse, persist) at ≥ {GOAL:.0}× the callbacks per
second of the Python `wechatpy` SDK verifying, decrypting and parsing the same payloads in the same run.

- **payloads**: {n} callbacks (seed {seed}) generated as reference/wecom.md §6 events, encrypted and signed with
  `CallbackCrypto::encrypt_message` (fixed token, EncodingAESKey and corp id) and wrapped as WeCom's POST body
  (`to_xml`), written one `{{msg_signature, timestamp, nonce, body}}` per line to a file both sides read into
  memory before timing.
- **siyu, decrypt + parse**: one thread, `decrypt_message` (signature, AES-256-CBC, receiveid),
  `siyu_wecom::callback::parse`, `dedupe_key()` and `kind()`; best of the passes.
- **siyu, + persist**: `App::receive_callback(route, &query, body)` (what `POST /wecom/callback/{{route}}`
  calls: route → tenant and corp, the corp's row and sealed secrets, decrypt, parse, dedupe key, then
  `store.wecom().insert_callback` into `wecom_callbacks`) on a corp connected through `App::connect_corp`,
  one callback per call from {c} concurrent tasks on a fresh database; and the store path: the same without
  the three lookups (crypto built once), into a second tenant.
- **wechatpy**: {peer}; `benches/wecom/wechatpy_callbacks.py` times its loop of
  `WeChatCrypto.decrypt_message` + `parse_message` (xmltodict), one thread, no database.

{results}
Measured {date} on {machine}, release build.

Reproduce: `cargo run --release -p siyu -- bench wecom` (wechatpy and cryptography are installed into
`target/bench-venv` on first use; PostgreSQL is a throwaway database on `--database-url postgres://…`,
`SIYU_BENCH_PG_URL` or the local server). Flags: `--callbacks`, `--concurrency`, `--runs`, `--backend`,
`--seed`, `--skip-peer`, `--python`, `--write-docs`.
{end}
",
        n = thousands(o.ours.callbacks as f64),
        c = o.concurrency,
        seed = o.seed,
        results = results(o),
        date = chrono::Utc::now().format("%Y-%m-%d"),
        machine = machine(),
    )
}
