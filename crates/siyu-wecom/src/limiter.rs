//! The per-corp, per-API rate limiter (reference/wecom.md §2: 10,000/min and 150,000/h per corp and API path).
//!
//! The algorithm is GCRA (a token bucket kept as one timestamp, the "theoretical arrival time"), run once per
//! window (minute and hour). Its state is a pair of integers per (corp, path), so it can live anywhere: in
//! process ([`LocalLimiter`]), or in the database or Redis so that every siyu node draws on one budget (the
//! app implements [`RateLimiter`] over its store with [`Gcra::step`]).
//!
//! To never exceed WeCom's count in any window, the burst is taken out of the rate: a window of `limit` calls
//! is paced at `limit - burst` per window plus a burst of `burst`, so any window sees at most `limit` calls
//! while the sustained rate stays at `1 - burst/limit` of the quota (0.98 with the default 2 % burst).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A boxed future, so that [`RateLimiter`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The budget of one API path of one corp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quota {
    pub per_minute: u32,
    pub per_hour: u32,
}

impl Default for Quota {
    /// WeCom's documented per-corp, per-path limits.
    fn default() -> Self {
        Quota { per_minute: 10_000, per_hour: 150_000 }
    }
}

impl Quota {
    /// The two windows of this quota as GCRA parameters.
    pub fn windows(&self) -> [Gcra; 2] {
        [Gcra::new(self.per_minute, 60_000), Gcra::new(self.per_hour, 3_600_000)]
    }
}

/// One GCRA window: at most `limit` calls in any `period_ms`. Times inside are microseconds, so that
/// rates like 9,800 a minute are not rounded to whole milliseconds between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// Microseconds between two calls at the sustained rate.
    interval_us: u64,
    /// How far ahead of now the theoretical arrival time may run (the burst).
    tolerance_us: u64,
}

impl Gcra {
    /// A window of `limit` calls per `period_ms`, 2 % of them (at least one) as burst.
    pub fn new(limit: u32, period_ms: u64) -> Self {
        let limit = u64::from(limit.max(1));
        let burst = (limit / 50).max(1).min(limit);
        let sustained = (limit - burst).max(1);
        let interval_us = period_ms.saturating_mul(1000).div_ceil(sustained).max(1);
        Gcra { interval_us, tolerance_us: interval_us.saturating_mul(burst.saturating_sub(1)) }
    }

    /// Takes one call at `now_us` from a window whose theoretical arrival time is `tat_us` (0 when new),
    /// both in microseconds: `Ok(new_tat)` to store, or `Err(wait)` until a call would be allowed.
    pub fn step(&self, tat_us: u64, now_us: u64) -> Result<u64, Duration> {
        let tat = tat_us.max(now_us);
        let allowed_at = tat.saturating_sub(self.tolerance_us);
        if allowed_at > now_us {
            return Err(Duration::from_micros(allowed_at - now_us));
        }
        Ok(tat + self.interval_us)
    }
}

/// A budget shared by the callers of one corp's API paths.
pub trait RateLimiter: Send + Sync {
    /// Takes one call for (`corp`, `path`) now, or says how long until one is available.
    fn acquire<'a>(&'a self, corp: &'a str, path: &'a str) -> BoxFuture<'a, Result<(), Duration>>;

    /// WeCom answered 45009: nobody may call (`corp`, `path`) for `block`.
    fn block<'a>(&'a self, corp: &'a str, path: &'a str, block: Duration) -> BoxFuture<'a, ()>;
}

/// The state of one (corp, path): the windows' arrival times (µs) and a block from a 45009 (ms).
#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    tats: [u64; 2],
    blocked_until: u64,
}

