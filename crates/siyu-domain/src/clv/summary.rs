//! A customer's purchases reduced to what the CLV models read: `(frequency, recency, T, monetary)`.
//!
//! The same rules as `lifetimes.utils.summary_data_from_transaction_data` (with `freq='D'` or `'W'` and
//! `include_first_transaction=False`):
//! - purchases are grouped by period (the day in the tenant's time zone, or the Monday-to-Sunday week);
//!   purchases in one period are one purchase, their amounts summed;
//! - purchases in periods after the observation end's period are left out;
//! - `frequency` is the number of periods with a purchase after the first one (repeat purchases);
//! - `recency` is the time from the first to the last purchase period, `t` from the first purchase period
//!   to the observation end's period, both in the unit;
//! - `monetary` is the mean amount of the repeat purchase periods (the first left out), 0 without any.

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use super::TimeUnit;

/// One purchase: when it was placed and what was paid, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purchase {
    pub at: DateTime<Utc>,
    pub paid_fen: i64,
}

/// What the CLV models know of a customer. Times are in the unit the summary was built with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CustomerSummary {
    /// Repeat purchase periods (`x` in the papers).
    pub frequency: u32,
    /// From the first to the last purchase (`t_x`).
    pub recency: f64,
    /// From the first purchase to the end of observation (`T`, the customer's age).
    pub t: f64,
    /// Mean amount of the repeat purchases (`m` or `z̄`); 0 when `frequency` is 0.
    pub monetary: f64,
}

impl CustomerSummary {
    /// Summarises the purchases placed up to the period of `observation_end`; `offset` is the tenant's time
    /// zone, which decides the day a purchase falls on. `None` when no purchase is left.
    pub fn from_purchases(
        purchases: &[Purchase],
        offset: FixedOffset,
        observation_end: DateTime<Utc>,
        unit: TimeUnit,
    ) -> Option<Self> {
        let end = period_of(observation_end, offset, unit);
        let mut periods: Vec<(i64, i128)> = purchases
            .iter()
            .map(|p| (period_of(p.at, offset, unit), i128::from(p.paid_fen)))
            .filter(|&(period, _)| period <= end)
            .collect();
        periods.sort_unstable_by_key(|&(period, _)| period);
        let mut days = periods.iter().map(|&(period, _)| period);
        let first = days.next()?;
        let last = days.next_back().unwrap_or(first);

        // Sum each period, leaving the first (whose amounts all belong to the first purchase) out.
        let mut frequency = 0u32;
        let mut total: i128 = 0;
        let mut previous = first;
        for &(period, fen) in &periods {
            if period == first {
                continue;
            }
            if period != previous {
                frequency = frequency.saturating_add(1);
                previous = period;
            }
            total = total.saturating_add(fen);
        }
        let days_per_unit = unit.days() as f64;
        Some(Self {
            frequency,
            recency: (last - first) as f64 / days_per_unit,
            t: (end - first) as f64 / days_per_unit,
            monetary: if frequency == 0 { 0.0 } else { total as f64 / f64::from(frequency) },
        })
    }

    /// Checks the timing fields as `lifetimes` does: finite, `0 ≤ recency ≤ t`, and `recency = 0` without
    /// repeat purchases. Returns the snake_case reason of the first failure.
    pub fn check_timing(&self) -> Result<(), &'static str> {
        if !self.recency.is_finite() || !self.t.is_finite() {
            return Err("not_finite");
        }
        if self.recency < 0.0 {
            return Err("negative_recency");
        }
        if self.recency > self.t {
            return Err("recency_after_t");
        }
        if self.frequency == 0 && self.recency != 0.0 {
            return Err("recency_without_repeat_purchase");
        }
        Ok(())
    }
}

/// The first day of the period `at` falls in, as days since the common era, in the tenant's zone.
fn period_of(at: DateTime<Utc>, offset: FixedOffset, unit: TimeUnit) -> i64 {
    let date = at.with_timezone(&offset).date_naive();
    let day = i64::from(date.num_days_from_ce());
    match unit {
        TimeUnit::Days => day,
        TimeUnit::Weeks => day - i64::from(date.weekday().num_days_from_monday()),
    }
}

#[cfg(test)]
mod tests {
    //! Every expected summary below is what `lifetimes` 0.11.3's `summary_data_from_transaction_data`
    //! returns for the same purchases (UTC, `monetary_value_col` set, same `observation_period_end`).

    use chrono::TimeZone;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn buy(text: &str, paid_fen: i64) -> Purchase {
        Purchase { at: at(text), paid_fen }
    }

