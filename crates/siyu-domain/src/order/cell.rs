//! Reading one text cell of a platform export: the wrappers exports put around values, placeholders for
//! "nothing", full-width characters, times, quantities and order ids.
//!
//! Exports protect long ids from Excel in several ways: `="3901234567890123"` (an Excel text formula),
//! a trailing or leading tab (`3901234567890123\t`), or a leading apostrophe. All are removed by
//! [`clean`]. An id Excel already turned into a number (`3.90123E+15`) cannot be recovered and is reported.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

/// Longest order or line id accepted (platform ids are 15–25 characters).
pub const MAX_ID_CHARS: usize = 64;
/// Longest free text kept (titles, specs, addresses); longer text is cut, not refused.
pub const MAX_TEXT_CHARS: usize = 500;

/// Full-width ASCII (`１２．３`, `（元）`, `，`) to half-width, the ideographic space to a space, `￥` to
/// `¥`, and the minus sign to `-`. Other characters are kept.
pub fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{FFE5}' => '¥',
            '\u{2212}' | '\u{2013}' | '\u{2014}' => '-',
            _ => c,
        })
        .collect()
}

/// A comparison key: half-width, lower-case ASCII, without any whitespace or invisible characters.
/// `商品总价（元） ` and `商品总价(元)` have the same key.
pub fn fold(s: &str) -> String {
    halfwidth(s).chars().filter(|c| !c.is_whitespace() && !is_invisible(*c)).map(|c| c.to_ascii_lowercase()).collect()
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{FEFF}' | '\u{200B}'..='\u{200D}' | '\u{2060}')
}

/// The value of a cell without export wrappers: invisible characters and surrounding whitespace (tabs,
/// full-width spaces) removed, `="…"` unwrapped, a leading apostrophe before a digit dropped.
pub fn clean(cell: &str) -> String {
    let visible: String;
    let s = if cell.chars().any(is_invisible) {
        visible = cell.chars().filter(|c| !is_invisible(*c)).collect();
        visible.as_str()
    } else {
        cell
    };
    let mut s = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}');
    if let Some(inner) = s.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
        s = inner.trim();
    }
    if let Some(rest) = s.strip_prefix('\'')
        && rest.starts_with(|c: char| c.is_ascii_digit())
    {
        s = rest;
    }
    s.to_string()
}

/// Cells that mean "nothing here" in exports: empty, dashes, `null`, spreadsheet errors.
pub fn is_absent(cleaned: &str) -> bool {
    const WORDS: [&str; 12] = ["", "-", "--", "---", "/", "null", "none", "nan", "n/a", "#n/a", "#null!", "undefined"];
    if cleaned.chars().all(|c| matches!(c, '-' | '—' | '－' | ' ')) {
        return true;
    }
    // Placeholder words are short and have no digits or Chinese characters; most cells need no folding.
    let plain = |c: char| c.is_ascii_digit() || ('\u{3400}'..='\u{9FFF}').contains(&c);
    cleaned.len() <= 16 && !cleaned.chars().any(plain) && WORDS.contains(&fold(cleaned).as_str())
}

/// Cleans a cell and returns `None` when it is absent.
pub fn value(cell: &str) -> Option<String> {
    let v = clean(cell);
    (!is_absent(&v)).then_some(v)
}

/// Cuts free text to [`MAX_TEXT_CHARS`] characters and drops control characters.
pub fn bounded_text(v: &str) -> String {
    v.chars().filter(|c| !c.is_control() || *c == '\n').take(MAX_TEXT_CHARS).collect()
}

/// Why an order id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    /// Excel turned it into a number in scientific notation (`3.90123E+15`); the digits are lost.
    Mangled,
    /// Too long, or contains spaces or control characters.
    Invalid,
}

/// Validates a cleaned order or line id.
pub fn order_id(v: &str) -> Result<String, IdProblem> {
    let v = halfwidth(v);
    if is_scientific(&v) {
        return Err(IdProblem::Mangled);
    }
    if v.chars().count() > MAX_ID_CHARS || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(IdProblem::Invalid);
    }
    Ok(v)
}

/// `3.90123E+15`, `1e10`: what spreadsheets make of long digit strings.
pub fn is_scientific(v: &str) -> bool {
    let Some((mantissa, exp)) = v.split_once(['e', 'E']) else { return false };
    let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    let digits_dot = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.');
    digits_dot(mantissa)
        && mantissa.matches('.').count() <= 1
        && !exp.is_empty()
        && exp.chars().all(|c| c.is_ascii_digit())
}

/// Rows some exports append at the bottom (合计) that are not orders.
pub fn is_summary_label(v: &str) -> bool {
    matches!(fold(v).as_str(), "合计" | "总计" | "小计" | "汇总" | "total")
}

/// Parses a quantity: a whole number from 1 to 1,000,000, optionally `2件`, `2.0`, full-width.
pub fn quantity(v: &str) -> Option<u32> {
    let s = fold(v);
    let s = s.trim_end_matches(['件', '个', '份', '只']);
    let s = s.strip_suffix(".00").or_else(|| s.strip_suffix(".0")).unwrap_or(s);
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) || s.len() > 7 {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| (1..=1_000_000).contains(n))
}

/// A time cell that is not a date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a date and time")]
pub struct InvalidTime;

