//! Tag groups, tags, and tagging customers one at a time or in bulk (as a job).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, TagGroupId, TagId};
use siyu_domain::tag::{self, HeldTag, Tag, TagGroup, TagKind};
use siyu_domain::text;
use siyu_store::tags::{ChangeContext, TagChange};

mod bulk;

pub use bulk::{BulkTagRequest, BulkTarget, FilterSpec};

use crate::audit::AuditEvent;
use crate::customers::{TagRef, source_of};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A group with its tags and how many customers hold each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagGroupView {
    #[serde(flatten)]
    pub group: TagGroup,
    pub tags: Vec<TagView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagView {
    #[serde(flatten)]
    pub tag: Tag,
    pub customers: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTagGroup {
    pub name: String,
    #[serde(default)]
    pub exclusive: bool,
    /// `enterprise` (shared) or `personal` (owned by the creator).
    #[serde(default = "enterprise")]
    pub kind: TagKind,
    #[serde(default)]
    pub sort: i64,
    /// Tag names to create in the group right away.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// How a held tag shows to `actor`: enterprise tags to everyone, personal tags only to their owner.
pub(crate) fn tag_ref(actor: &Actor, tag: Tag, group: &TagGroup) -> Option<TagRef> {
    (group.kind == TagKind::Enterprise || group.owner_id == Some(actor.user)).then(|| TagRef {
        id: tag.id,
        name: tag.name,
        group: group.name.clone(),
    })
}

fn enterprise() -> TagKind {
    TagKind::Enterprise
}

impl App {
    pub async fn tag_groups(&self, actor: &Actor) -> AppResult<Vec<TagGroupView>> {
        actor.require(Permission::CustomersRead)?;
        let groups = self.store.tags().groups(actor.tenant).await?;
        let tags = self.store.tags().all_tags(actor.tenant).await?;
        let usage: HashMap<TagId, i64> = self.store.tags().usage(actor.tenant).await?.into_iter().collect();
        Ok(groups
            .into_iter()
            .filter(|g| tag::may_use(g, actor.user) || g.kind == TagKind::Enterprise)
            .map(|g| {
                let tags = tags
                    .iter()
                    .filter(|t| t.group_id == g.id)
                    .map(|t| TagView { customers: usage.get(&t.id).copied().unwrap_or(0), tag: t.clone() })
                    .collect();
                TagGroupView { group: g, tags }
            })
            .collect())
    }

    pub async fn create_tag_group(&self, actor: &Actor, input: NewTagGroup) -> AppResult<TagGroupView> {
        let needed = if input.kind == TagKind::Personal { Permission::CustomersWrite } else { Permission::TagsManage };
        actor.require(needed)?;
        let group = TagGroup {
            id: TagGroupId::new(),
            name: text::required("name", &input.name, 32)?,
            kind: input.kind,
            owner_id: (input.kind == TagKind::Personal).then_some(actor.user),
            exclusive: input.exclusive,
            sort: input.sort,
        };
        let mut names: Vec<String> = Vec::new();
        for n in &input.tags {
            let n = text::required("tags", n, 32)?;
            if names.contains(&n) {
                return Err(AppError::invalid("tags", "duplicate_tag_name"));
            }
            names.push(n);
        }
        let now = self.now();
        self.store.tags().insert_group(actor.tenant, &group, now).await?;
        let mut tags = Vec::new();
        for (i, name) in names.into_iter().enumerate() {
            let t = Tag { id: TagId::new(), group_id: group.id, name, sort: i as i64 };
            self.store.tags().insert_tag(actor.tenant, &t, now).await?;
            tags.push(TagView { tag: t, customers: 0 });
        }
        let ev = AuditEvent {
            action: "tag_group.create",
            object_type: "tag_group",
            object_id: Some(group.id.to_string()),
            detail: json!({"name": group.name}),
        };
        self.audit(actor, ev).await;
        Ok(TagGroupView { group, tags })
    }

    async fn group_for_change(&self, actor: &Actor, id: TagGroupId) -> AppResult<TagGroup> {
        let g = self.store.tags().group(actor.tenant, id).await?;
        match g.kind {
            TagKind::Enterprise => actor.require(Permission::TagsManage)?,
            TagKind::Personal if g.owner_id == Some(actor.user) => {}
            TagKind::Personal => return Err(AppError::NotFound),
        }
        Ok(g)
    }

    pub async fn update_tag_group(
        &self,
        actor: &Actor,
        id: TagGroupId,
        name: Option<&str>,
        exclusive: Option<bool>,
        sort: Option<i64>,
    ) -> AppResult<TagGroup> {
        let mut g = self.group_for_change(actor, id).await?;
        if let Some(n) = name {
            g.name = text::required("name", n, 32)?;
        }
        g.exclusive = exclusive.unwrap_or(g.exclusive);
        g.sort = sort.unwrap_or(g.sort);
        self.store.tags().update_group(actor.tenant, &g).await?;
        Ok(g)
    }

    pub async fn delete_tag_group(&self, actor: &Actor, id: TagGroupId) -> AppResult<()> {
        let g = self.group_for_change(actor, id).await?;
        self.store.tags().delete_group(actor.tenant, id).await?;
        let ev = AuditEvent {
            action: "tag_group.delete",
            object_type: "tag_group",
            object_id: Some(id.to_string()),
            detail: json!({"name": g.name}),
        };
        self.audit(actor, ev).await;
        Ok(())
    }

    pub async fn create_tag(&self, actor: &Actor, group: TagGroupId, name: &str, sort: Option<i64>) -> AppResult<Tag> {
        self.group_for_change(actor, group).await?;
        let t =
            Tag { id: TagId::new(), group_id: group, name: text::required("name", name, 32)?, sort: sort.unwrap_or(0) };
        self.store.tags().insert_tag(actor.tenant, &t, self.now()).await?;
        Ok(t)
    }

    pub async fn update_tag(&self, actor: &Actor, id: TagId, name: Option<&str>, sort: Option<i64>) -> AppResult<Tag> {
        let mut t = self.store.tags().tag(actor.tenant, id).await?;
        self.group_for_change(actor, t.group_id).await?;
        if let Some(n) = name {
            t.name = text::required("name", n, 32)?;
        }
        t.sort = sort.unwrap_or(t.sort);
        self.store.tags().update_tag(actor.tenant, &t).await?;
        Ok(t)
    }

    pub async fn delete_tag(&self, actor: &Actor, id: TagId) -> AppResult<()> {
        let t = self.store.tags().tag(actor.tenant, id).await?;
        self.group_for_change(actor, t.group_id).await?;
        self.store.tags().delete_tag(actor.tenant, id).await?;
        let ev = AuditEvent {
            action: "tag.delete",
            object_type: "tag",
            object_id: Some(id.to_string()),
            detail: json!({"name": t.name}),
        };
        self.audit(actor, ev).await;
        Ok(())
    }

    /// Tag names (with group names) held by each customer.
    pub async fn tag_refs(
        &self,
        actor: &Actor,
        customers: &[CustomerId],
    ) -> AppResult<HashMap<CustomerId, Vec<TagRef>>> {
        let mut out: HashMap<CustomerId, Vec<TagRef>> = HashMap::new();
        for (c, tag, g) in self.store.tags().held_with_groups(actor.tenant, customers).await? {
            if let Some(r) = tag_ref(actor, tag, &g) {
                out.entry(c).or_default().push(r);
            }
        }
        Ok(out)
    }

    async fn tag_catalog(&self, actor: &Actor) -> AppResult<(HashMap<TagGroupId, TagGroup>, HashMap<TagId, Tag>)> {
        let groups = self.store.tags().groups(actor.tenant).await?.into_iter().map(|g| (g.id, g)).collect();
        let tags = self.store.tags().all_tags(actor.tenant).await?.into_iter().map(|t| (t.id, t)).collect();
        Ok((groups, tags))
    }

    /// Validates tags an actor wants to add at creation (known, usable, one per exclusive group).
    pub async fn resolve_tag_adds(&self, actor: &Actor, ids: &[TagId]) -> AppResult<Vec<TagChange>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.refuse_rule_tags(actor.tenant, "tags", ids).await?;
        let (groups, tags) = self.tag_catalog(actor).await?;
        let mut out: Vec<TagChange> = Vec::new();
        let mut exclusive_seen = Vec::new();
        for id in ids {
            let t = tags.get(id).ok_or_else(|| AppError::invalid("tags", format!("unknown_tag {id}")))?;
            let g = groups.get(&t.group_id).ok_or_else(|| AppError::invalid("tags", "unknown_tag_group"))?;
            if !tag::may_use(g, actor.user) {
                return Err(AppError::invalid("tags", format!("unknown_tag {id}")));
            }
            if g.exclusive {
                if exclusive_seen.contains(&g.id) {
                    return Err(AppError::invalid("tags", format!("one_tag_per_exclusive_group ({})", g.name)));
                }
                exclusive_seen.push(g.id);
            }
            if !out.iter().any(|c| c.tag == *id) {
                out.push(TagChange { tag: *id, tag_name: t.name.clone(), add: true });
            }
        }
        Ok(out)
    }

    /// Adds and removes tags on one customer. Adding to an exclusive group removes the sibling.
    pub async fn tag_customer(
        &self,
        actor: &Actor,
        customer: CustomerId,
        add: &[TagId],
        remove: &[TagId],
    ) -> AppResult<Vec<TagChange>> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, customer).await?;
        let adds = self.resolve_tag_adds(actor, add).await?;
        let (groups, tags) = self.tag_catalog(actor).await?;
        for id in remove {
            let known = tags.get(id).and_then(|t| groups.get(&t.group_id)).is_some_and(|g| tag::may_use(g, actor.user));
            if !known {
                return Err(AppError::invalid("remove", format!("unknown_tag {id}")));
            }
        }
        self.refuse_rule_tags(actor.tenant, "remove", remove).await?;
        let changes = self.apply_tags(actor, customer, &adds, remove, &groups, &tags, "manual").await?;
        if !changes.is_empty() {
            self.after_customer_change(actor.tenant, customer).await;
        }
        Ok(changes)
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_tags(
        &self,
        actor: &Actor,
        customer: CustomerId,
        adds: &[TagChange],
        remove: &[TagId],
        groups: &HashMap<TagGroupId, TagGroup>,
        tags: &HashMap<TagId, Tag>,
        reason: &str,
    ) -> AppResult<Vec<TagChange>> {
        let held: Vec<HeldTag> = self
            .store
            .tags()
            .held(actor.tenant, &[customer])
            .await?
            .into_iter()
            .filter_map(|(_, t)| tags.get(&t).map(|tag| HeldTag { tag: t, group: tag.group_id }))
            .collect();
        let mut changes: Vec<TagChange> = Vec::new();
        for a in adds {
            let Some(t) = tags.get(&a.tag) else { continue };
            let exclusive = groups.get(&t.group_id).is_some_and(|g| g.exclusive);
            for displaced in tag::displaced_by(&held, a.tag, t.group_id, exclusive) {
                if let Some(d) = tags.get(&displaced) {
                    changes.push(TagChange { tag: displaced, tag_name: d.name.clone(), add: false });
                }
            }
            changes.push(a.clone());
        }
        for r in remove {
            if let Some(t) = tags.get(r)
                && !changes.iter().any(|c| c.tag == *r)
            {
                changes.push(TagChange { tag: *r, tag_name: t.name.clone(), add: false });
            }
        }
        let ctx = ChangeContext { actor: Some(actor.user), source: source_of(actor), reason, at: self.now() };
        let applied = self.store.tags().change(actor.tenant, customer, &changes, &ctx).await?;
        self.queue_tag_push(actor.tenant, customer, &applied).await;
        Ok(applied)
    }
}
