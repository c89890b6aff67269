//! Customer aggregates (`customer_aggregates`): one row per customer, recomputed from the customer's
//! orders, order lines and resolved events by `siyu_domain::aggregate::compute`.
//!
//! A refresh runs in one transaction ([`refresh_in_tx!`]), so an order import batch refreshes its
//! customers in the same transaction that writes their orders (`orders/write.rs`), and
//! [`Aggregates::refresh`] does it on its own for everything else (identity resolution, merges). Per chunk
//! of customers it first makes sure their rows exist (`INSERT … ON CONFLICT DO NOTHING`, in id order) and,
//! on PostgreSQL, locks them (`FOR UPDATE`): a second refresh of the same customer waits for the first to
//! commit and then reads everything committed, so the last refresh always wins with the full picture. On
//! SQLite the insert already holds the database's one write lock. It also raises `customers.last_active_at`
//! to the latest event or order, so the customer list's "last active" agrees with the profile.

use chrono::{DateTime, FixedOffset, Utc};
use siyu_domain::aggregate::{
    ChannelActivity, CustomerAggregates, EventFact, Facts, LineFact, OrderFact, ProductBought,
};
use siyu_domain::id::{CustomerId, OrderId, TenantId};
use siyu_domain::order::{OrderStatus, Platform, RefundState};
use siyu_domain::source::SourceKind;
use sqlx::types::Json;
use uuid::Uuid;

use crate::reader::read_row;
use crate::sql::{Arg, Sql};
use crate::{BackendKind, Store, StoreError, in_tx};

/// Customers refreshed per round of statements (the `IN` lists stay far below the bind limits).
pub const REFRESH_CHUNK: usize = 500;

/// The repository of customer aggregates (`store.aggregates()`).
pub struct Aggregates<'a>(pub(crate) &'a Store);

/// When a refresh runs and which offset from UTC the tenant counts business days in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshAt {
    pub offset: FixedOffset,
    pub now: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct CreatedRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct OrderFactRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub platform: String,
    pub status: String,
    pub placed_at: DateTime<Utc>,
    pub paid_fen: i64,
    pub refunded_fen: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LineFactRow {
    pub customer_id: Uuid,
    pub order_id: Uuid,
    pub sku_id: Option<String>,
    pub product_id: Option<String>,
    pub title: Option<String>,
    pub quantity: i64,
    pub refund: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventFactRow {
    pub customer_id: Uuid,
    pub kind: String,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub n: i64,
}

read_row! {
    #[derive(sqlx::FromRow)]
    struct AggregateRow {
        customer_id: Uuid,
        order_count: i64,
        order_days: i64,
        paid_fen: i64,
        refund_fen: i64,
        avg_paid_fen: i64,
        first_order_at: Option<DateTime<Utc>>,
        last_order_at: Option<DateTime<Utc>>,
        event_count: i64,
        first_seen_at: DateTime<Utc>,
        last_active_at: Option<DateTime<Utc>>,
        product_count: i64,
        platforms: Json<Vec<Platform>>,
        products: Json<Vec<ProductBought>>,
        channels: Json<Vec<ChannelActivity>>,
        computed_at: DateTime<Utc>,
    }
}

impl From<AggregateRow> for CustomerAggregates {
    fn from(r: AggregateRow) -> Self {
        Self {
            customer_id: CustomerId(r.customer_id),
            order_count: r.order_count,
            order_days: r.order_days,
            paid_fen: r.paid_fen,
            refund_fen: r.refund_fen,
            avg_paid_fen: r.avg_paid_fen,
            first_order_at: r.first_order_at,
            last_order_at: r.last_order_at,
            event_count: r.event_count,
            first_seen_at: r.first_seen_at,
            last_active_at: r.last_active_at,
            platforms: r.platforms.0,
            product_count: r.product_count,
            products: r.products.0,
            channels: r.channels.0,
            computed_at: r.computed_at,
        }
    }
}

/// `<head> WHERE <alias>tenant_id = $1 AND <alias><column> IN (…) <tail>` for one chunk of customers.
pub(crate) fn chunk_sql(head: &str, alias: &str, column: &str, tenant: TenantId, ids: &[Uuid], tail: &str) -> Sql {
    let mut sql = Sql::new(head);
    sql.push(" WHERE ").push(alias).push("tenant_id = ").bind(Arg::Uuid(tenant.0));
    sql.push(" AND ").push(alias).push(column).push(" IN ").bind_list(ids.iter().copied()).push(tail);
    sql
}

/// Makes sure every existing customer of the chunk has a row (in id order, so row locks are taken in one
/// order everywhere).
pub(crate) fn ensure_rows_sql(tenant: TenantId, ids: &[Uuid], now: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(
        "INSERT INTO customer_aggregates (tenant_id, customer_id, first_seen_at, computed_at) SELECT tenant_id, id, created_at, ",
    );
    sql.bind(Arg::Time(now)).push(" FROM customers WHERE tenant_id = ").bind(Arg::Uuid(tenant.0));
    sql.push(" AND id IN ").bind_list(ids.iter().copied());
    sql.push(" ORDER BY id ON CONFLICT (tenant_id, customer_id) DO NOTHING");
    sql
}

/// The statements reading a chunk's facts: customers, orders, lines, events by source kind.
pub(crate) fn facts_sql(tenant: TenantId, ids: &[Uuid]) -> [Sql; 4] {
    [
        chunk_sql("SELECT id, created_at FROM customers", "", "id", tenant, ids, ""),
        chunk_sql(
            "SELECT id, customer_id, platform, status, placed_at, paid_fen, refunded_fen FROM orders",
            "",
            "customer_id",
            tenant,
            ids,
            "",
        ),
        chunk_sql(
            "SELECT o.customer_id, l.order_id, l.sku_id, l.product_id, l.title, l.quantity, l.refund \
             FROM orders o JOIN order_lines l ON l.tenant_id = o.tenant_id AND l.order_id = o.id",
            "o.",
            "customer_id",
            tenant,
            ids,
            "",
        ),
        chunk_sql(
            "SELECT e.customer_id, s.kind, MIN(e.event_time) AS first_at, MAX(e.event_time) AS last_at, COUNT(*) AS n \
             FROM events e JOIN event_sources s ON s.tenant_id = e.tenant_id AND s.id = e.source_id",
            "e.",
            "customer_id",
            tenant,
            ids,
            " GROUP BY e.customer_id, s.kind",
        ),
    ]
}

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("aggregate input {what} {v}"))
}

