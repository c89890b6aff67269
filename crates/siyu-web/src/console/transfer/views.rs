//! What the import pages show: columns with sample values, the dry run, progress and the report.
//! Phone numbers and emails are only ever shown masked.

use siyu_app::transfer::{
    ColumnMapping, ImportPreview, ImportProgress, ImportReport, RowAction, RowError, SampleRow, Table, Target,
    column_letter,
};
use siyu_domain::customer::Gender;
use siyu_domain::field::FieldDef;
use siyu_domain::identity::{IdentityKind, NewIdentity};
use siyu_domain::phone;

use crate::console::customers::view::label;
use crate::console::page::Chrome;
use crate::i18n::Tr;

/// Errors listed on the page; the rest are in the CSV.
pub const SHOWN_ERRORS: usize = 200;

/// Row errors as the import pages list them (`import_errors.html`): the first [`SHOWN_ERRORS`], the
/// others counted (the CSV download has them all).
pub struct ShownErrors {
    pub errors: Vec<RowError>,
    /// Errors not listed on the page.
    pub more: usize,
    /// The catalogue prefix explaining the error codes (`order.reason`), for imports whose codes have one.
    reasons: Option<(Tr, &'static str)>,
}

impl ShownErrors {
    /// `omitted`: errors the report already left out.
    pub fn new(mut errors: Vec<RowError>, omitted: usize) -> Self {
        let more = errors.len().saturating_sub(SHOWN_ERRORS) + omitted;
        errors.truncate(SHOWN_ERRORS);
        Self { errors, more, reasons: None }
    }

    /// Explains each code with the catalogue entry `<prefix>.<code>`.
    pub fn explained(self, tr: Tr, prefix: &'static str) -> Self {
        Self { reasons: Some((tr, prefix)), ..self }
    }

    /// The explanation of a code; empty when there is none.
    pub fn reason(&self, code: &str) -> String {
        match self.reasons {
            Some((tr, prefix)) => {
                let text = label(tr, prefix, code);
                if text == code { String::new() } else { text }
            }
            None => String::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One column of the uploaded file and the target it is mapped to.
pub struct ColumnView {
    pub index: usize,
    pub letter: String,
    pub header: String,
    pub samples: Vec<String>,
    pub selected: String,
}

/// A sample cell safe to show: phone numbers and emails masked (`masked`: the column holds them, mask
/// whatever it looks like), long text cut.
pub fn safe_sample(value: &str, masked: bool) -> String {
    let v = value.trim();
    if let Ok(id) = NewIdentity::parse(IdentityKind::Phone, None, v) {
        return id.masked();
    }
    if let Ok(id) = NewIdentity::parse(IdentityKind::Email, None, v) {
        return id.masked();
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let phone_like = digits >= 7
        && v.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
        && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err();
    if masked || phone_like {
        return phone::mask(v);
    }
    let cut: String = v.chars().take(30).collect();
    if cut.len() < v.len() { format!("{cut}…") } else { cut }
}

impl ColumnView {
    pub fn all(table: &Table, mapping: &ColumnMapping) -> Vec<Self> {
        (0..table.width())
            .map(|i| {
                let target = mapping.columns.get(i).cloned().unwrap_or(Target::Ignore);
                let samples = table
                    .rows
                    .iter()
                    .take(50)
                    .map(|r| Table::cell(r, i).trim())
                    .filter(|c| !c.is_empty())
                    .take(3)
                    .map(|c| safe_sample(c, matches!(target, Target::Phone | Target::Email)))
                    .collect();
                Self {
                    index: i,
                    letter: column_letter(i),
                    header: table.headers.get(i).cloned().unwrap_or_default(),
                    samples,
                    selected: target.key(),
                }
            })
            .collect()
    }
}

fn target_label(t: &Target) -> &'static str {
    match t {
        Target::Ignore => "import.target.ignore",
        Target::Name => "customer.name",
        Target::Phone => "customer.phone",
        Target::Email => "customer.email",
        Target::Gender => "customer.gender",
        Target::Remark => "customer.remark",
        Target::Tags => "customer.tags",
        Target::Unionid => "import.target.unionid",
        Target::Openid => "import.target.openid",
        Target::ExternalUserid => "import.target.external_userid",
        Target::Custom(_) => "import.target.custom",
    }
}

/// The choices of each column's select: (target key, label).
pub fn target_options(chrome: &Chrome, fields: &[FieldDef]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        Target::BUILTIN.iter().map(|t| (t.key(), chrome.t(target_label(t)).to_string())).collect();
    let custom = chrome.t(target_label(&Target::Custom(String::new())));
    out.extend(fields.iter().map(|f| (Target::Custom(f.key.clone()).key(), format!("{custom}: {}", f.label))));
    out
}

/// A sample row of the dry run.
pub struct SampleView {
    pub row: u32,
    /// `create`, `update` or `error` (also the CSS class).
    pub action: &'static str,
    pub name: String,
    pub phone: String,
    pub email: String,
    pub gender: &'static str,
    pub tags: Vec<String>,
    pub remark: String,
}

impl From<SampleRow> for SampleView {
    fn from(s: SampleRow) -> Self {
        Self {
            row: s.row,
            action: match s.action {
                RowAction::Create => "create",
                RowAction::Update => "update",
                RowAction::Error => "error",
            },
            name: s.name.unwrap_or_default(),
            phone: s.phone.unwrap_or_default(),
            email: s.email.unwrap_or_default(),
            gender: match s.gender {
                Some(Gender::Male) => "gender.male",
                Some(Gender::Female) => "gender.female",
                Some(Gender::Unknown) => "gender.unknown",
                None => "",
            },
            tags: s.tags,
            remark: s.remark.unwrap_or_default(),
        }
    }
}

pub struct PreviewView {
    pub total_rows: usize,
    pub valid_rows: usize,
    pub to_create: usize,
    pub to_update: usize,
    pub error_rows: usize,
    pub errors: ShownErrors,
    pub sample: Vec<SampleView>,
    pub new_tags: Vec<String>,
}

impl PreviewView {
    pub fn new(p: ImportPreview) -> Self {
        Self {
            total_rows: p.total_rows,
            valid_rows: p.valid_rows,
            to_create: p.to_create,
            to_update: p.to_update,
            error_rows: p.total_rows - p.valid_rows,
            errors: ShownErrors::new(p.errors, p.errors_omitted),
            sample: p.sample.into_iter().map(Into::into).collect(),
            new_tags: p.new_tags,
        }
    }
}

/// A queued or running import job (`import_progress.html`): its percentage and the counts at its last
/// checkpoint. The card polls `url` (the job's page) until the job is finished.
pub struct ProgressView {
    pub url: String,
    pub done: usize,
    pub total: usize,
    pub percent: i64,
    /// (catalogue key, count) shown under the bar.
    pub counts: Vec<(&'static str, usize)>,
}

impl ProgressView {
    pub fn customers(url: String, p: ImportProgress, percent: i64) -> Self {
        let counts = vec![("import.created", p.created), ("import.updated", p.updated), ("import.skipped", p.skipped)];
        Self { url, done: p.done, total: p.total, percent, counts }
    }
}

pub struct ReportView {
    pub r: ImportReport,
    pub errors: ShownErrors,
}

impl ReportView {
    pub fn new(mut r: ImportReport) -> Self {
        let errors = ShownErrors::new(std::mem::take(&mut r.errors), r.errors_omitted);
        Self { r, errors }
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}
