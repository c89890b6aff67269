//! siyu's side of `siyu bench rfm`: orders in columns → each customer's orders → `RfmInput::from_orders`
//! (the domain's rules for which orders count, days in the tenant's zone, windows) → `score_all` (quintiles).
//!
//! The orders are grouped by customer with a counting sort: one pass counts each customer's orders; then
//! each thread takes a run of customers, places their orders one after the other (one more pass over the
//! customer column) and builds their inputs. Scoring the whole population is one `score_all` call.

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use siyu_domain::id::CustomerId;
use siyu_domain::rfm::{RfmConfig, RfmInput, RfmOrder, RfmScore, score_all};
use uuid::Uuid;

use super::orders::Orders;

/// The scores and how long each step took.
pub struct Scored {
    pub scores: Vec<RfmScore>,
    pub steps: Vec<(&'static str, Duration)>,
    pub elapsed: Duration,
}

/// A customer's id in the bench: the dense number, as a UUID.
pub fn customer_id(number: u32) -> CustomerId {
    CustomerId(Uuid::from_u128(u128::from(number)))
}

pub fn number_of(id: CustomerId) -> u32 {
    id.0.as_u128() as u32
}

pub fn score(
    orders: &Orders,
    customers: u32,
    config: &RfmConfig,
    as_of: DateTime<Utc>,
    tz: FixedOffset,
    threads: usize,
) -> Scored {
    let started = Instant::now();
    let mut steps = Vec::new();
    let starts = starts(&orders.customer, customers);
    steps.push(("count orders per customer", started.elapsed()));

    let step = Instant::now();
    let threads = threads.max(1);
    let per_thread = (customers as usize).div_ceil(threads).max(1);
    let mut inputs: Vec<RfmInput> = Vec::with_capacity(customers as usize);
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * per_thread).min(customers as usize)..((t + 1) * per_thread).min(customers as usize);
                let starts = &starts;
                scope.spawn(move || inputs_of(orders, starts, range, config, as_of, tz))
            })
            .collect();
        for thread in running {
            if let Ok(part) = thread.join() {
                inputs.extend(part);
            }
        }
    });
    steps.push(("group by customer + from_orders", step.elapsed()));

    let step = Instant::now();
    let scores = score_all(config, &inputs, as_of, tz);
    steps.push(("score_all", step.elapsed()));
    Scored { scores, steps, elapsed: started.elapsed() }
}

/// Where each customer's orders start once grouped: customer `c`'s are `starts[c]..starts[c + 1]`.
fn starts(customer: &[u32], customers: u32) -> Vec<usize> {
    let mut starts = vec![0usize; customers as usize + 1];
    for &c in customer {
        starts[c as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    starts
}

/// The inputs of the customers in `range`: their orders gathered in one pass over all orders (placed by
/// customer, a counting sort), then `RfmInput::from_orders` on each customer's run.
fn inputs_of(
    orders: &Orders,
    starts: &[usize],
    range: std::ops::Range<usize>,
    config: &RfmConfig,
    as_of: DateTime<Utc>,
    tz: FixedOffset,
) -> Vec<RfmInput> {
    let base = starts[range.start];
    let placeholder = RfmOrder {
        status: orders.status.first().copied().unwrap_or(siyu_domain::order::OrderStatus::Closed),
        paid_at: DateTime::<Utc>::UNIX_EPOCH,
        paid_fen: 0,
        refunded_fen: 0,
    };
    let mut grouped = vec![placeholder; starts[range.end] - base];
    let mut next: Vec<usize> = starts[range.clone()].iter().map(|s| s - base).collect();
    let (low, high) = (range.start as u32, range.end as u32);
    for (i, &c) in orders.customer.iter().enumerate() {
        if c < low || c >= high {
            continue;
        }
        let slot = &mut next[(c - low) as usize];
        grouped[*slot] = RfmOrder {
            status: orders.status[i],
            paid_at: Utc.timestamp_opt(orders.paid_at[i], 0).single().unwrap_or_default(),
            paid_fen: orders.paid_fen[i],
            refunded_fen: orders.refunded_fen[i],
        };
        *slot += 1;
    }
    let mut out = Vec::with_capacity(range.len());
    for c in range {
        let mine = &grouped[starts[c] - base..starts[c + 1] - base];
        if !mine.is_empty() {
            out.push(RfmInput::from_orders(config, customer_id(c as u32), mine, as_of, tz));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use siyu_domain::rfm::score_all;

    use super::super::{config, orders};
    use super::*;

    #[test]
    fn grouping_the_columns_gives_the_scores_of_each_customers_orders_whatever_the_threads() {
        let customers = 500;
        let orders = orders::generate(5_000, customers, 4).unwrap();
        let (config, as_of) = (config(), orders::as_of());
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let inputs: Vec<RfmInput> = (0..customers)
            .filter_map(|c| {
                let mine: Vec<RfmOrder> = (0..orders.len())
                    .filter(|&i| orders.customer[i] == c)
                    .map(|i| RfmOrder {
                        status: orders.status[i],
                        paid_at: DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(orders.paid_at[i]),
                        paid_fen: orders.paid_fen[i],
                        refunded_fen: orders.refunded_fen[i],
                    })
                    .collect();
                (!mine.is_empty()).then(|| RfmInput::from_orders(&config, customer_id(c), &mine, as_of, tz))
            })
            .collect();
        let expected = score_all(&config, &inputs, as_of, tz);
        assert!(expected.len() > 400, "{} scored", expected.len());
        for threads in [1, 2, 3] {
            let scored = score(&orders, customers, &config, as_of, tz, threads);
            assert_eq!(scored.scores, expected, "threads={threads}");
        }
    }
}
