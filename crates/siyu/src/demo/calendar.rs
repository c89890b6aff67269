//! When the demo brand's customers arrive: over the two years before the seeding day (Beijing time),
//! growing over time, busier at weekends and in the evening, with peaks on the shopping festivals (3.8,
//! 5.20, 6.18, 11.11, 12.12) and their run-ups.

use std::collections::VecDeque;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::Rng;
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;

pub const DAYS: i64 = 730;

/// Customers per hour of the day (Beijing time): evenings are busiest.
const HOURS: [f64; 24] = [
    1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2.0, 3.0, 4.0, 4.5, 4.0, 4.0, 4.2, 4.5, 4.5, 4.5, 5.0, 6.0, 7.0, 7.5, 6.0,
    3.0,
];

/// Creation times in ascending order, `total` in all.
pub struct Calendar {
    /// Midnight (Beijing) of the first day, in UTC.
    pub start: DateTime<Utc>,
    /// The seeding time (millisecond precision): nothing happens after it.
    pub now: DateTime<Utc>,
    plan: Vec<u32>,
    day: usize,
    pending: VecDeque<DateTime<Utc>>,
    hours: WeightedIndex<f64>,
}

/// Midnight in Beijing (UTC+8) `days_ago` days before today's, as UTC.
fn beijing_midnight(now: DateTime<Utc>, days_ago: i64) -> DateTime<Utc> {
    let local = now + Duration::hours(8);
    let midnight = local.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
    Utc.from_utc_datetime(&midnight) - Duration::hours(8) - Duration::days(days_ago)
}

/// How busy a day is: growth over time, weekends, festivals and their run-ups.
fn day_weight(day: i64, date: NaiveDate) -> f64 {
    let growth = 0.4 + day as f64 / DAYS as f64;
    let weekend = if date.weekday().number_from_monday() >= 6 { 1.25 } else { 1.0 };
    let festival = match (date.month(), date.day()) {
        (3, 8) => 3.0,
        (5, 20) => 2.5,
        (6, 18) => 4.0,
        (6, 1..=17) => 1.5,
        (11, 11) => 5.0,
        (10, 20..=31) | (11, 1..=10) => 1.6,
        (12, 12) => 2.5,
        _ => 1.0,
    };
    growth * weekend * festival
}

impl Calendar {
    /// Spreads `total` arrivals over the days by their weights (the counts add up exactly).
    pub fn new(total: u64, now: DateTime<Utc>) -> anyhow::Result<Self> {
        let start = beijing_midnight(now, DAYS);
        let weights: Vec<f64> =
            (0..DAYS).map(|d| day_weight(d, (start + Duration::hours(8) + Duration::days(d)).date_naive())).collect();
        let sum: f64 = weights.iter().sum();
        let (mut acc, mut placed, mut plan) = (0.0, 0u64, Vec::with_capacity(weights.len()));
        for w in &weights {
            acc += w;
            let upto = ((acc / sum) * total as f64).round() as u64;
            plan.push(u32::try_from(upto.saturating_sub(placed))?);
            placed = upto.max(placed);
        }
        let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        Ok(Self { start, now, plan, day: 0, pending: VecDeque::new(), hours: WeightedIndex::new(HOURS)? })
    }

    /// The next arrival, or `None` once all have come.
    pub fn next(&mut self, rng: &mut StdRng) -> Option<DateTime<Utc>> {
        while self.pending.is_empty() {
            let count = *self.plan.get(self.day)?;
            let day_start = self.start + Duration::days(self.day as i64);
            let mut times: Vec<DateTime<Utc>> = (0..count)
                .map(|_| {
                    let hour = self.hours.sample(rng) as i64;
                    day_start + Duration::hours(hour) + Duration::milliseconds(rng.gen_range(0..3_600_000))
                })
                .collect();
            times.sort();
            self.pending.extend(times);
            self.day += 1;
        }
        self.pending.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn arrivals_are_ordered_in_the_past_two_years_and_add_up() {
        let now = Utc::now();
        let mut cal = Calendar::new(5_000, now).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let times: Vec<_> = std::iter::from_fn(|| cal.next(&mut rng)).collect();
        assert_eq!(times.len(), 5_000);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(times[0] >= now - Duration::days(DAYS + 1) && times[4_999] < now);
    }

    #[test]
    fn the_eleventh_of_november_is_busier_than_an_ordinary_day() {
        let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
        assert!(day_weight(100, d(11, 11)) > 3.0 * day_weight(100, d(9, 10)));
    }
}
