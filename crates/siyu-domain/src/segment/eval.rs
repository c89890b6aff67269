//! Evaluating a checked rule for one customer in memory, with the same semantics as the SQL the store
//! compiles it to (a property test holds the two together).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::field::Builtin;
use super::{Atom, Cmp, CountOp, DateTest, FieldRef, PropertyTest, PropertyValue, Rule, TagMatch, TextTest, TimeTest};
use crate::aggregate::CustomerAggregates;
use crate::clv::CustomerClv;
use crate::customer::{Customer, Follow};
use crate::id::{GroupId, SegmentId, TagId};
use crate::identity::IdentityKind;
use crate::order::OrderStatus;
use crate::privacy::{ConsentPurpose, ConsentStatus};
use crate::rfm::CustomerRfm;

/// An event of the customer: name, time, and its `properties` object.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFact {
    pub name: String,
    pub at: DateTime<Utc>,
    pub properties: Map<String, Value>,
}

/// A purchased line: its order's status and time, and what identifies the product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseFact {
    pub status: OrderStatus,
    pub placed_at: DateTime<Utc>,
    pub fully_refunded: bool,
    pub sku_id: Option<String>,
    pub product_id: Option<String>,
    pub title: Option<String>,
}

/// Everything a rule can read about one customer.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub customer: &'a Customer,
    /// `None` when the customer has no aggregates row yet (counts read as 0, times as unset).
    pub aggregates: Option<&'a CustomerAggregates>,
    pub tags: &'a [TagId],
    /// The customer groups the customer is in (through any of their external_userids).
    pub groups: &'a [GroupId],
    pub identities: &'a [IdentityKind],
    pub follows: &'a [Follow],
    /// At least the events inside the rule's widest window ([`Rule::event_window`]).
    pub events: &'a [EventFact],
    pub purchases: &'a [PurchaseFact],
    pub consents: &'a [(ConsentPurpose, ConsentStatus)],
    /// The static segments the customer is a member of.
    pub memberships: &'a [SegmentId],
    pub rfm: Option<&'a CustomerRfm>,
    pub clv: Option<&'a CustomerClv>,
    /// The lifecycle stage and when it was entered.
    pub stage: Option<(&'a str, DateTime<Utc>)>,
}

/// The clock and calendar a rule is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub now: DateTime<Utc>,
    pub offset: FixedOffset,
}

impl At {
    pub fn cutoff(&self, days: u32) -> DateTime<Utc> {
        self.now - Duration::days(i64::from(days))
    }

    /// The tenant's today minus `days`.
    pub fn day_cutoff(&self, days: u32) -> NaiveDate {
        self.now.with_timezone(&self.offset).date_naive() - Duration::days(i64::from(days))
    }
}

pub fn matches(rule: &Rule, s: &Subject<'_>, at: At) -> bool {
    match rule {
        Rule::All(v) => v.iter().all(|r| matches(r, s, at)),
        Rule::Any(v) => v.iter().any(|r| matches(r, s, at)),
        Rule::Not(r) => !matches(r, s, at),
        Rule::Atom(a) => atom(a, s, at),
    }
}

