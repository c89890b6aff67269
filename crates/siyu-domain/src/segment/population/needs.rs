//! What a rule reads ([`Needs`]), so a population is loaded with only those columns, and the member sets of
//! the atoms that are not columnar ([`ExternalSets`]).

use super::Bitset;
use crate::id::{GroupId, SegmentId, TagId};
use crate::identity::IdentityKind;
use crate::privacy::ConsentPurpose;
use crate::segment::field::{Builtin, FieldType};
use crate::segment::{Atom, FieldRef, Rule};

/// The fields, tags, customer groups, identity kinds, consent purposes and static segments one or more rules
/// read, and
/// their external atoms. Every list is free of duplicates, in first-seen order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    pub builtins: Vec<Builtin>,
    /// Custom field keys.
    pub custom: Vec<String>,
    pub tags: Vec<TagId>,
    pub groups: Vec<GroupId>,
    pub identities: Vec<IdentityKind>,
    pub consents: Vec<ConsentPurpose>,
    /// Static segments tested with `segment "…"`.
    pub members: Vec<SegmentId>,
    /// Atoms evaluated outside the population ([`Needs::is_external`]): the store computes their member
    /// sets and passes them in [`ExternalSets`].
    pub external: Vec<Atom>,
}

fn add<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

impl Needs {
    /// What `rule` reads.
    pub fn of(rule: &Rule) -> Self {
        let mut n = Needs::default();
        n.add(rule);
        n
    }

    /// Adds what `rule` reads.
    pub fn add(&mut self, rule: &Rule) {
        match rule {
            Rule::All(v) | Rule::Any(v) => v.iter().for_each(|r| self.add(r)),
            Rule::Not(r) => self.add(r),
            Rule::Atom(a) => self.atom(a),
        }
    }

    /// Adds what another set of needs reads.
    pub fn merge(&mut self, other: &Needs) {
        other.builtins.iter().for_each(|b| add(&mut self.builtins, *b));
        other.custom.iter().for_each(|k| add(&mut self.custom, k.clone()));
        other.tags.iter().for_each(|t| add(&mut self.tags, *t));
        other.groups.iter().for_each(|g| add(&mut self.groups, *g));
        other.identities.iter().for_each(|k| add(&mut self.identities, *k));
        other.consents.iter().for_each(|p| add(&mut self.consents, *p));
        other.members.iter().for_each(|s| add(&mut self.members, *s));
        other.external.iter().for_each(|a| add(&mut self.external, a.clone()));
    }

    /// Whether an atom reads rows the population does not hold (follows, events, purchases).
    pub fn is_external(atom: &Atom) -> bool {
        matches!(atom, Atom::Follow { .. } | Atom::Event { .. } | Atom::Bought { .. })
    }

    fn field(&mut self, field: &FieldRef) {
        match field {
            FieldRef::Builtin(b) => add(&mut self.builtins, *b),
            FieldRef::Custom(k) => add(&mut self.custom, k.clone()),
        }
    }

    fn atom(&mut self, a: &Atom) {
        match a {
            Atom::Number { field, .. }
            | Atom::Text { field, .. }
            | Atom::Time { field, .. }
            | Atom::Date { field, .. }
            | Atom::List { field, .. }
            | Atom::Present { field, .. } => self.field(field),
            Atom::Tags { tags, .. } => tags.iter().for_each(|t| add(&mut self.tags, *t)),
            Atom::Groups { groups, .. } => groups.iter().for_each(|g| add(&mut self.groups, *g)),
            Atom::Identity(kind) => add(&mut self.identities, *kind),
            Atom::Consent { purpose, .. } => add(&mut self.consents, *purpose),
            Atom::Member(id) => add(&mut self.members, *id),
            Atom::Follow { .. } | Atom::Event { .. } | Atom::Bought { .. } => add(&mut self.external, a.clone()),
        }
    }

    /// Whether a needed built-in is read from the aggregates row.
    pub fn reads_aggregates(&self) -> bool {
        self.builtins.iter().any(|b| {
            matches!(
                b,
                Builtin::OrderCount
                    | Builtin::OrderDays
                    | Builtin::PaidFen
                    | Builtin::RefundFen
                    | Builtin::AvgPaidFen
                    | Builtin::EventCount
                    | Builtin::ProductCount
                    | Builtin::FirstOrderAt
                    | Builtin::LastOrderAt
                    | Builtin::FirstSeenAt
                    | Builtin::Platforms
            )
        })
    }

    /// Whether a needed built-in is read from the `customer_rfm` row.
    pub fn reads_rfm(&self) -> bool {
        self.builtins.iter().any(|b| {
            matches!(
                b,
                Builtin::RfmClass
                    | Builtin::RfmLayer
                    | Builtin::RfmR
                    | Builtin::RfmF
                    | Builtin::RfmM
                    | Builtin::SuperUser
            )
        })
    }

    /// Whether a needed built-in is read from the `customer_clv` row.
    pub fn reads_stage(&self) -> bool {
        self.builtins.iter().any(|b| matches!(b, Builtin::Stage | Builtin::StageEnteredAt))
    }

    pub fn reads_clv(&self) -> bool {
        self.builtins.iter().any(|b| matches!(b, Builtin::ClvFen | Builtin::PAlive | Builtin::ExpectedPurchases))
    }
}

/// How a built-in field's value reads in evaluation (`eval`'s value kinds): choices are text.
pub(crate) fn kind(b: Builtin) -> FieldType {
    match b.field_type() {
        FieldType::Choice | FieldType::Text => FieldType::Text,
        other => other,
    }
}

/// The member sets of a rule's external atoms, found by equality with the atom in the rule.
#[derive(Debug, Clone, Default)]
pub struct ExternalSets {
    sets: Vec<(Atom, Bitset)>,
}

impl ExternalSets {
    pub fn new() -> Self {
        Self::default()
    }

    /// The customers (by population index) for whom `atom` holds; replaces an earlier set of an equal atom.
    pub fn insert(&mut self, atom: Atom, members: Bitset) {
        match self.sets.iter_mut().find(|(a, _)| *a == atom) {
            Some(slot) => slot.1 = members,
            None => self.sets.push((atom, members)),
        }
    }

    pub fn get(&self, atom: &Atom) -> Option<&Bitset> {
        self.sets.iter().find(|(a, _)| a == atom).map(|(_, b)| b)
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::{Cmp, TagMatch};

    #[test]
    fn needs_list_each_field_tag_and_external_atom_once() {
        let tag = TagId::new();
        let bought = Atom::Bought { product: "X".into(), within_days: None };
        let rule = Rule::All(vec![
            Rule::Atom(Atom::Number { field: FieldRef::Builtin(Builtin::OrderCount), op: Cmp::Ge, value: 2.0 }),
            Rule::Not(Box::new(Rule::Atom(Atom::Tags { mode: TagMatch::Any, tags: vec![tag, tag] }))),
            Rule::Any(vec![Rule::Atom(bought.clone()), Rule::Atom(bought.clone())]),
            Rule::Atom(Atom::Present { field: FieldRef::Custom("city".into()), set: true }),
        ]);
        let mut n = Needs::of(&rule);
        assert_eq!(n.builtins, [Builtin::OrderCount]);
        assert_eq!((n.tags.len(), n.custom.len(), n.external.len()), (1, 1, 1));
        assert!(n.reads_aggregates() && !n.reads_rfm() && !n.reads_clv());
        n.merge(&Needs::of(&Rule::Atom(Atom::Identity(IdentityKind::Phone))));
        assert_eq!(n.identities, [IdentityKind::Phone]);
        assert!(Needs::is_external(&bought));
    }
}
