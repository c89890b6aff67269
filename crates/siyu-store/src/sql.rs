//! Dynamic SQL for filters: text assembled from static fragments with numbered placeholders, and the
//! bind values kept beside it so they can be bound on either backend. User input is only ever bound.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// `LIKE` pattern for "contains `s`" (its own `%`, `_` and `\` escaped; used with `ESCAPE '\'`).
pub(crate) fn contains_pattern(s: &str) -> String {
    let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// ` LIKE ` that ignores case on both databases, for a [`contains_pattern`] (SQLite's `LIKE` already ignores
/// ASCII case; PostgreSQL needs `ILIKE`).
pub(crate) fn ilike(kind: crate::BackendKind) -> &'static str {
    match kind {
        crate::BackendKind::Sqlite => " LIKE ",
        crate::BackendKind::Postgres => " ILIKE ",
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Uuid(Uuid),
    Time(DateTime<Utc>),
    Text(String),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    OptUuid(Option<Uuid>),
    OptTime(Option<DateTime<Utc>>),
    OptText(Option<String>),
    OptBytes(Option<Vec<u8>>),
    OptInt(Option<i64>),
    Json(serde_json::Value),
}

#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self { text: text.to_string(), args: Vec::new() }
    }

    /// A complete statement with its `$1..$n` values.
    pub fn with(text: &str, args: Vec<Arg>) -> Self {
        Self { text: text.to_string(), args }
    }

    pub fn push(&mut self, fragment: &str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    /// Appends a placeholder for `arg` and remembers the value.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends ` LIMIT n` with `n` written into the text: SQLite (3.51) re-prepares a statement with a bound
    /// LIMIT on every execution, which costs more than the query itself on a short page. `n` is an integer of
    /// ours, never text, so writing it in is safe; each page size gets its own cached statement.
    pub fn limit(&mut self, n: i64) -> &mut Self {
        self.text.push_str(" LIMIT ");
        self.text.push_str(&n.to_string());
        self
    }

    /// Appends `($a, $b, ...), ($c, $d, ...)`: the rows of a multi-row `INSERT ... VALUES`.
    pub fn values(&mut self, rows: impl IntoIterator<Item = Vec<Arg>>) -> &mut Self {
        for (i, row) in rows.into_iter().enumerate() {
            self.text.push_str(if i > 0 { ", (" } else { "(" });
            for (j, a) in row.into_iter().enumerate() {
                if j > 0 {
                    self.text.push_str(", ");
                }
                self.bind(a);
            }
            self.text.push(')');
        }
        self
    }

    /// Appends `(p1, p2, ...)` for a list of uuids.
    pub fn bind_list(&mut self, ids: impl IntoIterator<Item = Uuid>) -> &mut Self {
        self.text.push('(');
        for (i, id) in ids.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(Arg::Uuid(id));
        }
        self.text.push(')');
        self
    }
}

/// Binds every arg of an [`Sql`] to a `query` or `query_as` (both have the same `bind`).
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::sql::Arg::Uuid(v) => q.bind(v),
                $crate::sql::Arg::Time(v) => q.bind(v),
                $crate::sql::Arg::Text(v) => q.bind(v),
                $crate::sql::Arg::Int(v) => q.bind(v),
                $crate::sql::Arg::Float(v) => q.bind(v),
                $crate::sql::Arg::Bytes(v) => q.bind(v),
                $crate::sql::Arg::OptUuid(v) => q.bind(v),
                $crate::sql::Arg::OptTime(v) => q.bind(v),
                $crate::sql::Arg::OptText(v) => q.bind(v),
                $crate::sql::Arg::OptBytes(v) => q.bind(v),
                $crate::sql::Arg::OptInt(v) => q.bind(v),
                $crate::sql::Arg::Json(v) => q.bind(sqlx::types::Json(v)),
            };
        }
        q
    }};
}
pub(crate) use bind_args;

/// Builds a `query_as` for the pool's database from an [`Sql`], binding every arg.
macro_rules! dyn_query_as {
    ($row:ty, $sql:expr) => {{
        let sql: $crate::sql::Sql = $sql;
        $crate::sql::bind_args!(sqlx::query_as::<_, $row>(sqlx::AssertSqlSafe(sql.text)), sql.args)
    }};
}
pub(crate) use dyn_query_as;

/// Builds a `query` (a statement) for the pool's database from an [`Sql`], binding every arg.
macro_rules! dyn_query {
    ($sql:expr) => {{
        let sql: $crate::sql::Sql = $sql;
        $crate::sql::bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.args)
    }};
}
pub(crate) use dyn_query;