/// An in-process limiter: right for one node; several nodes need the store-backed one.
#[derive(Clone)]
pub struct LocalLimiter {
    quota: Quota,
    buckets: Arc<Mutex<HashMap<(String, String), Bucket>>>,
    now_ms: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl LocalLimiter {
    /// A limiter on the wall clock.
    pub fn new(quota: Quota) -> Self {
        Self::with_clock(quota, Arc::new(wall_clock_ms))
    }

    /// A limiter on a clock of the caller's (milliseconds since the epoch).
    pub fn with_clock(quota: Quota, now_ms: Arc<dyn Fn() -> u64 + Send + Sync>) -> Self {
        LocalLimiter { quota, buckets: Arc::default(), now_ms }
    }

    fn take(&self, corp: &str, path: &str) -> Result<(), Duration> {
        let now = (self.now_ms)();
        let windows = self.quota.windows();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry((corp.to_owned(), path.to_owned())).or_default();
        if bucket.blocked_until > now {
            return Err(Duration::from_millis(bucket.blocked_until - now));
        }
        let mut next = bucket.tats;
        for (i, window) in windows.iter().enumerate() {
            next[i] = window.step(bucket.tats[i], now.saturating_mul(1000))?;
        }
        bucket.tats = next;
        Ok(())
    }
}

impl RateLimiter for LocalLimiter {
    fn acquire<'a>(&'a self, corp: &'a str, path: &'a str) -> BoxFuture<'a, Result<(), Duration>> {
        Box::pin(async move { self.take(corp, path) })
    }

    fn block<'a>(&'a self, corp: &'a str, path: &'a str, block: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let until = (self.now_ms)().saturating_add(block.as_millis() as u64);
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            let bucket = buckets.entry((corp.to_owned(), path.to_owned())).or_default();
            bucket.blocked_until = bucket.blocked_until.max(until);
        })
    }
}

/// Milliseconds since the Unix epoch on the wall clock.
pub fn wall_clock_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn count_in_window(gcra: Gcra, period_ms: u64, calls_tried_per_ms: u64, span_ms: u64) -> Vec<u64> {
        let mut tat = 0;
        let mut times = Vec::new();
        for now in 0..span_ms {
            for _ in 0..calls_tried_per_ms {
                if let Ok(next) = gcra.step(tat, now * 1000) {
                    tat = next;
                    times.push(now);
                }
            }
        }
        let _ = period_ms;
        times
    }

    #[test]
    fn no_window_of_a_period_ever_holds_more_than_the_limit() {
        let gcra = Gcra::new(100, 1_000);
        let times = count_in_window(gcra, 1_000, 5, 5_000);
        for (i, start) in times.iter().enumerate() {
            let in_window = times[i..].iter().take_while(|t| **t < start + 1_000).count();
            assert!(in_window <= 100, "{in_window} calls within 1 s of {start}");
        }
    }

    #[test]
    fn the_sustained_rate_stays_above_ninety_five_percent_of_the_limit() {
        let gcra = Gcra::new(10_000, 60_000);
        let times = count_in_window(gcra, 60_000, 1, 600_000);
        // Ten minutes at the full quota would be 100,000 calls.
        assert!(times.len() >= 95_000, "{}", times.len());
        assert!(times.len() <= 100_000, "{}", times.len());
    }

    #[tokio::test]
    async fn a_blocked_path_waits_out_the_block_and_other_paths_do_not() {
        let now = Arc::new(AtomicU64::new(1_000_000));
        let clock = now.clone();
        let limiter = LocalLimiter::with_clock(Quota::default(), Arc::new(move || clock.load(Ordering::SeqCst)));
        limiter.block("ww1", "externalcontact/get", Duration::from_secs(60)).await;
        let wait = limiter.acquire("ww1", "externalcontact/get").await;
        assert_eq!(wait, Err(Duration::from_secs(60)));
        assert_eq!(limiter.acquire("ww1", "externalcontact/list").await, Ok(()));
        assert_eq!(limiter.acquire("ww2", "externalcontact/get").await, Ok(()));
        now.fetch_add(60_000, Ordering::SeqCst);
        assert_eq!(limiter.acquire("ww1", "externalcontact/get").await, Ok(()));
    }

    #[tokio::test]
    async fn the_hour_window_caps_calls_the_minute_window_would_allow() {
        let now = Arc::new(AtomicU64::new(0));
        let clock = now.clone();
        let quota = Quota { per_minute: 10, per_hour: 20 };
        let limiter = LocalLimiter::with_clock(quota, Arc::new(move || clock.load(Ordering::SeqCst)));
        let mut allowed = 0;
        for _ in 0..120 {
            for _ in 0..20 {
                if limiter.acquire("ww1", "p").await.is_ok() {
                    allowed += 1;
                }
            }
            now.fetch_add(30_000, Ordering::SeqCst);
        }
        // One hour of trying 40 a minute: the hour's 20 at most, paced, not the minute's 600.
        assert!(allowed <= 20, "{allowed}");
        assert!(allowed >= 18, "{allowed}");
    }
}
