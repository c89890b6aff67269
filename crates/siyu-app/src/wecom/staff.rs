//! Staff, departments and corp tags from WeCom.
//!
//! Each WeCom staff member is a siyu member (role `staff`, data scope `self`) in the department WeCom puts them
//! in, so follows, tasks and data scopes work the same for synced and hand-made staff. Their account cannot
//! log in with a password until an admin sets one (`wecom.<corp>.<userid>`). Corp tag groups and tags become
//! siyu enterprise tag groups and tags, linked by WeCom id so renames and deletions follow.

use std::collections::{HashMap, HashSet};

use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::{DepartmentId, TagGroupId, TagId, TenantId, UserId};
use siyu_domain::tag::{Tag, TagGroup, TagKind};
use siyu_domain::tenancy::{Account, Department, Member};
use siyu_store::wecom::{DepartmentLink, StaffSync, TagLink};
use siyu_wecom::api::User;

use super::{CorpHandle, wecom_error};
use crate::App;
use crate::error::{AppError, AppResult};

/// A password hash no password matches: synced staff log in only after an admin sets a password.
const NO_PASSWORD: &str = "!wecom";

impl App {
    /// Departments from WeCom, each mapped to a siyu department (created on first sight, renamed after).
    pub(crate) async fn sync_departments(&self, tenant: TenantId, handle: &CorpHandle) -> AppResult<usize> {
        let depts = handle.client.department_list(&handle.contact, None).await.map_err(wecom_error)?;
        let known: HashMap<i64, DepartmentLink> =
            self.store.wecom().departments(tenant, handle.corp).await?.into_iter().map(|d| (d.dept_id, d)).collect();
        let mut ids: HashMap<i64, DepartmentId> = known.iter().map(|(k, v)| (*k, v.department)).collect();
        for d in &depts {
            ids.entry(d.id).or_default();
        }
        // Parents first, so a department's parent exists when it is written.
        let mut ordered = depts.clone();
        ordered.sort_by_key(|d| (d.parentid != 0, d.parentid, d.id));
        for d in &ordered {
            let id = ids[&d.id];
            let parent = ids.get(&d.parentid).copied().filter(|p| *p != id);
            let dept = Department { id, parent_id: parent, name: d.name.clone(), created_at: self.now() };
            if known.contains_key(&d.id) {
                self.store.departments().update(tenant, &dept).await?;
            } else {
                self.store.departments().insert(tenant, &dept).await?;
            }
            self.token_cache.clear();
            let link = DepartmentLink {
                dept_id: d.id,
                department: id,
                parent_dept_id: (d.parentid != 0).then_some(d.parentid),
                name: d.name.clone(),
            };
            self.store.wecom().upsert_department(tenant, handle.corp, &link, self.now()).await?;
        }
        Ok(depts.len())
    }

    /// All staff from WeCom (from the root department down), with who may have customers.
    pub(crate) async fn sync_staff(&self, tenant: TenantId, handle: &CorpHandle) -> AppResult<usize> {
        let users = handle.client.user_list(&handle.contact, 1, true).await.map_err(wecom_error)?;
        let contact: HashSet<String> =
            handle.client.follow_user_list(&handle.contact).await.map_err(wecom_error)?.into_iter().collect();
        let depts: HashMap<i64, DepartmentId> = self
            .store
            .wecom()
            .departments(tenant, handle.corp)
            .await?
            .into_iter()
            .map(|d| (d.dept_id, d.department))
            .collect();
        for u in &users {
            self.upsert_staff(tenant, handle, &depts, u, contact.contains(&u.userid)).await?;
        }
        Ok(users.len())
    }

    /// One staff member: their siyu account and membership made on first sight, kept in step after
    /// (`depts`: WeCom department id → siyu department).
    async fn upsert_staff(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        depts: &HashMap<i64, DepartmentId>,
        u: &User,
        contact_enabled: bool,
    ) -> AppResult<UserId> {
        let main = if u.main_department != 0 { Some(u.main_department) } else { u.department.first().copied() };
        let department = main.and_then(|d| depts.get(&d).copied());
        let name = if u.name.trim().is_empty() { u.userid.clone() } else { u.name.clone() };
        let active = u.status == 1;
        let user = match self.store.wecom().staff_by_userid(tenant, handle.corp, &u.userid).await? {
            Some(s) => {
                let mut member = self.store.members().get(tenant, s.user_id).await?;
                if member.display_name != name {
                    self.store.accounts().set_display_name(s.user_id, &name).await?;
                }
                member.department_id = department.or(member.department_id);
                member.active = active;
                self.store.members().update(&member).await?;
                self.token_cache.clear();
                s.user_id
            }
            None => {
                let account = Account {
                    id: UserId::new(),
                    username: format!("wecom.{}.{}", handle.corp_id, u.userid).to_lowercase(),
                    display_name: name.clone(),
                    platform_admin: false,
                    locale: "zh-CN".into(),
                    active: true,
                    created_at: self.now(),
                };
                let existing = self.store.accounts().by_username(&account.username).await?;
                // A callback and a sync may meet the same new staff member at once: whoever inserts second
                // takes what the first made.
                let id = match existing {
                    Some((a, _)) => a.id,
                    None => match self.store.accounts().insert(&account, NO_PASSWORD).await {
                        Ok(()) => account.id,
                        Err(e) if e.is_conflict_on("username") => {
                            let made = self.store.accounts().by_username(&account.username).await?;
                            made.map(|(a, _)| a.id).ok_or(AppError::NotFound)?
                        }
                        Err(e) => return Err(e.into()),
                    },
                };
                if self.store.members().get(tenant, id).await.is_err() {
                    let member = Member {
                        tenant_id: tenant,
                        user_id: id,
                        username: account.username.clone(),
                        display_name: name.clone(),
                        role: Role::Staff,
                        scope: DataScope::SelfOnly,
                        department_id: department,
                        active,
                        created_at: self.now(),
                    };
                    match self.store.members().insert(&member).await {
                        Err(e) if !e.is_conflict_on("members") => return Err(e.into()),
                        _ => {}
                    }
                    self.token_cache.clear();
                }
                id
            }
        };
        let sync = StaffSync {
            userid: u.userid.clone(),
            user_id: user,
            name,
            departments: u.department.clone(),
            main_department: main,
            position: (!u.position.is_empty()).then(|| u.position.clone()),
            status: u.status,
            contact_enabled,
            at: self.now(),
        };
        self.store.wecom().upsert_staff(tenant, handle.corp, &sync).await?;
        Ok(user)
    }

