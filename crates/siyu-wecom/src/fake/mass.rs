//! Mass sends (企业群发): `add_msg_template` (≤ 10,000 customers or 2,000 groups, `fail_list` for
//! recipients who cannot receive), `get_groupmsg_list_v2`, `get_groupmsg_task`, `get_groupmsg_send_result`,
//! `remind_groupmsg_send` (≤ 3 per 24 h), `cancel_groupmsg_send`. Nothing is sent until the `staff_confirms`
//! hook; then each recipient gets 1 sent, 2 not a friend, or 3 reception cap reached (days in the month).

use serde_json::{Value, json};

use super::clock::{days_in_month, month_number};
use super::request::{ApiError, ApiResult, Ctx, page, reply, strings_in};
use super::state::Corp;
use super::{FakeError, FakeHandle};

#[derive(Clone, Debug)]
pub(crate) struct Recipient {
    /// An external_userid, or a chat_id for group sends.
    pub target: String,
    pub userid: String,
    /// 0 not sent, 1 sent, 2 not a friend (or group gone), 3 reception cap reached.
    pub status: u8,
    pub send_time: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct Task {
    pub userid: String,
    /// 0 not sent, 2 sent.
    pub status: u8,
    pub send_time: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct MsgTemplate {
    pub msgid: String,
    pub creator: String,
    pub create_time: i64,
    pub chat_type: String,
    pub body: Value,
    pub recipients: Vec<Recipient>,
    pub tasks: Vec<Task>,
    pub reminders: Vec<i64>,
    pub cancelled: bool,
}

/// Whether the customer's tags (through any relation) meet `tag_filter`: every group matched by one tag.
fn passes_filter(corp: &Corp, external_userid: &str, filter: &[Vec<String>]) -> bool {
    if filter.is_empty() {
        return true;
    }
    let tags: Vec<&String> = corp.follows_of(external_userid).flat_map(|(_, f)| f.tag_ids.iter()).collect();
    filter.iter().all(|group| group.is_empty() || group.iter().any(|t| tags.contains(&t)))
}

fn tag_filter(body: &Value) -> Result<Vec<Vec<String>>, ApiError> {
    match body.get("tag_filter").and_then(|f| f.get("group_list")).and_then(Value::as_array) {
        None => Ok(Vec::new()),
        Some(groups) => groups.iter().map(|g| strings_in(g, "tag_list")).collect(),
    }
}

fn content_ok(body: &Value) -> Result<(), ApiError> {
    let text = body.get("text").and_then(|t| t.get("content")).and_then(Value::as_str).unwrap_or_default();
    let attachments = body.get("attachments").and_then(Value::as_array).map_or(0, Vec::len);
    if text.is_empty() && attachments == 0 {
        return Err(ApiError::invalid("text or attachments is required"));
    }
    if attachments > 9 || text.len() > 4000 {
        return Err(ApiError::invalid("at most 9 attachments and 4000 bytes of text"));
    }
    Ok(())
}

/// `add_msg_template` → `{fail_list, msgid}`.
pub(crate) fn add_template(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let chat_type = ctx.str("chat_type").unwrap_or("single").to_owned();
    let sender = ctx.str("sender").map(str::to_owned);
    let customers = ctx.strings("external_userid")?;
    let chats = ctx.strings("chat_id_list")?;
    if customers.len() > 10_000 || chats.len() > 2000 {
        return Err(ApiError::invalid("at most 10000 external_userid and 2000 chat_id_list"));
    }
    content_ok(ctx.body)?;
    if sender.as_ref().is_some_and(|s| !corp.staff.contains_key(s)) {
        return Err(ApiError::code(60111));
    }
    let filter = tag_filter(ctx.body)?;
    let mut fail_list = Vec::new();
    let mut recipients = Vec::new();
    let push = |recipients: &mut Vec<Recipient>, target: &str, userid: &str| {
        recipients.push(Recipient { target: target.into(), userid: userid.into(), status: 0, send_time: 0 });
    };
    match (chat_type.as_str(), &sender) {
        ("single", _) => {
            let owner_of = |ext: &str| match &sender {
                Some(s) => corp.follow(ext, s).map(|(_, f)| f.userid.clone()),
                None => corp.follows_of(ext).last().map(|(_, f)| f.userid.clone()),
            };
            let targets: Vec<String> = if customers.is_empty() {
                let mut all: Vec<String> = corp
                    .follows
                    .values()
                    .filter(|f| sender.as_ref().is_none_or(|s| *s == f.userid))
                    .map(|f| f.external_userid.clone())
                    .collect();
                let mut seen = std::collections::HashSet::new();
                all.retain(|e| seen.insert(e.clone()));
                all
            } else {
                customers
            };
            for ext in targets {
                match owner_of(&ext) {
                    Some(userid) if passes_filter(corp, &ext, &filter) => push(&mut recipients, &ext, &userid),
                    Some(_) => {}
                    None => fail_list.push(ext),
                }
            }
        }
        ("group", Some(s)) => {
            let targets: Vec<String> = if chats.is_empty() {
                corp.groups.values().filter(|g| !g.dismissed && g.owner == *s).map(|g| g.chat_id.clone()).collect()
            } else {
                chats
            };
            for chat in targets {
                match corp.live_group(&chat) {
                    Some(g) if g.owner == *s => push(&mut recipients, &chat, s),
                    _ => fail_list.push(chat),
                }
            }
        }
        _ => return Err(ApiError::invalid("chat_type single, or group with a sender")),
    }
    let mut tasks: Vec<Task> = Vec::new();
    for r in &recipients {
        if !tasks.iter().any(|t| t.userid == r.userid) {
            tasks.push(Task { userid: r.userid.clone(), status: 0, send_time: 0 });
        }
    }
    let (seq, msgid) = corp.new_id("msg");
    let template = MsgTemplate {
        msgid: msgid.clone(),
        creator: sender.unwrap_or_default(),
        create_time: ctx.now(),
        chat_type,
        body: ctx.body.clone(),
        recipients,
        tasks,
        reminders: Vec::new(),
        cancelled: false,
    };
    corp.templates.insert(seq, template);
    reply(json!({"fail_list": fail_list, "msgid": msgid}))
}

fn template<'a>(corp: &'a mut Corp, ctx: &Ctx<'_>) -> Result<&'a mut MsgTemplate, ApiError> {
    let msgid = ctx.require("msgid")?;
    corp.templates.values_mut().find(|t| t.msgid == msgid).ok_or_else(|| ApiError::invalid("unknown msgid"))
}

/// `get_groupmsg_list_v2` `{chat_type, start_time, end_time, creator?, filter_type, cursor, limit ≤ 100}`.
pub(crate) fn list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let chat_type = ctx.require("chat_type")?;
    let start = ctx.int("start_time").ok_or_else(|| ApiError::invalid("start_time is required"))?;
    let end = ctx.int("end_time").ok_or_else(|| ApiError::invalid("end_time is required"))?;
    let creator = ctx.str("creator");
    // Every template made through the API is corp-created (create_type 0).
    let filter_type = ctx.int("filter_type").unwrap_or(2);
    let limit = ctx.limit("limit", 50, 100);
    let rows = corp
        .templates
        .iter()
        .filter(|(_, t)| t.chat_type == chat_type && t.create_time >= start && t.create_time <= end)
        .filter(|(_, t)| creator.is_none_or(|c| c == t.creator) && filter_type != 1)
        .map(|(k, t)| {
            let mut v = json!({"msgid": t.msgid, "creator": t.creator, "create_time": t.create_time, "create_type": 0});
            for key in ["text", "attachments"] {
                if let Some(part) = t.body.get(key) {
                    v[key] = part.clone();
                }
            }
            (*k, v)
        });
    let (items, next) = page(rows, ctx.cursor()?, limit);
    reply(json!({"group_msg_list": items, "next_cursor": next}))
}

/// `get_groupmsg_task` `{msgid, cursor, limit ≤ 1000}` → `task_list:[{userid, status, send_time}]`.
pub(crate) fn tasks(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let limit = ctx.limit("limit", 500, 1000);
    let cursor = ctx.cursor()?;
    let template = template(corp, ctx)?;
    let rows = template.tasks.iter().enumerate().map(|(i, t)| {
        let mut v = json!({"userid": t.userid, "status": t.status});
        if t.status == 2 {
            v["send_time"] = json!(t.send_time);
        }
        (i as u64, v)
    });
    let (items, next) = page(rows, cursor, limit);
    reply(json!({"task_list": items, "next_cursor": next}))
}

/// `get_groupmsg_send_result` `{msgid, userid, cursor, limit}` → `send_list`.
pub(crate) fn send_result(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let userid = ctx.require("userid")?.to_owned();
    let limit = ctx.limit("limit", 500, 1000);
    let cursor = ctx.cursor()?;
    let template = template(corp, ctx)?;
    let key = if template.chat_type == "group" { "chat_id" } else { "external_userid" };
    let rows = template.recipients.iter().enumerate().filter(|(_, r)| r.userid == userid).map(|(i, r)| {
        let mut v = json!({ key: r.target, "userid": r.userid, "status": r.status });
        if r.status != 0 {
            v["send_time"] = json!(r.send_time);
        }
        (i as u64, v)
    });
    let (items, next) = page(rows, cursor, limit);
    reply(json!({"send_list": items, "next_cursor": next}))
}

/// `remind_groupmsg_send` `{msgid}`: at most `remind_limit` per 24 h.
pub(crate) fn remind(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let now = ctx.now();
    let config = ctx.env.config;
    let template = template(corp, ctx)?;
    if template.cancelled {
        return Err(ApiError::invalid("the message was cancelled"));
    }
    if template.reminders.iter().filter(|t| now - **t < 86_400).count() >= config.remind_limit {
        return Err(ApiError::with(config.remind_limit_errcode, "reminder limit reached"));
    }
    template.reminders.push(now);
    reply(json!({}))
}

/// `cancel_groupmsg_send` `{msgid}`: unsent tasks can no longer be sent.
pub(crate) fn cancel(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    template(corp, ctx)?.cancelled = true;
    reply(json!({}))
}

impl FakeHandle {
    /// The member confirms the mass send in the client: each of their recipients becomes 1 (sent), 2 (no
    /// longer a friend, or the group is gone) or 3 (reached the monthly reception cap). Returns
    /// `(external_userid or chat_id, status)` per recipient.
    pub fn staff_confirms(&self, corp: &str, msgid: &str, userid: &str) -> Result<Vec<(String, u8)>, FakeError> {
        self.with_corp(corp, |c, env| {
            let key = c.templates.iter().find(|(_, t)| t.msgid == msgid).map(|(k, _)| *k);
            let mut template =
                key.and_then(|k| c.templates.remove(&k)).ok_or_else(|| FakeError::unknown("msgid", msgid))?;
            let outcome = c.confirm(&mut template, userid, env.now, env.config.reception_cap);
            if let Some(k) = key {
                c.templates.insert(k, template);
            }
            outcome
        })
    }
}

impl Corp {
    fn confirm(
        &mut self,
        t: &mut MsgTemplate,
        userid: &str,
        now: i64,
        cap: Option<u32>,
    ) -> Result<Vec<(String, u8)>, FakeError> {
        if t.cancelled {
            return Err(FakeError::Invalid(format!("{} was cancelled", t.msgid)));
        }
        let task = t.tasks.iter_mut().find(|task| task.userid == userid && task.status == 0);
        let task = task.ok_or_else(|| FakeError::Invalid(format!("{userid} has no unsent task in {}", t.msgid)))?;
        task.status = 2;
        task.send_time = now;
        let cap = cap.unwrap_or_else(|| days_in_month(now));
        let month = month_number(now);
        let mut out = Vec::new();
        for r in t.recipients.iter_mut().filter(|r| r.userid == userid && r.status == 0) {
            let reachable = if t.chat_type == "group" {
                self.live_group(&r.target).is_some()
            } else {
                self.follow(&r.target, userid).is_some()
            };
            let received = self.receptions.entry((r.target.clone(), month)).or_insert(0);
            r.status = match (reachable, *received >= cap) {
                (false, _) => 2,
                (true, true) => 3,
                (true, false) => {
                    *received += 1;
                    1
                }
            };
            r.send_time = now;
            out.push((r.target.clone(), r.status));
        }
        Ok(out)
    }
}
