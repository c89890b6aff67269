//! The address book (通讯录): departments and staff, `department/list`, `user/list`, `user/list_id`,
//! `get_follow_user_list` and the behaviour statistics; hooks to seed staff and to let a member leave.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::clock::day_start;
use super::push::EventXml;
use super::request::{ApiError, ApiResult, Ctx, page, reply};
use super::state::{Corp, Department, Staff};
use super::transfers::Unassigned;
use super::{Delivery, FakeError, FakeHandle};

fn department_json(d: &Department) -> Value {
    json!({"id": d.id, "name": d.name, "name_en": "", "department_leader": [], "parentid": d.parentid,
           "order": d.order})
}

/// `GET department/list?id=`: the department and everything below it (all without `id`).
pub(crate) fn department_list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let ids: Vec<u64> = match ctx.int("id") {
        None => corp.departments.keys().copied().collect(),
        Some(id) => {
            let id = u64::try_from(id).map_err(|_| ApiError::code(60123))?;
            if !corp.departments.contains_key(&id) {
                return Err(ApiError::code(60123));
            }
            corp.subtree(id)
        }
    };
    let list: Vec<Value> = ids.iter().filter_map(|id| corp.departments.get(id)).map(department_json).collect();
    reply(json!({ "department": list }))
}

fn user_json(s: &Staff) -> Value {
    json!({"userid": s.userid, "name": s.name, "department": s.departments,
           "main_department": s.departments.first().copied().unwrap_or(1), "status": s.status,
           "order": vec![0; s.departments.len()], "position": ""})
}

/// `GET user/list?department_id=&fetch_child=`.
pub(crate) fn user_list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.int("department_id").and_then(|n| u64::try_from(n).ok()).ok_or(ApiError::code(60123))?;
    if !corp.departments.contains_key(&id) {
        return Err(ApiError::code(60123));
    }
    let scope: BTreeSet<u64> =
        if ctx.flag("fetch_child").unwrap_or(false) { corp.subtree(id).into_iter().collect() } else { [id].into() };
    let mut staff: Vec<&Staff> =
        corp.staff.values().filter(|s| s.departments.iter().any(|d| scope.contains(d))).collect();
    staff.sort_by_key(|s| s.seq);
    reply(json!({ "userlist": staff.into_iter().map(user_json).collect::<Vec<_>>() }))
}

/// `user/list_id` `{cursor, limit ≤ 10000}` → `dept_user:[{userid, department}]`, one row per membership.
pub(crate) fn user_list_id(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let limit = ctx.limit("limit", 10_000, 10_000);
    let mut rows: Vec<(u64, Value)> =
        corp.staff
            .values()
            .flat_map(|s| {
                s.departments.iter().enumerate().map(move |(i, d)| {
                    ((s.seq << 16) | (i as u64 & 0xFFFF), json!({"userid": s.userid, "department": d}))
                })
            })
            .collect();
    rows.sort_by_key(|(k, _)| *k);
    let (items, next) = page(rows.into_iter(), ctx.cursor()?, limit);
    reply(json!({"dept_user": items, "next_cursor": next}))
}

/// `GET externalcontact/get_follow_user_list`: active staff with the 客户联系 function.
pub(crate) fn follow_user_list(corp: &mut Corp, _ctx: &Ctx<'_>) -> ApiResult {
    let mut staff: Vec<&Staff> = corp.staff.values().filter(|s| s.contact && s.status == 1).collect();
    staff.sort_by_key(|s| s.seq);
    let ids: Vec<&str> = staff.iter().map(|s| s.userid.as_str()).collect();
    reply(json!({ "follow_user": ids }))
}