/// Groups the facts by customer and computes every customer's aggregates.
pub(crate) fn assemble(
    customers: Vec<CreatedRow>,
    orders: Vec<OrderFactRow>,
    lines: Vec<LineFactRow>,
    events: Vec<EventFactRow>,
    at: RefreshAt,
) -> Result<Vec<CustomerAggregates>, StoreError> {
    let mut facts: std::collections::HashMap<Uuid, Facts> = customers
        .into_iter()
        .map(|c| {
            let f = Facts {
                customer: CustomerId(c.id),
                created_at: c.created_at,
                orders: Vec::new(),
                lines: Vec::new(),
                events: Vec::new(),
            };
            (c.id, f)
        })
        .collect();
    for o in orders {
        let Some(f) = facts.get_mut(&o.customer_id) else { continue };
        f.orders.push(OrderFact {
            id: OrderId(o.id),
            platform: Platform::parse(&o.platform).ok_or_else(|| corrupt("platform", &o.platform))?,
            status: OrderStatus::parse(&o.status).ok_or_else(|| corrupt("status", &o.status))?,
            placed_at: o.placed_at,
            paid_fen: o.paid_fen,
            refunded_fen: o.refunded_fen,
        });
    }
    for l in lines {
        let Some(f) = facts.get_mut(&l.customer_id) else { continue };
        let refund = [RefundState::None, RefundState::InProgress, RefundState::Partial, RefundState::Full]
            .into_iter()
            .find(|s| s.as_str() == l.refund)
            .ok_or_else(|| corrupt("line refund", &l.refund))?;
        f.lines.push(LineFact {
            order: OrderId(l.order_id),
            sku_id: l.sku_id,
            product_id: l.product_id,
            title: l.title,
            quantity: l.quantity,
            refund,
        });
    }
    for e in events {
        let Some(f) = facts.get_mut(&e.customer_id) else { continue };
        let kind = SourceKind::parse(&e.kind).ok_or_else(|| corrupt("source kind", &e.kind))?;
        f.events.push(EventFact { kind, first_at: e.first_at, last_at: e.last_at, count: e.n });
    }
    let mut out: Vec<CustomerAggregates> =
        facts.into_values().map(|f| siyu_domain::aggregate::compute(&f, at.offset, at.now)).collect();
    out.sort_by_key(|a| a.customer_id);
    Ok(out)
}

