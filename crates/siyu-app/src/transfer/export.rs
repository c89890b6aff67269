//! Exporting customers to CSV or XLSX, in batches, within the actor's data scope.
//!
//! Phone numbers and emails are masked (`138****5678`) unless the actor may reveal PII *and* asks for it;
//! either way the export is audited. Rows are read 500 at a time and handed to a writer on a blocking
//! thread (CSV streams straight through; XLSX uses rust_xlsxwriter's constant-memory mode), so memory stays
//! flat whatever the number of customers.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use siyu_domain::access::Permission;
use siyu_domain::customer::{CustomerFilter, Gender};
use siyu_domain::field::FieldDef;
use siyu_domain::id::{CustomerId, SegmentId};
use siyu_domain::identity::IdentityKind;

use super::table::number_text;
use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

const BATCH: u32 = 500;
const XLSX_MAX_ROWS: i64 = 1_048_575;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

impl ExportFormat {
    /// From a file name's extension (`.csv`, `.xlsx`).
    pub fn from_file_name(name: &str) -> Option<Self> {
        match name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).as_deref() {
            Some("csv") => Some(Self::Csv),
            Some("xlsx") => Some(Self::Xlsx),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    pub filter: CustomerFilter,
    /// Export a segment's members instead of the filter's matches.
    pub segment: Option<SegmentId>,
    pub format: ExportFormat,
    /// Full phone numbers and emails; needs [`Permission::PiiReveal`].
    pub reveal_pii: bool,
}

/// A checked export, ready to be written.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    pub request: ExportRequest,
    /// How many customers matched when the export was prepared.
    pub total: i64,
    fields: Vec<FieldDef>,
    offset: FixedOffset,
}

/// The fixed offset of the tenant's time zone (see [`siyu_domain::tenancy::utc_offset`]).
fn offset_of(timezone: &str) -> FixedOffset {
    siyu_domain::tenancy::utc_offset(timezone)
}

/// Neutralises cells a spreadsheet would run as a formula (`=HYPERLINK(...)` in a nickname).
fn csv_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() }
}

fn custom_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.as_f64().map(number_text).unwrap_or_else(|| n.to_string()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

fn gender_text(g: Gender) -> &'static str {
    match g {
        Gender::Male => "男",
        Gender::Female => "女",
        Gender::Unknown => "未知",
    }
}

/// Writes rows as CSV (with a UTF-8 BOM, so Excel reads Chinese right) or XLSX.
enum Sink<W: Write + Send> {
    Csv(Box<csv::Writer<W>>),
    Xlsx { book: Box<rust_xlsxwriter::Workbook>, writer: W, next_row: u32 },
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::internal(anyhow::anyhow!("xlsx: {e}"))
}

fn io_err(e: impl std::fmt::Display) -> AppError {
    AppError::internal(anyhow::anyhow!("export write failed: {e}"))
}

impl<W: Write + Send> Sink<W> {
    fn new(format: ExportFormat, mut writer: W, headers: &[String]) -> AppResult<Self> {
        match format {
            ExportFormat::Csv => {
                writer.write_all("\u{feff}".as_bytes()).map_err(io_err)?;
                let mut w = csv::Writer::from_writer(writer);
                w.write_record(headers).map_err(io_err)?;
                Ok(Self::Csv(Box::new(w)))
            }
            ExportFormat::Xlsx => {
                let mut book = Box::new(rust_xlsxwriter::Workbook::new());
                let bold = rust_xlsxwriter::Format::new().set_bold();
                let ws = book.add_worksheet_with_constant_memory().map_err(xlsx_err)?;
                ws.set_name("客户").map_err(xlsx_err)?;
                for (i, h) in headers.iter().enumerate() {
                    let width = match h.as_str() {
                        "id" => 38,
                        "标签" | "备注" => 40,
                        "创建时间" | "最近活跃" => 20,
                        _ => 16,
                    };
                    ws.set_column_width(i as u16, width).map_err(xlsx_err)?;
                }
                ws.set_freeze_panes(1, 0).map_err(xlsx_err)?;
                for (i, h) in headers.iter().enumerate() {
                    ws.write_string_with_format(0, i as u16, h, &bold).map_err(xlsx_err)?;
                }
                Ok(Self::Xlsx { book, writer, next_row: 1 })
            }
        }
    }

