//! Corp tags (企业标签): `get_corp_tag_list`, `add_corp_tag`, `edit_corp_tag`, `del_corp_tag`, `mark_tag`;
//! console-side hooks (create, rename, delete, shuffle) that push `change_external_tag`.

use serde_json::{Value, json};

use super::contacts::check_staff;
use super::push::EventXml;
use super::request::{ApiError, ApiResult, Ctx, reply, strings_in};
use super::state::Corp;
use super::{Delivery, FakeError, FakeHandle};

/// A tag group and its tags.
#[derive(Clone, Debug)]
pub(crate) struct TagGroup {
    pub id: String,
    pub name: String,
    pub create_time: i64,
    pub order: i64,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug)]
pub(crate) struct Tag {
    pub id: String,
    pub name: String,
    pub create_time: i64,
    pub order: i64,
}

/// What a console tag hook created.
#[derive(Clone, Debug)]
pub struct ConsoleTag {
    pub group_id: String,
    pub tag_id: String,
    pub delivery: Delivery,
}

/// `(group name, tag name)` of a live tag.
pub(crate) fn describe(corp: &Corp, tag_id: &str) -> Option<(String, String)> {
    corp.tag_groups
        .values()
        .find_map(|g| g.tags.iter().find(|t| t.id == tag_id).map(|t| (g.name.clone(), t.name.clone())))
}

fn group_key(corp: &Corp, group_id: &str) -> Option<u64> {
    corp.tag_groups.iter().find(|(_, g)| g.id == group_id).map(|(k, _)| *k)
}

fn group_json(g: &TagGroup, only: Option<&[String]>) -> Value {
    let mut tags: Vec<&Tag> = g.tags.iter().filter(|t| only.is_none_or(|ids| ids.contains(&t.id))).collect();
    tags.sort_by_key(|t| std::cmp::Reverse(t.order));
    let tags: Vec<Value> = tags
        .into_iter()
        .map(|t| json!({"id": t.id, "name": t.name, "create_time": t.create_time, "order": t.order, "deleted": false}))
        .collect();
    json!({"group_id": g.id, "group_name": g.name, "create_time": g.create_time, "order": g.order,
           "deleted": false, "tag": tags})
}

/// `get_corp_tag_list` `{tag_id, group_id}`: both empty = all; `group_id` wins; larger `order` first.
pub(crate) fn list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let tag_ids = ctx.strings("tag_id")?;
    let group_ids = ctx.strings("group_id")?;
    let mut groups: Vec<&TagGroup> = corp.tag_groups.values().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.order));
    let out: Vec<Value> = if !group_ids.is_empty() {
        groups.into_iter().filter(|g| group_ids.contains(&g.id)).map(|g| group_json(g, None)).collect()
    } else if !tag_ids.is_empty() {
        groups
            .into_iter()
            .filter(|g| g.tags.iter().any(|t| tag_ids.contains(&t.id)))
            .map(|g| group_json(g, Some(&tag_ids)))
            .collect()
    } else {
        groups.into_iter().map(|g| group_json(g, None)).collect()
    };
    reply(json!({ "tag_group": out }))
}

/// `add_corp_tag`: into `group_id`, or the group named `group_name` (created when new); 40071 on a name
/// already in the group.
pub(crate) fn add(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let specs = match ctx.body.get("tag") {
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        _ => return Err(ApiError::invalid("tag must list at least one tag")),
    };
    let mut names = Vec::new();
    for spec in &specs {
        let name = spec.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
        let name = name.ok_or_else(|| ApiError::invalid("a tag needs a name"))?;
        if names.iter().any(|(n, _)| n == name) {
            return Err(ApiError::code(40071));
        }
        names.push((name.to_owned(), spec.get("order").and_then(Value::as_i64).unwrap_or(0)));
    }
    let key = match (ctx.str("group_id"), ctx.str("group_name")) {
        (Some(id), _) => group_key(corp, id).ok_or(ApiError::code(40068))?,
        (None, Some(name)) => match corp.tag_groups.iter().find(|(_, g)| g.name == name) {
            Some((k, _)) => *k,
            None => {
                let (seq, id) = corp.new_id("et");
                let order = ctx.int("order").unwrap_or(0);
                let group = TagGroup { id, name: name.to_owned(), create_time: ctx.now(), order, tags: Vec::new() };
                corp.tag_groups.insert(seq, group);
                seq
            }
        },
        (None, None) => return Err(ApiError::invalid("group_id or group_name is required")),
    };
    let mut created = Vec::new();
    for (name, order) in names {
        let (_, id) = corp.new_id("et");
        created.push(Tag { id, name, create_time: ctx.now(), order });
    }
    let group = corp.tag_groups.get_mut(&key).ok_or(ApiError::code(40068))?;
    if created.iter().any(|t| group.tags.iter().any(|old| old.name == t.name)) {
        return Err(ApiError::code(40071));
    }
    group.tags.extend(created.iter().cloned());
    let ids: Vec<String> = created.into_iter().map(|t| t.id).collect();
    reply(json!({ "tag_group": group_json(group, Some(&ids)) }))
}

