//! Compiling a checked segment rule to a SQL condition over `customers c LEFT JOIN customer_aggregates a`,
//! for SQLite and PostgreSQL. Every atom is wrapped so it is never NULL (`COALESCE(…, FALSE)`): `NOT` is then
//! plain negation, as in siyu_domain::segment::eval, which this must agree with row for row.
//!
//! Values are always bound; the only text spliced in comes from this file.

use siyu_domain::segment::eval::At;
use siyu_domain::segment::field::Builtin;
use siyu_domain::segment::{Atom, Cmp, DateTest, FieldRef, Rule, TextTest, TimeTest};

use crate::BackendKind;
use crate::sql::{Arg, Sql};

mod related;

/// The customers a rule runs over, with their aggregates, RFM and CLV rows (the caller adds the tenant and
/// leaves erased customers out).
pub(crate) const FROM: &str = " FROM customers c LEFT JOIN customer_aggregates a \
     ON a.tenant_id = c.tenant_id AND a.customer_id = c.id LEFT JOIN customer_rfm rf \
     ON rf.tenant_id = c.tenant_id AND rf.customer_id = c.id LEFT JOIN customer_clv cv \
     ON cv.tenant_id = c.tenant_id AND cv.customer_id = c.id LEFT JOIN customer_stages st \
     ON st.tenant_id = c.tenant_id AND st.customer_id = c.id";

pub(crate) struct Compiler {
    pub kind: BackendKind,
    pub at: At,
}

impl Compiler {
    fn pg(&self) -> bool {
        self.kind == BackendKind::Postgres
    }

    pub fn rule(&self, sql: &mut Sql, rule: &Rule) {
        match rule {
            Rule::All(v) | Rule::Any(v) if v.is_empty() => {
                sql.push(if matches!(rule, Rule::All(_)) { "(1 = 1)" } else { "(1 = 0)" });
            }
            Rule::All(v) | Rule::Any(v) => {
                let join = if matches!(rule, Rule::All(_)) { " AND " } else { " OR " };
                sql.push("(");
                for (i, r) in v.iter().enumerate() {
                    if i > 0 {
                        sql.push(join);
                    }
                    self.rule(sql, r);
                }
                sql.push(")");
            }
            Rule::Not(r) => {
                sql.push("(NOT ");
                self.rule(sql, r);
                sql.push(")");
            }
            Rule::Atom(a) => {
                sql.push("COALESCE(");
                self.atom(sql, a);
                sql.push(", FALSE)");
            }
        }
    }

