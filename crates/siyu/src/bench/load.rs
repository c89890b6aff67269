//! An in-process HTTP load generator: `concurrency` keep-alive connections, each sending its next
//! request as soon as the previous answer has been read, for a fixed time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Seconds of one measuring slice.
pub const SLICE_SECS: u64 = 2;

/// One request of a run: its path and, for a POST, its body (a GET without one).
pub struct Request {
    pub path: String,
    pub body: Option<Vec<u8>>,
}

/// Builds the next request from a random number.
pub type RequestFn = Arc<dyn Fn(u64) -> Request + Send + Sync>;

/// GETs of the path `path(random)`.
pub fn get(path: impl Fn(u64) -> String + Send + Sync + 'static) -> RequestFn {
    Arc::new(move |r| Request { path: path(r), body: None })
}

/// What a run sends: to which server, with which headers on every request, and which requests.
#[derive(Clone)]
pub struct Target {
    pub base: String,
    pub headers: HeaderMap,
    pub request: RequestFn,
}

impl Target {
    pub fn new(base: &str, request: RequestFn) -> Self {
        Self { base: base.to_string(), headers: HeaderMap::new(), request }
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The same requests and headers sent to another server.
    pub fn at(&self, base: &str) -> Self {
        Self { base: base.to_string(), ..self.clone() }
    }
}

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

/// The figures of siyu and of the bare peer over the same slices.
pub struct Pair {
    pub siyu: Stats,
    pub bare: Stats,
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

/// A one-second warm-up on each server, then `seconds` on each in slices of [`SLICE_SECS`] alternating
/// between them, so that background load on the machine hits both alike. Returns (warm-up, measured).
pub async fn alternate(
    client: &reqwest::Client,
    siyu: &Target,
    bare: &Target,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<(Pair, Pair)> {
    let warm_up = Duration::from_secs(1);
    let warm = Pair {
        siyu: run(client, siyu, concurrency, warm_up).await?,
        bare: run(client, bare, concurrency, warm_up).await?,
    };
    let slices = seconds.div_ceil(SLICE_SECS).max(1);
    let slice = Duration::from_secs(seconds.clamp(1, SLICE_SECS));
    let mut measured = Pair { siyu: Stats::empty(), bare: Stats::empty() };
    for _ in 0..slices {
        measured.siyu.merge(run(client, siyu, concurrency, slice).await?);
        measured.bare.merge(run(client, bare, concurrency, slice).await?);
    }
    Ok((warm, measured))
}

/// Sends `target`'s requests from `concurrency` workers for `duration`. Every response body is read in
/// full; non-2xx answers count as errors.
pub async fn run(
    client: &reqwest::Client,
    target: &Target,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Stats> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let (client, target) = (client.clone(), target.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0xBE7C + w as u64);
            let (mut lat, mut errors) = (Vec::with_capacity(1 << 16), 0u64);
            while Instant::now() < deadline {
                let next = (target.request)(rng.r#gen());
                let url = format!("{}{}", target.base, next.path);
                let req = match next.body {
                    Some(body) => client.post(&url).body(body),
                    None => client.get(&url),
                };
                let req = req.headers(target.headers.clone());
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
