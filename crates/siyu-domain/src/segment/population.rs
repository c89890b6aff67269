//! A whole tenant's customers in memory, in columns, for evaluating segment rules over all of them at once
//! with exactly the semantics of [`super::eval::matches`] (a property test holds the two together).
//!
//! The store loads a [`Population`] with only the columns a rule reads ([`Needs`]): it pushes customers
//! in id order through a [`PopulationBuilder`], then their tags, customer groups, identity kinds, consents
//! and static memberships by row index. [`Population::evaluate`] runs a rule over the columns into a
//! [`Bitset`] of row indices; the atoms the population does not hold (follows, events, purchases) come in
//! as member sets ([`ExternalSets`]) the store computes with SQL.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::eval::Subject;
use super::field::{Builtin, FieldType};
use crate::id::{CustomerId, GroupId, SegmentId, TagId};
use crate::identity::IdentityKind;
use crate::privacy::{ConsentPurpose, ConsentStatus};

mod bitset;
mod column;
mod evaluate;
mod needs;
#[cfg(test)]
mod tests;

pub use bitset::Bitset;
use bitset::Members;
use column::{
    CustomBuilder, CustomCol, ListBuilder, ListCol, NumberBuilder, NumberCol, TextBuilder, TextCol, TimeBuilder,
    TimeCol,
};
pub use evaluate::PopulationError;
pub use needs::{ExternalSets, Needs};

/// A frozen built-in column.
#[derive(Debug, Clone)]
enum Column {
    Number(NumberCol),
    Text(TextCol),
    Time(TimeCol),
    List(ListCol),
}

#[derive(Debug, Clone)]
enum ColumnBuilder {
    Number(NumberBuilder),
    Text(TextBuilder),
    Time(TimeBuilder),
    List(ListBuilder),
}

impl ColumnBuilder {
    fn of(b: Builtin) -> Self {
        match needs::kind(b) {
            FieldType::Number => ColumnBuilder::Number(NumberBuilder::default()),
            FieldType::Time => ColumnBuilder::Time(TimeBuilder::default()),
            FieldType::List => ColumnBuilder::List(ListBuilder::default()),
            _ => ColumnBuilder::Text(TextBuilder::default()),
        }
    }

    fn push_missing(&mut self) {
        match self {
            ColumnBuilder::Number(c) => c.push_missing(),
            ColumnBuilder::Text(c) => c.push_missing(),
            ColumnBuilder::Time(c) => c.push_missing(),
            ColumnBuilder::List(c) => c.push_missing(),
        }
    }

    fn finish(self) -> Column {
        match self {
            ColumnBuilder::Number(c) => Column::Number(c.finish()),
            ColumnBuilder::Text(c) => Column::Text(c.finish()),
            ColumnBuilder::Time(c) => Column::Time(c.finish()),
            ColumnBuilder::List(c) => Column::List(c.finish()),
        }
    }
}

/// Customers in a fixed order (their row indices) with the columns some rules need.
#[derive(Debug, Clone)]
pub struct Population {
    ids: Vec<CustomerId>,
    /// Row indices in id order, when the ids were not pushed ascending.
    by_id: Option<Vec<u32>>,
    builtins: Vec<(Builtin, Column)>,
    custom: Vec<(String, CustomCol)>,
    tags: Vec<(TagId, Members)>,
    groups: Vec<(GroupId, Members)>,
    identities: Vec<(IdentityKind, Members)>,
    /// Per purpose the rows holding `granted` and those holding `withdrawn` (the rest read `unknown`).
    consents: Vec<(ConsentPurpose, Members, Members)>,
    members: Vec<(SegmentId, Members)>,
}

