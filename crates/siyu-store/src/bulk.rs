//! Bulk writes for seeding and large loads: many customers with everything hanging off them (identities,
//! follows, tags with their history, notes, timeline entries) in one transaction of multi-row INSERTs.
//!
//! Statements are cut so none binds more than [`MAX_PARAMS`] values (SQLite allows 32 766, PostgreSQL
//! 65 535). PostgreSQL gets numbered `$n` placeholders with the tenant bound once as `$1`; SQLite gets
//! anonymous `?` placeholders, because it looks named and numbered ones up in a list, which makes a
//! statement with thousands of them quadratic to prepare and to bind.

use chrono::{DateTime, Utc};
use siyu_domain::customer::{Customer, Follow, Note};
use siyu_domain::id::{TagId, TenantId, UserId};
use siyu_domain::timeline::TimelineEntry;
use uuid::Uuid;

use crate::identities::IdentityRecord;
use crate::sql::{Arg, Sql, dyn_query};
use crate::{BackendKind, Store, StoreError, in_tx};

/// Most values one statement binds.
pub const MAX_PARAMS: usize = 30_000;

pub struct Bulk<'a>(pub(crate) &'a Store);

/// A tag a new customer holds: who added it, when and why (kept in tag history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkTag {
    pub tag: TagId,
    pub tag_name: String,
    pub actor: Option<UserId>,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// One new customer and its satellites. Identities, follows, notes and timeline entries must name this
/// customer; the store does not rewrite their `customer_id`.
#[derive(Debug, Clone)]
pub struct BulkCustomer {
    pub customer: Customer,
    pub identities: Vec<IdentityRecord>,
    pub follows: Vec<Follow>,
    pub tags: Vec<BulkTag>,
    pub notes: Vec<Note>,
    pub timeline: Vec<TimelineEntry>,
}

/// Rows written by one bulk insert, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkCounts {
    pub customers: u64,
    pub identities: u64,
    pub follows: u64,
    pub tags: u64,
    pub notes: u64,
    pub timeline: u64,
}

impl Store {
    pub fn bulk(&self) -> Bulk<'_> {
        Bulk(self)
    }
}

/// Multi-row INSERT statements for one table, cut below [`MAX_PARAMS`].
struct Inserts {
    tenant: Uuid,
    /// `?` placeholders (SQLite) instead of `$n` (PostgreSQL).
    anonymous: bool,
    head: &'static str,
    tail: &'static str,
    done: Vec<Sql>,
    current: Option<Sql>,
}

impl Inserts {
    fn new(store: &Store, tenant: TenantId, head: &'static str, tail: &'static str) -> Self {
        let anonymous = store.kind() == BackendKind::Sqlite;
        Self { tenant: tenant.0, anonymous, head, tail, done: Vec::new(), current: None }
    }

    /// Adds a row: the tenant id followed by `args`.
    fn row<const N: usize>(&mut self, args: [Arg; N]) {
        if self.current.as_ref().is_some_and(|s| s.args.len() + N + 1 > MAX_PARAMS) {
            self.flush();
        }
        let anonymous = self.anonymous;
        let sql = self.current.get_or_insert_with(|| {
            let mut s = Sql::new(self.head);
            if !anonymous {
                s.args.push(Arg::Uuid(self.tenant));
            }
            s
        });
        if sql.text.len() > self.head.len() {
            sql.push(", ");
        }
        if anonymous {
            sql.push("(?");
            sql.args.push(Arg::Uuid(self.tenant));
            for a in args {
                sql.push(", ?");
                sql.args.push(a);
            }
        } else {
            sql.push("($1");
            for a in args {
                sql.push(", ").bind(a);
            }
        }
        sql.push(")");
    }

    fn flush(&mut self) {
        if let Some(mut s) = self.current.take() {
            s.push(self.tail);
            self.done.push(s);
        }
    }

    fn finish(mut self) -> Vec<Sql> {
        self.flush();
        self.done
    }
}

fn time(t: DateTime<Utc>) -> Arg {
    Arg::Time(t)
}

