//! Turning one row of cells into validated customer values, collecting an error per bad cell.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use siyu_domain::customer::Gender;
use siyu_domain::field::{FieldDef, FieldKind};
use siyu_domain::identity::{IdentityKind, NewIdentity};
use siyu_domain::{DomainError, text};

use super::mapping::{ColumnMapping, Target};
use super::table::{MAX_CELL_CHARS, Table, TableRow};
use crate::error::AppError;

/// One problem with one row (and column, when it is about a cell).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// 1-based row number as the user sees it in the file (the header is row 1).
    pub row: u32,
    /// The column's header (or letter), when the error is about one cell.
    pub column: Option<String>,
    /// An error code name (`invalid_input`, `duplicate_identity`, `masked_phone`, ...).
    pub code: String,
    /// What is wrong. Never contains the cell's phone number or email.
    pub message: String,
}

impl RowError {
    pub fn new(row: u32, column: Option<String>, e: &AppError) -> Self {
        Self { row, column, code: e.code().name().to_string(), message: e.to_string() }
    }
}

/// A tag as written in a file: `组名:标签名` or just `标签名`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagName {
    pub group: Option<String>,
    pub name: String,
}

impl TagName {
    /// `组名:标签名` (ASCII or full-width colon) or `标签名`.
    pub fn parse(s: &str) -> Result<Self, AppError> {
        tag_name(s.trim())
    }
}

