//! The `siyu bench ingest` section of `docs/benchmarks.md`, and the durability lines the terminal shows.

use siyu_app::settings::IngestSettings;

use super::super::report::{self, Row, Unit, thousands};

/// The ratio to the bare handler the project aims for (issue 4).
pub const GOAL: f64 = 0.5;

/// One database's run.
pub struct Outcome {
    pub row: Row,
    /// How the database makes commits durable.
    pub durability: String,
    /// Events answered 200 (warm-up included) and events the database holds afterwards.
    pub acked: u64,
    pub stored: i64,
}

impl Outcome {
    /// Every acknowledged event is stored (more may be, from requests whose answer the client lost).
    pub fn durable(&self) -> bool {
        i64::try_from(self.acked).is_ok_and(|acked| self.stored >= acked)
    }

    pub fn durability_line(&self) -> String {
        let (acked, stored) = (thousands(self.acked as f64), thousands(self.stored as f64));
        let verdict = match i64::try_from(self.acked).map_or(-1, |a| self.stored - a) {
            0 => "every acknowledged event stored".to_string(),
            d if d > 0 => {
                format!("{} more than acknowledged (requests that failed after their commit)", thousands(d as f64))
            }
            d => format!("**{} acknowledged events missing**", thousands(-d as f64)),
        };
        format!("{}: {acked} events acknowledged, {stored} stored: {verdict}", self.row.scenario)
    }
}

/// How the run was set up.
pub struct Setup {
    pub ingest: IngestSettings,
    pub pool: u32,
    pub batch: usize,
    pub concurrency: usize,
    pub seconds: u64,
    /// Why PostgreSQL was left out, if it was.
    pub skipped: Option<String>,
}

pub fn unit(batch: usize) -> Unit {
    Unit { name: "events", per_request: batch as f64 }
}

fn verdict(outcomes: &[Outcome]) -> String {
    let rows: Vec<&Row> = outcomes.iter().map(|o| &o.row).collect();
    let worst = report::worst_ratio(rows.iter().copied());
    if outcomes.iter().any(|o| !o.durable()) {
        format!("**Goal not met**: acknowledged events are missing (lowest ratio {worst:.2}×).")
    } else if worst >= GOAL {
        format!("Goal met: every acknowledged event is stored and the lowest ratio is {worst:.2}×.")
    } else {
        format!("**Goal not met**: the lowest ratio is {worst:.2}× (goal {GOAL}×).")
    }
}

/// The results table and what follows it, for the terminal and the docs.
pub fn results(outcomes: &[Outcome], batch: usize) -> String {
    let rows: Vec<&Row> = outcomes.iter().map(|o| &o.row).collect();
    let durability: Vec<String> = outcomes.iter().map(|o| format!("- {}", o.durability_line())).collect();
    format!(
        "{}\nDurability, counted in the database after the run:\n\n{}\n\n{}",
        report::table(rows.iter().copied(), unit(batch)),
        durability.join("\n"),
        verdict(outcomes)
    )
}

pub fn section(outcomes: &[Outcome], setup: &Setup) -> String {
    let (begin, end) = report::markers("ingest");
    let i = &setup.ingest;
    let databases: Vec<String> = outcomes.iter().map(|o| format!("\n  - {}", o.durability)).collect();
    let skipped = setup.skipped.as_ref().map(|s| format!("\n\nPostgreSQL was skipped: {s}.")).unwrap_or_default();
    format!(
        "{begin}
## Ingest: durable events through `/v1/batch` (`siyu bench ingest`)

Goal: siyu acknowledges at least {GOAL}× the events per second of a bare axum handler that only parses the
same JSON, and every acknowledged event is in the database.

- **siyu**: the real router (`siyu_web::router`) on a fresh database with one tenant and one source:
  `POST /v1/batch` with the write key as HTTP Basic user, answered 200 only after the group commit
  (`commit_window_ms` = {window}, `commit_max_events` = {max}, `queue_requests` = {queue}; the per-source
  rate limit raised out of the way); pool of {pool} connections.{databases}
- **bare**: axum with no middleware, `POST /v1/batch` parsing the body with
  `serde_json::from_slice::<serde_json::Value>` and answering `{{\"success\":true}}`.
- **load**: an in-process client with {c} keep-alive connections posting batches of {batch} analytics-python
  `track` events (random UUIDv4 `messageId`, properties, `context.library`, `timestamp`, `sentAt`), the
  same bodies to both servers; {s} s per database and server after a warm-up, in {slice}-s slices
  alternating between them. events/s = acknowledged requests × {batch}; p50/p99 = per-request ack latency
  seen by the client.

{results}{skipped}

Measured {date} on {machine}, release build.

Reproduce: `cargo build --release -p siyu && target/release/siyu bench ingest --write-docs`. SQLite uses a
temporary file; PostgreSQL a throwaway `siyu_bench_<uuid>` database (made and dropped with `psql`) on the
server of `--database-url postgres://…` or `SIYU_BENCH_PG_URL`, else on
`postgres://postgres@127.0.0.1:5432/postgres` if it answers. Flags: `--concurrency`, `--batch`, `--seconds`.
{end}
",
        window = i.commit_window_ms,
        max = i.commit_max_events,
        queue = i.queue_requests,
        pool = setup.pool,
        databases = databases.concat(),
        c = setup.concurrency,
        batch = setup.batch,
        s = setup.seconds,
        slice = super::super::load::SLICE_SECS,
        results = results(outcomes, setup.batch),
        date = chrono::Utc::now().format("%Y-%m-%d"),
        machine = report::machine(),
    )
}