/// Fills a [`Population`] row by row: [`push_customer`](Self::push_customer) starts a row with every
/// needed field missing and the `set_*` calls give the new row its values; tags, groups, identities,
/// consents and memberships are added by row index afterwards (or along). Values of fields the needs do not
/// list are ignored.
#[derive(Debug, Clone)]
pub struct PopulationBuilder {
    needs: Needs,
    ids: Vec<CustomerId>,
    sorted: bool,
    builtins: Vec<(Builtin, ColumnBuilder)>,
    custom: Vec<(String, CustomBuilder)>,
    tags: Vec<(TagId, Vec<u32>)>,
    groups: Vec<(GroupId, Vec<u32>)>,
    identities: Vec<(IdentityKind, Vec<u32>)>,
    consents: Vec<(ConsentPurpose, Vec<(u32, ConsentStatus)>)>,
    members: Vec<(SegmentId, Vec<u32>)>,
}

fn slot<'a, K: PartialEq, V>(list: &'a mut [(K, V)], key: &K) -> Option<&'a mut V> {
    list.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
}

impl PopulationBuilder {
    pub fn new(needs: &Needs) -> Self {
        Self {
            needs: needs.clone(),
            ids: Vec::new(),
            sorted: true,
            builtins: needs.builtins.iter().map(|b| (*b, ColumnBuilder::of(*b))).collect(),
            custom: needs.custom.iter().map(|k| (k.clone(), CustomBuilder::default())).collect(),
            tags: needs.tags.iter().map(|t| (*t, Vec::new())).collect(),
            groups: needs.groups.iter().map(|g| (*g, Vec::new())).collect(),
            identities: needs.identities.iter().map(|k| (*k, Vec::new())).collect(),
            consents: needs.consents.iter().map(|p| (*p, Vec::new())).collect(),
            members: needs.members.iter().map(|s| (*s, Vec::new())).collect(),
        }
    }

    pub fn needs(&self) -> &Needs {
        &self.needs
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Starts the next row; returns its index.
    pub fn push_customer(&mut self, id: CustomerId) -> u32 {
        self.pad_custom();
        if self.ids.last().is_some_and(|last| *last >= id) {
            self.sorted = false;
        }
        self.ids.push(id);
        self.builtins.iter_mut().for_each(|(_, c)| c.push_missing());
        (self.ids.len() - 1) as u32
    }

    /// Custom columns take their row when `set_custom` is called; a row without one reads missing.
    fn pad_custom(&mut self) {
        let n = self.ids.len();
        for (_, c) in &mut self.custom {
            while c.len() < n {
                c.push(None);
            }
        }
    }

    fn column(&mut self, b: Builtin) -> Option<&mut ColumnBuilder> {
        slot(&mut self.builtins, &b)
    }

    /// The last row's value of a number field.
    pub fn set_number(&mut self, b: Builtin, v: f64) {
        if let Some(ColumnBuilder::Number(c)) = self.column(b) {
            c.set_last(v);
        }
    }

    /// The last row's value of a text or choice field.
    pub fn set_text(&mut self, b: Builtin, v: &str) {
        if let Some(ColumnBuilder::Text(c)) = self.column(b) {
            c.set_last(v);
        }
    }

    /// The last row's value of a time field.
    pub fn set_time(&mut self, b: Builtin, t: DateTime<Utc>) {
        if let Some(ColumnBuilder::Time(c)) = self.column(b) {
            c.set_last(t);
        }
    }

    /// The last row's list of a list field (possibly empty, which still reads as a list).
    pub fn set_list<'a>(&mut self, b: Builtin, items: impl IntoIterator<Item = &'a str>) {
        if let Some(ColumnBuilder::List(c)) = self.column(b) {
            let items: Vec<&str> = items.into_iter().collect();
            c.set_last(items.iter().copied(), !items.is_empty());
        }
    }

    /// The last row's custom field values (the customer's `custom` object); once per row.
    pub fn set_custom(&mut self, custom: &Map<String, Value>) {
        let Some(row) = self.ids.len().checked_sub(1) else { return };
        for (key, c) in &mut self.custom {
            while c.len() < row {
                c.push(None);
            }
            if c.len() == row {
                c.push(custom.get(key.as_str()));
            }
        }
    }

    pub fn add_tag(&mut self, row: u32, tag: TagId) {
        if let Some(rows) = slot(&mut self.tags, &tag) {
            rows.push(row);
        }
    }