/// Refreshes the aggregates of `$customers` (`&[CustomerId]`) inside the transaction `$tx`; `$pg` says
/// whether the backend is PostgreSQL (which locks the rows). Expands to statements using `?`.
macro_rules! refresh_in_tx {
    ($tx:ident, $tenant:expr, $customers:expr, $at:expr, $pg:expr) => {{
        let tenant: siyu_domain::id::TenantId = $tenant;
        let at: $crate::aggregates::RefreshAt = $at;
        let mut ids: Vec<uuid::Uuid> = $customers.iter().map(|c: &siyu_domain::id::CustomerId| c.0).collect();
        ids.sort();
        ids.dedup();
        for chunk in ids.chunks($crate::aggregates::REFRESH_CHUNK) {
            $crate::sql::dyn_query!($crate::aggregates::ensure_rows_sql(tenant, chunk, at.now))
                .execute(&mut *$tx)
                .await?;
            // What a customer's orders and events say changed: their dynamic segments are due again.
            $crate::sql::dyn_query!($crate::segments::dirty::mark_sql(tenant, chunk, at.now))
                .execute(&mut *$tx)
                .await?;
            if $pg {
                let lock = $crate::aggregates::chunk_sql(
                    "SELECT customer_id FROM customer_aggregates",
                    "",
                    "customer_id",
                    tenant,
                    chunk,
                    " ORDER BY customer_id FOR UPDATE",
                );
                $crate::sql::dyn_query!(lock).fetch_all(&mut *$tx).await?;
            }
            let [customers, orders, lines, events] = $crate::aggregates::facts_sql(tenant, chunk);
            use $crate::aggregates::{CreatedRow, EventFactRow, LineFactRow, OrderFactRow};
            let customers = $crate::sql::dyn_query_as!(CreatedRow, customers).fetch_all(&mut *$tx).await?;
            let orders = $crate::sql::dyn_query_as!(OrderFactRow, orders).fetch_all(&mut *$tx).await?;
            let lines = $crate::sql::dyn_query_as!(LineFactRow, lines).fetch_all(&mut *$tx).await?;
            let events = $crate::sql::dyn_query_as!(EventFactRow, events).fetch_all(&mut *$tx).await?;
            for a in $crate::aggregates::assemble(customers, orders, lines, events, at)? {
                $crate::aggregates::update_row!(tenant, &a).execute(&mut *$tx).await?;
                if let Some(last) = a.last_active_at {
                    sqlx::query(
                        "UPDATE customers SET last_active_at = $3 WHERE tenant_id = $1 AND id = $2 \
                         AND (last_active_at IS NULL OR last_active_at < $3)",
                    )
                    .bind(tenant.0)
                    .bind(a.customer_id.0)
                    .bind(last)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
        }
    }};
}
pub(crate) use refresh_in_tx;

/// `UPDATE` of one customer's row with freshly computed aggregates.
macro_rules! update_row {
    ($tenant:expr, $a:expr) => {{
        let a: &siyu_domain::aggregate::CustomerAggregates = $a;
        sqlx::query(
            "UPDATE customer_aggregates SET order_count = $3, order_days = $4, paid_fen = $5, refund_fen = $6, \
             avg_paid_fen = $7, first_order_at = $8, last_order_at = $9, event_count = $10, first_seen_at = $11, \
             last_active_at = $12, product_count = $13, platforms = $14, products = $15, channels = $16, \
             computed_at = $17 WHERE tenant_id = $1 AND customer_id = $2",
        )
        .bind($tenant.0)
        .bind(a.customer_id.0)
        .bind(a.order_count)
        .bind(a.order_days)
        .bind(a.paid_fen)
        .bind(a.refund_fen)
        .bind(a.avg_paid_fen)
        .bind(a.first_order_at)
        .bind(a.last_order_at)
        .bind(a.event_count)
        .bind(a.first_seen_at)
        .bind(a.last_active_at)
        .bind(a.product_count)
        .bind(sqlx::types::Json(a.platforms.clone()))
        .bind(sqlx::types::Json(a.products.clone()))
        .bind(sqlx::types::Json(a.channels.clone()))
        .bind(a.computed_at)
    }};
}
pub(crate) use update_row;

impl Store {
    pub fn aggregates(&self) -> Aggregates<'_> {
        Aggregates(self)
    }
}

impl Aggregates<'_> {
    /// Recomputes the aggregates of `customers` (unknown ids are skipped) in one transaction.
    pub async fn refresh(&self, tenant: TenantId, customers: &[CustomerId], at: RefreshAt) -> Result<(), StoreError> {
        if customers.is_empty() {
            return Ok(());
        }
        let pg = self.0.kind() == BackendKind::Postgres;
        in_tx!(self.0, tx => refresh_in_tx!(tx, tenant, customers, at, pg));
        Ok(())
    }

    /// A customer's stored aggregates; `None` when none were computed yet.
    pub async fn get(&self, tenant: TenantId, customer: CustomerId) -> Result<Option<CustomerAggregates>, StoreError> {
        let sql = Sql::with(
            "SELECT customer_id, order_count, order_days, paid_fen, refund_fen, avg_paid_fen, first_order_at, \
             last_order_at, event_count, first_seen_at, last_active_at, product_count, platforms, products, channels, \
             computed_at FROM customer_aggregates WHERE tenant_id = $1 AND customer_id = $2",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(customer.0)],
        );
        let row: Option<AggregateRow> = self.0.read_optional(sql).await?;
        Ok(row.map(Into::into))
    }

    /// The tenant's customer ids after `after`, in id order, at most `limit`: what a full rebuild walks.
    pub async fn customer_ids(
        &self,
        tenant: TenantId,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let mut sql = Sql::new("SELECT id FROM customers WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0));
        if let Some(a) = after {
            sql.push(" AND id > ").bind(Arg::Uuid(a.0));
        }
        sql.push(" ORDER BY id").limit(i64::from(limit));
        let rows: Vec<(Uuid,)> = self.0.read_all(sql).await?;
        Ok(rows.into_iter().map(|r| CustomerId(r.0)).collect())
    }
}
