//! Customer moments (客户朋友圈), asynchronous: `add_moment_task` → `jobid` (valid 24 h);
//! `get_moment_task_result?jobid=` reports status 1 (started), 2 (running) and 3 (done, with `result`) as
//! the fake clock passes `moment_running_after` and `moment_done_after`. A done moment is listed
//! (`get_moment_list`), each chosen staff member has a task (`get_moment_task`, publish_status 0 until the
//! `staff_publishes_moment` hook), its visible customers (`get_moment_customer_list` as chosen,
//! `get_moment_send_result` as published), comments and likes (`get_moment_comments`, from the
//! `customer_comments_moment` / `customer_likes_moment` hooks), and `cancel_moment_task` (doc 93333, 97612).

use serde_json::{Value, json};

use super::request::{ApiError, ApiResult, Ctx, chars, page, reply, strings_in};
use super::state::Corp;
use super::tags::describe;
use super::{FakeError, FakeHandle};

#[derive(Clone, Debug)]
pub(crate) struct MomentJob {
    pub jobid: String,
    pub created_at: i64,
    pub moment_id: String,
    pub invalid_users: Vec<String>,
    pub invalid_departments: Vec<String>,
    pub invalid_tags: Vec<String>,
    pub body: Value,
    /// The valid tags of the visible range (empty: every customer).
    pub tags: Vec<String>,
    /// One per posting staff member.
    pub tasks: Vec<MomentStaffTask>,
    pub interactions: Vec<Interaction>,
    pub cancelled: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct MomentStaffTask {
    pub userid: String,
    /// 0 not published, 1 published.
    pub publish_status: u8,
    /// The customers it reached when published.
    pub sent_to: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Interaction {
    pub userid: String,
    pub external_userid: String,
    pub like: bool,
    pub create_time: i64,
}

/// ≤ 2000 characters of text; ≤ 9 images, or 1 video, or 1 link; something to post.
fn check_content(body: &Value) -> Result<(), ApiError> {
    let text = body.get("text").and_then(|t| t.get("content")).and_then(Value::as_str).unwrap_or_default();
    let attachments = body.get("attachments").and_then(Value::as_array).cloned().unwrap_or_default();
    if chars(text) > 2000 {
        return Err(ApiError::invalid("text longer than 2000 characters"));
    }
    if text.is_empty() && attachments.is_empty() {
        return Err(ApiError::invalid("text or attachments is required"));
    }
    let kinds: Vec<&str> = attachments.iter().filter_map(|a| a.get("msgtype").and_then(Value::as_str)).collect();
    let images = kinds.iter().filter(|k| **k == "image").count();
    let valid = kinds.len() == attachments.len()
        && (kinds.is_empty()
            || (images == kinds.len() && images <= 9)
            || (kinds.len() == 1 && matches!(kinds.first(), Some(&"video" | &"link"))));
    if valid { Ok(()) } else { Err(ApiError::invalid("attachments: up to 9 images, or 1 video, or 1 link")) }
}

/// `add_moment_task` `{text, attachments, visible_range}` → `{jobid}`.
pub(crate) fn add(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    check_content(ctx.body)?;
    let range = ctx.body.get("visible_range").cloned().unwrap_or(Value::Null);
    let senders = range.get("sender_list").cloned().unwrap_or(Value::Null);
    let users = strings_in(&senders, "user_list")?;
    let departments = strings_in(&senders, "department_list")?;
    let contacts = range.get("external_contact_list").cloned().unwrap_or(Value::Null);
    let tags = strings_in(&contacts, "tag_list")?;
    let (valid_users, invalid_users): (Vec<String>, Vec<String>) =
        users.iter().cloned().partition(|u| corp.staff.contains_key(u));
    let (valid_departments, invalid_departments): (Vec<String>, Vec<String>) =
        departments.iter().cloned().partition(|d| d.parse::<u64>().is_ok_and(|id| corp.departments.contains_key(&id)));
    let (valid_tags, invalid_tags): (Vec<String>, Vec<String>) =
        tags.into_iter().partition(|t| describe(corp, t).is_some());
    // The posting staff: those named and the members of the departments named; nobody named, everyone with
    // the customer-contact function.
    let below: Vec<u64> =
        valid_departments.iter().filter_map(|d| d.parse().ok()).flat_map(|d| corp.subtree(d)).collect();
    let everyone = users.is_empty() && departments.is_empty();
    let tasks = corp
        .staff
        .values()
        .filter(|s| s.contact && s.status == 1)
        .filter(|s| everyone || valid_users.contains(&s.userid) || s.departments.iter().any(|d| below.contains(d)))
        .map(|s| MomentStaffTask { userid: s.userid.clone(), publish_status: 0, sent_to: Vec::new() })
        .collect();
    let (seq, jobid) = corp.new_id("job");
    let (_, moment_id) = corp.new_id("mom");
    let job = MomentJob {
        jobid: jobid.clone(),
        created_at: ctx.now(),
        moment_id,
        invalid_users,
        invalid_departments,
        invalid_tags,
        body: ctx.body.clone(),
        tags: valid_tags,
        tasks,
        interactions: Vec::new(),
        cancelled: false,
    };
    corp.moments.insert(seq, job);
    reply(json!({ "jobid": jobid }))
}

/// `GET get_moment_task_result?jobid=`.
pub(crate) fn result(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let jobid = ctx.require("jobid")?;
    let config = ctx.env.config;
    let job = corp
        .moments
        .values()
        .find(|j| j.jobid == jobid && ctx.now() - j.created_at < 86_400)
        .ok_or_else(|| ApiError::invalid("unknown or expired jobid"))?;
    let elapsed = ctx.now() - job.created_at;
    if elapsed < config.moment_running_after {
        return reply(json!({"status": 1, "type": "add_moment_task"}));
    }
    if elapsed < config.moment_done_after {
        return reply(json!({"status": 2, "type": "add_moment_task"}));
    }
    reply(json!({"status": 3, "type": "add_moment_task", "result": {
        "errcode": 0, "errmsg": "ok", "moment_id": job.moment_id,
        "invalid_sender_list": {"user_list": job.invalid_users, "department_list": job.invalid_departments},
        "invalid_external_contact_list": {"tag_list": job.invalid_tags}}}))
}

impl MomentJob {
    fn done(&self, now: i64, config: &super::FakeConfig) -> bool {
        now - self.created_at >= config.moment_done_after
    }
}

impl Corp {
    /// The customers of `userid` who see a moment limited to `tags` (any of them; none: all).
    fn moment_audience(&self, userid: &str, tags: &[String]) -> Vec<String> {
        self.follows
            .values()
            .filter(|f| f.userid == userid)
            .filter(|f| tags.is_empty() || f.tag_ids.iter().any(|t| tags.contains(t)))
            .map(|f| f.external_userid.clone())
            .collect()
    }
}

/// The done moment named by `moment_id`.
fn moment<'a>(corp: &'a mut Corp, ctx: &Ctx<'_>) -> Result<&'a mut MomentJob, ApiError> {
    let id = ctx.require("moment_id")?.to_owned();
    let (now, config) = (ctx.now(), ctx.env.config);
    corp.moments
        .values_mut()
        .find(|j| j.moment_id == id && j.done(now, config))
        .ok_or_else(|| ApiError::invalid("unknown moment_id"))
}

/// `get_moment_list` `{start_time, end_time, creator?, filter_type, cursor, limit ≤ 20}`: the done moments
/// (all created through the API: `create_type` 0 and no `creator`).
pub(crate) fn list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let start = ctx.int("start_time").ok_or_else(|| ApiError::invalid("start_time is required"))?;
    let end = ctx.int("end_time").ok_or_else(|| ApiError::invalid("end_time is required"))?;
    let personal_only = ctx.int("filter_type") == Some(1) || ctx.str("creator").is_some();
    let limit = ctx.limit("limit", 20, 20);
    let (now, config) = (ctx.now(), ctx.env.config);
    let rows = corp
        .moments
        .iter()
        .filter(|(_, j)| !personal_only && j.done(now, config) && j.created_at >= start && j.created_at <= end)
        .map(|(k, j)| {
            let mut v = json!({"moment_id": j.moment_id, "create_time": j.created_at, "create_type": 0,
                "visible_type": if j.tags.is_empty() { 1 } else { 0 }});
            if let Some(text) = j.body.get("text") {
                v["text"] = text.clone();
            }
            let attachments = j.body.get("attachments").and_then(Value::as_array).cloned().unwrap_or_default();
            let images: Vec<Value> = attachments.iter().filter_map(|a| a.get("image").cloned()).collect();
            if !images.is_empty() {
                v["image"] = json!(images);
            }
            for kind in ["video", "link"] {
                if let Some(part) = attachments.iter().find_map(|a| a.get(kind)) {
                    v[kind] = part.clone();
                }
            }
            (*k, v)
        });
    let (items, next) = page(rows, ctx.cursor()?, limit);
    reply(json!({"moment_list": items, "next_cursor": next}))
}

/// `get_moment_task` `{moment_id, cursor, limit ≤ 1000}` → `task_list:[{userid, publish_status}]`.
pub(crate) fn tasks(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let (limit, cursor) = (ctx.limit("limit", 500, 1000), ctx.cursor()?);
    let job = moment(corp, ctx)?;
    let rows = job
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u64, json!({"userid": t.userid, "publish_status": t.publish_status})));
    let (items, next) = page(rows, cursor, limit);
    reply(json!({"task_list": items, "next_cursor": next}))
}

