//! The results table of `siyu bench search` and its section of `docs/benchmarks.md`.

use std::path::Path;

use super::{Results, SearchArgs};
use crate::bench::report::{self, thousands};

/// siyu's indexing docs/s over the peer's the project aims for.
pub const INDEX_GOAL: f64 = 3.0;
/// The query p99 the project aims for, in milliseconds.
pub const QUERY_P99_GOAL_MS: f64 = 10.0;
/// siyu's segmentation MB/s over jieba's the project aims for.
pub const SEGMENT_GOAL: f64 = 20.0;

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

/// The comparison as a Markdown table.
pub fn table(r: &Results) -> String {
    let mut t =
        String::from("| part | Python jieba (+ SQLite FTS5) | siyu | siyu / peer | goal |\n|---|---:|---:|---:|---|\n");
    if let Some(s) = &r.segment {
        let ours = s.bytes as f64 / 1e6 / s.time.as_secs_f64().max(1e-9);
        let theirs = s.peer.as_ref().map(|p| p.bytes as f64 / 1e6 / p.seconds.max(1e-9));
        t.push_str(&format!(
            "| segmentation, precise + HMM, {:.1} MB | {} | {ours:.1} MB/s | {} | ≥ {SEGMENT_GOAL:.0}×{} |\n",
            s.bytes as f64 / 1e6,
            theirs.map_or_else(|| "–".into(), |v| format!("{v:.2} MB/s")),
            theirs.map_or_else(|| "–".into(), |v| format!("{:.1}×", ours / v.max(1e-9))),
            theirs.map_or_else(String::new, |v| format!(": {}", met(ours / v.max(1e-9) >= SEGMENT_GOAL))),
        ));
    }
    if let Some(i) = &r.index {
        let ours = i.docs as f64 / i.time.as_secs_f64().max(1e-9);
        let theirs = i.peer.as_ref().map(|(p, _)| i.docs as f64 / p.seconds.max(1e-9));
        t.push_str(&format!(
            "| indexing {} documents ({:.0} MB), commit included | {} | {} docs/s | {} | ≥ {INDEX_GOAL:.0}×{} |\n",
            thousands(i.docs as f64),
            i.bytes as f64 / 1e6,
            theirs.map_or_else(|| "–".into(), |v| format!("{} docs/s", thousands(v))),
            thousands(ours),
            theirs.map_or_else(|| "–".into(), |v| format!("{:.1}×", ours / v.max(1e-9))),
            theirs.map_or_else(String::new, |v| format!(": {}", met(ours / v.max(1e-9) >= INDEX_GOAL))),
        ));
    }
    if let Some(q) = &r.query {
        let label = format!("{} queries over {} documents", thousands(q.queries as f64), thousands(q.docs as f64));
        let peer = q.peer.as_ref();
        t.push_str(&format!(
            "| {label}: p50 | {} | {:.2} ms | {} | |\n",
            peer.map_or_else(|| "–".into(), |p| format!("{:.2} ms", p.p50_ms)),
            ms(q.p50),
            peer.map_or_else(|| "–".into(), |p| format!("{:.1}× faster", p.p50_ms / ms(q.p50).max(1e-9))),
        ));
        t.push_str(&format!(
            "| {label}: p99 | {} | {:.2} ms | {} | ≤ {QUERY_P99_GOAL_MS:.0} ms: {} |\n",
            peer.map_or_else(|| "–".into(), |p| format!("{:.2} ms", p.p99_ms)),
            ms(q.p99),
            peer.map_or_else(|| "–".into(), |p| format!("{:.1}× faster", p.p99_ms / ms(q.p99).max(1e-9))),
            met(ms(q.p99) <= QUERY_P99_GOAL_MS),
        ));
    }
    t
}

