//! The fake's injectable clock, and the calendar arithmetic (China time, UTC+8) that WeCom's daily and
//! monthly limits need.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// WeCom counts days and months in China Standard Time.
const UTC_OFFSET: i64 = 8 * 3600;
const DAY: i64 = 86_400;

/// The fake's notion of now, in unix seconds: token expiry, welcome codes, rate windows, transfer takeovers
/// and moment tasks all read it. Cheap to clone; clones share the same time.
#[derive(Clone, Debug)]
pub struct FakeClock {
    now: Arc<AtomicI64>,
}

impl FakeClock {
    /// A clock standing at `unix` seconds.
    pub fn new(unix: i64) -> Self {
        Self { now: Arc::new(AtomicI64::new(unix)) }
    }

    /// The current fake time in unix seconds.
    pub fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    /// Moves the clock forward (or back, with a negative number) by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }

    /// Sets the clock to `unix` seconds.
    pub fn set(&self, unix: i64) {
        self.now.store(unix, Ordering::SeqCst);
    }
}

/// The unix time of the start of the (China) day containing `unix`.
pub(crate) fn day_start(unix: i64) -> i64 {
    (unix + UTC_OFFSET).div_euclid(DAY) * DAY - UTC_OFFSET
}

/// A number identifying the (China) day containing `unix`.
pub(crate) fn day_number(unix: i64) -> i64 {
    (unix + UTC_OFFSET).div_euclid(DAY)
}

/// `(year, month)` of the (China) month containing `unix`, month 1–12.
pub(crate) fn year_month(unix: i64) -> (i64, u32) {
    let (year, month, _) = civil_from_days(day_number(unix));
    (year, month)
}

/// A number identifying the (China) month containing `unix`.
pub(crate) fn month_number(unix: i64) -> i64 {
    let (year, month) = year_month(unix);
    year * 12 + i64::from(month)
}

/// How many days the (China) month containing `unix` has.
pub(crate) fn days_in_month(unix: i64) -> u32 {
    let (year, month) = year_month(unix);
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to `(year, month, day)`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_knows_february_of_a_leap_year() {
        // 2024-02-10 12:00 UTC
        assert_eq!(days_in_month(1_707_566_400), 29);
        assert_eq!(year_month(1_707_566_400), (2024, 2));
    }

    #[test]
    fn months_and_days_turn_over_at_midnight_china_time() {
        // 2023-11-30 16:00 UTC = 2023-12-01 00:00 in Beijing.
        let midnight = 1_701_360_000;
        assert_eq!(year_month(midnight - 1), (2023, 11));
        assert_eq!(year_month(midnight), (2023, 12));
        assert_eq!(day_start(midnight + 5), midnight);
        assert_eq!(days_in_month(midnight - 1), 30);
        assert_eq!(days_in_month(midnight), 31);
    }

    #[test]
    fn clones_of_a_clock_share_the_time() {
        let clock = FakeClock::new(100);
        let other = clock.clone();
        other.advance(20);
        assert_eq!(clock.now(), 120);
        clock.set(5);
        assert_eq!(other.now(), 5);
    }
}
