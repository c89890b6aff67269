//! Custom profile fields: a tenant defines typed fields; customers hold values validated against them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::FieldId;
use crate::{Invalid, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Date,
    SingleChoice,
    MultiChoice,
}

impl FieldKind {
    pub const ALL: [FieldKind; 5] = [Self::Text, Self::Number, Self::Date, Self::SingleChoice, Self::MultiChoice];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Date => "date",
            Self::SingleChoice => "single_choice",
            Self::MultiChoice => "multi_choice",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn has_options(self) -> bool {
        matches!(self, Self::SingleChoice | Self::MultiChoice)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldDef {
    pub id: FieldId,
    /// Stable machine key (`birthday`, `skin_type`), unique per tenant.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
    pub sort: i64,
}

/// Validates a field key: lower-case ASCII letters, digits and underscores, starting with a letter.
pub fn parse_key(key: &str) -> Result<String, Invalid> {
    let k = text::required("key", key, 40)?;
    let ok = k.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok { Ok(k) } else { Err(Invalid::new("key", "invalid_key")) }
}

/// Validates the options of a choice field (1–100 distinct, non-empty) or their absence otherwise.
pub fn parse_options(kind: FieldKind, options: &[String]) -> Result<Vec<String>, Invalid> {
    if !kind.has_options() {
        return if options.is_empty() { Ok(Vec::new()) } else { Err(Invalid::new("options", "not_a_choice_field")) };
    }
    if options.is_empty() || options.len() > 100 {
        return Err(Invalid::new("options", "one_to_hundred_options"));
    }
    let mut out: Vec<String> = Vec::with_capacity(options.len());
    for o in options {
        let o = text::required("options", o, 40)?;
        if out.contains(&o) {
            return Err(Invalid::new("options", "duplicate_option"));
        }
        out.push(o);
    }
    Ok(out)
}

impl FieldDef {
    /// Checks and canonicalises a value for this field. `null` clears the value.
    pub fn coerce(&self, value: &Value) -> Result<Value, Invalid> {
        let field = format!("custom.{}", self.key);
        let bad = |reason: &str| Invalid::new(field.clone(), reason);
        match (self.kind, value) {
            (_, Value::Null) => Ok(Value::Null),
            (FieldKind::Text, Value::String(s)) => Ok(Value::String(text::required(&field, s, 500)?)),
            (FieldKind::Number, Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => Ok(value.clone()),
            (FieldKind::Number, Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
                _ => Err(bad("expected_number")),
            },
            (FieldKind::Date, Value::String(s)) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
                .map_err(|_| bad("expected_date_yyyy_mm_dd")),
            (FieldKind::SingleChoice, Value::String(s)) => {
                if self.options.iter().any(|o| o == s.trim()) {
                    Ok(Value::String(s.trim().to_string()))
                } else {
                    Err(bad("unknown_option"))
                }
            }
            (FieldKind::MultiChoice, Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    let s = item.as_str().map(str::trim).ok_or_else(|| bad("expected_list_of_options"))?;
                    if !self.options.iter().any(|o| o == s) {
                        return Err(bad("unknown_option"));
                    }
                    if !out.contains(&Value::String(s.into())) {
                        out.push(Value::String(s.into()));
                    }
                }
                Ok(Value::Array(out))
            }
            (FieldKind::MultiChoice, Value::String(s)) => {
                let items: Vec<Value> = s
                    .split([',', '，', ';', '；'])
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| Value::String(p.trim().into()))
                    .collect();
                self.coerce(&Value::Array(items))
            }
            (kind, _) => Err(bad(match kind {
                FieldKind::Text => "expected_text",
                FieldKind::Number => "expected_number",
                FieldKind::Date => "expected_date_yyyy_mm_dd",
                FieldKind::SingleChoice => "expected_option",
                FieldKind::MultiChoice => "expected_list_of_options",
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(kind: FieldKind, options: &[&str]) -> FieldDef {
        FieldDef {
            id: FieldId::new(),
            key: "k".into(),
            label: "K".into(),
            kind,
            options: options.iter().map(|s| s.to_string()).collect(),
            sort: 0,
        }
    }

    #[test]
    fn values_are_checked_against_the_field_type() {
        assert_eq!(def(FieldKind::Number, &[]).coerce(&json!("42")).unwrap(), json!(42.0));
        assert!(def(FieldKind::Number, &[]).coerce(&json!("abc")).is_err());
        assert_eq!(def(FieldKind::Date, &[]).coerce(&json!("2024-02-29")).unwrap(), json!("2024-02-29"));
        assert!(def(FieldKind::Date, &[]).coerce(&json!("2023-02-29")).is_err());
        assert!(def(FieldKind::Text, &[]).coerce(&json!(5)).is_err());
    }

    #[test]
    fn choices_must_be_among_the_options() {
        let single = def(FieldKind::SingleChoice, &["干皮", "油皮"]);
        assert!(single.coerce(&json!("油皮")).is_ok());
        assert!(single.coerce(&json!("中性")).is_err());
        let multi = def(FieldKind::MultiChoice, &["a", "b"]);
        assert_eq!(multi.coerce(&json!("a，b,a")).unwrap(), json!(["a", "b"]));
        assert!(multi.coerce(&json!(["c"])).is_err());
    }

    #[test]
    fn keys_are_machine_friendly() {
        assert!(parse_key("skin_type").is_ok());
        assert!(parse_key("Skin").is_err());
        assert!(parse_key("1a").is_err());
    }

    #[test]
    fn choice_fields_need_distinct_options() {
        assert!(parse_options(FieldKind::SingleChoice, &[]).is_err());
        assert!(parse_options(FieldKind::SingleChoice, &["a".into(), "a".into()]).is_err());
        assert!(parse_options(FieldKind::Text, &["a".into()]).is_err());
    }
}
