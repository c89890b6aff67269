//! What RFM scores one customer on: the last qualifying activity, F and M, built from the customer's
//! orders (or interactions) by the configured definitions. Every day here is a calendar day in the
//! tenant's time zone, given as a fixed UTC offset (China: UTC+8, no daylight saving).

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::aggregate::OrderFact;
use crate::id::CustomerId;
use crate::order::OrderStatus;

use super::config::{FrequencyBasis, MonetaryBasis, RfmConfig, RfmSource};

/// One customer's RFM values before scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RfmInput {
    pub customer: CustomerId,
    /// The last qualifying activity; `None` (no qualifying activity) means the customer gets no score.
    pub last_at: Option<DateTime<Utc>>,
    /// F, as the configuration defines it.
    pub frequency: u32,
    /// M in fen, as the configuration defines it.
    pub monetary_fen: i64,
}

/// One order as RFM needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RfmOrder {
    pub status: OrderStatus,
    /// When it was paid; the store passes `COALESCE(paid_at, placed_at)`.
    pub paid_at: DateTime<Utc>,
    /// What the buyer paid, shipping included.
    pub paid_fen: i64,
    pub refunded_fen: i64,
}

impl RfmOrder {
    /// What the order is worth after refunds, never negative.
    pub fn net_fen(&self) -> i64 {
        self.paid_fen.saturating_sub(self.refunded_fen).max(0)
    }

    /// Whether the order counts: money was taken and not all given back. Its status is paid, shipped,
    /// received or partially refunded ([`OrderStatus::is_paid`]; pending, closed and refunded orders do
    /// not count) **and** `paid_fen − refunded_fen > 0`.
    pub fn counts(&self) -> bool {
        self.status.is_paid() && self.net_fen() > 0
    }
}

impl From<&OrderFact> for RfmOrder {
    /// An aggregate's order fact, timed by its placing time (the paid time when the export had no order
    /// time).
    fn from(o: &OrderFact) -> Self {
        Self { status: o.status, paid_at: o.placed_at, paid_fen: o.paid_fen, refunded_fen: o.refunded_fen }
    }
}

/// The calendar day of `at` in the zone `tz`.
pub fn local_date(at: DateTime<Utc>, tz: FixedOffset) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Whole calendar days from `date` to `as_of_date`, 0 when `date` is not earlier.
pub fn days_between(date: NaiveDate, as_of_date: NaiveDate) -> u32 {
    let days = (as_of_date - date).num_days().max(0);
    u32::try_from(days).unwrap_or(u32::MAX)
}

/// R: whole calendar days between the last activity and the as-of date in the zone `tz` (an order at
/// 23:30 yesterday is 1 day ago, one at 00:30 today 0). An activity after the as-of day counts as 0.
pub fn recency_days(last_at: DateTime<Utc>, as_of: DateTime<Utc>, tz: FixedOffset) -> u32 {
    days_between(local_date(last_at, tz), local_date(as_of, tz))
}

impl RfmInput {
    /// The customer's input by the configured source: orders, or interactions (with M from orders).
    pub fn from_activity(
        config: &RfmConfig,
        customer: CustomerId,
        orders: &[RfmOrder],
        interactions: &[DateTime<Utc>],
        as_of: DateTime<Utc>,
        tz: FixedOffset,
    ) -> Self {
        match config.source {
            RfmSource::Orders => Self::from_orders(config, customer, orders, as_of, tz),
            RfmSource::Interactions { .. } => {
                Self::from_interactions(config, customer, interactions, orders, as_of, tz)
            }
        }
    }

    /// The input from the customer's orders. Only counted orders ([`RfmOrder::counts`]) on or before the
    /// as-of day take part. `last_at` is the latest one's paid time (whatever the windows); F counts
    /// those in the frequency window (orders, or distinct paid days); M adds up their net fen in the
    /// monetary window (total, or that total over the number of those orders, floored).
    pub fn from_orders(
        config: &RfmConfig,
        customer: CustomerId,
        orders: &[RfmOrder],
        as_of: DateTime<Utc>,
        tz: FixedOffset,
    ) -> Self {
        let times = orders.iter().filter(|o| o.counts()).map(|o| o.paid_at);
        let (last_at, frequency) = recency_and_frequency(config, times, as_of, tz);
        Self { customer, last_at, frequency, monetary_fen: monetary(config, orders, as_of, tz) }
    }

    /// The input from the customer's interactions (chats and other interaction events): `last_at` and F
    /// as for orders, with interactions in place of counted orders; M from the orders as in
    /// [`RfmInput::from_orders`] (scoring compares it with the spend threshold).
    pub fn from_interactions(
        config: &RfmConfig,
        customer: CustomerId,
        interactions: &[DateTime<Utc>],
        orders: &[RfmOrder],
        as_of: DateTime<Utc>,
        tz: FixedOffset,
    ) -> Self {
        let (last_at, frequency) = recency_and_frequency(config, interactions.iter().copied(), as_of, tz);
        Self { customer, last_at, frequency, monetary_fen: monetary(config, orders, as_of, tz) }
    }
}

/// The latest activity on or before the as-of day and F over the frequency window.
fn recency_and_frequency(
    config: &RfmConfig,
    times: impl Iterator<Item = DateTime<Utc>>,
    as_of: DateTime<Utc>,
    tz: FixedOffset,
) -> (Option<DateTime<Utc>>, u32) {
    let today = local_date(as_of, tz);
    let mut last_at: Option<DateTime<Utc>> = None;
    let mut days: Vec<NaiveDate> = Vec::new();
    for at in times {
        let date = local_date(at, tz);
        if date > today {
            continue;
        }
        last_at = Some(last_at.map_or(at, |l| l.max(at)));
        if config.frequency_window.contains(days_between(date, today)) {
            days.push(date);
        }
    }
    let frequency = match config.frequency {
        FrequencyBasis::Orders => days.len(),
        FrequencyBasis::PurchaseDays => {
            days.sort_unstable();
            days.dedup();
            days.len()
        }
    };
    (last_at, u32::try_from(frequency).unwrap_or(u32::MAX))
}

/// M over the monetary window.
fn monetary(config: &RfmConfig, orders: &[RfmOrder], as_of: DateTime<Utc>, tz: FixedOffset) -> i64 {
    let today = local_date(as_of, tz);
    let (total, count) = orders
        .iter()
        .filter(|o| o.counts())
        .filter(|o| {
            let date = local_date(o.paid_at, tz);
            date <= today && config.monetary_window.contains(days_between(date, today))
        })
        .fold((0i64, 0i64), |(total, count), o| (total.saturating_add(o.net_fen()), count + 1));
    match config.monetary {
        MonetaryBasis::Total => total,
        MonetaryBasis::AveragePerOrder if count > 0 => total / count,
        MonetaryBasis::AveragePerOrder => 0,
    }
}
