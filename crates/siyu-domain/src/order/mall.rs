//! Orders the tenant's own mall sends one at a time (`POST /api/v1/orders`): the JSON body, checked and
//! turned into the same [`Order`] an export row becomes, so it takes the import's path from there on
//! (reconcile with the stored order, match the buyer, write with history and timeline).
//!
//! Rules:
//! - The platform is always [`Platform::OwnMall`]; the key is `(own_mall, shop, platform_order_id)`.
//! - Times may carry any offset; they are stored in UTC to the millisecond.
//! - Amounts are fen, never negative. Line amounts: either every line gives `paid_fen` and they add up
//!   with shipping to the order's `paid_fen`, or none does and `paid_fen − shipping_fen` is allocated by
//!   list amount (unit price × quantity, else quantity), by largest remainder (commerce.md §1).
//! - Refunds add up to `refunded_fen` and never exceed what was paid, per line and per order. A `refunded`
//!   order without refunds refunded everything (as the import reads it).
//! - Buyer keys in matching precedence: unionid, openid (with its appid), the mall's buyer id, a full
//!   mobile. A masked or virtual phone and a masked buyer id are kept as hints and never match.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::cell::{MAX_ID_CHARS, bounded_text, order_id};
use super::contact::{is_masked_id, phone_hints};
use super::money::{MAX_FEN, allocate};
use super::{Buyer, BuyerKey, ContactPhone, MatchHint, Order, OrderLine, OrderStatus, PhoneKind, PhoneRole, Platform};
use super::{Receiver, RefundState};
use crate::Invalid;
use crate::id::CustomerId;
use crate::identity::IdentityKind;

/// Lines an order may have.
pub const MAX_LINES: usize = 500;

