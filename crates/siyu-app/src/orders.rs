//! Importing orders from platform exports (淘宝/天猫, 京东, 拼多多, 有赞, 抖店, or a generic file), and
//! reading them back.
//!
//! The flow, the same from the CLI and the console:
//! 1. [`Table::read`] turns the file into rows of text, whatever its encoding (`transfer/table.rs`);
//! 2. [`order_mapping`] recognises the platform from the headers (`order::detect`) or uses the one given,
//!    and `order::normalise` groups the rows into orders, reporting bad rows and skipping their orders;
//! 3. the good orders are imported in batches of [`ORDER_BATCH`] (`orders/import.rs`): each batch is
//!    compared with the stored orders, its buyers are matched to customers, and everything it changes is
//!    written in one transaction ([`siyu_store::orders::Orders::write`]).
//!
//! [`App::import_orders`] runs the whole file at once (the CLI); [`App::queue_order_import`] runs it as an
//! `import_orders` job from an upload, checkpointed per batch (`orders/job.rs`). The own mall posts single
//! orders through the same path ([`App::post_mall_order`], `orders/mall.rs`).
//!
//! Re-import policy (`order` module docs): an order with the stored fingerprint is `unchanged`; a changed
//! one is `updated` when its status is the same or moves forward (a move appends status history), and
//! `kept_older` when its status is behind the stored one (the file is an older snapshot). Re-importing a
//! file therefore changes nothing.
//!
//! Matching (commerce.md §6): the buyer's keys in precedence order, unionid/openid → platform buyer id →
//! a full buyer mobile through the phone blind index. A masked, virtual or receiver phone is never a key.
//! A stored match is never replaced. Unmatched orders stay unmatched, or with
//! [`OrderImportOptions::create_prospects`] create a prospect customer holding the buyer's identifiers
//! (orders without any key stay unmatched either way). Matched customers get `order_imported` and
//! `order_status_changed` timeline entries. The receiver's name, phone and address are stored encrypted
//! with the tenant key; a full receiver mobile also gets a blind index, for merge suggestions later.

mod import;
mod job;
mod mall;
mod preview;
mod view;

use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::JobId;
use siyu_domain::order::{
    Mapping, MappingError, NormaliseOptions, Normalised, OrderTotals, Platform, Row, RowError as OrderRowError,
    normalise,
};

pub use job::{ORDER_IMPORT_JOB, OrderImportJobStatus};
pub use mall::{MallOrderOutcome, MallOrderResult};
pub use preview::{OrderImportPreview, PREVIEW_ERRORS, PREVIEW_ORDERS};
pub use view::{CustomerOrderTotals, OrderDetail, OrderStatusChange, OrderView, OrderWithLines};

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::transfer::{MAX_JOB_ERRORS, RowError, Table};
use crate::{Actor, App};

/// Orders compared, matched and written per transaction (and per job checkpoint).
pub const ORDER_BATCH: usize = 200;

/// How an order import runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderImportOptions {
    /// The platform the file was exported from; `None` recognises it from the header row.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// The shop, for files without a shop column.
    #[serde(default)]
    pub shop: Option<String>,
    /// The appid openid columns belong to (openids are only used with it).
    #[serde(default)]
    pub appid: Option<String>,
    /// Create a prospect customer for an order whose buyer matches no one (orders with buyer keys only).
    #[serde(default)]
    pub create_prospects: bool,
    /// Row errors kept in the report (the rest are counted in `errors_omitted`).
    #[serde(default = "default_max_errors")]
    pub max_errors: usize,
}

fn default_max_errors() -> usize {
    MAX_JOB_ERRORS
}

impl Default for OrderImportOptions {
    fn default() -> Self {
        Self { platform: None, shop: None, appid: None, create_prospects: false, max_errors: MAX_JOB_ERRORS }
    }
}

/// What an order import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderImportReport {
    /// The platform the file was read as.
    pub platform: Option<Platform>,
    /// Data rows in the file.
    pub rows: usize,
    /// Good orders in the file, and their lines.
    pub orders: usize,
    pub lines: usize,
    /// Orders stored for the first time.
    pub new: usize,
    /// Stored orders given a newer snapshot.
    pub updated: usize,
    /// Stored orders the file describes exactly as stored.
    pub unchanged: usize,
    /// Stored orders whose status is ahead of the file's (an older export): kept as stored.
    pub kept_older: usize,
    /// Updated orders whose status moved forward (each appended a status history row).
    pub status_changes: usize,
    /// Orders of the file that belong to a customer after the import (matched now or before).
    pub matched: usize,
    /// Prospect customers created for unmatched buyers.
    pub prospects: usize,
    /// Orders of the file without a customer.
    pub unmatched: usize,
    /// Orders left out because of a bad row (see `errors`).
    pub skipped_orders: usize,
    /// Rows identical to an earlier row, and totals or empty rows: not imported, not errors.
    pub duplicate_rows: usize,
    pub ignored_rows: usize,
    /// Every problem, by row (`code` is the domain's reason: `too_many_decimals`, `order_has_bad_row`, …).
    pub errors: Vec<RowError>,
    pub errors_omitted: usize,
}

