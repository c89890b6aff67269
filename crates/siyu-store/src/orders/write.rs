//! Writing one batch of an order import in one transaction: new orders with their lines, new snapshots
//! of stored orders (compare-and-set on the snapshot the import read), customers attached to orders that
//! had none, status history and timeline entries, and the aggregates of the customers it touched.

use std::sync::LazyLock;

use siyu_domain::id::{CustomerId, OrderId, TenantId};
use siyu_domain::order::OrderStatus;
use siyu_domain::timeline::TimelineEntry;

use super::{Orders, StatusEvent, StoredOrder};
use crate::aggregates::{RefreshAt, refresh_in_tx};
use crate::statements::insert_timeline;
use crate::{BackendKind, StoreError, in_tx};

/// The conflict a batch answers when a stored order changed since the import read it, or another import
/// inserted one of its new orders first: nothing of the batch was written; read again and retry.
pub const ORDERS_CHANGED: &str = "orders_changed";

/// One decision of the import about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderWrite {
    /// A new order with its lines.
    Insert(StoredOrder),
    /// A new snapshot of a stored order: every column but `created_at` and the match, and all lines, are
    /// replaced, provided the stored order still has `expected_fingerprint` and `expected_status`. An order
    /// without a customer takes the snapshot's `customer_id`; one with a customer keeps it.
    Replace { order: StoredOrder, expected_fingerprint: String, expected_status: OrderStatus },
    /// Attaches a customer to a stored order that has none (an order matched on a later import).
    Attach { id: OrderId, customer: CustomerId, method: String },
}

/// Everything one batch of an import writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderBatch {
    pub writes: Vec<OrderWrite>,
    /// Status history rows to append (the first status of new orders, moves of stored ones).
    pub history: Vec<StatusEvent>,
    /// Timeline entries of the matched customers (`order_imported`, `order_status_changed`).
    pub timeline: Vec<TimelineEntry>,
    /// Refresh the aggregates of every customer the writes name, in the same transaction.
    pub aggregates: Option<RefreshAt>,
}

