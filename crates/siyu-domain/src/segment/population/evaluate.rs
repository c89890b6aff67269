//! Evaluating a rule over a whole population: each atom becomes a bitset of rows (a column scan, or a
//! member set), groups combine them with and / or / not. Every atom mirrors its arm of `eval::atom`:
//! a test on a missing value, or on a value of another kind than the test reads, is false.

use super::column::TextCol;
use super::{Bitset, Column, ExternalSets, Members, Population};
use crate::segment::eval::{At, text};
use crate::segment::{Atom, Cmp, DateTest, FieldRef, Rule, TagMatch, TimeTest};

/// Why a rule could not run over a population: it reads something the population was loaded without.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PopulationError {
    #[error("the population was loaded without {0}")]
    NotLoaded(String),
    #[error("no member set was given for the atom {0}")]
    NoMemberSet(String),
    #[error("a member set of {got} rows was given for a population of {want}")]
    WrongLength { got: usize, want: usize },
}

/// A field's column: a built-in one or the shapes of a custom one.
enum Field<'a> {
    Builtin(&'a Column),
    Custom(&'a super::CustomCol),
}

fn lookup<'a, K: PartialEq + std::fmt::Debug, V>(
    list: &'a [(K, V)],
    key: &K,
    what: &str,
) -> Result<&'a V, PopulationError> {
    list.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| PopulationError::NotLoaded(format!("{what} {key:?}")))
}

impl Population {
    /// The rows for which `rule` holds at `at`; the rule's external atoms read their sets from `external`.
    pub fn evaluate(&self, rule: &Rule, at: At, external: &ExternalSets) -> Result<Bitset, PopulationError> {
        match rule {
            Rule::All(v) => {
                let mut out: Option<Bitset> = None;
                for r in v {
                    let b = self.evaluate(r, at, external)?;
                    match &mut out {
                        Some(o) => o.and(&b),
                        None => out = Some(b),
                    }
                }
                Ok(out.unwrap_or_else(|| Bitset::full(self.len())))
            }
            Rule::Any(v) => {
                let mut out = Bitset::new(self.len());
                for r in v {
                    out.or(&self.evaluate(r, at, external)?);
                }
                Ok(out)
            }
            Rule::Not(r) => {
                let mut out = self.evaluate(r, at, external)?;
                out.not();
                Ok(out)
            }
            Rule::Atom(a) => self.atom(a, at, external),
        }
    }

