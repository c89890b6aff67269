//! Importing customers and tags from CSV/XLSX files, and exporting customers to CSV/XLSX.
//!
//! The flow, the same from the CLI and the console:
//! 1. [`Table::read`] (or [`App::read_import_file`] off the async threads) turns the file into a header row
//!    and rows of text, whatever its encoding;
//! 2. [`ColumnMapping::suggest`] proposes a target per column from its header; the user may override it;
//! 3. [`App::preview_import`] is the dry run: every row validated exactly like the import, nothing written;
//! 4. [`App::import_customers`] imports the good rows, one transaction each, and reports each bad one.
//!
//! The console keeps the file in the database ([`App::store_upload`], `transfer/uploads.rs`) and runs step 4
//! as a background job ([`App::queue_import`], `transfer/job.rs`) that any worker can claim and resume.
//!
//! See `transfer/import.rs` for the row policy (existing customers are updated, not duplicated).

mod export;
mod import;
mod job;
mod mapping;
mod merge;
mod rows;
mod table;
mod tags;
mod uploads;

use serde::{Deserialize, Serialize};
use siyu_domain::customer::Gender;

pub use export::{ExportFormat, ExportPlan, ExportRequest};
pub use job::{CHECKPOINT_ROWS, IMPORT_JOB, ImportJobStatus, ImportOptions, MAX_JOB_ERRORS};
pub use mapping::{ColumnMapping, Target, normalise};
pub use rows::{RowError, TagName};
pub use table::{MAX_CELL_CHARS, MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS, SourceFormat, Table, TableRow, column_letter};
pub use tags::{IMPORT_GROUP, TagImportReport};
pub use uploads::{UPLOAD_TTL_HOURS, UploadedTable};

use crate::App;
use crate::error::{AppError, AppResult};

/// Reports keep at most this many row errors (the rest are counted in `errors_omitted`).
pub const MAX_REPORTED_ERRORS: usize = 50_000;

/// What a preview row would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    Create,
    /// Merge into the existing customer holding the row's identity.
    Update,
    Error,
}

/// One of the first rows, as it would be imported (phone and email masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleRow {
    pub row: u32,
    pub action: RowAction,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub gender: Option<Gender>,
    /// `组:标签`.
    pub tags: Vec<String>,
    pub remark: Option<String>,
}

/// The dry run of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub total_rows: usize,
    pub valid_rows: usize,
    /// Valid rows that create a customer.
    pub to_create: usize,
    /// Valid rows that update an existing customer.
    pub to_update: usize,
    pub errors: Vec<RowError>,
    pub errors_omitted: usize,
    pub sample: Vec<SampleRow>,
    /// `组:标签` of tags the import would create.
    pub new_tags: Vec<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub total_rows: usize,
    pub created: usize,
    /// Rows merged into an existing customer that changed it.
    pub updated: usize,
    /// Rows matching an existing customer that already looked like the row.
    pub unchanged: usize,
    /// Rows not imported (see `errors`).
    pub skipped: usize,
    pub errors: Vec<RowError>,
    pub errors_omitted: usize,
    /// `组:标签` of the tags the import created.
    pub new_tags: Vec<String>,
}

impl ImportReport {
    /// Whether at least one row made it in (or was already there).
    pub fn imported_any(&self) -> bool {
        self.created + self.updated + self.unchanged > 0 || self.total_rows == 0
    }
}

/// Progress of a running import, after each row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportProgress {
    pub done: usize,
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: usize,
}

/// Writes `headers` in bold as the first row of `ws`, column `i` `width(i)` characters wide (the reports'
/// XLSX exports).
pub(crate) fn xlsx_headers(
    ws: &mut rust_xlsxwriter::Worksheet,
    headers: &[&str],
    width: impl Fn(usize) -> f64,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (i, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &bold)?;
        ws.set_column_width(i as u16, width(i))?;
    }
    Ok(())
}

/// The row errors as a CSV (UTF-8 with BOM for Excel): `行号, 列, 错误码, 说明`.
pub fn errors_csv(errors: &[RowError]) -> AppResult<Vec<u8>> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let fail = |e: csv::Error| AppError::internal(anyhow::anyhow!("errors csv: {e}"));
        w.write_record(["行号 row", "列 column", "错误码 code", "说明 message"]).map_err(fail)?;
        for e in errors {
            let row = e.row.to_string();
            w.write_record([row.as_str(), e.column.as_deref().unwrap_or(""), &e.code, &e.message]).map_err(fail)?;
        }
        w.flush().map_err(|e| AppError::internal(anyhow::anyhow!("errors csv: {e}")))?;
    }
    Ok(out)
}

impl App {
    /// Reads an uploaded file on a blocking thread (parsing a large spreadsheet takes a while).
    pub async fn read_import_file(&self, file_name: String, bytes: Vec<u8>) -> AppResult<Table> {
        tokio::task::spawn_blocking(move || Table::read(&file_name, &bytes)).await.map_err(AppError::internal)?
    }
}
