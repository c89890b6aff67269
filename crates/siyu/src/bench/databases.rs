//! The databases `siyu bench ingest`, `siyu bench journeys` and its crash test write to, made for the run and
//! removed after it: a SQLite file in the temporary directory, and a `siyu_bench_<uuid>` database on a
//! PostgreSQL server.
//!
//! The store exposes no statement for creating a database, so PostgreSQL's own client, `psql`, creates and
//! drops it (and reads the server's durability settings).

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

/// The server tried when neither `--database-url postgres://…` nor `SIYU_BENCH_PG_URL` names one.
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database made for the run.
pub struct Database {
    /// "SQLite" or "PostgreSQL".
    pub label: &'static str,
    pub url: String,
    /// The server's version and durability settings, for the report.
    pub durability: String,
    place: Place,
}

enum Place {
    File(PathBuf),
    Postgres { server: String, name: String },
}

/// Which PostgreSQL server to use, and whether the user named it (then failing to reach it is an error;
/// the default server is only tried).
pub fn postgres_server(database_url: &str) -> (String, bool) {
    if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        return (database_url.to_string(), true);
    }
    match std::env::var("SIYU_BENCH_PG_URL") {
        Ok(url) if !url.trim().is_empty() => (url.trim().to_string(), true),
        _ => (DEFAULT_PG.to_string(), false),
    }
}

impl Database {
    /// A new SQLite file in the temporary directory (created by the first connection).
    pub fn sqlite(purpose: &str) -> Self {
        let name = format!("siyu-bench-{purpose}-{}.db", uuid::Uuid::now_v7().simple());
        let path = std::env::temp_dir().join(name);
        Self {
            label: "SQLite",
            url: format!("sqlite://{}", path.display()),
            durability: "WAL, synchronous=NORMAL".to_string(),
            place: Place::File(path),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.place, Place::Postgres { .. })
    }

    /// A new database on the PostgreSQL `server`.
    pub async fn postgres(server: &str) -> anyhow::Result<Self> {
        let name = format!("siyu_bench_{}", uuid::Uuid::now_v7().simple());
        let settings = psql(
            server,
            "SELECT current_setting('server_version') || ', synchronous_commit=' || \
             current_setting('synchronous_commit') || ', fsync=' || current_setting('fsync')",
        )
        .await?;
        psql(server, &format!("CREATE DATABASE {name}")).await?;
        Ok(Self {
            label: "PostgreSQL",
            url: with_database(server, &name),
            durability: settings.trim().to_string(),
            place: Place::Postgres { server: server.to_string(), name },
        })
    }

    /// Where it lives, for progress notes (no password).
    pub fn describe(&self) -> String {
        match &self.place {
            Place::File(path) => path.display().to_string(),
            Place::Postgres { name, .. } => format!("database {name}"),
        }
    }

    /// Deletes the file (with its `-wal` and `-shm`) or drops the database; call once its pool is closed.
    pub async fn remove(self) -> anyhow::Result<()> {
        match self.place {
            Place::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    match std::fs::remove_file(&p) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(e).with_context(|| format!("removing {}", PathBuf::from(p).display()));
                        }
                        _ => {}
                    }
                }
                Ok(())
            }
            Place::Postgres { server, name } => {
                psql(&server, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.map(|_| ())
            }
        }
    }
}

/// Runs one statement with `psql` (never prompting for a password) and returns what it printed.
async fn psql(server: &str, sql: &str) -> anyhow::Result<String> {
    let (server, sql) = (server.to_string(), sql.to_string());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("psql")
            .args(["-X", "-q", "-w", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", &server, "-c", &sql])
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
    })
    .await?
    .context("running psql (PostgreSQL's client, needed to create the throwaway database)")?;
    if !out.status.success() {
        anyhow::bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Replaces the database name in a PostgreSQL URL.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
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
    use super::*;

    #[test]
    fn the_database_name_is_replaced_in_a_postgres_url() {
        assert_eq!(with_database(DEFAULT_PG, "x"), "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    }

    #[test]
    fn a_postgres_database_url_names_the_server() {
        assert_eq!(postgres_server("postgres://u@h/db"), ("postgres://u@h/db".to_string(), true));
    }
}
