//! The only crate with SQL.
//!
//! [`Store`] is a facade over one of two backends, SQLite (embedded default) and PostgreSQL (production),
//! chosen by the URL scheme. Each aggregate has one module (`customers`, `tags`, ...) exposing a typed
//! repository (`store.customers()`) whose methods take domain types and always a `TenantId`.
//!
//! SQL is written once when both dialects accept the same text (both take `$1` placeholders) and the
//! [`on_pool!`] macro runs it on whichever pool is active; where the dialects differ the module holds a
//! `sqlite` and a `postgres` string side by side. Architecture invariants:
//! - no query without a tenant id, except on the platform tables `accounts`, `sessions`, `login_throttle`,
//!   `wecom_callback_routes` (which tenant a WeCom callback URL belongs to) and `tenants.link_key` (which
//!   tenant a public link code belongs to);
//! - no sqlx type leaves this crate: methods speak domain types and [`StoreError`].

mod reader;
mod sql;
mod statements;

pub mod accounts;
pub mod activity;
pub mod aggregates;
pub mod archive;
pub mod audience;
pub mod audit;
pub mod bulk;
pub mod clv;
pub mod customers;
pub mod departments;
pub mod error;
pub mod events;
pub mod fields;
pub mod follows;
pub mod graph;
pub mod idempotency;
pub mod identities;
pub mod jobs;
pub mod journeys;
pub mod links;
pub mod materials;
pub mod notes;
pub mod orders;
pub mod privacy;
pub mod rfm;
pub mod scripts;
pub mod segments;
pub mod sessions;
pub mod sidebar;
pub mod signals;
pub mod sources;
pub mod stages;
pub mod tags;
pub mod tasks;
pub mod tenants;
pub mod testing;
pub mod timeline;
pub mod tokens;
pub mod uploads;
pub mod wecom;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use error::StoreError;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl BackendKind {
    /// Put before a column compared with `=` so that SQLite does not pick an index for it (`+kind = $2`);
    /// nothing on PostgreSQL, which has statistics. SQLite plans by index shape alone (siyu runs no
    /// `ANALYZE`) and, given `tenant_id = … AND customer_id = … AND kind = …`, may walk the brand's
    /// `(tenant_id, kind, …)` index instead of probing the customer's identities.
    pub(crate) fn unindexed(self) -> &'static str {
        match self {
            Self::Sqlite => "+",
            Self::Postgres => "",
        }
    }
}

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Connection settings for [`Store::connect`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 10, acquire_timeout: Duration::from_secs(10) }
    }
}

/// The database facade. Cheap to clone (pools are reference counted).
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    /// Read-only rusqlite connections for hot reads on a SQLite file (see [`reader`]).
    pub(crate) reader: Option<std::sync::Arc<reader::Reader>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.kind())
    }
}

/// Runs `$body` with `$pool` bound to the active backend's pool. The body is compiled once per backend,
/// so the same SQL text and binds serve both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Like [`on_pool!`] for statements: runs an `execute` on the active pool and yields the affected rows.
macro_rules! exec {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => $body.map(|r| r.rows_affected()),
            $crate::Backend::Postgres($pool) => $body.map(|r| r.rows_affected()),
        }
    };
}
pub(crate) use exec;

/// Runs `$body` inside a transaction bound to `$tx` (use `&mut *$tx` as the executor) and commits it.
/// Returning early with `?` drops the transaction, which rolls it back.
macro_rules! in_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Backend::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use in_tx;