/// `externalcontact/get_user_behavior_data`: one row per day; the fake counts the relations created each day
/// and reports no chat activity.
pub(crate) fn behavior_data(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let userids = ctx.strings("userid")?;
    let parties = ctx.strings("partyid")?;
    if userids.len() > 100 || parties.len() > 100 || (userids.is_empty() && parties.is_empty()) {
        return Err(ApiError::invalid("give 1–100 userid or partyid"));
    }
    let start = ctx.int("start_time").ok_or_else(|| ApiError::invalid("start_time is required"))?;
    let end = ctx.int("end_time").ok_or_else(|| ApiError::invalid("end_time is required"))?;
    if end < start || (end - start) / 86_400 >= ctx.env.config.behavior_max_days {
        return Err(ApiError::invalid("time range"));
    }
    let mut users: BTreeSet<String> = userids.into_iter().filter(|u| corp.staff.contains_key(u)).collect();
    for party in parties.iter().filter_map(|p| p.parse::<u64>().ok()) {
        let scope = corp.subtree(party);
        users.extend(
            corp.staff.values().filter(|s| s.departments.iter().any(|d| scope.contains(d))).map(|s| s.userid.clone()),
        );
    }
    if users.is_empty() {
        return Err(ApiError::code(60111));
    }
    let mut rows = Vec::new();
    let mut day = day_start(start);
    while day <= end {
        let added = corp
            .follows
            .values()
            .filter(|f| users.contains(&f.userid) && f.createtime >= day && f.createtime < day + 86_400)
            .count();
        rows.push(json!({"stat_time": day, "chat_cnt": 0, "message_cnt": 0, "reply_percentage": 0.0,
                         "avg_reply_time": 0, "negative_feedback_cnt": 0, "new_apply_cnt": added,
                         "new_contact_cnt": added}));
        day += 86_400;
    }
    reply(json!({ "behavior_data": rows }))
}

impl FakeHandle {
    /// Adds (or renames) a department under `parentid`.
    pub fn add_department(&self, corp: &str, id: u64, name: &str, parentid: u64) -> Result<(), FakeError> {
        self.with_corp(corp, |c, _| {
            if !c.departments.contains_key(&parentid) {
                return Err(FakeError::unknown("department", &parentid.to_string()));
            }
            let order = 100_000_000 - id;
            c.departments.insert(id, Department { id, name: name.to_owned(), parentid, order });
            Ok(())
        })
    }

    /// Adds an active member with the 客户联系 function (no event: seeding). Empty `departments` = root.
    pub fn add_staff(&self, corp: &str, userid: &str, name: &str, departments: &[u64]) -> Result<(), FakeError> {
        self.with_corp(corp, |c, _| {
            if let Some(missing) = departments.iter().find(|d| !c.departments.contains_key(d)) {
                return Err(FakeError::unknown("department", &missing.to_string()));
            }
            let departments = if departments.is_empty() { vec![1] } else { departments.to_vec() };
            let seq = c.next_seq();
            let staff = Staff {
                seq,
                userid: userid.to_owned(),
                name: name.to_owned(),
                departments,
                status: 1,
                contact: true,
                left_at: None,
            };
            c.staff.insert(userid.to_owned(), staff);
            Ok(())
        })
    }

    /// Grants or withdraws a member's 客户联系 function (without it: 84074, absent from the follow list).
    pub fn set_contact_permission(&self, corp: &str, userid: &str, allowed: bool) -> Result<(), FakeError> {
        self.with_corp(corp, |c, _| {
            let staff = c.staff.get_mut(userid).ok_or_else(|| FakeError::unknown("staff", userid))?;
            staff.contact = allowed;
            Ok(())
        })
    }

    /// The member leaves: status 5, `change_contact`/`delete_user` pushed, their customers appear in
    /// `get_unassigned_list`, their groups get status 1 (owner resigned).
    pub async fn staff_leaves(&self, corp: &str, userid: &str) -> Result<Delivery, FakeError> {
        let event = self.with_corp(corp, |c, env| {
            let staff = c.staff.get_mut(userid).ok_or_else(|| FakeError::unknown("staff", userid))?;
            staff.status = 5;
            staff.left_at = Some(env.now);
            let customers: Vec<String> =
                c.follows.values().filter(|f| f.userid == userid).map(|f| f.external_userid.clone()).collect();
            for external_userid in customers {
                let seq = c.next_seq();
                let entry = Unassigned { handover: userid.to_owned(), external_userid, dimission_time: env.now };
                c.unassigned.insert(seq, entry);
            }
            for group in c.groups.values_mut().filter(|g| g.owner == userid && !g.dismissed) {
                group.status = 1;
            }
            let xml = EventXml::new(&c.setup.corp_id, env.now, "change_contact")
                .text("ChangeType", "delete_user")
                .text("UserID", userid)
                .finish();
            Ok(xml)
        })?;
        self.deliver(corp, vec![event]).await
    }
}
