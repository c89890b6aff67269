//! Checking a definition against the tenant's catalog: every field known and used with a comparison its
//! type takes, every value of the right type, no empty group, every tag / customer group / staff / segment
//! existing, no cycle through nested segments, within the size limits. Every problem is reported, each with
//! a JSON pointer to the offending part; what passes becomes a [`Rule`].

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;

use super::field::{Builtin, FieldType};
use super::{
    Atom, Cmp, Condition, DateTest, FieldRef, MAX_ATOMS, MAX_DEPTH, MAX_WINDOW_DAYS, Op, PropertyFilter, PropertyTest,
    PropertyValue, Rule, SegmentKind, TextTest, TimeTest,
};
use crate::field::FieldDef;
use crate::id::{GroupId, SegmentId, TagId, UserId};

/// Another segment a definition may refer to.
#[derive(Debug, Clone)]
pub struct SegmentRef {
    pub id: SegmentId,
    pub name: String,
    pub kind: SegmentKind,
    pub definition: Condition,
}

/// What a definition is checked against: the tenant's fields, tags, customer groups, staff and segments.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub fields: Vec<FieldDef>,
    /// Tag id, group name, tag name.
    pub tags: Vec<(TagId, String, String)>,
    /// Customer group (客户群) id and name; dismissed groups too (they keep their id, without members).
    pub groups: Vec<(GroupId, String)>,
    /// Staff id, username, display name.
    pub staff: Vec<(UserId, String, String)>,
    pub segments: Vec<SegmentRef>,
    /// The tenant's UTC offset: date literals mean midnight there.
    pub offset: Option<FixedOffset>,
    /// The segment being defined, so a reference back to it is a cycle.
    pub defining: Option<SegmentId>,
}

/// One problem in a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DefinitionError {
    /// JSON pointer to the offending part of the definition (`/of/1/value`; empty for the root).
    pub path: String,
    /// Byte range in the text form, when the definition came from text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<(usize, usize)>,
    /// Stable reason: `unknown_field`, `op_not_for_type`, `expected_number`, `empty_group`, ...
    pub code: String,
    /// The offending name or value, for the message.
    pub detail: String,
}

impl DefinitionError {
    pub fn new(path: &str, code: &str, detail: impl Into<String>) -> Self {
        Self { path: path.to_string(), span: None, code: code.to_string(), detail: detail.into() }
    }
}

impl Catalog {
    pub fn offset(&self) -> FixedOffset {
        self.offset.unwrap_or_else(|| Utc.fix())
    }

    pub fn field(&self, key: &str) -> Option<(FieldRef, FieldType, Vec<String>)> {
        if let Some(custom) = key.strip_prefix("custom.") {
            let f = self.fields.iter().find(|f| f.key == custom)?;
            return Some((FieldRef::Custom(f.key.clone()), FieldType::of_custom(f.kind), f.options.clone()));
        }
        let b = Builtin::parse(key)?;
        Some((FieldRef::Builtin(b), b.field_type(), b.options().iter().map(|s| s.to_string()).collect()))
    }
}

/// Checks a definition; every problem found is returned.
pub fn check(def: &Condition, catalog: &Catalog) -> Result<Rule, Vec<DefinitionError>> {
    let mut c = Checker { catalog, errors: Vec::new(), atoms: 0, stack: catalog.defining.into_iter().collect() };
    let rule = c.condition(def, "", 0);
    if c.atoms > MAX_ATOMS {
        c.errors.push(DefinitionError::new("", "too_many_conditions", MAX_ATOMS.to_string()));
    }
    if c.errors.is_empty() { Ok(rule) } else { Err(c.errors) }
}

struct Checker<'a> {
    catalog: &'a Catalog,
    errors: Vec<DefinitionError>,
    atoms: usize,
    /// Segments being inlined, outermost first: a reference to one of them is a cycle.
    stack: Vec<SegmentId>,
}

