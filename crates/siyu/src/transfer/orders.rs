//! `siyu import orders [--platform P] [--shop NAME] [--create-prospects] FILE`: imports a platform's order
//! export (淘宝/天猫, 京东, 拼多多, 有赞, 抖店, or a generic file) with a progress bar, prints the summary and
//! the first row errors, and writes every row error to `<file>.errors.csv`.

use std::path::Path;

use anyhow::bail;
use siyu_app::App;
use siyu_app::orders::{OrderImportOptions, OrderImportReport};
use siyu_domain::order::Platform;

use super::{Who, actor, app_err, bar, read_table, report_errors};

/// Parses `--platform` (`taobao`/`tmall`, `jd`, `pinduoduo`/`pdd`, `youzan`, `douyin`, `generic`).
pub fn parse_platform(s: &str) -> Result<Platform, String> {
    Platform::parse(s).ok_or_else(|| format!("unknown platform {s} (taobao, jd, pinduoduo, youzan, douyin, generic)"))
}

pub async fn import_orders(app: &App, file: &Path, who: &Who, options: OrderImportOptions) -> anyhow::Result<()> {
    let actor = actor(app, who).await?;
    let table = read_table(app, file).await?;
    let platform = options.platform.map_or("recognised from the headers", Platform::label);
    eprintln!("{} ({:?}): {} rows; platform: {platform}", file.display(), table.format, table.rows.len());
    let pb = bar(0, "orders");
    let progress_bar = pb.clone();
    let report = app
        .import_orders(&actor, table, &options, &mut move |p| {
            progress_bar.set_length(p.total as u64);
            progress_bar.set_position(p.done as u64);
        })
        .await
        .map_err(app_err)?;
    pb.finish_and_clear();
    print_summary(&report);
    report_errors(file, &report.errors, report.errors_omitted)?;
    if !report.imported_any() {
        bail!("nothing could be imported");
    }
    Ok(())
}

fn print_summary(r: &OrderImportReport) {
    let platform = r.platform.map_or("?", Platform::label);
    eprintln!("\n  platform        {platform:>8}");
    for (label, n) in [
        ("rows", r.rows),
        ("orders", r.orders),
        ("lines", r.lines),
        ("new", r.new),
        ("updated", r.updated),
        ("unchanged", r.unchanged),
        ("kept older", r.kept_older),
        ("status changes", r.status_changes),
        ("matched", r.matched),
        ("prospects", r.prospects),
        ("unmatched", r.unmatched),
        ("skipped orders", r.skipped_orders),
        ("duplicate rows", r.duplicate_rows),
        ("errors", r.errors.len() + r.errors_omitted),
    ] {
        eprintln!("  {label:<15} {n:>8}");
    }
}