    /// A built-in field's column expression (NULL only where eval reads `Missing`).
    fn builtin(&self, b: Builtin) -> &'static str {
        match b {
            Builtin::Name => "c.name",
            Builtin::Gender => "c.gender",
            Builtin::Remark => "c.remark",
            Builtin::Source => "c.source",
            Builtin::CreatedAt => "c.created_at",
            Builtin::LastActiveAt => "c.last_active_at",
            Builtin::OrderCount => "COALESCE(a.order_count, 0)",
            Builtin::OrderDays => "COALESCE(a.order_days, 0)",
            Builtin::PaidFen => "COALESCE(a.paid_fen, 0)",
            Builtin::RefundFen => "COALESCE(a.refund_fen, 0)",
            Builtin::AvgPaidFen => "COALESCE(a.avg_paid_fen, 0)",
            Builtin::EventCount => "COALESCE(a.event_count, 0)",
            Builtin::ProductCount => "COALESCE(a.product_count, 0)",
            Builtin::FirstOrderAt => "a.first_order_at",
            Builtin::LastOrderAt => "a.last_order_at",
            Builtin::FirstSeenAt => "COALESCE(a.first_seen_at, c.created_at)",
            Builtin::Platforms if self.pg() => "COALESCE(a.platforms, '[]'::jsonb)",
            Builtin::Platforms => "COALESCE(a.platforms, '[]')",
            Builtin::RfmClass => "rf.class",
            Builtin::RfmLayer => "rf.layer",
            Builtin::RfmR => "rf.r",
            Builtin::RfmF => "rf.f",
            Builtin::RfmM => "rf.m",
            Builtin::SuperUser => "rf.super_user",
            Builtin::ClvFen => "cv.clv_fen",
            Builtin::PAlive => "cv.p_alive",
            Builtin::ExpectedPurchases => "cv.expected_purchases",
            Builtin::Stage => "st.stage",
            Builtin::StageEnteredAt => "st.entered_at",
        }
    }

    /// The JSON holding a custom value: `c.custom -> key` on PostgreSQL, `c.custom, '$."key"'` (the two
    /// arguments of json_type / json_extract / json_each) on SQLite.
    fn custom_doc(&self, sql: &mut Sql, key: &str) {
        if self.pg() {
            sql.push("(c.custom -> ").bind(Arg::Text(key.into())).push(")");
        } else {
            sql.push("c.custom, ").bind(Arg::Text(format!("$.\"{key}\"")));
        }
    }

    fn json_type(&self, sql: &mut Sql, key: &str) {
        sql.push(if self.pg() { "jsonb_typeof(" } else { "json_type(" });
        self.custom_doc(sql, key);
        sql.push(")");
    }

    /// A value as text, NULL unless it is text (custom values must be JSON strings).
    fn text_value(&self, sql: &mut Sql, field: &FieldRef) {
        self.scalar_value(sql, field, false);
    }

    /// A value as a number, NULL unless it is one.
    fn number_value(&self, sql: &mut Sql, field: &FieldRef) {
        self.scalar_value(sql, field, true);
    }

    /// A built-in column, or a custom value read only when its JSON type is a string (`number`: a number).
    fn scalar_value(&self, sql: &mut Sql, field: &FieldRef, number: bool) {
        let key = match field {
            FieldRef::Builtin(b) => {
                sql.push(self.builtin(*b));
                return;
            }
            FieldRef::Custom(key) => key,
        };
        sql.push("(CASE WHEN ");
        self.json_type(sql, key);
        match (self.pg(), number) {
            (true, false) => sql.push(" = 'string' THEN c.custom ->> ").bind(Arg::Text(key.clone())).push(" END)"),
            (true, true) => {
                sql.push(" = 'number' THEN (c.custom ->> ").bind(Arg::Text(key.clone())).push(")::float8 END)")
            }
            (false, _) => {
                sql.push(if number {
                    " IN ('integer', 'real') THEN json_extract("
                } else {
                    " = 'text' THEN json_extract("
                });
                self.custom_doc(sql, key);
                sql.push(") END)")
            }
        };
    }

    /// Whether a list field holds `value` (one text element equal to it).
    fn list_holds(&self, sql: &mut Sql, field: &FieldRef, values: &[String]) {
        let doc = |sql: &mut Sql| match field {
            FieldRef::Builtin(b) => {
                sql.push(self.builtin(*b));
            }
            FieldRef::Custom(key) => self.custom_doc(sql, key),
        };
        sql.push("(CASE WHEN ");
        sql.push(if self.pg() { "jsonb_typeof(" } else { "json_type(" });
        doc(sql);
        sql.push(") = 'array' THEN EXISTS (SELECT 1 FROM ");
        if self.pg() {
            sql.push("jsonb_array_elements(");
            doc(sql);
            sql.push(") j(v) WHERE jsonb_typeof(j.v) = 'string' AND j.v #>> '{}' IN (");
        } else {
            sql.push("json_each(");
            doc(sql);
            sql.push(") j WHERE j.type = 'text' AND j.value IN (");
        }
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Text(v.clone()));
        }
        sql.push(")) ELSE FALSE END)");
    }

    fn present(&self, sql: &mut Sql, field: &FieldRef) {
        match field {
            FieldRef::Builtin(Builtin::Platforms) => {
                let len = if self.pg() { "jsonb_array_length(" } else { "json_array_length(" };
                sql.push(len).push(self.builtin(Builtin::Platforms)).push(") > 0");
            }
            FieldRef::Builtin(b) => {
                sql.push(self.builtin(*b)).push(" IS NOT NULL");
            }
            FieldRef::Custom(key) => {
                // Anything but null, and an array only when it has elements.
                sql.push("(CASE ");
                self.json_type(sql, key);
                sql.push(" WHEN 'null' THEN FALSE WHEN 'array' THEN ");
                sql.push(if self.pg() { "jsonb_array_length(" } else { "json_array_length(" });
                self.custom_doc(sql, key);
                sql.push(") > 0 ELSE ");
                self.json_type(sql, key);
                sql.push(" IS NOT NULL END)");
            }
        }
    }

    fn text_test(&self, sql: &mut Sql, field: &FieldRef, test: &TextTest) {
        match test {
            TextTest::Eq(v) | TextTest::Ne(v) => {
                self.text_value(sql, field);
                sql.push(if matches!(test, TextTest::Eq(_)) { " = " } else { " <> " }).bind(Arg::Text(v.clone()));
            }
            TextTest::In(vs) => {
                self.text_value(sql, field);
                sql.push(" IN (");
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.bind(Arg::Text(v.clone()));
                }
                sql.push(")");
            }
            TextTest::Contains(v) => {
                sql.push(if self.pg() { "strpos(" } else { "instr(" });
                self.text_value(sql, field);
                sql.push(", ").bind(Arg::Text(v.clone())).push(") > 0");
            }
            TextTest::StartsWith(v) => {
                sql.push(if self.pg() { "left(" } else { "substr(" });
                self.text_value(sql, field);
                sql.push(if self.pg() { ", " } else { ", 1, " });
                sql.push("length(").bind(Arg::Text(v.clone())).push(")) = ").bind(Arg::Text(v.clone()));
            }
        }
    }

    fn atom(&self, sql: &mut Sql, a: &Atom) {
        match a {
            Atom::Number { field, op, value } => {
                self.number_value(sql, field);
                sql.push(op.sql()).bind(Arg::Float(*value));
            }
            Atom::Text { field, test } => self.text_test(sql, field, test),
            Atom::Time { field, test } => {
                self.text_value(sql, field);
                let (cmp, t) = match test {
                    TimeTest::WithinDays(d) => (Cmp::Ge, self.at.cutoff(*d)),
                    TimeTest::OlderThanDays(d) => (Cmp::Lt, self.at.cutoff(*d)),
                    TimeTest::At(cmp, t) => (*cmp, *t),
                };
                sql.push(cmp.sql()).bind(Arg::Time(t));
            }
            Atom::Date { field, test } => {
                self.text_value(sql, field);
                if self.pg() {
                    sql.push(" COLLATE \"C\"");
                }
                let (cmp, day) = match test {
                    DateTest::WithinDays(d) => (Cmp::Ge, self.at.day_cutoff(*d)),
                    DateTest::OlderThanDays(d) => (Cmp::Lt, self.at.day_cutoff(*d)),
                    DateTest::On(cmp, day) => (*cmp, *day),
                };
                sql.push(cmp.sql()).bind(Arg::Text(day.format("%Y-%m-%d").to_string()));
            }
            Atom::List { field, all, values } => {
                if *all {
                    sql.push("(");
                    for (i, v) in values.iter().enumerate() {
                        if i > 0 {
                            sql.push(" AND ");
                        }
                        self.list_holds(sql, field, std::slice::from_ref(v));
                    }
                    sql.push(")");
                } else {
                    self.list_holds(sql, field, values);
                }
            }
            Atom::Present { field, set } => {
                sql.push(if *set { "(" } else { "(NOT " });
                self.present(sql, field);
                sql.push(")");
            }
            Atom::Tags { mode, tags } => self.tags(sql, *mode, tags),
            Atom::Groups { mode, groups } => self.groups(sql, *mode, groups),
            Atom::Identity(kind) => self.identity(sql, *kind),
            Atom::Follow { staff, state, add_way, within_days } => {
                self.follow(sql, *staff, state.as_deref(), add_way.as_deref(), *within_days)
            }
            Atom::Event { name, op, count, within_days, filters } => {
                self.event(sql, name, *op, *count, *within_days, filters)
            }
            Atom::Bought { product, within_days } => self.bought(sql, product, *within_days),
            Atom::Consent { purpose, status } => self.consent(sql, *purpose, *status),
            Atom::Member(id) => self.member(sql, *id),
        }
    }
}
