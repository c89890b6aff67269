//! The group panel (`sidebar_group.html`): `GET /sidebar/group?chat_id=` (the open group chat, from
//! `getCurExternalChat` or the development identity's picker) or `?group=` (siyu's id). A chat siyu has not
//! synced, or one outside the member's reach, answers 404 with an inline notice the page shows in place of
//! the panel.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::sidebar::SidebarGroup;
use siyu_domain::id::GroupId;

use super::{SidebarError, SidebarResult, SidebarSession, fragment};
use crate::console::customers::view::fmt_date;
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> axum::Router<AppState> {
    Routes::new().get("/sidebar/group", group).into_router()
}

/// A member of the group who is a known customer.
pub struct CustomerRow {
    pub id: String,
    pub name: String,
    /// Inside the member's data scope: the name opens the customer's panel.
    pub visible: bool,
}

#[derive(Template)]
#[template(path = "sidebar_group.html")]
pub struct GroupFragment {
    pub tr: Tr,
    pub group_id: String,
    pub chat_id: String,
    pub name: String,
    pub owner: String,
    pub members: i64,
    pub staff: usize,
    pub externals: usize,
    pub created: Option<String>,
    pub dismissed: bool,
    pub notice_text: Option<String>,
    pub tags: Vec<String>,
    pub customers: Vec<CustomerRow>,
}

#[derive(Template)]
#[template(path = "sidebar_group_missing.html")]
struct MissingFragment {
    tr: Tr,
}

fn view(tr: Tr, g: SidebarGroup) -> GroupFragment {
    let group = g.group;
    GroupFragment {
        tr,
        group_id: group.id.to_string(),
        chat_id: group.chat_id.clone(),
        owner: group.owner_name.clone().unwrap_or_else(|| group.owner_userid.clone()),
        members: group.member_count,
        staff: g.staff_count,
        externals: g.external_count,
        created: group.wecom_created_at.as_ref().map(fmt_date),
        dismissed: group.dismissed_at.is_some(),
        notice_text: group.notice.clone().filter(|n| !n.trim().is_empty()),
        name: group.name,
        tags: g.tags,
        customers: g
            .customers
            .into_iter()
            .map(|c| CustomerRow { id: c.customer.to_string(), name: c.name, visible: c.visible })
            .collect(),
    }
}

#[derive(Deserialize)]
struct GroupQuery {
    chat_id: Option<String>,
    group: Option<String>,
}

async fn group(State(state): State<AppState>, s: SidebarSession, Query(q): Query<GroupQuery>) -> SidebarResult {
    let app = &state.app;
    let fail = |error| SidebarError { tr: s.tr, error };
    let found = match (&q.chat_id, &q.group) {
        (Some(chat), _) => app.sidebar_group_by_chat(&s.actor, &s.identity, chat).await,
        (None, Some(id)) => uuid::Uuid::parse_str(id.trim()).map(GroupId).map_err(|_| AppError::NotFound),
        (None, None) => Err(AppError::NotFound),
    };
    let panel = match found {
        Ok(id) => app.sidebar_group(&s.actor, &s.identity, id).await,
        Err(e) => Err(e),
    };
    match panel {
        Ok(g) => Ok(fragment(&view(s.tr, g))),
        Err(AppError::NotFound) => Ok((StatusCode::NOT_FOUND, fragment(&MissingFragment { tr: s.tr })).into_response()),
        Err(e) => Err(fail(e)),
    }
}
