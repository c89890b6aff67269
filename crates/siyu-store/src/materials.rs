//! The material library: `material_folders`, `materials`, `material_versions`, `material_tags`,
//! `material_audience`, `material_open_tags`; the usage ledger is in [`usage`].

pub mod usage;

use chrono::{DateTime, Utc};
use siyu_domain::id::{MaterialFolderId, MaterialId, TenantId};
use uuid::Uuid;

use crate::sql::{Arg, Sql, dyn_query, dyn_query_as};
use crate::{StoreError, exec, in_tx, on_pool};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FolderRow {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MaterialRow {
    pub id: Uuid,
    pub kind: String,
    pub folder_id: Option<Uuid>,
    pub title: String,
    pub version: i64,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version as stored (also what a new version is written from). `content` is JSON text.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct VersionRow {
    pub material_id: Uuid,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub content: String,
    pub blob_key: Option<String>,
    pub thumb_key: Option<String>,
    pub file_name: Option<String>,
    pub mime: Option<String>,
    pub size_bytes: Option<i64>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TagRow {
    pub material_id: Uuid,
    pub tag: String,
}

/// A department or staff member a material is shown to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AudienceRow {
    pub material_id: Uuid,
    /// `department` or `staff`.
    pub kind: String,
    pub target_id: Uuid,
}

/// Who is looking: a staff member sees materials for everyone, for them, or for one of `departments`.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub user: Uuid,
    pub departments: Vec<Uuid>,
}

/// A list request; empty filters do not filter. Newest change first.
#[derive(Debug, Clone, Default)]
pub struct MaterialFilter {
    pub kind: Option<String>,
    pub folder: Option<Uuid>,
    pub tag: Option<String>,
    /// `None`: every material (content managers).
    pub viewer: Option<Viewer>,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// The metadata written with a material: folder, tags, audience, tags given on open.
#[derive(Debug, Clone, Default)]
pub struct MaterialMeta {
    pub folder_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub departments: Vec<Uuid>,
    pub staff: Vec<Uuid>,
    pub open_tags: Vec<Uuid>,
}

/// A tag a material gives to a customer who opens one of its tracked links.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenTagRow {
    pub material_id: Uuid,
    pub tag_id: Uuid,
}

const COLUMNS: &str = "id, kind, folder_id, title, version, created_by, created_at, updated_at";
const VERSION_COLUMNS: &str = "material_id, version, title, body, content, blob_key, thumb_key, file_name, mime, \
     size_bytes, width, height, created_by, created_at";

pub struct Materials<'a>(&'a crate::Store);

impl crate::Store {
    pub fn materials(&self) -> Materials<'_> {
        Materials(self)
    }
}

fn insert_version(t: TenantId, v: &VersionRow) -> Sql {
    Sql::with(
        &format!(
            "INSERT INTO material_versions (tenant_id, {VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15)"
        ),
        vec![
            Arg::Uuid(t.0),
            Arg::Uuid(v.material_id),
            Arg::Int(v.version),
            Arg::Text(v.title.clone()),
            Arg::Text(v.body.clone()),
            Arg::Text(v.content.clone()),
            Arg::OptText(v.blob_key.clone()),
            Arg::OptText(v.thumb_key.clone()),
            Arg::OptText(v.file_name.clone()),
            Arg::OptText(v.mime.clone()),
            opt_int(v.size_bytes),
            opt_int(v.width),
            opt_int(v.height),
            Arg::OptUuid(v.created_by),
            Arg::Time(v.created_at),
        ],
    )
}

fn opt_int(v: Option<i64>) -> Arg {
    Arg::OptInt(v)
}

