//! 加入群聊 join ways: `groupchat/add/get/update/del_join_way` (`chat_id_list` ≤ 5, state ≤ 30,
//! room_base_name ≤ 40) and the scan hook that puts a customer in the first group below the scan cap (a new
//! group when all are full and `auto_create_room` is on), pushing `add_member` with `JoinScene` 3.

use serde_json::{Map, Value, json};

use super::groups::{Group, Member};
use super::push::EventXml;
use super::request::{ApiError, ApiResult, Ctx, at_most, reply, strings_in};
use super::state::Corp;
use super::ways::{check_quota, fields_of, qr_code};
use super::{Delivery, FakeError, FakeHandle};

/// A join way: its request fields as given.
#[derive(Clone, Debug)]
pub(crate) struct JoinWay {
    pub config_id: String,
    pub fields: Map<String, Value>,
}

/// Which group a scanned join way put the customer in.
#[derive(Clone, Debug)]
pub struct Joined {
    pub chat_id: String,
    /// A new group was opened because every listed group was full.
    pub created: bool,
    pub delivery: Delivery,
}

fn validate(corp: &Corp, ctx: &Ctx<'_>, fields: &Map<String, Value>) -> Result<(), ApiError> {
    if !matches!(fields.get("scene").and_then(Value::as_i64), Some(1 | 2)) {
        return Err(ApiError::invalid("scene must be 1 or 2"));
    }
    let text = |key: &str| fields.get(key).and_then(Value::as_str);
    at_most("state", text("state"), 30)?;
    at_most("remark", text("remark"), 30)?;
    at_most("room_base_name", text("room_base_name"), 40)?;
    let chats = strings_in(&Value::Object(fields.clone()), "chat_id_list")?;
    if chats.is_empty() || chats.len() > 5 {
        return Err(ApiError::invalid("chat_id_list must hold 1–5 chat ids"));
    }
    if chats.iter().any(|c| corp.live_group(c).is_none()) {
        return Err(ApiError::code(ctx.env.config.chat_id_errcode));
    }
    Ok(())
}

fn way_key(corp: &Corp, config_id: &str) -> Option<u64> {
    corp.join_ways.iter().find(|(_, w)| w.config_id == config_id).map(|(k, _)| *k)
}

/// `groupchat/add_join_way` → `{config_id}`.
pub(crate) fn add(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let fields = fields_of(ctx.body);
    validate(corp, ctx, &fields)?;
    check_quota(corp, ctx)?;
    let (seq, config_id) = corp.new_hex();
    corp.join_ways.insert(seq, JoinWay { config_id: config_id.clone(), fields });
    reply(json!({ "config_id": config_id }))
}

/// `groupchat/get_join_way` `{config_id}` → `join_way{…, qr_code}`.
pub(crate) fn get(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let config_id = ctx.require("config_id")?;
    let key = way_key(corp, config_id).ok_or_else(|| ApiError::invalid("unknown config_id"))?;
    let way = corp.join_ways.get(&key).ok_or_else(|| ApiError::invalid("unknown config_id"))?;
    let mut out = way.fields.clone();
    out.entry("auto_create_room").or_insert(json!(1));
    out.insert("config_id".into(), json!(way.config_id));
    if out.get("scene").and_then(Value::as_i64) == Some(2) {
        out.insert("qr_code".into(), json!(qr_code(&way.config_id)));
    }
    reply(json!({ "join_way": out }))
}

/// `groupchat/update_join_way`: the add fields plus `config_id`, replacing the stored ones.
pub(crate) fn update(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let config_id = ctx.require("config_id")?;
    let key = way_key(corp, config_id).ok_or_else(|| ApiError::invalid("unknown config_id"))?;
    let fields = fields_of(ctx.body);
    validate(corp, ctx, &fields)?;
    if let Some(way) = corp.join_ways.get_mut(&key) {
        way.fields = fields;
    }
    reply(json!({}))
}

/// `groupchat/del_join_way` `{config_id}`.
pub(crate) fn delete(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let config_id = ctx.require("config_id")?;
    let key = way_key(corp, config_id).ok_or_else(|| ApiError::invalid("unknown config_id"))?;
    corp.join_ways.remove(&key);
    reply(json!({}))
}

