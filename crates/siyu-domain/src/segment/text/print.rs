//! Printing a definition in the text form: what [`super::parse`] reads back to the same definition.

use serde_json::Value;

use crate::segment::check::Catalog;
use crate::segment::{Condition, CountOp, Op, TagMatch};

/// The text form of a definition. References the catalog no longer has print as their id.
pub fn print(c: &Condition, catalog: &Catalog) -> String {
    let mut out = String::new();
    write(c, catalog, &mut out, Ctx::Top);
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    /// Inside `and`: an `or` group needs parentheses.
    And,
    /// After `not`: any group needs parentheses.
    Not,
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().map(|s| quote(&s)).collect::<Vec<_>>().join(", "))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Array(items) => list(items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))),
        other => other.to_string(),
    }
}

fn mode_word(mode: TagMatch) -> &'static str {
    match mode {
        TagMatch::Any => "any",
        TagMatch::All => "all",
        TagMatch::None => "none",
    }
}

fn days(v: &Value) -> String {
    v.as_u64().map_or_else(|| scalar(v), |d| format!("{d}d"))
}

fn write(c: &Condition, catalog: &Catalog, out: &mut String, ctx: Ctx) {
    match c {
        Condition::All { of } | Condition::Any { of } => {
            let and = matches!(c, Condition::All { .. });
            let paren = of.len() >= 2 && (ctx == Ctx::Not || (ctx == Ctx::And && !and));
            if paren {
                out.push('(');
            }
            for (i, x) in of.iter().enumerate() {
                if i > 0 {
                    out.push_str(if and { " and " } else { " or " });
                }
                write(x, catalog, out, if and { Ctx::And } else { Ctx::Top });
            }
            if paren {
                out.push(')');
            }
        }
        Condition::Not { not } => {
            out.push_str("not ");
            write(not, catalog, out, Ctx::Not);
        }
        Condition::Field { field, op, value } => {
            out.push_str(field);
            let rest = match op {
                Op::Eq => format!(" = {}", scalar(value)),
                Op::Ne => format!(" != {}", scalar(value)),
                Op::Lt => format!(" < {}", scalar(value)),
                Op::Le => format!(" <= {}", scalar(value)),
                Op::Gt => format!(" > {}", scalar(value)),
                Op::Ge => format!(" >= {}", scalar(value)),
                Op::In => format!(" in {}", scalar(value)),
                Op::Contains => format!(" contains {}", scalar(value)),
                Op::StartsWith => format!(" starts_with {}", scalar(value)),
                Op::WithinDays => format!(" within {}", days(value)),
                Op::OlderThanDays => format!(" older_than {}", days(value)),
                Op::HasAny => format!(" has_any {}", scalar(value)),
                Op::HasAll => format!(" has_all {}", scalar(value)),
                Op::IsSet => " is set".to_string(),
                Op::IsNotSet => " is not set".to_string(),
            };
            out.push_str(&rest);
        }
        Condition::Tags { tags, mode } => {
            let names = tags.iter().map(|t| {
                catalog.tags.iter().find(|(id, _, _)| id == t).map_or_else(
                    || t.to_string(),
                    |(_, group, name)| {
                        let unique = catalog.tags.iter().filter(|(_, _, n)| n == name).count() == 1;
                        if unique { name.clone() } else { format!("{group}/{name}") }
                    },
                )
            });
            out.push_str(&format!("tag {} {}", mode_word(*mode), list(names)));
        }
        Condition::Groups { groups, mode } => {
            // By name where no other group has it, else by id (the parser takes both).
            let names = groups.iter().map(|g| match catalog.groups.iter().find(|(id, _)| id == g) {
                Some((_, name)) if catalog.groups.iter().filter(|(_, n)| n == name).count() == 1 => name.clone(),
                _ => g.to_string(),
            });
            out.push_str(&format!("group {} {}", mode_word(*mode), list(names)));
        }
        Condition::Identity { kind } => out.push_str(&format!("has {}", kind.as_str())),
        Condition::Follow { staff, state, add_way, within_days } => {
            out.push_str("follow");
            if let Some(s) = staff {
                let name =
                    catalog.staff.iter().find(|(id, _, _)| id == s).map_or_else(|| s.to_string(), |x| x.1.clone());
                out.push_str(&format!(" staff {}", quote(&name)));
            }
            if let Some(s) = state {
                out.push_str(&format!(" state {}", quote(s)));
            }
            if let Some(s) = add_way {
                out.push_str(&format!(" add_way {}", quote(s)));
            }
            if let Some(d) = within_days {
                out.push_str(&format!(" within {d}d"));
            }
        }
        Condition::Event { name, op, count, within_days, filters } => {
            out.push_str(&format!("event {}", quote(name)));
            if !(*op == CountOp::Ge && *count == 1) {
                let op = match op {
                    CountOp::Eq => "=",
                    CountOp::Ge => ">=",
                    CountOp::Le => "<=",
                };
                out.push_str(&format!(" {op} {count}"));
            }
            if let Some(d) = within_days {
                out.push_str(&format!(" within {d}d"));
            }
            if !filters.is_empty() {
                let parts: Vec<String> = filters
                    .iter()
                    .map(|f| {
                        let op = match f.op {
                            Op::Ne => "!=",
                            Op::Lt => "<",
                            Op::Le => "<=",
                            Op::Gt => ">",
                            Op::Ge => ">=",
                            _ => "=",
                        };
                        format!("{} {op} {}", f.key, scalar(&f.value))
                    })
                    .collect();
                out.push_str(&format!(" where ({})", parts.join(", ")));
            }
        }
        Condition::Bought { product, within_days } => {
            out.push_str(&format!("bought {}", quote(product)));
            if let Some(d) = within_days {
                out.push_str(&format!(" within {d}d"));
            }
        }
        Condition::Consent { purpose, status } => {
            out.push_str(&format!("consent {} {}", purpose.as_str(), status.as_str()));
        }
        Condition::Segment { segment } => {
            let name = catalog
                .segments
                .iter()
                .find(|s| s.id == *segment)
                .map_or_else(|| segment.to_string(), |s| s.name.clone());
            out.push_str(&format!("segment {}", quote(&name)));
        }
    }
}
