//! Presentation helpers shared by the console pages: local times, labels, inline form errors and the
//! tag picker.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use siyu_app::AppError;
use siyu_app::tags::TagGroupView;
use siyu_domain::tag::TagKind;

use crate::i18n::Tr;

/// China Standard Time: the console shows every time in Asia/Shanghai.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix())
}

/// `2024-05-01 14:03` in Asia/Shanghai.
pub fn fmt_time(t: &DateTime<Utc>) -> String {
    crate::console::page::local_time(*t)
}

/// Like [`fmt_time`], `—` when absent.
pub fn fmt_opt(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(fmt_time).unwrap_or_else(|| "—".into())
}

/// `2024-05-01` in Asia/Shanghai.
pub fn fmt_date(t: &DateTime<Utc>) -> String {
    t.with_timezone(&cst()).format("%Y-%m-%d").to_string()
}

/// An amount in fen as the console shows it: `¥12.30` (`-¥0.50` when negative).
pub fn yuan(fen: i64) -> String {
    let text = siyu_domain::order::format_fen(fen);
    match text.strip_prefix('-') {
        Some(abs) => format!("-¥{abs}"),
        None => format!("¥{text}"),
    }
}

/// How lists of words are joined: `、` in Chinese, `, ` in English.
pub fn sep(tr: Tr) -> &'static str {
    if tr.is_en() { ", " } else { "、" }
}

/// The translation of `prefix.value`, or `value` itself when the catalogue has none.
pub fn label(tr: Tr, prefix: &str, value: &str) -> String {
    let key = format!("{prefix}.{value}");
    let s = tr.t(&key);
    if s == key { value.to_string() } else { s.to_string() }
}

/// A user-facing, translated message for an error; falls back to the error's own text.
///
/// Validation reasons are looked up as `err.<reason>`; a `{n}` in the translation takes the first number
/// of the reason's detail (`too_long (max 64 characters)`), and a parenthesised detail is appended.
pub fn error_message(tr: Tr, e: &AppError) -> String {
    let (head, rest) = match e {
        AppError::Invalid(i) => match i.reason.split_once(' ') {
            Some((h, r)) => (h.to_string(), r.trim().to_string()),
            None => (i.reason.clone(), String::new()),
        },
        AppError::Conflict(m) => (conflict_key(m).to_string(), String::new()),
        other => (other.code().name().to_string(), String::new()),
    };
    let key = format!("err.{head}");
    let s = tr.t(&key);
    if s == key {
        return e.to_string();
    }
    if s.contains("{n}") {
        let n: String = rest.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
        return s.replace("{n}", &n);
    }
    if rest.starts_with('(') { format!("{s} {rest}") } else { s.to_string() }
}

/// The catalogue key suffix for the store's conflict messages.
fn conflict_key(message: &str) -> &'static str {
    if message.contains("username") {
        "username_taken"
    } else if message.contains("tag with this name") {
        "duplicate_tag_name"
    } else if message.contains("field with this key") {
        "duplicate_field_key"
    } else if message.contains("department still has") {
        "department_not_empty"
    } else if message.contains("already a member") {
        "already_member"
    } else {
        "conflict"
    }
}

/// One inline error: the translated message, the error's own text (as a tooltip) and its code.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub detail: String,
    pub code: &'static str,
}

/// Inline errors of a form, by field name. Errors without a field go to the form's top.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    pub fn from_error(tr: Tr, e: &AppError, fallback_field: &str) -> Self {
        let field = e.field().unwrap_or(fallback_field).to_string();
        Self(vec![FieldError { field, message: error_message(tr, e), detail: e.to_string(), code: e.code().name() }])
    }

    pub fn get(&self, field: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }

    /// `invalid` when the field has an error (for the wrapping element's class).
    pub fn class(&self, field: &str) -> &'static str {
        if self.get(field).is_some() { "invalid" } else { "" }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Errors about fields the form does not show (shown at the top).
    pub fn others(&self, shown: &[&str]) -> Vec<&FieldError> {
        self.0.iter().filter(|e| !shown.contains(&e.field.as_str()) && !e.field.starts_with("custom.")).collect()
    }
}

/// A checkbox list of the tenant's tags grouped by tag group (a multi-select that works on phones).
#[derive(Debug, Clone)]
pub struct Picker {
    /// The form field name (`tags_any`, `add`, ...).
    pub name: &'static str,
    pub label: String,
    /// Placeholder shown when nothing is chosen.
    pub placeholder: String,
    pub groups: Vec<PickerGroup>,
    /// Set the `form` attribute of the checkboxes (when they live outside their form).
    pub form: String,
    /// How the closed picker joins chosen names.
    pub sep: &'static str,
}

#[derive(Debug, Clone)]
pub struct PickerGroup {
    pub name: String,
    pub exclusive: bool,
    pub personal: bool,
    pub tags: Vec<PickerTag>,
}

