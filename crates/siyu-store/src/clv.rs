//! CLV: the fitted models (newest is current) and each customer's predictions, replaced per fit in one
//! transaction; and the purchase facts a fit reads.

use chrono::{DateTime, Utc};
use serde_json::Value;
use siyu_domain::clv::{ClvModel, CustomerClv};
use siyu_domain::id::{CustomerId, TenantId};
use sqlx::types::Json;
use uuid::Uuid;

use crate::sql::{Arg, Sql, dyn_query};
use crate::{Store, StoreError, in_write_tx, on_pool};

pub struct Clv<'a>(pub(crate) &'a Store);

impl Store {
    pub fn clv(&self) -> Clv<'_> {
        Clv(self)
    }
}

const CHUNK: usize = 500;

type ClvRow = (Uuid, i64, f64, f64, f64, f64, f64, i64, i64, DateTime<Utc>);

const SELECT: &str = "SELECT customer_id, frequency, recency, t, monetary_fen, p_alive, expected_purchases, \
     expected_spend_fen, clv_fen, computed_at FROM customer_clv";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("clv model: {e}"))
}

fn value(r: ClvRow) -> CustomerClv {
    let (c, frequency, recency, t, monetary_fen, p_alive, expected_purchases, expected_spend_fen, clv_fen, at) = r;
    CustomerClv {
        customer_id: CustomerId(c),
        frequency: frequency as u32,
        recency,
        t,
        monetary_fen,
        p_alive,
        expected_purchases,
        expected_spend_fen,
        clv_fen,
        computed_at: at,
    }
}

impl Clv<'_> {
    /// Net paid amount and time of every counted order (paid, shipped, received, partially refunded, with
    /// something left after refunds) of the tenant's customers (not erased ones), by customer.
    pub async fn purchases(&self, tenant: TenantId) -> Result<Vec<(CustomerId, DateTime<Utc>, i64)>, StoreError> {
        let rows: Vec<(Uuid, DateTime<Utc>, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT o.customer_id, COALESCE(o.paid_at, o.placed_at), o.paid_fen - o.refunded_fen FROM orders o \
             JOIN customers c ON c.tenant_id = o.tenant_id AND c.id = o.customer_id AND c.erased_at IS NULL \
             WHERE o.tenant_id = $1 AND o.status IN ('paid', 'shipped', 'received', 'partially_refunded') \
             AND o.paid_fen > o.refunded_fen ORDER BY o.customer_id")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(c, at, fen)| (CustomerId(c), at, fen)).collect())
    }

    /// Stores a model and replaces every customer's values with `values`.
    pub async fn replace(&self, tenant: TenantId, model: &ClvModel, values: &[CustomerClv]) -> Result<(), StoreError> {
        let t = tenant.0;
        let json = serde_json::to_value(model).map_err(corrupt)?;
        in_write_tx!(self.0, tx => {
            sqlx::query("INSERT INTO clv_models (tenant_id, id, fitted_at, model) VALUES ($1, $2, $3, $4)")
                .bind(t).bind(Uuid::now_v7()).bind(model.fitted_at).bind(Json(&json)).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM customer_clv WHERE tenant_id = $1").bind(t).execute(&mut *tx).await?;
            for chunk in values.chunks(CHUNK) {
                let mut sql = Sql::new("INSERT INTO customer_clv (tenant_id, customer_id, frequency, recency, t, monetary_fen, \
                     p_alive, expected_purchases, expected_spend_fen, clv_fen, computed_at) SELECT cu.tenant_id, cu.id, v.fq, v.re, \
                     v.tt, v.mo, v.pa, v.ep, v.es, v.cl, v.at FROM (");
                for (i, v) in chunk.iter().enumerate() {
                    sql.push(if i > 0 { " UNION ALL SELECT " } else { "SELECT " });
                    let names = [" AS c", " AS fq", " AS re", " AS tt", " AS mo", " AS pa", " AS ep", " AS es", " AS cl", " AS at"];
                    for (j, a) in [
                        Arg::Uuid(v.customer_id.0), Arg::Int(i64::from(v.frequency)), Arg::Float(v.recency), Arg::Float(v.t),
                        Arg::Float(v.monetary_fen), Arg::Float(v.p_alive), Arg::Float(v.expected_purchases),
                        Arg::Int(v.expected_spend_fen), Arg::Int(v.clv_fen), Arg::Time(v.computed_at),
                    ].into_iter().enumerate() {
                        if j > 0 { sql.push(", "); }
                        sql.bind(a);
                        if i == 0 { sql.push(names[j]); }
                    }
                }
                // Only customers that still exist (one may have been merged away since the facts were read).
                sql.push(") v JOIN customers cu ON cu.tenant_id = ").bind(Arg::Uuid(t)).push(" AND cu.id = v.c");
                dyn_query!(sql).execute(&mut *tx).await?;
            }
            Ok(())
        })
    }

    /// The current (latest) model.
    pub async fn model(&self, tenant: TenantId) -> Result<Option<ClvModel>, StoreError> {
        let row: Option<(Json<Value>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT model FROM clv_models WHERE tenant_id = $1 ORDER BY fitted_at DESC, id DESC LIMIT 1")
            .bind(tenant.0).fetch_optional(p).await)?;
        row.map(|r| serde_json::from_value(r.0.0).map_err(corrupt)).transpose()
    }

    pub async fn of_customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Option<CustomerClv>, StoreError> {
        let row: Option<ClvRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE tenant_id = $1 AND customer_id = $2")))
            .bind(tenant.0).bind(customer.0).fetch_optional(p).await)?;
        Ok(row.map(value))
    }

    /// The most valuable customers, highest CLV first.
    pub async fn top(&self, tenant: TenantId, limit: u32) -> Result<Vec<CustomerClv>, StoreError> {
        let rows: Vec<ClvRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE tenant_id = $1 ORDER BY clv_fen DESC, customer_id LIMIT $2")))
            .bind(tenant.0).bind(i64::from(limit)).fetch_all(p).await)?;
        Ok(rows.into_iter().map(value).collect())
    }

    /// Every customer's CLV in fen, ascending (for the distribution chart).
    pub async fn values(&self, tenant: TenantId) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT clv_fen FROM customer_clv WHERE tenant_id = $1 ORDER BY clv_fen")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
