//! `siyu import customers|tags|orders FILE` and `siyu export customers FILE`: the CLI acts as a member of the
//! tenant (its first owner unless `--as` names another), shows a progress bar on stderr, prints a summary
//! and writes row errors next to the file as `<file>.errors.csv`.

mod orders;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use siyu_app::actor::Via;
use siyu_app::transfer::{
    ColumnMapping, ExportFormat, ExportRequest, MAX_FILE_BYTES, RowError, Table, TagName, Target, errors_csv,
};
use siyu_app::{Actor, App, AppError, Settings};
use siyu_domain::access::Role;
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::TenantId;

#[derive(Args)]
pub struct Who {
    /// Tenant id (optional when there is only one tenant).
    #[arg(long)]
    tenant: Option<String>,
    /// Act as this member (username); default: the tenant's first owner.
    #[arg(long = "as")]
    as_user: Option<String>,
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import customers from CSV (UTF-8, GBK) or XLSX; rows matching an existing customer update it.
    Customers {
        file: PathBuf,
        #[command(flatten)]
        who: Who,
        /// Override the suggested column mapping, e.g. "手机号=phone,姓名=name,C=ignore,生日=custom:birthday".
        #[arg(long)]
        map: Option<String>,
        /// The appid openid columns belong to.
        #[arg(long)]
        appid: Option<String>,
        /// The WeCom corp id external_userid columns belong to.
        #[arg(long)]
        corp_id: Option<String>,
        /// Validate every row and report, without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Import orders from a platform export (CSV or XLSX); re-importing the same file changes nothing.
    Orders {
        file: PathBuf,
        #[command(flatten)]
        who: Who,
        /// The platform the file comes from: taobao, jd, pinduoduo, youzan, douyin or generic (default:
        /// recognised from the headers).
        #[arg(long, value_parser = orders::parse_platform)]
        platform: Option<siyu_domain::order::Platform>,
        /// The shop the file was exported from, when it has no shop column.
        #[arg(long)]
        shop: Option<String>,
        /// The appid openid columns belong to.
        #[arg(long)]
        appid: Option<String>,
        /// Create a prospect customer for each buyer (with a buyer id, openid or full phone) matching no one.
        #[arg(long)]
        create_prospects: bool,
    },
    /// Import a tag catalogue: one "标签组, 标签[, 单选]" per row.
    Tags {
        file: PathBuf,
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Export customers to FILE.csv or FILE.xlsx (phones and emails masked unless --reveal-pii).
    Customers {
        file: PathBuf,
        #[command(flatten)]
        who: Who,
        /// Only customers with any of these tags ("组名:标签名" or a unique tag name); repeatable.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Name or remark contains; a full phone number matches exactly.
        #[arg(long)]
        q: Option<String>,
        /// Full phone numbers and emails (needs the pii_reveal permission; audited).
        #[arg(long)]
        reveal_pii: bool,
    },
}

fn app_err(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e} ({})", e.code().name())
}

/// The member the CLI acts as.
async fn actor(app: &App, who: &Who) -> anyhow::Result<Actor> {
    let tenant: TenantId = match &who.tenant {
        Some(t) => t.parse().map_err(|_| anyhow::anyhow!("--tenant: not a tenant id: {t}"))?,
        None => match app.store.tenants().list().await?.as_slice() {
            [one] => one.id,
            [] => bail!("no tenant yet: create one with `siyu admin create-tenant`"),
            many => {
                let list: Vec<String> = many.iter().map(|t| format!("  {}  {}", t.id, t.name)).collect();
                bail!("several tenants; choose one with --tenant:\n{}", list.join("\n"))
            }
        },
    };
    let mut members = app.store.members().list(tenant).await?;
    members.retain(|m| m.active);
    let member = match &who.as_user {
        Some(name) => members
            .into_iter()
            .find(|m| m.username == name.trim().to_lowercase())
            .with_context(|| format!("{name} is not an active member of tenant {tenant}"))?,
        None => {
            members.sort_by_key(|m| m.created_at);
            members.into_iter().find(|m| m.role == Role::Owner).context("the tenant has no active owner; use --as")?
        }
    };
    Actor::for_member(&app.store, &member, Via::System).await.map_err(app_err)
}

async fn read_table(app: &App, file: &Path) -> anyhow::Result<Table> {
    let size = std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?.len();
    if size > MAX_FILE_BYTES as u64 {
        bail!("{} is larger than {} MiB", file.display(), MAX_FILE_BYTES / 1024 / 1024);
    }
    let bytes = tokio::fs::read(file).await.with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    app.read_import_file(name, bytes).await.map_err(app_err)
}

fn bar(total: u64, unit: &str) -> ProgressBar {
    let pb = ProgressBar::new(total);
    let template = format!("{{bar:40.green/white}} {{pos}}/{{len}} {unit} · {{per_sec}} · ETA {{eta}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        pb.set_style(style.progress_chars("█▉ "));
    }
    pb
}

/// Pads to `width` terminal columns (CJK characters take two).
fn pad(s: &str, width: usize) -> String {
    let used: usize = s.chars().map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 }).sum();
    format!("{s}{}", " ".repeat(width.saturating_sub(used)))
}

