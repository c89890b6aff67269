//! The send tab and the task list: `GET /sidebar/scripts?customer=&q=` or `?group=` (scripts rendered for
//! the chat's customer or group), `GET /sidebar/materials?customer=&q=` or `?group=` (the material library),
//! `POST /sidebar/materials/message` (JSON `{customer_id | group_id, material_id}`: the `sendChatMessage`
//! arguments, with a tracked link minted or an image, video or file uploaded to WeCom; a material WeCom
//! cannot take by media_id adds `fallback: {reason, text}`, which the page shows and strips before sending
//! the news card), `POST /sidebar/sends` (JSON
//! `{send_id, customer_id | group_id, script_id | material_id}` after WeCom confirmed a send: counted once
//! per send id), `GET /sidebar/tasks` and `POST /sidebar/tasks/complete`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;
use siyu_app::AppError;
use siyu_app::sidebar::{
    Audience, MediaFallback, MediaType, SendAs, SentItem, SidebarMaterial, SidebarScript, SidebarSend,
};
use siyu_domain::id::{CustomerId, GroupId, MaterialId, ScriptId, TaskId};
use siyu_domain::task::Task;

use super::{SidebarError, SidebarResult, SidebarSession, fragment};
use crate::console::customers::view::{fmt_time, label};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> axum::Router<AppState> {
    Routes::new()
        .get("/sidebar/scripts", scripts)
        .post("/sidebar/sends", record_send)
        .get("/sidebar/materials", materials)
        .post("/sidebar/materials/message", material_message)
        .get("/sidebar/tasks", tasks)
        .post("/sidebar/tasks/complete", complete)
        .into_router()
}

/// Whom a fragment's send buttons address: `("customer" | "group", id)` for the page's script.
fn audience_attrs(audience: Audience) -> (&'static str, String) {
    match audience {
        Audience::Customer(c) => ("customer", c.to_string()),
        Audience::Group(g) => ("group", g.to_string()),
    }
}

#[derive(Template)]
#[template(path = "sidebar_scripts.html")]
struct ScriptsFragment {
    tr: Tr,
    /// `customer` or `group`.
    audience_kind: &'static str,
    audience_id: String,
    query: String,
    scripts: Vec<SidebarScript>,
}

#[derive(Deserialize)]
struct ScriptsQuery {
    #[serde(default)]
    customer: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    q: String,
}

fn parse_uuid(tr: Tr, value: &str) -> Result<uuid::Uuid, SidebarError> {
    uuid::Uuid::parse_str(value.trim()).map_err(|_| SidebarError { tr, error: AppError::NotFound })
}

/// The audience of a list: `group=` when given, else `customer=`.
fn audience_of(tr: Tr, q: &ScriptsQuery) -> Result<Audience, SidebarError> {
    if q.group.trim().is_empty() {
        Ok(Audience::Customer(CustomerId(parse_uuid(tr, &q.customer)?)))
    } else {
        Ok(Audience::Group(GroupId(parse_uuid(tr, &q.group)?)))
    }
}