    /// Membership of a customer group.
    pub fn add_group(&mut self, row: u32, group: GroupId) {
        if let Some(rows) = slot(&mut self.groups, &group) {
            rows.push(row);
        }
    }

    pub fn add_identity(&mut self, row: u32, kind: IdentityKind) {
        if let Some(rows) = slot(&mut self.identities, &kind) {
            rows.push(row);
        }
    }

    /// A consent record; the first one added for a row and purpose is the one that counts.
    pub fn add_consent(&mut self, row: u32, purpose: ConsentPurpose, status: ConsentStatus) {
        if let Some(rows) = slot(&mut self.consents, &purpose) {
            rows.push((row, status));
        }
    }

    /// Membership of a static segment.
    pub fn add_member(&mut self, row: u32, segment: SegmentId) {
        if let Some(rows) = slot(&mut self.members, &segment) {
            rows.push(row);
        }
    }

    /// The row of a customer: a binary search when customers were pushed in id order, else a scan.
    pub fn index_of(&self, id: CustomerId) -> Option<u32> {
        find(&self.ids, self.sorted, id)
    }

    /// The row of a customer for callers walking rows in id order: starts looking at `*hint` (the last
    /// row found) and leaves the row found there.
    pub fn locate(&self, id: CustomerId, hint: &mut usize) -> Option<u32> {
        if self.sorted {
            for i in *hint..(*hint + 8).min(self.ids.len()) {
                if self.ids[i] == id {
                    *hint = i;
                    return Some(i as u32);
                }
                if self.ids[i] > id {
                    break;
                }
            }
        }
        let found = self.index_of(id)?;
        *hint = found as usize;
        Some(found)
    }

    /// Adds one customer as `eval` sees it (every needed field of the subject); returns its row.
    pub fn push_subject(&mut self, s: &Subject<'_>) -> u32 {
        let c = s.customer;
        let row = self.push_customer(c.id);
        let a = s.aggregates;
        for b in self.needs.builtins.clone() {
            let num = |f: fn(&crate::aggregate::CustomerAggregates) -> i64| a.map_or(0, f) as f64;
            match b {
                Builtin::Name => self.set_text(b, &c.name),
                Builtin::Gender => self.set_text(b, c.gender.as_str()),
                Builtin::Remark => c.remark.iter().for_each(|r| self.set_text(b, r)),
                Builtin::Source => self.set_text(b, &c.source),
                Builtin::CreatedAt => self.set_time(b, c.created_at),
                Builtin::LastActiveAt => c.last_active_at.into_iter().for_each(|t| self.set_time(b, t)),
                Builtin::OrderCount => self.set_number(b, num(|a| a.order_count)),
                Builtin::OrderDays => self.set_number(b, num(|a| a.order_days)),
                Builtin::PaidFen => self.set_number(b, num(|a| a.paid_fen)),
                Builtin::RefundFen => self.set_number(b, num(|a| a.refund_fen)),
                Builtin::AvgPaidFen => self.set_number(b, num(|a| a.avg_paid_fen)),
                Builtin::EventCount => self.set_number(b, num(|a| a.event_count)),
                Builtin::ProductCount => self.set_number(b, num(|a| a.product_count)),
                Builtin::FirstOrderAt => a.and_then(|a| a.first_order_at).into_iter().for_each(|t| self.set_time(b, t)),
                Builtin::LastOrderAt => a.and_then(|a| a.last_order_at).into_iter().for_each(|t| self.set_time(b, t)),
                Builtin::FirstSeenAt => self.set_time(b, a.map_or(c.created_at, |a| a.first_seen_at)),
                Builtin::Platforms => {
                    self.set_list(b, a.map_or_else(Vec::new, |a| a.platforms.iter().map(|p| p.as_str()).collect()))
                }
                Builtin::RfmClass => s.rfm.iter().for_each(|r| self.set_text(b, r.class.as_str())),
                Builtin::RfmLayer => s.rfm.iter().for_each(|r| self.set_text(b, r.layer.as_str())),
                Builtin::RfmR => s.rfm.iter().for_each(|r| self.set_number(b, f64::from(r.r))),
                Builtin::RfmF => s.rfm.iter().for_each(|r| self.set_number(b, f64::from(r.f))),
                Builtin::RfmM => s.rfm.iter().for_each(|r| self.set_number(b, f64::from(r.m))),
                Builtin::SuperUser => {
                    s.rfm.iter().for_each(|r| self.set_number(b, if r.super_user { 1.0 } else { 0.0 }))
                }
                Builtin::ClvFen => s.clv.iter().for_each(|v| self.set_number(b, v.clv_fen as f64)),
                Builtin::PAlive => s.clv.iter().for_each(|v| self.set_number(b, v.p_alive)),
                Builtin::ExpectedPurchases => s.clv.iter().for_each(|v| self.set_number(b, v.expected_purchases)),
                Builtin::Stage => s.stage.iter().for_each(|(k, _)| self.set_text(b, k)),
                Builtin::StageEnteredAt => s.stage.iter().for_each(|(_, at)| self.set_time(b, *at)),
            }
        }
        self.set_custom(&c.custom);
        s.tags.iter().for_each(|t| self.add_tag(row, *t));
        s.groups.iter().for_each(|g| self.add_group(row, *g));
        s.identities.iter().for_each(|k| self.add_identity(row, *k));
        s.consents.iter().for_each(|(p, st)| self.add_consent(row, *p, *st));
        s.memberships.iter().for_each(|m| self.add_member(row, *m));
        row
    }

