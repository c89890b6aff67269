//! Imported orders: one row per `(tenant, platform, shop, platform order id)`, its lines, and the
//! append-only history of its status.
//!
//! The store keeps what it is given: the app matches buyers, encrypts the receiver ([`SealedReceiver`]),
//! turns phone identifiers into blind indexes ([`SealedKey`]) and decides, with the domain's `reconcile`,
//! whether an order is new, changed, unchanged or an older snapshot. [`Orders::write`] then applies one
//! batch of those decisions in one transaction (`orders/write.rs`), with compare-and-set on the stored
//! snapshot so two imports racing on the same order never overwrite each other silently.

mod write;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use siyu_domain::id::{CustomerId, JobId, OrderId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::order::{MatchHint, OrderLine, OrderStatus, PhoneKind, Platform, RefundState};
use siyu_domain::page::{Cursor, PageRequest};
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::OptionExt;
use crate::reader::{read_row, read_together};
use crate::sql::{Arg, Sql};
use crate::{Store, StoreError};

pub use write::{ORDERS_CHANGED, OrderBatch, OrderWrite};

/// The repository of imported orders (`store.orders()`).
pub struct Orders<'a>(pub(crate) &'a Store);

/// A buyer identifier kept on an order: `lookup` is the blind index for PII kinds (phones), else the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SealedKey {
    pub kind: IdentityKind,
    pub namespace: String,
    pub lookup: String,
}

/// The receiver of an order as stored: ciphertext under the tenant key, plus what may be shown and looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedReceiver {
    pub name_enc: Option<Vec<u8>>,
    /// The phone as exported (possibly masked or with an extension), encrypted.
    pub phone_enc: Option<Vec<u8>>,
    pub phone_kind: Option<PhoneKind>,
    /// The masked phone (`138****5678`).
    pub phone_display: Option<String>,
    /// The phone blind index, for full mobiles only.
    pub phone_lookup: Option<String>,
    pub address_enc: Option<Vec<u8>>,
}

/// One stored order, without its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub id: OrderId,
    pub platform: Platform,
    pub shop: String,
    pub platform_order_id: String,
    /// The matched customer; `None` while unmatched.
    pub customer_id: Option<CustomerId>,
    /// How it was matched: an identity kind (`unionid`, `platform_buyer`, `phone`, ...) or `prospect`.
    pub match_method: Option<String>,
    pub status: OrderStatus,
    /// `ordered_at`, else `paid_at`, else the first import time: what lists sort by.
    pub placed_at: DateTime<Utc>,
    pub ordered_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub total_fen: i64,
    pub discount_fen: i64,
    pub shipping_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    /// `Order::fingerprint` of the stored snapshot.
    pub fingerprint: String,
    pub buyer_nick: Option<String>,
    pub buyer_keys: Vec<SealedKey>,
    pub hints: Vec<MatchHint>,
    pub receiver: SealedReceiver,
    /// The import that last wrote the snapshot: its job id (a fresh id for a CLI run).
    pub import_id: Option<JobId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An order with its lines, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    pub order: OrderRecord,
    pub lines: Vec<OrderLine>,
}

/// One status an order took; `from` is `None` for its first import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    pub id: Uuid,
    pub order_id: OrderId,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub at: DateTime<Utc>,
    pub import_id: Option<JobId>,
}

const COLUMNS: &str = "id, platform, shop, platform_order_id, customer_id, match_method, status, placed_at, \
     ordered_at, paid_at, shipped_at, finished_at, total_fen, discount_fen, shipping_fen, paid_fen, refunded_fen, \
     fingerprint, buyer_nick, buyer_keys, hints, receiver_name_enc, receiver_phone_enc, receiver_phone_kind, \
     receiver_phone_display, receiver_phone_lookup, receiver_address_enc, import_id, created_at, updated_at";

