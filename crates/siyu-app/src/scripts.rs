//! Quick-reply scripts (话术): the team's groups (kept by content managers, seen by everyone) and each
//! member's own; scripts with variables and attachments; a use renders the script for a customer and counts
//! it; CSV/XLSX import (good rows kept, each bad row reported) and export.

use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, ScriptGroupId, ScriptId};
use siyu_domain::script::{Script, ScriptGroup, ScriptInput, ScriptScope, render};
use siyu_store::scripts::{GroupRow, ScriptRow};

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::transfer::{ExportFormat, RowError, Table};
use crate::{Actor, App};

const TEAM: &str = "team";
/// The columns of an import or export file.
pub const COLUMNS: [&str; 4] = ["分组", "标题", "内容", "附件"];

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GroupInput {
    pub name: String,
    pub scope: ScriptScope,
}

/// A script ready to send: variables filled, attachments as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RenderedScript {
    pub text: String,
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ScriptImport {
    pub groups_created: usize,
    pub scripts_created: usize,
    pub errors: Vec<RowError>,
}

fn scope_of(row: &GroupRow) -> ScriptScope {
    if row.owner_key == TEAM { ScriptScope::Team } else { ScriptScope::Personal }
}

fn script_of(r: ScriptRow) -> Script {
    Script {
        id: ScriptId(r.id),
        group_id: ScriptGroupId(r.group_id),
        title: r.title,
        body: r.body,
        attachments: serde_json::from_str(&r.attachments).unwrap_or_default(),
        position: r.position,
        uses: r.uses,
        last_used_at: r.last_used_at,
        updated_at: r.updated_at,
    }
}

fn group_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 30 {
        return Err(AppError::invalid("name", "length"));
    }
    Ok(name.to_string())
}

impl App {
    fn owner_key(actor: &Actor, scope: ScriptScope) -> String {
        match scope {
            ScriptScope::Team => TEAM.to_string(),
            ScriptScope::Personal => actor.user.0.to_string(),
        }
    }

    /// A group the actor may see: the team's or their own (another member's is not found).
    async fn visible_group(&self, actor: &Actor, id: ScriptGroupId) -> AppResult<GroupRow> {
        actor.require(Permission::CustomersRead)?;
        let row = self.store.scripts().group(actor.tenant, id).await?;
        if row.owner_key != TEAM && row.owner_key != actor.user.0.to_string() {
            return Err(AppError::NotFound);
        }
        Ok(row)
    }

    /// A group the actor may change: their own, or the team's with `content_manage`.
    async fn editable_group(&self, actor: &Actor, id: ScriptGroupId) -> AppResult<GroupRow> {
        let row = self.visible_group(actor, id).await?;
        if row.owner_key == TEAM {
            actor.require(Permission::ContentManage)?;
        }
        Ok(row)
    }

    /// The team's groups, then the actor's own, each with its scripts in order.
    pub async fn script_groups(&self, actor: &Actor) -> AppResult<Vec<ScriptGroup>> {
        actor.require(Permission::CustomersRead)?;
        let owners = [TEAM.to_string(), actor.user.0.to_string()];
        let mut out = Vec::new();
        for g in self.store.scripts().groups(actor.tenant, &owners).await? {
            let scripts = self.store.scripts().scripts_of(actor.tenant, ScriptGroupId(g.id)).await?;
            out.push(ScriptGroup {
                id: ScriptGroupId(g.id),
                scope: scope_of(&g),
                name: g.name,
                position: g.position,
                scripts: scripts.into_iter().map(script_of).collect(),
            });
        }
        Ok(out)
    }

    pub async fn create_script_group(&self, actor: &Actor, input: &GroupInput) -> AppResult<ScriptGroupId> {
        actor.require(Permission::CustomersRead)?;
        if input.scope == ScriptScope::Team {
            actor.require(Permission::ContentManage)?;
        }
        let name = group_name(&input.name)?;
        let id = ScriptGroupId::new();
        match self
            .store
            .scripts()
            .insert_group(actor.tenant, id, &Self::owner_key(actor, input.scope), &name, self.now())
            .await
        {
            Err(e) if e.is_conflict_on("name") => {
                return Err(AppError::Conflict("a group with this name exists".into()));
            }
            other => other?,
        }
        Ok(id)
    }

