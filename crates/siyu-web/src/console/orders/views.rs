//! What the order import pages show: the platform choices and how well the file fits each, the column
//! mapping with sample values, the first orders, the summary of a finished import and the import history.
//! Buyer and receiver phones, receiver names and addresses are only ever shown masked.

use siyu_app::orders::{OrderImportJobStatus, OrderImportPreview, OrderImportReport};
use siyu_app::transfer::column_letter;
use siyu_domain::job::JobStatus;
use siyu_domain::order::{ContactPhone, Detection, Field, Mapping, Order, OrderLine, OrderStatus, Platform, cell};

use crate::console::customers::view::{fmt_time, label, yuan};
use crate::console::transfer::views::safe_sample;
use crate::i18n::Tr;

/// The platforms a file can be read as, in the order the select lists them.
pub const PLATFORMS: [Platform; 6] =
    [Platform::Taobao, Platform::Jd, Platform::Pinduoduo, Platform::Youzan, Platform::Douyin, Platform::Generic];

pub fn platform_label(tr: Tr, p: Platform) -> String {
    label(tr, "order.platform", p.as_str())
}

pub fn status_label(tr: Tr, s: OrderStatus) -> String {
    label(tr, "order.status", s.as_str())
}

/// The badge class of a status: `ok` once received, `off` when nothing (or not all) stands.
pub fn status_class(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Received => "ok",
        OrderStatus::Refunded | OrderStatus::Closed => "off",
        _ => "",
    }
}

/// A line as one short text: `电动牙刷 X1 ×2`.
pub fn line_text(l: &OrderLine) -> String {
    let name = [&l.title, &l.sku_id, &l.product_id].into_iter().find_map(|v| v.clone()).unwrap_or_else(|| "—".into());
    format!("{name} ×{}", l.quantity)
}

