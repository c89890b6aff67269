//! Group tags (群标签), group SOP templates (群SOP) and a group's local settings: its kind and dates, its tags
//! and its template, changed together (`PATCH /api/v1/groups/{id}`). The runner and the calendar are in
//! `sop_runner.rs`.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{GroupId, GroupTagId, SopId};
use siyu_domain::wecom::sop::{self, GroupSop, GroupTag, SopStep};
use siyu_domain::wecom::{CustomerGroup, GroupKind};

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A template as it is created or replaced.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SopInput {
    pub name: String,
    /// `daily` or `flash`.
    pub kind: GroupKind,
    pub steps: Vec<SopStep>,
}

/// A template with how many live groups follow it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SopView {
    #[serde(flatten)]
    pub sop: GroupSop,
    pub groups: i64,
}

/// A group tag's name.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct GroupTagInput {
    pub name: String,
}

/// What a group's PATCH changes (each field only when given).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct GroupPatch {
    /// `daily` or `flash` (a flash-sale group closes 3 to 7 days after it opens).
    pub kind: Option<GroupKind>,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
    /// The group's tags, replacing the ones it has.
    pub tag_ids: Option<Vec<GroupTagId>>,
    /// The SOP template to follow (`null`: none).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<SopId>)]
    pub sop_id: Option<Option<SopId>>,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A group with its tags and its SOP template.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    #[serde(flatten)]
    pub group: CustomerGroup,
    pub tags: Vec<GroupTag>,
    pub sop_id: Option<SopId>,
}

fn tag_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 30 {
        return Err(AppError::invalid("name", "1 to 30 characters"));
    }
    Ok(name.to_owned())
}