/// `edit_corp_tag` `{id, name?, order?}` on a tag or a group.
pub(crate) fn edit(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.require("id")?;
    let name = ctx.str("name");
    let order = ctx.int("order");
    if let Some(key) = group_key(corp, id) {
        if name.is_some_and(|name| corp.tag_groups.iter().any(|(k, g)| *k != key && g.name == name)) {
            return Err(ApiError::code(40071));
        }
        let group = corp.tag_groups.get_mut(&key).ok_or(ApiError::code(40068))?;
        group.name = name.map_or(group.name.clone(), str::to_owned);
        group.order = order.unwrap_or(group.order);
        return reply(json!({}));
    }
    let group =
        corp.tag_groups.values_mut().find(|g| g.tags.iter().any(|t| t.id == id)).ok_or(ApiError::code(40068))?;
    if name.is_some_and(|name| group.tags.iter().any(|t| t.id != id && t.name == name)) {
        return Err(ApiError::code(40071));
    }
    if let Some(tag) = group.tags.iter_mut().find(|t| t.id == id) {
        tag.name = name.map_or(tag.name.clone(), str::to_owned);
        tag.order = order.unwrap_or(tag.order);
    }
    reply(json!({}))
}

impl Corp {
    /// Deletes tags and groups (a group left empty goes too) and strips the tags from every relation.
    pub(crate) fn delete_tags(&mut self, tag_ids: &[String], group_ids: &[String]) -> Result<(), ApiError> {
        let known = |id: &String| describe(self, id).is_some();
        if !tag_ids.iter().all(known) || !group_ids.iter().all(|g| group_key(self, g).is_some()) {
            return Err(ApiError::code(40068));
        }
        let mut removed: Vec<String> = tag_ids.to_vec();
        for group in self.tag_groups.values().filter(|g| group_ids.contains(&g.id)) {
            removed.extend(group.tags.iter().map(|t| t.id.clone()));
        }
        self.tag_groups.retain(|_, g| !group_ids.contains(&g.id));
        for group in self.tag_groups.values_mut() {
            group.tags.retain(|t| !removed.contains(&t.id));
        }
        self.tag_groups.retain(|_, g| !g.tags.is_empty());
        for follow in self.follows.values_mut() {
            follow.tag_ids.retain(|t| !removed.contains(t));
        }
        Ok(())
    }
}

/// `del_corp_tag` `{tag_id, group_id}`.
pub(crate) fn delete(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let tag_ids = ctx.strings("tag_id")?;
    let group_ids = ctx.strings("group_id")?;
    if tag_ids.is_empty() && group_ids.is_empty() {
        return Err(ApiError::invalid("tag_id or group_id is required"));
    }
    corp.delete_tags(&tag_ids, &group_ids)?;
    reply(json!({}))
}

/// `mark_tag` `{userid, external_userid, add_tag, remove_tag}`.
pub(crate) fn mark(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let userid = ctx.require("userid")?;
    let external_userid = ctx.require("external_userid")?;
    let add = strings_in(ctx.body, "add_tag")?;
    let remove = strings_in(ctx.body, "remove_tag")?;
    check_staff(corp, userid)?;
    if !corp.customers.contains_key(external_userid) {
        return Err(ApiError::code(40096));
    }
    if add.is_empty() && remove.is_empty() {
        return Err(ApiError::invalid("add_tag or remove_tag is required"));
    }
    if !add.iter().chain(&remove).all(|t| describe(corp, t).is_some()) {
        return Err(ApiError::code(40068));
    }
    let follow = corp.follow_mut(external_userid, userid).ok_or(ApiError::code(84061))?;
    follow.tag_ids.retain(|t| !remove.contains(t));
    for tag in add {
        if !follow.tag_ids.contains(&tag) {
            follow.tag_ids.push(tag);
        }
    }
    reply(json!({}))
}

fn tag_event(corp: &Corp, now: i64, change: &str, id: &str, tag_type: &str) -> String {
    EventXml::new(&corp.setup.corp_id, now, "change_external_tag")
        .text("Id", id)
        .text("TagType", tag_type)
        .text("ChangeType", change)
        .finish()
}

