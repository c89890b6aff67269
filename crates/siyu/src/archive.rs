//! `siyu archive ingest --corp ww… FILE`: forwards a JSONL file of session-archive items (one
//! `{"seq", "publickey_ver", "message"}` per line, the shape of `POST /api/v1/archive/ingest`) to the
//! ingest in batches of 1000, with a progress bar on stderr, and prints the totals. A line that is not JSON
//! is reported with its number and the rest goes on; items the ingest rejects are reported by line too.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use siyu_app::archive::IngestResult;
use siyu_app::{App, Settings};
use siyu_domain::id::TenantId;

/// Items per call of the ingest (GetChatData's page; the ingest's limit).
const BATCH: usize = 1000;
/// Problems printed at most (the totals count them all).
const SHOWN_PROBLEMS: usize = 20;

#[derive(Subcommand)]
pub enum ArchiveCommand {
    /// Ingest a JSONL file of archive items (one {"seq","publickey_ver","message"} per line) for a corp.
    Ingest {
        /// JSONL file, UTF-8.
        file: PathBuf,
        /// WeCom corp id (ww…) of a corp connected to the tenant.
        #[arg(long)]
        corp: String,
        /// Tenant id (optional when there is only one tenant).
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// A line that could not be ingested: its number (from 1) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    pub code: String,
    pub message: String,
}

/// Up to `size` items read from consecutive lines, with the line each came from.
#[derive(Debug, Default)]
pub struct Batch {
    pub items: Vec<Value>,
    pub lines: Vec<usize>,
    /// Lines in this stretch that are not JSON.
    pub bad: Vec<LineProblem>,
    /// Bytes read for this batch (line breaks included).
    pub bytes: u64,
}

/// Reads JSONL in batches; blank lines are skipped, lines that are not JSON become problems.
pub struct Batches<R> {
    reader: R,
    line: usize,
    size: usize,
}

impl<R: BufRead> Batches<R> {
    pub fn new(reader: R, size: usize) -> Self {
        Self { reader, line: 0, size: size.max(1) }
    }

    /// The next batch; `None` at the end of the input.
    pub fn next_batch(&mut self) -> std::io::Result<Option<Batch>> {
        let mut batch = Batch::default();
        let mut buf = Vec::new();
        while batch.items.len() < self.size {
            buf.clear();
            let n = self.reader.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            self.line += 1;
            batch.bytes += n as u64;
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim_start_matches('\u{feff}').trim();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(text) {
                Ok(v) => {
                    batch.items.push(v);
                    batch.lines.push(self.line);
                }
                Err(e) => {
                    batch.bad.push(LineProblem { line: self.line, code: "invalid_json".into(), message: e.to_string() })
                }
            }
        }
        Ok((batch.bytes > 0).then_some(batch))
    }
}

/// The totals of a whole file.
#[derive(Debug, Default)]
pub struct Totals {
    pub lines: usize,
    pub accepted: usize,
    pub duplicates: usize,
    pub skipped: usize,
    pub alerts: usize,
    pub max_seq: i64,
    pub problems: Vec<LineProblem>,
}

impl Totals {
    /// Adds one batch's result; the ingest's rejections are mapped back to their lines.
    pub fn add(&mut self, batch: &Batch, result: &IngestResult) {
        self.lines += batch.items.len() + batch.bad.len();
        self.accepted += result.accepted;
        self.duplicates += result.duplicates;
        self.skipped += result.skipped;
        self.alerts += result.alerts;
        self.max_seq = self.max_seq.max(result.max_seq);
        self.problems.extend(batch.bad.iter().cloned());
        for r in &result.rejected {
            let line = batch.lines.get(r.index).copied().unwrap_or(0);
            self.problems.push(LineProblem { line, code: r.code.clone(), message: r.message.clone() });
        }
        self.problems.sort_by_key(|p| p.line);
    }
}

pub async fn run(settings: Settings, cmd: ArchiveCommand) -> anyhow::Result<()> {
    let app = App::connect(settings, true).await?;
    let result = match cmd {
        ArchiveCommand::Ingest { file, corp, tenant } => ingest(&app, &file, &corp, tenant.as_deref()).await,
    };
    app.store.close().await;
    result
}

async fn tenant_of(app: &App, tenant: Option<&str>) -> anyhow::Result<TenantId> {
    Ok(match tenant {
        Some(t) => t.parse().map_err(|_| anyhow::anyhow!("--tenant: not a tenant id: {t}"))?,
        None => match app.store.tenants().list().await?.as_slice() {
            [one] => one.id,
            [] => bail!("no tenant yet: create one with `siyu admin create-tenant`"),
            many => {
                let list: Vec<String> = many.iter().map(|t| format!("  {}  {}", t.id, t.name)).collect();
                bail!("several tenants; choose one with --tenant:\n{}", list.join("\n"))
            }
        },
    })
}

fn bar(total: u64) -> ProgressBar {
    let pb = ProgressBar::new(total);
    let template = "{bar:40.green/white} {bytes}/{total_bytes} · {msg} · ETA {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("█▉ "));
    }
    pb
}

