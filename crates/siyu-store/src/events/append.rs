//! The group commit: the events and quarantined items of many requests (of any tenants) in one transaction
//! of multi-row `INSERT`s, each event deduplicated on `(tenant_id, source_id, message_id)`.
//!
//! Statements are cut below [`MAX_PARAMS`] bound values. As in `bulk.rs`, SQLite gets anonymous `?`
//! placeholders (numbered ones make a statement with thousands of them quadratic to prepare) and PostgreSQL
//! numbered `$n`. Every row binds its own tenant, since one commit mixes tenants.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;
use siyu_domain::event::{ItemError, Message, MessageType};
use siyu_domain::id::{EventId, SourceId, TenantId};
use uuid::Uuid;

use super::Events;
use crate::bulk::MAX_PARAMS;
use crate::sql::{Arg, Sql, bind_args};
use crate::{BackendKind, StoreError, in_tx};

/// One ingest request's share of a group commit: its valid messages and its rejected items.
#[derive(Debug, Clone)]
pub struct EventBatch {
    pub tenant: TenantId,
    /// The authenticated source (it must exist in the tenant: the insert checks the foreign key).
    pub source: SourceId,
    /// When the request reached us; the base of [`Message::event_time`] and of the rows' ids.
    pub received_at: DateTime<Utc>,
    /// Valid messages, in request order. A message without `message_id` is stored under its event id's
    /// text, which is also written into the payload, so a replay of the stored row deduplicates.
    pub messages: Vec<Message>,
    /// Rejected items, kept in the quarantine with their code and message.
    pub quarantined: Vec<ItemError>,
}

/// What became of one [`EventBatch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Per message, in order: the new event's id, or `None` when the source already had that `messageId`
    /// (stored earlier, or earlier in the same commit).
    pub events: Vec<Option<EventId>>,
    /// How many items went to the quarantine.
    pub quarantined: usize,
}

impl AppendOutcome {
    /// How many messages were stored as new events.
    pub fn inserted(&self) -> usize {
        self.events.iter().filter(|e| e.is_some()).count()
    }

    /// How many messages were duplicates of stored ones.
    pub fn duplicates(&self) -> usize {
        self.events.len() - self.inserted()
    }
}

const EVENT_HEAD: &str = "INSERT INTO events (tenant_id, id, source_id, message_id, type, name, anonymous_id, user_id, \
                          event_time, original_timestamp, sent_at, received_at, payload) VALUES ";
const EVENT_TAIL: &str = " ON CONFLICT (tenant_id, source_id, message_id) DO NOTHING RETURNING id";
const QUARANTINE_HEAD: &str = "INSERT INTO event_quarantine (tenant_id, id, source_id, received_at, item_index, code, \
                               message, item) VALUES ";

/// Statements this small are few enough in shape to keep prepared; bigger ones are prepared per use.
const CACHED_ROWS: usize = 16;

/// Multi-row `INSERT` statements for one table, cut below [`MAX_PARAMS`].
struct Rows {
    anonymous: bool,
    head: &'static str,
    tail: &'static str,
    done: Vec<(Sql, usize)>,
    current: Option<(Sql, usize)>,
}

impl Rows {
    fn new(kind: BackendKind, head: &'static str, tail: &'static str) -> Self {
        Self { anonymous: kind == BackendKind::Sqlite, head, tail, done: Vec::new(), current: None }
    }

    fn row<const N: usize>(&mut self, args: [Arg; N]) {
        if self.current.as_ref().is_some_and(|(s, _)| s.args.len() + N > MAX_PARAMS) {
            self.flush();
        }
        let (sql, rows) = self.current.get_or_insert_with(|| (Sql::new(self.head), 0));
        sql.push(if *rows == 0 { "(" } else { ", (" });
        for (i, a) in args.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            if self.anonymous {
                sql.push("?");
                sql.args.push(a);
            } else {
                sql.bind(a);
            }
        }
        sql.push(")");
        *rows += 1;
    }

    fn flush(&mut self) {
        if let Some((mut s, rows)) = self.current.take() {
            s.push(self.tail);
            self.done.push((s, rows));
        }
    }

    fn finish(mut self) -> Vec<(Sql, usize)> {
        self.flush();
        self.done
    }
}

