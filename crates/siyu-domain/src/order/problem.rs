//! What can be wrong with a row or an order of an export, as stable snake_case reasons.
//!
//! A row error never stops other rows. A row contributes to its order completely or not at all, and an
//! order with any bad row is skipped as a whole ([`SkippedOrder`]): importing half an order would store
//! wrong totals and a wrong status, and a skipped order is simply imported by the next, corrected file
//! (re-imports are idempotent).

use serde::{Deserialize, Serialize};

use super::field::Field;
use super::money::MoneyError;

/// Why a row (or the order it belongs to) was refused. The codes are stable; the console translates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MissingOrderId,
    /// Excel turned a long id into scientific notation (`3.90123E+15`): the digits are lost.
    OrderIdMangled,
    InvalidOrderId,
    InvalidAmount,
    TooManyDecimals,
    AmountOutOfRange,
    NegativeAmount,
    InvalidQuantity,
    InvalidTime,
    UnknownStatus,
    /// No paid amount column, and no line paid amounts to add up.
    MissingPaidAmount,
    /// Two rows of one order disagree on a buyer identifier or a repeated order total.
    ConflictingOrderValue,
    RefundExceedsPaid,
    /// Reported on the good rows of an order that is skipped because of another row.
    OrderHasBadRow,
}

impl Reason {
    pub const ALL: [Reason; 14] = [
        Self::MissingOrderId,
        Self::OrderIdMangled,
        Self::InvalidOrderId,
        Self::InvalidAmount,
        Self::TooManyDecimals,
        Self::AmountOutOfRange,
        Self::NegativeAmount,
        Self::InvalidQuantity,
        Self::InvalidTime,
        Self::UnknownStatus,
        Self::MissingPaidAmount,
        Self::ConflictingOrderValue,
        Self::RefundExceedsPaid,
        Self::OrderHasBadRow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingOrderId => "missing_order_id",
            Self::OrderIdMangled => "order_id_mangled",
            Self::InvalidOrderId => "invalid_order_id",
            Self::InvalidAmount => "invalid_amount",
            Self::TooManyDecimals => "too_many_decimals",
            Self::AmountOutOfRange => "amount_out_of_range",
            Self::NegativeAmount => "negative_amount",
            Self::InvalidQuantity => "invalid_quantity",
            Self::InvalidTime => "invalid_time",
            Self::UnknownStatus => "unknown_status",
            Self::MissingPaidAmount => "missing_paid_amount",
            Self::ConflictingOrderValue => "conflicting_order_value",
            Self::RefundExceedsPaid => "refund_exceeds_paid",
            Self::OrderHasBadRow => "order_has_bad_row",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl From<MoneyError> for Reason {
    fn from(e: MoneyError) -> Self {
        match e {
            MoneyError::Invalid => Self::InvalidAmount,
            MoneyError::TooManyDecimals => Self::TooManyDecimals,
            MoneyError::OutOfRange => Self::AmountOutOfRange,
        }
    }
}

/// One problem, where the user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// The row number in the file as a spreadsheet shows it (header row included).
    pub line: u32,
    /// The column's header as written in the file, when one column is at fault.
    pub column: Option<String>,
    pub field: Option<Field>,
    pub reason: Reason,
    /// A short English explanation with the offending value; the console shows a translation of `reason`.
    pub message: String,
}

impl RowError {
    pub fn new(line: u32, reason: Reason, message: impl Into<String>) -> Self {
        Self { line, column: None, field: None, reason, message: message.into() }
    }

    pub fn at(mut self, field: Field, column: Option<&str>) -> Self {
        self.field = Some(field);
        self.column = column.map(str::to_string);
        self
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "row {} column {c}: {} ({})", self.line, self.message, self.reason.as_str()),
            None => write!(f, "row {}: {} ({})", self.line, self.message, self.reason.as_str()),
        }
    }
}

/// An order left out because at least one of its rows (or the order as a whole) is bad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkippedOrder {
    pub order_id: String,
    /// Every row of the order, good and bad.
    pub lines: Vec<u32>,
    /// The distinct reasons, in order of appearance.
    pub reasons: Vec<Reason>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_through_their_codes() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.as_str()));
        }
    }

    #[test]
    fn money_errors_share_their_codes_with_row_reasons() {
        for e in [MoneyError::Invalid, MoneyError::TooManyDecimals, MoneyError::OutOfRange] {
            assert_eq!(Reason::from(e).as_str(), e.code());
        }
    }

    #[test]
    fn row_errors_say_where_and_why() {
        let e = RowError::new(7, Reason::TooManyDecimals, "`12.345` has more than two decimals")
            .at(Field::PaidAmount, Some("买家实际支付金额"));
        assert_eq!(
            e.to_string(),
            "row 7 column 买家实际支付金额: `12.345` has more than two decimals (too_many_decimals)"
        );
    }
}
