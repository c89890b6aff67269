//! Group live codes (群活码) and group welcome templates (入群欢迎语素材).
//!
//! A group code is one WeCom join way (加入群聊, scene 2 QR) holding up to five groups. A QR code stops adding
//! members to a group at 200, and WeCom's own `auto_create_room` opens groups siyu did not choose, so siyu
//! rolls the code over itself: when a group in the join way reaches the code's threshold (190 by default) it
//! leaves the join way and the next group of the code's reserve takes its place ([`roll`], a pure function of
//! the code and the groups' member counts). When the reserve runs out the code is marked as needing groups; its
//! last group stays in (a join way holds at least one) until WeCom's cap or `auto_create_room` takes over. A
//! filled group whose members leave until it is 10 % below the threshold returns to the end of the reserve.
//!
//! The code's `state` (`gc` + a short id, ≤30 characters) comes back on every member who joins through it, which
//! is how joins are attributed to the code.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CorpId, GroupCodeId, GroupWelcomeId};

/// The most groups one join way holds.
pub const MAX_GROUPS: usize = 5;
/// The most groups waiting in a code's reserve.
pub const MAX_RESERVE: usize = 50;
/// Members at which a group leaves the join way, unless the code says otherwise.
pub const DEFAULT_THRESHOLD: i64 = 190;
/// Members at which a QR code stops adding to a group (unconfirmed in WeCom's docs; vendor pages say 200).
pub const SCAN_CAP: i64 = 200;

/// What an operator sets on a group code besides its groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupCodeSettings {
    /// siyu moves a group out of the join way at `threshold` members and the next reserve group in.
    #[serde(default = "yes")]
    pub rollover: bool,
    /// Members at which a group rolls out (1 to 200; default 190).
    #[serde(default = "default_threshold")]
    pub threshold: i64,
    /// WeCom opens a new group by itself when every group of the join way is full.
    #[serde(default)]
    pub auto_create_room: bool,
    /// The name of the groups WeCom opens (≤40 characters), numbered from `room_base_id`.
    #[serde(default)]
    pub room_base_name: Option<String>,
    #[serde(default)]
    pub room_base_id: Option<i64>,
    /// The group welcome template owners of the code's groups should use.
    #[serde(default)]
    pub welcome_template: Option<GroupWelcomeId>,
}

fn yes() -> bool {
    true
}

fn default_threshold() -> i64 {
    DEFAULT_THRESHOLD
}

impl Default for GroupCodeSettings {
    fn default() -> Self {
        GroupCodeSettings {
            rollover: true,
            threshold: DEFAULT_THRESHOLD,
            auto_create_room: false,
            room_base_name: None,
            room_base_id: None,
            welcome_template: None,
        }
    }
}

/// A group code with its WeCom side and where its roll-over stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GroupCode {
    pub id: GroupCodeId,
    pub corp: CorpId,
    pub name: String,
    pub channel: String,
    /// The `state` WeCom echoes on every member joining through the code.
    pub state: String,
    #[serde(flatten)]
    pub settings: GroupCodeSettings,
    /// The groups the join way holds now (chat ids, ≤5), in order.
    pub chat_ids: Vec<String>,
    /// How many groups the join way holds at once (the number chosen when the code was saved).
    pub slots: i64,
    /// Groups waiting their turn, in order.
    pub reserve: Vec<String>,
    /// Groups that rolled out (reached the threshold or were dismissed), oldest first.
    pub filled: Vec<String>,
    /// The reserve ran out: the code needs more groups.
    pub needs_groups: bool,
    pub config_id: Option<String>,
    pub qr_code: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// Bumped by every change of the groups (compare-and-set between concurrent roll-overs).
    #[serde(skip)]
    pub version: i64,
}

/// The `state` of a new code: `gc` and 16 hex characters of its id (random part), well under WeCom's 30.
pub fn state_for(id: GroupCodeId) -> String {
    let hex = id.0.simple().to_string();
    format!("gc{}", &hex[hex.len() - 16..])
}

/// A group as the roll-over sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fill {
    pub members: i64,
    /// Dismissed, or unknown to siyu (never synced).
    pub gone: bool,
}

/// The groups of a code after a roll-over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollover {
    pub chat_ids: Vec<String>,
    pub reserve: Vec<String>,
    pub filled: Vec<String>,
    pub needs_groups: bool,
}

impl Rollover {
    /// Whether this changes the code's groups or its warning.
    pub fn changes(&self, code: &GroupCode) -> bool {
        self.chat_ids != code.chat_ids
            || self.reserve != code.reserve
            || self.filled != code.filled
            || self.needs_groups != code.needs_groups
    }
}

