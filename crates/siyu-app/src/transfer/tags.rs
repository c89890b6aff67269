//! Tags named in files: finding them by name, creating missing ones, and importing a tag catalogue
//! (`标签组, 标签, 单选`).

use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::{TagGroupId, TagId, UserId};
use siyu_domain::tag::{self, Tag, TagGroup, TagKind};
use siyu_domain::text;

use super::mapping::normalise;
use super::rows::{RowError, TagName};
use super::table::Table;
use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::tags::NewTagGroup;
use crate::{Actor, App};

/// The enterprise group that receives tags a customer file names without a group.
pub const IMPORT_GROUP: &str = "导入标签";

/// The tags an actor may use, growing as an import creates missing ones. In a dry run nothing is
/// written, but "created" tags are remembered so later rows resolve exactly as in the real run.
pub(crate) struct TagCatalog {
    user: UserId,
    can_manage: bool,
    dry_run: bool,
    groups: Vec<TagGroup>,
    tags: Vec<Tag>,
    /// Tags segments drive (rule tags), with the segment's name: a file may not give them by hand.
    rule_tags: std::collections::HashMap<TagId, String>,
    /// `组:标签` of every tag created (or, in a dry run, that would be).
    pub created: Vec<String>,
    pub groups_created: usize,
}

impl TagCatalog {
    pub async fn load(app: &App, actor: &Actor, dry_run: bool) -> AppResult<Self> {
        let groups = app.store.tags().groups(actor.tenant).await?;
        let tags = app.store.tags().all_tags(actor.tenant).await?;
        Ok(Self {
            user: actor.user,
            can_manage: actor.can(Permission::TagsManage),
            dry_run,
            groups: groups.into_iter().filter(|g| tag::may_use(g, actor.user)).collect(),
            tags,
            rule_tags: app.rule_tags(actor.tenant).await?,
            created: Vec::new(),
            groups_created: 0,
        })
    }

    pub fn group_of(&self, tag: TagId) -> Option<&TagGroup> {
        let t = self.tags.iter().find(|t| t.id == tag)?;
        self.groups.iter().find(|g| g.id == t.group_id)
    }

    pub fn tag(&self, id: TagId) -> Option<&Tag> {
        self.tags.iter().find(|t| t.id == id)
    }

    /// A usable group by name, enterprise groups first.
    fn find_group(&self, name: &str) -> Option<&TagGroup> {
        let mut matching: Vec<&TagGroup> = self.groups.iter().filter(|g| g.name == name).collect();
        matching.sort_by_key(|g| g.kind != TagKind::Enterprise);
        matching.first().copied()
    }

    /// Finds the tag a file names, creating it (and its group) when missing.
    pub async fn resolve(&mut self, app: &App, actor: &Actor, t: &TagName) -> AppResult<TagId> {
        let id = self.find_or_create(app, actor, t).await?;
        match self.rule_tags.get(&id) {
            Some(segment) => {
                Err(AppError::invalid("tags", format!("rule_tag_is_automatic {} (segment “{segment}”)", t.name)))
            }
            None => Ok(id),
        }
    }

    async fn find_or_create(&mut self, app: &App, actor: &Actor, t: &TagName) -> AppResult<TagId> {
        let group = match &t.group {
            Some(g) => g.as_str(),
            None => {
                let ids: Vec<TagId> = self
                    .tags
                    .iter()
                    .filter(|x| x.name == t.name && self.groups.iter().any(|g| g.id == x.group_id))
                    .map(|x| x.id)
                    .collect();
                match ids.as_slice() {
                    [one] => return Ok(*one),
                    [] => IMPORT_GROUP,
                    _ => {
                        return Err(AppError::invalid("tags", format!("ambiguous_tag {} (write 组名:标签名)", t.name)));
                    }
                }
            }
        };
        let group_id = self.ensure_group(app, actor, group, false).await?;
        self.ensure_tag(app, actor, group_id, &t.name).await
    }

    /// A usable group named `name`, created as an enterprise group when missing.
    pub async fn ensure_group(
        &mut self,
        app: &App,
        actor: &Actor,
        name: &str,
        exclusive: bool,
    ) -> AppResult<TagGroupId> {
        let name = text::required("tag_group", name, 32)?;
        if let Some(g) = self.find_group(&name) {
            return Ok(g.id);
        }
        if !self.can_manage {
            return Err(AppError::invalid("tags", format!("unknown_tag_group {name} (no permission to create tags)")));
        }
        let group = if self.dry_run {
            TagGroup { id: TagGroupId::new(), name, kind: TagKind::Enterprise, owner_id: None, exclusive, sort: 0 }
        } else {
            let input = NewTagGroup { name, exclusive, kind: TagKind::Enterprise, sort: 0, tags: Vec::new() };
            app.create_tag_group(actor, input).await?.group
        };
        let id = group.id;
        self.groups.push(group);
        self.groups_created += 1;
        Ok(id)
    }

