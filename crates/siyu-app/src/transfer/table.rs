//! Reading an uploaded file into a header row and rows of text cells.
//!
//! CSV files come from Excel, WPS and Chinese SaaS exports: UTF-8 with or without a BOM, GBK/GB18030, or
//! UTF-16 ("Unicode text"), separated by commas, tabs or semicolons. Spreadsheets (XLSX, XLS) are read
//! with calamine, first sheet only; numbers come out the way people typed them (`13812345678`, not
//! `13812345678.0`) and dates as `YYYY-MM-DD`. Every input is bounded and no input panics.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xls, Xlsx};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

pub const MAX_ROWS: usize = 200_000;
pub const MAX_COLUMNS: usize = 100;
/// Longer cells are kept cut to one character more, so validation can report them as too long.
pub const MAX_CELL_CHARS: usize = 1000;
pub const MAX_FILE_BYTES: usize = 100 * 1024 * 1024;
/// All cell text together, to bound memory for spreadsheets that repeat one long shared string.
const MAX_TOTAL_TEXT_BYTES: usize = 256 * 1024 * 1024;

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    CsvUtf8,
    CsvGb18030,
    CsvUtf16,
    Xlsx,
    Xls,
}

/// One data row and where the user sees it (1-based row number in the file, the header row included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRow {
    pub line: u32,
    pub cells: Vec<String>,
}

/// A file's header row and its non-empty data rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub format: SourceFormat,
    pub headers: Vec<String>,
    pub rows: Vec<TableRow>,
}

fn refuse(reason: impl Into<String>) -> AppError {
    AppError::invalid("file", reason)
}

impl Table {
    /// Reads a CSV or spreadsheet; the kind is taken from the name's extension, else from the content.
    pub fn read(filename: &str, bytes: &[u8]) -> AppResult<Table> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(AppError::PayloadTooLarge);
        }
        let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        let zip = bytes.starts_with(b"PK\x03\x04");
        let ole = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
        match ext.as_str() {
            "xlsx" | "xlsm" => Self::read_spreadsheet(bytes, SourceFormat::Xlsx),
            "xls" => Self::read_spreadsheet(bytes, SourceFormat::Xls),
            "csv" | "txt" | "tsv" => Self::read_csv(bytes),
            _ if zip => Self::read_spreadsheet(bytes, SourceFormat::Xlsx),
            _ if ole => Self::read_spreadsheet(bytes, SourceFormat::Xls),
            _ => Self::read_csv(bytes),
        }
    }

    /// The cell of a row at `col` (empty when the row is shorter).
    pub fn cell(row: &TableRow, col: usize) -> &str {
        row.cells.get(col).map(String::as_str).unwrap_or("")
    }

    /// How a column is named in messages: its header, else its letter (`C`).
    pub fn column_name(&self, col: usize) -> String {
        match self.headers.get(col).map(|h| h.trim()).filter(|h| !h.is_empty()) {
            Some(h) => h.to_string(),
            None => column_letter(col),
        }
    }

    /// Number of columns (the widest of the header and the rows).
    pub fn width(&self) -> usize {
        self.rows.iter().map(|r| r.cells.len()).chain([self.headers.len()]).max().unwrap_or(0)
    }

    pub fn read_csv(bytes: &[u8]) -> AppResult<Table> {
        let (text, format) = decode(bytes);
        let delimiter = sniff_delimiter(&text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text.as_bytes());
        let mut builder = Builder::new(format);
        let mut record = csv::StringRecord::new();
        // Row numbers as a spreadsheet shows the file: blank lines count, line breaks inside a quoted
        // cell do not. Lines are counted up to each record's start offset.
        let bytes = text.as_bytes();
        let (mut counted_to, mut newlines, mut breaks_inside, mut line) = (0usize, 0u64, 0u64, 0u64);
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let start = record.position().map(|p| p.byte() as usize).unwrap_or(counted_to);
                    let mut start = start.clamp(counted_to, bytes.len());
                    // The reported start includes the blank lines skipped before the record.
                    while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
                        start += 1;
                    }
                    newlines += bytes[counted_to..start].iter().filter(|b| **b == b'\n').count() as u64;
                    counted_to = start;
                    line = (newlines + 1).saturating_sub(breaks_inside).max(line + 1);
                    let cells: Vec<String> = record.iter().map(|c| c.to_string()).collect();
                    breaks_inside += cells.iter().map(|c| c.matches('\n').count() as u64).sum::<u64>();
                    builder.push(u32::try_from(line).unwrap_or(u32::MAX), cells)?;
                }
                Err(_) => return Err(refuse(format!("malformed_csv (row {})", line + 1))),
            }
        }
        builder.finish()
    }

    /// Reads the first sheet of an XLSX or XLS workbook.
    pub fn read_spreadsheet(bytes: &[u8], format: SourceFormat) -> AppResult<Table> {
        // calamine is trusted not to panic, but the input is not trusted at all.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match format {
            SourceFormat::Xls => read_xls(bytes),
            _ => read_xlsx(bytes),
        }));
        match outcome {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!("spreadsheet reader panicked on an uploaded file");
                Err(refuse("unreadable_spreadsheet"))
            }
        }
    }
}

