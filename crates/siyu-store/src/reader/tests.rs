#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use sqlx::types::Json;
use uuid::Uuid;

use super::decode::read_row;
use super::{Reader, fetch_all, fetch_optional};
use crate::sql::{Arg, Sql};

read_row! {
    struct Inner {
        name: String,
        at: DateTime<Utc>,
    }
}

read_row! {
    struct Outer {
        id: Uuid,
        inner: Inner,
        later: Option<DateTime<Utc>>,
        flag: bool,
        data: Json<serde_json::Value>,
    }
}

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (id BLOB, name TEXT, at TEXT, later TEXT, flag INTEGER, data TEXT, n INTEGER)")
        .unwrap();
    c
}

#[test]
fn placeholders_bind_by_number_even_when_the_text_uses_them_out_of_order() {
    let c = db();
    let id = Uuid::now_v7();
    c.execute(
        "INSERT INTO t VALUES (?1, 'a', '2026-11-23T01:02:03.456+00:00', NULL, 1, '{\"k\":[1,2]}', 7)",
        [&id.as_bytes()[..]],
    )
    .unwrap();
    let sql = Sql::with("SELECT n FROM t WHERE n = $2 AND id = $1 AND name = $3", {
        vec![Arg::Uuid(id), Arg::Int(7), Arg::Text("a".into())]
    });
    let rows: Vec<(i64,)> = fetch_all(&c, &sql).unwrap();
    assert_eq!(rows, vec![(7,)]);
}

#[test]
fn rows_decode_like_sqlx_including_flattened_rows_and_nulls() {
    let c = db();
    let id = Uuid::now_v7();
    c.execute(
        "INSERT INTO t VALUES (?1, '王小美', '2026-11-23T01:02:03.456+00:00', NULL, 1, '{\"k\":[1,2]}', 7)",
        [&id.as_bytes()[..]],
    )
    .unwrap();
    let sql = Sql::with("SELECT id, name, at, later, flag, data FROM t WHERE id = $1", vec![Arg::Uuid(id)]);
    let row: Outer = fetch_optional(&c, &sql).unwrap().unwrap();
    assert_eq!(row.id, id);
    assert_eq!(row.inner.name, "王小美");
    let expected = Utc.with_ymd_and_hms(2026, 11, 23, 1, 2, 3).unwrap() + chrono::Duration::milliseconds(456);
    assert_eq!(row.inner.at, expected);
    assert_eq!(row.later, None);
    assert!(row.flag);
    assert_eq!(row.data.0, serde_json::json!({"k": [1, 2]}));
}

#[test]
fn times_compare_as_the_text_sqlx_writes() {
    // Cursor pagination compares stored times with bound times as text: both must be sqlx's RFC 3339 form.
    let c = db();
    let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::milliseconds(120);
    let stored = at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    c.execute("INSERT INTO t (at, n) VALUES (?1, 1)", [&stored]).unwrap();
    let same: Vec<(i64,)> = fetch_all(&c, &Sql::with("SELECT n FROM t WHERE at = $1", vec![Arg::Time(at)])).unwrap();
    assert_eq!(same.len(), 1);
    let later = at + chrono::Duration::milliseconds(1);
    let before: Vec<(i64,)> =
        fetch_all(&c, &Sql::with("SELECT n FROM t WHERE at < $1", vec![Arg::Time(later)])).unwrap();
    assert_eq!(before.len(), 1);
}

#[test]
fn sqlite_s_own_time_format_and_unix_seconds_also_decode() {
    let c = db();
    c.execute_batch("INSERT INTO t (at, n) VALUES ('2026-11-23 01:02:03', 1700000000)").unwrap();
    read_row! {
        struct Times {
            at: DateTime<Utc>,
            later: DateTime<Utc>,
        }
    }
    let t: Times = fetch_optional(&c, &Sql::new("SELECT at, n AS later FROM t")).unwrap().unwrap();
    assert_eq!(t.at, Utc.with_ymd_and_hms(2026, 11, 23, 1, 2, 3).unwrap());
    assert_eq!(t.later.timestamp(), 1_700_000_000);
}

