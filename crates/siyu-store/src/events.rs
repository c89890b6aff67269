//! The event log of the Segment-compatible ingest endpoints: accepted events (append-only, deduplicated on
//! `(tenant, source, messageId)`), quarantined items with their reasons, and the per-source rate-limit
//! windows that every node shares.
//!
//! Writes come in group commits ([`Events::append_batch`], see `events/append.rs`): the app's writer collects
//! the requests of a few milliseconds, of any tenants, and writes them in one transaction. Reads serve the
//! live debugger ([`Events::latest`], [`Events::latest_quarantined`]) and the customer timeline
//! ([`Events::of_customer`]) through the SQLite [`reader`](crate::reader).
//!
//! Ids of events and quarantined items are UUIDv7 stamped with the request's `received_at`, so the primary
//! key `(tenant_id, id)` orders a tenant's rows by arrival: the tenant-wide "latest" reads walk it backwards.

mod append;

use chrono::{DateTime, Utc};
use siyu_domain::event::{ItemError, ItemErrorCode, Message};
use siyu_domain::id::{CustomerId, EventId, QuarantineId, SourceId, TenantId};
use siyu_domain::page::{Cursor, PageRequest};
use sqlx::types::Json;
use uuid::Uuid;

use crate::bulk::MAX_PARAMS;
use crate::reader::read_row;
use crate::sql::{Arg, Sql, dyn_query};
use crate::{Store, StoreError, exec};

pub use append::{AppendOutcome, EventBatch};

/// The repository of events, quarantined items and ingest windows (`store.events()`).
pub struct Events<'a>(pub(crate) &'a Store);

/// An accepted event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: EventId,
    pub source_id: SourceId,
    /// The unified customer, once identity resolution has linked the event.
    pub customer_id: Option<CustomerId>,
    /// When it happened, corrected for the client's clock skew ([`Message::event_time`]), to the millisecond.
    pub event_time: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The message in Segment wire form; `message_id` is always set (generated when the client sent none).
    pub message: Message,
}

/// An item that failed validation, kept with its reason (Snowplow's "bad rows").
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantinedItem {
    pub id: QuarantineId,
    pub source_id: SourceId,
    pub received_at: DateTime<Utc>,
    /// Where the item was in its request, why it was refused, and the item itself.
    pub error: ItemError,
}

read_row! {
    #[derive(sqlx::FromRow)]
    struct EventRow {
        id: Uuid,
        source_id: Uuid,
        message_id: String,
        customer_id: Option<Uuid>,
        event_time: DateTime<Utc>,
        received_at: DateTime<Utc>,
        payload: Json<Message>,
    }
}

impl From<EventRow> for StoredEvent {
    fn from(r: EventRow) -> Self {
        let mut message = r.payload.0;
        message.message_id = Some(r.message_id);
        StoredEvent {
            id: EventId(r.id),
            source_id: SourceId(r.source_id),
            customer_id: r.customer_id.map(CustomerId),
            event_time: r.event_time,
            received_at: r.received_at,
            message,
        }
    }
}

read_row! {
    #[derive(sqlx::FromRow)]
    struct QuarantineRow {
        id: Uuid,
        source_id: Uuid,
        received_at: DateTime<Utc>,
        item_index: i64,
        code: String,
        message: String,
        item: Json<serde_json::Value>,
    }
}

impl TryFrom<QuarantineRow> for QuarantinedItem {
    type Error = StoreError;

    fn try_from(r: QuarantineRow) -> Result<Self, StoreError> {
        let code = ItemErrorCode::ALL
            .into_iter()
            .find(|c| c.as_str() == r.code)
            .ok_or_else(|| StoreError::Corrupt(format!("quarantine code {}", r.code)))?;
        let index = usize::try_from(r.item_index).map_err(|_| StoreError::Corrupt("quarantine item index".into()))?;
        Ok(QuarantinedItem {
            id: QuarantineId(r.id),
            source_id: SourceId(r.source_id),
            received_at: r.received_at,
            error: ItemError { index, code, message: r.message, item: r.item.0 },
        })
    }
}

impl Store {
    /// The event log, quarantine and ingest windows.
    pub fn events(&self) -> Events<'_> {
        Events(self)
    }
}

const SELECT_EVENT: &str =
    "SELECT id, source_id, message_id, customer_id, event_time, received_at, payload FROM events WHERE tenant_id = ";
const SELECT_QUARANTINE: &str = "SELECT id, source_id, received_at, item_index, code, message, item \
                                 FROM event_quarantine WHERE tenant_id = ";

/// `WHERE tenant_id = $1 [AND source_id = $2]`, newest first, at most `limit` rows. Per source the index on
/// `received_at` serves the order; tenant-wide the primary key does (ids are stamped with `received_at`).
fn latest_sql(select: &str, tenant: TenantId, source: Option<SourceId>, limit: u32) -> Sql {
    let mut sql = Sql::new(select);
    sql.bind(Arg::Uuid(tenant.0));
    match source {
        Some(s) => sql.push(" AND source_id = ").bind(Arg::Uuid(s.0)).push(" ORDER BY received_at DESC, id DESC"),
        None => sql.push(" ORDER BY id DESC"),
    };
    sql.limit(i64::from(limit));
    sql
}

