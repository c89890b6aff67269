//! The send tab and the task list: `GET /sidebar/scripts?customer=&q=` (scripts rendered for the customer),
//! `GET /sidebar/materials?customer=&q=` (the material library), `POST /sidebar/materials/message` (JSON
//! `{customer_id, material_id}`: the `sendChatMessage` arguments, with a tracked link minted for the
//! customer), `POST /sidebar/sends` (JSON `{send_id, customer_id, script_id | material_id}` after WeCom
//! confirmed a send: counted once per send id), `GET /sidebar/tasks` and `POST /sidebar/tasks/complete`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;
use siyu_app::AppError;
use siyu_app::sidebar::{SentItem, SidebarMaterial, SidebarScript, SidebarSend};
use siyu_domain::id::{CustomerId, MaterialId, ScriptId, TaskId};
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

#[derive(Template)]
#[template(path = "sidebar_scripts.html")]
struct ScriptsFragment {
    tr: Tr,
    customer: String,
    query: String,
    scripts: Vec<SidebarScript>,
}

#[derive(Deserialize)]
struct ScriptsQuery {
    #[serde(default)]
    customer: String,
    #[serde(default)]
    q: String,
}

fn parse_uuid(tr: Tr, value: &str) -> Result<uuid::Uuid, SidebarError> {
    uuid::Uuid::parse_str(value.trim()).map_err(|_| SidebarError { tr, error: AppError::NotFound })
}

async fn scripts(State(state): State<AppState>, s: SidebarSession, Query(q): Query<ScriptsQuery>) -> SidebarResult {
    let customer = CustomerId(parse_uuid(s.tr, &q.customer)?);
    let query: String = q.q.chars().take(100).collect();
    let list = state
        .app
        .sidebar_scripts(&s.actor, customer, &query)
        .await
        .map_err(|error| SidebarError { tr: s.tr, error })?;
    Ok(fragment(&ScriptsFragment { tr: s.tr, customer: customer.to_string(), query, scripts: list }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    send_id: String,
    customer_id: uuid::Uuid,
    #[serde(default)]
    script_id: Option<uuid::Uuid>,
    #[serde(default)]
    material_id: Option<uuid::Uuid>,
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
        let e = AppError::Malformed("expected {send_id, customer_id, script_id or material_id}".into());
        crate::error::ApiError(e).into_response()
    };
    let Ok(Json(body)) = body else { return malformed() };
    let item = match (body.script_id, body.material_id) {
        (Some(s), None) => SentItem::Script(ScriptId(s)),
        (None, Some(m)) => SentItem::Material(MaterialId(m)),
        _ => return malformed(),
    };
    let send = SidebarSend { send_id: body.send_id, customer: CustomerId(body.customer_id), item };
    match state.app.sidebar_record_send(&s.actor, &send).await {
        Ok(recorded) => (StatusCode::OK, Json(json!({"recorded": recorded}))).into_response(),
        Err(e) => crate::error::ApiError(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "sidebar_materials.html")]
struct MaterialsFragment {
    tr: Tr,
    customer: String,
    query: String,
    materials: Vec<MaterialRow>,
}

/// A material as the tab shows it.
struct MaterialRow {
    id: String,
    kind: String,
    title: String,
    summary: String,
}

impl MaterialRow {
    fn new(tr: Tr, m: SidebarMaterial) -> Self {
        let kind = tr.t(&format!("materials.kind_{}", m.kind.as_str())).to_string();
        Self { id: m.id.to_string(), kind, title: m.title, summary: m.summary }
    }
}

/// The material library's tab: what the member may send, searched.
async fn materials(State(state): State<AppState>, s: SidebarSession, Query(q): Query<ScriptsQuery>) -> SidebarResult {
    let customer = CustomerId(parse_uuid(s.tr, &q.customer)?);
    let query: String = q.q.chars().take(100).collect();
    let list = state
        .app
        .sidebar_materials(&s.actor, customer, &query)
        .await
        .map_err(|error| SidebarError { tr: s.tr, error })?;
    let materials = list.into_iter().map(|m| MaterialRow::new(s.tr, m)).collect();
    Ok(fragment(&MaterialsFragment { tr: s.tr, customer: customer.to_string(), query, materials }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    customer_id: uuid::Uuid,
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
    let Ok(Json(body)) = body else {
        let e = AppError::Malformed("expected {customer_id, material_id}".into());
        return crate::error::ApiError(e).into_response();
    };
    let (customer, material) = (CustomerId(body.customer_id), MaterialId(body.material_id));
    match state.app.sidebar_material_message(&s.actor, customer, material).await {
        Ok(message) => (StatusCode::OK, Json(message)).into_response(),
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