/// An order from the tenant's own mall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MallOrderInput {
    /// The mall's order number: with `shop`, the key a re-post updates.
    pub platform_order_id: String,
    /// The shop or store within the mall; empty when there is one.
    #[serde(default)]
    pub shop: String,
    pub status: OrderStatus,
    pub ordered_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Goods before discounts, shipping excluded; default `paid_fen − shipping_fen + discount_fen`.
    pub total_fen: Option<i64>,
    #[serde(default)]
    pub discount_fen: i64,
    #[serde(default)]
    pub shipping_fen: i64,
    /// What the buyer paid, shipping included.
    pub paid_fen: i64,
    #[serde(default)]
    pub lines: Vec<MallLineInput>,
    #[serde(default)]
    pub refunds: Vec<MallRefundInput>,
    #[serde(default)]
    pub buyer: MallBuyerInput,
    pub receiver: Option<MallReceiverInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MallLineInput {
    /// The mall's sub-order or line number (refunds may name it).
    pub line_id: Option<String>,
    pub sku_id: Option<String>,
    pub product_id: Option<String>,
    pub title: Option<String>,
    pub spec: Option<String>,
    pub quantity: u32,
    pub unit_price_fen: Option<i64>,
    /// Paid for the line after discounts, shipping excluded; give it on every line or on none.
    pub paid_fen: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MallRefundInput {
    pub amount_fen: i64,
    /// The line refunded (its `line_id`); absent for an order-level refund.
    pub line_id: Option<String>,
    pub refunded_at: Option<DateTime<Utc>>,
}

/// Who bought: any of these identify them; `customer_id` names the customer outright.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MallBuyerInput {
    pub customer_id: Option<CustomerId>,
    pub unionid: Option<String>,
    /// Needs `appid`.
    pub openid: Option<String>,
    pub appid: Option<String>,
    /// A full mobile; a masked one (`138****5678`) is kept as a hint and never matches.
    pub phone: Option<String>,
    /// The mall's own buyer or member id.
    pub platform_buyer_id: Option<String>,
    pub nick: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MallReceiverInput {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

/// Times are kept to the millisecond, like every stored time.
fn ms(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    t.map(|t| t.trunc_subsecs(3))
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn amount(field: &str, v: i64) -> Result<i64, Invalid> {
    match v {
        v if v < 0 => Err(Invalid::new(field, "negative_amount")),
        v if v > MAX_FEN => Err(Invalid::new(field, "amount_out_of_range")),
        v => Ok(v),
    }
}

fn id_text(field: &str, v: &str, required: bool) -> Result<Option<String>, Invalid> {
    let v = v.trim();
    if v.is_empty() {
        return if required { Err(Invalid::new(field, "required")) } else { Ok(None) };
    }
    order_id(v)
        .map(Some)
        .map_err(|_| Invalid::new(field, format!("invalid_id (at most {MAX_ID_CHARS} characters, no spaces)")))
}

fn key(field: &str, kind: IdentityKind, namespace: Option<&str>, value: &str) -> Result<BuyerKey, Invalid> {
    BuyerKey::new(kind, namespace, value).ok_or_else(|| Invalid::new(field, "invalid_identifier"))
}

impl MallOrderInput {
    /// Checks the body and builds the order (field names in errors are the body's: `lines[1].quantity`).
    pub fn into_order(self) -> Result<Order, Invalid> {
        let Some(order_no) = id_text("platform_order_id", &self.platform_order_id, true)? else {
            return Err(Invalid::new("platform_order_id", "required"));
        };
        let shop = match self.shop.trim() {
            s if s.chars().count() > MAX_ID_CHARS => return Err(Invalid::new("shop", "too_long")),
            s => bounded_text(s),
        };
        let paid = amount("paid_fen", self.paid_fen)?;
        let shipping = amount("shipping_fen", self.shipping_fen)?;
        let discount = amount("discount_fen", self.discount_fen)?;
        if shipping > paid {
            return Err(Invalid::new("shipping_fen", "exceeds_paid"));
        }
        let total = match self.total_fen {
            Some(t) => amount("total_fen", t)?,
            None => paid - shipping + discount,
        };
        let mut lines = lines(&self.lines, paid - shipping)?;
        let mut refunded = refunds(&self.refunds, &mut lines, paid)?;
        if self.status == OrderStatus::Refunded && self.refunds.is_empty() {
            refunded = paid;
            for l in &mut lines {
                l.refund = RefundState::Full;
                l.refunded_fen = l.paid_fen;
            }
        }
        let (buyer, mut hints) = buyer(&self.buyer)?;
        let receiver = self.receiver.as_ref().map(receiver).unwrap_or_default();
        hints.extend(phone_hints(receiver.phone.as_ref(), PhoneRole::Receiver));
        Ok(Order {
            platform: Platform::OwnMall,
            shop,
            order_id: order_no,
            buyer,
            receiver,
            hints,
            status: self.status,
            created_at: ms(self.ordered_at),
            paid_at: ms(self.paid_at),
            shipped_at: ms(self.shipped_at),
            finished_at: ms(self.finished_at),
            total_fen: total,
            discount_fen: discount,
            shipping_fen: shipping,
            paid_fen: paid,
            refunded_fen: refunded,
            lines,
            source_lines: Vec::new(),
        })
    }
}

/// The lines, their paid amounts given (adding up to `goods_paid`) or allocated from it.
fn lines(input: &[MallLineInput], goods_paid: i64) -> Result<Vec<OrderLine>, Invalid> {
    if input.len() > MAX_LINES {
        return Err(Invalid::new("lines", format!("too_many (at most {MAX_LINES})")));
    }
    let given = input.iter().filter(|l| l.paid_fen.is_some()).count();
    if given != 0 && given != input.len() {
        let i = input.iter().position(|l| l.paid_fen.is_none()).unwrap_or(0);
        return Err(Invalid::new(format!("lines[{i}].paid_fen"), "required_on_every_line_or_none"));
    }
    let mut out = Vec::with_capacity(input.len());
    for (i, l) in input.iter().enumerate() {
        let f = |name: &str| format!("lines[{i}].{name}");
        if l.quantity == 0 {
            return Err(Invalid::new(f("quantity"), "invalid_quantity"));
        }
        let title = present(&l.title).map(bounded_text);
        let sku_id = id_text(&f("sku_id"), l.sku_id.as_deref().unwrap_or(""), false)?;
        let product_id = id_text(&f("product_id"), l.product_id.as_deref().unwrap_or(""), false)?;
        if title.is_none() && sku_id.is_none() && product_id.is_none() {
            return Err(Invalid::new(f("title"), "required (or sku_id, product_id)"));
        }
        out.push(OrderLine {
            line_id: id_text(&f("line_id"), l.line_id.as_deref().unwrap_or(""), false)?,
            sku_id,
            product_id,
            title,
            spec: present(&l.spec).map(bounded_text),
            quantity: l.quantity,
            unit_price_fen: l.unit_price_fen.map(|p| amount(&f("unit_price_fen"), p)).transpose()?,
            paid_fen: l.paid_fen.map(|p| amount(&f("paid_fen"), p)).transpose()?.unwrap_or(0),
            refund: RefundState::None,
            refunded_fen: 0,
            source_line: 0,
        });
    }
    if given > 0 {
        if out.iter().map(|l| l.paid_fen).sum::<i64>() != goods_paid {
            return Err(Invalid::new("lines", "paid_mismatch (Σ lines paid_fen + shipping_fen ≠ paid_fen)"));
        }
    } else if !out.is_empty() {
        let weights: Vec<i64> =
            out.iter().map(|l| l.unit_price_fen.map_or(0, |p| p.saturating_mul(i64::from(l.quantity)))).collect();
        let weights =
            if weights.iter().all(|w| *w > 0) { weights } else { out.iter().map(|l| i64::from(l.quantity)).collect() };
        for (l, share) in out.iter_mut().zip(allocate(goods_paid, &weights)) {
            l.paid_fen = share;
        }
    }
    Ok(out)
}

/// Applies the refunds to the lines they name; returns the order's refunded total.
fn refunds(input: &[MallRefundInput], lines: &mut [OrderLine], paid: i64) -> Result<i64, Invalid> {
    let mut total = 0i64;
    for (i, r) in input.iter().enumerate() {
        let amount_fen = amount(&format!("refunds[{i}].amount_fen"), r.amount_fen)?;
        if amount_fen == 0 {
            return Err(Invalid::new(format!("refunds[{i}].amount_fen"), "must_be_positive"));
        }
        total = total.saturating_add(amount_fen);
        if total > paid {
            return Err(Invalid::new("refunds", "refund_exceeds_paid"));
        }
        let Some(line_id) = present(&r.line_id) else { continue };
        let line = lines
            .iter_mut()
            .find(|l| l.line_id.as_deref() == Some(line_id))
            .ok_or_else(|| Invalid::new(format!("refunds[{i}].line_id"), "unknown_line"))?;
        line.refunded_fen += amount_fen;
        if line.refunded_fen > line.paid_fen {
            return Err(Invalid::new(format!("refunds[{i}].amount_fen"), "refund_exceeds_paid"));
        }
        line.refund = if line.refunded_fen == line.paid_fen { RefundState::Full } else { RefundState::Partial };
    }
    Ok(total)
}

/// The buyer's keys in precedence order, and hints from what may not match.
fn buyer(b: &MallBuyerInput) -> Result<(Buyer, Vec<MatchHint>), Invalid> {
    let (mut keys, mut hints) = (Vec::new(), Vec::new());
    if let Some(v) = present(&b.unionid) {
        keys.push(key("buyer.unionid", IdentityKind::Unionid, None, v)?);
    }
    match (present(&b.openid), present(&b.appid)) {
        (Some(v), Some(appid)) => keys.push(key("buyer.openid", IdentityKind::Openid, Some(appid), v)?),
        (Some(_), None) => return Err(Invalid::new("buyer.appid", "required_with_openid")),
        _ => {}
    }
    if let Some(v) = present(&b.platform_buyer_id) {
        if is_masked_id(v) {
            hints.push(MatchHint::MaskedBuyerId { value: v.to_string() });
        } else {
            let ns = Platform::OwnMall.buyer_namespace();
            keys.push(key("buyer.platform_buyer_id", IdentityKind::PlatformBuyer, Some(ns), v)?);
        }
    }
    let phone = present(&b.phone).and_then(ContactPhone::classify);
    if let Some(p) = &phone {
        match (p.kind, p.e164.as_deref()) {
            (PhoneKind::Mobile, Some(e164)) => keys.push(key("buyer.phone", IdentityKind::Phone, None, e164)?),
            (PhoneKind::Other, _) => return Err(Invalid::new("buyer.phone", "invalid_phone")),
            _ => hints.extend(phone_hints(Some(p), PhoneRole::Buyer)),
        }
    }
    let nick = present(&b.nick).map(|n| n.chars().filter(|c| !c.is_control()).take(64).collect());
    Ok((Buyer { keys, nick, phone }, hints))
}

fn receiver(r: &MallReceiverInput) -> Receiver {
    Receiver {
        name: present(&r.name).map(bounded_text),
        phone: present(&r.phone).and_then(ContactPhone::classify),
        address: present(&r.address).map(bounded_text),
    }
}

#[cfg(test)]
mod tests;
