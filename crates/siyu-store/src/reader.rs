//! The SQLite read path for hot, short queries (bearer-token checks, profiles, list pages).
//!
//! sqlx runs every SQLite connection on its own worker thread and hands each statement to it and each row
//! back over a channel: some 40–80 µs of wake-ups per query, which dominate a request that reads a handful
//! of indexed rows (see docs/benchmarks.md). The [`Reader`] keeps a few read-only rusqlite connections on
//! the same file and runs a whole read closure (several statements) in one trip to tokio's blocking pool.
//!
//! Short reads (a profile, a list page, a bearer-token check: a few index probes) skip even that trip while
//! the file is in memory: [`Reader::run_short`] runs them on the calling task, as a JSON encoding of the same
//! page would run. Handing a read to the blocking pool and back costs about a fifth of such a request's CPU
//! (two thread wake-ups). A short read that turns out slow (the file is not cached, a page comes from disk)
//! sends the next [`COOL_OFF`] of short reads to the blocking pool, so a cold file stalls a worker thread
//! once, not on every request.
//!
//! The SQL text, the bound [`Arg`]s and the row structs are the ones the sqlx path uses: rows declared with
//! [`read_row!`] decode from either driver, values bind as sqlx would encode them (UUIDs as 16-byte blobs,
//! times as RFC 3339 text), and `$n` placeholders bind by name. Writes never come here: the sqlx pool stays
//! the only writer, and WAL lets these connections read the last committed state beside it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::SecondsFormat;
use rusqlite::{Connection, OpenFlags, Statement};

use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{Store, StoreError, on_pool};

pub(crate) mod decode;

pub(crate) use decode::{FromSqlite, read_row};

/// Read-only rusqlite connections to the store's SQLite file. At most `size` closures run at once (each on
/// its own connection, opened on first use and kept with its statement cache); more wait their turn.
pub(crate) struct Reader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: tokio::sync::Semaphore,
    /// When this reader was made: the origin of `pooled_until`.
    born: Instant,
    /// Until when (ms after `born`) short reads go to the blocking pool, after a slow one.
    pooled_until: AtomicU64,
    /// How long a short read may take before the next ones go to the pool ([`SLOW`]; tests lower it).
    slow: Duration,
}

/// A short read taking longer than this was probably waiting on the disk.
pub(crate) const SLOW: Duration = Duration::from_millis(2);
/// How long short reads stay on the blocking pool after a slow one.
pub(crate) const COOL_OFF: Duration = Duration::from_secs(10);

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reader({})", self.path.display())
    }
}

impl Reader {
    /// A reader for the file at `path`; `None` for in-memory databases, which other connections cannot see.
    pub fn for_file(path: &Path, size: usize) -> Option<Arc<Self>> {
        let name = path.to_string_lossy();
        if name.is_empty() || name == ":memory:" || name.contains("mode=memory") {
            return None;
        }
        let permits = tokio::sync::Semaphore::new(size.max(1));
        Some(Arc::new(Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            permits,
            born: Instant::now(),
            pooled_until: AtomicU64::new(0),
            slow: SLOW,
        }))
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // The same cache and mapping as the sqlx connections (see `Store::connect`).
        conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA mmap_size = 2147418112; PRAGMA query_only = 1;")?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn checkout(&self) -> Result<Connection, StoreError> {
        let reused = self.idle.lock().map_err(|_| poisoned())?.pop();
        match reused {
            Some(c) => Ok(c),
            None => self.open().map_err(StoreError::from),
        }
    }

    fn checkin(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }

    /// Runs `f` with a connection on the blocking pool, in one read transaction (see [`Reader::with_connection`]).
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        let me = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || me.with_connection(f));
        task.await.map_err(|e| StoreError::Read(format!("reader task: {e}")))?
    }

    /// Runs a short read `f` (a few index probes and at most a page of rows) on the calling task, unless a
    /// recent short read was slow: then on the blocking pool, like [`Reader::run`].
    pub async fn run_short<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if self.millis(Instant::now()) < self.pooled_until.load(Ordering::Relaxed) {
            return self.run(f).await;
        }
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        let started = Instant::now();
        let out = self.with_connection(f);
        let took = started.elapsed();
        if took > self.slow {
            let until = self.millis(started + took + COOL_OFF);
            self.pooled_until.fetch_max(until, Ordering::Relaxed);
            tracing::debug!(took_us = took.as_micros() as u64, "slow short read: short reads go to the blocking pool");
        }
        out
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.born).as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs `f` on an idle (or new) connection in one read transaction: its statements see one snapshot, and
    /// the WAL read lock is taken once rather than per statement. A connection whose closure failed is
    /// dropped rather than reused, so a half-stepped statement or an open transaction never leaks into the
    /// next read.
    fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = self.checkout()?;
        let out = in_snapshot(&conn, f);
        if out.is_ok() {
            self.checkin(conn);
        }
        out
    }

    /// Refuses further reads and forgets idle connections (on shutdown).
    pub fn close(&self) {
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

/// `f` between `BEGIN` and `COMMIT` (a read transaction, as the connection only reads).
fn in_snapshot<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
    conn.prepare_cached("BEGIN")?.raw_execute()?;
    let out = f(conn)?;
    conn.prepare_cached("COMMIT")?.raw_execute()?;
    Ok(out)
}