/// Rolls a code over: groups at the threshold (or gone) leave the join way, reserve groups fill the free slots
/// in order (full ones are skipped into `filled`; filled ones 10 % below the threshold rejoin the reserve's end).
/// A join way holds at least one group, so when every group is
/// full the ones still alive stay in. Without `rollover` nothing moves; the code then needs groups when all of
/// them are full and WeCom will not open new ones.
pub fn roll(code: &GroupCode, fill: impl Fn(&str) -> Fill) -> Rollover {
    let threshold = code.settings.threshold;
    let full = |g: &str| {
        let f = fill(g);
        f.gone || f.members >= threshold
    };
    if !code.settings.rollover {
        let all_full = code.chat_ids.iter().all(|g| full(g));
        return Rollover {
            chat_ids: code.chat_ids.clone(),
            reserve: code.reserve.clone(),
            filled: code.filled.clone(),
            needs_groups: all_full && !code.settings.auto_create_room,
        };
    }
    let slots = usize::try_from(code.slots).unwrap_or(1).clamp(1, MAX_GROUPS);
    // A filled group that members left well below the threshold goes back to the end of the reserve; the
    // margin keeps a group hovering at the threshold from flapping in and out of the join way.
    let reuse_below = threshold - (threshold / 10).max(1);
    let mut room = MAX_RESERVE.saturating_sub(code.reserve.len());
    let (mut filled, mut returned) = (Vec::new(), Vec::new());
    for g in &code.filled {
        let f = fill(g);
        if f.gone || f.members >= reuse_below || room == 0 {
            filled.push(g.clone());
        } else {
            returned.push(g.clone());
            room -= 1;
        }
    }
    let (mut kept_full, mut open): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for g in &code.chat_ids {
        if full(g) { kept_full.push(g.clone()) } else { open.push(g.clone()) }
    }
    let mut reserve: VecDeque<String> = code.reserve.iter().cloned().chain(returned).collect();
    while open.len() < slots {
        match reserve.pop_front() {
            Some(g) if full(&g) => filled.push(g),
            Some(g) => open.push(g),
            None => break,
        }
    }
    let short = open.len() < slots && reserve.is_empty();
    if open.is_empty() {
        // Nothing open: the live groups stay in the join way (WeCom needs one), the dead ones leave.
        for g in kept_full {
            if fill(&g).gone { filled.push(g) } else { open.push(g) }
        }
    } else {
        filled.extend(kept_full);
    }
    Rollover { chat_ids: open, reserve: reserve.into_iter().collect(), filled, needs_groups: short }
}

/// Checks a code's groups and settings; the error names the field.
pub fn validate(chat_ids: &[String], reserve: &[String], s: &GroupCodeSettings) -> Result<(), (&'static str, String)> {
    if chat_ids.is_empty() || chat_ids.len() > MAX_GROUPS {
        return Err(("groups", format!("1 to {MAX_GROUPS} groups")));
    }
    if reserve.len() > MAX_RESERVE {
        return Err(("reserve", format!("at most {MAX_RESERVE} groups")));
    }
    let mut seen = HashSet::new();
    for g in chat_ids {
        if g.trim().is_empty() || !seen.insert(g.as_str()) {
            return Err(("groups", format!("group {g} is listed twice")));
        }
    }
    for g in reserve {
        if g.trim().is_empty() || !seen.insert(g.as_str()) {
            return Err(("reserve", format!("group {g} is listed twice")));
        }
    }
    if !(1..=SCAN_CAP).contains(&s.threshold) {
        return Err(("threshold", format!("1 to {SCAN_CAP} members")));
    }
    if s.room_base_name.as_deref().is_some_and(|n| n.chars().count() > 40) {
        return Err(("room_base_name", "at most 40 characters".into()));
    }
    if s.room_base_id.is_some_and(|n| n < 1) {
        return Err(("room_base_id", "a whole number of at least 1".into()));
    }
    Ok(())
}

/// A group welcome template (入群欢迎语素材): text and at most one attachment, stored with WeCom's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupWelcome {
    pub id: GroupWelcomeId,
    pub corp: CorpId,
    pub name: String,
    /// `%NICKNAME%` is the joiner's nickname.
    pub text: String,
    /// One attachment in WeCom's wire form (`{"msgtype":"link","link":{…}}`): image, link or mini-program.
    #[schema(value_type = Option<Object>)]
    pub attachment: Option<serde_json::Value>,
    /// WeCom's template id (`msg…`).
    pub template_id: Option<String>,
    /// Whether WeCom told the corp's members about the template when it was added.
    pub notify: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Checks a template's name and content; the error names the field.
pub fn validate_welcome(
    name: &str,
    text: &str,
    attachment: Option<&serde_json::Value>,
) -> Result<(), (&'static str, String)> {
    if name.trim().is_empty() || name.chars().count() > 60 {
        return Err(("name", "1 to 60 characters".into()));
    }
    if text.len() > 3000 {
        return Err(("text", "at most 3000 bytes".into()));
    }
    if text.trim().is_empty() && attachment.is_none() {
        return Err(("text", "text or an attachment".into()));
    }
    Ok(())
}

#[cfg(test)]
#[path = "group_code_tests.rs"]
mod tests;
