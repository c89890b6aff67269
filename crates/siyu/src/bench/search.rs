//! `siyu bench search`: the tenant full-text index of `siyu_search` against Python `jieba` feeding SQLite
//! FTS5 (the usual "pre-tokenised text" setup), in parts (`--part`, all by default).
//!
//! - `index`: `--documents` generated materials and scripts (`corpus`) indexed into an on-disk
//!   `TenantIndex` (segmentation included) and committed, against `jieba.cut_for_search` of the same
//!   documents inserted space-joined into an FTS5 table and committed. Goal: ≥ 3× the peer's docs/s.
//! - `query`: `--queries` queries of 1–3 words over that index, top 20 with highlighting and the total,
//!   one at a time; p50/p99 latency against FTS5 `MATCH` (top 20 by bm25 with `highlight`/`snippet`) on
//!   the peer's table. Goal: p99 ≤ 10 ms.
//! - `segment`: precise-mode segmentation with HMM of `--text-mb` MB of text, line by line, by our
//!   `Segmenter` and by `jieba.lcut`; only the loop is timed, loading the dictionary is reported apart.
//!   Goal: ≥ 20× the peer's MB/s.
//!
//! Both sides get the tenant's words (`corpus::BRANDS`) added to the default dictionary.

mod corpus;
mod docs;
mod peer;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use siyu_search::Segmenter;
use siyu_search::index::{DocKind, Opened, SearchDoc, SearchQuery, TenantIndex};

use super::identity::spinner;
use super::python::{self, JIEBA};
use super::report::{machine, thousands};

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Part {
    /// Every part, in the order segment, index, query.
    All,
    /// Indexing docs/s against jieba + FTS5 inserts.
    Index,
    /// Query latency at `--documents` documents against FTS5 MATCH.
    Query,
    /// Segmentation MB/s against jieba.lcut.
    Segment,
}

#[derive(Args)]
pub struct SearchArgs {
    /// Which part to run.
    #[arg(long, value_enum, default_value = "all")]
    part: Part,
    /// Documents generated and indexed.
    #[arg(long, default_value_t = 100_000)]
    documents: usize,
    /// Queries timed (after 100 warm-up queries).
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Hits per query.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Megabytes of text segmented.
    #[arg(long, default_value_t = 12)]
    text_mb: usize,
    /// Seed of the generator: the same sizes and seed give the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run siyu only, without Python.
    #[arg(long)]
    skip_peer: bool,
    /// A Python interpreter that imports `jieba` [default: a venv in target/bench-venv, made on first use].
    #[arg(long)]
    python: Option<PathBuf>,
    /// Where the corpus, the index, the peer's database and script are written.
    #[arg(long, default_value = "target/bench-search")]
    dir: PathBuf,
    /// Write the results into the docs file.
    #[arg(long)]
    write_docs: bool,
    #[arg(long, default_value = "docs/benchmarks.md")]
    docs: PathBuf,
}

/// What one run measured; a part not run stays `None`.
#[derive(Default)]
pub struct Results {
    pub segment: Option<SegmentRun>,
    pub index: Option<IndexRun>,
    pub query: Option<QueryRun>,
    pub versions: Option<peer::Versions>,
}

pub struct SegmentRun {
    pub bytes: u64,
    pub tokens: u64,
    pub load: Duration,
    pub time: Duration,
    pub peer: Option<peer::Segment>,
}

pub struct IndexRun {
    pub docs: usize,
    pub bytes: u64,
    pub time: Duration,
    pub index_bytes: u64,
    pub peer: Option<(peer::Indexed, u64)>,
}

pub struct QueryRun {
    pub docs: u64,
    pub queries: usize,
    pub limit: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub mean: Duration,
    pub hits: u64,
    pub peer: Option<peer::Queried>,
}

pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || bench(&args)).await?
}

fn bench(a: &SearchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.documents > 0 && a.queries > 0 && a.text_mb > 0, "sizes must be positive");
    let python = if a.skip_peer { None } else { Some(python::interpreter(a.python.as_deref(), &[JIEBA])?) };
    let bar = spinner("writing the corpus");
    let files = corpus::ensure(&a.dir, a.documents, a.queries, a.text_mb, a.seed);
    bar.finish_and_clear();
    let files = files?;
    let python = python.as_deref();
    let mut results = Results::default();
    let all = a.part == Part::All;
    if all || a.part == Part::Segment {
        results.segment = Some(segment(a, &files, python, &mut results.versions)?);
    }
    if all || a.part == Part::Index {
        results.index = Some(index(a, &files, python, &mut results.versions)?);
    }
    if all || a.part == Part::Query {
        results.query = Some(query(a, &files, python, &mut results.versions)?);
    }
    let machine = machine();
    println!("\n{machine}\n");
    println!("{}", docs::table(&results));
    println!("{}", docs::verdicts(&results));
    if a.write_docs {
        docs::write(&a.docs, &results, a, &machine)?;
        println!("written to {}", a.docs.display());
    }
    Ok(())
}