read_row! {
    #[derive(sqlx::FromRow)]
    pub(crate) struct OrderRow {
        id: Uuid,
        platform: String,
        shop: String,
        platform_order_id: String,
        customer_id: Option<Uuid>,
        match_method: Option<String>,
        status: String,
        placed_at: DateTime<Utc>,
        ordered_at: Option<DateTime<Utc>>,
        paid_at: Option<DateTime<Utc>>,
        shipped_at: Option<DateTime<Utc>>,
        finished_at: Option<DateTime<Utc>>,
        total_fen: i64,
        discount_fen: i64,
        shipping_fen: i64,
        paid_fen: i64,
        refunded_fen: i64,
        fingerprint: String,
        buyer_nick: Option<String>,
        buyer_keys: Json<Vec<SealedKey>>,
        hints: Json<Vec<MatchHint>>,
        receiver_name_enc: Option<Vec<u8>>,
        receiver_phone_enc: Option<Vec<u8>>,
        receiver_phone_kind: Option<String>,
        receiver_phone_display: Option<String>,
        receiver_phone_lookup: Option<String>,
        receiver_address_enc: Option<Vec<u8>>,
        import_id: Option<Uuid>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

read_row! {
    #[derive(sqlx::FromRow)]
    struct LineRow {
        line_id: Option<String>,
        sku_id: Option<String>,
        product_id: Option<String>,
        title: Option<String>,
        spec: Option<String>,
        quantity: i64,
        unit_price_fen: Option<i64>,
        paid_fen: i64,
        refund: String,
        refunded_fen: i64,
        source_line: i64,
    }
}

read_row! {
    #[derive(sqlx::FromRow)]
    struct HistoryRow {
        id: Uuid,
        order_id: Uuid,
        from_status: Option<String>,
        to_status: String,
        at: DateTime<Utc>,
        import_id: Option<Uuid>,
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("order {what} {value}"))
}

fn status(s: &str) -> Result<OrderStatus, StoreError> {
    OrderStatus::parse(s).ok_or_else(|| corrupt("status", s))
}

fn phone_kind(s: &str) -> Result<PhoneKind, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| corrupt("phone kind", s))
}

