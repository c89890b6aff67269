//! Where `siyu bench segment`'s time goes on SQLite: the compiled statement written out by hand (what
//! `siyu-store/src/segments/compile.rs` emits for [`super::RULE`]; the bench checks that it counts what
//! `count_matching` counts), its `EXPLAIN QUERY PLAN`, and the time of its parts run alone through rusqlite.
//! Also candidate covering indexes, added to the file for a run and dropped after it.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::types::Value;
use uuid::Uuid;

/// The FROM and tenant filter `compile.rs` and `segments.rs` put before every rule.
const FROM: &str = "FROM customers c LEFT JOIN customer_aggregates a ON a.tenant_id = c.tenant_id AND a.customer_id = c.id \
     LEFT JOIN customer_rfm rf ON rf.tenant_id = c.tenant_id AND rf.customer_id = c.id \
     LEFT JOIN customer_clv cv ON cv.tenant_id = c.tenant_id AND cv.customer_id = c.id \
     WHERE c.tenant_id = $1 AND c.erased_at IS NULL";
/// Tables the statement joins that the bench leaves empty (RFM and CLV values).
pub const EMPTY_TABLES: [&str; 2] = ["customer_rfm", "customer_clv"];
const ATTRIBUTES: &str = "COALESCE(COALESCE(a.order_count, 0) >= $2, FALSE) AND COALESCE(COALESCE(a.paid_fen, 0) > $3, \
     FALSE) AND COALESCE(c.gender = $4, FALSE)";
const TAGS: &str = "COALESCE(EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND \
     ct.customer_id = c.id AND ct.tag_id IN ($5)), FALSE) AND COALESCE(NOT EXISTS (SELECT 1 FROM customer_tags ct \
     WHERE ct.tenant_id = c.tenant_id AND ct.customer_id = c.id AND ct.tag_id IN ($6)), FALSE)";

/// Indexes tried one at a time with `--try-indexes`: `(name, definition, what it is for)`.
pub const CANDIDATES: [(&str, &str, &str); 3] = [
    (
        "bench_customers_rule",
        "ON customers (tenant_id, id, erased_at, gender)",
        "customers (tenant_id, id, erased_at, gender): covers the customer columns of this rule",
    ),
    (
        "bench_customers_live",
        "ON customers (tenant_id, erased_at, id)",
        "customers (tenant_id, erased_at, id): the live customers in id order, any rule",
    ),
    (
        "bench_customer_aggregates_rule",
        "ON customer_aggregates (tenant_id, customer_id, order_count, paid_fen)",
        "customer_aggregates (tenant_id, customer_id, order_count, paid_fen): covers the aggregate lookups",
    ),
];

/// The values the rule binds, in the order of its placeholders.
#[derive(Debug, Clone)]
pub struct Binds {
    pub tenant: Uuid,
    pub min_orders: f64,
    pub min_paid_fen: f64,
    pub gender: String,
    pub any_tag: Uuid,
    pub none_tag: Uuid,
}

impl Binds {
    fn values(&self, n: usize) -> Vec<Value> {
        let all = [
            Value::Blob(self.tenant.as_bytes().to_vec()),
            Value::Real(self.min_orders),
            Value::Real(self.min_paid_fen),
            Value::Text(self.gender.clone()),
            Value::Blob(self.any_tag.as_bytes().to_vec()),
            Value::Blob(self.none_tag.as_bytes().to_vec()),
        ];
        all.into_iter().take(n).collect()
    }
}

/// The whole statement `count_matching` runs for the rule.
pub fn statement() -> String {
    format!("SELECT COUNT(*) {FROM} AND ({ATTRIBUTES} AND {TAGS})")
}

/// The statement's parts, each run alone: `(label, sql, placeholders)`.
fn parts() -> [(&'static str, String, usize); 3] {
    [
        (
            "scan the tenant's customers (erased_at IS NULL)",
            "SELECT COUNT(*) FROM customers c WHERE c.tenant_id = $1 AND c.erased_at IS NULL".to_string(),
            1,
        ),
        ("+ join the aggregates, 3 attributes", format!("SELECT COUNT(*) {FROM} AND ({ATTRIBUTES})"), 4),
        ("+ 2 tag tests (the whole rule)", statement(), 6),
    ]
}

/// What the probe found.
pub struct Probe {
    pub plan: Vec<String>,
    /// Each part's label, count and best time of `runs`.
    pub parts: Vec<(&'static str, i64, Duration)>,
}

fn best_count(
    conn: &rusqlite::Connection,
    sql: &str,
    values: &[Value],
    runs: usize,
) -> anyhow::Result<(i64, Duration)> {
    let mut stmt = conn.prepare(sql)?;
    let mut best = Duration::MAX;
    let mut count = 0;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        count = stmt.query_row(rusqlite::params_from_iter(values.iter()), |r| r.get(0))?;
        best = best.min(started.elapsed());
    }
    Ok((count, best))
}

/// The query plan and the parts' times (best of `runs`, after the caller's warm-up), on a read-only
/// connection with the store's cache and mmap settings.
pub fn probe(db: &Path, binds: &Binds, runs: usize) -> anyhow::Result<Probe> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA mmap_size = 2147418112;")?;
    Ok(Probe { plan: plan(&conn, binds)?, parts: timed_parts(&conn, binds, runs)? })
}

/// The statement's plan, on a fresh connection.
pub fn plan_of(db: &Path, binds: &Binds) -> anyhow::Result<Vec<String>> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    plan(&conn, binds)
}

fn plan(conn: &rusqlite::Connection, binds: &Binds) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", statement()))?;
    let rows = stmt.query_map(rusqlite::params_from_iter(binds.values(6).iter()), |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(3)?))
    })?;
    // Indent each step under its parent, as the sqlite3 shell does.
    let mut depth: Vec<(i64, usize)> = Vec::new();
    let mut lines = Vec::new();
    for row in rows {
        let (id, parent, detail) = row?;
        let level = depth.iter().find(|(i, _)| *i == parent).map_or(0, |(_, l)| l + 1);
        depth.push((id, level));
        lines.push(format!("{}{detail}", "  ".repeat(level)));
    }
    Ok(lines)
}

fn timed_parts(
    conn: &rusqlite::Connection,
    binds: &Binds,
    runs: usize,
) -> anyhow::Result<Vec<(&'static str, i64, Duration)>> {
    let mut out = Vec::new();
    for (label, sql, n) in parts() {
        let values = binds.values(n);
        best_count(conn, &sql, &values, 1)?;
        let (count, best) = best_count(conn, &sql, &values, runs)?;
        out.push((label, count, best));
    }
    Ok(out)
}

/// Adds candidate `i` to the file (`ANALYZE` is not run, as siyu never runs it).
pub fn add_candidate(db: &Path, i: usize) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    if let Some((name, definition, _)) = CANDIDATES.get(i) {
        conn.execute_batch(&format!("CREATE INDEX IF NOT EXISTS {name} {definition}"))?;
    }
    Ok(())
}

/// Drops every candidate, leaving the schema the migrations made.
pub fn drop_candidates(db: &Path) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    for (name, _, _) in CANDIDATES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}