impl Checker<'_> {
    fn fail(&mut self, path: &str, code: &str, detail: impl Into<String>) -> Rule {
        self.errors.push(DefinitionError::new(path, code, detail));
        Rule::All(Vec::new())
    }

    fn condition(&mut self, c: &Condition, path: &str, depth: usize) -> Rule {
        if depth > MAX_DEPTH {
            return self.fail(path, "too_deep", MAX_DEPTH.to_string());
        }
        match c {
            Condition::All { of } | Condition::Any { of } => {
                if of.is_empty() {
                    return self.fail(&format!("{path}/of"), "empty_group", "");
                }
                let rules = of
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.condition(x, &format!("{path}/of/{i}"), depth + 1))
                    .collect();
                if matches!(c, Condition::All { .. }) { Rule::All(rules) } else { Rule::Any(rules) }
            }
            Condition::Not { not } => Rule::Not(Box::new(self.condition(not, &format!("{path}/not"), depth + 1))),
            Condition::Segment { segment } => self.segment(*segment, path, depth),
            other => {
                self.atoms += 1;
                match self.atom(other, path) {
                    Ok(a) => Rule::Atom(a),
                    Err(e) => {
                        self.errors.push(e);
                        Rule::All(Vec::new())
                    }
                }
            }
        }
    }

    fn segment(&mut self, id: SegmentId, path: &str, depth: usize) -> Rule {
        let catalog = self.catalog;
        let Some(s) = catalog.segments.iter().find(|s| s.id == id) else {
            return self.fail(&format!("{path}/segment"), "unknown_segment", id.to_string());
        };
        if self.stack.contains(&id) {
            return self.fail(&format!("{path}/segment"), "segment_cycle", s.name.clone());
        }
        if s.kind == SegmentKind::Static {
            self.atoms += 1;
            return Rule::Atom(Atom::Member(id));
        }
        self.stack.push(id);
        let before = self.errors.len();
        let rule = self.condition(&s.definition, path, depth + 1);
        // Problems inside the referenced segment are reported against the reference.
        for e in &mut self.errors[before..] {
            if e.code != "segment_cycle" {
                e.detail = format!("{}: {}", s.name, e.detail);
                e.code = "referenced_segment_invalid".into();
            }
            e.path = format!("{path}/segment");
        }
        self.stack.pop();
        rule
    }

    fn atom(&self, c: &Condition, path: &str) -> Result<Atom, DefinitionError> {
        match c {
            Condition::Field { field, op, value } => self.field(field, *op, value, path),
            Condition::Tags { tags, mode } => {
                if tags.is_empty() {
                    return Err(DefinitionError::new(&format!("{path}/tags"), "empty_list", ""));
                }
                if let Some(t) = tags.iter().find(|t| !self.catalog.tags.iter().any(|(id, _, _)| id == *t)) {
                    return Err(DefinitionError::new(&format!("{path}/tags"), "unknown_tag", t.to_string()));
                }
                Ok(Atom::Tags { mode: *mode, tags: tags.clone() })
            }
            Condition::Groups { groups, mode } => {
                if groups.is_empty() {
                    return Err(DefinitionError::new(&format!("{path}/groups"), "empty_list", ""));
                }
                let known = |g: &GroupId| self.catalog.groups.iter().any(|(id, _)| id == g);
                if let Some((i, g)) = groups.iter().enumerate().find(|(_, g)| !known(g)) {
                    return Err(DefinitionError::new(&format!("{path}/groups/{i}"), "unknown_group", g.to_string()));
                }
                Ok(Atom::Groups { mode: *mode, groups: groups.clone() })
            }
            Condition::Identity { kind } => Ok(Atom::Identity(*kind)),
            Condition::Follow { staff, state, add_way, within_days } => {
                if let Some(s) = staff
                    && !self.catalog.staff.iter().any(|(id, _, _)| id == s)
                {
                    return Err(DefinitionError::new(&format!("{path}/staff"), "unknown_staff", s.to_string()));
                }
                let within_days = window(*within_days, &format!("{path}/within_days"))?;
                let state = nonblank(state.as_deref(), &format!("{path}/state"))?;
                let add_way = nonblank(add_way.as_deref(), &format!("{path}/add_way"))?;
                Ok(Atom::Follow { staff: *staff, state, add_way, within_days })
            }
            Condition::Event { name, op, count, within_days, filters } => {
                let name = name.trim();
                if name.is_empty() || name.chars().count() > 200 {
                    return Err(DefinitionError::new(&format!("{path}/name"), "bad_event_name", name));
                }
                let within_days = window(*within_days, &format!("{path}/within_days"))?;
                let filters = filters
                    .iter()
                    .enumerate()
                    .map(|(i, f)| property(f, &format!("{path}/where/{i}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Atom::Event { name: name.to_string(), op: *op, count: *count, within_days, filters })
            }
            Condition::Bought { product, within_days } => {
                let product = nonblank(Some(product), &format!("{path}/product"))?
                    .ok_or_else(|| DefinitionError::new(&format!("{path}/product"), "empty_value", ""))?;
                Ok(Atom::Bought { product, within_days: window(*within_days, &format!("{path}/within_days"))? })
            }
            Condition::Consent { purpose, status } => Ok(Atom::Consent { purpose: *purpose, status: *status }),
            Condition::All { .. } | Condition::Any { .. } | Condition::Not { .. } | Condition::Segment { .. } => {
                Err(DefinitionError::new(path, "internal", "group"))
            }
        }
    }

    fn field(&self, key: &str, op: Op, value: &Value, path: &str) -> Result<Atom, DefinitionError> {
        let (field, ty, options) = self
            .catalog
            .field(key)
            .ok_or_else(|| DefinitionError::new(&format!("{path}/field"), "unknown_field", key))?;
        if !ty.ops().contains(&op) {
            return Err(DefinitionError::new(
                &format!("{path}/op"),
                "op_not_for_type",
                format!("{key} {}", op.as_str()),
            ));
        }
        let vpath = format!("{path}/value");
        let bad = |code: &str| DefinitionError::new(&vpath, code, value.to_string());
        if matches!(op, Op::IsSet | Op::IsNotSet) {
            return Ok(Atom::Present { field, set: op == Op::IsSet });
        }
        let text = |v: &Value| -> Result<String, DefinitionError> {
            let s = v.as_str().ok_or_else(|| bad("expected_text"))?;
            if s.chars().count() > 500 {
                return Err(bad("value_too_long"));
            }
            if !options.is_empty() && !options.iter().any(|o| o == s) {
                return Err(DefinitionError::new(&vpath, "unknown_option", s));
            }
            Ok(s.to_string())
        };
        let list = |v: &Value| -> Result<Vec<String>, DefinitionError> {
            let items = v.as_array().ok_or_else(|| bad("expected_list"))?;
            if items.is_empty() || items.len() > 100 {
                return Err(bad("empty_list"));
            }
            items.iter().map(text).collect()
        };
        let cmp = cmp_of(op);
        match ty {
            FieldType::Number => {
                let n = value.as_f64().filter(|n| n.is_finite()).ok_or_else(|| bad("expected_number"))?;
                Ok(Atom::Number { field, op: cmp.ok_or_else(|| bad("internal"))?, value: n })
            }
            FieldType::Text | FieldType::Choice => {
                let test = match op {
                    Op::Eq => TextTest::Eq(text(value)?),
                    Op::Ne => TextTest::Ne(text(value)?),
                    Op::In => TextTest::In(list(value)?),
                    Op::Contains => TextTest::Contains(text(value)?),
                    _ => TextTest::StartsWith(text(value)?),
                };
                Ok(Atom::Text { field, test })
            }
            FieldType::List => Ok(Atom::List { field, all: op == Op::HasAll, values: list(value)? }),
            FieldType::Time => {
                let test = match op {
                    Op::WithinDays => TimeTest::WithinDays(days(value).ok_or_else(|| bad("expected_days"))?),
                    Op::OlderThanDays => TimeTest::OlderThanDays(days(value).ok_or_else(|| bad("expected_days"))?),
                    _ => TimeTest::At(
                        cmp.ok_or_else(|| bad("internal"))?,
                        instant(value, self.catalog.offset()).ok_or_else(|| bad("expected_time"))?,
                    ),
                };
                Ok(Atom::Time { field, test })
            }
            FieldType::Date => {
                let test = match op {
                    Op::WithinDays => DateTest::WithinDays(days(value).ok_or_else(|| bad("expected_days"))?),
                    Op::OlderThanDays => DateTest::OlderThanDays(days(value).ok_or_else(|| bad("expected_days"))?),
                    _ => DateTest::On(
                        cmp.ok_or_else(|| bad("internal"))?,
                        value.as_str().and_then(date).ok_or_else(|| bad("expected_date"))?,
                    ),
                };
                Ok(Atom::Date { field, test })
            }
        }
    }
}

fn cmp_of(op: Op) -> Option<Cmp> {
    Some(match op {
        Op::Eq => Cmp::Eq,
        Op::Ne => Cmp::Ne,
        Op::Lt => Cmp::Lt,
        Op::Le => Cmp::Le,
        Op::Gt => Cmp::Gt,
        Op::Ge => Cmp::Ge,
        _ => return None,
    })
}

fn days(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|d| u32::try_from(d).ok()).filter(|d| *d <= MAX_WINDOW_DAYS)
}

fn window(d: Option<u32>, path: &str) -> Result<Option<u32>, DefinitionError> {
    match d {
        Some(d) if d == 0 || d > MAX_WINDOW_DAYS => Err(DefinitionError::new(path, "bad_window", d.to_string())),
        other => Ok(other),
    }
}

fn nonblank(s: Option<&str>, path: &str) -> Result<Option<String>, DefinitionError> {
    match s.map(str::trim) {
        None => Ok(None),
        Some("") => Err(DefinitionError::new(path, "empty_value", "")),
        Some(s) if s.chars().count() > 200 => Err(DefinitionError::new(path, "value_too_long", s)),
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// A calendar date `YYYY-MM-DD`.
pub fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// An instant: RFC 3339, or a date / `YYYY-MM-DD HH:MM[:SS]` in the tenant's time zone.
fn instant(v: &Value, offset: FixedOffset) -> Option<DateTime<Utc>> {
    let s = v.as_str()?.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let local = date(s)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok())
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").ok())?;
    offset.from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc))
}

