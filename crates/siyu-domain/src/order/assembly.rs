//! Building one [`Order`] from its parsed rows.
//!
//! - Buyer identifiers must agree across the rows (a disagreement is an error, never a merge); other
//!   order texts take the first non-empty value.
//! - Order amounts follow the mapping's [`OrderTotals`]: repeated totals must agree, shares are summed.
//! - Times: the earliest created, paid and shipped time, the latest finished time.
//! - Status: rows that disagree (Douyin sub-orders) combine to the most advanced open status; closed or
//!   refunded rows next to open ones make the order partially refunded. Refund amounts and refund texts
//!   then settle it: everything paid refunded → `refunded`, some → `partially_refunded`, a closed order
//!   with any refund → `refunded`. Without a status column the times decide (finished → received,
//!   shipped → shipped, paid time or amount → paid).
//! - Amounts: `paid` from the paid column, else Σ line paid + shipping; `total` from its column, else
//!   Σ unit price × quantity, else paid − shipping + discount; `discount` from its columns (shop +
//!   platform), else total + shipping − paid when positive. Lines without a paid amount share what is
//!   left of paid − shipping by largest remainder, weighted by unit price × quantity.
//! - A refunded order without a refund amount counts everything paid as refunded. An order never paid
//!   (pending, or closed without a payment time in a file that has that column) has paid 0: exports print
//!   the payable amount there.

use super::cell;
use super::field::{Field, OrderTotals};
use super::format::Mapping;
use super::money::{allocate, format_fen as yuan};
use super::normaliser::{NormaliseOptions, people};
use super::problem::{Reason, RowError};
use super::row::Record;
use super::status::{OrderStatus, RefundState};
use super::{Order, OrderLine};
use Field::*;