    /// A staff member by userid, syncing the staff first when the last sync did not know them (added since).
    pub(crate) async fn known_staff(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        userid: &str,
    ) -> AppResult<Option<siyu_domain::wecom::WecomStaff>> {
        if let Some(s) = self.store.wecom().staff_by_userid(tenant, handle.corp, userid).await? {
            return Ok(Some(s));
        }
        self.sync_staff(tenant, handle).await?;
        Ok(self.store.wecom().staff_by_userid(tenant, handle.corp, userid).await?)
    }

    /// userid → siyu member of a corp's staff.
    pub(crate) async fn staff_users(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
    ) -> AppResult<HashMap<String, UserId>> {
        let staff = self.store.wecom().staff(tenant, handle.corp).await?;
        Ok(staff.into_iter().map(|s| (s.userid, s.user_id)).collect())
    }

    /// Corp tag groups and tags from WeCom as siyu enterprise tags; returns how many tags.
    pub(crate) async fn sync_corp_tags(&self, tenant: TenantId, handle: &CorpHandle) -> AppResult<usize> {
        let groups = handle.client.corp_tag_list(&handle.contact, &[], &[]).await.map_err(wecom_error)?;
        let links: HashMap<String, TagLink> = self
            .store
            .wecom()
            .tag_links(tenant, handle.corp)
            .await?
            .into_iter()
            .map(|l| (l.wecom_id.clone(), l))
            .collect();
        let tags = self.store.tags();
        let now = self.now();
        let mut seen: HashSet<String> = HashSet::new();
        let mut count = 0;
        for g in groups.iter().filter(|g| !g.deleted) {
            seen.insert(g.group_id.clone());
            let group = TagGroup {
                id: links.get(&g.group_id).map(|l| TagGroupId(l.local_id)).unwrap_or_default(),
                name: g.group_name.clone(),
                kind: TagKind::Enterprise,
                owner_id: None,
                exclusive: false,
                sort: g.order,
            };
            if links.contains_key(&g.group_id) && tags.group(tenant, group.id).await.is_ok() {
                tags.update_group(tenant, &group).await?;
            } else {
                tags.insert_group(tenant, &group, now).await?;
            }
            let link = TagLink { wecom_id: g.group_id.clone(), kind: "group".into(), local_id: group.id.0 };
            self.store.wecom().link_tag(tenant, handle.corp, &link, now).await?;
            for t in g.tag.iter().filter(|t| !t.deleted) {
                seen.insert(t.id.clone());
                count += 1;
                let tag = Tag {
                    id: links.get(&t.id).map(|l| TagId(l.local_id)).unwrap_or_default(),
                    group_id: group.id,
                    name: t.name.clone(),
                    sort: t.order,
                };
                if links.contains_key(&t.id) && tags.tag(tenant, tag.id).await.is_ok() {
                    tags.update_tag(tenant, &tag).await?;
                } else {
                    tags.insert_tag(tenant, &tag, now).await?;
                }
                let link = TagLink { wecom_id: t.id.clone(), kind: "tag".into(), local_id: tag.id.0 };
                self.store.wecom().link_tag(tenant, handle.corp, &link, now).await?;
            }
        }
        // Deleted in WeCom: deleted here too (tags before their groups).
        let mut gone: Vec<&TagLink> = links.values().filter(|l| !seen.contains(&l.wecom_id)).collect();
        gone.sort_by_key(|l| l.kind != "tag");
        for l in gone {
            self.store.wecom().unlink_tag(tenant, handle.corp, &l.wecom_id).await?;
            let _ = if l.kind == "tag" {
                tags.delete_tag(tenant, TagId(l.local_id)).await
            } else {
                tags.delete_group(tenant, TagGroupId(l.local_id)).await
            };
        }
        Ok(count)
    }

    /// WeCom tag id → (siyu tag, name).
    pub(crate) async fn tag_link_map(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
    ) -> AppResult<HashMap<String, (TagId, String)>> {
        let names: HashMap<TagId, String> =
            self.store.tags().all_tags(tenant).await?.into_iter().map(|t| (t.id, t.name)).collect();
        let links = self.store.wecom().tag_links(tenant, handle.corp).await?;
        Ok(links
            .into_iter()
            .filter(|l| l.kind == "tag")
            .filter_map(|l| {
                let id = TagId(l.local_id);
                names.get(&id).map(|n| (l.wecom_id, (id, n.clone())))
            })
            .collect())
    }
}