async fn scripts(State(state): State<AppState>, s: SidebarSession, Query(q): Query<ScriptsQuery>) -> SidebarResult {
    let audience = audience_of(s.tr, &q)?;
    let query: String = q.q.chars().take(100).collect();
    let list = state
        .app
        .sidebar_scripts(&s.actor, &s.identity, audience, &query)
        .await
        .map_err(|error| SidebarError { tr: s.tr, error })?;
    let (audience_kind, audience_id) = audience_attrs(audience);
    Ok(fragment(&ScriptsFragment { tr: s.tr, audience_kind, audience_id, query, scripts: list }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    send_id: String,
    #[serde(default)]
    customer_id: Option<uuid::Uuid>,
    #[serde(default)]
    group_id: Option<uuid::Uuid>,
    #[serde(default)]
    script_id: Option<uuid::Uuid>,
    #[serde(default)]
    material_id: Option<uuid::Uuid>,
}

/// A customer or a group id, exactly one.
fn body_audience(customer: Option<uuid::Uuid>, group: Option<uuid::Uuid>) -> Option<Audience> {
    match (customer, group) {
        (Some(c), None) => Some(Audience::Customer(CustomerId(c))),
        (None, Some(g)) => Some(Audience::Group(GroupId(g))),
        _ => None,
    }
}

/// JSON in, JSON out: the page calls it from script after `sendChatMessage` succeeded.
async fn record_send(
    State(state): State<AppState>,
    s: SidebarSession,
    headers: HeaderMap,
    body: Result<Json<SendBody>, axum::extract::rejection::JsonRejection>,
) -> axum::response::Response {
    if let Err(e) = s.check_csrf(&headers, None) {
        return crate::error::ApiError(e.error).into_response();
    }
    let malformed = || {
        let e = AppError::Malformed("expected {send_id, customer_id or group_id, script_id or material_id}".into());
        crate::error::ApiError(e).into_response()
    };
    let Ok(Json(body)) = body else { return malformed() };
    let item = match (body.script_id, body.material_id) {
        (Some(s), None) => SentItem::Script(ScriptId(s)),
        (None, Some(m)) => SentItem::Material(MaterialId(m)),
        _ => return malformed(),
    };
    let Some(audience) = body_audience(body.customer_id, body.group_id) else { return malformed() };
    let send = SidebarSend { send_id: body.send_id, audience, item };
    match state.app.sidebar_record_send(&s.actor, &s.identity, &send).await {
        Ok(recorded) => (StatusCode::OK, Json(json!({"recorded": recorded}))).into_response(),
        Err(e) => crate::error::ApiError(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "sidebar_materials.html")]
struct MaterialsFragment {
    tr: Tr,
    /// `customer` or `group`.
    audience_kind: &'static str,
    audience_id: String,
    query: String,
    materials: Vec<MaterialRow>,
}

/// A material as the tab shows it.
struct MaterialRow {
    id: String,
    kind: String,
    title: String,
    summary: String,
    /// How it goes out (as text, a card, an image, a video or a file by media_id, or a tracked link).
    how: String,
    /// `how` is why a material goes as a link although it could have gone by media_id.
    warn: bool,
}

/// Why a material goes as a news card rather than by media_id, for the member.
fn fallback_text(tr: Tr, why: MediaFallback) -> &'static str {
    match why {
        MediaFallback::TooLarge(MediaType::Video) => tr.t("sidebar.fallback_too_large_video"),
        MediaFallback::TooLarge(MediaType::File) => tr.t("sidebar.fallback_too_large_file"),
        MediaFallback::TooLarge(_) => tr.t("sidebar.fallback_too_large_image"),
        MediaFallback::TooSmall => tr.t("sidebar.fallback_too_small"),
        MediaFallback::Format(MediaType::Video) => tr.t("sidebar.fallback_format_video"),
        MediaFallback::Format(_) => tr.t("sidebar.fallback_format_image"),
        MediaFallback::Upload => tr.t("sidebar.fallback_upload_failed"),
        MediaFallback::Drawing => tr.t("sidebar.fallback_drawing_failed"),
    }
}

impl MaterialRow {
    fn new(tr: Tr, m: SidebarMaterial) -> Self {
        let kind = tr.t(&format!("materials.kind_{}", m.kind.as_str())).to_string();
        let how = match m.send_as {
            SendAs::Text => tr.t("sidebar.material_as_text"),
            SendAs::Miniprogram => tr.t("sidebar.material_as_miniprogram"),
            SendAs::Media(MediaType::Video) => tr.t("sidebar.material_as_video"),
            SendAs::Media(MediaType::File) => tr.t("sidebar.material_as_file"),
            SendAs::Media(_) => tr.t("sidebar.material_as_image"),
            SendAs::Link(Some(why)) => fallback_text(tr, why),
            SendAs::Link(None) => tr.t("sidebar.material_tracked"),
        };
        let warn = matches!(m.send_as, SendAs::Link(Some(_)));
        Self { id: m.id.to_string(), kind, title: m.title, summary: m.summary, how: how.to_owned(), warn }
    }
}

/// The material library's tab: what the member may send, searched.
async fn materials(State(state): State<AppState>, s: SidebarSession, Query(q): Query<ScriptsQuery>) -> SidebarResult {
    let audience = audience_of(s.tr, &q)?;
    let query: String = q.q.chars().take(100).collect();
    let list = state
        .app
        .sidebar_materials(&s.actor, &s.identity, audience, &query)
        .await
        .map_err(|error| SidebarError { tr: s.tr, error })?;
    let materials = list.into_iter().map(|m| MaterialRow::new(s.tr, m)).collect();
    let (audience_kind, audience_id) = audience_attrs(audience);
    Ok(fragment(&MaterialsFragment { tr: s.tr, audience_kind, audience_id, query, materials }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    #[serde(default)]
    customer_id: Option<uuid::Uuid>,
    #[serde(default)]
    group_id: Option<uuid::Uuid>,
    material_id: uuid::Uuid,
}

/// The `sendChatMessage` arguments for a material (JSON; a POST because it mints the tracked link).
async fn material_message(
    State(state): State<AppState>,
    s: SidebarSession,
    headers: HeaderMap,
    body: Result<Json<MessageBody>, axum::extract::rejection::JsonRejection>,
) -> axum::response::Response {
    if let Err(e) = s.check_csrf(&headers, None) {
        return crate::error::ApiError(e.error).into_response();
    }
    let malformed = || {
        let e = AppError::Malformed("expected {customer_id or group_id, material_id}".into());
        crate::error::ApiError(e).into_response()
    };
    let Ok(Json(body)) = body else { return malformed() };
    let Some(audience) = body_audience(body.customer_id, body.group_id) else { return malformed() };
    let material = MaterialId(body.material_id);
    match state.app.sidebar_material_message(&s.actor, &s.identity, audience, material).await {
        Ok(sent) => {
            let mut message = sent.message;
            if let Some(why) = sent.fallback {
                message["fallback"] = json!({"reason": why.code(), "text": fallback_text(s.tr, why)});
            }
            (StatusCode::OK, Json(message)).into_response()
        }
        Err(e) => crate::error::ApiError(e).into_response(),
    }
}

/// One open task as the list shows it.
struct TaskRow {
    id: String,
    title: String,
    customer: String,
    kind: String,
    due: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "sidebar_tasks.html")]
struct TasksFragment {
    tr: Tr,
    csrf: String,
    tasks: Vec<TaskRow>,
    notice: Option<String>,
}

async fn task_list(state: &AppState, s: &SidebarSession, notice: Option<String>) -> SidebarResult {
    let now = state.app.now();
    let list: Vec<Task> = state.app.sidebar_tasks(&s.actor).await.map_err(|error| SidebarError { tr: s.tr, error })?;
    let tasks = list
        .into_iter()
        .map(|t| TaskRow {
            id: t.id.to_string(),
            title: t.title,
            customer: t.customer_name,
            kind: label(s.tr, "tasks.kind", t.kind.as_str()),
            due: fmt_time(&t.due_at),
            overdue: t.due_at < now,
        })
        .collect();
    Ok(fragment(&TasksFragment { tr: s.tr, csrf: s.csrf.clone(), tasks, notice }))
}

async fn tasks(State(state): State<AppState>, s: SidebarSession) -> SidebarResult {
    task_list(&state, &s, None).await
}

#[derive(Deserialize)]
struct CompleteForm {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    task: String,
}

async fn complete(
    State(state): State<AppState>,
    s: SidebarSession,
    headers: HeaderMap,
    Form(f): Form<CompleteForm>,
) -> SidebarResult {
    s.check_csrf(&headers, Some(&f._csrf))?;
    let id = TaskId(parse_uuid(s.tr, &f.task)?);
    state.app.sidebar_complete_task(&s.actor, id).await.map_err(|error| SidebarError { tr: s.tr, error })?;
    task_list(&state, &s, Some(s.tr.t("sidebar.task_done").to_owned())).await
}
