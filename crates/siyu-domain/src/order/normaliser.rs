//! From rows to orders: grouping by order id, collapsing duplicate rows, checking that the rows of an
//! order agree, deriving totals, line amounts and the status, and emitting buyer identifiers.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};

use super::cell::BEIJING;
use super::contact::{
    Buyer, BuyerKey, ContactPhone, MatchHint, PhoneKind, PhoneRole, Receiver, is_masked_id, phone_hints,
};
use super::field::Field;
use super::format::Mapping;
use super::platform::Platform;
use super::problem::{Reason, RowError, SkippedOrder};
use super::row::{self, Outcome, Record, Row};
use super::{Order, assembly};
use crate::identity::IdentityKind;

/// What the import job knows that the file may not say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NormaliseOptions {
    /// The shop the file was exported from, used when the file has no shop column (or it is empty).
    pub shop: Option<String>,
    /// The appid of the own mall's mini-program or official account; openids are only emitted with it.
    pub appid: Option<String>,
    /// The UTC offset the export's times are written in, in minutes (480: Beijing time, which every
    /// supported platform uses).
    pub utc_offset_minutes: i32,
}

impl Default for NormaliseOptions {
    fn default() -> Self {
        Self { shop: None, appid: None, utc_offset_minutes: 480 }
    }
}

impl NormaliseOptions {
    /// The offset of the export's times; Beijing time when `utc_offset_minutes` is out of range.
    pub fn offset(&self) -> FixedOffset {
        self.utc_offset_minutes.checked_mul(60).and_then(FixedOffset::east_opt).unwrap_or(BEIJING)
    }
}

/// The outcome of normalising one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Normalised {
    pub platform: Platform,
    /// Good orders, in order of first appearance in the file.
    pub orders: Vec<Order>,
    /// Every problem, by row: bad cells, disagreeing rows, and `order_has_bad_row` on the good rows of
    /// skipped orders.
    pub errors: Vec<RowError>,
    /// Orders left out because of a bad row.
    pub skipped: Vec<SkippedOrder>,
    /// Rows identical to an earlier row, collapsed into it.
    pub duplicate_lines: Vec<u32>,
    /// Totals rows (合计) and rows without any mapped value.
    pub ignored_lines: Vec<u32>,
    /// Data rows read.
    pub rows: usize,
}

impl Normalised {
    /// Number of order lines among the good orders.
    pub fn line_count(&self) -> usize {
        self.orders.iter().map(|o| o.lines.len()).sum()
    }
}

struct Group {
    order_id: String,
    lines: Vec<u32>,
    records: Vec<Record>,
    /// Rows of this order that have errors of their own.
    bad_lines: Vec<u32>,
    reasons: Vec<Reason>,
}

