//! The append-only customer timeline.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, TenantId, TimelineId, UserId};
use siyu_domain::page::{Cursor, PageRequest};
use siyu_domain::timeline::TimelineEntry;
use sqlx::types::Json;
use uuid::Uuid;

use crate::sql::{Arg, Sql, dyn_query_as};
use crate::statements::insert_timeline;
use crate::{Store, StoreError, exec, on_pool};

pub struct Timeline<'a>(pub(crate) &'a Store);

crate::reader::read_row! {
    /// One timeline row (also read by the activity list).
    #[derive(sqlx::FromRow)]
    pub(crate) struct EntryRow {
        id: Uuid,
        customer_id: Uuid,
        occurred_at: DateTime<Utc>,
        source: String,
        kind: String,
        actor_id: Option<Uuid>,
        payload: Json<serde_json::Value>,
    }
}

impl From<EntryRow> for TimelineEntry {
    fn from(r: EntryRow) -> Self {
        TimelineEntry {
            id: TimelineId(r.id),
            customer_id: CustomerId(r.customer_id),
            occurred_at: r.occurred_at,
            source: r.source,
            kind: r.kind,
            actor_id: r.actor_id.map(UserId),
            payload: r.payload.0,
        }
    }
}

impl Store {
    pub fn timeline(&self) -> Timeline<'_> {
        Timeline(self)
    }
}

impl Timeline<'_> {
    pub async fn append(&self, tenant: TenantId, e: &TimelineEntry) -> Result<(), StoreError> {
        exec!(self.0, p => insert_timeline!(tenant, e).execute(p).await)?;
        Ok(())
    }

    /// Newest first; returns up to `limit + 1` entries.
    pub async fn of_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        page: PageRequest,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut sql = Sql::new(
            "SELECT id, customer_id, occurred_at, source, kind, actor_id, payload FROM timeline WHERE tenant_id = ",
        );
        sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id = ").bind(Arg::Uuid(customer.0));
        if let Some(Cursor { at, id }) = page.after {
            sql.push(" AND (occurred_at < ").bind(Arg::Time(at));
            sql.push(" OR (occurred_at = ").bind(Arg::Time(at)).push(" AND id < ").bind(Arg::Uuid(id)).push("))");
        }
        sql.push(" ORDER BY occurred_at DESC, id DESC").limit(i64::from(page.limit) + 1);
        let rows: Vec<EntryRow> = on_pool!(self.0, p => dyn_query_as!(EntryRow, sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