#[derive(Debug, Clone)]
pub struct PickerTag {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

impl Picker {
    /// A picker named `name` whose label and placeholder are catalogue keys.
    pub fn new(
        tr: Tr,
        name: &'static str,
        label: &str,
        placeholder: &str,
        groups: &[TagGroupView],
        chosen: &[String],
    ) -> Self {
        let groups = groups
            .iter()
            .filter(|g| !g.tags.is_empty())
            .map(|g| PickerGroup {
                name: g.group.name.clone(),
                exclusive: g.group.exclusive,
                personal: g.group.kind == TagKind::Personal,
                tags: g
                    .tags
                    .iter()
                    .map(|t| {
                        let id = t.tag.id.to_string();
                        PickerTag { checked: chosen.contains(&id), id, name: t.tag.name.clone() }
                    })
                    .collect(),
            })
            .collect();
        Self {
            name,
            label: tr.t(label).to_string(),
            placeholder: tr.t(placeholder).to_string(),
            groups,
            form: String::new(),
            sep: sep(tr),
        }
    }

    pub fn in_form(mut self, form: &str) -> Self {
        self.form = form.to_string();
        self
    }

    pub fn chosen(&self) -> Vec<&str> {
        self.groups.iter().flat_map(|g| g.tags.iter()).filter(|t| t.checked).map(|t| t.name.as_str()).collect()
    }

    /// What the closed picker shows: the chosen names, or the placeholder.
    pub fn summary(&self) -> String {
        let chosen = self.chosen();
        match chosen.len() {
            0 => self.placeholder.clone(),
            1..=3 => chosen.join(self.sep),
            n => format!("{}{}{} +{}", chosen[0], self.sep, chosen[1], n - 2),
        }
    }

    pub fn has_choice(&self) -> bool {
        !self.chosen().is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// Values of `key` among form or query pairs.
pub fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

/// The first value of `key` among form or query pairs.
pub fn one<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The first value of `key`, trimmed, `""` when absent.
pub fn text(pairs: &[(String, String)], key: &str) -> String {
    one(pairs, key).map(str::trim).unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use siyu_domain::access::{DataScope, Role, TokenScope};
    use siyu_domain::identity::IdentityKind;
    use siyu_domain::job::JobStatus;
    use siyu_domain::timeline::kinds;

    use super::*;
    use crate::i18n::Lang;

    /// Labels built from enum names (`identity.phone`, `job.status.done`) are in the catalogue too.
    #[test]
    fn every_enum_label_is_translated() {
        let tr = Tr(Lang::Zh);
        let mut keys: Vec<String> = Vec::new();
        keys.extend(IdentityKind::ALL.iter().map(|k| format!("identity.{}", k.as_str())));
        keys.extend(TokenScope::ALL.iter().map(|s| format!("tokens.scope.{}", s.as_str())));
        keys.extend(TokenScope::ALL.iter().map(|s| format!("tokens.scope_hint.{}", s.as_str())));
        keys.extend(Role::ALL.iter().map(|r| format!("role.{}", r.as_str())));
        keys.extend(DataScope::ALL.iter().map(|s| format!("scope.{}", s.as_str())));
        let statuses = [JobStatus::Queued, JobStatus::Running, JobStatus::Done, JobStatus::Failed];
        keys.extend(statuses.iter().map(|s| format!("job.status.{}", s.as_str())));
        let timeline = [
            kinds::CUSTOMER_CREATED,
            kinds::PROFILE_UPDATED,
            kinds::TAG_ADDED,
            kinds::TAG_REMOVED,
            kinds::NOTE_ADDED,
            kinds::IDENTITY_ADDED,
            kinds::IDENTITY_REMOVED,
            kinds::FOLLOW_ADDED,
            kinds::FOLLOW_REMOVED,
            kinds::IMPORTED,
            kinds::STAGE_CHANGED,
        ];
        keys.extend(
            ["backfill", "journey", "manual", "rule", "silence", "stalled"].map(|r| format!("stages.reason.{r}")),
        );
        keys.extend(timeline.iter().map(|k| format!("timeline.kind.{k}")));
        for k in ["customers.tags_any", "customers.tags_all", "customers.tags_none", "tags.any_placeholder"] {
            keys.push(k.to_string());
        }
        let missing: Vec<&String> = keys.iter().filter(|k| tr.t(k) == k.as_str()).collect();
        assert!(missing.is_empty(), "missing catalogue keys: {missing:?}");
    }

    #[test]
    fn errors_are_translated_with_their_numbers() {
        let tr = Tr(Lang::Zh);
        let e = AppError::invalid("name", "too_long (max 64 characters)");
        assert_eq!(error_message(tr, &e), "内容过长，最多 64 个字符");
        let e = AppError::invalid("tags", "one_tag_per_exclusive_group (等级)");
        assert_eq!(error_message(tr, &e), "单选组只能选一个标签 (等级)");
        let e = AppError::invalid("x", "some_new_reason");
        assert_eq!(error_message(tr, &e), "x: some_new_reason");
        let f = FormErrors::from_error(tr, &AppError::MaskedPhone, "");
        assert_eq!(f.get("phone").map(|e| e.code), Some("masked_phone"));
    }
}
