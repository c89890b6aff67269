//! siyu's side of `siyu bench rfm`: orders in columns → each customer's orders → `RfmInput::from_orders`
//! (the domain's rules for which orders count, days in the tenant's zone, windows) → `score_all` (quintiles).
//!
//! The orders are grouped by customer with a counting sort of their positions (one pass to count, one to
//! place); the customers are then split into one run per thread, each building its customers' inputs.
//! Scoring the whole population is one `score_all` call.

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
    let (starts, positions) = group(&orders.customer, customers);
    steps.push(("group by customer", started.elapsed()));

    let step = Instant::now();
    let threads = threads.max(1);
    let per_thread = (customers as usize).div_ceil(threads).max(1);
    let mut inputs: Vec<RfmInput> = Vec::with_capacity(customers as usize);
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..threads)
            .map(|t| {
                let (from, to) = (t * per_thread, ((t + 1) * per_thread).min(customers as usize));
                let (starts, positions) = (&starts, &positions);
                scope.spawn(move || inputs_of(orders, starts, positions, from..to, config, as_of, tz))
            })
            .collect();
        for thread in running {
            if let Ok(part) = thread.join() {
                inputs.extend(part);
            }
        }
    });
    steps.push(("orders → inputs (from_orders)", step.elapsed()));

    let step = Instant::now();
    let scores = score_all(config, &inputs, as_of, tz);
    steps.push(("score_all", step.elapsed()));
    Scored { scores, steps, elapsed: started.elapsed() }
}

/// Positions of the orders grouped by customer: customer `c`'s are `positions[starts[c]..starts[c + 1]]`.
fn group(customer: &[u32], customers: u32) -> (Vec<u32>, Vec<u32>) {
    let mut starts = vec![0u32; customers as usize + 1];
    for &c in customer {
        starts[c as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let mut positions = vec![0u32; customer.len()];
    for (i, &c) in customer.iter().enumerate() {
        let slot = &mut next[c as usize];
        positions[*slot as usize] = i as u32;
        *slot += 1;
    }
    (starts, positions)
}

fn inputs_of(
    orders: &Orders,
    starts: &[u32],
    positions: &[u32],
    customers: std::ops::Range<usize>,
    config: &RfmConfig,
    as_of: DateTime<Utc>,
    tz: FixedOffset,
) -> Vec<RfmInput> {
    let mut out = Vec::with_capacity(customers.len());
    let mut mine: Vec<RfmOrder> = Vec::new();
    for c in customers {
        let of = &positions[starts[c] as usize..starts[c + 1] as usize];
        if of.is_empty() {
            continue;
        }
        mine.clear();
        mine.extend(of.iter().map(|&i| {
            let i = i as usize;
            RfmOrder {
                status: orders.status[i],
                paid_at: Utc.timestamp_opt(orders.paid_at[i], 0).single().unwrap_or_default(),
                paid_fen: orders.paid_fen[i],
                refunded_fen: orders.refunded_fen[i],
            }
        }));
        out.push(RfmInput::from_orders(config, customer_id(c as u32), &mine, as_of, tz));
    }
    out
}