impl Corp {
    /// Opens the next `room_base_name`+`room_base_id` group of a join way whose groups are all full.
    fn open_room(&mut self, now: i64, key: u64, template: &str) -> Result<(String, String), FakeError> {
        let owner =
            self.live_group(template).map(|g| g.owner.clone()).ok_or_else(|| FakeError::unknown("group", template))?;
        let way = self.join_ways.get_mut(&key).ok_or_else(|| FakeError::unknown("join way", template))?;
        let base = way.fields.get("room_base_name").and_then(Value::as_str).unwrap_or("群聊").to_owned();
        let id = way.fields.get("room_base_id").and_then(Value::as_i64).unwrap_or(1);
        way.fields.insert("room_base_id".into(), json!(id + 1));
        let (_, version) = self.new_hex();
        let (seq, chat_id) = self.new_id("wr");
        let first = Member {
            userid: owner.clone(),
            kind: 1,
            join_time: now,
            join_scene: 1,
            invitor: None,
            state: String::new(),
        };
        let group = Group {
            chat_id: chat_id.clone(),
            name: format!("{base}{id}"),
            owner,
            create_time: now,
            notice: String::new(),
            members: vec![first],
            admins: Vec::new(),
            member_version: version,
            status: 0,
            dismissed: false,
        };
        self.groups.insert(seq, group);
        if let Some(way) = self.join_ways.get_mut(&key) {
            let mut chats = strings_in(&Value::Object(way.fields.clone()), "chat_id_list").unwrap_or_default();
            chats.push(chat_id.clone());
            way.fields.insert("chat_id_list".into(), json!(chats));
        }
        let xml = EventXml::new(&self.setup.corp_id, now, "change_external_chat")
            .text("ChatId", &chat_id)
            .text("ChangeType", "create")
            .finish();
        Ok((chat_id, xml))
    }
}

impl FakeHandle {
    /// A join way's settings as WeCom holds them now (`chat_id_list` included), if it exists.
    pub fn join_way(&self, corp: &str, config_id: &str) -> Result<Option<Value>, FakeError> {
        self.with_corp(corp, |c, _| {
            Ok(way_key(c, config_id).and_then(|k| c.join_ways.get(&k)).map(|w| Value::Object(w.fields.clone())))
        })
    }

    /// A customer scans the join way: they join the first listed group with fewer than `join_scan_cap`
    /// members (with the way's `state`, join_scene 3), or a new group when all are full and
    /// `auto_create_room` is not 0. Pushes `create` (new group) and `update`/`add_member`.
    pub async fn scan_join_way(&self, corp: &str, config_id: &str, external_userid: &str) -> Result<Joined, FakeError> {
        let (chat_id, created, events) = self.with_corp(corp, |c, env| {
            let key = way_key(c, config_id).ok_or_else(|| FakeError::unknown("join way", config_id))?;
            let fields = c.join_ways.get(&key).map(|w| Value::Object(w.fields.clone())).unwrap_or_default();
            let chats = strings_in(&fields, "chat_id_list").unwrap_or_default();
            let state = fields.get("state").and_then(Value::as_str).unwrap_or_default().to_owned();
            let open = chats
                .iter()
                .find(|id| c.live_group(id).is_some_and(|g| g.members.len() < env.config.join_scan_cap))
                .cloned();
            let mut events = Vec::new();
            let (chat_id, created) = match open {
                Some(id) => (id, false),
                None if fields.get("auto_create_room").and_then(Value::as_i64) != Some(0) => {
                    let template = chats.first().cloned().unwrap_or_default();
                    let (id, xml) = c.open_room(env.now, key, &template)?;
                    events.push(xml);
                    (id, true)
                }
                None => return Err(FakeError::Invalid(format!("every group of join way {config_id} is full"))),
            };
            events.push(c.join_member(env, &chat_id, external_userid, 3, &state)?);
            Ok((chat_id, created, events))
        })?;
        let delivery = self.deliver(corp, events).await?;
        Ok(Joined { chat_id, created, delivery })
    }
}
