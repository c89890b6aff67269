//! One row of an export read through a [`Mapping`]: every mapped cell cleaned and typed, or the row's
//! errors. A row is all or nothing: with any error it contributes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};

use super::cell::{self, IdProblem};
use super::field::Field;
use super::format::Mapping;
use super::money::parse_fen;
use super::problem::{Reason, RowError};
use super::status::{OrderStatus, status_from_text};

/// A row of text cells and the row number the user sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    pub line: u32,
    pub cells: &'a [String],
}

/// A parsed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u32,
    pub order_id: String,
    /// Cleaned text of every mapped, non-empty cell (identifiers, names, titles, statuses).
    pub text: BTreeMap<Field, String>,
    pub amounts: BTreeMap<Field, i64>,
    pub times: BTreeMap<Field, DateTime<Utc>>,
    pub status: Option<OrderStatus>,
    pub quantity: Option<u32>,
}

/// What became of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Record(Record),
    /// A totals row (合计) or a row without any mapped value: not an order.
    Ignored,
    /// The row's errors; `order_id` when it could still be read, so its order can be skipped.
    Bad {
        order_id: Option<String>,
        errors: Vec<RowError>,
    },
}

/// Reads one row.
pub fn parse(mapping: &Mapping, headers: &[String], row: Row<'_>, timezone: FixedOffset) -> Outcome {
    let cell_of = |col: usize| row.cells.get(col).map(String::as_str).unwrap_or("");
    let column_name = |col: usize| headers.get(col).map(|h| cell::clean(h)).filter(|h| !h.is_empty());
    let err = |field: Field, col: usize, reason: Reason, message: String| {
        RowError::new(row.line, reason, message).at(field, column_name(col).as_deref())
    };
    if mapping.columns.values().all(|c| cell::value(cell_of(*c)).is_none()) {
        return Outcome::Ignored;
    }
    let mut errors = Vec::new();
    let id_col = mapping.column(Field::OrderId).unwrap_or(usize::MAX);
    let order_id = match cell::value(cell_of(id_col)) {
        None => {
            errors.push(err(Field::OrderId, id_col, Reason::MissingOrderId, "the order id is empty".into()));
            None
        }
        Some(v) if cell::is_summary_label(&v) => return Outcome::Ignored,
        Some(v) => match cell::order_id(&v) {
            Ok(id) => Some(id),
            Err(IdProblem::Mangled) => {
                let m = format!("`{v}` was turned into a number by a spreadsheet; its digits are lost");
                errors.push(err(Field::OrderId, id_col, Reason::OrderIdMangled, m));
                None
            }
            Err(IdProblem::Invalid) => {
                let m = format!("`{v}` is not an order id");
                errors.push(err(Field::OrderId, id_col, Reason::InvalidOrderId, m));
                None
            }
        },
    };
    let mut record = Record {
        line: row.line,
        order_id: order_id.clone().unwrap_or_default(),
        text: BTreeMap::new(),
        amounts: BTreeMap::new(),
        times: BTreeMap::new(),
        status: None,
        quantity: None,
    };
    // In column order, so a row's errors read left to right as in the file.
    let mut cells: Vec<(Field, usize)> = mapping.columns.iter().map(|(f, c)| (*f, *c)).collect();
    cells.sort_by_key(|(f, c)| (*c, *f));
    for (field, col) in cells {
        if field == Field::OrderId {
            continue;
        }
        let Some(v) = cell::value(cell_of(col)) else { continue };
        if field.is_amount() {
            match parse_fen(&v) {
                Ok(fen) if fen < 0 && field.is_refund_amount() => {
                    record.amounts.insert(field, -fen);
                }
                Ok(fen) if fen < 0 => {
                    let m = format!("`{v}` is negative; only refund amounts may be");
                    errors.push(err(field, col, Reason::NegativeAmount, m));
                }
                Ok(fen) => {
                    record.amounts.insert(field, fen);
                }
                Err(e) => errors.push(err(field, col, e.into(), format!("`{v}`: {e}"))),
            }
        } else if field.is_time() {
            match cell::time(&v, timezone) {
                Ok(Some(t)) => {
                    record.times.insert(field, t);
                }
                Ok(None) => {}
                Err(_) => errors.push(err(field, col, Reason::InvalidTime, format!("`{v}` is not a date and time"))),
            }
        } else if field == Field::Quantity {
            match cell::quantity(&v) {
                Some(q) => record.quantity = Some(q),
                None => errors.push(err(field, col, Reason::InvalidQuantity, format!("`{v}` is not a quantity"))),
            }
        } else if field == Field::Status {
            match status_from_text(mapping.platform, &v) {
                Some(s) => record.status = Some(s),
                None => errors.push(err(field, col, Reason::UnknownStatus, format!("unknown order status `{v}`"))),
            }
        } else {
            let text = if field == Field::LineId { cell::halfwidth(&v) } else { cell::bounded_text(&v) };
            record.text.insert(field, text);
        }
    }
    if errors.is_empty() && order_id.is_some() { Outcome::Record(record) } else { Outcome::Bad { order_id, errors } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::cell::BEIJING;
    use crate::order::field::OrderTotals;
    use crate::order::platform::Platform;

    fn mapping() -> Mapping {
        let columns = BTreeMap::from([
            (Field::OrderId, 0),
            (Field::PaidAmount, 1),
            (Field::Status, 2),
            (Field::PaidAt, 3),
            (Field::Quantity, 4),
            (Field::RefundedAmount, 5),
        ]);
        Mapping::custom(Platform::Taobao, columns, OrderTotals::Repeated).unwrap()
    }

    fn run(cells: &[&str]) -> Outcome {
        let headers: Vec<String> =
            ["订单编号", "实付", "订单状态", "付款时间", "数量", "退款"].map(String::from).to_vec();
        let cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        parse(&mapping(), &headers, Row { line: 2, cells: &cells }, BEIJING)
    }

    #[test]
    fn a_good_row_is_typed() {
        let Outcome::Record(r) = run(&["=\"1001\"", "¥12.30", "交易成功", "2024-05-01 10:00:00", "2", "-1.00"])
        else {
            panic!("expected a record")
        };
        assert_eq!(r.order_id, "1001");
        assert_eq!(r.amounts.get(&Field::PaidAmount), Some(&1230));
        assert_eq!(r.amounts.get(&Field::RefundedAmount), Some(&100));
        assert_eq!(r.status, Some(OrderStatus::Received));
        assert_eq!(r.quantity, Some(2));
        assert!(r.times.contains_key(&Field::PaidAt));
    }

    #[test]
    fn every_bad_cell_of_a_row_is_reported_with_its_column() {
        let Outcome::Bad { order_id, errors } = run(&["1001", "12.345", "外星", "昨天", "0", ""]) else {
            panic!("expected errors")
        };
        assert_eq!(order_id.as_deref(), Some("1001"));
        let reasons: Vec<&str> = errors.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, ["too_many_decimals", "unknown_status", "invalid_time", "invalid_quantity"]);
        assert_eq!(errors[0].column.as_deref(), Some("实付"));
        assert_eq!(errors[0].line, 2);
    }

    #[test]
    fn missing_and_mangled_order_ids_are_errors_and_totals_rows_are_ignored() {
        let Outcome::Bad { order_id: None, errors } = run(&["", "1", "", "", "", ""]) else { panic!() };
        assert_eq!(errors[0].reason, Reason::MissingOrderId);
        let Outcome::Bad { errors, .. } = run(&["3.90123E+15", "1", "", "", "", ""]) else { panic!() };
        assert_eq!(errors[0].reason, Reason::OrderIdMangled);
        assert_eq!(run(&["合计", "100", "", "", "", ""]), Outcome::Ignored);
        assert_eq!(run(&["", "", "-", "", "", ""]), Outcome::Ignored);
    }

    #[test]
    fn negative_paid_amounts_are_refused() {
        let Outcome::Bad { errors, .. } = run(&["1001", "-5", "", "", "", ""]) else { panic!() };
        assert_eq!(errors[0].reason, Reason::NegativeAmount);
    }
}