/// What a row type needs to be read on every backend and driver.
pub(crate) trait ReadRow:
    FromSqlite
    + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + Send
    + Unpin
    + 'static
{
}

impl<T> ReadRow for T where
    T: FromSqlite
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
        + 'static
{
}

impl Store {
    /// Every row of a read-only statement: through the [`Reader`] on a SQLite file, else through sqlx.
    pub(crate) async fn read_all<R: ReadRow>(&self, sql: Sql) -> Result<Vec<R>, StoreError> {
        if let Some(reader) = &self.reader {
            return reader.run(move |c| fetch_all(c, &sql)).await;
        }
        Ok(on_pool!(self, p => dyn_query_as!(R, sql).fetch_all(p).await)?)
    }

    /// The first row of a read-only statement, if any (see [`Store::read_all`]).
    pub(crate) async fn read_optional<R: ReadRow>(&self, sql: Sql) -> Result<Option<R>, StoreError> {
        if let Some(reader) = &self.reader {
            return reader.run(move |c| fetch_optional(c, &sql)).await;
        }
        Ok(on_pool!(self, p => dyn_query_as!(R, sql).fetch_optional(p).await)?)
    }
}

/// Runs several short read statements together and yields a tuple of their results: on a SQLite file in
/// one [`Reader::run_short`], else one after another through sqlx. Each entry is `all Row = sql` (every row)
/// or `optional Row = sql` (the first row, if any), where `sql` is a variable holding an owned [`Sql`].
macro_rules! read_together {
    ($store:expr, $($how:ident $row:ty = $sql:ident),+ $(,)?) => {{
        let store: &$crate::Store = $store;
        match &store.reader {
            Some(reader) => {
                reader.run_short(move |conn| Ok(($($crate::reader::read_together!(@sync $how, conn, $row, $sql)?,)+))).await
            }
            None => Ok::<_, $crate::StoreError>(($($crate::reader::read_together!(@async $how, store, $row, $sql)?,)+)),
        }
    }};
    (@sync all, $conn:ident, $row:ty, $sql:expr) => { $crate::reader::fetch_all::<$row>($conn, &$sql) };
    (@sync optional, $conn:ident, $row:ty, $sql:expr) => { $crate::reader::fetch_optional::<$row>($conn, &$sql) };
    (@async all, $store:ident, $row:ty, $sql:expr) => { $store.read_all::<$row>($sql).await };
    (@async optional, $store:ident, $row:ty, $sql:expr) => { $store.read_optional::<$row>($sql).await };
}
pub(crate) use read_together;

fn closed() -> StoreError {
    StoreError::Read("reader closed".into())
}

fn poisoned() -> StoreError {
    StoreError::Read("reader pool lock poisoned".into())
}

/// Every row `sql` yields, decoded as `R`.
pub(crate) fn fetch_all<R: FromSqlite>(conn: &Connection, sql: &Sql) -> Result<Vec<R>, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.text)?;
    bind(&mut stmt, &sql.args)?;
    let mut columns = Vec::new();
    R::columns(&stmt, &mut columns)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(R::from_sqlite(row, &mut columns.iter())?);
    }
    Ok(out)
}

/// The first row `sql` yields, if any.
pub(crate) fn fetch_optional<R: FromSqlite>(conn: &Connection, sql: &Sql) -> Result<Option<R>, StoreError> {
    let mut stmt = conn.prepare_cached(&sql.text)?;
    bind(&mut stmt, &sql.args)?;
    let mut columns = Vec::new();
    R::columns(&stmt, &mut columns)?;
    let mut rows = stmt.raw_query();
    match rows.next()? {
        Some(row) => Ok(Some(R::from_sqlite(row, &mut columns.iter())?)),
        None => Ok(None),
    }
}

/// Binds `$1..$n` by name, encoding each value the way sqlx's SQLite driver does.
fn bind(stmt: &mut Statement<'_>, args: &[Arg]) -> Result<(), StoreError> {
    stmt.clear_bindings();
    let mut name = String::with_capacity(8);
    for (i, arg) in args.iter().enumerate() {
        name.clear();
        let _ = write!(name, "${}", i + 1);
        let Some(index) = stmt.parameter_index(&name)? else {
            continue;
        };
        match arg {
            Arg::Uuid(v) => stmt.raw_bind_parameter(index, &v.as_bytes()[..])?,
            Arg::Time(v) => stmt.raw_bind_parameter(index, v.to_rfc3339_opts(SecondsFormat::AutoSi, false))?,
            Arg::Text(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Int(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Float(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Bytes(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::OptUuid(v) => stmt.raw_bind_parameter(index, v.as_ref().map(|u| u.as_bytes().to_vec()))?,
            Arg::OptTime(v) => {
                stmt.raw_bind_parameter(index, v.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, false)))?
            }
            Arg::OptText(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::OptBytes(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::OptInt(v) => stmt.raw_bind_parameter(index, v)?,
            Arg::Json(v) => stmt.raw_bind_parameter(index, v.to_string())?,
        }
    }
    Ok(())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Self::NotFound,
            rusqlite::Error::FromSqlConversionFailure(_, _, err) => Self::Corrupt(err.to_string()),
            other => Self::Read(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests;