/// Normalises the data rows of one export. Never panics and never stops at a bad row.
pub fn normalise(mapping: &Mapping, headers: &[String], rows: &[Row<'_>], options: &NormaliseOptions) -> Normalised {
    let mut out = Normalised {
        platform: mapping.platform,
        orders: Vec::new(),
        errors: Vec::new(),
        skipped: Vec::new(),
        duplicate_lines: Vec::new(),
        ignored_lines: Vec::new(),
        rows: rows.len(),
    };
    let mut groups: Vec<Group> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    // Duplicate rows: a hash of the trimmed cells per row, confirmed by comparing the cells themselves.
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        let key = cleaned(row);
        let hash = {
            let mut h = DefaultHasher::new();
            key.iter().for_each(|c| c.trim().hash(&mut h));
            h.finish()
        };
        let earlier = seen.entry(hash).or_default();
        if earlier.iter().any(|i| rows.get(*i).is_some_and(|r| same_cells(cleaned(r), key))) {
            out.duplicate_lines.push(row.line);
            continue;
        }
        earlier.push(index);
        let (order_id, record, errors) = match row::parse(mapping, headers, *row, options.offset()) {
            Outcome::Ignored => {
                out.ignored_lines.push(row.line);
                continue;
            }
            Outcome::Record(r) => (Some(r.order_id.clone()), Some(r), Vec::new()),
            Outcome::Bad { order_id, errors } => (order_id, None, errors),
        };
        let reasons: Vec<Reason> = errors.iter().map(|e| e.reason).collect();
        let bad_row = !errors.is_empty();
        out.errors.extend(errors);
        let Some(order_id) = order_id else { continue };
        let i = *by_id.entry(order_id.clone()).or_insert_with(|| {
            groups.push(Group {
                order_id,
                lines: Vec::new(),
                records: Vec::new(),
                bad_lines: Vec::new(),
                reasons: Vec::new(),
            });
            groups.len() - 1
        });
        let Some(group) = groups.get_mut(i) else { continue };
        group.lines.push(row.line);
        if bad_row {
            group.bad_lines.push(row.line);
        }
        group.records.extend(record);
        for r in reasons {
            if !group.reasons.contains(&r) {
                group.reasons.push(r);
            }
        }
    }
    for group in groups {
        let result = if group.reasons.is_empty() {
            assembly::assemble(mapping, headers, &group.records, options)
        } else {
            Err(Vec::new())
        };
        match result {
            Ok(mut order) => {
                order.source_lines = group.lines;
                out.orders.push(order);
            }
            Err(errors) => {
                let mut reasons = group.reasons;
                for e in &errors {
                    if !reasons.contains(&e.reason) {
                        reasons.push(e.reason);
                    }
                }
                let bad: HashSet<u32> = group.bad_lines.iter().copied().chain(errors.iter().map(|e| e.line)).collect();
                out.errors.extend(errors);
                for line in group.lines.iter().filter(|l| !bad.contains(l)) {
                    let m = format!("order {} is skipped because another of its rows is bad", group.order_id);
                    out.errors.push(RowError::new(*line, Reason::OrderHasBadRow, m));
                }
                out.skipped.push(SkippedOrder { order_id: group.order_id, lines: group.lines, reasons });
            }
        }
    }
    out.errors.sort_by_key(|e| e.line);
    out
}

/// A row's cells as compared for duplicates: trimmed, trailing empty cells dropped. Duplicated export
/// rows are byte-identical, so trimming is enough (and allocates nothing).
fn cleaned<'a>(row: &Row<'a>) -> &'a [String] {
    let used = row.cells.iter().rposition(|c| !c.trim().is_empty()).map_or(0, |i| i + 1);
    row.cells.get(..used).unwrap_or_default()
}

fn same_cells(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.trim() == y.trim())
}

/// Buyer identifiers, contact details and hints of an order, from its (agreeing) order-level texts.
pub(super) fn people(
    platform: Platform,
    first: &dyn Fn(Field) -> Option<String>,
    options: &NormaliseOptions,
) -> (Buyer, Receiver, Vec<MatchHint>) {
    let mut keys = Vec::new();
    let mut hints = Vec::new();
    if let Some(v) = first(Field::Unionid) {
        keys.extend(BuyerKey::new(IdentityKind::Unionid, None, &v));
    }
    if let (Some(v), Some(appid)) = (first(Field::Openid), options.appid.as_deref()) {
        keys.extend(BuyerKey::new(IdentityKind::Openid, Some(appid), &v));
    }
    let buyer_id = first(Field::BuyerId);
    if let Some(v) = &buyer_id {
        if is_masked_id(v) {
            hints.push(MatchHint::MaskedBuyerId { value: v.clone() });
        } else {
            keys.extend(BuyerKey::new(IdentityKind::PlatformBuyer, Some(platform.buyer_namespace()), v));
        }
    }
    let buyer_phone = first(Field::BuyerPhone).and_then(|v| ContactPhone::classify(&v));
    if let Some(p) = &buyer_phone
        && p.kind == PhoneKind::Mobile
    {
        keys.extend(p.e164.as_deref().and_then(|e| BuyerKey::new(IdentityKind::Phone, None, e)));
    }
    hints.extend(phone_hints(buyer_phone.as_ref(), PhoneRole::Buyer));
    let receiver_phone = first(Field::ReceiverPhone).and_then(|v| ContactPhone::classify(&v));
    hints.extend(phone_hints(receiver_phone.as_ref(), PhoneRole::Receiver));
    let nick = first(Field::BuyerNick).or(buyer_id);
    let buyer = Buyer { keys, nick, phone: buyer_phone };
    let receiver =
        Receiver { name: first(Field::ReceiverName), phone: receiver_phone, address: first(Field::ReceiverAddress) };
    (buyer, receiver, hints)
}
