//! Yuan text from exports to `i64` fen, without floating point (commerce.md §1).
//!
//! Accepted: `12.30`, `12.3`, `12`, `.5`, `¥1,234.5`, `￥１２．３０`, `RMB 12.30`, `12.30元`, `-0.50`,
//! `¥-0.50`, `(0.50)` (accounting negative). Digits after the second decimal must be zeros (`12.300` is
//! 1230 fen, `12.345` is refused). Thousands separators must group by three. Anything else is refused with
//! a stable reason: `invalid_amount`, `too_many_decimals` or `amount_out_of_range`.
//!
//! [`allocate`] splits an order amount over its lines by largest remainder so the parts sum exactly.
//!
//! The sign is returned as written; which fields may be negative is the normaliser's decision (a refund
//! written `-0.50` means 50 fen refunded; a negative paid amount is an error).

use super::cell::halfwidth;

/// The largest magnitude accepted: 15 integer digits of yuan (about 10^15 yuan).
pub const MAX_FEN: i64 = 99_999_999_999_999_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not an amount of money")]
    Invalid,
    #[error("more than two decimals")]
    TooManyDecimals,
    #[error("amount out of range")]
    OutOfRange,
}

impl MoneyError {
    /// Stable snake_case reason, shared with the row error codes.
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "invalid_amount",
            Self::TooManyDecimals => "too_many_decimals",
            Self::OutOfRange => "amount_out_of_range",
        }
    }
}

/// Parses yuan text into signed fen.
pub fn parse_fen(text: &str) -> Result<i64, MoneyError> {
    let s: String = halfwidth(text).chars().filter(|c| !c.is_whitespace() && *c != '\u{FEFF}').collect();
    let (negative_paren, s) = match s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        Some(inner) => (true, inner.to_string()),
        None => (false, s),
    };
    let mut rest = s.as_str();
    let mut negative = negative_paren;
    let mut signed = false;
    rest = strip_currency(rest);
    if let Some(r) = rest.strip_prefix('-') {
        negative = !negative;
        signed = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        signed = true;
        rest = r;
    }
    if signed {
        rest = strip_currency(rest);
    }
    rest = rest.strip_suffix('元').unwrap_or(rest);
    let magnitude = parse_unsigned(rest)?;
    Ok(if negative { -magnitude } else { magnitude })
}

fn strip_currency(s: &str) -> &str {
    for prefix in ["¥", "RMB", "rmb", "CNY", "cny"] {
        if let Some(r) = s.strip_prefix(prefix) {
            return r;
        }
    }
    s
}

fn parse_unsigned(s: &str) -> Result<i64, MoneyError> {
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(MoneyError::Invalid);
    }
    if !frac_part.chars().all(|c| c.is_ascii_digit()) {
        return Err(MoneyError::Invalid);
    }
    let digits = ungroup(int_part)?;
    let frac = match frac_part.len() {
        0..=2 => frac_part,
        _ if frac_part[2..].chars().all(|c| c == '0') => &frac_part[..2],
        _ => return Err(MoneyError::TooManyDecimals),
    };
    let digits = digits.trim_start_matches('0');
    if digits.len() > 15 {
        return Err(MoneyError::OutOfRange);
    }
    let yuan: i64 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| MoneyError::OutOfRange)? };
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| MoneyError::Invalid)? * 10,
        _ => frac.parse::<i64>().map_err(|_| MoneyError::Invalid)?,
    };
    yuan.checked_mul(100).and_then(|f| f.checked_add(cents)).filter(|f| *f <= MAX_FEN).ok_or(MoneyError::OutOfRange)
}

/// Removes thousands separators, checking they group by three (`1,234,567`; not `1,23`).
fn ungroup(int_part: &str) -> Result<String, MoneyError> {
    if !int_part.contains(',') {
        return if int_part.chars().all(|c| c.is_ascii_digit()) {
            Ok(int_part.to_string())
        } else {
            Err(MoneyError::Invalid)
        };
    }
    let groups: Vec<&str> = int_part.split(',').collect();
    let first_ok = groups.first().is_some_and(|g| (1..=3).contains(&g.len()));
    let rest_ok = groups.iter().skip(1).all(|g| g.len() == 3);
    let digits_ok = groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()));
    if first_ok && rest_ok && digits_ok { Ok(groups.concat()) } else { Err(MoneyError::Invalid) }
}

