//! App messages to staff (`message/send`): recipients from `touser` (`a|b` or `@all`) and `toparty`,
//! `invaliduser`/`invalidparty`/`invalidtag` for unknown ones, 81013 when nobody is left, and the per-member
//! caps (30 per minute, 1,000 per hour) over which messages are silently dropped; with
//! `enable_duplicate_check` the same request JSON within `duplicate_check_interval` (default 1,800 s, at most
//! 4 h) reaches nobody again. Every accepted message is recorded for assertions.

use serde_json::{Value, json};

use super::FakeHandle;
use super::request::{ApiError, ApiResult, Ctx, reply};
use super::state::Corp;

/// An app message the fake accepted.
#[derive(Clone, Debug)]
pub struct AppMessage {
    pub corp_id: String,
    pub msgid: String,
    /// The `message/send` body.
    pub body: Value,
    /// Members it reached.
    pub recipients: Vec<String>,
    /// Members over their per-minute or per-hour cap: silently not delivered.
    pub dropped: Vec<String>,
    /// Fake time of the call.
    pub at: i64,
}

fn split(value: Option<&str>) -> Vec<String> {
    value.map(|v| v.split('|').filter(|s| !s.is_empty()).map(str::to_owned).collect()).unwrap_or_default()
}

/// `message/send` `{touser, toparty, totag, msgtype, agentid, …}`.
pub(crate) fn send(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let agentid = match ctx.body.get("agentid") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    if agentid != corp.setup.agent_id {
        return Err(ApiError::code(40056));
    }
    let msgtype = ctx.require("msgtype")?;
    if ctx.body.get(msgtype).is_none() {
        return Err(ApiError::invalid(format!("the {msgtype} object is missing")));
    }
    let duplicate_check = match ctx.body.get("enable_duplicate_check") {
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => s == "1",
        _ => false,
    };
    if duplicate_check {
        let window = ctx.body.get("duplicate_check_interval").and_then(Value::as_i64).unwrap_or(1800).min(4 * 3600);
        let now = ctx.now();
        if let Some(earlier) = corp.app_messages.iter().rev().find(|m| now - m.at < window && m.body == *ctx.body) {
            // WeCom answers as usual and delivers nothing.
            return reply(json!({"invaliduser": "", "invalidparty": "", "invalidtag": "", "unlicenseduser": "",
                                "msgid": earlier.msgid, "response_code": ""}));
        }
    }
    let users = split(ctx.str("touser"));
    let parties = split(ctx.str("toparty"));
    let tags = split(ctx.str("totag"));
    let active = |id: &str| corp.staff.get(id).is_some_and(|s| s.status == 1);
    let mut recipients: Vec<String> = if users.iter().any(|u| u == "@all") {
        let mut all: Vec<_> = corp.staff.values().filter(|s| s.status == 1).collect();
        all.sort_by_key(|s| s.seq);
        all.into_iter().map(|s| s.userid.clone()).collect()
    } else {
        users.iter().filter(|u| active(u)).cloned().collect()
    };
    let invalid_users: Vec<&str> = users.iter().filter(|u| *u != "@all" && !active(u)).map(String::as_str).collect();
    let mut invalid_parties = Vec::new();
    for party in &parties {
        match party.parse::<u64>().ok().filter(|id| corp.departments.contains_key(id)) {
            Some(id) => {
                let scope = corp.subtree(id);
                for s in
                    corp.staff.values().filter(|s| s.status == 1 && s.departments.iter().any(|d| scope.contains(d)))
                {
                    if !recipients.contains(&s.userid) {
                        recipients.push(s.userid.clone());
                    }
                }
            }
            None => invalid_parties.push(party.as_str()),
        }
    }
    if recipients.is_empty() {
        return Err(ApiError::code(81013));
    }
    let now = ctx.now();
    let config = ctx.env.config;
    let received = |userid: &str, window: i64| {
        corp.app_messages.iter().filter(|m| now - m.at < window && m.recipients.iter().any(|r| r == userid)).count()
    };
    let (delivered, dropped): (Vec<String>, Vec<String>) = recipients.into_iter().partition(|u| {
        received(u, 60) < config.app_message_minute_cap && received(u, 3600) < config.app_message_hour_cap
    });
    let invaliduser = invalid_users.join("|");
    let invalidparty = invalid_parties.join("|");
    let (_, msgid) = corp.new_id("appmsg");
    let message = AppMessage {
        corp_id: corp.setup.corp_id.clone(),
        msgid: msgid.clone(),
        body: ctx.body.clone(),
        recipients: delivered,
        dropped,
        at: now,
    };
    corp.app_messages.push(message);
    reply(json!({"invaliduser": invaliduser, "invalidparty": invalidparty, "invalidtag": tags.join("|"),
                 "unlicenseduser": "", "msgid": msgid, "response_code": ""}))
}

impl FakeHandle {
    /// Every app message accepted, over all corps, oldest first.
    pub fn app_messages(&self) -> Vec<AppMessage> {
        let mut all: Vec<AppMessage> = self.lock().corps.values().flat_map(|c| c.app_messages.clone()).collect();
        all.sort_by_key(|m| m.at);
        all
    }
}