/// A field's value as the evaluators see it.
enum Val<'a> {
    Missing,
    Number(f64),
    Text(&'a str),
    Time(DateTime<Utc>),
    List(Vec<&'a str>),
}

fn builtin<'a>(b: Builtin, s: &Subject<'a>) -> Val<'a> {
    let c = s.customer;
    let a = s.aggregates;
    let num = |f: fn(&CustomerAggregates) -> i64| Val::Number(a.map_or(0, f) as f64);
    let time = |t: Option<DateTime<Utc>>| t.map_or(Val::Missing, Val::Time);
    match b {
        Builtin::Name => Val::Text(&c.name),
        Builtin::Gender => Val::Text(c.gender.as_str()),
        Builtin::Remark => c.remark.as_deref().map_or(Val::Missing, Val::Text),
        Builtin::Source => Val::Text(&c.source),
        Builtin::CreatedAt => Val::Time(c.created_at),
        Builtin::LastActiveAt => time(c.last_active_at),
        Builtin::OrderCount => num(|a| a.order_count),
        Builtin::OrderDays => num(|a| a.order_days),
        Builtin::PaidFen => num(|a| a.paid_fen),
        Builtin::RefundFen => num(|a| a.refund_fen),
        Builtin::AvgPaidFen => num(|a| a.avg_paid_fen),
        Builtin::EventCount => num(|a| a.event_count),
        Builtin::ProductCount => num(|a| a.product_count),
        Builtin::FirstOrderAt => time(a.and_then(|a| a.first_order_at)),
        Builtin::LastOrderAt => time(a.and_then(|a| a.last_order_at)),
        Builtin::FirstSeenAt => Val::Time(a.map_or(c.created_at, |a| a.first_seen_at)),
        Builtin::Platforms => Val::List(a.map_or_else(Vec::new, |a| a.platforms.iter().map(|p| p.as_str()).collect())),
        Builtin::RfmClass => s.rfm.map_or(Val::Missing, |r| Val::Text(r.class.as_str())),
        Builtin::RfmLayer => s.rfm.map_or(Val::Missing, |r| Val::Text(r.layer.as_str())),
        Builtin::RfmR => s.rfm.map_or(Val::Missing, |r| Val::Number(f64::from(r.r))),
        Builtin::RfmF => s.rfm.map_or(Val::Missing, |r| Val::Number(f64::from(r.f))),
        Builtin::RfmM => s.rfm.map_or(Val::Missing, |r| Val::Number(f64::from(r.m))),
        Builtin::SuperUser => s.rfm.map_or(Val::Missing, |r| Val::Number(if r.super_user { 1.0 } else { 0.0 })),
        Builtin::ClvFen => s.clv.map_or(Val::Missing, |v| Val::Number(v.clv_fen as f64)),
        Builtin::PAlive => s.clv.map_or(Val::Missing, |v| Val::Number(v.p_alive)),
        Builtin::ExpectedPurchases => s.clv.map_or(Val::Missing, |v| Val::Number(v.expected_purchases)),
        Builtin::Stage => s.stage.map_or(Val::Missing, |(k, _)| Val::Text(k)),
        Builtin::StageEnteredAt => s.stage.map_or(Val::Missing, |(_, at)| Val::Time(at)),
    }
}

/// A custom value, read the way the SQL reads it: only a JSON value of the field's shape counts.
fn custom<'a>(key: &str, s: &Subject<'a>) -> Option<&'a Value> {
    s.customer.custom.get(key)
}

fn value<'a>(field: &FieldRef, s: &Subject<'a>, shape: Shape) -> Val<'a> {
    match field {
        FieldRef::Builtin(b) => builtin(*b, s),
        FieldRef::Custom(key) => match (custom(key, s), shape) {
            (Some(Value::Number(n)), Shape::Number) => n.as_f64().map_or(Val::Missing, Val::Number),
            (Some(Value::String(t)), Shape::Text) => Val::Text(t),
            (Some(Value::Array(items)), Shape::List) => Val::List(items.iter().filter_map(Value::as_str).collect()),
            _ => Val::Missing,
        },
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Number,
    Text,
    List,
}