/// Prints the first errors and writes them all to `<file>.errors.csv`.
fn report_errors(file: &Path, errors: &[RowError], omitted: usize) -> anyhow::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    eprintln!("\n{:>6}  {} {:<20} message", "row", pad("column", 16), "code");
    for e in errors.iter().take(15) {
        eprintln!("{:>6}  {} {:<20} {}", e.row, pad(e.column.as_deref().unwrap_or("-"), 16), e.code, e.message);
    }
    if errors.len() > 15 {
        eprintln!("   ... {} more", errors.len() - 15 + omitted);
    }
    let mut path = file.as_os_str().to_owned();
    path.push(".errors.csv");
    let path = PathBuf::from(path);
    std::fs::write(&path, errors_csv(errors).map_err(app_err)?)?;
    eprintln!("all row errors: {}", path.display());
    Ok(())
}

pub async fn import(settings: Settings, cmd: ImportCommand) -> anyhow::Result<()> {
    let app = App::connect(settings, true).await?;
    let result = match cmd {
        ImportCommand::Customers { file, who, map, appid, corp_id, dry_run } => {
            import_customers(&app, &file, &who, map.as_deref(), appid, corp_id, dry_run).await
        }
        ImportCommand::Tags { file, who, dry_run } => import_tags(&app, &file, &who, dry_run).await,
        ImportCommand::Orders { file, who, platform, shop, appid, create_prospects } => {
            let options =
                siyu_app::orders::OrderImportOptions { platform, shop, appid, create_prospects, ..Default::default() };
            orders::import_orders(&app, &file, &who, options).await
        }
    };
    app.store.close().await;
    result
}

async fn import_customers(
    app: &App,
    file: &Path,
    who: &Who,
    map: Option<&str>,
    appid: Option<String>,
    corp_id: Option<String>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let actor = actor(app, who).await?;
    let table = read_table(app, file).await?;
    let fields = app.fields(&actor).await.map_err(app_err)?;
    let mut mapping = ColumnMapping::suggest(&table.headers, &fields);
    if let Some(spec) = map {
        mapping.apply_spec(&table.headers, spec).map_err(app_err)?;
    }
    (mapping.appid, mapping.corp_id) = (appid, corp_id);
    eprintln!("{} ({:?}): {} rows; columns:", file.display(), table.format, table.rows.len());
    for (i, t) in mapping.columns.iter().enumerate() {
        let shown = if *t == Target::Ignore { "(ignored)".to_string() } else { t.key() };
        eprintln!("  {:<3} {} → {shown}", siyu_app::transfer::column_letter(i), pad(&table.column_name(i), 16));
    }
    if dry_run {
        let p = app.preview_import(&actor, &table, &mapping).await.map_err(app_err)?;
        eprintln!(
            "\ndry run: {} rows, {} valid ({} new, {} update existing), {} with errors",
            p.total_rows,
            p.valid_rows,
            p.to_create,
            p.to_update,
            p.total_rows - p.valid_rows
        );
        if !p.new_tags.is_empty() {
            eprintln!("tags to create: {}", p.new_tags.join(", "));
        }
        return report_errors(file, &p.errors, p.errors_omitted);
    }
    let pb = bar(table.rows.len() as u64, "rows");
    let progress_bar = pb.clone();
    let report = app
        .import_customers(&actor, &table, &mapping, &mut move |p| progress_bar.set_position(p.done as u64))
        .await
        .map_err(app_err)?;
    pb.finish_and_clear();
    eprintln!("\n  rows       {:>8}", report.total_rows);
    eprintln!("  created    {:>8}", report.created);
    eprintln!("  updated    {:>8}", report.updated);
    eprintln!("  unchanged  {:>8}", report.unchanged);
    eprintln!("  skipped    {:>8}", report.skipped);
    if !report.new_tags.is_empty() {
        eprintln!("  new tags   {}", report.new_tags.join(", "));
    }
    report_errors(file, &report.errors, report.errors_omitted)?;
    if !report.imported_any() {
        bail!("nothing could be imported");
    }
    Ok(())
}