impl Events<'_> {
    /// The tenant's latest events, newest (by arrival) first, of one source or of all; for the live debugger.
    pub async fn latest(
        &self,
        tenant: TenantId,
        source: Option<SourceId>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<EventRow> = self.0.read_all(latest_sql(SELECT_EVENT, tenant, source, limit)).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The tenant's latest quarantined items, newest first, of one source or of all.
    pub async fn latest_quarantined(
        &self,
        tenant: TenantId,
        source: Option<SourceId>,
        limit: u32,
    ) -> Result<Vec<QuarantinedItem>, StoreError> {
        let rows: Vec<QuarantineRow> = self.0.read_all(latest_sql(SELECT_QUARANTINE, tenant, source, limit)).await?;
        rows.into_iter().map(QuarantinedItem::try_from).collect()
    }

    /// A customer's events by event time, newest first; returns up to `limit + 1` events (the extra one only
    /// signals a next page: build it with `Page::from_overfetch` keyed on `(event_time, id)`).
    pub async fn of_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        page: PageRequest,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut sql = Sql::new(SELECT_EVENT);
        sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id = ").bind(Arg::Uuid(customer.0));
        if let Some(Cursor { at, id }) = page.after {
            sql.push(" AND (event_time < ").bind(Arg::Time(at));
            sql.push(" OR (event_time = ").bind(Arg::Time(at)).push(" AND id < ").bind(Arg::Uuid(id)).push("))");
        }
        sql.push(" ORDER BY event_time DESC, id DESC").limit(i64::from(page.limit) + 1);
        let rows: Vec<EventRow> = self.0.read_all(sql).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// How many events the tenant has stored, from one source or from all.
    pub async fn count(&self, tenant: TenantId, source: Option<SourceId>) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM events WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0));
        if let Some(s) = source {
            sql.push(" AND source_id = ").bind(Arg::Uuid(s.0));
        }
        let row: Option<(i64,)> = self.0.read_optional(sql).await?;
        Ok(row.map_or(0, |r| r.0))
    }

    /// Which of `message_ids` the source has stored (for clients and tests checking what is durable).
    pub async fn stored_message_ids(
        &self,
        tenant: TenantId,
        source: SourceId,
        message_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        let mut found = Vec::new();
        for chunk in message_ids.chunks(500) {
            let mut sql = Sql::new("SELECT message_id FROM events WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0)).push(" AND source_id = ").bind(Arg::Uuid(source.0));
            sql.push(" AND message_id IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Arg::Text(id.clone()));
            }
            sql.push(")");
            let rows: Vec<(String,)> = self.0.read_all(sql).await?;
            found.extend(rows.into_iter().map(|r| r.0));
        }
        Ok(found)
    }

    /// Links events to the customer identity resolution found for them (replacing any earlier link).
    /// Returns how many of the given events the tenant has.
    pub async fn assign_customer(
        &self,
        tenant: TenantId,
        events: &[EventId],
        customer: CustomerId,
    ) -> Result<u64, StoreError> {
        let mut changed = 0;
        for chunk in events.chunks(MAX_PARAMS - 2) {
            let mut sql = Sql::new("UPDATE events SET customer_id = ");
            sql.bind(Arg::Uuid(customer.0)).push(" WHERE tenant_id = ").bind(Arg::Uuid(tenant.0));
            sql.push(" AND id IN ").bind_list(chunk.iter().map(|e| e.0));
            changed += exec!(self.0, p => dyn_query!(sql).execute(p).await)?;
        }
        Ok(changed)
    }

    /// Adds `add` to the source's counter for the fixed window starting at `window_start` and returns the
    /// new total, atomically (one upsert), so every node draws on the same budget. The caller picks the
    /// window (e.g. the current second or minute, truncated) and compares the total with the limit.
    pub async fn count_in_window(
        &self,
        tenant: TenantId,
        source: SourceId,
        window_start: DateTime<Utc>,
        add: i64,
    ) -> Result<i64, StoreError> {
        let sql = Sql::with(
            "INSERT INTO ingest_windows (tenant_id, source_id, window_start, count) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, source_id, window_start) DO UPDATE SET count = ingest_windows.count + excluded.count \
             RETURNING count",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(source.0), Arg::Time(window_start), Arg::Int(add)],
        );
        let (total,): (i64,) = crate::on_pool!(self.0, p => crate::sql::dyn_query_as!((i64,), sql).fetch_one(p).await)?;
        Ok(total)
    }

    /// Deletes the tenant's windows that started before `before` (they can no longer be counted against).
    pub async fn purge_windows(&self, tenant: TenantId, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(exec!(self.0, p => sqlx::query("DELETE FROM ingest_windows WHERE tenant_id = $1 AND window_start < $2")
            .bind(tenant.0).bind(before).execute(p).await)?)
    }
}