    fn row(&mut self, cells: &[String]) -> AppResult<()> {
        match self {
            Self::Csv(w) => w.write_record(cells.iter().map(|c| csv_safe(c))).map_err(io_err),
            Self::Xlsx { book, next_row, .. } => {
                if i64::from(*next_row) > XLSX_MAX_ROWS {
                    return Err(AppError::invalid("format", "too_many_rows_for_xlsx (export as csv)"));
                }
                let ws = book.worksheet_from_index(0).map_err(xlsx_err)?;
                for (i, c) in cells.iter().enumerate().filter(|(_, c)| !c.is_empty()) {
                    ws.write_string(*next_row, i as u16, c).map_err(xlsx_err)?;
                }
                *next_row += 1;
                Ok(())
            }
        }
    }

    fn finish(self) -> AppResult<W> {
        match self {
            Self::Csv(w) => w.into_inner().map_err(|e| io_err(e.error())),
            Self::Xlsx { mut book, mut writer, .. } => {
                book.save_to_writer(&mut writer).map_err(xlsx_err)?;
                writer.flush().map_err(io_err)?;
                Ok(writer)
            }
        }
    }
}

impl App {
    /// Checks permissions and the filter, and counts the matching customers.
    pub async fn prepare_export(&self, actor: &Actor, request: ExportRequest) -> AppResult<ExportPlan> {
        actor.require(Permission::CustomersExport)?;
        if request.reveal_pii {
            actor.require(Permission::PiiReveal)?;
        }
        let total = match request.segment {
            Some(segment) => {
                self.store.segments().get(actor.tenant, segment).await?;
                self.store.segments().visible_member_count(actor.tenant, segment, &actor.visibility).await?
            }
            None => {
                let q = self.customer_query(actor, &request.filter).await?;
                self.store.customers().count(actor.tenant, &q).await?
            }
        };
        if request.format == ExportFormat::Xlsx && total > XLSX_MAX_ROWS {
            return Err(AppError::invalid("format", "too_many_rows_for_xlsx (export as csv)"));
        }
        let fields = self.store.fields().list(actor.tenant).await?;
        let tz = self.store.tenants().get(actor.tenant).await?.timezone;
        Ok(ExportPlan { request, total, fields, offset: offset_of(&tz) })
    }