impl Events<'_> {
    /// Writes the events and quarantined items of every batch in one transaction (all or nothing) and tells,
    /// per batch and in the same order, which messages were new. A `messageId` the source already has, in the
    /// database or earlier in `batches`, is a duplicate: not written again, reported as `None`.
    ///
    /// Times are stored to the millisecond and clamped to the years 1–9999; NUL characters, which PostgreSQL
    /// cannot store in text, become U+FFFD. An error (e.g. a batch naming a source the tenant does not have)
    /// rolls back the whole commit.
    pub async fn append_batch(&self, batches: &[EventBatch]) -> Result<Vec<AppendOutcome>, StoreError> {
        let kind = self.0.kind();
        let mut events = Rows::new(kind, EVENT_HEAD, EVENT_TAIL);
        let mut quarantine = Rows::new(kind, QUARANTINE_HEAD, "");
        let mut seen: HashSet<(Uuid, Uuid, String)> = HashSet::new();
        // Per batch, per message: the id it would get, or None when already seen in this commit.
        let mut planned: Vec<Vec<Option<Uuid>>> = Vec::with_capacity(batches.len());
        let clock = uuid::ContextV7::new();
        for b in batches {
            let received_at = stored_time(b.received_at);
            let mut ids = Vec::with_capacity(b.messages.len());
            for m in &b.messages {
                let id = stamped_id(&clock, b.received_at);
                let message_id = clean(m.message_id.as_deref()).unwrap_or_else(|| id.to_string());
                if !seen.insert((b.tenant.0, b.source.0, message_id.clone())) {
                    ids.push(None);
                    continue;
                }
                ids.push(Some(id));
                let mut payload = serde_json::to_value(m).map_err(|e| StoreError::Corrupt(format!("event: {e}")))?;
                if let Value::Object(map) = &mut payload {
                    map.insert("messageId".into(), Value::String(message_id.clone()));
                }
                scrub(&mut payload);
                let name = match m.kind {
                    MessageType::Track => m.event.as_deref(),
                    MessageType::Page | MessageType::Screen => m.name.as_deref(),
                    _ => None,
                };
                events.row([
                    Arg::Uuid(b.tenant.0),
                    Arg::Uuid(id),
                    Arg::Uuid(b.source.0),
                    Arg::Text(message_id),
                    Arg::Text(m.kind.as_str().into()),
                    Arg::OptText(clean(name)),
                    Arg::OptText(clean(m.anonymous_id.as_deref())),
                    Arg::OptText(clean(m.user_id.as_deref())),
                    Arg::Time(stored_time(m.event_time(b.received_at))),
                    Arg::OptTime(m.original_timestamp.map(stored_time)),
                    Arg::OptTime(m.sent_at.map(stored_time)),
                    Arg::Time(received_at),
                    Arg::Json(payload),
                ]);
            }
            planned.push(ids);
            for e in &b.quarantined {
                let mut item = e.item.clone();
                scrub(&mut item);
                quarantine.row([
                    Arg::Uuid(b.tenant.0),
                    Arg::Uuid(stamped_id(&clock, b.received_at)),
                    Arg::Uuid(b.source.0),
                    Arg::Time(received_at),
                    Arg::Int(i64::try_from(e.index).unwrap_or(i64::MAX)),
                    Arg::Text(e.code.as_str().into()),
                    Arg::Text(e.message.replace('\0', "\u{FFFD}")),
                    Arg::Json(item),
                ]);
            }
        }
        let (events, quarantine) = (events.finish(), quarantine.finish());
        let mut inserted: HashSet<Uuid> = HashSet::new();
        if !events.is_empty() || !quarantine.is_empty() {
            in_tx!(self.0, tx => {
                for (sql, rows) in events {
                    let q = sqlx::query_as::<_, (Uuid,)>(sqlx::AssertSqlSafe(sql.text)).persistent(rows <= CACHED_ROWS);
                    let ids: Vec<(Uuid,)> = bind_args!(q, sql.args).fetch_all(&mut *tx).await?;
                    inserted.extend(ids.into_iter().map(|(id,)| id));
                }
                for (sql, rows) in quarantine {
                    let q = sqlx::query(sqlx::AssertSqlSafe(sql.text)).persistent(rows <= CACHED_ROWS);
                    bind_args!(q, sql.args).execute(&mut *tx).await?;
                }
            });
        }
        Ok(batches
            .iter()
            .zip(planned)
            .map(|(b, ids)| AppendOutcome {
                events: ids.into_iter().map(|id| id.filter(|id| inserted.contains(id)).map(EventId)).collect(),
                quarantined: b.quarantined.len(),
            })
            .collect())
    }
}

