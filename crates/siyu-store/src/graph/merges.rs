//! Merging one customer into another inside a transaction, and reading the merge log.
//!
//! The absorbed customer's identities, events, orders, notes, timeline, staff tasks, links, link opens and
//! material usage move to the survivor; its tags and follows move where the survivor has no equivalent (same
//! tag, a tag of the same exclusive group, a follow by the same staff member). Its row is removed, and the merge log keeps a snapshot of it and of
//! everything that moved, so an un-merge restores it under the same id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use siyu_domain::customer::Customer;
use siyu_domain::id::{CustomerId, IdentityId, MergeId, OrderId, TenantId, UserId};
use siyu_domain::privacy::{ConsentChange, ConsentPurpose, ConsentSource, ConsentStatus};
use sqlx::types::Json;
use uuid::Uuid;

use super::Graph;
use crate::{StoreError, on_pool};

/// A tag the absorbed customer held; `moved` when the survivor received it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SnapTag {
    pub tag_id: Uuid,
    pub added_by: Option<Uuid>,
    pub added_at: DateTime<Utc>,
    pub moved: bool,
}

/// A follow of the absorbed customer; `moved` when it went to the survivor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SnapFollow {
    pub user_id: Uuid,
    pub remark: Option<String>,
    pub description: Option<String>,
    pub add_way: String,
    pub state: Option<String>,
    pub added_at: DateTime<Utc>,
    pub moved: bool,
}

/// A consent of the absorbed customer. Consents merge by latest change (cdp.md §2.5): when the absorbed
/// customer's is newer and different, the survivor takes it (`applied`), and `replaced` is what the survivor
/// had before, for an un-merge to put back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SnapConsent {
    pub purpose: String,
    pub status: String,
    pub source: String,
    pub changed_by: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
    pub applied: bool,
    pub replaced: Option<(String, String, Option<Uuid>, DateTime<Utc>)>,
}

/// What one merge moved, as the merge log keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct MovedRows {
    pub identities: Vec<IdentityId>,
    pub tags: Vec<SnapTag>,
    pub follows: Vec<SnapFollow>,
    pub notes: Vec<Uuid>,
    pub timeline: Vec<Uuid>,
    pub orders: Vec<OrderId>,
    pub events: u64,
    #[serde(default)]
    pub consents: Vec<SnapConsent>,
    /// Rows of the [`FOLLOWERS`] tables that moved to the survivor, by table.
    #[serde(default)]
    pub rows: std::collections::BTreeMap<String, Vec<Uuid>>,
}

/// Tables whose rows simply follow their customer on a merge (and come back on an un-merge), by `id`: staff
/// tasks, tracked links and their opens, material usage.
pub(crate) const FOLLOWERS: [&str; 4] = ["staff_tasks", "links", "link_opens", "material_usage"];

/// One row of the merge log, with whether it was undone.
#[derive(Debug, Clone)]
pub struct MergeRecord {
    pub id: MergeId,
    pub survivor: CustomerId,
    pub absorbed: CustomerId,
    pub rule: String,
    pub evidence: String,
    pub actor: Option<UserId>,
    pub at: DateTime<Utc>,
    pub snapshot: Customer,
    pub moved: MovedRows,
    pub undone_at: Option<DateTime<Utc>>,
}

