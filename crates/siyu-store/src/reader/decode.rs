//! Decoding rusqlite rows into the store's row structs, value for value as sqlx's SQLite driver decodes them.

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Row, RowIndex};
use serde::de::DeserializeOwned;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;

/// A whole row decoded from the rusqlite read path.
pub(crate) trait FromSqlite: Sized {
    fn from_sqlite(row: &Row<'_>) -> Result<Self, StoreError>;
}

/// One field of a row struct: a column (by name or position), or a nested row flattened into the same row.
pub(crate) trait Field: Sized {
    fn field<I: RowIndex + Copy + std::fmt::Debug>(row: &Row<'_>, at: I) -> Result<Self, StoreError>;
}

/// Declares a row struct (with its attributes, e.g. `#[derive(sqlx::FromRow)]`) and decodes it from
/// rusqlite rows by column name, so one declaration serves both drivers. A field whose type is another
/// `read_row!` struct reads the same row (sqlx's `#[sqlx(flatten)]`).
macro_rules! read_row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }

        impl $crate::reader::FromSqlite for $name {
            fn from_sqlite(row: &rusqlite::Row<'_>) -> Result<Self, $crate::StoreError> {
                Ok(Self { $($field: $crate::reader::decode::Field::field(row, stringify!($field))?),* })
            }
        }

        impl $crate::reader::decode::Field for $name {
            fn field<I: rusqlite::RowIndex + Copy + std::fmt::Debug>(
                row: &rusqlite::Row<'_>,
                _at: I,
            ) -> Result<Self, $crate::StoreError> {
                <Self as $crate::reader::FromSqlite>::from_sqlite(row)
            }
        }
    };
}
pub(crate) use read_row;

fn value<'r, I: RowIndex + Copy + std::fmt::Debug>(row: &'r Row<'_>, at: I) -> Result<ValueRef<'r>, StoreError> {
    Ok(row.get_ref(at)?)
}

fn mismatch<I: std::fmt::Debug>(at: I, want: &str, got: ValueRef<'_>) -> StoreError {
    StoreError::Corrupt(format!("column {at:?}: expected {want}, found {:?}", got.data_type()))
}

impl Field for Uuid {
    fn field<I: RowIndex + Copy + std::fmt::Debug>(row: &Row<'_>, at: I) -> Result<Self, StoreError> {
        match value(row, at)? {
            ValueRef::Blob(b) => Uuid::from_slice(b).map_err(|e| StoreError::Corrupt(format!("{at:?}: {e}"))),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("{at:?}: not a uuid"))),
            other => Err(mismatch(at, "uuid", other)),
        }
    }
}

impl Field for String {
    fn field<I: RowIndex + Copy + std::fmt::Debug>(row: &Row<'_>, at: I) -> Result<Self, StoreError> {
        match value(row, at)? {
            ValueRef::Text(t) => String::from_utf8(t.to_vec()).map_err(|e| StoreError::Corrupt(format!("{at:?}: {e}"))),
            other => Err(mismatch(at, "text", other)),
        }
    }
}

impl Field for i64 {
    fn field<I: RowIndex + Copy + std::fmt::Debug>(row: &Row<'_>, at: I) -> Result<Self, StoreError> {
        match value(row, at)? {
            ValueRef::Integer(i) => Ok(i),
            other => Err(mismatch(at, "integer", other)),
        }
    }
}

impl Field for bool {
    fn field<I: RowIndex + Copy + std::fmt::Debug>(row: &Row<'_>, at: I) -> Result<Self, StoreError> {
        Ok(i64::field(row, at)? != 0)
    }
}

impl Field for Vec<u8> {
    fn field<I: RowIndex + Copy + std::fmt::Debug>(row: &Row<'_>, at: I) -> Result<Self, StoreError> {
        match value(row, at)? {
            ValueRef::Blob(b) | ValueRef::Text(b) => Ok(b.to_vec()),
            other => Err(mismatch(at, "blob", other)),
        }
    }
}

impl Field for DateTime<Utc> {
    fn field<I: RowIndex + Copy + std::fmt::Debug>(row: &Row<'_>, at: I) -> Result<Self, StoreError> {
        match value(row, at)? {
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(parse_time)
                .ok_or_else(|| StoreError::Corrupt(format!("{at:?}: not a time"))),
            ValueRef::Integer(secs) => DateTime::from_timestamp(secs, 0)
                .ok_or_else(|| StoreError::Corrupt(format!("{at:?}: timestamp out of range"))),
            other => Err(mismatch(at, "time", other)),
        }
    }
}

/// The text forms sqlx's SQLite driver reads: RFC 3339 (what it writes) and SQLite's own `YYYY-MM-DD HH:MM:SS`.
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.to_utc());
    }
    for format in ["%F %T%.f%#z", "%F %T%.f%:z", "%FT%T%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t.to_utc());
        }
    }
    ["%F %T%.f", "%FT%T%.f", "%F %T", "%FT%T"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

impl<T: DeserializeOwned> Field for Json<T> {
    fn field<I: RowIndex + Copy + std::fmt::Debug>(row: &Row<'_>, at: I) -> Result<Self, StoreError> {
        match value(row, at)? {
            ValueRef::Text(t) | ValueRef::Blob(t) => {
                serde_json::from_slice(t).map(Json).map_err(|e| StoreError::Corrupt(format!("{at:?}: {e}")))
            }
            other => Err(mismatch(at, "json", other)),
        }
    }
}

impl<T: Field> Field for Option<T> {
    fn field<I: RowIndex + Copy + std::fmt::Debug>(row: &Row<'_>, at: I) -> Result<Self, StoreError> {
        match value(row, at)? {
            ValueRef::Null => Ok(None),
            _ => T::field(row, at).map(Some),
        }
    }
}

impl<A: Field> FromSqlite for (A,) {
    fn from_sqlite(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok((A::field(row, 0)?,))
    }
}

impl<A: Field, B: Field> FromSqlite for (A, B) {
    fn from_sqlite(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok((A::field(row, 0)?, B::field(row, 1)?))
    }
}

impl<A: Field, B: Field, C: Field> FromSqlite for (A, B, C) {
    fn from_sqlite(row: &Row<'_>) -> Result<Self, StoreError> {
        Ok((A::field(row, 0)?, B::field(row, 1)?, C::field(row, 2)?))
    }
}
