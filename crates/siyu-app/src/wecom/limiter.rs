//! The rate budget in the database: every node of a cluster draws on one budget per corp and API path.

use std::sync::Arc;
use std::time::Duration;

use siyu_domain::id::TenantId;
use siyu_store::Store;
use siyu_store::wecom::RateState;
use siyu_wecom::limiter::{BoxFuture, Quota, RateLimiter};

use crate::clock::Clock;

/// [`RateLimiter`] over `wecom_rate_buckets` (GCRA per window, the row locked while it is stepped).
pub struct StoreLimiter {
    store: Store,
    tenant: TenantId,
    quota: Quota,
    clock: Arc<dyn Clock>,
}

impl StoreLimiter {
    pub fn new(store: Store, tenant: TenantId, quota: Quota, clock: Arc<dyn Clock>) -> Self {
        StoreLimiter { store, tenant, quota, clock }
    }

    fn now_ms(&self) -> u64 {
        self.clock.now().timestamp_millis().max(0) as u64
    }
}

impl RateLimiter for StoreLimiter {
    fn acquire<'a>(&'a self, corp: &'a str, path: &'a str) -> BoxFuture<'a, Result<(), Duration>> {
        Box::pin(async move {
            let now = self.now_ms();
            let now_us = now.saturating_mul(1000);
            let [minute, hour] = self.quota.windows();
            let stepped = self
                .store
                .wecom()
                .update_rate(self.tenant, corp, path, |s: RateState| {
                    if s.blocked_until as u64 > now {
                        return (None, Err(Duration::from_millis(s.blocked_until as u64 - now)));
                    }
                    let next = minute
                        .step(s.tat_minute as u64, now_us)
                        .and_then(|m| hour.step(s.tat_hour as u64, now_us).map(|h| (m, h)));
                    match next {
                        Ok((m, h)) => (
                            Some(RateState {
                                tat_minute: m as i64,
                                tat_hour: h as i64,
                                blocked_until: s.blocked_until,
                            }),
                            Ok(()),
                        ),
                        Err(wait) => (None, Err(wait)),
                    }
                })
                .await;
            // A database hiccup must not stop WeCom calls outright: wait a moment and let the caller retry.
            stepped.unwrap_or(Err(Duration::from_millis(200)))
        })
    }

    fn block<'a>(&'a self, corp: &'a str, path: &'a str, block: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let until = (self.now_ms() + block.as_millis() as u64) as i64;
            let _ = self
                .store
                .wecom()
                .update_rate(self.tenant, corp, path, |s: RateState| {
                    (Some(RateState { blocked_until: s.blocked_until.max(until), ..s }), ())
                })
                .await;
        })
    }
}
