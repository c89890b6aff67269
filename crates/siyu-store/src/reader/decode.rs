//! Decoding rusqlite rows into the store's row structs, value for value as sqlx's SQLite driver decodes them.
//!
//! A row type's columns are found by name once per statement ([`FromSqlite::columns`]), not once per field
//! of every row: rusqlite finds a name by walking the statement's columns through the C API, which cost
//! more than the query itself on a list page.

use std::slice::Iter;

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Row, RowIndex, Statement};
use serde::de::DeserializeOwned;
use sqlx::types::Json;
use uuid::Uuid;

use crate::StoreError;

/// A whole row decoded from the rusqlite read path.
pub(crate) trait FromSqlite: Sized {
    /// Appends the statement's column index for each field, in the order [`FromSqlite::from_sqlite`] reads
    /// them (nested rows flattened).
    fn columns(stmt: &Statement<'_>, out: &mut Vec<usize>) -> Result<(), StoreError>;
    /// Decodes one row, taking its fields' column indexes from `at` (what `columns` found).
    fn from_sqlite(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError>;
}

/// One field of a row struct: a column (by name or position), or a nested row flattened into the same row.
pub(crate) trait Field: Sized {
    /// How many columns the field reads (a nested row's fields together).
    const WIDTH: usize = 1;
    /// Appends the column index (or indexes, for a nested row) this field reads.
    fn columns<I: RowIndex>(stmt: &Statement<'_>, at: I, out: &mut Vec<usize>) -> Result<(), StoreError> {
        out.push(at.idx(stmt)?);
        Ok(())
    }
    fn field(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError>;
}

/// Declares a row struct (with its attributes, e.g. `#[derive(sqlx::FromRow)]`) and decodes it from
/// rusqlite rows by column name, so one declaration serves both drivers. A field whose type is another
/// `read_row!` struct reads the same row (sqlx's `#[sqlx(flatten)]`).
macro_rules! read_row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }

        impl $crate::reader::FromSqlite for $name {
            fn columns(stmt: &rusqlite::Statement<'_>, out: &mut Vec<usize>) -> Result<(), $crate::StoreError> {
                $(<$ty as $crate::reader::decode::Field>::columns(stmt, stringify!($field), out)?;)*
                Ok(())
            }

            fn from_sqlite(
                row: &rusqlite::Row<'_>,
                at: &mut std::slice::Iter<'_, usize>,
            ) -> Result<Self, $crate::StoreError> {
                Ok(Self { $($field: $crate::reader::decode::Field::field(row, at)?),* })
            }
        }

        impl $crate::reader::decode::Field for $name {
            const WIDTH: usize = 0 $(+ <$ty as $crate::reader::decode::Field>::WIDTH)*;

            fn columns<I: rusqlite::RowIndex>(
                stmt: &rusqlite::Statement<'_>,
                _at: I,
                out: &mut Vec<usize>,
            ) -> Result<(), $crate::StoreError> {
                <Self as $crate::reader::FromSqlite>::columns(stmt, out)
            }

            fn field(row: &rusqlite::Row<'_>, at: &mut std::slice::Iter<'_, usize>) -> Result<Self, $crate::StoreError> {
                <Self as $crate::reader::FromSqlite>::from_sqlite(row, at)
            }
        }
    };
}
pub(crate) use read_row;

/// The next field's column index and value.
fn value<'r>(row: &'r Row<'_>, at: &mut Iter<'_, usize>) -> Result<(usize, ValueRef<'r>), StoreError> {
    let i = *at.next().ok_or_else(|| StoreError::Corrupt("a row type read more fields than it located".into()))?;
    Ok((i, row.get_ref(i)?))
}

/// Names column `i` in an error message.
fn column(row: &Row<'_>, i: usize) -> String {
    row.as_ref().column_name(i).map(str::to_string).unwrap_or_else(|_| i.to_string())
}

fn mismatch(row: &Row<'_>, i: usize, want: &str, got: ValueRef<'_>) -> StoreError {
    StoreError::Corrupt(format!("column {}: expected {want}, found {:?}", column(row, i), got.data_type()))
}

