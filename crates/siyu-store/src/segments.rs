//! Segments: definitions, their members, the enter/exit log and daily sizes. A definition runs as SQL
//! compiled by [`compile`]; membership refreshes write the delta in one transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use siyu_domain::customer::Customer;
use siyu_domain::id::{CustomerId, GroupId, SegmentId, TagId, TenantId, UserId};
use siyu_domain::page::PageRequest;
use siyu_domain::segment::eval::At;
use siyu_domain::segment::{ChangeOp, ChangeReason, Condition, MembershipChange, Rule, Segment, SegmentKind};
use sqlx::types::Json;
use uuid::Uuid;

use crate::customers::{CustomerRow, Visibility, push_newest_first, push_visibility};
use crate::error::OptionExt;
use crate::reader::read_row;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{Store, StoreError, exec, in_tx, on_pool};

mod compile;
pub(crate) mod dirty;
mod facts;
mod membership;
#[cfg(test)]
mod plans;
mod population;
pub mod rule_tag;

use compile::{Compiler, FROM};
pub use facts::{EventsSince, SubjectFacts};
pub use membership::Refresh;

/// The repository of segments (`store.segments()`).
pub struct Segments<'a>(pub(crate) &'a Store);

impl Store {
    pub fn segments(&self) -> Segments<'_> {
        Segments(self)
    }
}

