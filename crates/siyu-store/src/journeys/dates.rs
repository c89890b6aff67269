//! Date-property triggers: the customers whose date falls on a given day, and the once-a-day mark per
//! journey that keeps a second scan from enrolling anyone twice.

use chrono::{DateTime, NaiveDate, Utc};
use siyu_domain::id::{CustomerId, JourneyId, TenantId};
use uuid::Uuid;

use super::Journeys;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{BackendKind, StoreError, exec, on_pool};

/// Which date a trigger reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateField<'a> {
    /// A custom field holding `YYYY-MM-DD`; `yearly` compares month and day only.
    Custom { key: &'a str, yearly: bool },
    /// The customer's last order (aggregates), an instant: matched within the local day `[from, to)`.
    LastOrder { from: DateTime<Utc>, to: DateTime<Utc> },
}

impl Journeys<'_> {
    /// Marks the journey's scan of `day`; `false` when it was already made.
    pub async fn mark_date_scan(
        &self,
        tenant: TenantId,
        journey: JourneyId,
        day: NaiveDate,
    ) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "INSERT INTO journey_date_scans (tenant_id, journey_id, day) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(tenant.0).bind(journey.0).bind(day.format("%Y-%m-%d").to_string()).execute(p).await)?;
        Ok(n == 1)
    }

    /// Whether the journey's scan of `day` was made.
    pub async fn date_scanned(&self, tenant: TenantId, journey: JourneyId, day: NaiveDate) -> Result<bool, StoreError> {
        let row: Option<(String,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT day FROM journey_date_scans WHERE tenant_id = $1 AND journey_id = $2 AND day = $3")
            .bind(tenant.0).bind(journey.0).bind(day.format("%Y-%m-%d").to_string()).fetch_optional(p).await)?;
        Ok(row.is_some())
    }

    /// The (not erased) customers whose date is `date`.
    pub async fn customers_on_date(
        &self,
        tenant: TenantId,
        field: DateField<'_>,
        date: NaiveDate,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let pg = self.0.kind() == BackendKind::Postgres;
        let mut sql = match field {
            DateField::Custom { key, yearly } => {
                let mut sql = Sql::new("SELECT c.id FROM customers c WHERE c.tenant_id = ");
                sql.bind(Arg::Uuid(tenant.0)).push(" AND ");
                let value = |sql: &mut Sql| {
                    if pg {
                        sql.push("(c.custom ->> ").bind(Arg::Text(key.to_string())).push(")");
                    } else {
                        sql.push("json_extract(c.custom, ").bind(Arg::Text(format!("$.\"{key}\""))).push(")");
                    }
                };
                if yearly {
                    sql.push("substr(");
                    value(&mut sql);
                    sql.push(", 6, 5) = ").bind(Arg::Text(date.format("%m-%d").to_string()));
                } else {
                    value(&mut sql);
                    sql.push(" = ").bind(Arg::Text(date.format("%Y-%m-%d").to_string()));
                }
                sql
            }
            DateField::LastOrder { from, to } => {
                let mut sql = Sql::new(
                    "SELECT c.id FROM customers c JOIN customer_aggregates a ON a.tenant_id = c.tenant_id \
                     AND a.customer_id = c.id WHERE c.tenant_id = ",
                );
                sql.bind(Arg::Uuid(tenant.0));
                sql.push(" AND a.last_order_at >= ").bind(Arg::Time(from));
                sql.push(" AND a.last_order_at < ").bind(Arg::Time(to));
                sql
            }
        };
        sql.push(" AND c.erased_at IS NULL ORDER BY c.id");
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(c,)| CustomerId(c)).collect())
    }
}