    pub fn finish(mut self) -> Population {
        self.pad_custom();
        let n = self.ids.len();
        let members = |rows: Vec<u32>| Members::build(rows, n);
        let by_id = (!self.sorted).then(|| {
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.sort_by_key(|&i| self.ids[i as usize]);
            order
        });
        let consents = self
            .consents
            .into_iter()
            .map(|(purpose, mut held)| {
                held.sort_by_key(|(row, _)| *row);
                held.dedup_by_key(|(row, _)| *row);
                let with = |st: ConsentStatus| held.iter().filter(|(_, s)| *s == st).map(|(r, _)| *r).collect();
                (purpose, members(with(ConsentStatus::Granted)), members(with(ConsentStatus::Withdrawn)))
            })
            .collect();
        Population {
            by_id,
            builtins: self.builtins.into_iter().map(|(b, c)| (b, c.finish())).collect(),
            custom: self.custom.into_iter().map(|(k, c)| (k, c.finish())).collect(),
            tags: self.tags.into_iter().map(|(t, rows)| (t, members(rows))).collect(),
            groups: self.groups.into_iter().map(|(g, rows)| (g, members(rows))).collect(),
            identities: self.identities.into_iter().map(|(k, rows)| (k, members(rows))).collect(),
            consents,
            members: self.members.into_iter().map(|(s, rows)| (s, members(rows))).collect(),
            ids: self.ids,
        }
    }
}

fn find(ids: &[CustomerId], sorted: bool, id: CustomerId) -> Option<u32> {
    if sorted {
        ids.binary_search(&id).ok().map(|i| i as u32)
    } else {
        ids.iter().position(|x| *x == id).map(|i| i as u32)
    }
}

impl Population {
    /// How many customers (rows).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The customers by row index.
    pub fn ids(&self) -> &[CustomerId] {
        &self.ids
    }

    pub fn index_of(&self, id: CustomerId) -> Option<u32> {
        match &self.by_id {
            None => find(&self.ids, true, id),
            Some(order) => {
                let at = order.binary_search_by_key(&id, |&i| self.ids[i as usize]).ok()?;
                order.get(at).copied()
            }
        }
    }

    /// The rows of these customers (those not in the population are left out).
    pub fn set_of(&self, ids: &[CustomerId]) -> Bitset {
        let mut out = Bitset::new(self.len());
        ids.iter().filter_map(|id| self.index_of(*id)).for_each(|i| out.insert(i as usize));
        out
    }

    /// The customers of a set of rows, in row order.
    pub fn ids_of(&self, set: &Bitset) -> Vec<CustomerId> {
        set.ones().filter_map(|i| self.ids.get(i).copied()).collect()
    }
}
