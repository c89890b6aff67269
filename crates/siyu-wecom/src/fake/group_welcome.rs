//! Group welcome templates (入群欢迎语素材, doc 92366): `group_welcome_template/add` → `{template_id}`, `edit`,
//! `get` (the text and attachment as stored; an image comes back as `pic_url`), `del`. Text ≤ 3000 bytes,
//! something to say, unknown template ids 40058. The `notify` flag of each add is kept for assertions.

use serde_json::{Map, Value, json};

use super::request::{ApiError, ApiResult, Ctx, reply};
use super::state::Corp;
use super::{FakeError, FakeHandle};

const KINDS: [&str; 5] = ["image", "link", "miniprogram", "file", "video"];

/// The template fields of a body (text and the attachment kinds), checked.
fn content(ctx: &Ctx<'_>) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    let text = ctx.body.get("text").and_then(|t| t.get("content")).and_then(Value::as_str).unwrap_or_default();
    if text.len() > 3000 {
        return Err(ApiError::invalid("text longer than 3000 bytes"));
    }
    if !text.is_empty() {
        out.insert("text".into(), json!({ "content": text }));
    }
    for kind in KINDS {
        match ctx.body.get(kind) {
            None | Some(Value::Null) => {}
            Some(Value::Object(body)) => {
                out.insert(kind.into(), Value::Object(body.clone()));
            }
            Some(_) => return Err(ApiError::invalid(format!("{kind} must be an object"))),
        }
    }
    if out.is_empty() {
        return Err(ApiError::invalid("text or an attachment is required"));
    }
    Ok(out)
}

/// `group_welcome_template/add` `{text, image|link|miniprogram|file|video, agentid, notify}` → `{template_id}`.
pub(crate) fn add(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let mut fields = content(ctx)?;
    let notify = ctx.int("notify").unwrap_or(1);
    fields.insert("notify".into(), json!(notify));
    let (_, hex) = corp.new_hex();
    let template_id = format!("msg{hex}");
    corp.group_welcomes.insert(template_id.clone(), fields);
    reply(json!({ "template_id": template_id }))
}

/// `group_welcome_template/edit` `{template_id, …}`: the given content replaces the stored one.
pub(crate) fn edit(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.require("template_id")?;
    let fields = content(ctx)?;
    let stored = corp.group_welcomes.get_mut(id).ok_or_else(|| ApiError::invalid("unknown template_id"))?;
    let notify = stored.get("notify").cloned().unwrap_or(json!(1));
    *stored = fields;
    stored.insert("notify".into(), notify);
    reply(json!({}))
}

/// `group_welcome_template/get` `{template_id}` → the text and attachment (images as `pic_url`).
pub(crate) fn get(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.require("template_id")?;
    let stored = corp.group_welcomes.get(id).ok_or_else(|| ApiError::invalid("unknown template_id"))?;
    let mut out = stored.clone();
    out.remove("notify");
    if let Some(Value::Object(image)) = out.get_mut("image")
        && let Some(Value::String(media)) = image.remove("media_id")
    {
        image.insert("pic_url".into(), json!(format!("https://wework.qpic.cn/wwpic/fake/{media}/0")));
    }
    Ok(out)
}

/// `group_welcome_template/del` `{template_id}`.
pub(crate) fn delete(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.require("template_id")?;
    corp.group_welcomes.remove(id).ok_or_else(|| ApiError::invalid("unknown template_id"))?;
    reply(json!({}))
}

impl FakeHandle {
    /// A group welcome template as stored (with its `notify` flag), if it exists.
    pub fn group_welcome_template(&self, corp: &str, template_id: &str) -> Result<Option<Value>, FakeError> {
        self.with_corp(corp, |c, _| Ok(c.group_welcomes.get(template_id).map(|m| Value::Object(m.clone()))))
    }
}