async fn ingest(app: &App, file: &Path, corp_id: &str, tenant: Option<&str>) -> anyhow::Result<()> {
    let tenant = tenant_of(app, tenant).await?;
    let corp = app
        .store
        .wecom()
        .corp_by_corp_id(tenant, corp_id.trim())
        .await?
        .with_context(|| format!("the tenant has no connected corp {corp_id}"))?;
    let handle = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let mut batches = Batches::new(BufReader::new(handle), BATCH);
    let pb = bar(size);
    let mut totals = Totals::default();
    loop {
        let Some(batch) = batches.next_batch().with_context(|| format!("cannot read {}", file.display()))? else {
            break;
        };
        let result = if batch.items.is_empty() {
            IngestResult::default()
        } else {
            app.ingest_items(tenant, corp.id, &corp.corp_id, &batch.items)
                .await
                .map_err(|e| anyhow::anyhow!("{e} ({})", e.code().name()))?
        };
        totals.add(&batch, &result);
        pb.inc(batch.bytes);
        pb.set_message(format!("{} messages, {} alerts", totals.accepted, totals.alerts));
    }
    pb.finish_and_clear();
    eprintln!("{}: {} lines for {}", file.display(), totals.lines, corp.corp_id);
    eprintln!("  accepted    {:>8}", totals.accepted);
    eprintln!("  duplicates  {:>8}", totals.duplicates);
    eprintln!("  skipped     {:>8}   (switch logs)", totals.skipped);
    eprintln!("  rejected    {:>8}", totals.problems.len());
    eprintln!("  alerts      {:>8}", totals.alerts);
    eprintln!("  max_seq     {:>8}", totals.max_seq);
    if !totals.problems.is_empty() {
        eprintln!("\n{:>8}  {:<18} message", "line", "code");
        for p in totals.problems.iter().take(SHOWN_PROBLEMS) {
            eprintln!("{:>8}  {:<18} {}", p.line, p.code, p.message);
        }
        if totals.problems.len() > SHOWN_PROBLEMS {
            eprintln!("     ... {} more", totals.problems.len() - SHOWN_PROBLEMS);
        }
    }
    if totals.lines > 0 && totals.accepted + totals.duplicates + totals.skipped == 0 {
        bail!("nothing could be ingested");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use siyu_app::archive::RejectedItem;

    fn all(input: &str, size: usize) -> Vec<Batch> {
        let mut b = Batches::new(input.as_bytes(), size);
        let mut out = Vec::new();
        while let Some(batch) = b.next_batch().unwrap() {
            out.push(batch);
        }
        out
    }

    #[test]
    fn lines_are_batched_with_their_numbers_and_bad_json_is_reported() {
        let input = "{\"seq\":1}\n\n{\"seq\":2}\nnot json\n{\"seq\":3}\r\n{\"seq\":4}";
        let batches = all(input, 2);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].lines, vec![1, 3]);
        assert_eq!(batches[1].lines, vec![5, 6]);
        assert_eq!(batches[1].bad.len(), 1);
        assert_eq!(batches[1].bad[0].line, 4);
        assert_eq!(batches[1].items[1]["seq"], 4);
        let bytes: u64 = batches.iter().map(|b| b.bytes).sum();
        assert_eq!(bytes, input.len() as u64);
    }

    #[test]
    fn trailing_blank_or_bad_lines_still_make_a_batch() {
        let batches = all("{\"seq\":1}\n\nbroken\n", 1);
        assert_eq!(batches.len(), 2);
        assert!(batches[1].items.is_empty());
        assert_eq!(batches[1].bad[0].line, 3);
        assert!(all("", 10).is_empty());
    }

    #[test]
    fn rejections_map_back_to_lines() {
        let batch = all("{\"seq\":1}\nnope\n{\"seq\":-1}\n", 10).pop().unwrap();
        let result = IngestResult {
            accepted: 1,
            rejected: vec![RejectedItem { index: 1, code: "invalid_seq".into(), message: "seq".into() }],
            max_seq: 1,
            ..IngestResult::default()
        };
        let mut totals = Totals::default();
        totals.add(&batch, &result);
        assert_eq!(totals.lines, 3);
        let lines: Vec<(usize, &str)> = totals.problems.iter().map(|p| (p.line, p.code.as_str())).collect();
        assert_eq!(lines, vec![(2, "invalid_json"), (3, "invalid_seq")]);
    }
}