/// Formats fen as yuan text with two decimals (`1230` → `12.30`, `-50` → `-0.50`). [`parse_fen`] reads it
/// back to the same value for every amount up to [`MAX_FEN`].
pub fn format_fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Splits `total` fen into parts proportional to `weights`, summing exactly to `total` (commerce.md §1:
/// floors, then the remaining fen go one each to the largest remainders, earlier parts first on ties).
/// Negative weights count as zero; when every weight is zero the split is equal.
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sign: i128 = if total < 0 { -1 } else { 1 };
    let total = i128::from(total).abs();
    let mut w: Vec<i128> = weights.iter().map(|x| i128::from((*x).max(0))).collect();
    if w.iter().all(|x| *x == 0) {
        w.iter_mut().for_each(|x| *x = 1);
    }
    let sum: i128 = w.iter().sum();
    let mut parts: Vec<i128> = w.iter().map(|x| total * x / sum).collect();
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(total * w[*i] % sum));
    let mut left = total - parts.iter().sum::<i128>();
    for i in order.into_iter().cycle() {
        if left <= 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts.into_iter().map(|p| i64::try_from(sign * p).unwrap_or(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_yuan_amounts_become_fen() {
        assert_eq!(parse_fen("12.30"), Ok(1230));
        assert_eq!(parse_fen("12.3"), Ok(1230));
        assert_eq!(parse_fen("1234"), Ok(123_400));
        assert_eq!(parse_fen("0.05"), Ok(5));
        assert_eq!(parse_fen(".5"), Ok(50));
        assert_eq!(parse_fen("12."), Ok(1200));
        assert_eq!(parse_fen("007.10"), Ok(710));
    }

    #[test]
    fn currency_signs_separators_and_full_width_are_understood() {
        assert_eq!(parse_fen("¥1,234.5"), Ok(123_450));
        assert_eq!(parse_fen("￥１，２３４．５０"), Ok(123_450));
        assert_eq!(parse_fen(" RMB 12.30 "), Ok(1230));
        assert_eq!(parse_fen("12.30元"), Ok(1230));
        assert_eq!(parse_fen("1,234,567.89"), Ok(123_456_789));
    }

    #[test]
    fn negative_amounts_keep_their_sign() {
        assert_eq!(parse_fen("-0.50"), Ok(-50));
        assert_eq!(parse_fen("¥-0.50"), Ok(-50));
        assert_eq!(parse_fen("-¥0.50"), Ok(-50));
        assert_eq!(parse_fen("－０.５"), Ok(-50));
        assert_eq!(parse_fen("(0.50)"), Ok(-50));
    }

    #[test]
    fn more_than_two_decimals_is_refused_unless_they_are_zeros() {
        assert_eq!(parse_fen("12.345"), Err(MoneyError::TooManyDecimals));
        assert_eq!(parse_fen("0.001"), Err(MoneyError::TooManyDecimals));
        assert_eq!(parse_fen("12.300"), Ok(1230));
    }

    #[test]
    fn garbage_is_an_invalid_amount() {
        for s in ["", "abc", "1,23", "12,34.5", "1.2.3", "1e5", "12-3", "¥", "-", ".", "1 2a", "12.3a", "NaN"] {
            assert_eq!(parse_fen(s), Err(MoneyError::Invalid), "{s:?}");
        }
        assert_eq!(parse_fen("9999999999999999"), Err(MoneyError::OutOfRange));
        assert_eq!(MoneyError::TooManyDecimals.code(), "too_many_decimals");
    }

    #[test]
    fn fen_format_as_two_decimal_yuan() {
        assert_eq!(format_fen(1230), "12.30");
        assert_eq!(format_fen(5), "0.05");
        assert_eq!(format_fen(-50), "-0.50");
        assert_eq!(format_fen(0), "0.00");
        assert_eq!(format_fen(i64::MIN), "-92233720368547758.08");
    }

    #[test]
    fn allocation_sums_exactly_and_follows_the_weights() {
        assert_eq!(allocate(1000, &[1, 1, 1]), vec![334, 333, 333]);
        assert_eq!(allocate(1000, &[3000, 1000]), vec![750, 250]);
        assert_eq!(allocate(5, &[0, 0]), vec![3, 2]);
        assert_eq!(allocate(-10, &[1, 2]), vec![-3, -7]);
        assert_eq!(allocate(7, &[]), Vec::<i64>::new());
    }

    proptest! {
        #[test]
        fn allocated_parts_sum_to_the_total(total in -MAX_FEN..=MAX_FEN, weights in prop::collection::vec(-5i64..1_000_000, 1..12)) {
            let parts = allocate(total, &weights);
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(parts.iter().map(|p| i128::from(*p)).sum::<i128>(), i128::from(total));
        }

        #[test]
        fn the_money_parser_never_panics(s in "\\PC{0,24}") {
            let _ = parse_fen(&s);
        }

        #[test]
        fn money_like_text_never_panics(s in "[-+¥￥(),.0-9０-９元 ]{0,24}") {
            let _ = parse_fen(&s);
        }

        #[test]
        fn fen_round_trip_through_text(fen in -MAX_FEN..=MAX_FEN) {
            prop_assert_eq!(parse_fen(&format_fen(fen)), Ok(fen));
        }
    }
}
