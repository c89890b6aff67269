//! Customer moments (客户朋友圈), asynchronous: `add_moment_task` → `jobid` (valid 24 h);
//! `get_moment_task_result?jobid=` reports status 1 (started), 2 (running) and 3 (done, with `result`) as
//! the fake clock passes `moment_running_after` and `moment_done_after`.

use serde_json::{Value, json};

use super::request::{ApiError, ApiResult, Ctx, chars, reply, strings_in};
use super::state::Corp;
use super::tags::describe;

#[derive(Clone, Debug)]
pub(crate) struct MomentJob {
    pub jobid: String,
    pub created_at: i64,
    pub moment_id: String,
    pub invalid_users: Vec<String>,
    pub invalid_departments: Vec<String>,
    pub invalid_tags: Vec<String>,
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
    let invalid_users = users.into_iter().filter(|u| !corp.staff.contains_key(u)).collect();
    let invalid_departments = departments
        .into_iter()
        .filter(|d| d.parse::<u64>().map_or(true, |id| !corp.departments.contains_key(&id)))
        .collect();
    let invalid_tags = tags.into_iter().filter(|t| describe(corp, t).is_none()).collect();
    let (seq, jobid) = corp.new_id("job");
    let (_, moment_id) = corp.new_id("mom");
    let job = MomentJob {
        jobid: jobid.clone(),
        created_at: ctx.now(),
        moment_id,
        invalid_users,
        invalid_departments,
        invalid_tags,
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
