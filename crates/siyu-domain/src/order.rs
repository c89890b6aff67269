//! Orders imported from Chinese e-commerce exports (淘宝/天猫, 京东, 拼多多, 有赞, 抖店, the own mall, or
//! any file with a user-made column mapping): the model, and the normaliser that turns rows of text cells
//! into orders. Pure: no IO, no async. Reading files (CSV in GBK/GB18030/UTF-8/UTF-16, XLSX) is
//! `siyu_app::transfer::table`; storing orders and matching buyers is the import job's.
//!
//! # Using it (the import job)
//!
//! ```text
//! let table = Table::read(filename, bytes)?;                       // siyu-app
//! let mapping = Mapping::detect(&table.headers)?;                   // or Mapping::for_platform / Mapping::custom
//! let rows: Vec<Row> = table.rows.iter().map(|r| Row { line: r.line, cells: &r.cells }).collect();
//! let result = normalise(&mapping, &table.headers, &rows, &NormaliseOptions { shop, appid, ..Default::default() });
//! // result.orders: upsert each by (tenant, platform, shop, order_id); result.errors / result.skipped: report
//! ```
//!
//! - [`detect`] scores the header row against every platform; [`Mapping::suggest`] pre-fills a generic
//!   mapping for the console; [`Mapping::custom`] takes the user's field → column choice.
//! - [`normalise`] never panics and never stops at a bad row. A row contributes to its order completely or
//!   not at all, and **an order with any bad row is skipped as a whole** and listed in
//!   [`Normalised::skipped`] (half an order would store wrong totals and status; the corrected file imports
//!   it later). Identical rows are collapsed ([`Normalised::duplicate_lines`]); totals rows are ignored.
//! - Amounts are `i64` fen, parsed without floats ([`parse_fen`]). Times are UTC, read as Beijing time.
//!
//! # Storing and re-importing
//!
//! - The unique key is `(tenant, platform, shop, order_id)` ([`Order::key`]). `shop` comes from the file's
//!   shop column, else [`NormaliseOptions::shop`]; it is empty when neither says (one shop per platform).
//! - On a re-import compare with the stored order: [`Order::fingerprint`] is equal when nothing changed
//!   (row order and row numbers do not count). Otherwise apply [`reconcile`] to the statuses: `Moved`
//!   → update the order and append a status event; `Kept` → the file is an older snapshot, keep the stored
//!   order. A status never moves backwards (table in [`status`]).
//! - Keep `source_lines` and the batch for the audit trail; keep the receiver as encrypted contact
//!   attributes of the order (never as customer identities).
//!
//! # Matching buyers (commerce.md §6, cdp.md §2.1)
//!
//! [`Buyer::keys`] are safe for automatic matching, in precedence order: unionid, openid (only with
//! [`NormaliseOptions::appid`]), the platform buyer id (`IdentityKind::PlatformBuyer`, namespace = platform
//! name), and a full buyer mobile. Receiver phones, masked and virtual numbers and masked buyer ids are never
//! keys; they come back as [`MatchHint`]s for merge suggestions or manual claims. An order without keys
//! (Pinduoduo and Douyin exports have no buyer id) stays unmatched until claimed.

mod assembly;
pub mod catalogue;
pub mod cell;
pub mod contact;
pub mod field;
pub mod format;
pub mod mall;
pub mod money;
pub mod normaliser;
pub mod platform;
pub mod problem;
pub mod row;
pub mod status;

#[cfg(test)]
mod samples;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use contact::{Buyer, BuyerKey, ContactPhone, MatchHint, PhoneKind, PhoneRole, Receiver};
pub use field::{Field, OrderTotals};
pub use format::{Candidate, Detection, Mapping, MappingError, detect};
pub use mall::MallOrderInput;
pub use money::{allocate, format_fen, parse_fen};
pub use normaliser::{NormaliseOptions, Normalised, normalise};
pub use platform::Platform;
pub use problem::{Reason, RowError, SkippedOrder};
pub use row::Row;
pub use status::{OrderStatus, RefundState, StatusChange, reconcile};

/// An order as a platform export describes it, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    pub platform: Platform,
    /// The shop (店铺) on the platform; empty when neither the file nor the import said.
    pub shop: String,
    /// The platform's order number (淘宝 订单编号, 京东 订单号, 抖店 主订单编号).
    pub order_id: String,
    pub buyer: Buyer,
    /// Where it was sent: contact attributes of this order only.
    pub receiver: Receiver,
    /// Evidence for merge suggestions that must never match automatically.
    pub hints: Vec<MatchHint>,
    pub status: OrderStatus,
    pub created_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Goods before order discounts, shipping excluded.
    pub total_fen: i64,
    /// Shop and platform discounts together.
    pub discount_fen: i64,
    pub shipping_fen: i64,
    /// What the buyer paid, shipping included.
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub lines: Vec<OrderLine>,
    /// The file rows the order came from (duplicates excluded).
    pub source_lines: Vec<u32>,
}

/// One item of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderLine {
    /// The platform's sub-order number (淘宝 子订单编号, 抖店 子订单编号), when the export has one.
    pub line_id: Option<String>,
    /// The seller's SKU code (商家编码, 货号, 规格编码).
    pub sku_id: Option<String>,
    /// The platform's product id (商品ID).
    pub product_id: Option<String>,
    pub title: Option<String>,
    /// The chosen variant (商品属性, 商品规格).
    pub spec: Option<String>,
    pub quantity: u32,
    pub unit_price_fen: Option<i64>,
    /// What the buyer paid for this line after discounts, shipping excluded (given or allocated).
    pub paid_fen: i64,
    pub refund: RefundState,
    pub refunded_fen: i64,
    /// The file row of this line.
    pub source_line: u32,
}

impl Order {
    /// The unique key within a tenant: platform, shop, order id.
    pub fn key(&self) -> (Platform, &str, &str) {
        (self.platform, &self.shop, &self.order_id)
    }

    /// A stable hash of everything the order says, row numbers excluded and lines in a canonical order:
    /// equal fingerprints mean a re-import changes nothing. 16 hex digits (FNV-1a, 64 bit); not a
    /// security measure.
    pub fn fingerprint(&self) -> String {
        let mut canonical = self.clone();
        canonical.source_lines.clear();
        for line in &mut canonical.lines {
            line.source_line = 0;
        }
        canonical.lines.sort_by(|a, b| {
            (&a.line_id, &a.product_id, &a.sku_id, &a.title, &a.spec, a.quantity, a.paid_fen).cmp(&(
                &b.line_id,
                &b.product_id,
                &b.sku_id,
                &b.title,
                &b.spec,
                b.quantity,
                b.paid_fen,
            ))
        });
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        let hash =
            bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
        format!("{hash:016x}")
    }

    /// How this order's status changes a stored one (see [`reconcile`]).
    pub fn status_change(&self, stored: OrderStatus) -> StatusChange {
        reconcile(stored, self.status)
    }

    /// Σ line paid + shipping: equal to `paid_fen` unless the export's own line amounts disagree with it.
    pub fn lines_paid_with_shipping(&self) -> i64 {
        self.lines.iter().fold(self.shipping_fen, |a, l| a.saturating_add(l.paid_fen))
    }
}