impl OrderBatch {
    /// The customers the batch's writes attach orders to or change orders of.
    pub fn customers(&self) -> Vec<CustomerId> {
        let mut out: Vec<CustomerId> = self
            .writes
            .iter()
            .filter_map(|w| match w {
                OrderWrite::Insert(o) | OrderWrite::Replace { order: o, .. } => o.order.customer_id,
                OrderWrite::Attach { customer, .. } => Some(*customer),
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Binds the snapshot columns of an order (everything an import may replace), in the order of
/// [`SNAPSHOT`], after the binds `$q` already has.
macro_rules! bind_snapshot {
    ($q:expr, $o:expr) => {{
        let o: &$crate::orders::OrderRecord = $o;
        let r = &o.receiver;
        let kind = r.phone_kind.and_then(|k| serde_json::to_value(k).ok()).and_then(|v| v.as_str().map(str::to_string));
        $q.bind(o.customer_id.map(|c| c.0))
            .bind(o.match_method.clone())
            .bind(o.status.as_str())
            .bind(o.placed_at)
            .bind(o.ordered_at)
            .bind(o.paid_at)
            .bind(o.shipped_at)
            .bind(o.finished_at)
            .bind(o.total_fen)
            .bind(o.discount_fen)
            .bind(o.shipping_fen)
            .bind(o.paid_fen)
            .bind(o.refunded_fen)
            .bind(o.fingerprint.clone())
            .bind(o.buyer_nick.clone())
            .bind(sqlx::types::Json(o.buyer_keys.clone()))
            .bind(sqlx::types::Json(o.hints.clone()))
            .bind(r.name_enc.clone())
            .bind(r.phone_enc.clone())
            .bind(kind)
            .bind(r.phone_display.clone())
            .bind(r.phone_lookup.clone())
            .bind(r.address_enc.clone())
            .bind(o.import_id.map(|i| i.0))
            .bind(o.updated_at)
    }};
}

/// The snapshot columns, bound by [`bind_snapshot!`].
const SNAPSHOT: [&str; 25] = [
    "customer_id",
    "match_method",
    "status",
    "placed_at",
    "ordered_at",
    "paid_at",
    "shipped_at",
    "finished_at",
    "total_fen",
    "discount_fen",
    "shipping_fen",
    "paid_fen",
    "refunded_fen",
    "fingerprint",
    "buyer_nick",
    "buyer_keys",
    "hints",
    "receiver_name_enc",
    "receiver_phone_enc",
    "receiver_phone_kind",
    "receiver_phone_display",
    "receiver_phone_lookup",
    "receiver_address_enc",
    "import_id",
    "updated_at",
];

/// `INSERT`: the key and `created_at` in `$1`–`$6`, the snapshot from `$7`.
static INSERT: LazyLock<String> = LazyLock::new(|| {
    let values: Vec<String> = (1..=6 + SNAPSHOT.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO orders (tenant_id, id, platform, shop, platform_order_id, created_at, {}) VALUES ({})",
        SNAPSHOT.join(", "),
        values.join(", ")
    )
});

/// `UPDATE` of the snapshot (from `$3`) where `$1`, `$2` is the order and the stored snapshot still has the
/// expected fingerprint and status (the two binds after the snapshot). The match is only filled, never
/// replaced.
static REPLACE: LazyLock<String> = LazyLock::new(|| {
    let n = SNAPSHOT.len();
    let sets: Vec<String> = SNAPSHOT
        .iter()
        .enumerate()
        .map(|(i, c)| match *c {
            "customer_id" => format!("customer_id = COALESCE(customer_id, ${})", i + 3),
            "match_method" => {
                format!("match_method = CASE WHEN customer_id IS NULL THEN ${} ELSE match_method END", i + 3)
            }
            _ => format!("{c} = ${}", i + 3),
        })
        .collect();
    format!(
        "UPDATE orders SET {} WHERE tenant_id = $1 AND id = $2 AND fingerprint = ${} AND status = ${}",
        sets.join(", "),
        n + 3,
        n + 4
    )
});

macro_rules! insert_lines {
    ($tx:ident, $tenant:expr, $o:expr) => {{
        let o: &$crate::orders::StoredOrder = $o;
        for (no, l) in o.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO order_lines (tenant_id, order_id, line_no, line_id, sku_id, product_id, title, spec, \
                 quantity, unit_price_fen, paid_fen, refund, refunded_fen, source_line) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind($tenant.0)
            .bind(o.order.id.0)
            .bind(no as i64)
            .bind(l.line_id.clone())
            .bind(l.sku_id.clone())
            .bind(l.product_id.clone())
            .bind(l.title.clone())
            .bind(l.spec.clone())
            .bind(i64::from(l.quantity))
            .bind(l.unit_price_fen)
            .bind(l.paid_fen)
            .bind(l.refund.as_str())
            .bind(l.refunded_fen)
            .bind(i64::from(l.source_line))
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Orders<'_> {
    /// Applies one batch atomically. A stored order that changed since it was read, or a new order another
    /// import inserted first, answers `Conflict(ORDERS_CHANGED)` and leaves nothing of the batch behind.
    pub async fn write(&self, tenant: TenantId, batch: &OrderBatch) -> Result<(), StoreError> {
        let (pg, customers) = (self.0.kind() == BackendKind::Postgres, batch.customers());
        let result: Result<(), StoreError> = async {
            in_tx!(self.0, tx => {
                for w in &batch.writes {
                    match w {
                        OrderWrite::Insert(o) => {
                            let q = sqlx::query(INSERT.as_str())
                                .bind(tenant.0)
                                .bind(o.order.id.0)
                                .bind(o.order.platform.as_str())
                                .bind(o.order.shop.clone())
                                .bind(o.order.platform_order_id.clone())
                                .bind(o.order.created_at);
                            bind_snapshot!(q, &o.order).execute(&mut *tx).await?;
                            insert_lines!(tx, tenant, o);
                        }
                        OrderWrite::Replace { order, expected_fingerprint, expected_status } => {
                            let q = sqlx::query(REPLACE.as_str()).bind(tenant.0).bind(order.order.id.0);
                            let done = bind_snapshot!(q, &order.order)
                                .bind(expected_fingerprint.clone())
                                .bind(expected_status.as_str())
                                .execute(&mut *tx)
                                .await?;
                            if done.rows_affected() == 0 {
                                return Err(StoreError::Conflict(ORDERS_CHANGED.into()));
                            }
                            sqlx::query("DELETE FROM order_lines WHERE tenant_id = $1 AND order_id = $2")
                                .bind(tenant.0)
                                .bind(order.order.id.0)
                                .execute(&mut *tx)
                                .await?;
                            insert_lines!(tx, tenant, order);
                        }
                        OrderWrite::Attach { id, customer, method } => {
                            let done = sqlx::query(
                                "UPDATE orders SET customer_id = $3, match_method = $4 \
                                 WHERE tenant_id = $1 AND id = $2 AND customer_id IS NULL",
                            )
                            .bind(tenant.0)
                            .bind(id.0)
                            .bind(customer.0)
                            .bind(method.clone())
                            .execute(&mut *tx)
                            .await?;
                            if done.rows_affected() == 0 {
                                return Err(StoreError::Conflict(ORDERS_CHANGED.into()));
                            }
                        }
                    }
                }
                for h in &batch.history {
                    sqlx::query(
                        "INSERT INTO order_status_history (tenant_id, order_id, id, from_status, to_status, at, import_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(tenant.0)
                    .bind(h.order_id.0)
                    .bind(h.id)
                    .bind(h.from.map(OrderStatus::as_str))
                    .bind(h.to.as_str())
                    .bind(h.at)
                    .bind(h.import_id.map(|i| i.0))
                    .execute(&mut *tx)
                    .await?;
                }
                for e in &batch.timeline {
                    insert_timeline!(tenant, e).execute(&mut *tx).await?;
                }
                if let Some(at) = batch.aggregates {
                    refresh_in_tx!(tx, tenant, &customers, at, pg);
                }
            });
            Ok(())
        }
        .await;
        result.map_err(|e| match e {
            StoreError::Conflict(c) if c.contains("orders") => StoreError::Conflict(ORDERS_CHANGED.into()),
            other => other,
        })
    }
}
