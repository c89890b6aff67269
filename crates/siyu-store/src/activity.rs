//! A customer's activity: timeline entries, resolved events and orders merged into one list, newest first.
//!
//! Each source is read with its own index and `LIMIT limit + 1` from the cursor on (timeline by
//! `occurred_at`, events by `event_time`, orders by `placed_at`, each then by id), and the three short
//! lists are merged; nothing is read beyond one page per source. Ids are UUIDs, unique across the three
//! tables, so one `(time, id)` cursor continues all of them. Which sources are read depends on the kind
//! filter (`siyu_domain::activity`); `source` filters events by their source kind, orders by platform and
//! timeline entries by the system that wrote them.

use chrono::{DateTime, Utc};
use siyu_domain::activity::{ActivityKind, HIDDEN_TIMELINE_KINDS};
use siyu_domain::event::Message;
use siyu_domain::id::{CustomerId, EventId, SourceId, TenantId};
use siyu_domain::order::Platform;
use siyu_domain::page::{Cursor, PageRequest};
use siyu_domain::source::SourceKind;
use siyu_domain::timeline::TimelineEntry;
use sqlx::types::Json;
use uuid::Uuid;

use crate::orders::{OrderRecord, OrderRow};
use crate::reader::read_row;
use crate::sql::{Arg, Sql};
use crate::timeline::EntryRow;
use crate::{Store, StoreError};

/// The repository of customer activity (`store.activity()`).
pub struct Activity<'a>(pub(crate) &'a Store);

/// What the list is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    pub kind: Option<ActivityKind>,
    /// An event source kind (`web`, `mini_program`, …), a platform (`taobao`, …) or a timeline source.
    pub source: Option<String>,
}

/// An event of the customer, with the source it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct EventItem {
    pub id: EventId,
    pub source_id: SourceId,
    pub source_kind: SourceKind,
    pub source_name: String,
    pub event_time: DateTime<Utc>,
    pub message: Message,
}

/// One item of the list.
#[derive(Debug, Clone, PartialEq)]
pub enum ActivityRecord {
    Timeline(TimelineEntry),
    Event(Box<EventItem>),
    Order(Box<OrderRecord>),
}

impl ActivityRecord {
    /// When it happened (what the list sorts by).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Timeline(e) => e.occurred_at,
            Self::Event(e) => e.event_time,
            Self::Order(o) => o.placed_at,
        }
    }

    pub fn id(&self) -> Uuid {
        match self {
            Self::Timeline(e) => e.id.0,
            Self::Event(e) => e.id.0,
            Self::Order(o) => o.id.0,
        }
    }

    /// The position after this item.
    pub fn cursor(&self) -> Cursor {
        Cursor { at: self.at(), id: self.id() }
    }
}

read_row! {
    #[derive(sqlx::FromRow)]
    struct EventRow {
        id: Uuid,
        source_id: Uuid,
        source_kind: String,
        source_name: String,
        message_id: String,
        event_time: DateTime<Utc>,
        payload: Json<Message>,
    }
}

/// `AND (<at> < $c OR (<at> = $c AND <id> < $i))` after the cursor.
fn after(sql: &mut Sql, at: &str, id: &str, page: PageRequest) {
    if let Some(Cursor { at: t, id: i }) = page.after {
        sql.push(" AND (").push(at).push(" < ").bind(Arg::Time(t));
        sql.push(" OR (").push(at).push(" = ").bind(Arg::Time(t)).push(" AND ").push(id).push(" < ").bind(Arg::Uuid(i));
        sql.push("))");
    }
}

fn order_by(sql: &mut Sql, at: &str, id: &str, page: PageRequest) {
    sql.push(" ORDER BY ").push(at).push(" DESC, ").push(id).push(" DESC").limit(i64::from(page.limit) + 1);
}

/// `substr(kind, 1, n) = $p` for each prefix of the kind, and `kind LIKE '%merge%'` for merges.
fn kind_condition(sql: &mut Sql, kind: ActivityKind) {
    let mut first = true;
    for p in kind.timeline_prefixes() {
        sql.push(if first { "" } else { " OR " });
        sql.push(&format!("substr(kind, 1, {}) = ", p.len())).bind(Arg::Text((*p).into()));
        first = false;
    }
    if kind.claims_merges() {
        sql.push(if first { "" } else { " OR " }).push("kind LIKE '%merge%'");
    }
}