    fn field(&self, field: &FieldRef) -> Result<Field<'_>, PopulationError> {
        match field {
            FieldRef::Builtin(b) => lookup(&self.builtins, b, "the field").map(Field::Builtin),
            FieldRef::Custom(k) => self
                .custom
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, c)| Field::Custom(c))
                .ok_or_else(|| PopulationError::NotLoaded(format!("the custom field {k}"))),
        }
    }

    /// The text a field reads as (`None`: it never reads as text).
    fn text_column(&self, field: &FieldRef) -> Result<Option<&TextCol>, PopulationError> {
        Ok(match self.field(field)? {
            Field::Builtin(Column::Text(c)) => Some(c),
            Field::Custom(c) => Some(&c.text),
            Field::Builtin(_) => None,
        })
    }

    fn atom(&self, a: &Atom, at: At, external: &ExternalSets) -> Result<Bitset, PopulationError> {
        let n = self.len();
        let none = Bitset::new(n);
        Ok(match a {
            Atom::Number { field, op, value } => match self.field(field)? {
                Field::Builtin(Column::Number(c)) => c.compare(*op, *value),
                Field::Custom(c) => c.number.compare(*op, *value),
                Field::Builtin(_) => none,
            },
            Atom::Text { field, test } => match self.text_column(field)? {
                Some(c) => c.matching(n, |t| text(t, test)),
                None => none,
            },
            Atom::Time { field, test } => match self.field(field)? {
                Field::Builtin(Column::Time(c)) => {
                    let (cmp, t) = match test {
                        TimeTest::WithinDays(d) => (Cmp::Ge, at.cutoff(*d)),
                        TimeTest::OlderThanDays(d) => (Cmp::Lt, at.cutoff(*d)),
                        TimeTest::At(cmp, t) => (*cmp, *t),
                    };
                    c.compare(cmp, t)
                }
                _ => none,
            },
            Atom::Date { field, test } => match self.text_column(field)? {
                Some(c) => {
                    let (cmp, day) = match test {
                        DateTest::WithinDays(d) => (Cmp::Ge, at.day_cutoff(*d)),
                        DateTest::OlderThanDays(d) => (Cmp::Lt, at.day_cutoff(*d)),
                        DateTest::On(cmp, day) => (*cmp, *day),
                    };
                    let day = day.format("%Y-%m-%d").to_string();
                    c.matching(n, |t| cmp.holds(&t, &day.as_str()))
                }
                None => none,
            },
            Atom::List { field, all, values } => match self.field(field)? {
                Field::Builtin(Column::List(c)) => c.holding(n, *all, values),
                Field::Custom(c) => c.list.holding(n, *all, values),
                Field::Builtin(_) => none,
            },
            Atom::Present { field, set } => {
                let mut out = match self.field(field)? {
                    Field::Builtin(Column::Number(c)) => c.present(n),
                    Field::Builtin(Column::Text(c)) => c.present(n),
                    Field::Builtin(Column::Time(c)) => c.present(n),
                    Field::Builtin(Column::List(c)) => c.nonempty().clone(),
                    Field::Custom(c) => c.set.clone(),
                };
                if !set {
                    out.not();
                }
                out
            }
            Atom::Tags { mode, tags } => {
                let sets: Vec<&Members> =
                    tags.iter().map(|t| lookup(&self.tags, t, "the tag")).collect::<Result<_, _>>()?;
                held(n, *mode, &sets)
            }
            Atom::Groups { mode, groups } => {
                let sets: Vec<&Members> =
                    groups.iter().map(|g| lookup(&self.groups, g, "the group")).collect::<Result<_, _>>()?;
                held(n, *mode, &sets)
            }
            Atom::Identity(kind) => lookup(&self.identities, kind, "the identity kind")?.to_bitset(n),
            Atom::Consent { purpose, status } => {
                let (granted, withdrawn) = self
                    .consents
                    .iter()
                    .find(|(p, _, _)| p == purpose)
                    .map(|(_, g, w)| (g, w))
                    .ok_or_else(|| PopulationError::NotLoaded(format!("the consent {purpose:?}")))?;
                match status {
                    crate::privacy::ConsentStatus::Granted => granted.to_bitset(n),
                    crate::privacy::ConsentStatus::Withdrawn => withdrawn.to_bitset(n),
                    crate::privacy::ConsentStatus::Unknown => {
                        let mut out = granted.to_bitset(n);
                        withdrawn.or_into(&mut out);
                        out.not();
                        out
                    }
                }
            }
            Atom::Member(id) => lookup(&self.members, id, "the segment")?.to_bitset(n),
            Atom::Follow { .. } | Atom::Event { .. } | Atom::Bought { .. } => {
                let set = external.get(a).ok_or_else(|| PopulationError::NoMemberSet(format!("{a:?}")))?;
                if set.len() != n {
                    return Err(PopulationError::WrongLength { got: set.len(), want: n });
                }
                set.clone()
            }
        })
    }
}

/// The rows in any / all / none of the member sets (of tags or customer groups).
fn held(n: usize, mode: TagMatch, sets: &[&Members]) -> Bitset {
    match mode {
        TagMatch::All => {
            let mut out = Bitset::full(n);
            sets.iter().for_each(|m| m.and_into(&mut out));
            out
        }
        TagMatch::Any | TagMatch::None => {
            let mut out = Bitset::new(n);
            sets.iter().for_each(|m| m.or_into(&mut out));
            if mode == TagMatch::None {
                out.not();
            }
            out
        }
    }
}
