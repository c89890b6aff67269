//! Materials and quick-reply scripts in the tenant's full-text index (beside archived chats, see
//! [`crate::search`]): every create, edit and delete is committed at once (searchable on the next query),
//! and a rebuild refills them from the database.
//!
//! How they are filed in the index:
//! - materials: title; body = text or description, link URL, file name; folder = the folder id;
//!   tags = `t:<tag>` per tag and `k:<kind>`; visibility = `all`, or `dept:<id>` / `user:<id>` entries
//!   plus `manager` (content managers see every material).
//! - scripts: title and text; folder = `script_group:<id>`; visibility = `all` for team scripts,
//!   `user:<owner>` for personal ones (managers do not see other members' personal scripts).

use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{MaterialFolderId, MaterialId, TenantId};
use siyu_domain::material::MaterialKind;
use siyu_search::{DocKind, SearchDoc, SearchQuery};
use siyu_store::materials::{AudienceRow, MaterialRow, TagRow, VersionRow};
use siyu_store::scripts::IndexedScript;
use uuid::Uuid;

use super::{MaterialItem, MaterialPage, MaterialQuery};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A search over materials and scripts.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ContentSearch {
    pub q: String,
    /// `material`, `script` or both (absent).
    pub doc: Option<String>,
    pub kind: Option<MaterialKind>,
    pub folder_id: Option<MaterialFolderId>,
    pub tag: Option<String>,
    /// Content managers only: materials visible to this entry (`all`, `dept:<id>`, `user:<id>`).
    pub visible_to: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContentHit {
    /// `material` or `script`.
    pub doc: String,
    pub id: Uuid,
    pub score: f32,
    pub title_html: String,
    pub snippet_html: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContentResults {
    pub total: usize,
    pub hits: Vec<ContentHit>,
}

/// The index document of a material's current version.
pub(crate) fn material_doc(m: &MaterialRow, v: &VersionRow, tags: &[TagRow], audience: &[AudienceRow]) -> SearchDoc {
    let content: siyu_domain::material::MaterialContent = serde_json::from_str(&v.content).unwrap_or_default();
    let mut body = v.body.clone();
    for extra in [content.url.as_deref(), content.pagepath.as_deref(), v.file_name.as_deref()].into_iter().flatten() {
        body.push('\n');
        body.push_str(extra);
    }
    let mut doc_tags: Vec<String> =
        tags.iter().filter(|t| t.material_id == m.id).map(|t| format!("t:{}", t.tag)).collect();
    doc_tags.push(format!("k:{}", m.kind));
    let mine: Vec<&AudienceRow> = audience.iter().filter(|a| a.material_id == m.id).collect();
    let visibility = if mine.is_empty() {
        vec!["all".to_string()]
    } else {
        let mut v: Vec<String> =
            mine.iter()
                .map(|a| {
                    if a.kind == "department" {
                        format!("dept:{}", a.target_id)
                    } else {
                        format!("user:{}", a.target_id)
                    }
                })
                .collect();
        v.push("manager".into());
        v
    };
    SearchDoc {
        kind: DocKind::Material,
        id: m.id.to_string(),
        title: m.title.clone(),
        body,
        folder: m.folder_id.map(|f| f.to_string()),
        tags: doc_tags,
        visibility,
        updated_at: m.updated_at.timestamp_millis(),
    }
}

pub(crate) fn script_doc(s: &IndexedScript) -> SearchDoc {
    let visibility = if s.owner_key == "team" { "all".to_string() } else { format!("user:{}", s.owner_key) };
    SearchDoc {
        kind: DocKind::Script,
        id: s.id.to_string(),
        title: s.title.clone(),
        body: s.body.clone(),
        folder: Some(format!("script_group:{}", s.group_id)),
        tags: Vec::new(),
        visibility: vec![visibility],
        updated_at: s.updated_at.timestamp_millis(),
    }
}

impl App {
    /// Every material and script of the tenant as index documents (the rebuild).
    pub(crate) async fn content_docs(&self, tenant: TenantId) -> AppResult<Vec<SearchDoc>> {
        let rows = self.store.materials().all(tenant).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut docs = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(500) {
            let ids: Vec<Uuid> = chunk.iter().map(|r| r.id).collect();
            let tags = self.store.materials().tags_of(tenant, &ids).await?;
            let audience = self.store.materials().audience_of(tenant, &ids).await?;
            for r in chunk {
                let v = self.store.materials().version(tenant, MaterialId(r.id), r.version).await?;
                docs.push(material_doc(r, &v, &tags, &audience));
            }
        }
        drop(ids);
        docs.extend(self.store.scripts().for_index(tenant).await?.iter().map(script_doc));
        Ok(docs)
    }

    /// Writes changes to the tenant's index and commits. Never fails: a failure is logged and the index
    /// marked for a rebuild from the database.
    pub(crate) async fn apply_to_index(
        &self,
        tenant: TenantId,
        upserts: Vec<SearchDoc>,
        deletes: Vec<(DocKind, String)>,
    ) {
        let result = match self.archive_index(tenant).await {
            Ok(index) => tokio::task::spawn_blocking(move || {
                let write = index
                    .upsert(&upserts)
                    .and_then(|()| deletes.iter().try_for_each(|(k, id)| index.delete(*k, id)))
                    .and_then(|()| index.commit());
                if write.is_err() {
                    let _ = index.rollback();
                }
                write
            })
            .await
            .map_err(AppError::internal)
            .and_then(|r| r.map_err(AppError::internal)),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(tenant = %tenant.0, error = %e, "search index not updated; it will be rebuilt");
            self.search.mark_stale(tenant);
        }
    }

    /// Puts the material's current state into the index.
    pub(crate) async fn index_material(&self, tenant: TenantId, id: MaterialId) {
        let doc = async {
            let m = self.store.materials().get(tenant, id).await?;
            let v = self.store.materials().version(tenant, id, m.version).await?;
            let tags = self.store.materials().tags_of(tenant, &[m.id]).await?;
            let audience = self.store.materials().audience_of(tenant, &[m.id]).await?;
            AppResult::Ok(material_doc(&m, &v, &tags, &audience))
        }
        .await;
        match doc {
            Ok(doc) => self.apply_to_index(tenant, vec![doc], Vec::new()).await,
            Err(e) => {
                tracing::warn!(error = %e, "material not indexed; the index will be rebuilt");
                self.search.mark_stale(tenant);
            }
        }
    }

    pub(crate) async fn unindex(&self, tenant: TenantId, kind: DocKind, id: Uuid) {
        self.apply_to_index(tenant, Vec::new(), vec![(kind, id.to_string())]).await;
    }

    /// Puts scripts into the index (after a create, edit or import).
    pub(crate) async fn index_scripts(&self, tenant: TenantId, ids: &[Uuid]) {
        match self.store.scripts().for_index(tenant).await {
            Ok(all) => {
                let docs = all.iter().filter(|s| ids.contains(&s.id)).map(script_doc).collect();
                self.apply_to_index(tenant, docs, Vec::new()).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "scripts not indexed; the index will be rebuilt");
                self.search.mark_stale(tenant);
            }
        }
    }

    /// Searches the materials and scripts the actor may see: the best matches first, title and best
    /// passage with the words marked. Filters: material kind, folder, tag and (managers) visibility.
    pub async fn search_content(&self, actor: &Actor, s: &ContentSearch) -> AppResult<ContentResults> {
        let viewer = self.material_viewer(actor).await?;
        let mut visible = vec!["all".to_string(), format!("user:{}", actor.user.0)];
        match &viewer {
            Some(v) => visible.extend(v.departments.iter().map(|d| format!("dept:{d}"))),
            None => visible.push("manager".into()),
        }
        if let Some(only) = s.visible_to.as_deref().filter(|v| !v.is_empty()) {
            actor.require(Permission::ContentManage)?;
            visible = vec![only.to_string()];
        }
        let kinds = match s.doc.as_deref() {
            Some("material") => vec![DocKind::Material],
            Some("script") => vec![DocKind::Script],
            None | Some("") => vec![DocKind::Material, DocKind::Script],
            Some(_) => return Err(AppError::invalid("doc", "material_or_script")),
        };
        let mut tags = Vec::new();
        if let Some(k) = s.kind {
            tags.push(format!("k:{}", k.as_str()));
        }
        if let Some(t) = s.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            tags.push(format!("t:{t}"));
        }
        let query = SearchQuery {
            text: s.q.clone(),
            kinds,
            folder: s.folder_id.map(|f| f.0.to_string()),
            tags,
            visible_to: visible,
            limit: s.limit.unwrap_or(20).min(200),
            offset: s.offset.unwrap_or(0),
        };
        let index = self.archive_index(actor.tenant).await?;
        let found = tokio::task::spawn_blocking(move || index.search(&query))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)?;
        let hits = found
            .hits
            .into_iter()
            .filter_map(|h| {
                Some(ContentHit {
                    doc: h.kind.as_str().to_string(),
                    id: Uuid::try_parse(&h.id).ok()?,
                    score: h.score,
                    title_html: h.title_html,
                    snippet_html: h.snippet_html,
                })
            })
            .collect();
        Ok(ContentResults { total: found.total, hits })
    }

    /// A material list answered by the index (`q` given); the cursor is the number of hits skipped.
    pub(crate) async fn search_materials(
        &self,
        actor: &Actor,
        q: &MaterialQuery,
        limit: u32,
    ) -> AppResult<MaterialPage> {
        let offset: usize = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => c.parse().map_err(|_| AppError::invalid("cursor", "invalid_cursor"))?,
            None => 0,
        };
        let search = ContentSearch {
            q: q.q.clone().unwrap_or_default(),
            doc: Some("material".into()),
            kind: q.kind,
            folder_id: q.folder_id,
            tag: q.tag.clone(),
            visible_to: None,
            limit: Some(limit as usize),
            offset: Some(offset),
        };
        let found = self.search_content(actor, &search).await?;
        let mut items = Vec::new();
        for hit in &found.hits {
            // The index may lag a delete by a moment: a hit without its row is skipped.
            let row = match self.store.materials().get(actor.tenant, MaterialId(hit.id)).await {
                Ok(r) => r,
                Err(siyu_store::StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            if let Some(m) = self.assemble_materials(actor, vec![row]).await?.pop() {
                items.push(MaterialItem {
                    material: m,
                    title_html: Some(hit.title_html.clone()),
                    snippet_html: Some(hit.snippet_html.clone()),
                });
            }
        }
        let next = offset + found.hits.len();
        Ok(MaterialPage { items, next_cursor: (next < found.total).then(|| next.to_string()) })
    }
}