/// `get_moment_customer_list` `{moment_id, userid, cursor, limit ≤ 1000}`: the customers chosen to see it.
pub(crate) fn customer_list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let userid = ctx.require("userid")?.to_owned();
    let (limit, cursor) = (ctx.limit("limit", 500, 1000), ctx.cursor()?);
    let tags = moment(corp, ctx)?.tags.clone();
    let audience = corp.moment_audience(&userid, &tags);
    let rows = audience.iter().enumerate().map(|(i, e)| (i as u64, json!({"userid": userid, "external_userid": e})));
    let (items, next) = page(rows, cursor, limit);
    reply(json!({"customer_list": items, "next_cursor": next}))
}

/// `get_moment_send_result` `{moment_id, userid, cursor, limit ≤ 5000}`: the customers it reached.
pub(crate) fn send_result(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let userid = ctx.require("userid")?.to_owned();
    let (limit, cursor) = (ctx.limit("limit", 3000, 5000), ctx.cursor()?);
    let job = moment(corp, ctx)?;
    let sent: Vec<String> = job.tasks.iter().filter(|t| t.userid == userid).flat_map(|t| t.sent_to.clone()).collect();
    let rows = sent.iter().enumerate().map(|(i, e)| (i as u64, json!({"external_userid": e})));
    let (items, next) = page(rows, cursor, limit);
    reply(json!({"customer_list": items, "next_cursor": next}))
}