    fn beijing() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    #[test]
    fn same_day_purchases_count_once_and_their_amounts_are_summed() {
        let purchases = [
            buy("2024-01-01T09:00:00Z", 1000),
            buy("2024-01-03T08:00:00Z", 200),
            buy("2024-01-03T20:00:00Z", 300),
            buy("2024-01-05T10:00:00Z", 700),
        ];
        let summary = CustomerSummary::from_purchases(&purchases, utc(), at("2024-01-10T00:00:00Z"), TimeUnit::Days);
        // Repeat days: Jan 3 (200 + 300) and Jan 5 (700).
        assert_eq!(summary, Some(CustomerSummary { frequency: 2, recency: 4.0, t: 9.0, monetary: 600.0 }));
    }

    #[test]
    fn monetary_leaves_out_every_purchase_of_the_first_day() {
        let purchases = [
            buy("2024-01-02T10:00:00Z", 5000),
            buy("2024-01-01T09:00:00Z", 90_000),
            buy("2024-01-01T10:00:00Z", 10_000),
        ];
        let summary =
            CustomerSummary::from_purchases(&purchases, utc(), at("2024-01-02T00:00:00Z"), TimeUnit::Days).unwrap();
        assert_eq!(summary, CustomerSummary { frequency: 1, recency: 1.0, t: 1.0, monetary: 5000.0 });
    }

    #[test]
    fn a_single_purchase_day_has_no_frequency_and_no_monetary_value() {
        let purchases = [buy("2024-03-01T01:00:00Z", 100), buy("2024-03-01T02:00:00Z", 250)];
        let summary =
            CustomerSummary::from_purchases(&purchases, utc(), at("2024-03-31T23:59:59Z"), TimeUnit::Days).unwrap();
        assert_eq!(summary, CustomerSummary { frequency: 0, recency: 0.0, t: 30.0, monetary: 0.0 });
    }

    #[test]
    fn purchases_after_the_observation_end_day_are_left_out_but_that_day_counts() {
        let purchases =
            [buy("2024-01-01T00:00:00Z", 100), buy("2024-01-04T23:00:00Z", 300), buy("2024-01-05T00:00:00Z", 999)];
        let end = at("2024-01-04T01:00:00Z");
        let summary = CustomerSummary::from_purchases(&purchases, utc(), end, TimeUnit::Days).unwrap();
        assert_eq!(summary, CustomerSummary { frequency: 1, recency: 3.0, t: 3.0, monetary: 300.0 });
        assert_eq!(CustomerSummary::from_purchases(&purchases[2..], utc(), end, TimeUnit::Days), None);
        assert_eq!(CustomerSummary::from_purchases(&[], utc(), end, TimeUnit::Days), None);
    }

    #[test]
    fn days_are_taken_in_the_tenants_time_zone() {
        // 16:30 UTC on Jan 1 is already Jan 2 in Beijing, the same day as the next purchase.
        let purchases = [buy("2024-01-01T16:30:00Z", 100), buy("2024-01-02T03:00:00Z", 200)];
        let end = at("2024-01-02T12:00:00Z");
        let in_utc = CustomerSummary::from_purchases(&purchases, utc(), end, TimeUnit::Days).unwrap();
        let in_beijing = CustomerSummary::from_purchases(&purchases, beijing(), end, TimeUnit::Days).unwrap();
        assert_eq!(in_utc.frequency, 1);
        assert_eq!(in_beijing, CustomerSummary { frequency: 0, recency: 0.0, t: 0.0, monetary: 0.0 });
    }

    #[test]
    fn weeks_run_from_monday_to_sunday() {
        // 2024-01-01 is a Monday; Jan 7 (Sunday) is the same week, Jan 8 the next one.
        let purchases = [
            buy("2024-01-01T10:00:00Z", 100),
            buy("2024-01-07T10:00:00Z", 100),
            buy("2024-01-08T10:00:00Z", 400),
            buy("2024-01-20T10:00:00Z", 600),
        ];
        let end = Utc.with_ymd_and_hms(2024, 1, 31, 0, 0, 0).unwrap();
        let summary = CustomerSummary::from_purchases(&purchases, utc(), end, TimeUnit::Weeks).unwrap();
        assert_eq!(summary, CustomerSummary { frequency: 2, recency: 2.0, t: 4.0, monetary: 500.0 });
    }

    #[test]
    fn timing_checks_reject_what_lifetimes_rejects() {
        let ok = CustomerSummary { frequency: 1, recency: 2.0, t: 3.0, monetary: 1.0 };
        assert_eq!(ok.check_timing(), Ok(()));
        assert_eq!(CustomerSummary { recency: 4.0, ..ok }.check_timing(), Err("recency_after_t"));
        assert_eq!(CustomerSummary { recency: -1.0, ..ok }.check_timing(), Err("negative_recency"));
        assert_eq!(CustomerSummary { t: f64::NAN, ..ok }.check_timing(), Err("not_finite"));
        assert_eq!(CustomerSummary { frequency: 0, ..ok }.check_timing(), Err("recency_without_repeat_purchase"));
    }
}