impl Bulk<'_> {
    /// Inserts the customers and everything with them in one transaction: all or nothing. An identity that
    /// is already taken (or given twice) answers `Conflict("identities_lookup")`. Duplicate follows and
    /// tags are written once.
    pub async fn insert_customers(&self, tenant: TenantId, items: Vec<BulkCustomer>) -> Result<BulkCounts, StoreError> {
        if items.is_empty() {
            return Ok(BulkCounts::default());
        }
        let mut customers = Inserts::new(
            self.0,
            tenant,
            "INSERT INTO customers (tenant_id, id, name, gender, avatar_url, remark, source, custom, created_at, \
             updated_at, last_active_at) VALUES ",
            "",
        );
        let mut identities = Inserts::new(
            self.0,
            tenant,
            "INSERT INTO identities (tenant_id, id, customer_id, kind, namespace, lookup, value_enc, display, source, \
             created_at) VALUES ",
            "",
        );
        let mut follows = Inserts::new(
            self.0,
            tenant,
            "INSERT INTO follows (tenant_id, customer_id, user_id, remark, description, add_way, state, added_at) \
             VALUES ",
            " ON CONFLICT (tenant_id, customer_id, user_id) DO NOTHING",
        );
        let mut tags = Inserts::new(
            self.0,
            tenant,
            "INSERT INTO customer_tags (tenant_id, customer_id, tag_id, added_by, added_at) VALUES ",
            " ON CONFLICT (tenant_id, customer_id, tag_id) DO NOTHING",
        );
        let mut history = Inserts::new(
            self.0,
            tenant,
            "INSERT INTO tag_history (tenant_id, id, customer_id, tag_id, tag_name, op, actor_id, reason, at) VALUES ",
            "",
        );
        let mut notes = Inserts::new(
            self.0,
            tenant,
            "INSERT INTO notes (tenant_id, id, customer_id, author_id, body, created_at) VALUES ",
            "",
        );
        let mut timeline = Inserts::new(
            self.0,
            tenant,
            "INSERT INTO timeline (tenant_id, id, customer_id, occurred_at, source, kind, actor_id, payload) VALUES ",
            "",
        );
        for item in items {
            let c = item.customer;
            let cid = c.id.0;
            customers.row([
                Arg::Uuid(cid),
                Arg::Text(c.name),
                Arg::Text(c.gender.as_str().into()),
                Arg::OptText(c.avatar_url),
                Arg::OptText(c.remark),
                Arg::Text(c.source),
                Arg::Json(serde_json::Value::Object(c.custom)),
                time(c.created_at),
                time(c.updated_at),
                Arg::OptTime(c.last_active_at),
            ]);
            for r in item.identities {
                let i = r.identity;
                identities.row([
                    Arg::Uuid(i.id.0),
                    Arg::Uuid(cid),
                    Arg::Text(i.kind.as_str().into()),
                    Arg::Text(i.namespace),
                    Arg::Text(r.lookup),
                    Arg::OptBytes(r.value_enc),
                    Arg::Text(i.display),
                    Arg::Text(i.source),
                    time(i.created_at),
                ]);
            }
            for f in item.follows {
                follows.row([
                    Arg::Uuid(cid),
                    Arg::Uuid(f.user_id.0),
                    Arg::OptText(f.remark),
                    Arg::OptText(f.description),
                    Arg::Text(f.add_way),
                    Arg::OptText(f.state),
                    time(f.added_at),
                ]);
            }
            for t in item.tags {
                let actor = t.actor.map(|a| a.0);
                tags.row([Arg::Uuid(cid), Arg::Uuid(t.tag.0), Arg::OptUuid(actor), time(t.at)]);
                history.row([
                    Arg::Uuid(history_id(t.at)),
                    Arg::Uuid(cid),
                    Arg::Uuid(t.tag.0),
                    Arg::Text(t.tag_name),
                    Arg::Text("add".into()),
                    Arg::OptUuid(actor),
                    Arg::Text(t.reason),
                    time(t.at),
                ]);
            }
            for n in item.notes {
                notes.row([
                    Arg::Uuid(n.id.0),
                    Arg::Uuid(cid),
                    Arg::Uuid(n.author_id.0),
                    Arg::Text(n.body),
                    time(n.created_at),
                ]);
            }
            for e in item.timeline {
                timeline.row([
                    Arg::Uuid(e.id.0),
                    Arg::Uuid(cid),
                    time(e.occurred_at),
                    Arg::Text(e.source),
                    Arg::Text(e.kind),
                    Arg::OptUuid(e.actor_id.map(|a| a.0)),
                    Arg::Json(e.payload),
                ]);
            }
        }
        let parts = [
            customers.finish(),
            identities.finish(),
            follows.finish(),
            tags.finish(),
            history.finish(),
            notes.finish(),
            timeline.finish(),
        ];
        let result: Result<[u64; 7], StoreError> = async {
            let mut rows = [0u64; 7];
            in_tx!(self.0, tx => {
                for (i, stmts) in parts.into_iter().enumerate() {
                    for sql in stmts {
                        rows[i] += dyn_query!(sql).execute(&mut *tx).await?.rows_affected();
                    }
                }
            });
            Ok(rows)
        }
        .await;
        let [customers, identities, follows, tags, _history, notes, timeline] = result.map_err(|e| match e {
            StoreError::Conflict(c) if c.contains("identities") || c.contains("lookup") => {
                StoreError::Conflict("identities_lookup".into())
            }
            other => other,
        })?;
        Ok(BulkCounts { customers, identities, follows, tags, notes, timeline })
    }
}

/// A time-ordered id for a tag history row, stamped with the change's time.
fn history_id(at: DateTime<Utc>) -> Uuid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32))
}