    pub async fn rename_script_group(&self, actor: &Actor, id: ScriptGroupId, name: &str) -> AppResult<()> {
        self.editable_group(actor, id).await?;
        match self.store.scripts().rename_group(actor.tenant, id, &group_name(name)?, self.now()).await {
            Err(e) if e.is_conflict_on("name") => Err(AppError::Conflict("a group with this name exists".into())),
            other => Ok(other?),
        }
    }

    pub async fn delete_script_group(&self, actor: &Actor, id: ScriptGroupId) -> AppResult<()> {
        let g = self.editable_group(actor, id).await?;
        let gone = self.store.scripts().scripts_of(actor.tenant, id).await?;
        self.store.scripts().delete_group(actor.tenant, id).await?;
        let gone = gone.iter().map(|s| (siyu_search::DocKind::Script, s.id.to_string())).collect();
        self.apply_to_index(actor.tenant, Vec::new(), gone).await;
        self.audit(
            actor,
            AuditEvent {
                action: "script_group.delete",
                object_type: "script_group",
                object_id: Some(id.to_string()),
                detail: json!({"name": g.name}),
            },
        )
        .await;
        Ok(())
    }

    pub async fn create_script(&self, actor: &Actor, group: ScriptGroupId, input: ScriptInput) -> AppResult<Script> {
        self.editable_group(actor, group).await?;
        let s = input.check()?;
        let id = ScriptId::new();
        let attachments = serde_json::to_string(&s.attachments).map_err(AppError::internal)?;
        self.store
            .scripts()
            .insert_script(actor.tenant, id, group, &s.title, &s.body, &attachments, Some(actor.user.0), self.now())
            .await?;
        self.index_scripts(actor.tenant, &[id.0]).await;
        Ok(script_of(self.store.scripts().script(actor.tenant, id).await?))
    }

    /// A script of a group the actor may see.
    pub async fn get_script(&self, actor: &Actor, id: ScriptId) -> AppResult<Script> {
        actor.require(Permission::CustomersRead)?;
        let row = self.store.scripts().script(actor.tenant, id).await?;
        self.visible_group(actor, ScriptGroupId(row.group_id)).await?;
        Ok(script_of(row))
    }

    pub async fn update_script(&self, actor: &Actor, id: ScriptId, input: ScriptInput) -> AppResult<Script> {
        let old = self.get_script(actor, id).await?;
        self.editable_group(actor, old.group_id).await?;
        let s = input.check()?;
        let attachments = serde_json::to_string(&s.attachments).map_err(AppError::internal)?;
        self.store.scripts().update_script(actor.tenant, id, &s.title, &s.body, &attachments, self.now()).await?;
        self.index_scripts(actor.tenant, &[id.0]).await;
        self.get_script(actor, id).await
    }

    pub async fn delete_script(&self, actor: &Actor, id: ScriptId) -> AppResult<()> {
        let old = self.get_script(actor, id).await?;
        self.editable_group(actor, old.group_id).await?;
        self.store.scripts().delete_script(actor.tenant, id).await?;
        self.unindex(actor.tenant, siyu_search::DocKind::Script, id.0).await;
        Ok(())
    }

    /// Renders a script for a customer (their name as the nickname) and counts the use.
    pub async fn use_script(
        &self,
        actor: &Actor,
        id: ScriptId,
        customer: Option<CustomerId>,
    ) -> AppResult<RenderedScript> {
        let s = self.get_script(actor, id).await?;
        let nickname = match customer {
            Some(c) => self.get_customer(actor, c).await?.customer.name,
            None => String::new(),
        };
        self.store.scripts().record_use(actor.tenant, id, self.now()).await?;
        Ok(RenderedScript { text: render(&s.body, &nickname, &actor.name), attachments: s.attachments })
    }

