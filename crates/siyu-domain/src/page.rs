//! Cursor pagination: an opaque cursor holds the sort key of the last row returned.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::Invalid;

/// Position after a row sorted by (time desc, id desc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at.timestamp_millis(), self.id.simple())
    }

    pub fn decode(s: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new("cursor", "invalid_cursor");
        let (ms, id) = s.split_once('_').ok_or_else(bad)?;
        let ms: i64 = ms.parse().map_err(|_| bad())?;
        let at = DateTime::from_timestamp_millis(ms).ok_or_else(bad)?;
        let id = Uuid::try_parse(id).map_err(|_| bad())?;
        Ok(Self { at, id })
    }
}

/// A page request: where to start and how many rows (1..=200, default 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Cursor>,
    pub limit: u32,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    pub fn parse(cursor: Option<&str>, limit: Option<u32>) -> Result<Self, Invalid> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(Invalid::new("limit", "limit_out_of_range (1..=200)"));
        }
        let after = match cursor {
            None | Some("") => None,
            Some(c) => Some(Cursor::decode(c)?),
        };
        Ok(Self { after, limit })
    }

    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }
}

/// One page of results and the cursor for the next page, if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only signals that more exist.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> Cursor) -> Self {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| key(r).encode()) } else { None };
        Self { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor { at: DateTime::from_timestamp_millis(1_700_000_000_123).unwrap(), id: Uuid::now_v7() };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn garbage_cursors_and_limits_are_refused() {
        assert!(Cursor::decode("nope").is_err());
        assert!(Cursor::decode("1_zz").is_err());
        assert!(PageRequest::parse(None, Some(0)).is_err());
        assert!(PageRequest::parse(None, Some(201)).is_err());
    }

    #[test]
    fn overfetching_one_row_yields_a_next_cursor() {
        let now = Utc::now();
        let rows: Vec<(DateTime<Utc>, Uuid)> = (0..3).map(|_| (now, Uuid::now_v7())).collect();
        let page = Page::from_overfetch(rows.clone(), 2, |r| Cursor { at: r.0, id: r.1 });
        assert_eq!(page.items.len(), 2);
        assert!(page.next_cursor.is_some());
        let page = Page::from_overfetch(rows, 3, |r| Cursor { at: r.0, id: r.1 });
        assert!(page.next_cursor.is_none());
    }
}
