//! An in-process HTTP load generator: `concurrency` keep-alive connections, each sending its next
//! request as soon as the previous answer has been read, for a fixed time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Builds the path of the next request from a random number.
pub type PathFn = Arc<dyn Fn(u64) -> String + Send + Sync>;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Sorted latencies in microseconds.
    latencies: Vec<u32>,
}

impl Stats {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Adds another run's figures (rates and quantiles then cover both).
    pub fn merge(&mut self, other: Stats) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
    }

    pub fn empty() -> Self {
        Self { requests: 0, errors: 0, elapsed: Duration::ZERO, latencies: Vec::new() }
    }

    /// The `q` quantile (0–1) latency in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        f64::from(self.latencies[i.min(self.latencies.len() - 1)]) / 1000.0
    }
}

/// A client keeping one connection per concurrent worker.
pub fn client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(concurrency)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()?)
}

/// Sends GETs to `base` + `path(random)` from `concurrency` workers for `duration`, with a bearer
/// `token` if given. Every response body is read in full; non-2xx answers count as errors.
pub async fn run(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    path: PathFn,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Stats> {
    let started = Instant::now();
    let deadline = started + duration;
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let (client, base, auth, path) = (client.clone(), base.to_string(), auth.clone(), path.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0xBE7C + w as u64);
            let (mut lat, mut errors) = (Vec::with_capacity(1 << 16), 0u64);
            while Instant::now() < deadline {
                let url = format!("{base}{}", path(rng.r#gen()));
                let mut req = client.get(&url);
                if let Some(a) = &auth {
                    req = req.header(reqwest::header::AUTHORIZATION, a);
                }
                let t = Instant::now();
                let ok = match req.send().await {
                    Ok(res) => {
                        let ok = res.status().is_success();
                        res.bytes().await.is_ok() && ok
                    }
                    Err(_) => false,
                };
                if ok {
                    lat.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for w in workers {
        let (lat, e) = w.await?;
        latencies.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(Stats { requests: latencies.len() as u64, errors, elapsed, latencies })
}
