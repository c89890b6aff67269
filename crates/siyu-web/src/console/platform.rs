//! Platform administration: brands (tenants) — create with an owner, suspend, reactivate.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_domain::id::TenantId;
use siyu_domain::tenancy::{Tenant, TenantStatus};

use super::csrf_from;
use super::page::{Chrome, ConsoleError, ConsoleResult, check_csrf, local_time, render};
use crate::auth::ConsoleUser;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> axum::Router<AppState> {
    Routes::new()
        .get("/console/platform/tenants", tenants)
        .post("/console/platform/tenants", create_tenant)
        .post("/console/platform/tenants/{id}/status", set_status)
        .into_router()
}

#[derive(Template)]
#[template(path = "platform_tenants.html")]
struct TenantsPage {
    chrome: Chrome,
    tenants: Vec<Tenant>,
    error: Option<String>,
    field: String,
    form: NewTenantForm,
}

impl TenantsPage {
    fn created(&self, t: &Tenant) -> String {
        local_time(t.created_at)
    }

    fn active(&self, t: &Tenant) -> bool {
        t.status == TenantStatus::Active
    }
}

#[derive(Debug, Default, Deserialize)]
struct NewTenantForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    owner_username: String,
    #[serde(default)]
    owner_name: String,
    #[serde(default)]
    password: String,
}

async fn page(state: &AppState, user: &ConsoleUser, error: Option<AppError>, form: NewTenantForm) -> ConsoleResult {
    let tenants = state.app.list_tenants(&user.ctx.account).await?;
    let field = error.as_ref().and_then(|e| e.field()).unwrap_or("").to_string();
    let mut chrome = Chrome::new(user, None, "platform");
    chrome.platform_admin = user.ctx.account.platform_admin;
    let page = TenantsPage { chrome, tenants, error: error.map(|e| e.to_string()), field, form };
    Ok(render(&page))
}

async fn tenants(State(state): State<AppState>, user: ConsoleUser) -> ConsoleResult {
    page(&state, &user, None, NewTenantForm::default()).await
}

async fn create_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: ConsoleUser,
    Form(form): Form<NewTenantForm>,
) -> ConsoleResult {
    check_csrf(&user, &csrf_from(&headers, Some(&form.csrf)))?;
    let name = if form.owner_name.trim().is_empty() { form.owner_username.clone() } else { form.owner_name.clone() };
    match state
        .app
        .platform_create_tenant(&user.ctx.account, &form.name, &form.owner_username, &name, Some(&form.password))
        .await
    {
        Ok(_) => Ok(Redirect::to("/console/platform/tenants").into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            page(&state, &user, Some(e), NewTenantForm { password: String::new(), ..form }).await
        }
        Err(e) => Err(ConsoleError(e)),
    }
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

async fn set_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> ConsoleResult {
    check_csrf(&user, &csrf_from(&headers, Some(&form.csrf)))?;
    if !user.ctx.account.platform_admin {
        return Err(ConsoleError(AppError::NotFound));
    }
    let id: TenantId = id.parse().map_err(|_| ConsoleError(AppError::NotFound))?;
    let status =
        TenantStatus::parse(&form.status).ok_or_else(|| ConsoleError(AppError::invalid("status", "unknown_status")))?;
    state.app.set_tenant_status(&user.ctx.account, id, status).await?;
    Ok(Redirect::to("/console/platform/tenants").into_response())
}
