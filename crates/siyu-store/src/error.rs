//! Store errors: what callers can act on (not found, a unique key taken) and everything else.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated; carries the constraint (index) name.
    #[error("conflict on {0}")]
    Conflict(String),
    #[error("database url must start with sqlite: or postgres:")]
    UnsupportedUrl,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Database(sqlx::Error),
    /// A failure on the rusqlite read path (see `reader`).
    #[error("sqlite read: {0}")]
    Read(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = e {
            return Self::NotFound;
        }
        if let Some(db) = e.as_database_error()
            && db.is_unique_violation()
        {
            // PostgreSQL names the index; SQLite names the columns ("UNIQUE constraint failed: t.a, t.b").
            let name = db.constraint().map(str::to_string).unwrap_or_else(|| db.message().to_string());
            return Self::Conflict(name);
        }
        Self::Database(e)
    }
}

impl StoreError {
    /// Whether this is a unique violation on a constraint whose name or columns mention `needle`.
    pub fn is_conflict_on(&self, needle: &str) -> bool {
        matches!(self, Self::Conflict(c) if c.contains(needle))
    }
}

/// Converts `Option` results of lookups into [`StoreError::NotFound`].
pub trait OptionExt<T> {
    fn found(self) -> Result<T, StoreError>;
}

impl<T> OptionExt<T> for Option<T> {
    fn found(self) -> Result<T, StoreError> {
        self.ok_or(StoreError::NotFound)
    }
}