/// Reverses the display order (larger `order` first, ties in creation order) by renumbering.
fn reverse_orders(mut orders: Vec<&mut i64>) {
    let mut shown: Vec<usize> = (0..orders.len()).collect();
    shown.sort_by_key(|&i| std::cmp::Reverse(*orders[i]));
    for (rank, i) in shown.into_iter().enumerate() {
        *orders[i] = i64::try_from(rank).unwrap_or(0) + 1;
    }
}

fn tag_type(corp: &Corp, id: &str) -> Result<&'static str, FakeError> {
    if group_key(corp, id).is_some() {
        Ok("tag_group")
    } else if describe(corp, id).is_some() {
        Ok("tag")
    } else {
        Err(FakeError::unknown("tag", id))
    }
}

impl FakeHandle {
    /// An admin creates `tag_name` in the group `group_name` (created when new) in the console: pushes
    /// `create` for the tag, or for the group when the group is new.
    pub async fn console_create_tag(
        &self,
        corp: &str,
        group_name: &str,
        tag_name: &str,
    ) -> Result<ConsoleTag, FakeError> {
        let (group_id, tag_id, xml) = self.with_corp(corp, |c, env| {
            let existing = c.tag_groups.iter().find(|(_, g)| g.name == group_name).map(|(k, _)| *k);
            let (key, is_new) = match existing {
                Some(k) => (k, false),
                None => {
                    let (seq, id) = c.new_id("et");
                    let group =
                        TagGroup { id, name: group_name.into(), create_time: env.now, order: 0, tags: Vec::new() };
                    c.tag_groups.insert(seq, group);
                    (seq, true)
                }
            };
            let (_, tag_id) = c.new_id("et");
            let group = c.tag_groups.get_mut(&key).ok_or_else(|| FakeError::unknown("tag group", group_name))?;
            if group.tags.iter().any(|t| t.name == tag_name) {
                return Err(FakeError::Invalid(format!("tag {tag_name} exists in {group_name}")));
            }
            group.tags.push(Tag { id: tag_id.clone(), name: tag_name.into(), create_time: env.now, order: 0 });
            let group_id = group.id.clone();
            let xml = if is_new {
                tag_event(c, env.now, "create", &group_id, "tag_group")
            } else {
                tag_event(c, env.now, "create", &tag_id, "tag")
            };
            Ok((group_id, tag_id, xml))
        })?;
        let delivery = self.deliver(corp, vec![xml]).await?;
        Ok(ConsoleTag { group_id, tag_id, delivery })
    }

    /// An admin renames a tag or group in the console: pushes `update`.
    pub async fn console_rename_tag(&self, corp: &str, id: &str, name: &str) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| {
            let kind = tag_type(c, id)?;
            for group in c.tag_groups.values_mut() {
                if group.id == id {
                    group.name = name.to_owned();
                }
                group.tags.iter_mut().filter(|t| t.id == id).for_each(|t| t.name = name.to_owned());
            }
            Ok(tag_event(c, env.now, "update", id, kind))
        })?;
        self.deliver(corp, vec![xml]).await
    }

    /// An admin deletes a tag or a whole group in the console: pushes one `delete` (one per group, not
    /// per tag).
    pub async fn console_delete_tag(&self, corp: &str, id: &str) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| {
            let kind = tag_type(c, id)?;
            let ids = [id.to_owned()];
            let (tags, groups): (&[String], &[String]) = if kind == "tag" { (&ids, &[]) } else { (&[], &ids) };
            c.delete_tags(tags, groups).map_err(|_| FakeError::unknown("tag", id))?;
            Ok(tag_event(c, env.now, "delete", id, kind))
        })?;
        self.deliver(corp, vec![xml]).await
    }

    /// An admin reorders the tags of `group_id` (or all groups, `None`) in the console: the orders are
    /// reversed and `shuffle` is pushed with `Id` = the group (empty for all).
    pub async fn console_shuffle_tags(&self, corp: &str, group_id: Option<&str>) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| {
            match group_id {
                Some(id) => {
                    let key = group_key(c, id).ok_or_else(|| FakeError::unknown("tag group", id))?;
                    if let Some(group) = c.tag_groups.get_mut(&key) {
                        reverse_orders(group.tags.iter_mut().map(|t| &mut t.order).collect());
                    }
                }
                None => reverse_orders(c.tag_groups.values_mut().map(|g| &mut g.order).collect()),
            }
            Ok(EventXml::new(&c.setup.corp_id, env.now, "change_external_tag")
                .text("Id", group_id.unwrap_or_default())
                .text("ChangeType", "shuffle")
                .finish())
        })?;
        self.deliver(corp, vec![xml]).await
    }
}
