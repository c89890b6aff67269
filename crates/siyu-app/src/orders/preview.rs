//! The look at an uploaded order file before it is imported (the console's preview step): how well its
//! header row fits each platform's export, which column fills which field, the first orders as the import
//! would store them and the first row errors. Nothing is written.
//!
//! The preview reads the file exactly as the `import_orders` job will (same mapping, same normaliser), so
//! its counts and errors are the job's, only without the comparison with stored orders.

use siyu_domain::access::Permission;
use siyu_domain::id::UploadId;
use siyu_domain::order::{Detection, Mapping, Order, Platform, detect};

use super::{OrderImportOptions, OrderImportReport, order_mapping};
use crate::error::{AppError, AppResult};
use crate::transfer::{Table, UploadedTable};
use crate::{Actor, App};

/// Orders the preview shows.
pub const PREVIEW_ORDERS: usize = 10;
/// Row errors the preview keeps (the rest are counted in `errors_omitted`).
pub const PREVIEW_ERRORS: usize = 200;
/// Rows searched for sample values of each column, and samples kept per column.
const SAMPLE_ROWS: usize = 50;
const SAMPLES: usize = 3;

/// What importing an upload with some options would do.
#[derive(Debug)]
pub struct OrderImportPreview {
    pub upload: UploadId,
    pub file_name: String,
    pub headers: Vec<String>,
    /// The first non-empty values of each column, as in the file (the console masks personal data).
    pub samples: Vec<Vec<String>>,
    /// Every built-in format's fit, best first.
    pub detection: Detection,
    /// The platform recognised from the headers, when one fits well enough.
    pub detected: Option<Platform>,
    /// The columns as the import reads them (the chosen platform's format, else the recognised one's);
    /// `None` when the file cannot be imported with these options (see `refused`).
    pub mapping: Option<Mapping>,
    /// Why the file cannot be imported as chosen (unrecognised headers, a missing column).
    pub refused: Option<AppError>,
    /// Rows, orders, lines, skipped orders, duplicates and row errors; the import counts stay 0.
    pub report: OrderImportReport,
    /// The first good orders, as the import would store them.
    pub sample: Vec<Order>,
}

/// The first few non-empty cells of every column.
fn column_samples(table: &Table) -> Vec<Vec<String>> {
    (0..table.width())
        .map(|i| {
            table
                .rows
                .iter()
                .take(SAMPLE_ROWS)
                .map(|r| Table::cell(r, i).trim())
                .filter(|c| !c.is_empty())
                .take(SAMPLES)
                .map(str::to_string)
                .collect()
        })
        .collect()
}

impl App {
    /// Reads an upload of the actor ([`App::upload_table`]) as an order export with `options` (the
    /// platform, or recognition from the headers; the shop and appid) and reports what the import would
    /// do, without writing anything.
    pub async fn preview_order_import(
        &self,
        actor: &Actor,
        file: UploadedTable,
        options: &OrderImportOptions,
    ) -> AppResult<OrderImportPreview> {
        actor.require(Permission::CustomersImport)?;
        let (upload, table) = (file.id, file.table);
        let detection = detect(&table.headers);
        let mut preview = OrderImportPreview {
            upload,
            file_name: file.file_name,
            headers: table.headers.clone(),
            samples: column_samples(&table),
            detected: detection.best(),
            detection,
            mapping: None,
            refused: None,
            report: OrderImportReport { rows: table.rows.len(), ..Default::default() },
            sample: Vec::new(),
        };
        let mapping = match order_mapping(&table.headers, options.platform) {
            Ok(m) => m,
            Err(e @ AppError::Invalid(_)) => {
                preview.refused = Some(e);
                return Ok(preview);
            }
            Err(e) => return Err(e),
        };
        let normalised = self.normalise_with(mapping.clone(), table, options).await?;
        preview.report = OrderImportReport::start(&normalised, PREVIEW_ERRORS);
        preview.sample = normalised.orders.into_iter().take(PREVIEW_ORDERS).collect();
        preview.mapping = Some(mapping);
        Ok(preview)
    }
}