/// A UUIDv7 stamped with `at` (random below the millisecond), so id order is arrival order.
/// A UUIDv7 stamped with `at` (to the millisecond); ids made with the same `clock` increase within a
/// millisecond too, so the events of one request keep their order (identity resolution reads them in id
/// order).
fn stamped_id(clock: &uuid::ContextV7, at: DateTime<Utc>) -> Uuid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(clock, ms / 1000, ((ms % 1000) * 1_000_000) as u32))
}

/// `t` to the millisecond, within the years 1–9999 (PostgreSQL's range and SQLite's sortable text).
fn stored_time(t: DateTime<Utc>) -> DateTime<Utc> {
    const MIN_MS: i64 = -62_135_596_800_000; // 0001-01-01T00:00:00Z
    const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    DateTime::from_timestamp_millis(t.timestamp_millis().clamp(MIN_MS, MAX_MS)).unwrap_or(t)
}

/// Optional text without NUL characters.
fn clean(s: Option<&str>) -> Option<String> {
    s.map(|s| s.replace('\0', "\u{FFFD}"))
}

/// Replaces NUL characters in every string and key of a JSON value (PostgreSQL's jsonb refuses `\u0000`).
fn scrub(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(map) if map.keys().any(|k| k.contains('\0')) => {
            let old = std::mem::take(map);
            for (k, mut item) in old {
                scrub(&mut item);
                map.insert(k.replace('\0', "\u{FFFD}"), item);
            }
        }
        Value::Object(map) => map.values_mut().for_each(scrub),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn stored_times_are_milliseconds_within_four_digit_years() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 1, 2, 3).unwrap() + chrono::Duration::nanoseconds(456_789_123);
        assert_eq!(stored_time(t).timestamp_subsec_nanos(), 456_000_000);
        assert_eq!(stored_time(DateTime::<Utc>::MIN_UTC).to_rfc3339(), "0001-01-01T00:00:00+00:00");
        assert_eq!(stored_time(DateTime::<Utc>::MAX_UTC).to_rfc3339(), "9999-12-31T23:59:59.999+00:00");
    }

    #[test]
    fn ids_stamped_later_sort_later() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 1, 2, 3).unwrap();
        for _ in 0..100 {
            let clock = uuid::ContextV7::new();
            assert!(stamped_id(&clock, t) < stamped_id(&clock, t + chrono::Duration::milliseconds(1)));
        }
    }

    #[test]
    fn ids_stamped_with_one_clock_in_one_millisecond_keep_their_order() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 1, 2, 3).unwrap();
        let clock = uuid::ContextV7::new();
        let ids: Vec<Uuid> = (0..500).map(|_| stamped_id(&clock, t)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn nul_characters_are_replaced_in_values_and_keys() {
        let mut v = serde_json::json!({"a\u{0}": ["x\u{0}y", {"k": "\u{0}"}], "n": 1});
        scrub(&mut v);
        assert_eq!(v, serde_json::json!({"a\u{FFFD}": ["x\u{FFFD}y", {"k": "\u{FFFD}"}], "n": 1}));
    }

    #[test]
    fn statements_are_cut_below_the_bind_limit() {
        let mut rows = Rows::new(BackendKind::Sqlite, "INSERT INTO t (a, b, c) VALUES ", " RETURNING a");
        for i in 0..(MAX_PARAMS / 3 + 5) {
            rows.row([Arg::Int(i as i64), Arg::Int(0), Arg::Int(1)]);
        }
        let stmts = rows.finish();
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts.iter().map(|(_, n)| n).sum::<usize>(), MAX_PARAMS / 3 + 5);
        assert!(stmts.iter().all(|(s, _)| s.args.len() <= MAX_PARAMS && s.text.ends_with(" RETURNING a")));
        assert!(stmts[1].0.text.starts_with("INSERT INTO t (a, b, c) VALUES (?, ?, ?), (?"));
    }
}