/// A property filter checked on its own (journey event triggers and waits use them outside a rule).
pub fn property_test(f: &PropertyFilter) -> Result<PropertyTest, DefinitionError> {
    property(f, "")
}

/// Event property keys: letters, digits, `_` and `$`, at most 64.
fn property(f: &PropertyFilter, path: &str) -> Result<PropertyTest, DefinitionError> {
    let key = f.key.trim();
    let ok =
        !key.is_empty() && key.len() <= 64 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if !ok {
        return Err(DefinitionError::new(&format!("{path}/key"), "bad_property_key", key));
    }
    let cmp = cmp_of(f.op)
        .ok_or_else(|| DefinitionError::new(&format!("{path}/op"), "op_not_for_property", f.op.as_str()))?;
    let vpath = format!("{path}/value");
    let value = match &f.value {
        Value::String(s) if s.chars().count() <= 500 => PropertyValue::Text(s.clone()),
        Value::Number(n) => PropertyValue::Number(
            n.as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| DefinitionError::new(&vpath, "expected_number", n.to_string()))?,
        ),
        Value::Bool(b) => PropertyValue::Bool(*b),
        other => return Err(DefinitionError::new(&vpath, "expected_scalar", other.to_string())),
    };
    if !matches!(value, PropertyValue::Number(_)) && !matches!(cmp, Cmp::Eq | Cmp::Ne) {
        return Err(DefinitionError::new(&format!("{path}/op"), "op_not_for_property", f.op.as_str()));
    }
    Ok(PropertyTest { key: key.to_string(), cmp, value })
}
