//! Console pages: members (role, data scope, department, active) and the department tree.

pub mod departments;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_app::tenancy::{MemberPatch, NewMember};
use siyu_domain::access::{DataScope, Permission, Role};
use siyu_domain::id::{DepartmentId, UserId};
use siyu_domain::tenancy::Member;

use self::departments::{DeptRow, tree};
use super::customers::parse_id;
use super::customers::view::{FormErrors, fmt_date, label, one, text};
use super::page::{Chrome, ConsoleResult, FormPost, render};
use crate::auth::ConsoleActor;
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/console/users", page)
        .post("/console/users", add_member)
        .post("/console/users/{id}", update_member)
        .get("/console/users/{id}/edit", edit_page)
        .post("/console/departments", departments::create)
        .post("/console/departments/{id}", departments::update)
        .post("/console/departments/{id}/delete", departments::delete)
        .into_router()
}

pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub username: String,
    pub role: String,
    pub scope: String,
    pub department: String,
    pub active: bool,
    pub joined: String,
    pub editable: bool,
    pub is_me: bool,
}

/// A select option: (value, label, selected).
pub type Opt = (String, String, bool);

fn role_options(tr: Tr, actor_role: Role, current: &str) -> Vec<Opt> {
    Role::ALL
        .into_iter()
        .filter(|r| actor_role.may_grant(*r) || r.as_str() == current)
        .map(|r| (r.as_str().to_string(), label(tr, "role", r.as_str()), r.as_str() == current))
        .collect()
}

fn scope_options(tr: Tr, current: &str, with_default: bool) -> Vec<Opt> {
    let mut out: Vec<Opt> = Vec::new();
    if with_default {
        out.push((String::new(), tr.t("users.scope_by_role").to_string(), current.is_empty()));
    }
    for s in DataScope::ALL {
        out.push((s.as_str().to_string(), label(tr, "scope", s.as_str()), s.as_str() == current));
    }
    out
}

fn department_options(tr: Tr, rows: &[DeptRow], current: &str) -> Vec<Opt> {
    let mut out = vec![(String::new(), tr.t("users.no_department").to_string(), current.is_empty())];
    out.extend(rows.iter().map(|d| (d.id.clone(), d.option_label(), d.id == current)));
    out
}

/// The add-member form as typed.
#[derive(Default)]
pub struct NewMemberForm {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub scope: String,
    pub department: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    members: Vec<MemberRow>,
    depts: Vec<DeptRow>,
    form: NewMemberForm,
    roles: Vec<Opt>,
    scopes: Vec<Opt>,
    dept_options: Vec<Opt>,
    errors: FormErrors,
    dept_error: Option<(String, String)>,
}

impl UsersPage {
    fn dept_error_for(&self, scope: &str) -> Option<&str> {
        self.dept_error.as_ref().filter(|(s, _)| s == scope).map(|(_, m)| m.as_str())
    }
}

async fn page(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let form = NewMemberForm { role: "staff".into(), ..Default::default() };
    users_page(&state, &ca, form, FormErrors::default(), None).await
}

pub(crate) async fn users_page(
    state: &AppState,
    ca: &ConsoleActor,
    form: NewMemberForm,
    errors: FormErrors,
    dept_error: Option<(String, String)>,
) -> ConsoleResult {
    let (app, a) = (&state.app, &ca.actor);
    a.require(Permission::UsersManage)?;
    let chrome = Chrome::new(&ca.user, Some(a), "users");
    let tr = chrome.tr;
    let all = app.departments(a).await?;
    let members = app.list_members(a).await?;
    let depts = tree(&all, &members);
    let dept_name = |m: &Member| {
        m.department_id.and_then(|d| all.iter().find(|x| x.id == d)).map(|d| d.name.clone()).unwrap_or_default()
    };
    let rows = members
        .iter()
        .map(|m| MemberRow {
            id: m.user_id.to_string(),
            name: m.display_name.clone(),
            username: m.username.clone(),
            role: label(tr, "role", m.role.as_str()),
            scope: label(tr, "scope", m.scope.as_str()),
            department: dept_name(m),
            active: m.active,
            joined: fmt_date(&m.created_at),
            editable: a.role.may_grant(m.role),
            is_me: m.user_id == a.user,
        })
        .collect();
    let page = UsersPage {
        roles: role_options(tr, a.role, &form.role),
        scopes: scope_options(tr, &form.scope, true),
        dept_options: department_options(tr, &depts, &form.department),
        members: rows,
        depts,
        form,
        errors,
        dept_error,
        chrome,
    };
    Ok(render(&page))
}

