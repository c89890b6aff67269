//! `GET /console/wecom/sidebar`: the sidebar's settings page under 企业微信: each corp's sidebar URL to paste
//! into WeCom's admin console (应用 → 聊天工具栏 → 配置页面), with a copy button, the trusted-domain note and
//! the development identity's link.

use askama::Template;
use axum::extract::State;
use siyu_domain::access::Permission;

use crate::auth::ConsoleActor;
use crate::console::page::{Chrome, ConsoleResult, render};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> axum::Router<AppState> {
    Routes::new().get("/console/wecom/sidebar", page).into_router()
}

/// One corp's lines on the page.
struct CorpSidebar {
    id: String,
    name: String,
    url: String,
    domain: String,
    has_agent: bool,
    has_app_secret: bool,
}

#[derive(Template)]
#[template(path = "sidebar_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    corps: Vec<CorpSidebar>,
    dev_on: bool,
}

async fn page(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    ca.actor.require(Permission::UsersManage)?;
    let app = &state.app;
    let base = app.public_base();
    let domain = base.split_once("://").map(|(_, rest)| rest).unwrap_or(&base).to_owned();
    let corps = app
        .corps(&ca.actor)
        .await?
        .into_iter()
        .map(|v| CorpSidebar {
            id: v.corp.id.to_string(),
            name: v.corp.name.clone(),
            url: app.sidebar_url(v.corp.id),
            domain: domain.clone(),
            has_agent: v.corp.agent_id.is_some(),
            has_app_secret: !v.app_secret_hint.is_empty(),
        })
        .collect();
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "wecom");
    Ok(render(&SettingsPage { chrome, corps, dev_on: app.settings.sidebar.dev_identity }))
}
