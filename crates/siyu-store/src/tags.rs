//! Tag groups, tags, the tags customers hold, and the history of every change.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, TagGroupId, TagId, TenantId, UserId};
use siyu_domain::tag::{Tag, TagGroup, TagKind};
use uuid::Uuid;

use crate::error::OptionExt;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::statements::apply_tag_change;
use crate::{Store, StoreError, exec, in_tx, on_pool};

pub struct Tags<'a>(pub(crate) &'a Store);

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: Uuid,
    name: String,
    kind: String,
    owner_id: Option<Uuid>,
    exclusive: bool,
    sort: i64,
}

impl From<GroupRow> for TagGroup {
    fn from(r: GroupRow) -> Self {
        TagGroup {
            id: TagGroupId(r.id),
            name: r.name,
            kind: TagKind::parse(&r.kind).unwrap_or(TagKind::Enterprise),
            owner_id: r.owner_id.map(UserId),
            exclusive: r.exclusive,
            sort: r.sort,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TagRow {
    id: Uuid,
    group_id: Uuid,
    name: String,
    sort: i64,
}

impl From<TagRow> for Tag {
    fn from(r: TagRow) -> Self {
        Tag { id: TagId(r.id), group_id: TagGroupId(r.group_id), name: r.name, sort: r.sort }
    }
}

/// One effective change to apply: which tag, its name (kept in history), add or remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    pub tag: TagId,
    pub tag_name: String,
    pub add: bool,
}

/// Who made a change and why, recorded in tag history and on the timeline.
#[derive(Debug, Clone)]
pub struct ChangeContext<'a> {
    pub actor: Option<UserId>,
    pub source: &'a str,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
}

crate::reader::read_row! {
    /// A tag a customer holds, with the tag and its group.
    #[derive(sqlx::FromRow)]
    pub(crate) struct HeldTagRow {
        customer_id: Uuid,
        tag_id: Uuid,
        tag_name: String,
        tag_sort: i64,
        group_id: Uuid,
        group_name: String,
        kind: String,
        owner_id: Option<Uuid>,
        exclusive: bool,
        group_sort: i64,
    }
}

impl From<HeldTagRow> for (CustomerId, Tag, TagGroup) {
    fn from(r: HeldTagRow) -> Self {
        let group = GroupRow {
            id: r.group_id,
            name: r.group_name,
            kind: r.kind,
            owner_id: r.owner_id,
            exclusive: r.exclusive,
            sort: r.group_sort,
        };
        let tag = TagRow { id: r.tag_id, group_id: r.group_id, name: r.tag_name, sort: r.tag_sort };
        (CustomerId(r.customer_id), tag.into(), group.into())
    }
}

/// The tags the given customers hold (oldest first) with their groups; `customers` must not be empty.
pub(crate) fn held_sql(tenant: TenantId, customers: &[CustomerId]) -> Sql {
    let mut sql = Sql::new(
        "SELECT ct.customer_id, t.id AS tag_id, t.name AS tag_name, t.sort AS tag_sort, g.id AS group_id, \
         g.name AS group_name, g.kind, g.owner_id, g.exclusive, g.sort AS group_sort FROM customer_tags ct \
         JOIN tags t ON t.tenant_id = ct.tenant_id AND t.id = ct.tag_id \
         JOIN tag_groups g ON g.tenant_id = t.tenant_id AND g.id = t.group_id WHERE ct.tenant_id = ",
    );
    sql.bind(Arg::Uuid(tenant.0)).push(" AND ct.customer_id IN ").bind_list(customers.iter().map(|c| c.0));
    sql.push(" ORDER BY ct.added_at");
    sql
}

impl Store {
    pub fn tags(&self) -> Tags<'_> {
        Tags(self)
    }
}