pub(super) fn assemble(
    mapping: &Mapping,
    headers: &[String],
    records: &[Record],
    options: &NormaliseOptions,
) -> Result<Order, Vec<RowError>> {
    let Some(head) = records.first() else { return Err(Vec::new()) };
    let mut errors = Vec::new();
    let column = |f: Field| mapping.column(f).and_then(|c| headers.get(c)).map(|h| cell::clean(h));
    let conflict = |line: u32, f: Field, detail: String| {
        let m = format!("rows of order {} disagree on {}{detail}", head.order_id, f.as_str());
        RowError::new(line, Reason::ConflictingOrderValue, m).at(f, column(f).as_deref())
    };
    for field in [BuyerId, BuyerPhone, Unionid, Openid] {
        let first = records.iter().find_map(|r| r.text.get(&field));
        for r in records {
            if let (Some(a), Some(b)) = (first, r.text.get(&field))
                && a != b
            {
                errors.push(conflict(r.line, field, String::new()));
            }
        }
    }
    let mut amount = |field: Field| -> Option<i64> {
        let present: Vec<(u32, i64)> =
            records.iter().filter_map(|r| r.amounts.get(&field).map(|a| (r.line, *a))).collect();
        let (_, first) = *present.first()?;
        match mapping.totals {
            OrderTotals::Repeated => {
                for (line, a) in &present {
                    if *a != first {
                        errors.push(conflict(*line, field, format!(" ({} and {})", yuan(first), yuan(*a))));
                    }
                }
                Some(first)
            }
            OrderTotals::Summed => present.iter().try_fold(0i64, |acc, (_, a)| acc.checked_add(*a)).or_else(|| {
                let m = format!("the {} of order {} is too large", field.as_str(), head.order_id);
                errors.push(RowError::new(head.line, Reason::AmountOutOfRange, m));
                None
            }),
        }
    };
    let paid_col = amount(PaidAmount);
    let shipping = amount(ShippingAmount).unwrap_or(0);
    let total_col = amount(TotalAmount);
    let shop_discount = amount(DiscountAmount);
    let platform_discount = amount(PlatformDiscountAmount);
    let refunded_col = amount(RefundedAmount);
    let first = |f: Field| records.iter().find_map(|r| r.text.get(&f).cloned());
    let time = |f: Field, latest: bool| {
        let times = records.iter().filter_map(|r| r.times.get(&f).copied());
        if latest { times.max() } else { times.min() }
    };
    let (created_at, paid_at, shipped_at, finished_at) =
        (time(CreatedAt, false), time(PaidAt, false), time(ShippedAt, false), time(FinishedAt, true));

    let statuses: Vec<OrderStatus> = records.iter().filter_map(|r| r.status).collect();
    let (combined, some_rows_closed) = combine(&statuses);
    let summed = mapping.totals == OrderTotals::Summed;
    let mut lines: Vec<OrderLine> = Vec::with_capacity(records.len());
    let mut known: Vec<Option<i64>> = Vec::with_capacity(records.len());
    for r in records {
        let row_paid =
            r.amounts.get(&PaidAmount).map(|p| (p - r.amounts.get(&ShippingAmount).copied().unwrap_or(0)).max(0));
        known.push(r.amounts.get(&LinePaidAmount).copied().or(if summed { row_paid } else { None }));
        let mut refund = r.text.get(&LineRefundStatus).map(|t| RefundState::from_text(t)).unwrap_or_default();
        refund = match r.status {
            Some(OrderStatus::Refunded) => RefundState::Full,
            Some(OrderStatus::Closed) if some_rows_closed => RefundState::Full,
            Some(OrderStatus::PartiallyRefunded) if refund != RefundState::Full => RefundState::Partial,
            _ => refund,
        };
        lines.push(OrderLine {
            line_id: r.text.get(&LineId).cloned(),
            sku_id: r.text.get(&SkuId).cloned(),
            product_id: r.text.get(&ProductId).cloned(),
            title: r.text.get(&Title).cloned(),
            spec: r.text.get(&Spec).cloned(),
            quantity: r.quantity.unwrap_or(1),
            unit_price_fen: r.amounts.get(&UnitPrice).copied(),
            paid_fen: 0,
            refund,
            refunded_fen: r.amounts.get(&LineRefundAmount).copied().unwrap_or(0),
            source_line: r.line,
        });
    }
    let list: Option<i64> = lines.iter().try_fold(0i64, |acc, l| {
        l.unit_price_fen.and_then(|u| u.checked_mul(i64::from(l.quantity))).and_then(|x| acc.checked_add(x))
    });
    let paid = match paid_col {
        Some(p) => p,
        None => match known.iter().try_fold(0i64, |acc, k| k.and_then(|k| acc.checked_add(k))) {
            Some(sum) => sum.saturating_add(shipping),
            None => {
                let m = format!("order {} has no paid amount", head.order_id);
                errors.push(RowError::new(head.line, Reason::MissingPaidAmount, m).at(PaidAmount, None));
                0
            }
        },
    };
    let discount_col = match (shop_discount, platform_discount) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    };
    let total_data = total_col.or(list);
    let total = total_data.unwrap_or_else(|| (paid - shipping + discount_col.unwrap_or(0)).max(0));
    let discount = discount_col.unwrap_or_else(|| match total_data {
        Some(t) if paid > 0 => t.saturating_add(shipping).saturating_sub(paid).max(0),
        _ => 0,
    });
    let goods_paid = (paid - shipping).max(0);
    let known_sum: i64 = known.iter().flatten().fold(0i64, |a, k| a.saturating_add(*k));
    let unknown: Vec<usize> = (0..lines.len()).filter(|i| known.get(*i).is_some_and(Option::is_none)).collect();
    let weights: Vec<i64> = unknown
        .iter()
        .filter_map(|i| lines.get(*i))
        .map(|l| l.unit_price_fen.map_or(i64::from(l.quantity), |u| u.saturating_mul(i64::from(l.quantity))))
        .collect();
    let shares = allocate((goods_paid - known_sum).max(0), &weights);
    for (line, k) in lines.iter_mut().zip(&known) {
        line.paid_fen = k.unwrap_or(0);
    }
    for (i, share) in unknown.iter().zip(shares) {
        if let Some(line) = lines.get_mut(*i) {
            line.paid_fen = share;
        }
    }
    for line in &mut lines {
        if line.refund == RefundState::Full && line.refunded_fen == 0 {
            line.refunded_fen = line.paid_fen;
        }
    }
    let line_refunds = lines.iter().any(|l| l.refunded_fen > 0 || l.refund == RefundState::Full);
    let mut refunded = refunded_col
        .or_else(|| line_refunds.then(|| lines.iter().fold(0i64, |a, l| a.saturating_add(l.refunded_fen))))
        .unwrap_or(0);
    let order_refund = first(RefundStatus).map(|t| RefundState::from_text(&t)).unwrap_or_default();
    let base = combined.unwrap_or(if finished_at.is_some() {
        OrderStatus::Received
    } else if shipped_at.is_some() {
        OrderStatus::Shipped
    } else if paid_at.is_some() || paid > 0 {
        OrderStatus::Paid
    } else {
        OrderStatus::PendingPayment
    });
    let states: Vec<RefundState> = lines.iter().map(|l| l.refund).collect();
    let status = settle(base, paid, refunded, &states, order_refund, some_rows_closed);
    // Exports print the payable amount on orders never paid; nothing was paid.
    let never_paid = status == OrderStatus::PendingPayment
        || (status == OrderStatus::Closed && paid_at.is_none() && mapping.column(PaidAt).is_some());
    let paid = if never_paid {
        lines.iter_mut().for_each(|l| l.paid_fen = 0);
        0
    } else {
        paid
    };
    let discount = if never_paid { discount_col.unwrap_or(0) } else { discount };
    if status == OrderStatus::Refunded && refunded == 0 {
        refunded = paid;
        for line in &mut lines {
            line.refund = RefundState::Full;
            line.refunded_fen = line.paid_fen;
        }
    }
    if refunded > paid {
        let m = format!("order {} refunds {} of {} paid", head.order_id, yuan(refunded), yuan(paid));
        errors.push(
            RowError::new(head.line, Reason::RefundExceedsPaid, m)
                .at(RefundedAmount, column(RefundedAmount).as_deref()),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (buyer, receiver, hints) = people(mapping.platform, &first, options);
    Ok(Order {
        platform: mapping.platform,
        shop: first(Shop).or_else(|| options.shop.clone()).unwrap_or_default(),
        order_id: head.order_id.clone(),
        buyer,
        receiver,
        hints,
        status,
        created_at,
        paid_at,
        shipped_at,
        finished_at,
        total_fen: total,
        discount_fen: discount,
        shipping_fen: shipping,
        paid_fen: paid,
        refunded_fen: refunded,
        lines,
        source_lines: Vec::new(),
    })
}

/// Combines the statuses of an order's rows: the most advanced open one, and whether some rows are
/// closed or refunded while others are not.
fn combine(statuses: &[OrderStatus]) -> (Option<OrderStatus>, bool) {
    use OrderStatus::*;
    let Some(first) = statuses.first() else { return (None, false) };
    if statuses.iter().all(|s| s == first) {
        return (Some(*first), false);
    }
    let open: Vec<OrderStatus> = statuses.iter().copied().filter(|s| !matches!(s, Closed | Refunded)).collect();
    if open.is_empty() {
        return (Some(if statuses.contains(&Refunded) { Refunded } else { Closed }), false);
    }
    let rank = |s: &OrderStatus| match s {
        PendingPayment => 0,
        Paid | PartiallyRefunded => 1,
        Shipped => 2,
        _ => 3,
    };
    let most = open.iter().copied().filter(|s| *s != PartiallyRefunded).max_by_key(rank).unwrap_or(PartiallyRefunded);
    (Some(most), open.len() < statuses.len())
}

/// Applies refunds to the fulfilment status (see the module docs).
fn settle(
    base: OrderStatus,
    paid: i64,
    refunded: i64,
    lines: &[RefundState],
    order_refund: RefundState,
    some_rows_closed: bool,
) -> OrderStatus {
    use OrderStatus::*;
    if base == PendingPayment {
        return PendingPayment;
    }
    let all_lines = !lines.is_empty() && lines.iter().all(|s| *s == RefundState::Full);
    let full = base == Refunded
        || (paid > 0 && refunded >= paid)
        || all_lines
        || (order_refund == RefundState::Full && (refunded == 0 || refunded >= paid));
    let partial = refunded > 0
        || some_rows_closed
        || base == PartiallyRefunded
        || matches!(order_refund, RefundState::Partial | RefundState::Full)
        || lines.iter().any(|s| matches!(s, RefundState::Partial | RefundState::Full));
    match base {
        Closed if full || partial => Refunded,
        Closed => Closed,
        _ if full => Refunded,
        _ if partial => PartiallyRefunded,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn rows_with_different_statuses_combine_to_the_most_advanced_open_one() {
        assert_eq!(combine(&[Paid, Paid]), (Some(Paid), false));
        assert_eq!(combine(&[Paid, Shipped]), (Some(Shipped), false));
        assert_eq!(combine(&[Received, Closed]), (Some(Received), true));
        assert_eq!(combine(&[Closed, Refunded]), (Some(Refunded), false));
        assert_eq!(combine(&[]), (None, false));
    }

    #[test]
    fn refunds_settle_the_status() {
        let none = RefundState::None;
        assert_eq!(settle(Received, 1000, 0, &[none], none, false), Received);
        assert_eq!(settle(Received, 1000, 300, &[none], none, false), PartiallyRefunded);
        assert_eq!(settle(Shipped, 1000, 1000, &[none], none, false), Refunded);
        assert_eq!(settle(Closed, 1000, 1000, &[none], none, false), Refunded);
        assert_eq!(settle(Closed, 1000, 0, &[none], none, false), Closed);
        assert_eq!(settle(Paid, 1000, 0, &[RefundState::Full, none], none, false), PartiallyRefunded);
        assert_eq!(settle(Paid, 1000, 0, &[RefundState::Full], none, false), Refunded);
        assert_eq!(settle(Paid, 1000, 0, &[none], RefundState::Full, false), Refunded);
        assert_eq!(settle(PendingPayment, 0, 0, &[RefundState::Full], none, false), PendingPayment);
    }
}