    /// The tag `name` in a group, created when missing.
    pub async fn ensure_tag(&mut self, app: &App, actor: &Actor, group: TagGroupId, name: &str) -> AppResult<TagId> {
        let name = text::required("tags", name, 32)?;
        if let Some(t) = self.tags.iter().find(|t| t.group_id == group && t.name == name) {
            return Ok(t.id);
        }
        let g = self.groups.iter().find(|g| g.id == group).ok_or(AppError::NotFound)?;
        let allowed = match g.kind {
            TagKind::Enterprise => self.can_manage,
            TagKind::Personal => g.owner_id == Some(self.user),
        };
        if !allowed {
            return Err(AppError::invalid(
                "tags",
                format!("unknown_tag {}:{name} (no permission to create tags)", g.name),
            ));
        }
        let label = format!("{}:{name}", g.name);
        let t = if self.dry_run {
            Tag { id: TagId::new(), group_id: group, name, sort: 0 }
        } else {
            app.create_tag(actor, group, &name, None).await?
        };
        let id = t.id;
        self.tags.push(t);
        self.created.push(label);
        Ok(id)
    }
}

/// What importing a tag catalogue did (or would do, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagImportReport {
    pub total_rows: usize,
    pub groups_created: usize,
    pub tags_created: usize,
    /// Tags that already existed.
    pub existing: usize,
    pub errors: Vec<RowError>,
}

const GROUP_HEADERS: &[&str] = &["标签组", "标签分组", "分组", "组", "组名", "group", "taggroup", "groupname"];
const TAG_HEADERS: &[&str] = &["标签", "标签名", "标签名称", "名称", "tag", "tagname", "tags", "name"];
const EXCLUSIVE_HEADERS: &[&str] = &["单选", "是否单选", "单选组", "互斥", "exclusive"];

fn yes(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "否" | "多选" | "no" | "n" | "false" | "0" => Some(false),
        "是" | "单选" | "互斥" | "yes" | "y" | "true" | "1" => Some(true),
        _ => None,
    }
}

impl App {
    /// Creates the groups and tags a file lists, one `标签组, 标签[, 单选]` per row (several tags in one cell
    /// may be separated by commas). Existing groups and tags are left as they are.
    pub async fn import_tags(&self, actor: &Actor, table: &Table, dry_run: bool) -> AppResult<TagImportReport> {
        actor.require(Permission::TagsManage)?;
        let find = |names: &[&str]| table.headers.iter().position(|h| names.contains(&normalise(h).as_str()));
        let (group_col, tag_col, excl_col) = match (find(GROUP_HEADERS), find(TAG_HEADERS)) {
            (Some(g), Some(t)) => (g, t, find(EXCLUSIVE_HEADERS)),
            _ => (0, 1, Some(2)),
        };
        let mut catalog = TagCatalog::load(self, actor, dry_run).await?;
        let mut report = TagImportReport { total_rows: table.rows.len(), ..Default::default() };
        for row in &table.rows {
            let err = |col: usize, e: AppError| RowError::new(row.line, Some(table.column_name(col)), &e);
            let group = Table::cell(row, group_col).trim();
            let exclusive = match excl_col.map(|c| (c, Table::cell(row, c))) {
                Some((c, v)) => match yes(v) {
                    Some(b) => b,
                    None => {
                        report.errors.push(err(c, AppError::invalid("exclusive", "expected_是_or_否")));
                        continue;
                    }
                },
                None => false,
            };
            let names: Vec<&str> = Table::cell(row, tag_col)
                .split([',', '，', '、', ';', '；'])
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect();
            // Validate everything before creating anything, so a row is applied whole or not at all.
            let checked =
                text::required("tag_group", group, 32).map_err(|e| (group_col, AppError::from(e))).and_then(|_| {
                    names
                        .iter()
                        .try_for_each(|n| text::required("tags", n, 32).map(drop))
                        .map_err(|e| (tag_col, e.into()))
                });
            if let Err((col, e)) = checked {
                report.errors.push(err(col, e));
                continue;
            }
            let outcome: AppResult<()> = async {
                let before = catalog.created.len();
                let g = catalog.ensure_group(self, actor, group, exclusive).await?;
                for n in &names {
                    catalog.ensure_tag(self, actor, g, n).await?;
                }
                report.existing += names.len() - (catalog.created.len() - before);
                Ok(())
            }
            .await;
            if let Err(e) = outcome {
                report.errors.push(err(tag_col, e));
            }
        }
        report.groups_created = catalog.groups_created;
        report.tags_created = catalog.created.len();
        if !dry_run {
            let detail = json!({"groups_created": report.groups_created, "tags_created": report.tags_created,
                "errors": report.errors.len()});
            let ev = AuditEvent { action: "tag.import", object_type: "tag", object_id: None, detail };
            self.audit(actor, ev).await;
        }
        Ok(report)
    }
}