fn segmenter() -> Segmenter {
    Segmenter::with_user_words(corpus::BRANDS)
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len).with_message(what.to_string());
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({elapsed}, eta {eta})") {
        bar.set_style(style);
    }
    bar
}

fn segment(
    a: &SearchArgs,
    files: &corpus::Files,
    python: Option<&Path>,
    versions: &mut Option<peer::Versions>,
) -> anyhow::Result<SegmentRun> {
    let text = std::fs::read_to_string(&files.text)?;
    let lines: Vec<&str> = text.lines().collect();
    let bytes: u64 = lines.iter().map(|l| l.len() as u64).sum();
    let started = Instant::now();
    let seg = segmenter();
    let load = started.elapsed();
    let bar = spinner(format!("siyu: segmenting {:.1} MB", bytes as f64 / 1e6));
    let started = Instant::now();
    let mut tokens = 0u64;
    for line in &lines {
        tokens += seg.cut(line).len() as u64;
    }
    let time = started.elapsed();
    bar.finish_and_clear();
    println!(
        "siyu segment: {} tokens in {:.2} s, {:.1} MB/s (dictionary load {:.2} s)",
        thousands(tokens as f64),
        time.as_secs_f64(),
        bytes as f64 / 1e6 / time.as_secs_f64().max(1e-9),
        load.as_secs_f64()
    );
    let peer = match python {
        None => None,
        Some(python) => {
            let args = ["segment".into(), files.text.display().to_string(), files.words.display().to_string()];
            let (p, v, _) = peer::run::<peer::Segment>(python, &a.dir, "jieba.lcut over the text", &args)?;
            println!(
                "jieba {} segment: {} tokens in {:.2} s, {:.2} MB/s (dictionary load {:.2} s)",
                v.jieba,
                thousands(p.tokens as f64),
                p.seconds,
                p.bytes as f64 / 1e6 / p.seconds.max(1e-9),
                p.load_s
            );
            if p.tokens.abs_diff(tokens) * 100 > tokens {
                println!("note: the token counts differ by more than 1% (siyu {tokens}, jieba {})", p.tokens);
            }
            *versions = Some(v);
            Some(p)
        }
    };
    Ok(SegmentRun { bytes, tokens, load, time, peer })
}