/// One choice of the platform select; `value` is empty for "recognise from the headers".
pub struct PlatformOption {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

pub fn platform_options(tr: Tr, chosen: Option<Platform>) -> Vec<PlatformOption> {
    let auto = PlatformOption { value: "", label: tr.t("order_import.auto").to_string(), selected: chosen.is_none() };
    let each = PLATFORMS.iter().map(|p| PlatformOption {
        value: p.as_str(),
        label: platform_label(tr, *p),
        selected: chosen == Some(*p),
    });
    std::iter::once(auto).chain(each).collect()
}

/// How well the headers fit one platform's export.
pub struct CandidateView {
    pub platform: String,
    pub score: u32,
    pub signature_hits: usize,
    pub usable: bool,
    /// The one recognised.
    pub best: bool,
}

pub fn candidates(tr: Tr, d: &Detection) -> Vec<CandidateView> {
    let best = d.best();
    d.candidates
        .iter()
        .map(|c| CandidateView {
            platform: platform_label(tr, c.platform),
            score: c.score,
            signature_hits: c.signature_hits,
            usable: c.usable,
            best: best == Some(c.platform),
        })
        .collect()
}

/// One field of the mapping and the column that fills it.
pub struct MappedColumn {
    pub field: String,
    pub key: &'static str,
    pub letter: String,
    pub header: String,
    pub samples: Vec<String>,
}

/// A sample value of a field as the import reads it (export wrappers such as `="…"` removed), masked when
/// it is personal data. Order, line, product and SKU ids are shown whole, whatever they look like.
fn sample(field: Field, value: &str) -> String {
    let value = &cell::clean(value);
    match field {
        Field::OrderId | Field::LineId | Field::ProductId | Field::SkuId => {
            let cut: String = value.chars().take(40).collect();
            if cut.len() < value.len() { format!("{cut}…") } else { cut }
        }
        Field::BuyerPhone | Field::ReceiverPhone => {
            ContactPhone::classify(value).map(|p| p.masked()).unwrap_or_else(|| safe_sample(value, true))
        }
        Field::ReceiverName => format!("{}*", value.trim().chars().next().unwrap_or('*')),
        Field::ReceiverAddress => format!("{}…", value.trim().chars().take(6).collect::<String>()),
        _ => safe_sample(value, false),
    }
}

/// The mapped fields in field order, then the headers of the columns nothing reads.
pub fn mapping_rows(tr: Tr, p: &OrderImportPreview, m: &Mapping) -> (Vec<MappedColumn>, Vec<String>) {
    let mapped = m
        .columns
        .iter()
        .map(|(field, col)| {
            let samples = p.samples.get(*col).map(Vec::as_slice).unwrap_or_default();
            MappedColumn {
                field: label(tr, "order.field", field.as_str()),
                key: field.as_str(),
                letter: column_letter(*col),
                header: p.headers.get(*col).cloned().unwrap_or_default(),
                samples: samples.iter().map(|v| sample(*field, v)).collect(),
            }
        })
        .collect();
    let unused = (0..p.headers.len())
        .filter(|i| !m.columns.values().any(|c| c == i))
        .filter_map(|i| p.headers.get(i).map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .collect();
    (mapped, unused)
}

/// One of the first orders of the file, as it would be stored.
pub struct SampleOrder {
    pub order_id: String,
    pub shop: String,
    pub buyer: String,
    pub status: String,
    pub status_class: &'static str,
    pub placed: String,
    pub paid: String,
    pub refunded: Option<String>,
    pub lines: Vec<String>,
}

/// Who bought: the nick, else the platform buyer id, else the buyer's phone masked.
fn buyer(o: &Order) -> String {
    let id = o.buyer.keys.iter().find(|k| k.kind == siyu_domain::identity::IdentityKind::PlatformBuyer);
    o.buyer
        .nick
        .clone()
        .or_else(|| id.map(|k| k.value.clone()))
        .or_else(|| o.buyer.phone.as_ref().map(ContactPhone::masked))
        .unwrap_or_else(|| "—".into())
}

impl SampleOrder {
    pub fn new(tr: Tr, o: &Order) -> Self {
        Self {
            order_id: o.order_id.clone(),
            shop: o.shop.clone(),
            buyer: buyer(o),
            status: status_label(tr, o.status),
            status_class: status_class(o.status),
            placed: o.created_at.or(o.paid_at).as_ref().map(fmt_time).unwrap_or_else(|| "—".into()),
            paid: yuan(o.paid_fen),
            refunded: (o.refunded_fen > 0).then(|| yuan(o.refunded_fen)),
            lines: o.lines.iter().map(line_text).collect(),
        }
    }
}

/// One figure of a summary: (catalogue key, element id, count).
pub type Stat = (&'static str, &'static str, usize);

/// What the file holds (the preview's figures).
pub fn file_stats(r: &OrderImportReport) -> Vec<Stat> {
    vec![
        ("import.total_rows", "rows", r.rows),
        ("order_import.orders", "orders", r.orders),
        ("order_import.lines", "lines", r.lines),
        ("order_import.skipped_orders", "skipped-orders", r.skipped_orders),
        ("order_import.duplicate_rows", "duplicate-rows", r.duplicate_rows),
        ("order_import.error_rows", "error-rows", r.errors.len() + r.errors_omitted),
    ]
}

/// What a finished import did.
pub fn report_stats(r: &OrderImportReport) -> Vec<Stat> {
    vec![
        ("order_import.new", "new", r.new),
        ("order_import.updated", "updated", r.updated),
        ("order_import.unchanged", "unchanged", r.unchanged),
        ("order_import.kept_older", "kept-older", r.kept_older),
        ("order_import.lines", "lines", r.lines),
        ("order_import.matched", "matched", r.matched),
        ("order_import.prospects", "prospects", r.prospects),
        ("order_import.unmatched", "unmatched", r.unmatched),
        ("order_import.skipped_orders", "skipped-orders", r.skipped_orders),
        ("order_import.duplicate_rows", "duplicate-rows", r.duplicate_rows),
    ]
}

/// One import of the history list.
pub struct HistoryRow {
    pub id: String,
    pub file_name: String,
    pub platform: String,
    pub shop: String,
    pub status: &'static str,
    pub status_label: String,
    pub created: String,
    /// The counts when done, the progress while running, the error when failed.
    pub summary: String,
}

impl HistoryRow {
    pub fn new(tr: Tr, s: &OrderImportJobStatus) -> Self {
        let platform = s.report.as_ref().and_then(|r| r.platform).or(s.options.platform);
        let summary = match (&s.report, s.job.status) {
            (Some(r), _) => [
                ("order_import.new", r.new),
                ("order_import.updated", r.updated),
                ("order_import.unchanged", r.unchanged),
                ("order_import.skipped_orders", r.skipped_orders),
            ]
            .iter()
            .map(|(k, n)| format!("{} {n}", tr.t(k)))
            .collect::<Vec<_>>()
            .join(" · "),
            (None, JobStatus::Failed) => s.job.error.clone().unwrap_or_default(),
            (None, _) => format!("{} / {}", s.progress.done, s.progress.total),
        };
        Self {
            id: s.job.id.to_string(),
            file_name: s.file_name.clone(),
            platform: platform.map(|p| platform_label(tr, p)).unwrap_or_else(|| "—".into()),
            shop: s.options.shop.clone().unwrap_or_default(),
            status: s.job.status.as_str(),
            status_label: label(tr, "job.status", s.job.status.as_str()),
            created: fmt_time(&s.job.created_at),
            summary,
        }
    }
}