fn role_of(p: &[(String, String)]) -> Result<Role, AppError> {
    Role::parse(one(p, "role").unwrap_or("")).ok_or_else(|| AppError::invalid("role", "invalid_role"))
}

fn scope_of(p: &[(String, String)]) -> Result<Option<DataScope>, AppError> {
    match one(p, "scope").unwrap_or("") {
        "" => Ok(None),
        s => DataScope::parse(s).map(Some).ok_or_else(|| AppError::invalid("scope", "invalid_scope")),
    }
}

fn department_of(p: &[(String, String)], field: &str) -> Result<Option<DepartmentId>, AppError> {
    match text(p, field).as_str() {
        "" => Ok(None),
        s => s.parse().map(Some).map_err(|_| AppError::invalid(field, "unknown_department")),
    }
}

/// Errors shown next to the form rather than as an error page.
fn inline(e: &AppError) -> bool {
    e.field().is_some() || e.code().status() == 409
}

async fn add_member(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let form = NewMemberForm {
        username: text(&p, "username"),
        display_name: text(&p, "display_name"),
        role: text(&p, "role"),
        scope: text(&p, "scope"),
        department: text(&p, "department_id"),
    };
    let input = || -> Result<NewMember, AppError> {
        let display_name = if form.display_name.is_empty() { form.username.clone() } else { form.display_name.clone() };
        Ok(NewMember {
            username: form.username.clone(),
            display_name,
            password: Some(one(&p, "password").unwrap_or("").to_string()).filter(|s| !s.is_empty()),
            role: role_of(&p)?,
            scope: scope_of(&p)?,
            department_id: department_of(&p, "department_id")?,
        })
    };
    let result = match input() {
        Ok(i) => state.app.add_member(&ca.actor, i).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/console/users").into_response()),
        Err(e) if inline(&e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "users").tr;
            let errors = FormErrors::from_error(tr, &e, "username");
            let page = users_page(&state, &ca, form, errors, None).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "member_edit.html")]
struct EditPage {
    chrome: Chrome,
    id: String,
    username: String,
    display_name: String,
    active: bool,
    is_me: bool,
    roles: Vec<Opt>,
    scopes: Vec<Opt>,
    dept_options: Vec<Opt>,
    errors: FormErrors,
}

async fn edit_page(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: UserId = parse_id(&id)?;
    edit_form(&state, &ca, id, None, FormErrors::default()).await
}

async fn edit_form(
    state: &AppState,
    ca: &ConsoleActor,
    id: UserId,
    typed: Option<&[(String, String)]>,
    errors: FormErrors,
) -> ConsoleResult {
    let (app, a) = (&state.app, &ca.actor);
    a.require(Permission::UsersManage)?;
    let chrome = Chrome::new(&ca.user, Some(a), "users");
    let tr = chrome.tr;
    let m = app.get_member(a, id).await?;
    let all = app.departments(a).await?;
    let members = app.list_members(a).await?;
    let depts = tree(&all, &members);
    let current_dept = m.department_id.map(|d| d.to_string()).unwrap_or_default();
    let (display_name, role, scope, dept, active) = match typed {
        Some(p) => (
            text(p, "display_name"),
            text(p, "role"),
            text(p, "scope"),
            text(p, "department_id"),
            one(p, "active").is_some(),
        ),
        None => (m.display_name.clone(), m.role.as_str().into(), m.scope.as_str().into(), current_dept, m.active),
    };
    let page = EditPage {
        id: id.to_string(),
        username: m.username.clone(),
        display_name,
        active,
        is_me: id == a.user,
        roles: role_options(tr, a.role, &role),
        scopes: scope_options(tr, &scope, false),
        dept_options: department_options(tr, &depts, &dept),
        errors,
        chrome,
    };
    Ok(render(&page))
}

async fn update_member(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let id: UserId = parse_id(&id)?;
    let patch = || -> Result<MemberPatch, AppError> {
        Ok(MemberPatch {
            display_name: Some(text(&p, "display_name")),
            role: Some(role_of(&p)?),
            scope: scope_of(&p)?,
            department_id: Some(department_of(&p, "department_id")?),
            active: Some(one(&p, "active").is_some()),
        })
    };
    let result = match patch() {
        Ok(patch) => state.app.update_member(&ca.actor, id, patch).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/console/users").into_response()),
        Err(e) if inline(&e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "users").tr;
            let errors = FormErrors::from_error(tr, &e, "role");
            let page = edit_form(&state, &ca, id, Some(&p), errors).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
