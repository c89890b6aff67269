//! The HTTP face: every request under `/cgi-bin/` goes through one handler that applies injections, the
//! token check and the frequency limits, dispatches on the API path, answers HTTP 200 JSON
//! `{errcode, errmsg, ...}` and logs the call.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Multipart, Query, Request, State as AxumState};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value, json};

use super::media::MediaPart;
use super::request::{ApiError, ApiResult, Ctx};
use super::state::{Corp, Env, State};
use super::{
    Inner, LoggedRequest, contacts, group_welcome, groups, join_ways, limits, mass, media, messages, moments, oauth,
    staff, tags, tokens, transfers, ways, welcome,
};

/// An API handler: one corp's data and the request.
type Handler = fn(&mut Corp, &Ctx<'_>) -> ApiResult;

/// The handler of an API path (without `/cgi-bin/`).
fn route(path: &str) -> Option<Handler> {
    let handler: Handler = match path {
        "get_jsapi_ticket" => tokens::get_jsapi_ticket,
        "ticket/get" => tokens::get_agent_ticket,
        "auth/getuserinfo" => oauth::getuserinfo,
        "department/list" => staff::department_list,
        "user/list" => staff::user_list,
        "user/list_id" => staff::user_list_id,
        "message/send" => messages::send,
        "media/upload" => media::upload,
        "externalcontact/get_follow_user_list" => staff::follow_user_list,
        "externalcontact/get_user_behavior_data" => staff::behavior_data,
        "externalcontact/list" => contacts::list,
        "externalcontact/get" => contacts::get,
        "externalcontact/batch/get_by_user" => contacts::batch_get_by_user,
        "externalcontact/remark" => contacts::remark,
        "externalcontact/get_corp_tag_list" => tags::list,
        "externalcontact/add_corp_tag" => tags::add,
        "externalcontact/edit_corp_tag" => tags::edit,
        "externalcontact/del_corp_tag" => tags::delete,
        "externalcontact/mark_tag" => tags::mark,
        "externalcontact/add_contact_way" => ways::add,
        "externalcontact/get_contact_way" => ways::get,
        "externalcontact/list_contact_way" => ways::list,
        "externalcontact/update_contact_way" => ways::update,
        "externalcontact/del_contact_way" => ways::delete,
        "externalcontact/groupchat/add_join_way" => join_ways::add,
        "externalcontact/groupchat/get_join_way" => join_ways::get,
        "externalcontact/groupchat/update_join_way" => join_ways::update,
        "externalcontact/groupchat/del_join_way" => join_ways::delete,
        "externalcontact/send_welcome_msg" => welcome::send,
        "externalcontact/group_welcome_template/add" => group_welcome::add,
        "externalcontact/group_welcome_template/edit" => group_welcome::edit,
        "externalcontact/group_welcome_template/get" => group_welcome::get,
        "externalcontact/group_welcome_template/del" => group_welcome::delete,
        "externalcontact/groupchat/list" => groups::list,
        "externalcontact/groupchat/get" => groups::get,
        "externalcontact/add_msg_template" => mass::add_template,
        "externalcontact/get_groupmsg_list_v2" => mass::list,
        "externalcontact/get_groupmsg_task" => mass::tasks,
        "externalcontact/get_groupmsg_send_result" => mass::send_result,
        "externalcontact/remind_groupmsg_send" => mass::remind,
        "externalcontact/cancel_groupmsg_send" => mass::cancel,
        "externalcontact/add_moment_task" => moments::add,
        "externalcontact/get_moment_task_result" => moments::result,
        "externalcontact/get_moment_list" => moments::list,
        "externalcontact/get_moment_task" => moments::tasks,
        "externalcontact/get_moment_customer_list" => moments::customer_list,
        "externalcontact/get_moment_send_result" => moments::send_result,
        "externalcontact/get_moment_comments" => moments::comments,
        "externalcontact/cancel_moment_task" => moments::cancel,
        "externalcontact/transfer_customer" => transfers::transfer_customer,
        "externalcontact/transfer_result" => transfers::transfer_result,
        "externalcontact/get_unassigned_list" => transfers::unassigned_list,
        "externalcontact/resigned/transfer_customer" => transfers::resigned_transfer_customer,
        "externalcontact/resigned/transfer_result" => transfers::resigned_transfer_result,
        "externalcontact/groupchat/transfer" => transfers::group_transfer,
        "externalcontact/groupchat/onjob_transfer" => transfers::group_onjob_transfer,
        _ => return None,
    };
    Some(handler)
}

/// Normalises a path given by a test (`/cgi-bin/user/list`, `user/list`) to the logged form.
pub(crate) fn normalize(path: &str) -> &str {
    let path = path.trim_start_matches('/');
    path.strip_prefix("cgi-bin/").unwrap_or(path).trim_end_matches('/')
}

/// The `media` part of a `multipart/form-data` request (other parts are read and dropped): `None` when
/// there is none.
async fn read_multipart(request: Request) -> Result<Option<MediaPart>, ApiError> {
    let garbled = |e: axum::extract::multipart::MultipartError| ApiError::with(47001, e.body_text());
    let mut form = Multipart::from_request(request, &()).await.map_err(|e| ApiError::with(47001, e.body_text()))?;
    let mut found = None;
    while let Some(field) = form.next_field().await.map_err(garbled)? {
        let is_media = field.name() == Some("media");
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(garbled)?;
        if is_media && found.is_none() {
            found = Some(MediaPart { file_name, content_type, bytes: bytes.to_vec() });
        }
    }
    Ok(found)
}

/// The axum handler of `/cgi-bin/{*path}`, any method: a JSON body, or a `multipart/form-data` one
/// (`media/upload`).
pub(crate) async fn dispatch(
    AxumState(inner): AxumState<Arc<Inner>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Json<Value> {
    let uri = request.uri().clone();
    let path = normalize(uri.path()).to_owned();
    let query = Query::<BTreeMap<String, String>>::try_from_uri(&uri).map(|Query(q)| q).unwrap_or_default();
    let multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let (parsed, upload): (Result<Value, ApiError>, Option<MediaPart>) = if multipart {
        match read_multipart(request).await {
            Ok(part) => (Ok(part.as_ref().map(MediaPart::summary).unwrap_or_else(|| json!({}))), part),
            Err(e) => (Err(e), None),
        }
    } else {
        let parsed = match Bytes::from_request(request, &()).await {
            Err(e) => Err(ApiError::with(47001, e.body_text())),
            Ok(body) if body.iter().all(u8::is_ascii_whitespace) => Ok(Value::Object(Map::new())),
            Ok(body) => serde_json::from_slice(&body).map_err(|e| ApiError::with(47001, e.to_string())),
        };
        (parsed, None)
    };
    let now = inner.clock.now();
    let mut state = inner.lock();
    let (corp_id, outcome) = match &parsed {
        Ok(body) => handle(&mut state, &inner, now, &path, &query, body, upload.as_ref()),
        Err(e) => (None, Err(e.clone())),
    };
    let (errcode, reply) = match outcome {
        Ok(fields) => {
            let mut reply = Map::new();
            reply.insert("errcode".into(), json!(0));
            reply.insert("errmsg".into(), json!("ok"));
            reply.extend(fields);
            (0, Value::Object(reply))
        }
        Err(error) => {
            state.hints += 1;
            let msg = limits::errmsg(&error, state.hints, now, &peer.ip().to_string());
            (error.errcode, json!({"errcode": error.errcode, "errmsg": msg}))
        }
    };
    let body = parsed.unwrap_or(Value::Null);
    state.log.push(LoggedRequest { corp_id, path, query, body, errcode, at: now });
    Json(reply)
}

fn handle(
    state: &mut State,
    inner: &Inner,
    now: i64,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &Value,
    upload: Option<&MediaPart>,
) -> (Option<String>, ApiResult) {
    if let Some(injected) = limits::take_injection(state, path) {
        return (None, Err(injected));
    }
    let config = &inner.config;
    if path == "gettoken" {
        return tokens::gettoken(state, config, now, query);
    }
    let (corp_id, app) = match tokens::authenticate(state, now, query) {
        Ok(found) => found,
        Err(e) => return (None, Err(e)),
    };
    let limits = (config.minute_limit, config.hour_limit);
    if let Err(e) = limits::count_call(state, config, now, &corp_id, path, limits) {
        return (Some(corp_id), Err(e));
    }
    let Some(handler) = route(path) else {
        return (Some(corp_id), Err(ApiError::with(48002, format!("the fake does not implement {path}"))));
    };
    let Some(corp) = state.corps.get_mut(&corp_id) else {
        return (Some(corp_id), Err(ApiError::code(40014)));
    };
    let env = Env { now, config };
    corp.settle(env);
    let ctx = Ctx { env, query, body, app, upload };
    let outcome = handler(corp, &ctx);
    (Some(corp_id), outcome)
}
