//! Customer groups (客户群): `groupchat/list`, `groupchat/get` (members with type, join time and scene,
//! state, name with `need_name=1`; a `member_version` that changes with every membership change); hooks
//! to create, join, leave and dismiss a group, pushing `change_external_chat`.

use serde_json::{Value, json};

use super::push::EventXml;
use super::request::{ApiError, ApiResult, Ctx, page, reply, strings_in};
use super::state::{Corp, Env};
use super::{Delivery, FakeError, FakeHandle};

#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub userid: String,
    /// 1 staff, 2 external.
    pub kind: u8,
    pub join_time: i64,
    /// 1 direct invite, 2 invite link, 3 QR code.
    pub join_scene: u8,
    pub invitor: Option<String>,
    pub state: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub chat_id: String,
    pub name: String,
    pub owner: String,
    pub create_time: i64,
    pub notice: String,
    pub members: Vec<Member>,
    pub admins: Vec<String>,
    pub member_version: String,
    /// 0 normal, 1 owner resigned, 2 inheriting, 3 inherited.
    pub status: u8,
    pub dismissed: bool,
}

/// What `create_group` made.
#[derive(Clone, Debug)]
pub struct CreatedGroup {
    pub chat_id: String,
    pub delivery: Delivery,
}

/// `groupchat/list` `{status_filter, owner_filter{userid_list}, cursor, limit ≤ 1000}`.
pub(crate) fn list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let status = ctx.int("status_filter").unwrap_or(0);
    let owners = match ctx.body.get("owner_filter") {
        Some(filter) => strings_in(filter, "userid_list")?,
        None => Vec::new(),
    };
    let limit = ctx.limit("limit", 1000, 1000);
    let rows = corp
        .groups
        .iter()
        .filter(|(_, g)| !g.dismissed && (status == 0 || i64::from(g.status) == status))
        .filter(|(_, g)| owners.is_empty() || owners.contains(&g.owner))
        .map(|(k, g)| (*k, json!({"chat_id": g.chat_id, "status": g.status})));
    let (items, next) = page(rows, ctx.cursor()?, limit);
    reply(json!({"group_chat_list": items, "next_cursor": next}))
}

/// `groupchat/get` `{chat_id, need_name}`.
pub(crate) fn get(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let chat_id = ctx.require("chat_id")?;
    let need_name = ctx.flag("need_name").unwrap_or(false);
    let group = corp.live_group(chat_id).ok_or(ApiError::code(ctx.env.config.chat_id_errcode))?;
    let members: Vec<Value> = group
        .members
        .iter()
        .map(|m| {
            let mut v = json!({"userid": m.userid, "type": m.kind, "join_time": m.join_time,
                               "join_scene": m.join_scene, "group_nickname": ""});
            if let Some(invitor) = &m.invitor {
                v["invitor"] = json!({ "userid": invitor });
            }
            if need_name {
                v["name"] = json!(corp.display_name(&m.userid));
            }
            if let Some(unionid) = corp.customers.get(&m.userid).and_then(|c| c.unionid.as_ref()) {
                v["unionid"] = json!(unionid);
            }
            if !m.state.is_empty() {
                v["state"] = json!(m.state);
            }
            v
        })
        .collect();
    let admins: Vec<Value> = group.admins.iter().map(|a| json!({ "userid": a })).collect();
    reply(json!({"group_chat": {"chat_id": group.chat_id, "name": group.name, "owner": group.owner,
                                "create_time": group.create_time, "notice": group.notice,
                                "member_list": members, "admin_list": admins,
                                "member_version": group.member_version}}))
}

impl Corp {
    pub(crate) fn live_group(&self, chat_id: &str) -> Option<&Group> {
        self.groups.values().find(|g| g.chat_id == chat_id && !g.dismissed)
    }

    pub(crate) fn live_group_mut(&mut self, chat_id: &str) -> Option<&mut Group> {
        self.groups.values_mut().find(|g| g.chat_id == chat_id && !g.dismissed)
    }

    fn display_name(&self, id: &str) -> String {
        match (self.staff.get(id), self.customers.get(id)) {
            (Some(s), _) => s.name.clone(),
            (None, Some(c)) => c.name.clone(),
            _ => String::new(),
        }
    }

    /// 1 for a member of staff, 2 for a customer.
    fn member_kind(&self, id: &str) -> Result<u8, FakeError> {
        if self.staff.contains_key(id) {
            Ok(1)
        } else if self.customers.contains_key(id) {
            Ok(2)
        } else {
            Err(FakeError::unknown("staff or customer", id))
        }
    }

    /// Adds `member` to the group and returns the `add_member` event.
    pub(crate) fn join_member(
        &mut self,
        env: Env<'_>,
        chat_id: &str,
        member: &str,
        join_scene: u8,
        state: &str,
    ) -> Result<String, FakeError> {
        let kind = self.member_kind(member)?;
        let (_, version) = self.new_hex();
        let corp_id = self.setup.corp_id.clone();
        let group = self.live_group_mut(chat_id).ok_or_else(|| FakeError::unknown("group", chat_id))?;
        if group.members.iter().any(|m| m.userid == member) {
            return Err(FakeError::Invalid(format!("{member} is already in {chat_id}")));
        }
        if group.members.len() >= env.config.group_size_cap {
            return Err(FakeError::Invalid(format!("{chat_id} is full")));
        }
        // A QR code (the group's own or a join way's) stops adding members at the scan cap.
        if join_scene == 3 && group.members.len() >= env.config.join_scan_cap {
            return Err(FakeError::Invalid(format!("{chat_id} takes no more members by QR code")));
        }
        let invitor = (join_scene != 3).then(|| group.owner.clone());
        let m = Member { userid: member.into(), kind, join_time: env.now, join_scene, invitor, state: state.into() };
        group.members.push(m);
        let last = std::mem::replace(&mut group.member_version, version);
        Ok(member_event(&corp_id, env.now, group, "add_member", &last, member)
            .number("JoinScene", i64::from(if join_scene == 3 { 3 } else { 0 }))
            .finish())
    }

