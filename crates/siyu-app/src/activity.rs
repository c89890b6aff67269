//! A customer's activity: timeline entries, the events identity resolution linked to them
//! (`events.customer_id`) and their orders in one list, newest first, filterable by kind (all, events,
//! orders, tags, identity, notes, other; `siyu_domain::activity`) and by source, in cursor pages.
//!
//! `source` is an event source kind (`web`, `mini_program`, `server`, `import`) for events, a platform
//! (`taobao`, `jd`, `own_mall`, …) for orders, and the writing system (`console`, `api`, `order_import`, …)
//! for timeline entries. An order stands in the list once, at the time it was placed; its later status
//! changes are timeline entries of kind `orders`. Reading needs `customers_read` and the customer in scope.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use siyu_domain::Invalid;
use siyu_domain::access::Permission;
use siyu_domain::activity::ActivityKind;
use siyu_domain::id::{CustomerId, EventId, SourceId};
use siyu_domain::page::{Page, PageRequest};
use siyu_domain::source::SourceKind;
use siyu_domain::timeline::TimelineEntry;
use siyu_store::activity::{ActivityRecord, EventItem};
use uuid::Uuid;

pub use siyu_store::activity::ActivityFilter;

use crate::error::AppResult;
use crate::orders::OrderView;
use crate::{Actor, App};

/// Longest `source` filter, in characters.
const MAX_SOURCE: usize = 64;

/// Which of an item's `timeline`, `event` and `order` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityItemType {
    Timeline,
    Event,
    Order,
}

/// An event as the activity list shows it (its properties as stored: personal data sealed at ingest).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: EventId,
    pub source_id: SourceId,
    pub source_kind: SourceKind,
    pub source_name: String,
    /// `track`, `page`, `screen`, `identify`, `group` or `alias`.
    pub event_type: String,
    /// The track event (`Order Completed`) or the page or screen name.
    pub name: Option<String>,
    #[schema(value_type = Object)]
    pub properties: Value,
}

/// One item of a customer's activity.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActivityItem {
    /// The timeline entry's, event's or order's id.
    pub id: Uuid,
    /// When it happened: the entry's time, the event time, the order's placing time.
    pub at: DateTime<Utc>,
    pub kind: ActivityKind,
    /// The event source kind, the order platform, or the system that wrote the timeline entry.
    pub source: String,
    #[serde(rename = "type")]
    pub item_type: ActivityItemType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<TimelineEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<EventView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderView>,
}

impl From<EventItem> for EventView {
    fn from(e: EventItem) -> Self {
        let m = e.message;
        Self {
            id: e.id,
            source_id: e.source_id,
            source_kind: e.source_kind,
            source_name: e.source_name,
            event_type: serde_json::to_value(m.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            name: m.event.or(m.name),
            properties: Value::Object(m.properties),
        }
    }
}

impl From<ActivityRecord> for ActivityItem {
    fn from(r: ActivityRecord) -> Self {
        let (id, at) = (r.id(), r.at());
        let item = |kind, source, item_type| Self {
            id,
            at,
            kind,
            source,
            item_type,
            timeline: None,
            event: None,
            order: None,
        };
        match r {
            ActivityRecord::Timeline(e) => {
                let (kind, source) = (ActivityKind::of_timeline(&e.kind), e.source.clone());
                Self { timeline: Some(e), ..item(kind, source, ActivityItemType::Timeline) }
            }
            ActivityRecord::Event(e) => {
                let source = e.source_kind.as_str().to_string();
                Self { event: Some((*e).into()), ..item(ActivityKind::Events, source, ActivityItemType::Event) }
            }
            ActivityRecord::Order(o) => {
                let source = o.platform.as_str().to_string();
                Self { order: Some(OrderView::from(*o)), ..item(ActivityKind::Orders, source, ActivityItemType::Order) }
            }
        }
    }
}

/// The filter from the query's `kind` (empty or `all` for every kind) and `source`.
pub fn activity_filter(kind: Option<&str>, source: Option<&str>) -> Result<ActivityFilter, Invalid> {
    let kind = ActivityKind::parse_filter(kind)?;
    let source = source.map(str::trim).filter(|s| !s.is_empty() && *s != "all");
    if source.is_some_and(|s| s.chars().count() > MAX_SOURCE || s.chars().any(char::is_control)) {
        return Err(Invalid::new("source", "invalid_source"));
    }
    Ok(ActivityFilter { kind, source: source.map(str::to_string) })
}

impl App {
    /// A customer's activity, newest first (see the module docs).
    pub async fn customer_activity(
        &self,
        actor: &Actor,
        customer: CustomerId,
        filter: &ActivityFilter,
        page: PageRequest,
    ) -> AppResult<Page<ActivityItem>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let rows = self.store.activity().of_customer(actor.tenant, customer, filter, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, ActivityRecord::cursor).map(ActivityItem::from))
    }
}
