//! 「联系我」 contact ways: `add/get/list/update/del_contact_way` (state ≤ 30, remark ≤ 30, a quota shared
//! with join ways) and the scan hook that creates the relation and pushes `add_external_contact` with the
//! way's `State`.

use serde_json::{Map, Value, json};

use super::request::{ApiError, ApiResult, Ctx, at_most, page, reply, strings_in};
use super::state::Corp;
use super::{Delivery, FakeError, FakeHandle};

/// A contact way: its request fields as given (lists replaced on update).
#[derive(Clone, Debug)]
pub(crate) struct ContactWay {
    pub config_id: String,
    pub created_at: i64,
    pub fields: Map<String, Value>,
}

/// Who a scanned contact way added, and the event's delivery.
#[derive(Clone, Debug)]
pub struct Scanned {
    /// The member the customer added.
    pub userid: String,
    pub welcome_code: Option<String>,
    pub delivery: Delivery,
}

pub(crate) fn qr_code(config_id: &str) -> String {
    format!("https://wework.qpic.cn/wwpic/fake/{config_id}/0")
}

/// The body's fields minus the ids a handler does not store.
pub(crate) fn fields_of(body: &Value) -> Map<String, Value> {
    let mut fields = body.as_object().cloned().unwrap_or_default();
    fields.remove("config_id");
    fields.remove("access_token");
    fields
}

/// Enforces `contact_way_quota` over contact and join ways.
pub(crate) fn check_quota(corp: &Corp, ctx: &Ctx<'_>) -> Result<(), ApiError> {
    if corp.contact_ways.len() + corp.join_ways.len() >= ctx.env.config.contact_way_quota {
        return Err(ApiError::with(ctx.env.config.contact_way_quota_errcode, "contact way quota used up"));
    }
    Ok(())
}

fn validate(corp: &Corp, fields: &Map<String, Value>) -> Result<(), ApiError> {
    let body = Value::Object(fields.clone());
    let int = |key: &str| fields.get(key).and_then(Value::as_i64);
    let kind = int("type");
    if !matches!(kind, Some(1 | 2)) || !matches!(int("scene"), Some(1 | 2)) {
        return Err(ApiError::invalid("type and scene must be 1 or 2"));
    }
    let text = |key: &str| fields.get(key).and_then(Value::as_str);
    at_most("state", text("state"), 30)?;
    at_most("remark", text("remark"), 30)?;
    let users = strings_in(&body, "user")?;
    let parties = strings_in(&body, "party")?;
    if users.iter().any(|u| !corp.staff.contains_key(u)) {
        return Err(ApiError::code(60111));
    }
    if parties.iter().any(|p| p.parse::<u64>().map_or(true, |id| !corp.departments.contains_key(&id))) {
        return Err(ApiError::code(60123));
    }
    let valid = match kind {
        Some(1) => users.len() == 1 && parties.is_empty(),
        _ => !(users.is_empty() && parties.is_empty()) && users.len() <= 100 && parties.len() <= 100,
    };
    if valid { Ok(()) } else { Err(ApiError::invalid("type 1 takes one user; type 2 takes 1–100 users or parties")) }
}

fn way_key(corp: &Corp, config_id: &str) -> Option<u64> {
    corp.contact_ways.iter().find(|(_, w)| w.config_id == config_id).map(|(k, _)| *k)
}

/// `add_contact_way` → `{config_id, qr_code}` (qr_code for scene 2).
pub(crate) fn add(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let fields = fields_of(ctx.body);
    validate(corp, &fields)?;
    check_quota(corp, ctx)?;
    let (seq, config_id) = corp.new_hex();
    let scene = fields.get("scene").and_then(Value::as_i64);
    corp.contact_ways.insert(seq, ContactWay { config_id: config_id.clone(), created_at: ctx.now(), fields });
    if scene == Some(2) {
        reply(json!({"config_id": config_id, "qr_code": qr_code(&config_id)}))
    } else {
        reply(json!({ "config_id": config_id }))
    }
}