/// Replaces the tags and audience of a material.
fn write_meta(t: TenantId, id: Uuid, meta: &MaterialMeta, out: &mut Vec<Sql>) {
    let key = || vec![Arg::Uuid(t.0), Arg::Uuid(id)];
    out.push(Sql::with("DELETE FROM material_tags WHERE tenant_id = $1 AND material_id = $2", key()));
    out.push(Sql::with("DELETE FROM material_audience WHERE tenant_id = $1 AND material_id = $2", key()));
    out.push(Sql::with("DELETE FROM material_open_tags WHERE tenant_id = $1 AND material_id = $2", key()));
    if !meta.open_tags.is_empty() {
        let mut sql = Sql::new("INSERT INTO material_open_tags (tenant_id, material_id, tag_id) VALUES ");
        sql.values(meta.open_tags.iter().map(|tag| vec![Arg::Uuid(t.0), Arg::Uuid(id), Arg::Uuid(*tag)]));
        out.push(sql);
    }
    if !meta.tags.is_empty() {
        let mut sql = Sql::new("INSERT INTO material_tags (tenant_id, material_id, tag) VALUES ");
        sql.values(meta.tags.iter().map(|tag| vec![Arg::Uuid(t.0), Arg::Uuid(id), Arg::Text(tag.clone())]));
        out.push(sql);
    }
    let audience: Vec<(&str, Uuid)> =
        meta.departments.iter().map(|d| ("department", *d)).chain(meta.staff.iter().map(|s| ("staff", *s))).collect();
    if !audience.is_empty() {
        let mut sql = Sql::new("INSERT INTO material_audience (tenant_id, material_id, kind, target_id) VALUES ");
        sql.values(
            audience.iter().map(|(k, target)| {
                vec![Arg::Uuid(t.0), Arg::Uuid(id), Arg::Text((*k).to_string()), Arg::Uuid(*target)]
            }),
        );
        out.push(sql);
    }
}

