//! Loading a tenant's live customers into a [`Population`] for whole-tenant rule evaluation in memory:
//! the customers the compiled SQL runs over (`erased_at IS NULL`), in id order, with only the columns the
//! rules need, read as `eval` reads them; then the tags, customer groups, identity kinds, consents and
//! static memberships the rules test, streamed in customer order and mapped to rows. The atoms the
//! population does not hold (follows, events, purchases) get their member sets from the compiled SQL
//! ([`Segments::external_members`]).

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde_json::{Map, Value};
use siyu_domain::id::{CustomerId, TenantId};
use siyu_domain::privacy::ConsentStatus;
use siyu_domain::segment::eval::At;
use siyu_domain::segment::field::Builtin;
use siyu_domain::segment::population::{ExternalSets, Needs, Population, PopulationBuilder};
use siyu_domain::segment::{Atom, Rule};
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;

use super::Segments;
use crate::sql::{Arg, Sql, dyn_query};
use crate::{StoreError, on_pool};

/// How one selected column (or two) feeds the builder.
#[derive(Debug, Clone, Copy)]
enum Col {
    /// A text column, NULL read as missing.
    Text(Builtin),
    Time(Builtin),
    /// An aggregate count: no aggregates row reads 0.
    Count(Builtin),
    Int(Builtin),
    Float(Builtin),
    /// `a.first_seen_at`, else `c.created_at` (two columns).
    FirstSeen,
    /// `a.platforms`, a JSON array (no aggregates row: an empty list).
    Platforms,
    /// `c.custom`, the JSON object of custom values.
    Custom,
}

fn column(b: Builtin) -> (&'static str, Col) {
    use Builtin::*;
    match b {
        Name => ("c.name", Col::Text(b)),
        Gender => ("c.gender", Col::Text(b)),
        Remark => ("c.remark", Col::Text(b)),
        Source => ("c.source", Col::Text(b)),
        CreatedAt => ("c.created_at", Col::Time(b)),
        LastActiveAt => ("c.last_active_at", Col::Time(b)),
        OrderCount => ("a.order_count", Col::Count(b)),
        OrderDays => ("a.order_days", Col::Count(b)),
        PaidFen => ("a.paid_fen", Col::Count(b)),
        RefundFen => ("a.refund_fen", Col::Count(b)),
        AvgPaidFen => ("a.avg_paid_fen", Col::Count(b)),
        EventCount => ("a.event_count", Col::Count(b)),
        ProductCount => ("a.product_count", Col::Count(b)),
        FirstOrderAt => ("a.first_order_at", Col::Time(b)),
        LastOrderAt => ("a.last_order_at", Col::Time(b)),
        FirstSeenAt => ("a.first_seen_at, c.created_at", Col::FirstSeen),
        Platforms => ("a.platforms", Col::Platforms),
        RfmClass => ("rf.class", Col::Text(b)),
        RfmLayer => ("rf.layer", Col::Text(b)),
        RfmR => ("rf.r", Col::Int(b)),
        RfmF => ("rf.f", Col::Int(b)),
        RfmM => ("rf.m", Col::Int(b)),
        SuperUser => ("rf.super_user", Col::Int(b)),
        ClvFen => ("cv.clv_fen", Col::Int(b)),
        PAlive => ("cv.p_alive", Col::Float(b)),
        ExpectedPurchases => ("cv.expected_purchases", Col::Float(b)),
        Stage => ("st.stage", Col::Text(b)),
        StageEnteredAt => ("st.entered_at", Col::Time(b)),
    }
}

/// The statement reading the needed customer columns, and how to read them (after `c.id`).
fn customers_sql(tenant: TenantId, needs: &Needs) -> (Sql, Vec<Col>) {
    let mut cols = Vec::new();
    let mut select = String::from("SELECT c.id");
    for b in &needs.builtins {
        let (expr, col) = column(*b);
        select.push_str(", ");
        select.push_str(expr);
        cols.push(col);
    }
    if !needs.custom.is_empty() {
        select.push_str(", c.custom");
        cols.push(Col::Custom);
    }
    let mut sql = Sql::new(&select);
    sql.push(" FROM customers c");
    if needs.reads_aggregates() {
        sql.push(" LEFT JOIN customer_aggregates a ON a.tenant_id = c.tenant_id AND a.customer_id = c.id");
    }
    if needs.reads_rfm() {
        sql.push(" LEFT JOIN customer_rfm rf ON rf.tenant_id = c.tenant_id AND rf.customer_id = c.id");
    }
    if needs.reads_clv() {
        sql.push(" LEFT JOIN customer_clv cv ON cv.tenant_id = c.tenant_id AND cv.customer_id = c.id");
    }
    if needs.reads_stage() {
        sql.push(" LEFT JOIN customer_stages st ON st.tenant_id = c.tenant_id AND st.customer_id = c.id");
    }
    sql.push(" WHERE c.tenant_id = ").bind(Arg::Uuid(tenant.0)).push(" AND c.erased_at IS NULL ORDER BY c.id");
    (sql, cols)
}

