//! The orders `siyu bench rfm` scores: one row per order (customer, paid time, status, paid and refunded
//! fen), generated in memory as columns and written once as a CSV for DuckDB.
//!
//! Orders fall over the three years before the as-of day (0.5 % on the days after it, which RFM leaves out),
//! their buyers skewed so that a few customers buy often and most rarely (customer `⌊C·u²⌋`), in
//! generation order rather than grouped by customer, as an order table is. Statuses: 60 % received, 10 %
//! paid, 10 % shipped, 5 % partially refunded, 5 % refunded, 7 % closed, 3 % pending payment; ¥10–¥1,000 each.
//! The same size and seed give the same orders.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use siyu_domain::order::OrderStatus;

/// Orders as columns, one entry per order in each.
pub struct Orders {
    pub customer: Vec<u32>,
    /// Unix seconds.
    pub paid_at: Vec<i64>,
    pub status: Vec<OrderStatus>,
    pub paid_fen: Vec<i64>,
    pub refunded_fen: Vec<i64>,
}

impl Orders {
    pub fn len(&self) -> usize {
        self.customer.len()
    }
}

/// The as-of time of every run: scores are computed for this day.
pub fn as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 4, 0, 0).single().unwrap_or_default()
}

const STATUSES: [(OrderStatus, u32); 7] = [
    (OrderStatus::Received, 60),
    (OrderStatus::Paid, 10),
    (OrderStatus::Shipped, 10),
    (OrderStatus::PartiallyRefunded, 5),
    (OrderStatus::Refunded, 5),
    (OrderStatus::Closed, 7),
    (OrderStatus::PendingPayment, 3),
];

/// `lines` orders of `customers` customers.
pub fn generate(lines: u64, customers: u32, seed: u64) -> anyhow::Result<Orders> {
    let n = usize::try_from(lines)?;
    let mut o = Orders {
        customer: Vec::with_capacity(n),
        paid_at: Vec::with_capacity(n),
        status: Vec::with_capacity(n),
        paid_fen: Vec::with_capacity(n),
        refunded_fen: Vec::with_capacity(n),
    };
    let bar = ProgressBar::new(lines).with_style(
        ProgressStyle::with_template("orders [{bar:40.cyan/blue}] {human_pos}/{human_len}, {per_sec}, eta {eta}")?
            .progress_chars("=> "),
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let end = as_of().timestamp();
    let span = 3 * 365 * 86_400;
    for i in 0..lines {
        let u: f64 = rng.r#gen();
        o.customer.push(((f64::from(customers) * u * u) as u32).min(customers - 1));
        let after = rng.gen_bool(0.005);
        o.paid_at.push(if after { end + rng.gen_range(0..5 * 86_400) } else { end - rng.gen_range(0..span) });
        let mut pick = rng.gen_range(0..100);
        let status = STATUSES
            .iter()
            .find(|(_, share)| {
                let hit = pick < *share;
                pick = pick.saturating_sub(*share);
                hit
            })
            .map_or(OrderStatus::Received, |(s, _)| *s);
        let paid = rng.gen_range(1_000..100_000);
        let refunded = match status {
            OrderStatus::Refunded => paid,
            OrderStatus::PartiallyRefunded => rng.gen_range(1..=paid),
            _ => 0,
        };
        o.status.push(status);
        o.paid_fen.push(paid);
        o.refunded_fen.push(refunded);
        if i % 262_144 == 0 {
            bar.set_position(i);
        }
    }
    bar.finish_and_clear();
    Ok(o)
}

/// Writes the orders as `customer,paid_at,status,paid_fen,refunded_fen` (paid_at in Unix seconds) to
/// `dir`, unless the file for this size and seed is already there.
pub fn write_csv(dir: &Path, orders: &Orders, customers: u32, seed: u64) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("orders-{}-{customers}-seed{seed}.csv", orders.len()));
    if path.exists() {
        return Ok(path);
    }
    let partial = path.with_extension("csv.partial");
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&partial)?);
    writeln!(out, "customer,paid_at,status,paid_fen,refunded_fen")?;
    for i in 0..orders.len() {
        writeln!(
            out,
            "{},{},{},{},{}",
            orders.customer[i],
            orders.paid_at[i],
            orders.status[i].as_str(),
            orders.paid_fen[i],
            orders.refunded_fen[i]
        )?;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&partial, &path)?;
    Ok(path)
}