fn to_doc(i: usize, (id, title, body): (String, String, String)) -> SearchDoc {
    SearchDoc {
        kind: if i.is_multiple_of(3) { DocKind::Script } else { DocKind::Material },
        id,
        title,
        body,
        folder: Some(format!("folder-{}", i % 20)),
        tags: vec![format!("tag-{}", i % 7)],
        visibility: vec!["all".to_string()],
        updated_at: i as i64,
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// Indexes every document into a fresh index at `path`; returns the time from the first upsert to the end
/// of the commit.
fn build(path: &Path, docs: Vec<SearchDoc>) -> anyhow::Result<(TenantIndex, Duration)> {
    if path.exists() {
        std::fs::remove_dir_all(path)?;
    }
    let (index, opened) = TenantIndex::open(path, segmenter())?;
    anyhow::ensure!(opened == Opened::Created, "{} was not empty", path.display());
    let bar = progress(docs.len() as u64, "siyu: indexing");
    let started = Instant::now();
    for chunk in docs.chunks(1_000) {
        index.upsert(chunk)?;
        bar.inc(chunk.len() as u64);
    }
    bar.set_message("siyu: committing");
    index.commit()?;
    let time = started.elapsed();
    bar.finish_and_clear();
    Ok((index, time))
}

fn index(
    a: &SearchArgs,
    files: &corpus::Files,
    python: Option<&Path>,
    versions: &mut Option<peer::Versions>,
) -> anyhow::Result<IndexRun> {
    let rows = corpus::read_docs(&files.docs)?;
    let bytes: u64 = rows.iter().map(|(_, t, b)| (t.len() + b.len()) as u64).sum();
    let docs: Vec<SearchDoc> = rows.into_iter().enumerate().map(|(i, r)| to_doc(i, r)).collect();
    let n = docs.len();
    let path = a.dir.join("index");
    let (index, time) = build(&path, docs)?;
    anyhow::ensure!(index.doc_count() == n as u64, "indexed {} documents of {n}", index.doc_count());
    drop(index);
    let index_bytes = dir_bytes(&path);
    println!(
        "siyu index: {} documents ({:.1} MB) in {:.2} s, {} docs/s; index {:.1} MB",
        thousands(n as f64),
        bytes as f64 / 1e6,
        time.as_secs_f64(),
        thousands(n as f64 / time.as_secs_f64().max(1e-9)),
        index_bytes as f64 / 1e6
    );
    let peer = match python {
        None => None,
        Some(python) => {
            let db = a.dir.join("fts5.db");
            let args = [
                "index".into(),
                files.docs.display().to_string(),
                files.words.display().to_string(),
                db.display().to_string(),
            ];
            let (p, v, _) = peer::run::<peer::Indexed>(python, &a.dir, "jieba.cut_for_search + FTS5 inserts", &args)?;
            anyhow::ensure!(p.docs == n as u64, "the peer indexed {} documents of {n}", p.docs);
            let db_bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
            println!(
                "jieba {} + SQLite {} FTS5 index: {:.2} s, {} docs/s; database {:.1} MB (dictionary load {:.2} s)",
                v.jieba,
                v.sqlite,
                p.seconds,
                thousands(n as f64 / p.seconds.max(1e-9)),
                db_bytes as f64 / 1e6,
                p.load_s
            );
            *versions = Some(v);
            Some((p, db_bytes))
        }
    };
    Ok(IndexRun { docs: n, bytes, time, index_bytes, peer })
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted.get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn query(
    a: &SearchArgs,
    files: &corpus::Files,
    python: Option<&Path>,
    versions: &mut Option<peer::Versions>,
) -> anyhow::Result<QueryRun> {
    let path = a.dir.join("index");
    let (mut index, opened) = TenantIndex::open(&path, segmenter())?;
    if opened == Opened::Created || index.doc_count() != a.documents as u64 {
        println!("siyu: (re)building the index at {} first (not timed)", path.display());
        drop(index);
        let docs = corpus::read_docs(&files.docs)?.into_iter().enumerate().map(|(i, r)| to_doc(i, r)).collect();
        index = build(&path, docs)?.0;
    }
    let queries: Vec<String> = std::fs::read_to_string(&files.queries)?.lines().map(str::to_string).collect();
    let search = |text: &str| SearchQuery { text: text.to_string(), limit: a.limit, ..SearchQuery::default() };
    for q in queries.iter().take(100) {
        index.search(&search(q))?;
    }
    let bar = progress(queries.len() as u64, "siyu: queries");
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0u64;
    for q in &queries {
        let started = Instant::now();
        let found = index.search(&search(q))?;
        times.push(started.elapsed());
        hits += found.hits.len() as u64;
        bar.inc(1);
    }
    bar.finish_and_clear();
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
    let (p50, p99) = (quantile(&times, 0.5), quantile(&times, 0.99));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "siyu query: {} queries over {} documents, top {}: p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms ({} hits)",
        thousands(queries.len() as f64),
        thousands(index.doc_count() as f64),
        a.limit,
        ms(p50),
        ms(p99),
        ms(mean),
        thousands(hits as f64)
    );
    let peer = match python {
        None => None,
        Some(python) => {
            let args = [
                "query".into(),
                files.docs.display().to_string(),
                files.words.display().to_string(),
                a.dir.join("fts5.db").display().to_string(),
                files.queries.display().to_string(),
            ];
            let (p, v, _) = peer::run::<peer::Queried>(python, &a.dir, "FTS5 MATCH queries", &args)?;
            anyhow::ensure!(
                p.queries == queries.len() as u64,
                "the peer ran {} queries of {}",
                p.queries,
                queries.len()
            );
            if let Some(built) = p.built_s {
                println!("python: (re)built its FTS5 table first in {built:.2} s (not timed)");
            }
            println!(
                "jieba {} + SQLite {} FTS5 query: p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms ({} hits; dictionary \
                 load {:.2} s)",
                v.jieba,
                v.sqlite,
                p.p50_ms,
                p.p99_ms,
                p.mean_ms,
                thousands(p.hits as f64),
                p.load_s
            );
            *versions = Some(v);
            Some(p)
        }
    };
    Ok(QueryRun { docs: index.doc_count(), queries: queries.len(), limit: a.limit, p50, p99, mean, hits, peer })
}
