//! The time rules of journeys, all in the customer's (or tenant's) own offset from UTC, never the server's:
//! the next local time of day on allowed weekdays, "day N of the stage at 10:00" (calendar days from the
//! local entry date, as Braze defines it), and quiet hours that hold a send until the morning with a
//! deterministic jitter so a held cohort does not fire in one burst.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// The instant a local date and time at `offset` names.
fn instant(date: NaiveDate, at: NaiveTime, offset: FixedOffset) -> Option<DateTime<Utc>> {
    offset.from_local_datetime(&date.and_time(at)).single().map(|t| t.with_timezone(&Utc))
}

/// The first instant at or after `now` whose local time is `at`, on one of `weekdays` (1 = Monday …
/// 7 = Sunday; empty: any day).
pub fn next_local_time(now: DateTime<Utc>, offset: FixedOffset, at: NaiveTime, weekdays: &[u8]) -> DateTime<Utc> {
    let today = now.with_timezone(&offset).date_naive();
    (0..8)
        .filter_map(|d| {
            let date = today + Duration::days(d);
            let allowed = weekdays.is_empty() || weekdays.contains(&(date.weekday().number_from_monday() as u8));
            instant(date, at, offset).filter(|t| allowed && *t >= now)
        })
        .next()
        .unwrap_or(now)
}

/// Day `day` after `entered_at` at the local time `at`: day 0 is the local calendar date of entry.
pub fn stage_day(entered_at: DateTime<Utc>, offset: FixedOffset, day: u32, at: NaiveTime) -> DateTime<Utc> {
    let date = entered_at.with_timezone(&offset).date_naive() + Duration::days(i64::from(day));
    instant(date, at, offset).unwrap_or(entered_at)
}

/// The start (local midnight) of the local calendar day after `now`'s: when a daily frequency cap opens
/// again.
pub fn next_local_day(now: DateTime<Utc>, offset: FixedOffset) -> DateTime<Utc> {
    let tomorrow = now.with_timezone(&offset).date_naive() + Duration::days(1);
    instant(tomorrow, NaiveTime::MIN, offset).unwrap_or(now + Duration::days(1))
}

/// Local times when nothing is sent (22:00–08:00 by default); the window may span midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        let at = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or(NaiveTime::MIN);
        Self { start: at(22), end: at(8) }
    }
}

impl QuietHours {
    /// Whether a local time falls in the window (`start == end`: never).
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start <= self.end { self.start <= t && t < self.end } else { t >= self.start || t < self.end }
    }

    /// When a send due at `due` may go: `due` itself outside the window, otherwise the window's end plus
    /// `key % (jitter_minutes + 1)` minutes (the same key always gets the same slot).
    pub fn release(&self, due: DateTime<Utc>, offset: FixedOffset, key: u64, jitter_minutes: u32) -> DateTime<Utc> {
        let local = due.with_timezone(&offset);
        if !self.contains(local.time()) {
            return due;
        }
        let evening = self.start > self.end && local.time() >= self.start;
        let date = local.date_naive() + Duration::days(i64::from(evening));
        let jitter = Duration::minutes((key % (u64::from(jitter_minutes) + 1)) as i64);
        instant(date, self.end, offset).map_or(due, |t| t + jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn the_next_local_ten_oclock_is_today_before_ten_and_tomorrow_after() {
        // 01:30 UTC is 09:30 in Shanghai: 10:00 local is 02:00 UTC the same day.
        assert_eq!(
            next_local_time(utc("2026-12-07T01:30:00Z"), shanghai(), hm(10, 0), &[]),
            utc("2026-12-07T02:00:00Z")
        );
        assert_eq!(
            next_local_time(utc("2026-12-07T02:00:01Z"), shanghai(), hm(10, 0), &[]),
            utc("2026-12-08T02:00:00Z")
        );
    }

    #[test]
    fn a_weekday_restriction_moves_to_the_next_allowed_day() {
        // 2026-12-07 is a Monday; only Saturdays (6) allowed.
        assert_eq!(
            next_local_time(utc("2026-12-07T01:30:00Z"), shanghai(), hm(10, 0), &[6]),
            utc("2026-12-12T02:00:00Z")
        );
    }

    #[test]
    fn day_n_counts_calendar_days_from_the_local_entry_date() {
        // Entered 23:30 local on Dec 6 (15:30 UTC): day 1 at 10:00 is Dec 7 local, not 24 h later.
        let entered = utc("2026-12-06T15:30:00Z");
        assert_eq!(stage_day(entered, shanghai(), 1, hm(10, 0)), utc("2026-12-07T02:00:00Z"));
        // The same instant is Dec 6 in UTC too, but 17:30 UTC is Dec 7 01:30 in Shanghai: its day 0 is Dec 7.
        assert_eq!(stage_day(utc("2026-12-06T17:30:00Z"), shanghai(), 0, hm(10, 0)), utc("2026-12-07T02:00:00Z"));
    }

    #[test]
    fn quiet_hours_hold_an_evening_send_until_the_next_morning_and_a_night_send_until_this_morning() {
        let q = QuietHours::default();
        // 23:00 local → 08:00 the next local day (00:00 UTC).
        assert_eq!(q.release(utc("2026-12-06T15:00:00Z"), shanghai(), 0, 15), utc("2026-12-07T00:00:00Z"));
        // 03:00 local → 08:00 the same day, plus a jitter of key % 16 minutes.
        assert_eq!(q.release(utc("2026-12-06T19:00:00Z"), shanghai(), 21, 15), utc("2026-12-07T00:05:00Z"));
        // 12:00 local goes at once.
        assert_eq!(q.release(utc("2026-12-07T04:00:00Z"), shanghai(), 7, 15), utc("2026-12-07T04:00:00Z"));
    }

    #[test]
    fn the_next_local_day_starts_at_local_midnight_whatever_the_utc_date() {
        // 23:30 local on Dec 7 (15:30 UTC) and 00:30 local on Dec 7 (16:30 UTC on Dec 6).
        assert_eq!(next_local_day(utc("2026-12-07T15:30:00Z"), shanghai()), utc("2026-12-07T16:00:00Z"));
        assert_eq!(next_local_day(utc("2026-12-06T16:30:00Z"), shanghai()), utc("2026-12-07T16:00:00Z"));
    }

    #[test]
    fn a_window_within_one_day_and_an_empty_window_are_handled() {
        let lunch = QuietHours { start: hm(12, 0), end: hm(13, 30) };
        assert!(lunch.contains(hm(12, 59)) && !lunch.contains(hm(13, 30)) && !lunch.contains(hm(11, 0)));
        assert_eq!(lunch.release(utc("2026-12-07T04:15:00Z"), shanghai(), 0, 0), utc("2026-12-07T05:30:00Z"));
        let none = QuietHours { start: hm(9, 0), end: hm(9, 0) };
        assert!(!none.contains(hm(9, 0)));
    }
}