async fn import_tags(app: &App, file: &Path, who: &Who, dry_run: bool) -> anyhow::Result<()> {
    let actor = actor(app, who).await?;
    let table = read_table(app, file).await?;
    let r = app.import_tags(&actor, &table, dry_run).await.map_err(app_err)?;
    let verb = if dry_run { "would create" } else { "created" };
    eprintln!(
        "{} rows: {verb} {} groups and {} tags; {} tags already existed",
        r.total_rows, r.groups_created, r.tags_created, r.existing
    );
    report_errors(file, &r.errors, 0)?;
    if r.total_rows > 0 && r.errors.len() == r.total_rows {
        bail!("nothing could be imported");
    }
    Ok(())
}

pub async fn export(settings: Settings, cmd: ExportCommand) -> anyhow::Result<()> {
    let app = App::connect(settings, true).await?;
    let ExportCommand::Customers { file, who, tags, q, reveal_pii } = cmd;
    let result = export_customers(&app, &file, &who, &tags, q, reveal_pii).await;
    app.store.close().await;
    result
}

async fn export_customers(
    app: &App,
    file: &Path,
    who: &Who,
    tags: &[String],
    q: Option<String>,
    reveal_pii: bool,
) -> anyhow::Result<()> {
    let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let format = ExportFormat::from_file_name(&name).context("the file name must end in .csv or .xlsx")?;
    let actor = actor(app, who).await?;
    let mut filter = CustomerFilter { q, ..Default::default() };
    if !tags.is_empty() {
        let groups = app.tag_groups(&actor).await.map_err(app_err)?;
        for t in tags {
            let wanted = siyu_app::transfer::TagName::parse(t).map_err(app_err)?;
            filter.tags_any.push(find_tag(&groups, &wanted)?);
        }
    }
    let request = ExportRequest { filter, segment: None, format, reveal_pii };
    let plan = app.prepare_export(&actor, request).await.map_err(app_err)?;
    let mut part = file.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let out = std::io::BufWriter::new(
        std::fs::File::create(&part).with_context(|| format!("cannot write {}", part.display()))?,
    );
    let pb = bar(u64::try_from(plan.total).unwrap_or(0), "customers");
    let progress_bar = pb.clone();
    let written = app.write_export(&actor, &plan, out, &mut move |n| progress_bar.set_position(n)).await;
    pb.finish_and_clear();
    let (_, rows) = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(app_err(e));
        }
    };
    std::fs::rename(&part, file)?;
    let pii = if reveal_pii { "full phone numbers and emails (audited)" } else { "phones and emails masked" };
    eprintln!("{rows} customers written to {} ({pii})", file.display());
    Ok(())
}

/// A tag by `组名:标签名` or by a name only one group uses.
fn find_tag(groups: &[siyu_app::tags::TagGroupView], wanted: &TagName) -> anyhow::Result<siyu_domain::id::TagId> {
    let found: Vec<_> = groups
        .iter()
        .filter(|g| wanted.group.as_ref().is_none_or(|n| *n == g.group.name))
        .flat_map(|g| g.tags.iter().filter(|t| t.tag.name == wanted.name))
        .map(|t| t.tag.id)
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => bail!("unknown tag {wanted}"),
        _ => bail!("several tags are named {wanted}; write 组名:标签名"),
    }
}
