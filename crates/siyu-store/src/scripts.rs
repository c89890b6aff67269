//! Quick-reply script groups and scripts (`script_groups`, `scripts`).

use chrono::{DateTime, Utc};
use siyu_domain::id::{ScriptGroupId, ScriptId, TenantId};
use uuid::Uuid;

use crate::{StoreError, exec, on_pool};

/// A group as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: Uuid,
    pub owner_key: String,
    pub name: String,
    pub position: i64,
}

/// A script as stored (attachments as JSON text).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScriptRow {
    pub id: Uuid,
    pub group_id: Uuid,
    pub title: String,
    pub body: String,
    pub attachments: String,
    pub position: i64,
    pub uses: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A script with its group's owner, for the search index.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IndexedScript {
    pub id: Uuid,
    pub group_id: Uuid,
    pub owner_key: String,
    pub title: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

const SCRIPT_COLUMNS: &str = "id, group_id, title, body, attachments, position, uses, last_used_at, updated_at";

/// The repository of scripts (`store.scripts()`).
pub struct Scripts<'a>(&'a crate::Store);

impl crate::Store {
    pub fn scripts(&self) -> Scripts<'_> {
        Scripts(self)
    }
}

impl Scripts<'_> {
    /// The groups of the given owners ('team' and/or a user id), in order.
    pub async fn groups(&self, tenant: TenantId, owners: &[String]) -> Result<Vec<GroupRow>, StoreError> {
        let mut out = Vec::new();
        for owner in owners {
            let sql = "SELECT id, owner_key, name, position FROM script_groups WHERE tenant_id = $1 AND owner_key = $2 \
                 ORDER BY position, name";
            let rows: Vec<GroupRow> =
                on_pool!(self.0, p => sqlx::query_as(sql).bind(tenant.0).bind(owner).fetch_all(p).await)?;
            out.extend(rows);
        }
        Ok(out)
    }

    pub async fn group(&self, tenant: TenantId, id: ScriptGroupId) -> Result<GroupRow, StoreError> {
        let sql = "SELECT id, owner_key, name, position FROM script_groups WHERE tenant_id = $1 AND id = $2";
        let row = on_pool!(self.0, p => sqlx::query_as::<_, GroupRow>(sql).bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    pub async fn group_named(&self, tenant: TenantId, owner: &str, name: &str) -> Result<Option<GroupRow>, StoreError> {
        let sql = "SELECT id, owner_key, name, position FROM script_groups WHERE tenant_id = $1 AND owner_key = $2 AND name = $3";
        Ok(
            on_pool!(self.0, p => sqlx::query_as::<_, GroupRow>(sql).bind(tenant.0).bind(owner).bind(name).fetch_optional(p).await)?,
        )
    }

    /// Makes a group at the end of its owner's list; `Conflict` when the owner has one of that name.
    pub async fn insert_group(
        &self,
        tenant: TenantId,
        id: ScriptGroupId,
        owner: &str,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO script_groups (tenant_id, id, owner_key, name, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(position), 0) + 1 FROM script_groups WHERE tenant_id = $1 \
             AND owner_key = $3), $5, $5)";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(owner).bind(name).bind(at).execute(p).await)?;
        Ok(())
    }

    pub async fn rename_group(
        &self,
        tenant: TenantId,
        id: ScriptGroupId,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE script_groups SET name = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(name).bind(at).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Deletes a group with its scripts.
    pub async fn delete_group(&self, tenant: TenantId, id: ScriptGroupId) -> Result<(), StoreError> {
        let scripts = "DELETE FROM scripts WHERE tenant_id = $1 AND group_id = $2";
        exec!(self.0, p => sqlx::query(scripts).bind(tenant.0).bind(id.0).execute(p).await)?;
        let group = "DELETE FROM script_groups WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(group).bind(tenant.0).bind(id.0).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// The scripts of a group, in order.
    pub async fn scripts_of(&self, tenant: TenantId, group: ScriptGroupId) -> Result<Vec<ScriptRow>, StoreError> {
        let sql = format!(
            "SELECT {SCRIPT_COLUMNS} FROM scripts WHERE tenant_id = $1 AND group_id = $2 ORDER BY position, created_at"
        );
        Ok(
            on_pool!(self.0, p => sqlx::query_as::<_, ScriptRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(group.0).fetch_all(p).await)?,
        )
    }

    pub async fn script(&self, tenant: TenantId, id: ScriptId) -> Result<ScriptRow, StoreError> {
        let sql = format!("SELECT {SCRIPT_COLUMNS} FROM scripts WHERE tenant_id = $1 AND id = $2");
        let row = on_pool!(self.0, p => sqlx::query_as::<_, ScriptRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Makes a script at the end of its group.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_script(
        &self,
        tenant: TenantId,
        id: ScriptId,
        group: ScriptGroupId,
        title: &str,
        body: &str,
        attachments: &str,
        by: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO scripts (tenant_id, id, group_id, title, body, attachments, position, created_by, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, (SELECT COALESCE(MAX(position), 0) + 1 FROM scripts \
             WHERE tenant_id = $1 AND group_id = $3), $7, $8, $8)";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(group.0).bind(title).bind(body)
            .bind(attachments).bind(by).bind(at).execute(p).await)?;
        Ok(())
    }

    pub async fn update_script(
        &self,
        tenant: TenantId,
        id: ScriptId,
        title: &str,
        body: &str,
        attachments: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE scripts SET title = $3, body = $4, attachments = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(title).bind(body).bind(attachments)
            .bind(at).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Moves a script to `position` in its group (others keep their relative order).
    pub async fn move_script(&self, tenant: TenantId, id: ScriptId, position: i64) -> Result<(), StoreError> {
        let sql = "UPDATE scripts SET position = $3 WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(position).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn delete_script(&self, tenant: TenantId, id: ScriptId) -> Result<(), StoreError> {
        let sql = "DELETE FROM scripts WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Every script of the tenant with its group's owner (the search index's rebuild).
    pub async fn for_index(&self, tenant: TenantId) -> Result<Vec<IndexedScript>, StoreError> {
        let sql = "SELECT s.id, s.group_id, g.owner_key, s.title, s.body, s.updated_at FROM scripts s JOIN script_groups g \
                   ON g.tenant_id = s.tenant_id AND g.id = s.group_id WHERE s.tenant_id = $1 ORDER BY s.created_at, s.id";
        Ok(on_pool!(self.0, p => sqlx::query_as(sql).bind(tenant.0).fetch_all(p).await)?)
    }

    /// Counts one use of a script.
    pub async fn record_use(&self, tenant: TenantId, id: ScriptId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let sql = "UPDATE scripts SET uses = uses + 1, last_used_at = $3 WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(at).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
