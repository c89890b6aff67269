//! The material library (素材库): folders, materials with versions, tags and visibility, their files in
//! the blob store with thumbnails, and (in submodules) the usage ledger, search and storage.
//!
//! Members with `content_manage` keep the library and see everything; everyone else with `customers_read`
//! lists, searches, opens and sends only the materials visible to them (all staff, their department or a
//! parent of it, or themselves by name). A material they may not see is not found.

pub mod blobs;
pub mod index;
pub mod poster;
pub mod s3;
pub mod thumbnail;
pub mod usage;

use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::{DepartmentId, MaterialFolderId, MaterialId, TagId, UserId};
use siyu_domain::material::{
    Material, MaterialContent, MaterialFolder, MaterialInput, MaterialKind, MaterialVersion, MaterialVisibility,
    accept_file, clean_file_name, folder_name,
};
use siyu_store::materials::{MaterialFilter, MaterialMeta, MaterialRow, VersionRow, Viewer};
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};
use blobs::BlobKey;

/// A file as uploaded: the name is only shown and offered on download, never used to store it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A material's file (or thumbnail) to serve.
#[derive(Debug, Clone)]
pub struct MaterialFile {
    pub mime: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A list or search of the library.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct MaterialQuery {
    /// Words to search (titles, texts, descriptions, file names); empty: newest change first.
    pub q: Option<String>,
    pub kind: Option<MaterialKind>,
    pub folder_id: Option<MaterialFolderId>,
    pub tag: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// A material in a list; with a search, its title and best passage with the words marked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MaterialItem {
    #[serde(flatten)]
    pub material: Material,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet_html: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MaterialPage {
    pub items: Vec<MaterialItem>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct FolderInput {
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<MaterialFolderId>,
}

fn version_of(v: &VersionRow) -> MaterialVersion {
    MaterialVersion {
        version: v.version,
        title: v.title.clone(),
        body: v.body.clone(),
        content: serde_json::from_str(&v.content).unwrap_or_default(),
        file_name: v.file_name.clone(),
        mime: v.mime.clone(),
        size_bytes: v.size_bytes,
        width: v.width,
        height: v.height,
        has_thumbnail: v.thumb_key.is_some(),
        created_by: v.created_by.map(UserId),
        created_at: v.created_at,
    }
}

/// The stored file of a new version.
struct Stored {
    blob_key: String,
    thumb_key: Option<String>,
    file_name: String,
    mime: String,
    size: i64,
    dims: Option<(i64, i64)>,
}

impl App {
    /// `None` for content managers (they see everything), else who is looking.
    pub(crate) async fn material_viewer(&self, actor: &Actor) -> AppResult<Option<Viewer>> {
        actor.require(Permission::CustomersRead)?;
        if actor.can(Permission::ContentManage) {
            return Ok(None);
        }
        let mut departments = Vec::new();
        if let Some(mut dept) = actor.department {
            let all = self.store.departments().list(actor.tenant).await?;
            // The member's department and every department above it.
            while !departments.contains(&dept.0) {
                departments.push(dept.0);
                match all.iter().find(|d| d.id == dept).and_then(|d| d.parent_id) {
                    Some(parent) => dept = parent,
                    None => break,
                }
            }
        }
        Ok(Some(Viewer { user: actor.user.0, departments }))
    }

    /// The material's row if the actor may see it.
    async fn visible_material(&self, actor: &Actor, id: MaterialId) -> AppResult<MaterialRow> {
        let row = self.store.materials().get(actor.tenant, id).await?;
        if let Some(viewer) = self.material_viewer(actor).await?
            && !self.store.materials().is_visible(actor.tenant, id, &viewer).await?
        {
            return Err(AppError::NotFound);
        }
        Ok(row)
    }

    /// Materials with their current version, tags and audience, in the order of `rows`.
    pub(crate) async fn assemble_materials(&self, actor: &Actor, rows: Vec<MaterialRow>) -> AppResult<Vec<Material>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let tags = self.store.materials().tags_of(actor.tenant, &ids).await?;
        let audience = self.store.materials().audience_of(actor.tenant, &ids).await?;
        let open_tags = self.store.materials().open_tags_of(actor.tenant, &ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let current = self.store.materials().version(actor.tenant, MaterialId(r.id), r.version).await?;
            let visibility = MaterialVisibility {
                departments: audience
                    .iter()
                    .filter(|a| a.material_id == r.id && a.kind == "department")
                    .map(|a| DepartmentId(a.target_id))
                    .collect(),
                staff: audience
                    .iter()
                    .filter(|a| a.material_id == r.id && a.kind == "staff")
                    .map(|a| UserId(a.target_id))
                    .collect(),
            };
            out.push(Material {
                id: MaterialId(r.id),
                kind: MaterialKind::parse(&r.kind).unwrap_or(MaterialKind::File),
                folder_id: r.folder_id.map(MaterialFolderId),
                tags: tags.iter().filter(|t| t.material_id == r.id).map(|t| t.tag.clone()).collect(),
                visibility,
                open_tag_ids: open_tags.iter().filter(|t| t.material_id == r.id).map(|t| TagId(t.tag_id)).collect(),
                current: version_of(&current),
                created_at: r.created_at,
                updated_at: r.updated_at,
            });
        }
        Ok(out)
    }

    pub async fn get_material(&self, actor: &Actor, id: MaterialId) -> AppResult<Material> {
        let row = self.visible_material(actor, id).await?;
        let mut one = self.assemble_materials(actor, vec![row]).await?;
        one.pop().ok_or(AppError::NotFound)
    }

    /// Checks a folder exists in the tenant.
    async fn check_folder(&self, actor: &Actor, folder: Option<MaterialFolderId>) -> AppResult<()> {
        if let Some(f) = folder
            && !self.store.materials().folders(actor.tenant).await?.iter().any(|r| r.id == f.0)
        {
            return Err(AppError::invalid("folder_id", "unknown_folder"));
        }
        Ok(())
    }

    /// Sniffs, limits, thumbnails and stores an upload for a material of `kind`.
    async fn store_material_file(&self, actor: &Actor, kind: MaterialKind, up: Upload) -> AppResult<Stored> {
        if !kind.has_file() {
            return Err(AppError::invalid("file", "not_for_this_kind"));
        }
        let sniffed = accept_file(kind, &up.bytes, &self.settings.materials.limits())?;
        let bytes = std::sync::Arc::new(up.bytes);
        let (thumb_key, dims) = if kind.is_image() {
            let b = std::sync::Arc::clone(&bytes);
            let thumb = tokio::task::spawn_blocking(move || thumbnail::make(&b, sniffed))
                .await
                .map_err(AppError::internal)??;
            let key = BlobKey::for_content(actor.tenant, &thumb.png);
            self.blobs.put(&key, &thumb.png).await?;
            (Some(key.to_string()), Some((i64::from(thumb.width), i64::from(thumb.height))))
        } else {
            (None, None)
        };
        let key = BlobKey::for_content(actor.tenant, &bytes);
        self.blobs.put(&key, &bytes).await?;
        Ok(Stored {
            blob_key: key.to_string(),
            thumb_key,
            file_name: clean_file_name(&up.file_name),
            mime: sniffed.mime().to_string(),
            size: bytes.len() as i64,
            dims,
        })
    }

    fn meta_of(input: &MaterialInput) -> MaterialMeta {
        MaterialMeta {
            folder_id: input.folder_id.map(|f| f.0),
            tags: input.tags.clone(),
            departments: input.visibility.departments.iter().map(|d| d.0).collect(),
            staff: input.visibility.staff.iter().map(|s| s.0).collect(),
            open_tags: input.open_tag_ids.iter().map(|t| t.0).collect(),
        }
    }

    /// Checks the tags given on open exist in the tenant.
    async fn check_open_tags(&self, actor: &Actor, tags: &[TagId]) -> AppResult<()> {
        for tag in tags {
            match self.store.tags().tag(actor.tenant, *tag).await {
                Ok(_) => {}
                Err(siyu_store::StoreError::NotFound) => return Err(AppError::invalid("open_tag_ids", "unknown_tag")),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Makes a material (needs `content_manage`). Image, video, file and poster materials need `file`.
    pub async fn create_material(
        &self,
        actor: &Actor,
        input: MaterialInput,
        file: Option<Upload>,
    ) -> AppResult<Material> {
        actor.require(Permission::ContentManage)?;
        let input = input.check()?;
        self.check_folder(actor, input.folder_id).await?;
        self.check_open_tags(actor, &input.open_tag_ids).await?;
        let stored = match file {
            Some(up) => Some(self.store_material_file(actor, input.kind, up).await?),
            None if input.kind.has_file() => return Err(AppError::invalid("file", "required")),
            None => None,
        };
        if let Some(s) = &stored {
            input.check_slot(s.dims.map(|d| d.0), s.dims.map(|d| d.1))?;
        }
        let id = MaterialId::new();
        let first = self.version_row(actor, id, 1, &input, stored.as_ref(), None)?;
        self.store.materials().insert(actor.tenant, input.kind.as_str(), &first, &Self::meta_of(&input)).await?;
        self.index_material(actor.tenant, id).await;
        self.get_material(actor, id).await
    }

    fn version_row(
        &self,
        actor: &Actor,
        id: MaterialId,
        version: i64,
        input: &MaterialInput,
        stored: Option<&Stored>,
        keep: Option<&VersionRow>,
    ) -> AppResult<VersionRow> {
        let content = serde_json::to_string(&input.content).map_err(AppError::internal)?;
        let mut v = VersionRow {
            material_id: id.0,
            version,
            title: input.title.clone(),
            body: input.body.clone(),
            content,
            created_by: Some(actor.user.0),
            created_at: self.now(),
            ..VersionRow::default()
        };
        if let Some(s) = stored {
            v.blob_key = Some(s.blob_key.clone());
            v.thumb_key = s.thumb_key.clone();
            v.file_name = Some(s.file_name.clone());
            v.mime = Some(s.mime.clone());
            v.size_bytes = Some(s.size);
            v.width = s.dims.map(|d| d.0);
            v.height = s.dims.map(|d| d.1);
        } else if let Some(k) = keep {
            v.blob_key = k.blob_key.clone();
            v.thumb_key = k.thumb_key.clone();
            v.file_name = k.file_name.clone();
            v.mime = k.mime.clone();
            v.size_bytes = k.size_bytes;
            v.width = k.width;
            v.height = k.height;
        }
        Ok(v)
    }

    /// Edits a material. A new file or another title, text or content makes a new version (the old one
    /// and its file are kept); folder, tags and visibility change in place.
    pub async fn update_material(
        &self,
        actor: &Actor,
        id: MaterialId,
        input: MaterialInput,
        file: Option<Upload>,
    ) -> AppResult<Material> {
        actor.require(Permission::ContentManage)?;
        let row = self.store.materials().get(actor.tenant, id).await?;
        if input.kind.as_str() != row.kind {
            return Err(AppError::invalid("kind", "cannot_change"));
        }
        let input = input.check()?;
        self.check_folder(actor, input.folder_id).await?;
        self.check_open_tags(actor, &input.open_tag_ids).await?;
        let current = self.store.materials().version(actor.tenant, id, row.version).await?;
        let stored = match file {
            Some(up) => Some(self.store_material_file(actor, input.kind, up).await?),
            None => None,
        };
        match &stored {
            Some(s) => input.check_slot(s.dims.map(|d| d.0), s.dims.map(|d| d.1))?,
            None => input.check_slot(current.width, current.height)?,
        }
        let old_content: MaterialContent = serde_json::from_str(&current.content).unwrap_or_default();
        let changed = stored.as_ref().is_some_and(|s| Some(&s.blob_key) != current.blob_key.as_ref())
            || input.title != current.title
            || input.body != current.body
            || input.content != old_content;
        let meta = Self::meta_of(&input);
        if changed {
            let v = self.version_row(actor, id, row.version + 1, &input, stored.as_ref(), Some(&current))?;
            self.store.materials().add_version(actor.tenant, &v, &meta).await?;
        } else {
            self.store.materials().update_meta(actor.tenant, id, &meta, self.now()).await?;
        }
        self.index_material(actor.tenant, id).await;
        self.get_material(actor, id).await
    }

    /// Every version, newest first.
    pub async fn material_versions(&self, actor: &Actor, id: MaterialId) -> AppResult<Vec<MaterialVersion>> {
        self.visible_material(actor, id).await?;
        Ok(self.store.materials().versions(actor.tenant, id).await?.iter().map(version_of).collect())
    }

    /// Makes an old version current again, as a new version (history stays linear and complete).
    pub async fn restore_material_version(&self, actor: &Actor, id: MaterialId, version: i64) -> AppResult<Material> {
        actor.require(Permission::ContentManage)?;
        let row = self.store.materials().get(actor.tenant, id).await?;
        let old = self.store.materials().version(actor.tenant, id, version).await?;
        let material = self.get_material(actor, id).await?;
        let v = VersionRow { version: row.version + 1, created_by: Some(actor.user.0), created_at: self.now(), ..old };
        let meta = MaterialMeta {
            folder_id: row.folder_id,
            tags: material.tags.clone(),
            departments: material.visibility.departments.iter().map(|d| d.0).collect(),
            staff: material.visibility.staff.iter().map(|s| s.0).collect(),
            open_tags: material.open_tag_ids.iter().map(|t| t.0).collect(),
        };
        self.store.materials().add_version(actor.tenant, &v, &meta).await?;
        self.audit(
            actor,
            AuditEvent {
                action: "material.restore",
                object_type: "material",
                object_id: Some(id.to_string()),
                detail: json!({"version": version, "as": v.version}),
            },
        )
        .await;
        self.index_material(actor.tenant, id).await;
        self.get_material(actor, id).await
    }

    /// Deletes a material with its versions; files no other material uses leave the blob store.
    pub async fn delete_material(&self, actor: &Actor, id: MaterialId) -> AppResult<()> {
        actor.require(Permission::ContentManage)?;
        let row = self.store.materials().get(actor.tenant, id).await?;
        let posters = self.rendered_poster_keys(actor.tenant, &row).await;
        let keys = self.store.materials().delete(actor.tenant, id).await?;
        self.unindex(actor.tenant, siyu_search::DocKind::Material, id.0).await;
        for key in keys.iter().filter_map(|k| BlobKey::parse(k)).chain(posters) {
            if let Err(e) = self.blobs.delete(&key).await {
                tracing::warn!(key = %key, error = %e, "material file not deleted");
            }
        }
        self.audit(
            actor,
            AuditEvent {
                action: "material.delete",
                object_type: "material",
                object_id: Some(id.to_string()),
                detail: json!({"title": row.title, "kind": row.kind}),
            },
        )
        .await;
        Ok(())
    }

    /// A page of the materials the actor sees; with `q`, the best matches first (see [`index`]).
    pub async fn list_materials(&self, actor: &Actor, q: &MaterialQuery) -> AppResult<MaterialPage> {
        let viewer = self.material_viewer(actor).await?;
        let limit = q.limit.unwrap_or(50).clamp(1, 200);
        if q.q.as_deref().is_some_and(|t| !t.trim().is_empty()) {
            return self.search_materials(actor, q, limit).await;
        }
        let page = siyu_domain::page::PageRequest::parse(q.cursor.as_deref(), Some(limit))?;
        let filter = MaterialFilter {
            kind: q.kind.map(|k| k.as_str().to_string()),
            folder: q.folder_id.map(|f| f.0),
            tag: q.tag.clone().filter(|t| !t.trim().is_empty()),
            viewer,
            after: page.after.map(|c| (c.at, c.id)),
            limit: i64::from(limit) + 1,
        };
        let rows = self.store.materials().list(actor.tenant, &filter).await?;
        let page = siyu_domain::page::Page::from_overfetch(rows, limit, |r| siyu_domain::page::Cursor {
            at: r.updated_at,
            id: r.id,
        });
        let items = self.assemble_materials(actor, page.items).await?;
        Ok(MaterialPage {
            items: items
                .into_iter()
                .map(|m| MaterialItem { material: m, title_html: None, snippet_html: None })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// The file (or its thumbnail) of the current version, or of `version`.
    pub async fn material_file(
        &self,
        actor: &Actor,
        id: MaterialId,
        version: Option<i64>,
        thumbnail: bool,
    ) -> AppResult<MaterialFile> {
        let row = self.visible_material(actor, id).await?;
        let v = self.store.materials().version(actor.tenant, id, version.unwrap_or(row.version)).await?;
        self.file_of(actor.tenant, &v, thumbnail).await
    }

    pub(crate) async fn file_of(
        &self,
        tenant: siyu_domain::id::TenantId,
        v: &VersionRow,
        thumbnail: bool,
    ) -> AppResult<MaterialFile> {
        let key = if thumbnail { v.thumb_key.as_deref() } else { v.blob_key.as_deref() };
        let key = key.and_then(BlobKey::parse).filter(|k| k.is_of(tenant)).ok_or(AppError::NotFound)?;
        let bytes = self.blobs.get(&key).await?;
        let name = v.file_name.clone().unwrap_or_else(|| "file".into());
        Ok(if thumbnail {
            MaterialFile { mime: "image/png".into(), file_name: format!("{name}.thumb.png"), bytes }
        } else {
            MaterialFile {
                mime: v.mime.clone().unwrap_or_else(|| "application/octet-stream".into()),
                file_name: name,
                bytes,
            }
        })
    }

    /// Tags in use with their counts (the console's tag filter).
    pub async fn material_tags(&self, actor: &Actor) -> AppResult<Vec<(String, i64)>> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.materials().tag_counts(actor.tenant).await?)
    }

    pub async fn material_folders(&self, actor: &Actor) -> AppResult<Vec<MaterialFolder>> {
        actor.require(Permission::CustomersRead)?;
        let rows = self.store.materials().folders(actor.tenant).await?;
        Ok(rows
            .into_iter()
            .map(|r| MaterialFolder {
                id: MaterialFolderId(r.id),
                parent_id: r.parent_id.map(MaterialFolderId),
                name: r.name,
            })
            .collect())
    }

    pub async fn create_material_folder(&self, actor: &Actor, input: &FolderInput) -> AppResult<MaterialFolder> {
        actor.require(Permission::ContentManage)?;
        let name = folder_name(&input.name)?;
        self.check_folder(actor, input.parent_id).await?;
        let id = MaterialFolderId::new();
        self.store.materials().insert_folder(actor.tenant, id, input.parent_id, &name, self.now()).await?;
        Ok(MaterialFolder { id, parent_id: input.parent_id, name })
    }

    /// Renames or moves a folder (not under itself or one of its sub-folders).
    pub async fn update_material_folder(
        &self,
        actor: &Actor,
        id: MaterialFolderId,
        input: &FolderInput,
    ) -> AppResult<MaterialFolder> {
        actor.require(Permission::ContentManage)?;
        let name = folder_name(&input.name)?;
        let all = self.material_folders(actor).await?;
        if !all.iter().any(|f| f.id == id) {
            return Err(AppError::NotFound);
        }
        let mut up = input.parent_id;
        while let Some(p) = up {
            if p == id {
                return Err(AppError::invalid("parent_id", "cycle"));
            }
            up = all
                .iter()
                .find(|f| f.id == p)
                .ok_or_else(|| AppError::invalid("parent_id", "unknown_folder"))?
                .parent_id;
        }
        self.store.materials().update_folder(actor.tenant, id, input.parent_id, &name, self.now()).await?;
        Ok(MaterialFolder { id, parent_id: input.parent_id, name })
    }

    /// Deletes an empty folder.
    pub async fn delete_material_folder(&self, actor: &Actor, id: MaterialFolderId) -> AppResult<()> {
        actor.require(Permission::ContentManage)?;
        Ok(self.store.materials().delete_folder(actor.tenant, id).await?)
    }
}
