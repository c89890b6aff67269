//! Welcome messages (欢迎语): the `WelcomeCode` of each pushed add event, valid `welcome_ttl` (20 s) on the
//! fake clock and single use; `send_welcome_msg` (41051 after success, a configurable code on expiry,
//! 41096 when another app got there first, ≤ 9 attachments); the delivered messages are recorded.

use serde_json::{Value, json};

use super::request::{ApiError, ApiResult, Ctx, reply};
use super::state::{Corp, Env};
use super::{FakeError, FakeHandle};

/// A welcome code handed out with an `add_external_contact` event.
#[derive(Clone, Debug)]
pub(crate) struct WelcomeCode {
    pub external_userid: String,
    pub userid: String,
    pub issued_at: i64,
    pub used: bool,
    /// Another app sent the welcome message with this code.
    pub taken: bool,
}

/// A welcome message the fake accepted.
#[derive(Clone, Debug)]
pub struct DeliveredWelcome {
    pub corp_id: String,
    pub external_userid: String,
    pub userid: String,
    /// The `send_welcome_msg` body.
    pub body: Value,
    /// Fake time of delivery.
    pub at: i64,
}

impl Corp {
    /// A fresh welcome code for a new relation, unless a native welcome message is configured.
    pub(crate) fn issue_welcome_code(&mut self, env: Env<'_>, external_userid: &str, userid: &str) -> Option<String> {
        if self.native_welcome {
            return None;
        }
        let (_, code) = self.new_hex();
        let code = code.to_uppercase();
        let entry = WelcomeCode {
            external_userid: external_userid.to_owned(),
            userid: userid.to_owned(),
            issued_at: env.now,
            used: false,
            taken: false,
        };
        self.welcome_codes.insert(code.clone(), entry);
        Some(code)
    }
}

fn check_content(ctx: &Ctx<'_>) -> Result<(), ApiError> {
    let text = ctx.body.get("text").and_then(|t| t.get("content")).and_then(Value::as_str).unwrap_or_default();
    let attachments = match ctx.body.get("attachments") {
        None | Some(Value::Null) => 0,
        Some(Value::Array(items)) => items.len(),
        Some(_) => return Err(ApiError::invalid("attachments must be a list")),
    };
    if text.is_empty() && attachments == 0 {
        return Err(ApiError::invalid("text or attachments is required"));
    }
    if attachments > 9 {
        return Err(ApiError::invalid("at most 9 attachments"));
    }
    if text.len() > 4000 {
        return Err(ApiError::invalid("text longer than 4000 bytes"));
    }
    Ok(())
}

/// `externalcontact/send_welcome_msg` `{welcome_code, text, attachments}`.
pub(crate) fn send(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let code = ctx.require("welcome_code")?;
    check_content(ctx)?;
    let ttl = ctx.env.config.welcome_ttl;
    let entry = corp.welcome_codes.get_mut(code).ok_or_else(|| ApiError::invalid("unknown welcome_code"))?;
    if entry.used {
        return Err(ApiError::code(41051));
    }
    if ctx.now() >= entry.issued_at + ttl {
        return Err(ApiError::with(ctx.env.config.welcome_expired_errcode, "welcome_code expired"));
    }
    if entry.taken {
        return Err(ApiError::code(41096));
    }
    entry.used = true;
    let delivered = DeliveredWelcome {
        corp_id: corp.setup.corp_id.clone(),
        external_userid: entry.external_userid.clone(),
        userid: entry.userid.clone(),
        body: ctx.body.clone(),
        at: ctx.now(),
    };
    corp.welcomes.push(delivered);
    reply(json!({}))
}

impl FakeHandle {
    /// Another app of the corp sends the welcome message with `code` first: ours then gets 41096.
    pub fn competing_app_sends_welcome(&self, corp: &str, code: &str) -> Result<(), FakeError> {
        self.with_corp(corp, |c, _| {
            let entry = c.welcome_codes.get_mut(code).ok_or_else(|| FakeError::unknown("welcome code", code))?;
            entry.taken = true;
            Ok(())
        })
    }

    /// With a native (console-configured) welcome message, add events carry no `WelcomeCode`.
    pub fn set_native_welcome(&self, corp: &str, native: bool) -> Result<(), FakeError> {
        self.with_corp(corp, |c, _| {
            c.native_welcome = native;
            Ok(())
        })
    }

    /// Every welcome message accepted, over all corps, oldest first.
    pub fn welcomes(&self) -> Vec<DeliveredWelcome> {
        let mut all: Vec<DeliveredWelcome> = self.lock().corps.values().flat_map(|c| c.welcomes.clone()).collect();
        all.sort_by_key(|w| w.at);
        all
    }
}