impl OrderImportReport {
    /// The report of a normalised file before any order is written.
    fn start(n: &Normalised, max_errors: usize) -> Self {
        let mut errors: Vec<RowError> = n.errors.iter().map(row_error).collect();
        let errors_omitted = errors.len().saturating_sub(max_errors);
        errors.truncate(max_errors);
        Self {
            platform: Some(n.platform),
            rows: n.rows,
            orders: n.orders.len(),
            lines: n.line_count(),
            skipped_orders: n.skipped.len(),
            duplicate_rows: n.duplicate_lines.len(),
            ignored_rows: n.ignored_lines.len(),
            errors,
            errors_omitted,
            ..Default::default()
        }
    }

    /// Orders handled so far.
    pub fn done(&self) -> usize {
        self.new + self.updated + self.unchanged + self.kept_older
    }

    /// Whether any order made it in (or was already there), or the file had none to import.
    pub fn imported_any(&self) -> bool {
        self.done() > 0 || self.orders + self.skipped_orders == 0
    }

    /// The counts of one batch added to the report.
    fn absorb(&mut self, b: &OrderImportReport) {
        self.new += b.new;
        self.updated += b.updated;
        self.unchanged += b.unchanged;
        self.kept_older += b.kept_older;
        self.status_changes += b.status_changes;
        self.matched += b.matched;
        self.unmatched += b.unmatched;
    }

    pub fn progress(&self) -> OrderImportProgress {
        OrderImportProgress { done: self.done(), total: self.orders, new: self.new, updated: self.updated }
    }
}

/// Progress of a running order import, in orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderImportProgress {
    pub done: usize,
    pub total: usize,
    pub new: usize,
    pub updated: usize,
}

/// A domain row error as the import reports show it (`code` = the reason).
fn row_error(e: &OrderRowError) -> RowError {
    RowError { row: e.line, column: e.column.clone(), code: e.reason.as_str().to_string(), message: e.message.clone() }
}

/// The column mapping of a file: the given platform's built-in format, the generic one (columns named
/// like our fields or any platform's headers), or the platform recognised from the headers.
pub fn order_mapping(headers: &[String], platform: Option<Platform>) -> AppResult<Mapping> {
    let mapping = match platform {
        None => Mapping::detect(headers),
        Some(p) if !p.has_export_format() => Mapping::custom(p, Mapping::suggest(headers), OrderTotals::Repeated),
        Some(p) => Mapping::for_platform(p, headers),
    };
    mapping.map_err(|e| {
        let hint = match e {
            MappingError::Unrecognised => "; name the platform",
            _ => "",
        };
        AppError::invalid("file", format!("{} ({e}{hint})", e.code()))
    })
}

impl App {
    /// Reads and normalises a file's orders on a blocking thread.
    async fn normalise_orders(&self, table: Table, options: &OrderImportOptions) -> AppResult<Normalised> {
        let mapping = order_mapping(&table.headers, options.platform)?;
        self.normalise_with(mapping, table, options).await
    }

    /// Normalises a file's orders with a mapping already made, on a blocking thread.
    async fn normalise_with(
        &self,
        mapping: Mapping,
        table: Table,
        options: &OrderImportOptions,
    ) -> AppResult<Normalised> {
        let opts = NormaliseOptions {
            shop: options.shop.clone().filter(|s| !s.trim().is_empty()),
            appid: options.appid.clone().filter(|s| !s.trim().is_empty()),
            ..Default::default()
        };
        tokio::task::spawn_blocking(move || {
            let rows: Vec<Row<'_>> = table.rows.iter().map(|r| Row { line: r.line, cells: &r.cells }).collect();
            normalise(&mapping, &table.headers, &rows, &opts)
        })
        .await
        .map_err(AppError::internal)
    }

    /// Imports every good order of a file, batch by batch, and reports every bad row. `progress` is called
    /// after each batch. Re-importing the same file changes nothing.
    pub async fn import_orders(
        &self,
        actor: &Actor,
        table: Table,
        options: &OrderImportOptions,
        progress: &mut (dyn FnMut(&OrderImportProgress) + Send),
    ) -> AppResult<OrderImportReport> {
        actor.require(Permission::CustomersImport)?;
        let normalised = self.normalise_orders(table, options).await?;
        let mut report = OrderImportReport::start(&normalised, options.max_errors);
        let importer = import::Importer::new(self, actor, options, JobId::new()).await?;
        for batch in normalised.orders.chunks(ORDER_BATCH) {
            importer.batch(batch, &mut report).await?;
            progress(&report.progress());
        }
        self.orders_imported(actor, &report).await;
        Ok(report)
    }

    /// Audits a finished order import and counts its outcomes.
    async fn orders_imported(&self, actor: &Actor, r: &OrderImportReport) {
        let detail = json!({"platform": r.platform, "rows": r.rows, "orders": r.orders, "new": r.new,
            "updated": r.updated, "unchanged": r.unchanged, "kept_older": r.kept_older, "matched": r.matched,
            "prospects": r.prospects, "unmatched": r.unmatched, "skipped_orders": r.skipped_orders});
        self.audit(actor, AuditEvent { action: "order.import", object_type: "order", object_id: None, detail }).await;
        for (outcome, n) in
            [("new", r.new), ("updated", r.updated), ("unchanged", r.unchanged), ("kept_older", r.kept_older)]
        {
            metrics::counter!("siyu_orders_imported_total", "outcome" => outcome).increment(n as u64);
        }
        metrics::counter!("siyu_orders_imported_total", "outcome" => "skipped").increment(r.skipped_orders as u64);
    }
}
