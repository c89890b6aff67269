//! Console: 群活码 (group live codes) and 入群欢迎语 (group welcome templates). `/console/wecom/group-codes`
//! lists the codes with a fill bar per group of each join way and a warning when a code's reserve ran out;
//! `/console/wecom/group-codes/{id}` shows one code (QR, settings, funnel, every group with its role, fill and
//! joins); the form is in `form`, the welcome templates (`/console/wecom/group-welcome`) in `welcome`.

mod form;
mod welcome;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::{CodeGroupView, GroupCodeView};
use siyu_domain::access::Permission;
use siyu_domain::id::GroupCodeId;

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FormErrors, fmt_time, label};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::console::wecom::corps;
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/wecom/group-codes";
/// Members at which a QR code stops adding to a group: the full width of a fill bar.
const CAP: i64 = siyu_domain::wecom::group_code::SCAN_CAP;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .post(PATH, form::create)
        .get("/console/wecom/group-codes/new", form::new_page)
        .get("/console/wecom/group-codes/{id}", detail)
        .get("/console/wecom/group-codes/{id}/edit", form::edit_page)
        .post("/console/wecom/group-codes/{id}", form::update)
        .post("/console/wecom/group-codes/{id}/archive", archive)
        .get(welcome::PATH, welcome::list)
        .post(welcome::PATH, welcome::create)
        .get("/console/wecom/group-welcome/new", welcome::new_page)
        .get("/console/wecom/group-welcome/{id}", welcome::edit_page)
        .post("/console/wecom/group-welcome/{id}", welcome::update)
        .post("/console/wecom/group-welcome/{id}/delete", welcome::delete)
        .into_router()
}

/// Inline errors in the console's words (`group_codes.err.<field>`, the app's reason as the tooltip).
fn code_errors(tr: Tr, e: &AppError, fallback: &str) -> FormErrors {
    let mut errors = FormErrors::from_error(tr, e, fallback);
    if let (AppError::Invalid(i), Some(first)) = (e, errors.0.first_mut()) {
        let key = format!("group_codes.err.{}", i.field);
        let message = tr.t(&key);
        if message != key {
            first.message = message.to_string();
        }
    }
    errors
}

/// One group of a code with its fill bar.
pub struct GroupLine {
    pub id: Option<String>,
    pub name: String,
    pub role: String,
    pub role_label: String,
    pub members: i64,
    /// The bar's width, percent of the 200-member QR cap.
    pub pct: i64,
    /// At or past the code's threshold.
    pub full: bool,
    pub dismissed: bool,
    pub joins: i64,
    pub leaves: i64,
}

impl GroupLine {
    fn of(tr: Tr, g: &CodeGroupView, threshold: i64) -> Self {
        Self {
            id: g.group_id.map(|id| id.to_string()),
            name: g.name.clone(),
            role: g.role.clone(),
            role_label: label(tr, "group_codes.role", &g.role),
            members: g.members,
            pct: (g.members * 100 / CAP).clamp(0, 100),
            full: g.members >= threshold,
            dismissed: g.dismissed,
            joins: g.joins,
            leaves: g.leaves,
        }
    }
}

/// One code as the list (and the detail page's head) shows it.
pub struct CodeRow {
    pub id: String,
    pub name: String,
    pub channel: String,
    pub qr: Option<String>,
    /// The groups in the join way now.
    pub groups: Vec<GroupLine>,
    pub reserve: usize,
    pub threshold: i64,
    pub needs_groups: bool,
    pub joins: i64,
    pub joins_today: i64,
    pub stayed: i64,
    pub customers: i64,
    pub active: bool,
    pub created: String,
}

impl CodeRow {
    fn of(tr: Tr, v: &GroupCodeView) -> Self {
        let c = &v.code;
        let threshold = c.settings.threshold;
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            channel: c.channel.clone(),
            qr: c.qr_code.clone().filter(|q| !q.is_empty()),
            groups: v.groups.iter().filter(|g| g.role == "active").map(|g| GroupLine::of(tr, g, threshold)).collect(),
            reserve: c.reserve.len(),
            threshold,
            needs_groups: c.needs_groups && c.active,
            joins: v.stats.joins,
            joins_today: v.stats.joins_today,
            stayed: v.stats.stayed,
            customers: v.stats.customers,
            active: c.active,
            created: fmt_time(&c.created_at),
        }
    }
}

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    archived: Option<String>,
}

#[derive(Template)]
#[template(path = "group_codes.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<CodeRow>,
    archived: bool,
    can_edit: bool,
}

async fn list(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<ListParams>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "group_codes");
    let tr = chrome.tr;
    let archived = q.archived.as_deref().is_some_and(|a| !a.is_empty() && a != "0");
    let codes = state.app.group_codes(&ca.actor, archived).await?;
    let page = ListPage {
        rows: codes.iter().map(|v| CodeRow::of(tr, v)).collect(),
        archived,
        can_edit: ca.actor.can(Permission::CustomersWrite),
        chrome,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "group_code_detail.html")]
struct DetailPage {
    chrome: Chrome,
    code: CodeRow,
    state: String,
    config_id: String,
    corp_name: String,
    rollover: bool,
    auto_create_room: bool,
    room_base: String,
    welcome: Option<(String, String)>,
    groups: Vec<GroupLine>,
    leaves: i64,
    conversions: i64,
    can_edit: bool,
}

async fn detail(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: GroupCodeId = parse_id(&id)?;
    let v = state.app.group_code(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "group_codes");
    let tr = chrome.tr;
    let c = &v.code;
    let corp_name = corps(&state, ca.actor.tenant, true)
        .await?
        .into_iter()
        .find(|x| x.0 == c.corp)
        .map(|x| x.1)
        .unwrap_or_default();
    let welcome = match c.settings.welcome_template {
        Some(w) => {
            state.app.group_welcome(&ca.actor, w).await.ok().map(|w| (w.name, w.template_id.unwrap_or_default()))
        }
        None => None,
    };
    let s = &c.settings;
    let page = DetailPage {
        state: c.state.clone(),
        config_id: c.config_id.clone().unwrap_or_default(),
        corp_name,
        rollover: s.rollover,
        auto_create_room: s.auto_create_room,
        room_base: match (&s.room_base_name, s.room_base_id) {
            (Some(n), id) if s.auto_create_room && !n.is_empty() => format!("{n}{}", id.unwrap_or(1)),
            _ => String::new(),
        },
        welcome,
        groups: v.groups.iter().map(|g| GroupLine::of(tr, g, s.threshold)).collect(),
        leaves: v.stats.leaves,
        conversions: v.stats.conversions,
        can_edit: ca.actor.can(Permission::CustomersWrite),
        code: CodeRow::of(tr, &v),
        chrome,
    };
    Ok(render(&page))
}

/// Retires a code (its WeCom join way is deleted; its history stays).
async fn archive(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: GroupCodeId = parse_id(&id)?;
    state.app.group_code(&post.ca.actor, id).await?;
    state.app.archive_group_code(&post.ca.actor, id).await?;
    Ok(Redirect::to(PATH).into_response())
}