/// `get_contact_way` `{config_id}` → `contact_way{…}`.
pub(crate) fn get(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let config_id = ctx.require("config_id")?;
    let key = way_key(corp, config_id).ok_or_else(|| ApiError::invalid("unknown config_id"))?;
    let way = corp.contact_ways.get(&key).ok_or_else(|| ApiError::invalid("unknown config_id"))?;
    let mut out = way.fields.clone();
    out.entry("skip_verify").or_insert(json!(true));
    out.entry("user").or_insert(json!([]));
    out.entry("party").or_insert(json!([]));
    out.insert("config_id".into(), json!(way.config_id));
    if out.get("scene").and_then(Value::as_i64) == Some(2) {
        out.insert("qr_code".into(), json!(qr_code(&way.config_id)));
    }
    reply(json!({ "contact_way": out }))
}

/// `list_contact_way` `{start_time?, end_time?, cursor, limit ≤ 1000}`, default the last 90 days.
pub(crate) fn list(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let end = ctx.int("end_time").unwrap_or(ctx.now());
    let start = ctx.int("start_time").unwrap_or(end - 90 * 86_400);
    let limit = ctx.limit("limit", 100, 1000);
    let rows = corp
        .contact_ways
        .iter()
        .filter(|(_, w)| w.created_at >= start && w.created_at <= end)
        .map(|(k, w)| (*k, json!({ "config_id": w.config_id })));
    let (items, next) = page(rows, ctx.cursor()?, limit);
    reply(json!({"contact_way": items, "next_cursor": next}))
}

/// `update_contact_way` `{config_id, …}`: given fields replace (lists too); type and scene stay.
pub(crate) fn update(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let config_id = ctx.require("config_id")?;
    let key = way_key(corp, config_id).ok_or_else(|| ApiError::invalid("unknown config_id"))?;
    let mut fields = corp.contact_ways.get(&key).map(|w| w.fields.clone()).unwrap_or_default();
    for (name, value) in fields_of(ctx.body) {
        if name != "type" && name != "scene" {
            fields.insert(name, value);
        }
    }
    validate(corp, &fields)?;
    if let Some(way) = corp.contact_ways.get_mut(&key) {
        way.fields = fields;
    }
    reply(json!({}))
}

/// `del_contact_way` `{config_id}`.
pub(crate) fn delete(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let config_id = ctx.require("config_id")?;
    let key = way_key(corp, config_id).ok_or_else(|| ApiError::invalid("unknown config_id"))?;
    corp.contact_ways.remove(&key);
    reply(json!({}))
}

impl FakeHandle {
    /// A customer scans the contact way: the first of its `user` (else the first active member of its first
    /// `party`) gets the relation, `add_external_contact` is pushed with the way's `State` and a fresh
    /// `WelcomeCode`.
    pub async fn scan_contact_way(
        &self,
        corp: &str,
        config_id: &str,
        external_userid: &str,
    ) -> Result<Scanned, FakeError> {
        let (userid, welcome_code, xml) = self.with_corp(corp, |c, env| {
            let key = way_key(c, config_id).ok_or_else(|| FakeError::unknown("contact way", config_id))?;
            let fields = c.contact_ways.get(&key).map(|w| Value::Object(w.fields.clone())).unwrap_or_default();
            let users = strings_in(&fields, "user").unwrap_or_default();
            let parties = strings_in(&fields, "party").unwrap_or_default();
            let from_party = || {
                let party = parties.first().and_then(|p| p.parse::<u64>().ok())?;
                let scope = c.subtree(party);
                let mut staff: Vec<_> = c
                    .staff
                    .values()
                    .filter(|s| s.status == 1 && s.departments.iter().any(|d| scope.contains(d)))
                    .collect();
                staff.sort_by_key(|s| s.seq);
                staff.first().map(|s| s.userid.clone())
            };
            let userid = users
                .first()
                .cloned()
                .or_else(from_party)
                .ok_or_else(|| FakeError::Invalid(format!("contact way {config_id} has no active staff")))?;
            let state = fields.get("state").and_then(Value::as_str).map(str::to_owned);
            let (code, xml) = c.add_follow(env, external_userid, &userid, state.as_deref(), 1)?;
            Ok((userid, code, xml))
        })?;
        let delivery = self.deliver(corp, vec![xml]).await?;
        Ok(Scanned { userid, welcome_code, delivery })
    }
}
