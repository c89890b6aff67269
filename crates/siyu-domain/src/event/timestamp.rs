//! Client timestamps (`timestamp`, `sentAt`) as the SDKs spell them.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Parses an ISO-8601 / RFC 3339 date-time into UTC.
///
/// Accepted spellings, all seen from Segment clients:
/// - `2026-11-23T10:00:00.123Z` (analytics.js, analytics-node), with any number of fractional digits or none;
/// - `2026-11-23T10:00:00.123+00:00` and `+08:00` (analytics-python, analytics-ruby);
/// - `2026-11-23T10:00:00.123+0000` (Java's `SimpleDateFormat`), `+00` and `+0800`;
/// - a space or lower-case `t` instead of `T`, lower-case `z`;
/// - no offset at all (`2026-11-23T10:00:00`), read as UTC the way analytics-python guesses it.
///
/// Returns `None` for anything else (dates without a time, epoch numbers, garbage).
pub fn parse_timestamp(input: &str) -> Option<DateTime<Utc>> {
    let s = input.trim();
    if s.len() > 64 || !s.is_ascii() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let s = s.replacen(['t', ' '], "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f%#z") {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Timelike};
    use proptest::prelude::*;

    fn utc(h: u32, m: u32, s: u32, ms: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, s).unwrap().with_nanosecond(ms * 1_000_000).unwrap()
    }

    #[test]
    fn the_spellings_segment_clients_send_all_parse() {
        let cases = [
            ("2026-11-23T10:00:00.123Z", utc(10, 0, 0, 123)),
            ("2026-11-23T10:00:00Z", utc(10, 0, 0, 0)),
            ("2026-11-23T10:00:00.123+00:00", utc(10, 0, 0, 123)),
            ("2026-11-23T18:00:00.123+08:00", utc(10, 0, 0, 123)),
            ("2026-11-23T10:00:00.123+0000", utc(10, 0, 0, 123)),
            ("2026-11-23T18:00:00+0800", utc(10, 0, 0, 0)),
            ("2026-11-23T05:00:00-05:00", utc(10, 0, 0, 0)),
            ("2026-11-23 10:00:00.123Z", utc(10, 0, 0, 123)),
            ("2026-11-23t10:00:00.123z", utc(10, 0, 0, 123)),
            ("2026-11-23T10:00:00.123", utc(10, 0, 0, 123)),
            ("2026-11-23T10:00:00", utc(10, 0, 0, 0)),
            (" 2026-11-23T10:00:00Z ", utc(10, 0, 0, 0)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_timestamp(s), Some(want), "{s}");
        }
    }

    #[test]
    fn microseconds_from_analytics_python_keep_their_precision() {
        let t = parse_timestamp("2026-11-23T10:00:00.123456+00:00").unwrap();
        assert_eq!(t.nanosecond(), 123_456_000);
    }

    #[test]
    fn things_that_are_not_date_times_are_refused() {
        for s in ["", "now", "2026-11-23", "1763892000", "2026-13-01T00:00:00Z", "2026-11-23T25:00:00Z", "10:00:00"] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,70}") {
            let _ = parse_timestamp(&s);
        }

        #[test]
        fn a_formatted_time_parses_back_to_itself(secs in 0i64..4_102_444_800, nanos in 0u32..1_000_000_000) {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            prop_assert_eq!(parse_timestamp(&t.to_rfc3339()), Some(t));
            prop_assert_eq!(parse_timestamp(serde_json::to_value(t).unwrap().as_str().unwrap_or_default()), Some(t));
        }
    }
}