    fn leave_member(&mut self, env: Env<'_>, chat_id: &str, member: &str, quit_scene: u8) -> Result<String, FakeError> {
        let (_, version) = self.new_hex();
        let corp_id = self.setup.corp_id.clone();
        let group = self.live_group_mut(chat_id).ok_or_else(|| FakeError::unknown("group", chat_id))?;
        let before = group.members.len();
        group.members.retain(|m| m.userid != member);
        if group.members.len() == before {
            return Err(FakeError::unknown("group member", member));
        }
        group.admins.retain(|a| a != member);
        let last = std::mem::replace(&mut group.member_version, version);
        Ok(member_event(&corp_id, env.now, group, "del_member", &last, member)
            .number("QuitScene", i64::from(quit_scene))
            .finish())
    }
}

fn member_event(corp_id: &str, now: i64, group: &Group, detail: &str, last: &str, member: &str) -> EventXml {
    EventXml::new(corp_id, now, "change_external_chat")
        .text("ChatId", &group.chat_id)
        .text("ChangeType", "update")
        .text("UpdateDetail", detail)
        .number("MemChangeCnt", 1)
        .items("MemChangeList", &[member.to_owned()])
        .text("LastMemVer", last)
        .text("CurMemVer", &group.member_version)
}

fn chat_event(corp_id: &str, now: i64, chat_id: &str, change: &str) -> String {
    EventXml::new(corp_id, now, "change_external_chat").text("ChatId", chat_id).text("ChangeType", change).finish()
}

impl FakeHandle {
    /// A member creates a group with `members` (staff userids or external_userids, invited directly):
    /// pushes `create`.
    pub async fn create_group(
        &self,
        corp: &str,
        owner: &str,
        name: &str,
        members: &[&str],
    ) -> Result<CreatedGroup, FakeError> {
        let (chat_id, xml) = self.with_corp(corp, |c, env| {
            match c.staff.get(owner) {
                Some(s) if s.status == 1 => {}
                _ => return Err(FakeError::unknown("active staff", owner)),
            }
            let mut list = vec![Member {
                userid: owner.into(),
                kind: 1,
                join_time: env.now,
                join_scene: 1,
                invitor: None,
                state: String::new(),
            }];
            for id in members.iter().filter(|m| **m != owner) {
                let kind = c.member_kind(id)?;
                let invitor = Some(owner.to_owned());
                list.push(Member {
                    userid: (*id).into(),
                    kind,
                    join_time: env.now,
                    join_scene: 1,
                    invitor,
                    state: String::new(),
                });
            }
            let (_, version) = c.new_hex();
            let (seq, chat_id) = c.new_id("wr");
            let group = Group {
                chat_id: chat_id.clone(),
                name: name.into(),
                owner: owner.into(),
                create_time: env.now,
                notice: String::new(),
                members: list,
                admins: Vec::new(),
                member_version: version,
                status: 0,
                dismissed: false,
            };
            c.groups.insert(seq, group);
            let xml = chat_event(&c.setup.corp_id, env.now, &chat_id, "create");
            Ok((chat_id, xml))
        })?;
        let delivery = self.deliver(corp, vec![xml]).await?;
        Ok(CreatedGroup { chat_id, delivery })
    }

    /// `member` joins (join_scene 1 direct invite, 2 link, 3 QR): pushes `update`/`add_member` with
    /// `LastMemVer`/`CurMemVer`.
    pub async fn join_group(
        &self,
        corp: &str,
        chat_id: &str,
        member: &str,
        join_scene: u8,
    ) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| c.join_member(env, chat_id, member, join_scene, ""))?;
        self.deliver(corp, vec![xml]).await
    }

    /// `member` leaves (quit_scene 0) or is removed (1): pushes `update`/`del_member`.
    pub async fn leave_group(
        &self,
        corp: &str,
        chat_id: &str,
        member: &str,
        quit_scene: u8,
    ) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| c.leave_member(env, chat_id, member, quit_scene))?;
        self.deliver(corp, vec![xml]).await
    }

    /// The owner dismisses the group: pushes `dismiss`; the chat id then answers the chat errcode.
    pub async fn dismiss_group(&self, corp: &str, chat_id: &str) -> Result<Delivery, FakeError> {
        let xml = self.with_corp(corp, |c, env| {
            let group = c.live_group_mut(chat_id).ok_or_else(|| FakeError::unknown("group", chat_id))?;
            group.dismissed = true;
            Ok(chat_event(&c.setup.corp_id, env.now, chat_id, "dismiss"))
        })?;
        self.deliver(corp, vec![xml]).await
    }

    /// Makes `userid` a group admin (no event).
    pub fn set_group_admin(&self, corp: &str, chat_id: &str, userid: &str) -> Result<(), FakeError> {
        self.with_corp(corp, |c, _| {
            let group = c.live_group_mut(chat_id).ok_or_else(|| FakeError::unknown("group", chat_id))?;
            if !group.admins.iter().any(|a| a == userid) {
                group.admins.push(userid.to_owned());
            }
            Ok(())
        })
    }
}