/// Parses an export time written in `offset` (platforms print Beijing time) into UTC.
///
/// Accepts `2024-05-31 14:16:18`, `2024/5/31 14:16`, `2024-05-31T14:16:18.000`, `2024年5月31日 14:16:18`
/// and bare dates. Placeholders for "not yet" (`0000-00-00 00:00:00`, the Unix epoch) are `Ok(None)`.
pub fn time(v: &str, offset: FixedOffset) -> Result<Option<DateTime<Utc>>, InvalidTime> {
    // Numbers separated by date and time punctuation: year, month, day, then hour, minute, second and a
    // fraction of a second (dropped), each optional after the day.
    let mut parts = [0u32; 7];
    let (mut count, mut digits, mut current) = (0usize, 0usize, 0u32);
    for c in halfwidth(v.trim()).chars() {
        if let Some(d) = c.to_digit(10) {
            current = current.saturating_mul(10).saturating_add(d);
            digits += 1;
            continue;
        }
        if !matches!(c, '-' | '/' | '.' | ':' | 'T' | ' ' | '年' | '月' | '日' | '时' | '分' | '秒') {
            return Err(InvalidTime);
        }
        if digits > 0 {
            *parts.get_mut(count).ok_or(InvalidTime)? = current;
            count += 1;
            (digits, current) = (0, 0);
        }
    }
    if digits > 0 {
        *parts.get_mut(count).ok_or(InvalidTime)? = current;
        count += 1;
    }
    let [year, month, day, hour, minute, second, _] = parts;
    // `0000-00-00 00:00:00` and the Unix epoch stand for "not yet".
    if (count > 0 && parts.iter().all(|p| *p == 0)) || (year, month, day) == (1970, 1, 1) {
        return Ok(None);
    }
    if !matches!(count, 3 | 5 | 6 | 7) || !(1990..=2100).contains(&year) {
        return Err(InvalidTime);
    }
    let naive = NaiveDate::from_ymd_opt(i32::try_from(year).map_err(|_| InvalidTime)?, month, day)
        .and_then(|d| d.and_hms_opt(hour, minute, second))
        .ok_or(InvalidTime)?;
    let local = offset.from_local_datetime(&naive).single().ok_or(InvalidTime)?;
    Ok(Some(local.with_timezone(&Utc)))
}

/// Beijing time (UTC+8, no daylight saving), in which every supported platform prints its times.
pub const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// [`BEIJING`] as a function, for defaults.
pub fn beijing() -> FixedOffset {
    BEIJING
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn excel_text_wrappers_tabs_and_apostrophes_are_removed() {
        assert_eq!(clean("=\"3901234567890123\""), "3901234567890123");
        assert_eq!(clean("3901234567890123\t"), "3901234567890123");
        assert_eq!(clean("\t'3901234567890123"), "3901234567890123");
        assert_eq!(clean("\u{feff} 交易成功　"), "交易成功");
        assert_eq!(clean("'abc"), "'abc");
    }

    #[test]
    fn dashes_and_null_words_are_absent() {
        for v in ["", " - ", "--", "null", "NULL", "#N/A", "—"] {
            assert_eq!(value(v), None, "{v:?}");
        }
        assert_eq!(value(" 0 "), Some("0".into()));
    }

    #[test]
    fn header_keys_ignore_width_case_and_spaces() {
        assert_eq!(fold("商品总价（元） "), fold("商品总价(元)"));
        assert_eq!(fold("收货地址 "), "收货地址");
        assert_eq!(fold("Order ID"), "orderid");
    }

    #[test]
    fn long_ids_in_scientific_notation_are_spotted() {
        assert!(is_scientific("3.90123E+15"));
        assert!(is_scientific("1e10"));
        assert!(!is_scientific("E12345"));
        assert!(!is_scientific("3901234567890123"));
        assert_eq!(order_id("3.90123E+15"), Err(IdProblem::Mangled));
        assert_eq!(order_id("12 34"), Err(IdProblem::Invalid));
        assert_eq!(order_id("２４０５"), Ok("2405".into()));
    }

    #[test]
    fn quantities_are_whole_positive_numbers() {
        assert_eq!(quantity("2"), Some(2));
        assert_eq!(quantity("２件"), Some(2));
        assert_eq!(quantity("3.0"), Some(3));
        assert_eq!(quantity("0"), None);
        assert_eq!(quantity("1.5"), None);
        assert_eq!(quantity("-1"), None);
        assert_eq!(quantity("99999999"), None);
    }

    #[test]
    fn export_times_are_beijing_time() {
        let t = time("2024-05-31 14:16:18", beijing()).unwrap().unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-31T06:16:18+00:00");
        for v in ["2024/5/31 14:16:18", "2024-05-31T14:16:18.000", "2024年5月31日 14:16:18"] {
            assert_eq!(time(v, beijing()).unwrap(), Some(t), "{v}");
        }
        assert_eq!(time("2024-05-31", beijing()).unwrap().unwrap().to_rfc3339(), "2024-05-30T16:00:00+00:00");
        assert_eq!(time("0000-00-00 00:00:00", beijing()), Ok(None));
        assert!(time("yesterday", beijing()).is_err());
        assert!(time("2024-05", beijing()).is_err());
        assert!(time("1889-05-01", beijing()).is_err());
        assert!(time("2024-05-31 14:16:18:01:02:03", beijing()).is_err());
        assert_eq!(time("1970-01-01 08:00:00", beijing()), Ok(None));
        assert!(time("2024-13-01 00:00:00", beijing()).is_err());
    }

    proptest! {
        #[test]
        fn cleaning_and_parsing_never_panic(s in "\\PC{0,30}") {
            let c = clean(&s);
            let _ = (is_absent(&c), fold(&s), quantity(&s), order_id(&c), time(&s, beijing()), is_scientific(&s));
        }
    }
}
