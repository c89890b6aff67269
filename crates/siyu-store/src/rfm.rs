//! RFM: the tenant's configuration, the order facts scores are computed from, and the scores with the
//! run log. Scores of a run replace the previous ones in one transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use siyu_domain::id::{CustomerId, TagId, TenantId, UserId};
use siyu_domain::order::OrderStatus;
use siyu_domain::rfm::{CustomerRfm, RfmClass, RfmConfig, RfmLayer, RfmOrder, RfmRun, RfmScore};
use sqlx::types::Json;
use uuid::Uuid;

use crate::sql::{Arg, Sql, dyn_query, dyn_query_as};
use crate::{Store, StoreError, exec, in_write_tx, on_pool};

pub struct Rfm<'a>(pub(crate) &'a Store);

impl Store {
    pub fn rfm(&self) -> Rfm<'_> {
        Rfm(self)
    }
}

const CHUNK: usize = 500;

type ScoreRow = (Uuid, i64, i64, i64, i64, i64, i64, String, String, i64, i64, DateTime<Utc>);

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

impl Rfm<'_> {
    /// The tenant's configuration; `None` until one is saved (the default applies).
    pub async fn config(&self, tenant: TenantId) -> Result<Option<RfmConfig>, StoreError> {
        let row: Option<(Json<Value>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT config FROM rfm_settings WHERE tenant_id = $1").bind(tenant.0).fetch_optional(p).await)?;
        row.map(|r| serde_json::from_value(r.0.0).map_err(|e| corrupt("rfm config", e))).transpose()
    }

    pub async fn save_config(
        &self,
        tenant: TenantId,
        c: &RfmConfig,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_value(c).map_err(|e| corrupt("rfm config", e))?;
        exec!(self.0, p => sqlx::query(
            "INSERT INTO rfm_settings (tenant_id, config, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id) DO UPDATE SET config = excluded.config, updated_by = excluded.updated_by, \
             updated_at = excluded.updated_at")
            .bind(tenant.0).bind(Json(&json)).bind(by.0).bind(at).execute(p).await)?;
        Ok(())
    }

    /// Every order of the tenant's customers (counted or not: the rules decide), by customer; erased
    /// customers' orders (kept for finance) are not theirs to score.
    pub async fn orders(&self, tenant: TenantId) -> Result<Vec<(CustomerId, RfmOrder)>, StoreError> {
        let rows: Vec<(Uuid, String, DateTime<Utc>, i64, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT o.customer_id, o.status, COALESCE(o.paid_at, o.placed_at), o.paid_fen, o.refunded_fen FROM orders o \
             JOIN customers c ON c.tenant_id = o.tenant_id AND c.id = o.customer_id AND c.erased_at IS NULL \
             WHERE o.tenant_id = $1 ORDER BY o.customer_id")
            .bind(tenant.0).fetch_all(p).await)?;
        rows.into_iter()
            .map(|(c, status, paid_at, paid_fen, refunded_fen)| {
                let status = OrderStatus::parse(&status).ok_or_else(|| corrupt("order status", &status))?;
                Ok((CustomerId(c), RfmOrder { status, paid_at, paid_fen, refunded_fen }))
            })
            .collect()
    }

    /// Event times of the tenant's customers (interactions), by customer.
    pub async fn interactions(&self, tenant: TenantId) -> Result<Vec<(CustomerId, DateTime<Utc>)>, StoreError> {
        let rows: Vec<(Uuid, DateTime<Utc>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT e.customer_id, e.event_time FROM events e JOIN customers c ON c.tenant_id = e.tenant_id \
             AND c.id = e.customer_id AND c.erased_at IS NULL WHERE e.tenant_id = $1 ORDER BY e.customer_id")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(c, t)| (CustomerId(c), t)).collect())
    }

    /// Who holds which of `tags`.
    pub async fn holders(&self, tenant: TenantId, tags: &[TagId]) -> Result<Vec<(CustomerId, TagId)>, StoreError> {
        if tags.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT customer_id, tag_id FROM customer_tags WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND tag_id IN ").bind_list(tags.iter().map(|t| t.0));
        let rows: Vec<(Uuid, Uuid)> = on_pool!(self.0, p => dyn_query_as!((Uuid, Uuid), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(c, t)| (CustomerId(c), TagId(t))).collect())
    }

    /// Replaces every score of the tenant with a run's and logs the run (class counts, moves).
    pub async fn replace(
        &self,
        tenant: TenantId,
        scores: &[(RfmScore, bool)],
        version: u32,
        at: DateTime<Utc>,
    ) -> Result<RfmRun, StoreError> {
        let t = tenant.0;
        in_write_tx!(self.0, tx => {
            let before: Vec<(Uuid, String)> = sqlx::query_as("SELECT customer_id, class FROM customer_rfm WHERE tenant_id = $1")
                .bind(t).fetch_all(&mut *tx).await?;
            let before: std::collections::HashMap<Uuid, String> = before.into_iter().collect();
            sqlx::query("DELETE FROM customer_rfm WHERE tenant_id = $1").bind(t).execute(&mut *tx).await?;
            for chunk in scores.chunks(CHUNK) {
                let mut sql = Sql::new("INSERT INTO customer_rfm (tenant_id, customer_id, recency_days, frequency, monetary_fen, \
                     r, f, m, class, layer, super_user, config_version, computed_at) SELECT v.t, v.c, v.rd, v.fq, v.mf, v.r, v.f, v.m, \
                     v.cl, v.la, v.su, v.cv, v.at FROM (");
                for (i, (s, su)) in chunk.iter().enumerate() {
                    sql.push(if i > 0 { " UNION ALL SELECT " } else { "SELECT " });
                    for (j, a) in [
                        Arg::Uuid(t), Arg::Uuid(s.customer.0), Arg::Int(i64::from(s.recency_days)), Arg::Int(i64::from(s.frequency)),
                        Arg::Int(s.monetary_fen), Arg::Int(i64::from(s.r)), Arg::Int(i64::from(s.f)), Arg::Int(i64::from(s.m)),
                        Arg::Text(s.class.as_str().into()), Arg::Text(s.layer.as_str().into()), Arg::Int(i64::from(*su)),
                        Arg::Int(i64::from(version)), Arg::Time(at),
                    ].into_iter().enumerate() {
                        if j > 0 { sql.push(", "); }
                        sql.bind(a);
                        if i == 0 {
                            sql.push([" AS t", " AS c", " AS rd", " AS fq", " AS mf", " AS r", " AS f", " AS m", " AS cl", " AS la", " AS su", " AS cv", " AS at"][j]);
                        }
                    }
                }
                // Only customers that still exist (one may have been merged away since the facts were read).
                sql.push(") v JOIN customers cu ON cu.tenant_id = v.t AND cu.id = v.c");
                dyn_query!(sql).execute(&mut *tx).await?;
            }
            let mut classes: BTreeMap<String, u64> = BTreeMap::new();
            let mut moves: BTreeMap<(String, String), u64> = BTreeMap::new();
            for (s, _) in scores {
                *classes.entry(s.class.as_str().to_string()).or_default() += 1;
                let from = before.get(&s.customer.0).cloned().unwrap_or_else(|| "none".into());
                if from != s.class.as_str() {
                    *moves.entry((from, s.class.as_str().to_string())).or_default() += 1;
                }
            }
            let run = RfmRun {
                as_of: at,
                config_version: version,
                scored: scores.len() as u64,
                super_users: scores.iter().filter(|(_, su)| *su).count() as u64,
                classes,
                moves: moves.into_iter().map(|((a, b), n)| (a, b, n)).collect(),
            };
            let json = serde_json::to_value(&run).map_err(|e| corrupt("rfm run", e))?;
            sqlx::query("INSERT INTO rfm_runs (tenant_id, id, as_of, summary) VALUES ($1, $2, $3, $4)")
                .bind(t).bind(Uuid::now_v7()).bind(at).bind(Json(&json)).execute(&mut *tx).await?;
            Ok(run)
        })
    }

    /// The latest runs, newest first.
    pub async fn runs(&self, tenant: TenantId, limit: u32) -> Result<Vec<RfmRun>, StoreError> {
        let rows: Vec<(Json<Value>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT summary FROM rfm_runs WHERE tenant_id = $1 ORDER BY as_of DESC, id DESC LIMIT $2")
            .bind(tenant.0).bind(i64::from(limit)).fetch_all(p).await)?;
        rows.into_iter().map(|r| serde_json::from_value(r.0.0).map_err(|e| corrupt("rfm run", e))).collect()
    }

    pub async fn of_customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Option<CustomerRfm>, StoreError> {
        let row: Option<ScoreRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT customer_id, recency_days, frequency, monetary_fen, r, f, m, class, layer, super_user, config_version, \
             computed_at FROM customer_rfm WHERE tenant_id = $1 AND customer_id = $2")
            .bind(tenant.0).bind(customer.0).fetch_optional(p).await)?;
        row.map(stored).transpose()
    }

    /// Customers per (r, f) score pair: the R × F heatmap.
    pub async fn heatmap(&self, tenant: TenantId) -> Result<Vec<(u8, u8, i64)>, StoreError> {
        let rows: Vec<(i64, i64, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT r, f, COUNT(*) FROM customer_rfm WHERE tenant_id = $1 GROUP BY r, f ORDER BY r, f")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(r, f, n)| (r as u8, f as u8, n)).collect())
    }
}

fn stored(r: ScoreRow) -> Result<CustomerRfm, StoreError> {
    let (c, rd, fq, mf, r_, f, m, class, layer, su, cv, at) = r;
    Ok(CustomerRfm {
        customer_id: CustomerId(c),
        recency_days: rd as u32,
        frequency: fq as u32,
        monetary_fen: mf,
        r: r_ as u8,
        f: f as u8,
        m: m as u8,
        class: RfmClass::parse(&class).ok_or_else(|| corrupt("rfm class", &class))?,
        layer: RfmLayer::parse(&layer).ok_or_else(|| corrupt("rfm layer", &layer))?,
        super_user: su != 0,
        config_version: cv as u32,
        computed_at: at,
    })
}
