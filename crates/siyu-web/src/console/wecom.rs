//! Console: 企业微信 (WeCom). `/console/wecom` lists the connected corps (status, the last connection test,
//! the callback URL to paste into WeCom's admin console, buttons to test the connection and to start a full
//! sync whose job progress shows on the page) with a form to connect another; `/console/wecom/{id}/edit`
//! changes a corp (secrets left empty stay as stored). Secrets are never shown back, only their hints.
//! The customer-group pages (客户群) are in `groups`.

pub mod group_settings;
pub mod groups;
pub mod sops;
pub mod transfers;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::{CorpInput, CorpView};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, JobId, TenantId};

use super::customers::view::{FormErrors, fmt_opt, one, text};
use super::customers::{JobView, parse_id};
use super::page::{Chrome, ConsoleResult, FormPost, render};
use crate::auth::ConsoleActor;
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/wecom";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .post(PATH, connect)
        .get("/console/wecom/{id}/edit", edit_page)
        .post("/console/wecom/{id}", update)
        .post("/console/wecom/{id}/test", test)
        .post("/console/wecom/{id}/sync", sync)
        .into_router()
        .merge(groups::router())
        .merge(sops::router())
        .merge(transfers::router())
}

/// One connected corp as the list shows it.
pub struct CorpRow {
    pub id: String,
    pub corp_id: String,
    pub name: String,
    pub agent_id: String,
    pub active: bool,
    pub callback_url: String,
    /// When the connection was last tested (`—` if never).
    pub checked: String,
    pub tested: bool,
    pub check_error: Option<String>,
    pub custom_api: Option<String>,
}

impl CorpRow {
    fn of(v: CorpView) -> Self {
        let c = v.corp;
        Self {
            id: c.id.to_string(),
            corp_id: c.corp_id,
            name: c.name,
            agent_id: c.agent_id.map(|a| a.to_string()).unwrap_or_default(),
            active: c.active,
            callback_url: v.callback_url,
            checked: fmt_opt(&c.checked_at),
            tested: c.checked_at.is_some(),
            check_error: c.check_error,
            custom_api: c.api_base,
        }
    }
}

/// The corp form's values (never the secrets) and the hints of the stored secrets.
pub struct CorpForm {
    /// Where the form posts.
    pub action: String,
    /// Editing a connected corp (its corp id is fixed, empty secrets keep the stored ones).
    pub editing: bool,
    pub corp_id: String,
    pub name: String,
    pub agent_id: String,
    pub api_base: String,
    pub active: bool,
    /// Under each secret when editing: what is stored, and that empty keeps it.
    pub contact_secret_keep: String,
    pub app_secret_keep: String,
    pub callback_token_keep: String,
    pub callback_url: String,
}

impl CorpForm {
    fn blank() -> Self {
        Self {
            action: PATH.into(),
            editing: false,
            corp_id: String::new(),
            name: String::new(),
            agent_id: String::new(),
            api_base: String::new(),
            active: true,
            contact_secret_keep: String::new(),
            app_secret_keep: String::new(),
            callback_token_keep: String::new(),
            callback_url: String::new(),
        }
    }

    fn of(tr: Tr, v: &CorpView) -> Self {
        let keep = |hint: &str| {
            let stored = if hint.is_empty() { tr.t("wecom.not_set") } else { hint };
            tr.t("wecom.secret_keep").replace("{hint}", stored)
        };
        Self {
            action: format!("{PATH}/{}", v.corp.id),
            editing: true,
            corp_id: v.corp.corp_id.clone(),
            name: v.corp.name.clone(),
            agent_id: v.corp.agent_id.map(|a| a.to_string()).unwrap_or_default(),
            api_base: v.corp.api_base.clone().unwrap_or_default(),
            active: v.corp.active,
            contact_secret_keep: keep(&v.contact_secret_hint),
            app_secret_keep: keep(&v.app_secret_hint),
            callback_token_keep: keep(&v.callback_token_hint),
            callback_url: v.callback_url.clone(),
        }
    }

    /// Takes what was typed (but no secret) back into the form.
    fn keep(mut self, input: &CorpInput, agent_id: &str) -> Self {
        if !self.editing {
            self.corp_id = input.corp_id.clone();
        }
        self.name = input.name.clone();
        self.agent_id = agent_id.to_string();
        self.api_base = input.api_base.clone();
        self.active = input.active;
        self
    }
}

#[derive(Template)]
#[template(path = "wecom.html")]
struct WecomPage {
    chrome: Chrome,
    corps: Vec<CorpRow>,
    form: CorpForm,
    errors: FormErrors,
    job: Option<JobView>,
}

#[derive(Template)]
#[template(path = "wecom_edit.html")]
struct EditPage {
    chrome: Chrome,
    form: CorpForm,
    errors: FormErrors,
}

/// Inline errors of the corp form, in the console's words where the catalogue has them.
fn corp_errors(tr: Tr, e: &AppError) -> FormErrors {
    let mut errors = FormErrors::from_error(tr, e, "corp_id");
    let key = match e {
        AppError::Conflict(_) => "wecom.err.corp_taken".to_string(),
        AppError::Invalid(i) if i.field != "agent_id" => format!("wecom.err.{}", i.field),
        _ => return errors,
    };
    let message = tr.t(&key);
    if message != key
        && let Some(first) = errors.0.first_mut()
    {
        first.message = message.to_string();
    }
    errors
}