impl TryFrom<OrderRow> for OrderRecord {
    type Error = StoreError;
    fn try_from(r: OrderRow) -> Result<Self, StoreError> {
        Ok(OrderRecord {
            id: OrderId(r.id),
            platform: Platform::parse(&r.platform).ok_or_else(|| corrupt("platform", &r.platform))?,
            shop: r.shop,
            platform_order_id: r.platform_order_id,
            customer_id: r.customer_id.map(CustomerId),
            match_method: r.match_method,
            status: status(&r.status)?,
            placed_at: r.placed_at,
            ordered_at: r.ordered_at,
            paid_at: r.paid_at,
            shipped_at: r.shipped_at,
            finished_at: r.finished_at,
            total_fen: r.total_fen,
            discount_fen: r.discount_fen,
            shipping_fen: r.shipping_fen,
            paid_fen: r.paid_fen,
            refunded_fen: r.refunded_fen,
            fingerprint: r.fingerprint,
            buyer_nick: r.buyer_nick,
            buyer_keys: r.buyer_keys.0,
            hints: r.hints.0,
            receiver: SealedReceiver {
                name_enc: r.receiver_name_enc,
                phone_enc: r.receiver_phone_enc,
                phone_kind: r.receiver_phone_kind.as_deref().map(phone_kind).transpose()?,
                phone_display: r.receiver_phone_display,
                phone_lookup: r.receiver_phone_lookup,
                address_enc: r.receiver_address_enc,
            },
            import_id: r.import_id.map(JobId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl TryFrom<LineRow> for OrderLine {
    type Error = StoreError;
    fn try_from(r: LineRow) -> Result<Self, StoreError> {
        let refund = [RefundState::None, RefundState::InProgress, RefundState::Partial, RefundState::Full]
            .into_iter()
            .find(|s| s.as_str() == r.refund)
            .ok_or_else(|| corrupt("line refund", &r.refund))?;
        Ok(OrderLine {
            line_id: r.line_id,
            sku_id: r.sku_id,
            product_id: r.product_id,
            title: r.title,
            spec: r.spec,
            quantity: u32::try_from(r.quantity).map_err(|_| corrupt("line quantity", &r.quantity.to_string()))?,
            unit_price_fen: r.unit_price_fen,
            paid_fen: r.paid_fen,
            refund,
            refunded_fen: r.refunded_fen,
            source_line: u32::try_from(r.source_line).unwrap_or(0),
        })
    }
}

impl TryFrom<HistoryRow> for StatusEvent {
    type Error = StoreError;
    fn try_from(r: HistoryRow) -> Result<Self, StoreError> {
        Ok(StatusEvent {
            id: r.id,
            order_id: OrderId(r.order_id),
            from: r.from_status.as_deref().map(status).transpose()?,
            to: status(&r.to_status)?,
            at: r.at,
            import_id: r.import_id.map(JobId),
        })
    }
}

pub(crate) fn select(filter: &str, args: Vec<Arg>) -> Sql {
    Sql::with(&format!("SELECT {COLUMNS} FROM orders WHERE {filter}"), args)
}

fn lines_sql(tenant: TenantId, order: OrderId) -> Sql {
    Sql::with(
        "SELECT line_id, sku_id, product_id, title, spec, quantity, unit_price_fen, paid_fen, refund, refunded_fen, \
         source_line FROM order_lines WHERE tenant_id = $1 AND order_id = $2 ORDER BY line_no",
        vec![Arg::Uuid(tenant.0), Arg::Uuid(order.0)],
    )
}

impl Store {
    pub fn orders(&self) -> Orders<'_> {
        Orders(self)
    }
}

impl Orders<'_> {
    /// The stored orders of one platform and shop among `order_ids` (the platform's numbers); unknown ids
    /// are absent. What an import compares its batch with.
    pub async fn find_many(
        &self,
        tenant: TenantId,
        platform: Platform,
        shop: &str,
        order_ids: &[String],
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let mut out = Vec::with_capacity(order_ids.len());
        for chunk in order_ids.chunks(500) {
            let mut sql = select("tenant_id = ", Vec::new());
            sql.bind(Arg::Uuid(tenant.0)).push(" AND platform = ").bind(Arg::Text(platform.as_str().into()));
            sql.push(" AND shop = ").bind(Arg::Text(shop.into())).push(" AND platform_order_id IN (");
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Arg::Text(id.clone()));
            }
            sql.push(")");
            let rows: Vec<OrderRow> = self.0.read_all(sql).await?;
            for r in rows {
                out.push(r.try_into()?);
            }
        }
        Ok(out)
    }

    /// An order with its lines.
    pub async fn get(&self, tenant: TenantId, id: OrderId) -> Result<StoredOrder, StoreError> {
        let order = select("tenant_id = $1 AND id = $2", vec![Arg::Uuid(tenant.0), Arg::Uuid(id.0)]);
        let lines = lines_sql(tenant, id);
        let (order, lines) = read_together!(self.0, optional OrderRow = order, all LineRow = lines)?;
        Ok(StoredOrder {
            order: order.found()?.try_into()?,
            lines: lines.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?,
        })
    }

    /// An order by its platform key, with its lines.
    pub async fn by_key(
        &self,
        tenant: TenantId,
        platform: Platform,
        shop: &str,
        order_id: &str,
    ) -> Result<StoredOrder, StoreError> {
        let found = self.find_many(tenant, platform, shop, &[order_id.to_string()]).await?;
        let id = found.first().map(|o| o.id).found()?;
        self.get(tenant, id).await
    }

    /// A customer's orders, most recently placed first; returns up to `limit + 1` (the extra one signals a
    /// next page). Lines are not included.
    pub async fn of_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        page: PageRequest,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let mut sql = select("tenant_id = ", Vec::new());
        sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id = ").bind(Arg::Uuid(customer.0));
        if let Some(Cursor { at, id }) = page.after {
            sql.push(" AND (placed_at < ").bind(Arg::Time(at));
            sql.push(" OR (placed_at = ").bind(Arg::Time(at)).push(" AND id < ").bind(Arg::Uuid(id)).push("))");
        }
        sql.push(" ORDER BY placed_at DESC, id DESC").limit(i64::from(page.limit) + 1);
        let rows: Vec<OrderRow> = self.0.read_all(sql).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// How many orders the tenant has, or one customer has.
    pub async fn count(&self, tenant: TenantId, customer: Option<CustomerId>) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM orders WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0));
        if let Some(c) = customer {
            sql.push(" AND customer_id = ").bind(Arg::Uuid(c.0));
        }
        let row: Option<(i64,)> = self.0.read_optional(sql).await?;
        Ok(row.map_or(0, |r| r.0))
    }

    /// How many orders a customer has and their paid and refunded totals, in fen.
    pub async fn totals(&self, tenant: TenantId, customer: CustomerId) -> Result<(i64, i64, i64), StoreError> {
        let sql = Sql::with(
            "SELECT COUNT(*), CAST(COALESCE(SUM(paid_fen), 0) AS BIGINT), CAST(COALESCE(SUM(refunded_fen), 0) AS BIGINT) \
             FROM orders WHERE tenant_id = $1 AND customer_id = $2",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(customer.0)],
        );
        let row: Option<(i64, i64, i64)> = self.0.read_optional(sql).await?;
        Ok(row.unwrap_or_default())
    }

    /// An order's status history, oldest first.
    pub async fn history(&self, tenant: TenantId, order: OrderId) -> Result<Vec<StatusEvent>, StoreError> {
        let sql = Sql::with(
            "SELECT id, order_id, from_status, to_status, at, import_id FROM order_status_history \
             WHERE tenant_id = $1 AND order_id = $2 ORDER BY id",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(order.0)],
        );
        let rows: Vec<HistoryRow> = self.0.read_all(sql).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
