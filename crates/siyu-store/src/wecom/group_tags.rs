//! Group tags (`group_tags`, `group_tag_links`): a tenant's local labels on customer groups, many-to-many.
//! A group's tag set is replaced whole in one transaction.

use chrono::{DateTime, Utc};
use siyu_domain::id::{GroupId, GroupTagId, TenantId};
use siyu_domain::wecom::sop::GroupTag;
use uuid::Uuid;

use super::Wecom;
use crate::{StoreError, exec, in_write_tx, on_pool};

type TagRow = (Uuid, String, i64);

fn tag(r: TagRow) -> GroupTag {
    GroupTag { id: GroupTagId(r.0), name: r.1, groups: r.2 }
}

const TAG_SELECT: &str = "SELECT t.id, t.name, (SELECT COUNT(*) FROM group_tag_links l WHERE l.tenant_id = t.tenant_id \
     AND l.tag_id = t.id) AS groups FROM group_tags t";

impl Wecom<'_> {
    /// The tenant's group tags by name, each with how many groups carry it.
    pub async fn group_tags(&self, tenant: TenantId) -> Result<Vec<GroupTag>, StoreError> {
        let rows: Vec<TagRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{TAG_SELECT} WHERE t.tenant_id = $1 ORDER BY t.name")))
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(tag).collect())
    }

    pub async fn group_tag(&self, tenant: TenantId, id: GroupTagId) -> Result<GroupTag, StoreError> {
        let row: Option<TagRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{TAG_SELECT} WHERE t.tenant_id = $1 AND t.id = $2")))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.map(tag).ok_or(StoreError::NotFound)
    }

    /// A new group tag (`Conflict` when the name is taken).
    pub async fn insert_group_tag(
        &self,
        tenant: TenantId,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<GroupTagId, StoreError> {
        let id = GroupTagId::new();
        exec!(self.0, p => sqlx::query(
            "INSERT INTO group_tags (tenant_id, id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(tenant.0).bind(id.0).bind(name).bind(at).execute(p).await)?;
        Ok(id)
    }

    pub async fn rename_group_tag(&self, tenant: TenantId, id: GroupTagId, name: &str) -> Result<(), StoreError> {
        let n = exec!(self.0, p => sqlx::query("UPDATE group_tags SET name = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(name).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Deletes a tag and takes it off every group.
    pub async fn delete_group_tag(&self, tenant: TenantId, id: GroupTagId) -> Result<(), StoreError> {
        let n = in_write_tx!(self.0, tx => {
            sqlx::query("DELETE FROM group_tag_links WHERE tenant_id = $1 AND tag_id = $2")
                .bind(tenant.0).bind(id.0).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM group_tags WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0).bind(id.0).execute(&mut *tx).await?.rows_affected()
        });
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Replaces a group's tags (the caller checked the tags are the tenant's).
    pub async fn set_group_tags(
        &self,
        tenant: TenantId,
        group: GroupId,
        tags: &[GroupTagId],
    ) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            sqlx::query("DELETE FROM group_tag_links WHERE tenant_id = $1 AND group_id = $2")
                .bind(tenant.0).bind(group.0).execute(&mut *tx).await?;
            for t in tags {
                sqlx::query(
                    "INSERT INTO group_tag_links (tenant_id, group_id, tag_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (tenant_id, group_id, tag_id) DO NOTHING")
                    .bind(tenant.0).bind(group.0).bind(t.0).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// The tags of some groups: (group, tag id, tag name), by tag name.
    pub async fn tags_of_groups(
        &self,
        tenant: TenantId,
        groups: &[GroupId],
    ) -> Result<Vec<(GroupId, GroupTagId, String)>, StoreError> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..groups.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT l.group_id, t.id, t.name FROM group_tag_links l JOIN group_tags t ON t.tenant_id = l.tenant_id \
             AND t.id = l.tag_id WHERE l.tenant_id = $1 AND l.group_id IN ({}) ORDER BY t.name",
            list.join(", ")
        );
        let rows: Vec<(Uuid, Uuid, String)> = on_pool!(self.0, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(tenant.0);
            for g in groups {
                q = q.bind(g.0);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows.into_iter().map(|(g, t, n)| (GroupId(g), GroupTagId(t), n)).collect())
    }
}
