//! Fresh databases for tests, on either backend.
//!
//! SQLite: a new file in a temporary directory, removed with the [`TestDb`]. PostgreSQL: a new uniquely named
//! database (`siyu_test_<uuid>`) on the server named by `SIYU_TEST_DATABASE_URL`; `siyu admin drop-test-dbs`
//! style cleanup is left to the disposable CI machine.

use tempfile::TempDir;

use crate::{ConnectOptions, Store, StoreError};

/// The environment variable naming the PostgreSQL server for tests.
pub const PG_URL_VAR: &str = "SIYU_TEST_DATABASE_URL";

/// A migrated database that lives as long as this value.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    /// The SQLite file's directory (kept alive for the test).
    pub dir: Option<TempDir>,
}

impl TestDb {
    /// A fresh SQLite database.
    pub async fn sqlite() -> Result<Self, StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Corrupt(format!("tempdir: {e}")))?;
        let url = format!("sqlite://{}", dir.path().join("siyu.db").display());
        let store = Store::connect(&ConnectOptions::new(&url)).await?;
        store.migrate().await?;
        Ok(Self { store, url, dir: Some(dir) })
    }

    /// A fresh PostgreSQL database, or `None` when `SIYU_TEST_DATABASE_URL` is not set.
    pub async fn postgres() -> Result<Option<Self>, StoreError> {
        let Ok(server) = std::env::var(PG_URL_VAR) else {
            return Ok(None);
        };
        let admin = Store::connect(&ConnectOptions { max_connections: 1, ..ConnectOptions::new(&server) }).await?;
        let name = format!("siyu_test_{}", uuid::Uuid::now_v7().simple());
        if let crate::Backend::Postgres(p) = &admin.backend {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(p).await?;
        }
        admin.close().await;
        let url = with_database(&server, &name);
        let store = Store::connect(&ConnectOptions { max_connections: 8, ..ConnectOptions::new(&url) }).await?;
        store.migrate().await?;
        Ok(Some(Self { store, url, dir: None }))
    }

    /// Every backend available: SQLite always, PostgreSQL when configured.
    pub async fn all() -> Result<Vec<Self>, StoreError> {
        let mut out = vec![Self::sqlite().await?];
        if let Some(pg) = Self::postgres().await? {
            out.push(pg);
        }
        Ok(out)
    }
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_in_a_postgres_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    }
}