impl Tags<'_> {
    pub async fn insert_group(&self, tenant: TenantId, g: &TagGroup, at: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO tag_groups (tenant_id, id, name, kind, owner_id, exclusive, sort, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(tenant.0).bind(g.id.0).bind(&g.name).bind(g.kind.as_str()).bind(g.owner_id.map(|o| o.0))
            .bind(g.exclusive).bind(g.sort).bind(at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn update_group(&self, tenant: TenantId, g: &TagGroup) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "UPDATE tag_groups SET name = $3, exclusive = $4, sort = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(g.id.0).bind(&g.name).bind(g.exclusive).bind(g.sort).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn delete_group(&self, tenant: TenantId, id: TagGroupId) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query("DELETE FROM tag_groups WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn groups(&self, tenant: TenantId) -> Result<Vec<TagGroup>, StoreError> {
        let rows: Vec<GroupRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, name, kind, owner_id, exclusive, sort FROM tag_groups WHERE tenant_id = $1 ORDER BY sort, created_at, id")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn group(&self, tenant: TenantId, id: TagGroupId) -> Result<TagGroup, StoreError> {
        let row: Option<GroupRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, name, kind, owner_id, exclusive, sort FROM tag_groups WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        Ok(row.found()?.into())
    }

    pub async fn insert_tag(&self, tenant: TenantId, t: &Tag, at: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO tags (tenant_id, id, group_id, name, sort, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(tenant.0).bind(t.id.0).bind(t.group_id.0).bind(&t.name).bind(t.sort).bind(at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn update_tag(&self, tenant: TenantId, t: &Tag) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query("UPDATE tags SET name = $3, sort = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(t.id.0).bind(&t.name).bind(t.sort).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Deletes a tag (customers' holdings go with it) and stops any segment driving it as a rule tag.
    pub async fn delete_tag(&self, tenant: TenantId, id: TagId) -> Result<(), StoreError> {
        in_tx!(self.0, tx => {
            sqlx::query("UPDATE segments SET rule_tag_id = NULL WHERE tenant_id = $1 AND rule_tag_id = $2")
                .bind(tenant.0).bind(id.0).execute(&mut *tx).await?;
            let done = sqlx::query("DELETE FROM tags WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0).bind(id.0).execute(&mut *tx).await?.rows_affected();
            if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
    }

    pub async fn all_tags(&self, tenant: TenantId) -> Result<Vec<Tag>, StoreError> {
        let rows: Vec<TagRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, group_id, name, sort FROM tags WHERE tenant_id = $1 ORDER BY sort, created_at, id")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn tag(&self, tenant: TenantId, id: TagId) -> Result<Tag, StoreError> {
        let row: Option<TagRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, group_id, name, sort FROM tags WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        Ok(row.found()?.into())
    }

    /// How many customers hold each tag.
    pub async fn usage(&self, tenant: TenantId) -> Result<Vec<(TagId, i64)>, StoreError> {
        let rows: Vec<(Uuid, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT tag_id, COUNT(*) FROM customer_tags WHERE tenant_id = $1 GROUP BY tag_id")
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(t, n)| (TagId(t), n)).collect())
    }

    /// Tags held by each of the given customers.
    pub async fn held(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
    ) -> Result<Vec<(CustomerId, TagId)>, StoreError> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT customer_id, tag_id FROM customer_tags WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND customer_id IN ").bind_list(customers.iter().map(|c| c.0));
        sql.push(" ORDER BY added_at");
        let rows: Vec<(Uuid, Uuid)> = on_pool!(self.0, p => dyn_query_as!((Uuid, Uuid), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(c, t)| (CustomerId(c), TagId(t))).collect())
    }

    /// Tags held by each of the given customers with their tag and group, oldest first, in one query (the
    /// list and profile pages need names, not the whole catalogue).
    pub async fn held_with_groups(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
    ) -> Result<Vec<(CustomerId, Tag, TagGroup)>, StoreError> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<HeldTagRow> = self.0.read_all(held_sql(tenant, customers)).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Applies changes to one customer atomically. Only effective changes (a tag really added or really
    /// removed) are written to history and the timeline; returns them.
    pub async fn change(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        changes: &[TagChange],
        ctx: &ChangeContext<'_>,
    ) -> Result<Vec<TagChange>, StoreError> {
        let mut effective = Vec::new();
        in_tx!(self.0, tx => {
            for c in changes {
                if apply_tag_change!(tx, tenant, customer, c, ctx) {
                    effective.push(c.clone());
                }
            }
        });
        Ok(effective)
    }
}