impl std::fmt::Display for TagName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.group {
            Some(g) => write!(f, "{g}:{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The validated values of one row; empty cells are `None` / absent.
#[derive(Debug, Clone, Default)]
pub struct RowInput {
    pub line: u32,
    pub name: Option<String>,
    pub gender: Option<Gender>,
    pub remark: Option<String>,
    /// (column, canonical identity).
    pub identities: Vec<(usize, NewIdentity)>,
    pub tags: Vec<(usize, TagName)>,
    /// (column, field key, canonical value).
    pub custom: Vec<(usize, String, Value)>,
}

/// Separators between tag names in one cell.
const TAG_SEPARATORS: [char; 6] = [',', '，', '、', ';', '；', '\n'];

/// Parses a row; every bad cell yields one error, and any error rejects the whole row.
pub fn parse_row(
    table: &Table,
    row: &TableRow,
    mapping: &ColumnMapping,
    fields: &[FieldDef],
) -> Result<RowInput, Vec<RowError>> {
    let mut out = RowInput { line: row.line, ..Default::default() };
    let mut errors = Vec::new();
    for (col, target) in mapping.columns.iter().enumerate() {
        let raw = Table::cell(row, col).trim();
        if raw.is_empty() || *target == Target::Ignore {
            continue;
        }
        let fail = |e: AppError| RowError::new(row.line, Some(table.column_name(col)), &e);
        if raw.chars().count() > MAX_CELL_CHARS {
            errors.push(fail(AppError::invalid(target.key(), format!("too_long (max {MAX_CELL_CHARS} characters)"))));
            continue;
        }
        let result = parse_cell(&mut out, col, target, raw, mapping, fields);
        if let Err(e) = result {
            errors.push(fail(e));
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn parse_cell(
    out: &mut RowInput,
    col: usize,
    target: &Target,
    raw: &str,
    mapping: &ColumnMapping,
    fields: &[FieldDef],
) -> Result<(), AppError> {
    match target {
        Target::Ignore => {}
        Target::Name => out.name = Some(text::required("name", raw, 64)?),
        Target::Remark => out.remark = text::optional("remark", Some(raw), 500)?,
        Target::Gender => {
            let g = match raw {
                "男性" | "先生" => Some(Gender::Male),
                "女性" | "女士" | "小姐" => Some(Gender::Female),
                other => Gender::parse(&other.to_lowercase()),
            };
            out.gender = Some(g.ok_or_else(|| AppError::invalid("gender", "unknown_gender (男/女/未知)"))?);
        }
        Target::Phone => out.identities.push((col, identity(IdentityKind::Phone, None, &phone_input(raw))?)),
        Target::Email => out.identities.push((col, identity(IdentityKind::Email, None, raw)?)),
        Target::Unionid => out.identities.push((col, identity(IdentityKind::Unionid, None, raw)?)),
        Target::Openid => out.identities.push((col, identity(IdentityKind::Openid, mapping.appid.as_deref(), raw)?)),
        Target::ExternalUserid => {
            out.identities.push((col, identity(IdentityKind::ExternalUserid, mapping.corp_id.as_deref(), raw)?))
        }
        Target::Tags => {
            for part in raw.split(TAG_SEPARATORS).map(str::trim).filter(|p| !p.is_empty()) {
                out.tags.push((col, tag_name(part)?));
            }
        }
        Target::Custom(key) => {
            let def = fields
                .iter()
                .find(|f| &f.key == key)
                .ok_or_else(|| AppError::invalid(format!("custom.{key}"), "unknown_field"))?;
            let value = def.coerce(&Value::String(custom_input(def.kind, raw)))?;
            if !value.is_null() {
                out.custom.push((col, key.clone(), value));
            }
        }
    }
    Ok(())
}

/// Validates an identity; errors name the kind, never the value.
fn identity(kind: IdentityKind, namespace: Option<&str>, raw: &str) -> Result<NewIdentity, AppError> {
    NewIdentity::parse(kind, namespace, raw).map_err(|e| match e {
        DomainError::Invalid(i) if i.field == "value" || i.field == "phone" => {
            AppError::invalid(kind.as_str(), i.reason)
        }
        other => other.into(),
    })
}

/// `8613812345678` (the `+` lost in a spreadsheet) reads as `+8613812345678`.
fn phone_input(raw: &str) -> String {
    let digits = raw.chars().all(|c| c.is_ascii_digit());
    if digits && raw.len() == 13 && raw.starts_with("86") { format!("+{raw}") } else { raw.to_string() }
}

/// `组名:标签名` (ASCII or full-width colon) or `标签名`.
pub fn tag_name(part: &str) -> Result<TagName, AppError> {
    match part.split_once([':', '：']) {
        Some((g, n)) => {
            Ok(TagName { group: Some(text::required("tag_group", g, 32)?), name: text::required("tags", n, 32)? })
        }
        None => Ok(TagName { group: None, name: text::required("tags", part, 32)? }),
    }
}

/// Spreadsheet habits a field type would otherwise refuse: `2024/3/5`, `2024年3月5日`, `a、b`.
fn custom_input(kind: FieldKind, raw: &str) -> String {
    match kind {
        FieldKind::Date => normalise_date(raw).unwrap_or_else(|| raw.to_string()),
        FieldKind::MultiChoice => raw.replace('、', ","),
        _ => raw.to_string(),
    }
}

fn normalise_date(raw: &str) -> Option<String> {
    let day = raw.split([' ', 'T']).next()?;
    let parts: Vec<&str> = day.split(['-', '/', '.', '年', '月', '日']).filter(|p| !p.is_empty()).collect();
    let [y, m, d] = parts.as_slice() else { return None };
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    chrono::NaiveDate::from_ymd_opt(y, m, d).map(|date| date.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use siyu_domain::id::FieldId;

    use super::*;
    use crate::transfer::table::SourceFormat;

    fn table(headers: &[&str], rows: &[&[&str]]) -> Table {
        Table {
            format: SourceFormat::CsvUtf8,
            headers: headers.iter().map(|s| s.to_string()).collect(),
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| TableRow { line: i as u32 + 2, cells: r.iter().map(|s| s.to_string()).collect() })
                .collect(),
        }
    }

    fn field(key: &str, kind: FieldKind, options: &[&str]) -> FieldDef {
        FieldDef {
            id: FieldId::new(),
            key: key.into(),
            label: key.into(),
            kind,
            options: options.iter().map(|s| s.to_string()).collect(),
            sort: 0,
        }
    }

    #[test]
    fn a_good_row_yields_canonical_values() {
        let fields = [field("birthday", FieldKind::Date, &[]), field("skin", FieldKind::MultiChoice, &["干", "油"])];
        let t = table(
            &["姓名", "手机号", "性别", "标签", "生日", "肤质"],
            &[&[" 张三 ", "8613812345678", "女士", "会员:金卡、高意向；", "1990/3/5", "干、油"]],
        );
        let m = ColumnMapping::suggest(&t.headers, &fields);
        let mut m = m;
        m.apply_spec(&t.headers, "生日=custom:birthday,肤质=custom:skin").unwrap();
        let r = parse_row(&t, &t.rows[0], &m, &fields).unwrap();
        assert_eq!(r.name.as_deref(), Some("张三"));
        assert_eq!(r.gender, Some(Gender::Female));
        assert_eq!(r.identities[0].1.value, "+8613812345678");
        let tags: Vec<String> = r.tags.iter().map(|(_, t)| t.to_string()).collect();
        assert_eq!(tags, vec!["会员:金卡", "高意向"]);
        assert_eq!(r.custom[0].2, serde_json::json!("1990-03-05"));
        assert_eq!(r.custom[1].2, serde_json::json!(["干", "油"]));
    }

    #[test]
    fn every_bad_cell_is_reported_with_its_row_and_column_and_no_phone_digits() {
        let t = table(&["姓名", "手机号", "性别", "邮箱"], &[&["a", "1381234567", "x", "not-mail"]]);
        let m = ColumnMapping::suggest(&t.headers, &[]);
        let errors = parse_row(&t, &t.rows[0], &m, &[]).unwrap_err();
        let cols: Vec<_> = errors.iter().map(|e| e.column.clone().unwrap()).collect();
        assert_eq!(cols, vec!["手机号", "性别", "邮箱"]);
        assert!(errors.iter().all(|e| e.row == 2 && e.code == "invalid_input"));
        assert!(errors.iter().all(|e| !e.message.contains("1381234567")), "{errors:?}");
    }

    #[test]
    fn masked_phones_get_their_own_code() {
        let t = table(&["手机号"], &[&["138****5678"]]);
        let m = ColumnMapping::suggest(&t.headers, &[]);
        assert_eq!(parse_row(&t, &t.rows[0], &m, &[]).unwrap_err()[0].code, "masked_phone");
    }

    #[test]
    fn dates_in_common_spellings_normalise() {
        assert_eq!(normalise_date("2024年3月5日").as_deref(), Some("2024-03-05"));
        assert_eq!(normalise_date("2024.12.31 10:00").as_deref(), Some("2024-12-31"));
        assert_eq!(normalise_date("2023/2/29"), None);
    }
}