read_row! {
    #[derive(sqlx::FromRow)]
    struct SegmentRow {
        id: Uuid,
        name: String,
        description: String,
        kind: String,
        definition: Json<Value>,
        rule_tag_id: Option<Uuid>,
        status: String,
        seq: i64,
        member_count: i64,
        refreshed_at: Option<DateTime<Utc>>,
        created_by: Option<Uuid>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

impl TryFrom<SegmentRow> for Segment {
    type Error = StoreError;

    fn try_from(r: SegmentRow) -> Result<Self, StoreError> {
        let definition: Condition = serde_json::from_value(r.definition.0)
            .map_err(|e| StoreError::Corrupt(format!("segment definition: {e}")))?;
        Ok(Segment {
            id: SegmentId(r.id),
            name: r.name,
            description: r.description,
            kind: SegmentKind::parse(&r.kind).ok_or_else(|| StoreError::Corrupt(format!("segment kind {}", r.kind)))?,
            definition,
            rule_tag: r.rule_tag_id.map(TagId),
            archived: r.status == "archived",
            seq: r.seq,
            member_count: r.member_count,
            refreshed_at: r.refreshed_at,
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const SELECT: &str = "SELECT id, name, description, kind, definition, rule_tag_id, status, seq, member_count, refreshed_at, \
     created_by, created_at, updated_at FROM segments";

fn definition_json(s: &Segment) -> Result<Value, StoreError> {
    serde_json::to_value(&s.definition).map_err(|e| StoreError::Corrupt(format!("segment definition: {e}")))
}

fn status(s: &Segment) -> &'static str {
    if s.archived { "archived" } else { "active" }
}

impl Segments<'_> {
    /// Stores a new segment; a name the tenant already uses answers a conflict on `segments_name` / `name`.
    pub async fn create(&self, tenant: TenantId, s: &Segment) -> Result<(), StoreError> {
        let def = definition_json(s)?;
        exec!(self.0, p => sqlx::query(
            "INSERT INTO segments (tenant_id, id, name, description, kind, definition, status, seq, member_count, \
             refreshed_at, created_by, created_at, updated_at, rule_tag_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
            .bind(tenant.0).bind(s.id.0).bind(&s.name).bind(&s.description).bind(s.kind.as_str())
            .bind(Json(&def)).bind(status(s)).bind(s.seq).bind(s.member_count).bind(s.refreshed_at)
            .bind(s.created_by.map(|u| u.0)).bind(s.created_at).bind(s.updated_at).bind(s.rule_tag.map(|t| t.0))
            .execute(p).await)?;
        Ok(())
    }

    /// Writes name, description, definition and status.
    pub async fn update(&self, tenant: TenantId, s: &Segment) -> Result<(), StoreError> {
        let def = definition_json(s)?;
        let done = exec!(self.0, p => sqlx::query(
            "UPDATE segments SET name = $3, description = $4, definition = $5, status = $6, updated_at = $7 \
             WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(s.id.0).bind(&s.name).bind(&s.description).bind(Json(&def)).bind(status(s))
            .bind(s.updated_at)
            .execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Deletes a segment with its members and log; the tags its rule gave stay as ordinary tags.
    pub async fn delete(&self, tenant: TenantId, id: SegmentId) -> Result<(), StoreError> {
        in_tx!(self.0, tx => {
            sqlx::query("UPDATE customer_tags SET via_segment = NULL WHERE tenant_id = $1 AND via_segment = $2")
                .bind(tenant.0).bind(id.0).execute(&mut *tx).await?;
            let done = sqlx::query("DELETE FROM segments WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0).bind(id.0).execute(&mut *tx).await?.rows_affected();
            if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
    }

    pub async fn get(&self, tenant: TenantId, id: SegmentId) -> Result<Segment, StoreError> {
        let sql = Sql::with(
            &format!("{SELECT} WHERE tenant_id = $1 AND id = $2"),
            vec![Arg::Uuid(tenant.0), Arg::Uuid(id.0)],
        );
        let row: Option<SegmentRow> = self.0.read_optional(sql).await?;
        row.found()?.try_into()
    }

    /// Every segment of the tenant, archived ones last, then by name.
    pub async fn list(&self, tenant: TenantId) -> Result<Vec<Segment>, StoreError> {
        let sql =
            Sql::with(&format!("{SELECT} WHERE tenant_id = $1 ORDER BY status, name, id"), vec![Arg::Uuid(tenant.0)]);
        let rows: Vec<SegmentRow> = self.0.read_all(sql).await?;
        rows.into_iter().map(Segment::try_from).collect()
    }

    /// Every customer group of the tenant (id and name, dismissed ones too: they keep their id), by name:
    /// what a definition may refer to.
    pub async fn customer_groups(&self, tenant: TenantId) -> Result<Vec<(GroupId, String)>, StoreError> {
        let sql = Sql::with(
            "SELECT id, name FROM customer_groups WHERE tenant_id = $1 ORDER BY name, id",
            vec![Arg::Uuid(tenant.0)],
        );
        let rows: Vec<(Uuid, String)> = on_pool!(self.0, p => dyn_query_as!((Uuid, String), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(id, name)| (GroupId(id), name)).collect())
    }

    fn matching(&self, sql: &mut Sql, tenant: TenantId, rule: &Rule, at: At, vis: &Visibility) {
        sql.push(FROM).push(" WHERE c.tenant_id = ").bind(Arg::Uuid(tenant.0)).push(" AND c.erased_at IS NULL");
        push_visibility(sql, tenant, vis);
        sql.push(" AND ");
        Compiler { kind: self.0.kind(), at }.rule(sql, rule);
    }

    /// How many customers match a rule now (within what the member may see).
    pub async fn count_matching(
        &self,
        tenant: TenantId,
        rule: &Rule,
        at: At,
        vis: &Visibility,
    ) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*)");
        self.matching(&mut sql, tenant, rule, at, vis);
        let row: (i64,) = on_pool!(self.0, p => dyn_query_as!((i64,), sql).fetch_one(p).await)?;
        Ok(row.0)
    }

    /// The ids of every customer matching a rule, ascending.
    pub async fn matching_ids(&self, tenant: TenantId, rule: &Rule, at: At) -> Result<Vec<CustomerId>, StoreError> {
        let mut sql = Sql::new("SELECT c.id");
        self.matching(&mut sql, tenant, rule, at, &None);
        sql.push(" ORDER BY c.id");
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| CustomerId(r.0)).collect())
    }

    /// Whether one customer matches a rule, as the database sees it.
    pub async fn customer_matches(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        rule: &Rule,
        at: At,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*)");
        self.matching(&mut sql, tenant, rule, at, &None);
        sql.push(" AND c.id = ").bind(Arg::Uuid(customer.0));
        let row: (i64,) = on_pool!(self.0, p => dyn_query_as!((i64,), sql).fetch_one(p).await)?;
        Ok(row.0 > 0)
    }

    /// One page of customers matching a rule, newest first (`limit + 1` rows signal a next page).
    pub async fn matching_page(
        &self,
        tenant: TenantId,
        rule: &Rule,
        at: At,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Vec<Customer>, StoreError> {
        let mut sql = Sql::new(crate::customers::SELECT.trim_end_matches(" FROM customers c"));
        self.matching(&mut sql, tenant, rule, at, vis);
        push_newest_first(&mut sql, page);
        let rows: Vec<CustomerRow> = self.0.read_all(sql).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The membership changes of one customer across segments, newest first.
    pub async fn changes_of_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        limit: u32,
    ) -> Result<Vec<MembershipChange>, StoreError> {
        self.changes(
            "WHERE tenant_id = $1 AND customer_id = $2 ORDER BY at DESC, version DESC LIMIT $3",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(customer.0), Arg::Int(i64::from(limit))],
        )
        .await
    }

    /// The changes of one segment after `version` (exclusive), oldest first: how consumers read deltas.
    pub async fn changes_after(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        version: i64,
        limit: u32,
    ) -> Result<Vec<MembershipChange>, StoreError> {
        self.changes(
            "WHERE tenant_id = $1 AND segment_id = $2 AND version > $3 ORDER BY version, customer_id LIMIT $4",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(segment.0), Arg::Int(version), Arg::Int(i64::from(limit))],
        )
        .await
    }

    /// The latest changes of one segment, newest first (the console's segment page).
    pub async fn latest_changes(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        limit: u32,
    ) -> Result<Vec<MembershipChange>, StoreError> {
        self.changes(
            "WHERE tenant_id = $1 AND segment_id = $2 ORDER BY version DESC, customer_id LIMIT $3",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(segment.0), Arg::Int(i64::from(limit))],
        )
        .await
    }

    /// Change rows after a `WHERE …` tail (binds numbered from `$1`).
    async fn changes(&self, tail: &str, args: Vec<Arg>) -> Result<Vec<MembershipChange>, StoreError> {
        let sql = Sql::with(
            &format!("SELECT segment_id, customer_id, version, op, reason, at FROM segment_changes {tail}"),
            args,
        );
        let rows: Vec<ChangeRow> = on_pool!(self.0, p => dyn_query_as!(ChangeRow, sql).fetch_all(p).await)?;
        rows.into_iter().map(MembershipChange::try_from).collect()
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    segment_id: Uuid,
    customer_id: Uuid,
    version: i64,
    op: String,
    reason: String,
    at: DateTime<Utc>,
}

impl TryFrom<ChangeRow> for MembershipChange {
    type Error = StoreError;

    fn try_from(r: ChangeRow) -> Result<Self, StoreError> {
        Ok(MembershipChange {
            segment_id: SegmentId(r.segment_id),
            customer_id: CustomerId(r.customer_id),
            version: r.version,
            op: ChangeOp::parse(&r.op).ok_or_else(|| StoreError::Corrupt(format!("segment change op {}", r.op)))?,
            reason: ChangeReason::parse(&r.reason)
                .ok_or_else(|| StoreError::Corrupt(format!("segment change reason {}", r.reason)))?,
            at: r.at,
        })
    }
}