/// The form's fields as the app takes them, the agent id as typed, and the problem with it if it is no number.
fn corp_input(fields: &[(String, String)], active: bool) -> (CorpInput, String, Option<AppError>) {
    let agent = text(fields, "agent_id");
    let secret = |k: &str| one(fields, k).unwrap_or("").to_string();
    let (agent_id, error) = match agent.parse::<i64>() {
        _ if agent.is_empty() => (None, None),
        Ok(n) => (Some(n), None),
        Err(_) => (None, Some(AppError::invalid("agent_id", "expected_number"))),
    };
    let input = CorpInput {
        corp_id: text(fields, "corp_id"),
        name: text(fields, "name"),
        agent_id,
        contact_secret: secret("contact_secret"),
        app_secret: secret("app_secret"),
        callback_token: secret("callback_token"),
        callback_aes_key: secret("callback_aes_key"),
        api_base: text(fields, "api_base"),
        active,
    };
    (input, agent, error)
}

#[derive(Deserialize)]
struct ListParams {
    /// A sync job to show the progress of.
    job: Option<String>,
}

async fn list_page(
    state: &AppState,
    ca: &ConsoleActor,
    form: CorpForm,
    errors: FormErrors,
    job: Option<JobId>,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "wecom");
    let corps = state.app.corps(&ca.actor).await?.into_iter().map(CorpRow::of).collect();
    let job = match job {
        Some(id) => {
            let job = state.app.job(&ca.actor, id).await?;
            Some(JobView::new(chrome.tr, &job))
        }
        None => None,
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, render(&WecomPage { chrome, corps, form, errors, job })).into_response())
}

async fn list(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<ListParams>) -> ConsoleResult {
    let job = q.job.as_deref().map(parse_id::<JobId>).transpose()?;
    list_page(&state, &ca, CorpForm::blank(), FormErrors::default(), job).await
}

async fn connect(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    ca.actor.require(Permission::UsersManage)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "wecom").tr;
    let (input, agent, error) = corp_input(&fields, true);
    if let Some(e) = error {
        let form = CorpForm::blank().keep(&input, &agent);
        return list_page(&state, &ca, form, corp_errors(tr, &e), None).await;
    }
    match state.app.connect_corp(&ca.actor, &input).await {
        Ok(v) => Ok(Redirect::to(&format!("{PATH}#corp-{}", v.corp.id)).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            let form = CorpForm::blank().keep(&input, &agent);
            list_page(&state, &ca, form, corp_errors(tr, &e), None).await
        }
        Err(e) => Err(e.into()),
    }
}

fn edit_render(ca: &ConsoleActor, form: CorpForm, errors: FormErrors) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "wecom");
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, render(&EditPage { chrome, form, errors })).into_response())
}

async fn edit_page(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: CorpId = parse_id(&id)?;
    let view = state.app.corp(&ca.actor, id).await?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "wecom").tr;
    edit_render(&ca, CorpForm::of(tr, &view), FormErrors::default())
}

async fn update(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: CorpId = parse_id(&id)?;
    // The corp first: another tenant's id is not found before anything else is judged.
    let view = state.app.corp(&ca.actor, id).await?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "wecom").tr;
    let active = one(&fields, "active").is_some();
    let (mut input, agent, error) = corp_input(&fields, active);
    if let Some(e) = error {
        return edit_render(&ca, CorpForm::of(tr, &view).keep(&input, &agent), corp_errors(tr, &e));
    }
    // A connected corp's id is fixed (the field is read-only).
    input.corp_id = view.corp.corp_id.clone();
    match state.app.update_corp(&ca.actor, id, &input).await {
        Ok(v) => Ok(Redirect::to(&format!("{PATH}#corp-{}", v.corp.id)).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            edit_render(&ca, CorpForm::of(tr, &view).keep(&input, &agent), corp_errors(tr, &e))
        }
        Err(e) => Err(e.into()),
    }
}

/// Tests the connection; the outcome is stored and shown in the list.
async fn test(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: CorpId = parse_id(&id)?;
    let v = state.app.test_corp(&post.ca.actor, id).await?;
    Ok(Redirect::to(&format!("{PATH}#corp-{}", v.corp.id)).into_response())
}

/// Queues a full sync and shows its progress on the list.
async fn sync(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: CorpId = parse_id(&id)?;
    let job = state.app.queue_wecom_sync(&post.ca.actor, id).await?;
    Ok(Redirect::to(&format!("{PATH}?job={}", job.id)).into_response())
}

/// The tenant's corps (id, name), active ones only unless `all`: the corp pickers of the WeCom forms.
pub(crate) async fn corps(state: &AppState, tenant: TenantId, all: bool) -> Result<Vec<(CorpId, String)>, AppError> {
    let corps = state.app.store.wecom().corps(tenant).await?;
    Ok(corps.into_iter().filter(|c| all || c.active).map(|c| (c.id, c.name)).collect())
}

/// The corp a new form starts on: the one the link named (`?corp=`), else the first; empty when none.
pub(crate) fn picked_corp(corps: &[(CorpId, String)], wanted: Option<&str>) -> String {
    let wanted = wanted.unwrap_or_default();
    corps
        .iter()
        .find(|c| c.0.to_string() == wanted)
        .or_else(|| corps.first())
        .map(|c| c.0.to_string())
        .unwrap_or_default()
}