/// `get_moment_comments` `{moment_id, userid}` → `comment_list`, `like_list`.
pub(crate) fn comments(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let userid = ctx.require("userid")?.to_owned();
    let job = moment(corp, ctx)?;
    let of = |like: bool| -> Vec<Value> {
        job.interactions
            .iter()
            .filter(|i| i.userid == userid && i.like == like)
            .map(|i| json!({"external_userid": i.external_userid, "create_time": i.create_time}))
            .collect()
    };
    reply(json!({"comment_list": of(false), "like_list": of(true)}))
}

/// `cancel_moment_task` `{moment_id}`: staff who have not published can no longer.
pub(crate) fn cancel(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    moment(corp, ctx)?.cancelled = true;
    reply(json!({}))
}

impl FakeHandle {
    /// The staff member publishes the moment in their client: it reaches their customers in its visible
    /// range. Returns those customers.
    pub fn staff_publishes_moment(&self, corp: &str, moment_id: &str, userid: &str) -> Result<Vec<String>, FakeError> {
        self.with_corp(corp, |c, env| {
            let job = c.moments.values().find(|j| j.moment_id == moment_id && j.done(env.now, env.config));
            let job = job.ok_or_else(|| FakeError::unknown("moment", moment_id))?;
            if job.cancelled {
                return Err(FakeError::Invalid(format!("{moment_id} was cancelled")));
            }
            let audience = c.moment_audience(userid, &job.tags.clone());
            let job = c.moments.values_mut().find(|j| j.moment_id == moment_id);
            let task = job.and_then(|j| j.tasks.iter_mut().find(|t| t.userid == userid && t.publish_status == 0));
            let task = task.ok_or_else(|| FakeError::Invalid(format!("{userid} has no unpublished task")))?;
            task.publish_status = 1;
            task.sent_to = audience.clone();
            Ok(audience)
        })
    }

    /// A customer who saw `userid`'s post of the moment comments on it.
    pub fn customer_comments_moment(
        &self,
        corp: &str,
        moment_id: &str,
        userid: &str,
        ext: &str,
    ) -> Result<(), FakeError> {
        self.interact(corp, moment_id, userid, ext, false)
    }

    /// A customer who saw `userid`'s post of the moment likes it.
    pub fn customer_likes_moment(&self, corp: &str, moment_id: &str, userid: &str, ext: &str) -> Result<(), FakeError> {
        self.interact(corp, moment_id, userid, ext, true)
    }

    fn interact(&self, corp: &str, moment_id: &str, userid: &str, ext: &str, like: bool) -> Result<(), FakeError> {
        self.with_corp(corp, |c, env| {
            let job = c.moments.values_mut().find(|j| j.moment_id == moment_id);
            let job = job.ok_or_else(|| FakeError::unknown("moment", moment_id))?;
            let saw = job.tasks.iter().any(|t| t.userid == userid && t.sent_to.iter().any(|e| e == ext));
            if !saw {
                return Err(FakeError::Invalid(format!("{ext} did not see {userid}'s post")));
            }
            let i = Interaction { userid: userid.into(), external_userid: ext.into(), like, create_time: env.now };
            job.interactions.push(i);
            Ok(())
        })
    }
}
