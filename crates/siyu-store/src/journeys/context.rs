//! What the worker's step asks about a claimed batch's customers, read in three statements for the whole
//! batch instead of several per customer: marketing opt-outs, the day's sends per channel (the frequency
//! cap) and when each entered their lifecycle stage.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, TenantId};
use uuid::Uuid;

use super::Journeys;
use crate::signals::in_list;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{StoreError, on_pool};

/// A batch's customers as the step sees them.
#[derive(Debug, Clone, Default)]
pub struct StepContext {
    pub opted_out: HashSet<CustomerId>,
    /// Marketing messages per (customer, channel) since the time asked for.
    pub sends: HashMap<(CustomerId, String), i64>,
    pub stage_entered_at: HashMap<CustomerId, DateTime<Utc>>,
}

impl Journeys<'_> {
    pub async fn step_context(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
        since: DateTime<Utc>,
    ) -> Result<StepContext, StoreError> {
        let mut out = StepContext::default();
        for chunk in customers.chunks(500) {
            let mut sql = Sql::new("SELECT customer_id FROM consents WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0))
                .push(" AND purpose = 'marketing' AND status = 'withdrawn' AND customer_id IN (");
            in_list(&mut sql, chunk);
            let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
            out.opted_out.extend(rows.into_iter().map(|(c,)| CustomerId(c)));

            // Only the (tenant, customer, created_at) index may serve this: with the status in the WHERE clause
            // PostgreSQL reads the whole pending queue through the dispatcher's index instead.
            let mut sql = Sql::new(
                "SELECT customer_id, channel, SUM(CASE WHEN status IN ('pending', 'sent', 'unknown') THEN 1 ELSE 0 END) \
                 FROM outbox WHERE tenant_id = ",
            );
            sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id IN (");
            in_list(&mut sql, chunk);
            sql.push(" AND created_at >= ").bind(Arg::Time(since));
            sql.push(" AND channel IS NOT NULL GROUP BY customer_id, channel");
            let rows: Vec<(Uuid, String, i64)> =
                on_pool!(self.0, p => dyn_query_as!((Uuid, String, i64), sql).fetch_all(p).await)?;
            out.sends.extend(rows.into_iter().map(|(c, ch, n)| ((CustomerId(c), ch), n)));

            let mut sql = Sql::new("SELECT customer_id, entered_at FROM customer_stages WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id IN (");
            in_list(&mut sql, chunk);
            let rows: Vec<(Uuid, DateTime<Utc>)> =
                on_pool!(self.0, p => dyn_query_as!((Uuid, DateTime<Utc>), sql).fetch_all(p).await)?;
            out.stage_entered_at.extend(rows.into_iter().map(|(c, at)| (CustomerId(c), at)));
        }
        Ok(out)
    }
}