/// One row's cells, as either driver decodes them.
trait Cells {
    fn uuid(&self, i: usize) -> Result<Uuid, StoreError>;
    fn text(&self, i: usize) -> Result<Option<&str>, StoreError>;
    fn int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn float(&self, i: usize) -> Result<Option<f64>, StoreError>;
    fn time(&self, i: usize) -> Result<Option<DateTime<Utc>>, StoreError>;
    fn json(&self, i: usize) -> Result<Option<Value>, StoreError>;
}

macro_rules! sqlx_cells {
    ($row:ty) => {
        impl Cells for $row {
            fn uuid(&self, i: usize) -> Result<Uuid, StoreError> {
                Ok(self.try_get(i)?)
            }
            fn text(&self, i: usize) -> Result<Option<&str>, StoreError> {
                Ok(self.try_get(i)?)
            }
            fn int(&self, i: usize) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get(i)?)
            }
            fn float(&self, i: usize) -> Result<Option<f64>, StoreError> {
                Ok(self.try_get(i)?)
            }
            fn time(&self, i: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
                Ok(self.try_get(i)?)
            }
            fn json(&self, i: usize) -> Result<Option<Value>, StoreError> {
                Ok(self.try_get::<Option<Json<Value>>, _>(i)?.map(|j| j.0))
            }
        }
    };
}

sqlx_cells!(sqlx::sqlite::SqliteRow);
sqlx_cells!(sqlx::postgres::PgRow);

/// Pushes one customer row into the builder.
fn push_row(b: &mut PopulationBuilder, row: &impl Cells, cols: &[Col]) -> Result<(), StoreError> {
    b.push_customer(CustomerId(row.uuid(0)?));
    let mut i = 1;
    for col in cols {
        match *col {
            Col::Text(f) => {
                if let Some(t) = row.text(i)? {
                    b.set_text(f, t);
                }
            }
            Col::Time(f) => {
                if let Some(t) = row.time(i)? {
                    b.set_time(f, t);
                }
            }
            Col::Count(f) => b.set_number(f, row.int(i)?.unwrap_or(0) as f64),
            Col::Int(f) => {
                if let Some(v) = row.int(i)? {
                    b.set_number(f, v as f64);
                }
            }
            Col::Float(f) => {
                if let Some(v) = row.float(i)? {
                    b.set_number(f, v);
                }
            }
            Col::FirstSeen => {
                let seen = match row.time(i)? {
                    Some(t) => Some(t),
                    None => row.time(i + 1)?,
                };
                if let Some(t) = seen {
                    b.set_time(Builtin::FirstSeenAt, t);
                }
                i += 1;
            }
            Col::Platforms => match row.json(i)? {
                Some(Value::Array(items)) => b.set_list(Builtin::Platforms, items.iter().filter_map(Value::as_str)),
                Some(_) => {}
                None => b.set_list(Builtin::Platforms, []),
            },
            Col::Custom => match row.json(i)? {
                Some(Value::Object(m)) => b.set_custom(&m),
                _ => b.set_custom(&Map::new()),
            },
        }
        i += 1;
    }
    Ok(())
}

/// What a satellite statement adds to each row it names.
enum Add {
    Tag(siyu_domain::id::TagId),
    Group(siyu_domain::id::GroupId),
    Identity(siyu_domain::identity::IdentityKind),
    Consent(siyu_domain::privacy::ConsentPurpose),
    Member(siyu_domain::id::SegmentId),
}