fn timeline_sql(tenant: TenantId, customer: CustomerId, f: &ActivityFilter, page: PageRequest) -> Sql {
    let mut sql = Sql::new(
        "SELECT id, customer_id, occurred_at, source, kind, actor_id, payload FROM timeline WHERE tenant_id = ",
    );
    sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id = ").bind(Arg::Uuid(customer.0));
    for hidden in HIDDEN_TIMELINE_KINDS {
        sql.push(" AND kind <> ").bind(Arg::Text(hidden.into()));
    }
    match f.kind {
        Some(ActivityKind::Other) => {
            sql.push(" AND NOT (");
            let claiming = [ActivityKind::Orders, ActivityKind::Tags, ActivityKind::Identity, ActivityKind::Notes];
            for (i, k) in claiming.into_iter().enumerate() {
                sql.push(if i == 0 { "" } else { " OR " });
                kind_condition(&mut sql, k);
            }
            sql.push(")");
        }
        Some(k) => {
            sql.push(" AND (");
            kind_condition(&mut sql, k);
            sql.push(")");
        }
        None => {}
    }
    if let Some(s) = &f.source {
        sql.push(" AND source = ").bind(Arg::Text(s.clone()));
    }
    after(&mut sql, "occurred_at", "id", page);
    order_by(&mut sql, "occurred_at", "id", page);
    sql
}

fn events_sql(tenant: TenantId, customer: CustomerId, kind: Option<SourceKind>, page: PageRequest) -> Sql {
    let mut sql = Sql::new(
        "SELECT e.id, e.source_id, s.kind AS source_kind, s.name AS source_name, e.message_id, e.event_time, e.payload \
         FROM events e JOIN event_sources s ON s.tenant_id = e.tenant_id AND s.id = e.source_id WHERE e.tenant_id = ",
    );
    sql.bind(Arg::Uuid(tenant.0)).push(" AND e.customer_id = ").bind(Arg::Uuid(customer.0));
    if let Some(k) = kind {
        sql.push(" AND s.kind = ").bind(Arg::Text(k.as_str().into()));
    }
    after(&mut sql, "e.event_time", "e.id", page);
    order_by(&mut sql, "e.event_time", "e.id", page);
    sql
}

fn orders_sql(tenant: TenantId, customer: CustomerId, platform: Option<Platform>, page: PageRequest) -> Sql {
    let mut sql = crate::orders::select("tenant_id = ", Vec::new());
    sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id = ").bind(Arg::Uuid(customer.0));
    if let Some(p) = platform {
        sql.push(" AND platform = ").bind(Arg::Text(p.as_str().into()));
    }
    after(&mut sql, "placed_at", "id", page);
    order_by(&mut sql, "placed_at", "id", page);
    sql
}

impl Store {
    pub fn activity(&self) -> Activity<'_> {
        Activity(self)
    }
}

impl Activity<'_> {
    /// The customer's activity after the cursor, newest first: up to `limit + 1` items (the extra one only
    /// signals a next page).
    pub async fn of_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        filter: &ActivityFilter,
        page: PageRequest,
    ) -> Result<Vec<ActivityRecord>, StoreError> {
        let wants = |k: ActivityKind| filter.kind.is_none_or(|f| f == k);
        let source = filter.source.as_deref();
        let mut out = Vec::new();
        if filter.kind != Some(ActivityKind::Events) {
            let rows: Vec<EntryRow> = self.0.read_all(timeline_sql(tenant, customer, filter, page)).await?;
            out.extend(rows.into_iter().map(|r| ActivityRecord::Timeline(r.into())));
        }
        let source_kind = source.map(SourceKind::parse);
        if wants(ActivityKind::Events) && source_kind != Some(None) {
            let rows: Vec<EventRow> =
                self.0.read_all(events_sql(tenant, customer, source_kind.flatten(), page)).await?;
            for r in rows {
                let source_kind =
                    SourceKind::parse(&r.source_kind).ok_or_else(|| StoreError::Corrupt("event source kind".into()))?;
                let mut message = r.payload.0;
                message.message_id = Some(r.message_id);
                out.push(ActivityRecord::Event(Box::new(EventItem {
                    id: EventId(r.id),
                    source_id: SourceId(r.source_id),
                    source_kind,
                    source_name: r.source_name,
                    event_time: r.event_time,
                    message,
                })));
            }
        }
        let platform = source.map(|s| Platform::ALL.into_iter().find(|p| p.as_str() == s));
        if wants(ActivityKind::Orders) && platform != Some(None) {
            let rows: Vec<OrderRow> = self.0.read_all(orders_sql(tenant, customer, platform.flatten(), page)).await?;
            for r in rows {
                out.push(ActivityRecord::Order(Box::new(r.try_into()?)));
            }
        }
        out.sort_by(|a, b| b.at().cmp(&a.at()).then(b.id().cmp(&a.id())));
        out.truncate(page.limit as usize + 1);
        Ok(out)
    }
}