#[test]
fn a_wrong_column_type_is_a_corrupt_row_not_a_panic() {
    let c = db();
    c.execute_batch("INSERT INTO t (id, n) VALUES ('not a uuid', 1)").unwrap();
    let got: Result<Option<(Uuid,)>, _> = fetch_optional(&c, &Sql::new("SELECT id FROM t"));
    assert!(matches!(got, Err(crate::StoreError::Corrupt(_))));
    let got: Result<Option<(i64,)>, _> = fetch_optional(&c, &Sql::new("SELECT name FROM t WHERE n = 1"));
    assert!(got.is_err());
}

#[test]
fn in_memory_databases_get_no_reader() {
    assert!(Reader::for_file(std::path::Path::new(":memory:"), 4).is_none());
    assert!(Reader::for_file(std::path::Path::new(""), 4).is_none());
    assert!(Reader::for_file(std::path::Path::new("/tmp/siyu.db"), 4).is_some());
}

/// A reader on a fresh SQLite file; `slow` is how long a short read may take before the next go to the pool.
fn file_reader(dir: &tempfile::TempDir, slow: std::time::Duration) -> std::sync::Arc<Reader> {
    let path = dir.path().join("siyu.db");
    Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (7);").unwrap();
    let reader = Reader::for_file(&path, 2).unwrap();
    std::sync::Arc::new(Reader { slow, ..std::sync::Arc::into_inner(reader).unwrap() })
}

fn read_n_and_thread(c: &Connection) -> Result<(i64, std::thread::ThreadId), crate::StoreError> {
    let (n,): (i64,) = fetch_optional(c, &Sql::new("SELECT n FROM t"))?.unwrap();
    Ok((n, std::thread::current().id()))
}

#[tokio::test]
async fn short_reads_run_on_the_calling_thread_while_they_are_fast() {
    let dir = tempfile::tempdir().unwrap();
    let reader = file_reader(&dir, super::SLOW);
    let here = std::thread::current().id();
    for _ in 0..3 {
        assert_eq!(reader.run_short(read_n_and_thread).await.unwrap(), (7, here));
    }
    let (n, pooled) = reader.run(read_n_and_thread).await.unwrap();
    assert_eq!(n, 7);
    assert_ne!(pooled, here, "run always uses the blocking pool");
}

#[tokio::test]
async fn after_a_slow_short_read_the_next_ones_go_to_the_blocking_pool() {
    let dir = tempfile::tempdir().unwrap();
    // Every read is "slow": the first runs here and sends the next ones to the pool for the cool-off.
    let reader = file_reader(&dir, std::time::Duration::ZERO);
    let here = std::thread::current().id();
    assert_eq!(reader.run_short(read_n_and_thread).await.unwrap(), (7, here));
    for _ in 0..3 {
        let (n, on) = reader.run_short(read_n_and_thread).await.unwrap();
        assert_eq!(n, 7);
        assert_ne!(on, here);
    }
}

#[tokio::test]
async fn a_reader_trip_sees_one_snapshot_and_leaves_no_transaction_open() {
    let dir = tempfile::tempdir().unwrap();
    let reader = file_reader(&dir, super::SLOW);
    let autocommit = reader.run_short(|c| Ok(c.is_autocommit())).await.unwrap();
    assert!(!autocommit, "the closure runs inside a read transaction");
    let idle = reader.idle.lock().unwrap().pop().unwrap();
    assert!(idle.is_autocommit(), "the connection goes back with its transaction ended");
}

#[test]
fn a_page_statement_is_prepared_once_not_on_every_execution() {
    // SQLite 3.51 re-prepares a statement whose LIMIT is a bound value on each run: `Sql::limit` writes it in.
    let c = db();
    c.execute_batch("INSERT INTO t (n) VALUES (1), (2), (3)").unwrap();
    let mut sql = Sql::new("SELECT n FROM t WHERE n > ");
    sql.bind(Arg::Int(0)).push(" ORDER BY n DESC").limit(2);
    for _ in 0..3 {
        let rows: Vec<(i64,)> = fetch_all(&c, &sql).unwrap();
        assert_eq!(rows, vec![(3,), (2,)]);
    }
    let stmt = c.prepare_cached(&sql.text).unwrap();
    assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
}
