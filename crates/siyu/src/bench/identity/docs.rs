//! The results of `siyu bench identity` for the terminal, and its section of `docs/benchmarks.md`.

use super::super::report::{self, thousands};
use super::edges::EdgeFile;
use super::peer::{PeerRun, SCRIPT_PATH};
use super::{GOAL, Ours, gigabytes};

/// Everything one `siyu bench identity` measured.
pub struct Outcome {
    /// The generated file, unless `--edges` named one.
    pub file: Option<EdgeFile>,
    pub bytes: u64,
    pub threads: usize,
    pub plain: Ours,
    pub guarded: Option<Ours>,
    pub peer: Option<PeerRun>,
}

impl Outcome {
    /// siyu and networkx found the same identifiers, components and largest component (true without a peer).
    pub fn agree(&self) -> bool {
        let r = &self.plain.run;
        self.peer.as_ref().is_none_or(|p| {
            (p.nodes, p.components, p.largest) == (r.identifiers as u64, r.components as u64, u64::from(r.largest))
        })
    }

    /// networkx's time over siyu's, both from opening the file to the answer.
    pub fn ratio(&self) -> Option<f64> {
        self.peer.as_ref().map(|p| p.total_s / self.plain.run.elapsed.as_secs_f64().max(1e-9))
    }
}

fn row(label: &str, identifiers: u64, components: u64, largest: u64, secs: f64, peak_kib: Option<u64>) -> String {
    format!(
        "| {label} | {} | {} | {} | {secs:.2} s | {} | {} |\n",
        thousands(identifiers as f64),
        thousands(components as f64),
        thousands(largest as f64),
        thousands(identifiers as f64 / secs.max(1e-9)),
        peak_kib.map_or_else(|| "?".to_string(), |k| gigabytes(k * 1024)),
    )
}

fn ours_row(label: &str, o: &Ours) -> String {
    let r = &o.run;
    let secs = r.elapsed.as_secs_f64();
    row(label, r.identifiers as u64, r.components as u64, u64::from(r.largest), secs, o.peak_kib)
}

fn steps(o: &Ours) -> String {
    let steps: Vec<String> = o.run.steps.iter().map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64())).collect();
    steps.join(", ")
}

/// The table and what follows it.
pub fn results(o: &Outcome) -> String {
    let mut t = String::from(
        "| run | identifiers | components | largest | time | identifiers/s | peak memory |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    if let Some(p) = &o.peer {
        let label = format!("networkx {} (Python {})", p.networkx, p.python);
        t.push_str(&row(&label, p.nodes, p.components, p.largest, p.total_s, Some(p.peak_rss_kib)));
    }
    t.push_str(&ours_row(&format!("siyu ({} threads)", o.threads), &o.plain));
    if let Some(g) = &o.guarded {
        let refused = thousands(g.run.refused.unwrap_or_default() as f64);
        t.push_str(&ours_row(&format!("siyu, guarded ({refused} unions refused)"), g));
    }
    t.push_str(&format!("\nsiyu: {}.", steps(&o.plain)));
    if let Some(g) = &o.guarded {
        t.push_str(&format!("\nGuarded: {}.", steps(g)));
    }
    if let Some(p) = &o.peer {
        t.push_str(&format!(
            "\nnetworkx: read + `add_edges_from` {:.2} s, `connected_components` {:.2} s;\nthe whole process \
             (start, import, work, exit) {:.2} s.",
            p.read_build_s, p.components_s, p.process_s
        ));
    }
    t.push_str("\n\n");
    t.push_str(&verdict(o));
    t
}

fn verdict(o: &Outcome) -> String {
    match o.ratio() {
        None => "networkx was skipped (`--skip-peer`): no ratio.".to_string(),
        Some(_) if !o.agree() => "**siyu and networkx disagree** on the identifiers or the components.".to_string(),
        Some(ratio) if ratio >= GOAL => format!(
            "Both find the same components and the same largest one.\nnetworkx time / siyu time = {ratio:.1}×: \
             goal ({GOAL:.0}×) met."
        ),
        Some(ratio) => format!(
            "Both find the same components and the same largest one.\nnetworkx time / siyu time = {ratio:.1}×: \
             **goal ({GOAL:.0}×) not met**; see the notes below."
        ),
    }
}

/// The `siyu bench identity` section of `docs/benchmarks.md`.
pub fn section(o: &Outcome) -> String {
    let (begin, end) = report::markers("identity");
    let distinct = thousands(o.plain.run.identifiers as f64);
    let edges = match &o.file {
        Some(f) => format!(
            "{} people, {} identifiers generated ({distinct} distinct),\n  {} lines, {} (seed {})",
            thousands(f.people as f64),
            thousands(f.identifiers as f64),
            thousands(f.lines as f64),
            gigabytes(o.bytes),
            f.seed
        ),
        None => format!(
            "a file given with `--edges`: {distinct} identifiers,\n  {} lines, {}",
            thousands(o.plain.run.lines as f64),
            gigabytes(o.bytes)
        ),
    };
    format!(
        "{begin}
## siyu bench identity: resolving identifiers against networkx connected components

Goal: siyu resolves an identifier edge file into people at least {GOAL:.0}× faster than Python networkx's
`connected_components` on the same file, and both find the same components.

- **edges**: {edges}. One line per observation, two identifiers seen together
  separated by a tab: `unionid:o6_bm…`, `openid@wx<appid>:o…` in 1–3 of 6 apps, `external_userid@ww<corp>:wm…`,
  `phone:<blind index>`, `buyer@taobao:<nick>` (some in Chinese), `buyer@jd:…`, `anon:<uuid>`; 1–8 per
  person (a fifth are passers-by with one or two), each observed with an earlier one of the same person,
  some pairs twice, plus noise across people (family phones, a few store phones typed in for walk-in
  buyers, 1 % of people seen with a stranger's identifier).
- **siyu**: each of {threads} threads reads one run of whole lines in 1 MiB pieces, checks it is UTF-8,
  splits each line at the tab, hashes each identifier once (FxHash) and interns it in its own
  open-addressing table (16-byte slots; the bytes kept once in an arena and compared byte for byte). The
  later threads' identifiers are then looked up in the earlier threads' tables to get dense global `u32`
  ids, while thread 0's lines are already being unioned; then the other lines, in file order, through
  `siyu_domain::union_find::UnionFind` (union by size, path halving). Timed from opening the file to the
  two numbers; peak memory is the process's `VmHWM` during the run.
- **siyu, guarded**: the same, refusing any union that would put two different `unionid:` values, or two
  `openid@` values of the same app, into one component (each root keeps the list of its unique
  identifiers), as the resolver's uniqueness guard does.
- **networkx**: `{SCRIPT_PATH}`: `Graph.add_edges_from` over the file's lines
  split at the tab, then `connected_components`. Timed from opening the file to the two numbers (Python's start and
  `import networkx` not counted); peak memory is the process's `ru_maxrss`.

{results}

Measured {date} on {machine}, release build.

Reproduce: `pip install networkx && cargo build --release -p siyu && target/release/siyu bench identity
--write-docs`. The edge file is written to `target/bench-identity/` once per size and seed and reused.
Flags: `--identifiers`, `--seed`, `--threads`, `--edges FILE`, `--skip-peer`, `--skip-guarded`, `--python`.
{end}
",
        threads = o.threads,
        results = results(o),
        date = chrono::Utc::now().format("%Y-%m-%d"),
        machine = report::machine(),
    )
}