    /// Prepares and writes an export; returns the writer and the number of customers written.
    pub async fn export_customers<W: Write + Send + 'static>(
        &self,
        actor: &Actor,
        request: ExportRequest,
        writer: W,
    ) -> AppResult<(W, u64)> {
        let plan = self.prepare_export(actor, request).await?;
        self.write_export(actor, &plan, writer, &mut |_| {}).await
    }

    /// Writes a prepared export in batches; `progress` gets the rows written so far. Audited, also when it
    /// fails half-way (some rows may have left by then).
    pub async fn write_export<W: Write + Send + 'static>(
        &self,
        actor: &Actor,
        plan: &ExportPlan,
        writer: W,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> AppResult<(W, u64)> {
        let mut headers: Vec<String> =
            ["id", "姓名", "手机号", "邮箱", "性别", "标签", "备注", "来源"].iter().map(|s| s.to_string()).collect();
        headers.extend(plan.fields.iter().map(|f| f.label.clone()));
        headers.extend(["创建时间".to_string(), "最近活跃".to_string()]);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Vec<String>>>(2);
        let format = plan.request.format;
        let writing = tokio::task::spawn_blocking(move || -> AppResult<W> {
            let mut sink = Sink::new(format, writer, &headers)?;
            while let Some(batch) = rx.blocking_recv() {
                for row in &batch {
                    sink.row(row)?;
                }
            }
            sink.finish()
        });
        let mut written: u64 = 0;
        let reading: AppResult<()> = async {
            let q = self.customer_query(actor, &plan.request.filter).await?;
            let mut after: Option<CustomerId> = None;
            loop {
                let ids = match plan.request.segment {
                    Some(segment) => {
                        let segments = self.store.segments();
                        segments.member_ids_after(actor.tenant, segment, &actor.visibility, after, BATCH).await?
                    }
                    None => self.store.customers().ids(actor.tenant, &q, after, BATCH).await?,
                };
                let Some(last) = ids.last().copied() else { break };
                let rows = self.export_rows(actor, plan, &ids).await?;
                let n = rows.len() as u64;
                if tx.send(rows).await.is_err() {
                    break; // the writer stopped; its error is reported below
                }
                written += n;
                progress(written);
                if ids.len() < BATCH as usize {
                    break;
                }
                after = Some(last);
            }
            Ok(())
        }
        .await;
        drop(tx);
        let result = match (reading, writing.await) {
            (Err(e), _) => Err(e),
            (Ok(()), Ok(w)) => w,
            (Ok(()), Err(join)) => Err(AppError::internal(join)),
        };
        let detail = json!({
            "format": format,
            "rows": written,
            "reveal_pii": plan.request.reveal_pii,
            "filtered": !plan.request.filter.is_empty(),
            "segment": plan.request.segment,
            "ok": result.is_ok(),
        });
        self.audit(actor, AuditEvent { action: "customer.export", object_type: "customer", object_id: None, detail })
            .await;
        metrics::counter!("siyu_export_rows_total").increment(written);
        result.map(|w| (w, written))
    }

    async fn export_rows(&self, actor: &Actor, plan: &ExportPlan, ids: &[CustomerId]) -> AppResult<Vec<Vec<String>>> {
        let customers = self.store.customers().by_ids(actor.tenant, ids).await?;
        let keys = if plan.request.reveal_pii { Some(self.vault.keys(&self.store, actor.tenant).await?) } else { None };
        let mut pii: HashMap<(CustomerId, IdentityKind), String> = HashMap::new();
        for kind in [IdentityKind::Phone, IdentityKind::Email] {
            for r in self.store.identities().of_customers(actor.tenant, kind, ids).await? {
                let key = (r.identity.customer_id, kind);
                if pii.contains_key(&key) {
                    continue;
                }
                let shown = match (&keys, &r.value_enc) {
                    (Some(k), Some(enc)) => {
                        let v = k.decrypt(enc)?;
                        v.strip_prefix("+86").map(str::to_string).unwrap_or(v)
                    }
                    _ => r.identity.display,
                };
                pii.insert(key, shown);
            }
        }
        let mut tags = self.tag_refs(actor, ids).await?;
        let time = |t: DateTime<Utc>| t.with_timezone(&plan.offset).format("%Y-%m-%d %H:%M:%S").to_string();
        Ok(customers
            .into_iter()
            .map(|c| {
                let tag_text = tags
                    .remove(&c.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| format!("{}:{}", t.group, t.name))
                    .collect::<Vec<_>>()
                    .join(",");
                let mut row = vec![
                    c.id.to_string(),
                    c.name.clone(),
                    pii.remove(&(c.id, IdentityKind::Phone)).unwrap_or_default(),
                    pii.remove(&(c.id, IdentityKind::Email)).unwrap_or_default(),
                    gender_text(c.gender).to_string(),
                    tag_text,
                    c.remark.clone().unwrap_or_default(),
                    c.source.clone(),
                ];
                row.extend(plan.fields.iter().map(|f| custom_text(c.custom.get(&f.key))));
                row.push(time(c.created_at));
                row.push(c.last_active_at.map(time).unwrap_or_default());
                row
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_cells_are_neutralised_in_csv() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("张三"), "张三");
    }

    #[test]
    fn custom_values_print_as_people_typed_them() {
        assert_eq!(custom_text(Some(&json!(42.0))), "42");
        assert_eq!(custom_text(Some(&json!(["干", "油"]))), "干,油");
        assert_eq!(custom_text(None), "");
    }

    #[test]
    fn file_names_choose_the_format() {
        assert_eq!(ExportFormat::from_file_name("a.XLSX"), Some(ExportFormat::Xlsx));
        assert_eq!(ExportFormat::from_file_name("a.csv"), Some(ExportFormat::Csv));
        assert_eq!(ExportFormat::from_file_name("a.json"), None);
        assert_eq!(offset_of("Asia/Shanghai").local_minus_utc(), 8 * 3600);
    }
}