/// `0 → A`, `25 → Z`, `26 → AA`.
pub fn column_letter(col: usize) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// BOM → its encoding; valid UTF-8 → UTF-8; anything else → GB18030 (a superset of GBK and GB2312).
fn decode(bytes: &[u8]) -> (Cow<'_, str>, SourceFormat) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return (String::from_utf8_lossy(rest), SourceFormat::CsvUtf8);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return (encoding_rs::UTF_16LE.decode_without_bom_handling(rest).0, SourceFormat::CsvUtf16);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return (encoding_rs::UTF_16BE.decode_without_bom_handling(rest).0, SourceFormat::CsvUtf16);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), SourceFormat::CsvUtf8),
        Err(_) => (encoding_rs::GB18030.decode_without_bom_handling(bytes).0, SourceFormat::CsvGb18030),
    }
}

/// The most frequent of comma, tab and semicolon on the first line (comma on a tie).
fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let count = |c: char| first.chars().filter(|x| *x == c).count();
    let (comma, tab, semi) = (count(','), count('\t'), count(';'));
    if tab > comma && tab >= semi {
        b'\t'
    } else if semi > comma && semi > tab {
        b';'
    } else {
        b','
    }
}

/// Collects rows while enforcing the limits; the first non-empty row is the header.
struct Builder {
    format: SourceFormat,
    headers: Option<Vec<String>>,
    rows: Vec<TableRow>,
    text_bytes: usize,
}

impl Builder {
    fn new(format: SourceFormat) -> Self {
        Self { format, headers: None, rows: Vec::new(), text_bytes: 0 }
    }

    fn push(&mut self, line: u32, cells: Vec<String>) -> AppResult<()> {
        let used = cells.iter().rposition(|c| !c.trim().is_empty()).map(|i| i + 1).unwrap_or(0);
        if used == 0 {
            return Ok(());
        }
        if used > MAX_COLUMNS {
            return Err(refuse(format!("too_many_columns (max {MAX_COLUMNS})")));
        }
        let mut cells: Vec<String> = cells.into_iter().take(used).map(bound_cell).collect();
        self.text_bytes += cells.iter().map(String::len).sum::<usize>();
        if self.text_bytes > MAX_TOTAL_TEXT_BYTES {
            return Err(AppError::PayloadTooLarge);
        }
        if self.headers.is_none() {
            if let Some(first) = cells.first_mut() {
                *first = first.trim_start_matches('\u{feff}').to_string();
            }
            self.headers = Some(cells.into_iter().map(|h| h.trim().to_string()).collect());
            return Ok(());
        }
        if self.rows.len() >= MAX_ROWS {
            return Err(refuse(format!("too_many_rows (max {MAX_ROWS})")));
        }
        self.rows.push(TableRow { line, cells });
        Ok(())
    }

    fn finish(self) -> AppResult<Table> {
        let headers = self.headers.ok_or_else(|| refuse("empty_file"))?;
        Ok(Table { format: self.format, headers, rows: self.rows })
    }
}

/// Cuts a cell to one character over the limit (enough to report it as too long).
fn bound_cell(c: String) -> String {
    if c.len() <= MAX_CELL_CHARS {
        return c;
    }
    match c.char_indices().nth(MAX_CELL_CHARS + 1) {
        Some((i, _)) => c[..i].to_string(),
        None => c,
    }
}

fn read_xlsx(bytes: &[u8]) -> AppResult<Table> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|_| refuse("unreadable_spreadsheet"))?;
    let sheet = book.sheet_names().first().cloned().ok_or_else(|| refuse("empty_file"))?;
    let mut cells = book.worksheet_cells_reader(&sheet).map_err(|_| refuse("unreadable_spreadsheet"))?;
    // Cells come in document order, normally row by row; a map keeps odd files right too.
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut text_bytes = 0usize;
    while let Some(cell) = cells.next_cell().map_err(|_| refuse("unreadable_spreadsheet"))? {
        let (r, c) = cell.get_position();
        let text = cell_text(&Data::from(cell.get_value().clone()));
        if text.trim().is_empty() {
            continue;
        }
        let c = c as usize;
        if c >= MAX_COLUMNS {
            return Err(refuse(format!("too_many_columns (max {MAX_COLUMNS})")));
        }
        if !rows.contains_key(&r) && rows.len() > MAX_ROWS {
            return Err(refuse(format!("too_many_rows (max {MAX_ROWS})")));
        }
        text_bytes += text.len();
        if text_bytes > MAX_TOTAL_TEXT_BYTES {
            return Err(AppError::PayloadTooLarge);
        }
        let row = rows.entry(r).or_default();
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = bound_cell(text);
    }
    let mut builder = Builder::new(SourceFormat::Xlsx);
    for (r, cells) in rows {
        builder.push(r.saturating_add(1), cells)?;
    }
    builder.finish()
}

fn read_xls(bytes: &[u8]) -> AppResult<Table> {
    let mut book: Xls<_> = Xls::new(Cursor::new(bytes)).map_err(|_| refuse("unreadable_spreadsheet"))?;
    let range = match book.worksheet_range_at(0) {
        Some(Ok(r)) => r,
        Some(Err(_)) => return Err(refuse("unreadable_spreadsheet")),
        None => return Err(refuse("empty_file")),
    };
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let mut builder = Builder::new(SourceFormat::Xls);
    for (i, row) in range.rows().enumerate() {
        let line = row0.saturating_add(i as u32).saturating_add(1);
        let mut cells = vec![String::new(); col0 as usize];
        cells.extend(row.iter().map(cell_text));
        builder.push(line, cells)?;
    }
    builder.finish()
}

/// A spreadsheet cell as the user sees it.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTime(dt) => number_text(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

/// Whole numbers without a decimal point (phone numbers stored as numbers), others in shortest form.
pub fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e17 { format!("{}", f as i64) } else { format!("{f}") }
}

#[cfg(test)]
mod tests;