impl Materials<'_> {
    async fn write(&self, stmts: Vec<Sql>) -> Result<(), StoreError> {
        in_tx!(self.0, tx => {
            for sql in stmts {
                dyn_query!(sql).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    // --- folders

    pub async fn folders(&self, tenant: TenantId) -> Result<Vec<FolderRow>, StoreError> {
        let sql = "SELECT id, parent_id, name FROM material_folders WHERE tenant_id = $1 ORDER BY name, id";
        Ok(on_pool!(self.0, p => sqlx::query_as(sql).bind(tenant.0).fetch_all(p).await)?)
    }

    pub async fn insert_folder(
        &self,
        tenant: TenantId,
        id: MaterialFolderId,
        parent: Option<MaterialFolderId>,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO material_folders (tenant_id, id, parent_id, name, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $5)";
        exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(parent.map(|p| p.0)).bind(name).bind(at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn update_folder(
        &self,
        tenant: TenantId,
        id: MaterialFolderId,
        parent: Option<MaterialFolderId>,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql =
            "UPDATE material_folders SET parent_id = $3, name = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(parent.map(|p| p.0)).bind(name)
            .bind(at).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Deletes an empty folder; `Conflict("material_folder_not_empty")` when it holds folders or materials.
    pub async fn delete_folder(&self, tenant: TenantId, id: MaterialFolderId) -> Result<(), StoreError> {
        let sql = "SELECT (SELECT COUNT(*) FROM material_folders WHERE tenant_id = $1 AND parent_id = $2) + \
                   (SELECT COUNT(*) FROM materials WHERE tenant_id = $1 AND folder_id = $2)";
        let used: i64 = on_pool!(self.0, p => sqlx::query_scalar(sql).bind(tenant.0).bind(id.0).fetch_one(p).await)?;
        if used > 0 {
            return Err(StoreError::Conflict("material_folder_not_empty".into()));
        }
        let sql = "DELETE FROM material_folders WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    // --- materials

    /// Stores a new material with its first version.
    pub async fn insert(
        &self,
        tenant: TenantId,
        kind: &str,
        first: &VersionRow,
        meta: &MaterialMeta,
    ) -> Result<(), StoreError> {
        let id = first.material_id;
        let mut stmts = vec![Sql::with(
            &format!("INSERT INTO materials (tenant_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"),
            vec![
                Arg::Uuid(tenant.0),
                Arg::Uuid(id),
                Arg::Text(kind.to_string()),
                Arg::OptUuid(meta.folder_id),
                Arg::Text(first.title.clone()),
                Arg::Int(first.version),
                Arg::OptUuid(first.created_by),
                Arg::Time(first.created_at),
            ],
        )];
        stmts.push(insert_version(tenant, first));
        write_meta(tenant, id, meta, &mut stmts);
        self.write(stmts).await
    }

    /// Adds a version and makes it current (with `meta` replacing the folder, tags and audience).
    pub async fn add_version(&self, tenant: TenantId, v: &VersionRow, meta: &MaterialMeta) -> Result<(), StoreError> {
        let mut stmts = vec![insert_version(tenant, v)];
        stmts.push(Sql::with(
            "UPDATE materials SET version = $3, title = $4, folder_id = $5, updated_at = $6 \
             WHERE tenant_id = $1 AND id = $2",
            vec![
                Arg::Uuid(tenant.0),
                Arg::Uuid(v.material_id),
                Arg::Int(v.version),
                Arg::Text(v.title.clone()),
                Arg::OptUuid(meta.folder_id),
                Arg::Time(v.created_at),
            ],
        ));
        write_meta(tenant, v.material_id, meta, &mut stmts);
        self.write(stmts).await
    }

    /// Changes only the folder, tags and audience (no new version).
    pub async fn update_meta(
        &self,
        tenant: TenantId,
        id: MaterialId,
        meta: &MaterialMeta,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut stmts = vec![Sql::with(
            "UPDATE materials SET folder_id = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(id.0), Arg::OptUuid(meta.folder_id), Arg::Time(at)],
        )];
        write_meta(tenant, id.0, meta, &mut stmts);
        self.write(stmts).await
    }

    pub async fn get(&self, tenant: TenantId, id: MaterialId) -> Result<MaterialRow, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM materials WHERE tenant_id = $1 AND id = $2");
        let row = on_pool!(self.0, p => sqlx::query_as::<_, MaterialRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0)
            .bind(id.0).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// A page of materials passing `f`, newest change first.
    pub async fn list(&self, tenant: TenantId, f: &MaterialFilter) -> Result<Vec<MaterialRow>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM materials m WHERE m.tenant_id = "));
        sql.bind(Arg::Uuid(tenant.0));
        if let Some(kind) = &f.kind {
            sql.push(" AND m.kind = ").bind(Arg::Text(kind.clone()));
        }
        if let Some(folder) = f.folder {
            sql.push(" AND m.folder_id = ").bind(Arg::Uuid(folder));
        }
        if let Some(tag) = &f.tag {
            sql.push(
                " AND EXISTS (SELECT 1 FROM material_tags t WHERE t.tenant_id = m.tenant_id AND t.material_id = m.id \
                 AND t.tag = ",
            )
            .bind(Arg::Text(tag.clone()))
            .push(")");
        }
        if let Some(v) = &f.viewer {
            visible_to(&mut sql, v);
        }
        if let Some((at, id)) = f.after {
            sql.push(" AND (m.updated_at < ").bind(Arg::Time(at));
            sql.push(" OR (m.updated_at = ").bind(Arg::Time(at)).push(" AND m.id < ").bind(Arg::Uuid(id)).push("))");
        }
        sql.push(" ORDER BY m.updated_at DESC, m.id DESC").limit(f.limit);
        Ok(on_pool!(self.0, p => dyn_query_as!(MaterialRow, sql).fetch_all(p).await)?)
    }

    /// Every material of the tenant (the search index's rebuild), oldest first.
    pub async fn all(&self, tenant: TenantId) -> Result<Vec<MaterialRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM materials WHERE tenant_id = $1 ORDER BY created_at, id");
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, MaterialRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0)
            .fetch_all(p).await)?)
    }

    /// Whether `viewer` may see the material.
    pub async fn is_visible(&self, tenant: TenantId, id: MaterialId, viewer: &Viewer) -> Result<bool, StoreError> {
        let mut sql = Sql::new("SELECT m.id FROM materials m WHERE m.tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND m.id = ").bind(Arg::Uuid(id.0));
        visible_to(&mut sql, viewer);
        let row: Option<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_optional(p).await)?;
        Ok(row.is_some())
    }

    pub async fn versions(&self, tenant: TenantId, id: MaterialId) -> Result<Vec<VersionRow>, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM material_versions WHERE tenant_id = $1 AND material_id = $2 \
             ORDER BY version DESC"
        );
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, VersionRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0)
            .fetch_all(p).await)?)
    }

    pub async fn version(&self, tenant: TenantId, id: MaterialId, version: i64) -> Result<VersionRow, StoreError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM material_versions WHERE tenant_id = $1 AND material_id = $2 AND version = $3"
        );
        let row = on_pool!(self.0, p => sqlx::query_as::<_, VersionRow>(sqlx::AssertSqlSafe(sql)).bind(tenant.0)
            .bind(id.0).bind(version).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// The tags of these materials.
    pub async fn tags_of(&self, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<TagRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT material_id, tag FROM material_tags WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND material_id IN ").bind_list(ids.iter().copied());
        sql.push(" ORDER BY tag");
        Ok(on_pool!(self.0, p => dyn_query_as!(TagRow, sql).fetch_all(p).await)?)
    }

    /// The audience of these materials.
    pub async fn audience_of(&self, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<AudienceRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT material_id, kind, target_id FROM material_audience WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND material_id IN ").bind_list(ids.iter().copied());
        Ok(on_pool!(self.0, p => dyn_query_as!(AudienceRow, sql).fetch_all(p).await)?)
    }

    /// The tags these materials give on open.
    pub async fn open_tags_of(&self, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<OpenTagRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT material_id, tag_id FROM material_open_tags WHERE tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND material_id IN ").bind_list(ids.iter().copied());
        sql.push(" ORDER BY material_id, tag_id");
        Ok(on_pool!(self.0, p => dyn_query_as!(OpenTagRow, sql).fetch_all(p).await)?)
    }

    /// Every tag in use, with how many materials carry it.
    pub async fn tag_counts(&self, tenant: TenantId) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = "SELECT tag, COUNT(*) FROM material_tags WHERE tenant_id = $1 GROUP BY tag ORDER BY tag";
        Ok(on_pool!(self.0, p => sqlx::query_as(sql).bind(tenant.0).fetch_all(p).await)?)
    }

    /// Deletes a material with its versions, tags, audience and open tags (the usage ledger stays). Returns the blob
    /// keys it used that no other material version of the tenant uses.
    pub async fn delete(&self, tenant: TenantId, id: MaterialId) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT DISTINCT k FROM (SELECT blob_key AS k FROM material_versions WHERE tenant_id = $1 AND \
                   material_id = $2 UNION SELECT thumb_key AS k FROM material_versions WHERE tenant_id = $1 AND \
                   material_id = $2) keys WHERE k IS NOT NULL AND NOT EXISTS (SELECT 1 FROM material_versions o \
                   WHERE o.tenant_id = $1 AND o.material_id <> $2 AND (o.blob_key = keys.k OR o.thumb_key = keys.k))";
        let keys: Vec<String> =
            on_pool!(self.0, p => sqlx::query_scalar(sql).bind(tenant.0).bind(id.0).fetch_all(p).await)?;
        let key = || vec![Arg::Uuid(tenant.0), Arg::Uuid(id.0)];
        let n = in_tx!(self.0, tx => {
            for table in ["material_tags", "material_audience", "material_open_tags", "material_versions"] {
                let sql = Sql::with(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND material_id = $2"), key());
                dyn_query!(sql).execute(&mut *tx).await?;
            }
            let sql = Sql::with("DELETE FROM materials WHERE tenant_id = $1 AND id = $2", key());
            dyn_query!(sql).execute(&mut *tx).await?.rows_affected()
        });
        if n == 0 { Err(StoreError::NotFound) } else { Ok(keys) }
    }
}

/// Appends the visibility rule: no audience row (everyone), or a row naming the viewer or one of their
/// departments.
fn visible_to(sql: &mut Sql, v: &Viewer) {
    sql.push(
        " AND (NOT EXISTS (SELECT 1 FROM material_audience a WHERE a.tenant_id = m.tenant_id AND a.material_id = m.id) \
         OR EXISTS (SELECT 1 FROM material_audience a WHERE a.tenant_id = m.tenant_id AND a.material_id = m.id AND \
         ((a.kind = 'staff' AND a.target_id = ",
    )
    .bind(Arg::Uuid(v.user))
    .push(")");
    if !v.departments.is_empty() {
        sql.push(" OR (a.kind = 'department' AND a.target_id IN ").bind_list(v.departments.iter().copied()).push(")");
    }
    sql.push(")))");
}
