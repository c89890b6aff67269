//! What in-memory evaluation of a segment needs about one customer beyond the profile and aggregates:
//! tags, customer groups, identity kinds, events (in the window the rule reads), purchased lines, consents
//! and static memberships, read the way the compiled SQL reads them.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use siyu_domain::id::{CustomerId, GroupId, SegmentId, TagId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::order::OrderStatus;
use siyu_domain::privacy::{ConsentPurpose, ConsentStatus};
use siyu_domain::segment::eval::{EventFact, PurchaseFact};
use sqlx::types::Json;
use uuid::Uuid;

use super::Segments;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{BackendKind, StoreError, on_pool};

/// One customer's facts for [`siyu_domain::segment::eval::Subject`].
#[derive(Debug, Clone, Default)]
pub struct SubjectFacts {
    pub tags: Vec<TagId>,
    /// The customer groups one of the customer's external_userids is a customer member of.
    pub groups: Vec<GroupId>,
    pub identities: Vec<IdentityKind>,
    pub events: Vec<EventFact>,
    pub purchases: Vec<PurchaseFact>,
    pub consents: Vec<(ConsentPurpose, ConsentStatus)>,
    pub memberships: Vec<SegmentId>,
}

/// Which events to load: none, all, or those since a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsSince {
    None,
    All,
    Since(DateTime<Utc>),
}

type PurchaseRow = (String, DateTime<Utc>, String, Option<String>, Option<String>, Option<String>);

/// The groups of the customer's external_userids. No DISTINCT and an [`BackendKind::unindexed`] kind: with
/// either, SQLite read the brand's identities by kind instead of probing the customer's own (15 s per
/// customer at a million customers, in the demo's order seeding); duplicates are dropped in Rust.
pub(super) fn groups_sql(kind: BackendKind) -> String {
    format!(
        "SELECT m.group_id FROM identities i JOIN group_members m ON m.tenant_id = i.tenant_id \
         AND m.member_key = i.lookup WHERE i.tenant_id = $1 AND i.customer_id = $2 \
         AND {}i.kind = 'external_userid' AND m.member_type = 2",
        kind.unindexed()
    )
}
/// The kinds of the customer's identities (deduplicated in Rust, see [`groups_sql`]).
pub(super) const KINDS: &str = "SELECT kind FROM identities WHERE tenant_id = $1 AND customer_id = $2";

impl Segments<'_> {
    pub async fn subject_facts(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        events: EventsSince,
    ) -> Result<SubjectFacts, StoreError> {
        let (t, c) = (Arg::Uuid(tenant.0), Arg::Uuid(customer.0));
        let both = || vec![t.clone(), c.clone()];
        let tags: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), Sql::with(
            "SELECT tag_id FROM customer_tags WHERE tenant_id = $1 AND customer_id = $2", both())).fetch_all(p).await)?;
        let groups_sql = Sql::with(&groups_sql(self.0.kind()), both());
        let mut groups: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), groups_sql).fetch_all(p).await)?;
        groups.sort_unstable();
        groups.dedup();
        let mut kinds: Vec<(String,)> =
            on_pool!(self.0, p => dyn_query_as!((String,), Sql::with(KINDS, both())).fetch_all(p).await)?;
        kinds.sort_unstable();
        kinds.dedup();
        let consents: Vec<(String, String)> = on_pool!(self.0, p => dyn_query_as!((String, String), Sql::with(
            "SELECT purpose, status FROM consents WHERE tenant_id = $1 AND customer_id = $2", both())).fetch_all(p).await)?;
        let purchases: Vec<PurchaseRow> = on_pool!(self.0, p => dyn_query_as!(PurchaseRow, Sql::with(
            "SELECT o.status, o.placed_at, l.refund, l.sku_id, l.product_id, l.title FROM orders o \
             JOIN order_lines l ON l.tenant_id = o.tenant_id AND l.order_id = o.id \
             WHERE o.tenant_id = $1 AND o.customer_id = $2", both())).fetch_all(p).await)?;
        let events = match events {
            EventsSince::None => Vec::new(),
            since => {
                let mut sql = Sql::with(
                    "SELECT name, event_time, payload FROM events WHERE tenant_id = $1 AND customer_id = $2 AND name IS NOT NULL",
                    both(),
                );
                if let EventsSince::Since(at) = since {
                    sql.push(" AND event_time >= ").bind(Arg::Time(at));
                }
                let rows: Vec<(String, DateTime<Utc>, Json<Value>)> =
                    on_pool!(self.0, p => dyn_query_as!((String, DateTime<Utc>, Json<Value>), sql).fetch_all(p).await)?;
                rows.into_iter()
                    .map(|(name, at, payload)| {
                        let properties = match payload.0 {
                            Value::Object(mut m) => match m.remove("properties") {
                                Some(Value::Object(props)) => props,
                                _ => Map::new(),
                            },
                            _ => Map::new(),
                        };
                        EventFact { name, at, properties }
                    })
                    .collect()
            }
        };
        let memberships = self.static_memberships(tenant, customer).await?;
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} {v}"));
        Ok(SubjectFacts {
            tags: tags.into_iter().map(|r| TagId(r.0)).collect(),
            groups: groups.into_iter().map(|r| GroupId(r.0)).collect(),
            identities: kinds.into_iter().filter_map(|(k,)| IdentityKind::parse(&k)).collect(),
            events,
            purchases: purchases
                .into_iter()
                .map(|(status, placed_at, refund, sku_id, product_id, title)| {
                    Ok(PurchaseFact {
                        status: OrderStatus::parse(&status).ok_or_else(|| corrupt("order status", &status))?,
                        placed_at,
                        fully_refunded: refund == "full",
                        sku_id,
                        product_id,
                        title,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            consents: consents
                .into_iter()
                .filter_map(|(p, s)| Some((ConsentPurpose::parse(&p)?, ConsentStatus::parse(&s)?)))
                .collect(),
            memberships,
        })
    }
}