impl App {
    pub async fn group_tags(&self, actor: &Actor) -> AppResult<Vec<GroupTag>> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.wecom().group_tags(actor.tenant).await?)
    }

    pub async fn create_group_tag(&self, actor: &Actor, input: &GroupTagInput) -> AppResult<GroupTag> {
        actor.require(Permission::CustomersWrite)?;
        let name = tag_name(&input.name)?;
        let id = self.store.wecom().insert_group_tag(actor.tenant, &name, self.now()).await?;
        Ok(self.store.wecom().group_tag(actor.tenant, id).await?)
    }

    pub async fn rename_group_tag(&self, actor: &Actor, id: GroupTagId, input: &GroupTagInput) -> AppResult<GroupTag> {
        actor.require(Permission::CustomersWrite)?;
        self.store.wecom().group_tag(actor.tenant, id).await?;
        self.store.wecom().rename_group_tag(actor.tenant, id, &tag_name(&input.name)?).await?;
        Ok(self.store.wecom().group_tag(actor.tenant, id).await?)
    }

    pub async fn delete_group_tag(&self, actor: &Actor, id: GroupTagId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        Ok(self.store.wecom().delete_group_tag(actor.tenant, id).await?)
    }

    /// A group the actor may see, with its tags and template.
    pub async fn group_view(&self, actor: &Actor, id: GroupId) -> AppResult<GroupView> {
        let group = self.customer_group(actor, id).await?.group;
        let tags = self.store.wecom().tags_of_groups(actor.tenant, &[id]).await?;
        let sop_id = self.store.wecom().group_sop(actor.tenant, id).await?.map(|s| s.0);
        let tags = tags.into_iter().map(|(_, id, name)| GroupTag { id, name, groups: 0 }).collect();
        Ok(GroupView { group, tags, sop_id })
    }

    /// Changes a group's kind and dates, tags and template; everything is checked before anything changes.
    pub async fn patch_group(&self, actor: &Actor, id: GroupId, patch: &GroupPatch) -> AppResult<GroupView> {
        actor.require(Permission::CustomersWrite)?;
        let group = self.customer_group(actor, id).await?.group;
        let wecom = self.store.wecom();
        if let Some(tags) = &patch.tag_ids {
            for t in tags {
                wecom
                    .group_tag(actor.tenant, *t)
                    .await
                    .map_err(|_| AppError::invalid("tag_ids", format!("unknown group tag {t}")))?;
            }
        }
        let kind = patch.kind.unwrap_or(group.kind);
        // The template the group will follow: the one given, else the one it has.
        let sop_id = match patch.sop_id {
            Some(s) => s,
            None => wecom.group_sop(actor.tenant, id).await?.map(|s| s.0),
        };
        if let Some(s) = sop_id {
            let sop = wecom.sop(actor.tenant, s).await.map_err(|_| AppError::invalid("sop_id", "unknown SOP"))?;
            if sop.kind != kind {
                return Err(AppError::invalid("sop_id", "the SOP is for the other kind of group"));
            }
        }
        if let Some(kind) = patch.kind {
            self.set_group_kind(actor, id, kind, patch.opens_on, patch.closes_on).await?;
        }
        if let Some(tags) = &patch.tag_ids {
            let unique: Vec<GroupTagId> = tags.iter().copied().collect::<HashSet<_>>().into_iter().collect();
            wecom.set_group_tags(actor.tenant, id, &unique).await?;
        }
        if let Some(sop) = patch.sop_id {
            wecom.set_group_sop(actor.tenant, id, sop, self.now()).await?;
        }
        self.group_view(actor, id).await
    }

    pub async fn group_sops(&self, actor: &Actor) -> AppResult<Vec<SopView>> {
        actor.require(Permission::CustomersRead)?;
        let all = self.store.wecom().sops(actor.tenant).await?;
        Ok(all.into_iter().map(|(sop, groups)| SopView { sop, groups }).collect())
    }

    pub async fn group_sop(&self, actor: &Actor, id: SopId) -> AppResult<GroupSop> {
        actor.require(Permission::CustomersRead)?;
        Ok(self.store.wecom().sop(actor.tenant, id).await?)
    }

    /// Checks a template; fills in the ids of new steps (steps of `before` keep theirs).
    fn checked_sop(&self, input: &SopInput, before: Option<&GroupSop>) -> AppResult<(String, Vec<SopStep>)> {
        sop::validate(&input.name, input.kind, &input.steps).map_err(|(f, m)| AppError::invalid(f, m))?;
        for (i, s) in input.steps.iter().enumerate() {
            super::live_codes::check_attachments(&s.attachments)
                .map_err(|e| AppError::invalid(format!("steps.{i}.attachments"), e.to_string()))?;
        }
        let known: HashSet<&str> = before.map(|b| b.steps.iter().map(|s| s.id.as_str()).collect()).unwrap_or_default();
        let mut seen = HashSet::new();
        let steps = input
            .steps
            .iter()
            .map(|s| {
                let mut s = s.clone();
                if !known.contains(s.id.as_str()) || !seen.insert(s.id.clone()) {
                    s.id = uuid::Uuid::now_v7().simple().to_string();
                }
                s.time = s.local_time().map(|t| t.format("%H:%M").to_string()).unwrap_or(s.time);
                if input.kind == GroupKind::Flash {
                    s.weekdays.clear();
                } else {
                    s.day = 0;
                    s.weekdays.sort_unstable();
                    s.weekdays.dedup();
                }
                s
            })
            .collect();
        Ok((input.name.trim().to_owned(), steps))
    }

    pub async fn create_group_sop(&self, actor: &Actor, input: &SopInput) -> AppResult<GroupSop> {
        actor.require(Permission::CustomersWrite)?;
        let (name, steps) = self.checked_sop(input, None)?;
        let now = self.now();
        let sop = GroupSop { id: SopId::new(), name, kind: input.kind, steps, created_at: now, updated_at: now };
        self.store.wecom().insert_sop(actor.tenant, &sop, Some(actor.user)).await?;
        Ok(sop)
    }

    /// Replaces a template. Its kind cannot change while groups follow it.
    pub async fn update_group_sop(&self, actor: &Actor, id: SopId, input: &SopInput) -> AppResult<GroupSop> {
        actor.require(Permission::CustomersWrite)?;
        let before = self.store.wecom().sop(actor.tenant, id).await?;
        let (name, steps) = self.checked_sop(input, Some(&before))?;
        let followers = self.store.wecom().sops(actor.tenant).await?.iter().find(|s| s.0.id == id).map_or(0, |s| s.1);
        if input.kind != before.kind && followers > 0 {
            return Err(AppError::invalid("kind", "groups follow this SOP: its kind cannot change"));
        }
        let sop = GroupSop { name, kind: input.kind, steps, updated_at: self.now(), ..before };
        self.store.wecom().update_sop(actor.tenant, &sop).await?;
        Ok(sop)
    }

    pub async fn delete_group_sop(&self, actor: &Actor, id: SopId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        Ok(self.store.wecom().delete_sop(actor.tenant, id).await?)
    }
}