/// Moves everything of `$absorbed` to `$survivor` inside `$tx` and removes the absorbed row; evaluates to
/// `(snapshot, MovedRows)`. `NotFound` when the absorbed customer does not exist.
macro_rules! merge_customer {
    ($tx:ident, $tenant:expr, $survivor:expr, $absorbed:expr, $at:expr) => {{
        let (t, s, a): (siyu_domain::id::TenantId, uuid::Uuid, uuid::Uuid) = ($tenant, $survivor.0, $absorbed.0);
        let mut moved = $crate::graph::MovedRows::default();
        let row: Option<$crate::customers::CustomerRow> = sqlx::query_as(
            "SELECT id, name, gender, avatar_url, remark, source, custom, created_at, updated_at, last_active_at \
             FROM customers WHERE tenant_id = $1 AND id = $2")
            .bind(t.0).bind(a).fetch_optional(&mut *$tx).await?;
        let snapshot: siyu_domain::customer::Customer = row.ok_or($crate::StoreError::NotFound)?.into();
        let ids: Vec<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM identities WHERE tenant_id = $1 AND customer_id = $2")
            .bind(t.0).bind(a).fetch_all(&mut *$tx).await?;
        moved.identities = ids.into_iter().map(|r| siyu_domain::id::IdentityId(r.0)).collect();
        // Orders are re-matched by their buyer keys on un-merge; the list is kept for the record.
        let orders: Vec<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM orders WHERE tenant_id = $1 AND customer_id = $2")
            .bind(t.0).bind(a).fetch_all(&mut *$tx).await?;
        moved.orders = orders.into_iter().map(|r| siyu_domain::id::OrderId(r.0)).collect();
        for table in ["identities", "events", "orders"] {
            let sql = format!("UPDATE {table} SET customer_id = $3 WHERE tenant_id = $1 AND customer_id = $2");
            let done = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(t.0).bind(a).bind(s).execute(&mut *$tx).await?;
            if table == "events" { moved.events = done.rows_affected(); }
        }
        type TagRow = (uuid::Uuid, Option<uuid::Uuid>, chrono::DateTime<chrono::Utc>, uuid::Uuid, bool, Option<uuid::Uuid>);
        let tag_sql = "SELECT ct.tag_id, ct.added_by, ct.added_at, t.group_id, g.exclusive, ct.via_segment FROM customer_tags ct \
             JOIN tags t ON t.tenant_id = ct.tenant_id AND t.id = ct.tag_id \
             JOIN tag_groups g ON g.tenant_id = t.tenant_id AND g.id = t.group_id \
             WHERE ct.tenant_id = $1 AND ct.customer_id = $2";
        let mine: Vec<TagRow> = sqlx::query_as(tag_sql).bind(t.0).bind(s).fetch_all(&mut *$tx).await?;
        let theirs: Vec<TagRow> = sqlx::query_as(tag_sql).bind(t.0).bind(a).fetch_all(&mut *$tx).await?;
        // Rule tags stay behind: the survivor holds them as its own segments decide (re-evaluated after).
        for (tag, by, added, group, exclusive, _) in theirs.into_iter().filter(|r| r.5.is_none()) {
            let clash = mine.iter().any(|m| m.0 == tag || (exclusive && m.3 == group));
            if !clash {
                sqlx::query("INSERT INTO customer_tags (tenant_id, customer_id, tag_id, added_by, added_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(t.0).bind(s).bind(tag).bind(by).bind(added).execute(&mut *$tx).await?;
            }
            moved.tags.push($crate::graph::merges::SnapTag { tag_id: tag, added_by: by, added_at: added, moved: !clash });
        }
        type FollowRow = (uuid::Uuid, Option<String>, Option<String>, String, Option<String>, chrono::DateTime<chrono::Utc>);
        let follow_sql = "SELECT user_id, remark, description, add_way, state, added_at FROM follows WHERE tenant_id = $1 AND customer_id = $2";
        let mine: Vec<FollowRow> = sqlx::query_as(follow_sql).bind(t.0).bind(s).fetch_all(&mut *$tx).await?;
        let theirs: Vec<FollowRow> = sqlx::query_as(follow_sql).bind(t.0).bind(a).fetch_all(&mut *$tx).await?;
        for (user, remark, description, add_way, state, added_at) in theirs {
            let clash = mine.iter().any(|m| m.0 == user);
            if !clash {
                sqlx::query("UPDATE follows SET customer_id = $3 WHERE tenant_id = $1 AND customer_id = $2 AND user_id = $4")
                    .bind(t.0).bind(a).bind(s).bind(user).execute(&mut *$tx).await?;
            }
            moved.follows.push($crate::graph::merges::SnapFollow {
                user_id: user, remark, description, add_way, state, added_at, moved: !clash,
            });
        }
        type ConsentRow = (String, String, String, Option<uuid::Uuid>, chrono::DateTime<chrono::Utc>);
        let consent_sql = "SELECT purpose, status, source, changed_by, changed_at FROM consents WHERE tenant_id = $1 AND customer_id = $2";
        let mine: Vec<ConsentRow> = sqlx::query_as(consent_sql).bind(t.0).bind(s).fetch_all(&mut *$tx).await?;
        let theirs: Vec<ConsentRow> = sqlx::query_as(consent_sql).bind(t.0).bind(a).fetch_all(&mut *$tx).await?;
        for (purpose, status, source, by, at) in theirs {
            let current = mine.iter().find(|m| m.0 == purpose);
            // The later decision wins; on a tie (the same millisecond) the one that does not consent.
            let applied = current.is_none_or(|m| (at > m.4 || (at == m.4 && status == "withdrawn")) && m.1 != status);
            if applied {
                let from = current.map_or("unknown", |m| m.1.as_str());
                let mut change = $crate::graph::merges::consent_change(&purpose, from, &status, &source, by, "merge", at)?;
                $crate::privacy::set_consent!(t, siyu_domain::id::CustomerId(s), &change).execute(&mut *$tx).await?;
                change.at = $at;
                $crate::privacy::insert_change!(t, siyu_domain::id::CustomerId(s), &change).execute(&mut *$tx).await?;
            }
            let replaced = current.filter(|_| applied).map(|m| (m.1.clone(), m.2.clone(), m.3, m.4));
            moved.consents.push($crate::graph::merges::SnapConsent {
                purpose, status, source, changed_by: by, changed_at: at, applied, replaced,
            });
        }
        for table in ["notes", "timeline"].into_iter().chain($crate::graph::merges::FOLLOWERS) {
            let sql = format!("UPDATE {table} SET customer_id = $3 WHERE tenant_id = $1 AND customer_id = $2 RETURNING id");
            let ids: Vec<(uuid::Uuid,)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(t.0).bind(a).bind(s).fetch_all(&mut *$tx).await?;
            let ids: Vec<uuid::Uuid> = ids.into_iter().map(|r| r.0).collect();
            match table {
                "notes" => moved.notes = ids,
                "timeline" => moved.timeline = ids,
                _ if ids.is_empty() => {}
                _ => { moved.rows.insert(table.to_owned(), ids); }
            }
        }
        // Custom fields the survivor lacks are filled from the absorbed customer; its activity time is kept.
        let survivor: Option<$crate::customers::CustomerRow> = sqlx::query_as(
            "SELECT id, name, gender, avatar_url, remark, source, custom, created_at, updated_at, last_active_at \
             FROM customers WHERE tenant_id = $1 AND id = $2")
            .bind(t.0).bind(s).fetch_optional(&mut *$tx).await?;
        let mut survivor: siyu_domain::customer::Customer = survivor.ok_or($crate::StoreError::NotFound)?.into();
        for (k, v) in &snapshot.custom {
            survivor.custom.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let active = survivor.last_active_at.max(snapshot.last_active_at);
        sqlx::query("UPDATE customers SET custom = $3, last_active_at = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(t.0).bind(s).bind(sqlx::types::Json(&survivor.custom)).bind(active).bind($at)
            .execute(&mut *$tx).await?;
        sqlx::query("UPDATE merge_suggestions SET status = 'obsolete', decided_at = $3 \
             WHERE tenant_id = $1 AND status = 'open' AND (customer_a = $2 OR customer_b = $2)")
            .bind(t.0).bind(a).bind($at).execute(&mut *$tx).await?;
        sqlx::query("DELETE FROM customers WHERE tenant_id = $1 AND id = $2").bind(t.0).bind(a).execute(&mut *$tx).await?;
        (snapshot, moved)
    }};
}
pub(crate) use merge_customer;

/// A consent change written by a merge or an un-merge, from the stored (already checked) texts.
pub(crate) fn consent_change(
    purpose: &str,
    from: &str,
    to: &str,
    source: &str,
    by: Option<Uuid>,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<ConsentChange, StoreError> {
    let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("consent {what} {v}"));
    Ok(ConsentChange {
        id: Uuid::now_v7(),
        purpose: ConsentPurpose::parse(purpose).ok_or_else(|| corrupt("purpose", purpose))?,
        from: ConsentStatus::parse(from).ok_or_else(|| corrupt("status", from))?,
        to: ConsentStatus::parse(to).ok_or_else(|| corrupt("status", to))?,
        source: ConsentSource::parse(source).ok_or_else(|| corrupt("source", source))?,
        actor_id: by.map(UserId),
        reason: reason.into(),
        at,
    })
}

type MergeRow = (
    Uuid,
    Uuid,
    Uuid,
    String,
    String,
    Option<Uuid>,
    DateTime<Utc>,
    Json<Customer>,
    Json<MovedRows>,
    Option<DateTime<Utc>>,
);

const SELECT: &str = "SELECT m.id, m.survivor_id, m.absorbed_id, m.rule, m.evidence, m.actor_id, m.at, m.snapshot, m.moved, u.at \
     FROM identity_merges m LEFT JOIN identity_unmerges u ON u.tenant_id = m.tenant_id AND u.merge_id = m.id \
     WHERE m.tenant_id = $1";

fn record(r: MergeRow) -> MergeRecord {
    MergeRecord {
        id: MergeId(r.0),
        survivor: CustomerId(r.1),
        absorbed: CustomerId(r.2),
        rule: r.3,
        evidence: r.4,
        actor: r.5.map(UserId),
        at: r.6,
        snapshot: r.7.0,
        moved: r.8.0,
        undone_at: r.9,
    }
}

impl Graph<'_> {
    pub async fn merge(&self, tenant: TenantId, id: MergeId) -> Result<MergeRecord, StoreError> {
        let sql = format!("{SELECT} AND m.id = $2");
        let row: Option<MergeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.map(record).ok_or(StoreError::NotFound)
    }

    /// Merges in which `customer` survived or was absorbed, newest first.
    pub async fn merges_of(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<MergeRecord>, StoreError> {
        let sql =
            format!("{SELECT} AND (m.survivor_id = $2 OR m.absorbed_id = $2) ORDER BY m.at DESC, m.id DESC LIMIT 100");
        let rows: Vec<MergeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(record).collect())
    }
}