impl Field for Uuid {
    fn field(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        let (i, v) = value(row, at)?;
        match v {
            ValueRef::Blob(b) => {
                Uuid::from_slice(b).map_err(|e| StoreError::Corrupt(format!("{}: {e}", column(row, i))))
            }
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("{}: not a uuid", column(row, i)))),
            other => Err(mismatch(row, i, "uuid", other)),
        }
    }
}

impl Field for String {
    fn field(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        let (i, v) = value(row, at)?;
        match v {
            ValueRef::Text(t) => {
                String::from_utf8(t.to_vec()).map_err(|e| StoreError::Corrupt(format!("{}: {e}", column(row, i))))
            }
            other => Err(mismatch(row, i, "text", other)),
        }
    }
}

impl Field for i64 {
    fn field(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        let (i, v) = value(row, at)?;
        match v {
            ValueRef::Integer(i) => Ok(i),
            other => Err(mismatch(row, i, "integer", other)),
        }
    }
}

impl Field for bool {
    fn field(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        Ok(i64::field(row, at)? != 0)
    }
}

impl Field for Vec<u8> {
    fn field(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        let (i, v) = value(row, at)?;
        match v {
            ValueRef::Blob(b) | ValueRef::Text(b) => Ok(b.to_vec()),
            other => Err(mismatch(row, i, "blob", other)),
        }
    }
}

impl Field for DateTime<Utc> {
    fn field(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        let (i, v) = value(row, at)?;
        match v {
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(parse_time)
                .ok_or_else(|| StoreError::Corrupt(format!("{}: not a time", column(row, i)))),
            ValueRef::Integer(secs) => DateTime::from_timestamp(secs, 0)
                .ok_or_else(|| StoreError::Corrupt(format!("{}: timestamp out of range", column(row, i)))),
            other => Err(mismatch(row, i, "time", other)),
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
    fn field(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        let (i, v) = value(row, at)?;
        match v {
            ValueRef::Text(t) | ValueRef::Blob(t) => {
                serde_json::from_slice(t).map(Json).map_err(|e| StoreError::Corrupt(format!("{}: {e}", column(row, i))))
            }
            other => Err(mismatch(row, i, "json", other)),
        }
    }
}

impl<T: Field> Field for Option<T> {
    const WIDTH: usize = T::WIDTH;

    fn columns<I: RowIndex>(stmt: &Statement<'_>, at: I, out: &mut Vec<usize>) -> Result<(), StoreError> {
        T::columns(stmt, at, out)
    }

    /// `None` when the field's (first) column is NULL; a nested row's other columns are then skipped too.
    fn field(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        let Some(&i) = at.as_slice().first() else {
            return value(row, at).map(|_| None);
        };
        if matches!(row.get_ref(i)?, ValueRef::Null) {
            if T::WIDTH > 0 {
                at.nth(T::WIDTH - 1);
            }
            return Ok(None);
        }
        T::field(row, at).map(Some)
    }
}

impl<A: Field> FromSqlite for (A,) {
    fn columns(stmt: &Statement<'_>, out: &mut Vec<usize>) -> Result<(), StoreError> {
        A::columns(stmt, 0, out)
    }

    fn from_sqlite(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        Ok((A::field(row, at)?,))
    }
}

impl<A: Field, B: Field> FromSqlite for (A, B) {
    fn columns(stmt: &Statement<'_>, out: &mut Vec<usize>) -> Result<(), StoreError> {
        A::columns(stmt, 0, out)?;
        B::columns(stmt, 1, out)
    }

    fn from_sqlite(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        Ok((A::field(row, at)?, B::field(row, at)?))
    }
}

impl<A: Field, B: Field, C: Field> FromSqlite for (A, B, C) {
    fn columns(stmt: &Statement<'_>, out: &mut Vec<usize>) -> Result<(), StoreError> {
        A::columns(stmt, 0, out)?;
        B::columns(stmt, 1, out)?;
        C::columns(stmt, 2, out)
    }

    fn from_sqlite(row: &Row<'_>, at: &mut Iter<'_, usize>) -> Result<Self, StoreError> {
        Ok((A::field(row, at)?, B::field(row, at)?, C::field(row, at)?))
    }
}