/// The details under the table: load times, sizes, hit counts.
pub fn verdicts(r: &Results) -> String {
    let mut t = String::new();
    if let Some(s) = &r.segment {
        t.push_str(&format!(
            "- Segmentation: siyu {} tokens, dictionary load {:.2} s (not timed){}.\n",
            thousands(s.tokens as f64),
            s.load.as_secs_f64(),
            s.peer.as_ref().map_or_else(String::new, |p| format!(
                "; jieba {} tokens, dictionary load {:.2} s",
                thousands(p.tokens as f64),
                p.load_s
            )),
        ));
    }
    if let Some(i) = &r.index {
        t.push_str(&format!(
            "- Indexing: siyu {:.2} s, index {:.0} MB on disk{}.\n",
            i.time.as_secs_f64(),
            i.index_bytes as f64 / 1e6,
            i.peer.as_ref().map_or_else(String::new, |(p, db)| format!(
                "; peer {:.2} s, database {:.0} MB",
                p.seconds,
                *db as f64 / 1e6
            )),
        ));
    }
    if let Some(s) = r.segment.as_ref().filter(|s| s.peer.is_some()) {
        let ours = s.bytes as f64 / s.time.as_secs_f64().max(1e-9);
        let theirs = s.peer.as_ref().map_or(0.0, |p| p.bytes as f64 / p.seconds.max(1e-9));
        if ours < SEGMENT_GOAL * theirs {
            t.push_str(
                "- Segmentation is jieba-rs's `Jieba::cut` (DAG over the dictionary trie, best route, HMM for unknown \
                 runs) and nothing else: `Segmenter::cut` calls it directly, so the ratio is jieba-rs's against \
                 Python jieba's; see docs/search.md.\n",
            );
        }
    }
    if let Some(q) = &r.query {
        t.push_str(&format!(
            "- Queries: top {} each; siyu returned {} hits (mean {:.2} ms){}.\n",
            q.limit,
            thousands(q.hits as f64),
            ms(q.mean),
            q.peer.as_ref().map_or_else(String::new, |p| format!(
                ", the peer {} (mean {:.2} ms)",
                thousands(p.hits as f64),
                p.mean_ms
            )),
        ));
    }
    t
}

/// Replaces the `search` section of `path`.
pub fn write(path: &Path, r: &Results, a: &SearchArgs, machine: &str) -> anyhow::Result<()> {
    let (begin, end) = report::markers("search");
    let versions = r.versions.as_ref().map_or_else(
        || "The peer was skipped (`--skip-peer`).".to_string(),
        |v| format!("Peer: Python {}, jieba {}, SQLite {} (FTS5).", v.python, v.jieba, v.sqlite),
    );
    let section = format!(
        "{begin}
## Search: tenant full-text index (`siyu bench search`)

Goals: indexing at least {INDEX_GOAL:.0}× the documents/s of Python jieba feeding SQLite FTS5; query p99 at most
{QUERY_P99_GOAL_MS:.0} ms over {docs} documents; segmentation at least {SEGMENT_GOAL:.0}× the MB/s of `jieba.lcut`.

- **corpus**: {docs} generated materials and scripts (a title and 3–8 sentences of product, marketing and
  customer-service text built from real Chinese words and {brands} brand names), {queries} queries of 1–3 of
  the same words, and {text_mb} MB of the same kind of sentences for segmentation. Both sides add the brand
  names to jieba's default dictionary, as a tenant's words.
- **siyu**: `siyu_search::TenantIndex` on disk (tantivy, our search-mode jieba tokenizer, one writer thread,
  48 MB budget): upserts in batches of 1,000, then commit; a query is `search` with the top {limit}, the total
  count, `<mark>` title and snippet. Segmentation: `Segmenter::cut` (precise, HMM) line by line.
- **peer** (`benches/search/peer.py`): `jieba.cut_for_search` of title and body, inserted space-joined into an
  FTS5 table (`unicode61`) in one transaction, then commit; a query is `cut_for_search` plus FTS5 `MATCH` of
  every token, top {limit} by `bm25` (title weighing 2×) with `highlight` and `snippet` (no total count).
  Segmentation: `jieba.lcut` (precise, HMM) line by line.
- Only the loops are timed: loading the dictionaries and reading the files are left out on both sides.

{table}
{details}
{versions} Measured {date} on {machine}, release build.

Reproduce: `cargo build --release -p siyu && target/release/siyu bench search --write-docs` (`--part
index|query|segment`, `--documents`, `--queries`, `--text-mb`, `--skip-peer`, `--python`).
{end}
",
        docs = thousands(a.documents as f64),
        brands = super::corpus::BRANDS.len(),
        queries = thousands(a.queries as f64),
        text_mb = a.text_mb,
        limit = a.limit,
        table = table(r),
        details = verdicts(r),
        date = chrono::Utc::now().format("%Y-%m-%d"),
    );
    report::write_docs(path, "search", &section)
}