/// The satellite statements (customer id first, then the consent status), each in customer id order.
fn satellites(tenant: TenantId, needs: &Needs) -> Vec<(Sql, Add)> {
    let t = || Arg::Uuid(tenant.0);
    let mut out = Vec::new();
    for tag in &needs.tags {
        let sql = "SELECT customer_id FROM customer_tags WHERE tenant_id = $1 AND tag_id = $2 ORDER BY customer_id";
        out.push((Sql::with(sql, vec![t(), Arg::Uuid(tag.0)]), Add::Tag(*tag)));
    }
    for group in &needs.groups {
        // The customers with an external_userid that is a customer member of the group (as compiled).
        let sql = "SELECT DISTINCT i.customer_id FROM group_members m JOIN identities i ON i.tenant_id = m.tenant_id \
             AND i.kind = 'external_userid' AND i.lookup = m.member_key \
             WHERE m.tenant_id = $1 AND m.group_id = $2 AND m.member_type = 2 ORDER BY i.customer_id";
        out.push((Sql::with(sql, vec![t(), Arg::Uuid(group.0)]), Add::Group(*group)));
    }
    for kind in &needs.identities {
        let sql = "SELECT DISTINCT customer_id FROM identities WHERE tenant_id = $1 AND kind = $2 ORDER BY customer_id";
        out.push((Sql::with(sql, vec![t(), Arg::Text(kind.as_str().into())]), Add::Identity(*kind)));
    }
    for purpose in &needs.consents {
        let sql = "SELECT customer_id, status FROM consents WHERE tenant_id = $1 AND purpose = $2 ORDER BY customer_id";
        out.push((Sql::with(sql, vec![t(), Arg::Text(purpose.as_str().into())]), Add::Consent(*purpose)));
    }
    for segment in &needs.members {
        let sql =
            "SELECT customer_id FROM segment_members WHERE tenant_id = $1 AND segment_id = $2 ORDER BY customer_id";
        out.push((Sql::with(sql, vec![t(), Arg::Uuid(segment.0)]), Add::Member(*segment)));
    }
    out
}

/// Adds one satellite row (a customer outside the population, e.g. erased, is skipped).
fn add_row(b: &mut PopulationBuilder, row: &impl Cells, add: &Add, hint: &mut usize) -> Result<(), StoreError> {
    let Some(i) = b.locate(CustomerId(row.uuid(0)?), hint) else { return Ok(()) };
    match add {
        Add::Tag(t) => b.add_tag(i, *t),
        Add::Group(g) => b.add_group(i, *g),
        Add::Identity(k) => b.add_identity(i, *k),
        Add::Consent(p) => {
            if let Some(status) = row.text(1)?.and_then(ConsentStatus::parse) {
                b.add_consent(i, *p, status);
            }
        }
        Add::Member(s) => b.add_member(i, *s),
    }
    Ok(())
}

impl Segments<'_> {
    /// The tenant's live customers in id order with what `needs` lists, for
    /// [`Population::evaluate`]. Reads stream; nothing but the columns is held.
    pub async fn population(&self, tenant: TenantId, needs: &Needs) -> Result<Population, StoreError> {
        let mut b = PopulationBuilder::new(needs);
        let (sql, cols) = customers_sql(tenant, needs);
        on_pool!(self.0, p => {
            let mut rows = dyn_query!(sql).fetch(p);
            while let Some(row) = rows.try_next().await? {
                push_row(&mut b, &row, &cols)?;
            }
        });
        for (sql, add) in satellites(tenant, needs) {
            let mut hint = 0;
            on_pool!(self.0, p => {
                let mut rows = dyn_query!(sql).fetch(p);
                while let Some(row) = rows.try_next().await? {
                    add_row(&mut b, &row, &add, &mut hint)?;
                }
            });
        }
        Ok(b.finish())
    }

    /// The live customers for whom one atom holds, ascending, by the compiled SQL: how the atoms a
    /// population does not hold (follows, events, purchases) are evaluated.
    pub async fn external_members(&self, tenant: TenantId, atom: &Atom, at: At) -> Result<Vec<CustomerId>, StoreError> {
        self.matching_ids(tenant, &Rule::Atom(atom.clone()), at).await
    }

    /// The member sets of every external atom `needs` lists, as rows of `population`.
    pub async fn external_sets(
        &self,
        tenant: TenantId,
        population: &Population,
        needs: &Needs,
        at: At,
    ) -> Result<ExternalSets, StoreError> {
        let mut sets = ExternalSets::new();
        for atom in &needs.external {
            let ids = self.external_members(tenant, atom, at).await?;
            sets.insert(atom.clone(), population.set_of(&ids));
        }
        Ok(sets)
    }
}
