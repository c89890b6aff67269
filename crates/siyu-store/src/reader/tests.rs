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