/// Like [`in_tx!`] for transactions that read before they write: on SQLite the write lock is taken at
/// `BEGIN IMMEDIATE` (waiting out the busy timeout), because a deferred transaction that reads first cannot
/// upgrade to a writer while another connection writes and fails with `database is locked` at once.
macro_rules! in_write_tx {
    ($store:expr, $tx:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::Backend::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use in_write_tx;

impl Store {
    /// Connects by URL scheme: `sqlite://path.db` (created if missing) or `postgres://...`.
    pub async fn connect(opts: &ConnectOptions) -> Result<Self, StoreError> {
        let url = opts.url.as_str();
        if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory")
                // Deleted and overwritten content is zeroed, not left in free space: erased customers (PIPL) must
                // not survive in the file's bytes.
                .pragma("secure_delete", "on")
                // Reads map the file (shared by all connections, no read syscalls) up to SQLite's 2 GB cap.
                .pragma("mmap_size", "2147418112");
            let reader = reader::Reader::for_file(connect.get_filename(), opts.max_connections as usize);
            // An embedded file cannot drop a connection: skip the ping before each checkout (a round trip
            // to the connection's worker thread per query).
            let pool = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(connect)
                .await?;
            Ok(Self { backend: Backend::Sqlite(pool), reader })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let connect = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(connect)
                .await?;
            Ok(Self { backend: Backend::Postgres(pool), reader: None })
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// The file of a SQLite database (`None` in memory or on PostgreSQL).
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        match &self.backend {
            Backend::Sqlite(p) => {
                let opts = p.connect_options();
                let file = opts.get_filename();
                let name = file.to_string_lossy();
                (!name.is_empty() && !name.starts_with(":memory:") && !name.starts_with("file:sqlx-in-memory"))
                    .then(|| file.to_path_buf())
            }
            Backend::Postgres(_) => None,
        }
    }

    /// Applies pending migrations (PostgreSQL takes an advisory lock, so concurrent nodes are safe).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Backend::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Refreshes the planner's statistics (`ANALYZE`), as autovacuum does for any table past its first
    /// few rows; benchmarks call it after seeding a fresh database, so plans are those of a database in use.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        exec!(self, p => sqlx::query("ANALYZE").execute(p).await)?;
        Ok(())
    }

    /// Cheap liveness probe for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Names of all user tables and, per table, the first column of every index and of the primary key.
    /// Used by the tenancy-rule test.
    pub async fn index_leading_columns(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows: Vec<(String, String, String)> = match &self.backend {
            Backend::Sqlite(p) => {
                sqlx::query_as(
                    "SELECT m.name, il.name, ii.name FROM sqlite_master m \
                     JOIN pragma_index_list(m.name) il \
                     JOIN pragma_index_info(il.name) ii ON ii.seqno = 0 \
                     WHERE m.type = 'table' AND m.name NOT LIKE '\\_%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite%' \
                     UNION ALL \
                     SELECT m.name, 'pk', ti.name FROM sqlite_master m JOIN pragma_table_info(m.name) ti ON ti.pk = 1 \
                     WHERE m.type = 'table' AND m.name NOT LIKE '\\_%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite%'",
                )
                .fetch_all(p)
                .await?
            }
            Backend::Postgres(p) => {
                sqlx::query_as(
                    "SELECT t.relname::text, i.relname::text, a.attname::text FROM pg_index x \
                     JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
                     JOIN pg_namespace n ON n.oid = t.relnamespace \
                     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0] \
                     WHERE n.nspname = current_schema() AND t.relname NOT LIKE '\\_%'",
                )
                .fetch_all(p)
                .await?
            }
        };
        Ok(rows)
    }

    /// Closes the pool, waiting for checked-out connections to return.
    pub async fn close(&self) {
        if let Some(r) = &self.reader {
            r.close();
        }
        on_pool!(self, p => p.close().await)
    }

    /// For the test proving no phone number is stored in clear: on PostgreSQL, every row of every table as
    /// text (bytea shows as hex); on SQLite, `None` after a WAL checkpoint, so the caller reads the file bytes.
    pub async fn raw_dump(&self) -> Result<Option<String>, StoreError> {
        match &self.backend {
            Backend::Sqlite(p) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(p).await?;
                Ok(None)
            }
            Backend::Postgres(p) => {
                let tables: Vec<(String,)> =
                    sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()")
                        .fetch_all(p)
                        .await?;
                let mut out = String::new();
                for (t,) in tables {
                    if !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        continue;
                    }
                    let sql = format!("SELECT string_agg(t::text, ' ') FROM \"{t}\" t");
                    let row: (Option<String>,) = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(p).await?;
                    out.push_str(&row.0.unwrap_or_default());
                    out.push('\n');
                }
                Ok(Some(out))
            }
        }
    }
}