    /// Imports scripts from a CSV or XLSX file with the columns 分组, 标题, 内容 and optionally 附件 (JSON);
    /// groups are found by name in `scope` or made. Good rows are kept; each bad row is reported.
    pub async fn import_scripts(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
        scope: ScriptScope,
    ) -> AppResult<ScriptImport> {
        actor.require(Permission::CustomersRead)?;
        if scope == ScriptScope::Team {
            actor.require(Permission::ContentManage)?;
        }
        let table = Table::read(file_name, bytes)?;
        let col = |name: &str| table.headers.iter().position(|h| h.trim() == name);
        let (Some(g), Some(t), Some(b)) = (col(COLUMNS[0]), col(COLUMNS[1]), col(COLUMNS[2])) else {
            return Err(AppError::invalid("file", "columns 分组, 标题, 内容 are required"));
        };
        let a = col(COLUMNS[3]);
        let owner = Self::owner_key(actor, scope);
        let mut out = ScriptImport::default();
        let mut created = Vec::new();
        for row in &table.rows {
            let result: AppResult<bool> = async {
                let name = group_name(Table::cell(row, g)).map_err(|_| AppError::invalid("分组", "length"))?;
                let attachments = match a.map(|a| Table::cell(row, a).trim()).filter(|s| !s.is_empty()) {
                    Some(json) => {
                        serde_json::from_str(json).map_err(|_| AppError::invalid("附件", "not a JSON array"))?
                    }
                    None => Vec::new(),
                };
                let input =
                    ScriptInput { title: Table::cell(row, t).into(), body: Table::cell(row, b).into(), attachments }
                        .check()?;
                let (group, made) = match self.store.scripts().group_named(actor.tenant, &owner, &name).await? {
                    Some(existing) => (ScriptGroupId(existing.id), false),
                    None => {
                        let id = ScriptGroupId::new();
                        self.store.scripts().insert_group(actor.tenant, id, &owner, &name, self.now()).await?;
                        (id, true)
                    }
                };
                let json = serde_json::to_string(&input.attachments).map_err(AppError::internal)?;
                let id = ScriptId::new();
                created.push(id.0);
                self.store
                    .scripts()
                    .insert_script(
                        actor.tenant,
                        id,
                        group,
                        &input.title,
                        &input.body,
                        &json,
                        Some(actor.user.0),
                        self.now(),
                    )
                    .await?;
                Ok(made)
            }
            .await;
            match result {
                Ok(made) => {
                    out.scripts_created += 1;
                    out.groups_created += usize::from(made);
                }
                Err(e) => out.errors.push(RowError::new(row.line, None, &e)),
            }
        }
        self.index_scripts(actor.tenant, &created).await;
        self.audit(
            actor,
            AuditEvent {
                action: "scripts.import",
                object_type: "script_group",
                object_id: None,
                detail: json!({"created": out.scripts_created, "errors": out.errors.len()}),
            },
        )
        .await;
        Ok(out)
    }

    /// Every script the actor sees as a CSV (UTF-8 with BOM) or XLSX file.
    pub async fn export_scripts(&self, actor: &Actor, format: ExportFormat) -> AppResult<Vec<u8>> {
        let groups = self.script_groups(actor).await?;
        let mut rows: Vec<[String; 5]> = Vec::new();
        for g in &groups {
            for s in &g.scripts {
                let attachments = if s.attachments.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&s.attachments).map_err(AppError::internal)?
                };
                rows.push([g.name.clone(), s.title.clone(), s.body.clone(), attachments, s.uses.to_string()]);
            }
        }
        let headers = [COLUMNS[0], COLUMNS[1], COLUMNS[2], COLUMNS[3], "使用次数"];
        match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
                w.write_record(headers).map_err(AppError::internal)?;
                for r in &rows {
                    w.write_record(r).map_err(AppError::internal)?;
                }
                w.into_inner().map_err(|e| AppError::internal(e.into_error()))
            }
            ExportFormat::Xlsx => {
                let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::internal(e);
                let mut book = rust_xlsxwriter::Workbook::new();
                let ws = book.add_worksheet();
                for (c, h) in headers.iter().enumerate() {
                    ws.write_string(0, c as u16, *h).map_err(xlsx)?;
                }
                for (i, r) in rows.iter().enumerate() {
                    for (c, v) in r.iter().enumerate() {
                        ws.write_string(i as u32 + 1, c as u16, v).map_err(xlsx)?;
                    }
                }
                book.save_to_buffer().map_err(xlsx)
            }
        }
    }
}