fn atom(a: &Atom, s: &Subject<'_>, at: At) -> bool {
    match a {
        Atom::Number { field, op, value: v } => match value(field, s, Shape::Number) {
            Val::Number(n) => op.holds(&n, v),
            _ => false,
        },
        Atom::Text { field, test } => match value(field, s, Shape::Text) {
            Val::Text(t) => text(t, test),
            _ => false,
        },
        Atom::Time { field, test } => match value(field, s, Shape::Text) {
            Val::Time(t) => match test {
                TimeTest::WithinDays(d) => t >= at.cutoff(*d),
                TimeTest::OlderThanDays(d) => t < at.cutoff(*d),
                TimeTest::At(cmp, x) => cmp.holds(&t, x),
            },
            _ => false,
        },
        Atom::Date { field, test } => match value(field, s, Shape::Text) {
            // Compared as text, as the SQL does: a custom date is canonical `YYYY-MM-DD`.
            Val::Text(t) => {
                let (cmp, day) = match test {
                    DateTest::WithinDays(d) => (Cmp::Ge, at.day_cutoff(*d)),
                    DateTest::OlderThanDays(d) => (Cmp::Lt, at.day_cutoff(*d)),
                    DateTest::On(cmp, day) => (*cmp, *day),
                };
                cmp.holds(&t, &day.format("%Y-%m-%d").to_string().as_str())
            }
            _ => false,
        },
        Atom::List { field, all, values } => match value(field, s, Shape::List) {
            Val::List(items) => {
                if *all {
                    values.iter().all(|v| items.contains(&v.as_str()))
                } else {
                    values.iter().any(|v| items.contains(&v.as_str()))
                }
            }
            _ => false,
        },
        Atom::Present { field, set } => {
            let present = match field {
                FieldRef::Builtin(b) => match builtin(*b, s) {
                    Val::Missing => false,
                    Val::List(items) => !items.is_empty(),
                    _ => true,
                },
                // A custom value is set when the key holds anything but null (an empty list is unset).
                FieldRef::Custom(key) => match custom(key, s) {
                    None | Some(Value::Null) => false,
                    Some(Value::Array(items)) => !items.is_empty(),
                    Some(_) => true,
                },
            };
            present == *set
        }
        Atom::Tags { mode, tags } => match mode {
            TagMatch::Any => tags.iter().any(|t| s.tags.contains(t)),
            TagMatch::All => tags.iter().all(|t| s.tags.contains(t)),
            TagMatch::None => !tags.iter().any(|t| s.tags.contains(t)),
        },
        Atom::Groups { mode, groups } => match mode {
            TagMatch::Any => groups.iter().any(|g| s.groups.contains(g)),
            TagMatch::All => groups.iter().all(|g| s.groups.contains(g)),
            TagMatch::None => !groups.iter().any(|g| s.groups.contains(g)),
        },
        Atom::Identity(kind) => s.identities.contains(kind),
        Atom::Follow { staff, state, add_way, within_days } => s.follows.iter().any(|f| {
            staff.is_none_or(|u| f.user_id == u)
                && state.as_ref().is_none_or(|x| f.state.as_ref() == Some(x))
                && add_way.as_ref().is_none_or(|x| &f.add_way == x)
                && within_days.is_none_or(|d| f.added_at >= at.cutoff(d))
        }),
        Atom::Event { name, op, count, within_days, filters } => {
            let n = s
                .events
                .iter()
                .filter(|e| {
                    &e.name == name
                        && within_days.is_none_or(|d| e.at >= at.cutoff(d))
                        && filters.iter().all(|f| property_holds(f, &e.properties))
                })
                .count() as u64;
            let c = u64::from(*count);
            match op {
                CountOp::Eq => n == c,
                CountOp::Ge => n >= c,
                CountOp::Le => n <= c,
            }
        }
        Atom::Bought { product, within_days } => s.purchases.iter().any(|p| {
            p.status.is_paid()
                && !p.fully_refunded
                && within_days.is_none_or(|d| p.placed_at >= at.cutoff(d))
                && [&p.sku_id, &p.product_id, &p.title].iter().any(|v| v.as_deref() == Some(product.as_str()))
        }),
        Atom::Consent { purpose, status } => {
            let held = s.consents.iter().find(|(p, _)| p == purpose).map_or(ConsentStatus::Unknown, |(_, st)| *st);
            held == *status
        }
        Atom::Member(id) => s.memberships.contains(id),
    }
}

/// Whether a text passes a text test (shared with the population evaluator).
pub(super) fn text(t: &str, test: &TextTest) -> bool {
    match test {
        TextTest::Eq(v) => t == v,
        TextTest::Ne(v) => t != v,
        TextTest::In(vs) => vs.iter().any(|v| v == t),
        TextTest::Contains(v) => t.contains(v.as_str()),
        TextTest::StartsWith(v) => t.starts_with(v.as_str()),
    }
}

/// Whether an event's properties pass a checked filter.
pub fn property_holds(f: &PropertyTest, props: &Map<String, Value>) -> bool {
    match (&f.value, props.get(&f.key)) {
        (PropertyValue::Text(v), Some(Value::String(s))) => f.cmp.holds(&s.as_str(), &v.as_str()),
        (PropertyValue::Number(v), Some(Value::Number(n))) => n.as_f64().is_some_and(|n| f.cmp.holds(&n, v)),
        (PropertyValue::Bool(v), Some(Value::Bool(b))) => f.cmp.holds(b, v),
        _ => false,
    }
}
