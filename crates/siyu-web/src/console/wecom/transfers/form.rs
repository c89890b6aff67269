//! The new-transfer flow: `/console/wecom/transfers/new` picks the corp, on-job or departed staff and the
//! handover (a GET form, so each choice reloads the page with what it offers), then the takeover, the
//! customers and groups (all ticked) and the notice; `…/preview` shows what would happen to each, blocked
//! items with their reason (the 90-day guard with the date it lifts), and posts the confirmation (with a
//! one-time key, so a double click makes one batch) to `/console/wecom/transfers`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::{PreviewItem, TransferInput};
use siyu_domain::id::CorpId;
use siyu_domain::wecom::transfer::TransferKind;

use super::{PATH, name_of, staff_names};
use crate::auth::ConsoleActor;
use crate::console::customers::view::{all, error_message, fmt_time, label, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct NewParams {
    #[serde(default)]
    corp: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    handover: Option<String>,
}

/// An option of a select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A ticked-by-default checkbox.
pub struct Pick {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "wecom_transfer_form.html")]
struct NewPage {
    chrome: Chrome,
    corps: Vec<Opt>,
    corp: String,
    resigned: bool,
    handovers: Vec<Opt>,
    handover: String,
    takeovers: Vec<Opt>,
    customers: Vec<Pick>,
    groups: Vec<Pick>,
    error: Option<String>,
}

fn opts(items: impl IntoIterator<Item = (String, String)>, selected: &str) -> Vec<Opt> {
    items.into_iter().map(|(value, label)| Opt { selected: value == selected, value, label }).collect()
}

pub async fn new_page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<NewParams>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "transfers");
    let tenant = ca.actor.tenant;
    let wecom = state.app.store.wecom();
    let corps: Vec<(CorpId, String)> = wecom
        .corps(tenant)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .filter(|c| c.active)
        .map(|c| (c.id, c.name))
        .collect();
    let corp = q.corp.as_deref().and_then(|c| c.parse::<CorpId>().ok()).or(corps.first().map(|c| c.0));
    let resigned = q.kind.as_deref() == Some("resigned");
    let handover = q.handover.clone().unwrap_or_default();
    let mut page = NewPage {
        corps: opts(
            corps.iter().map(|c| (c.0.to_string(), c.1.clone())),
            &corp.map(|c| c.to_string()).unwrap_or_default(),
        ),
        corp: corp.map(|c| c.to_string()).unwrap_or_default(),
        resigned,
        handovers: Vec::new(),
        handover: handover.clone(),
        takeovers: Vec::new(),
        customers: Vec::new(),
        groups: Vec::new(),
        error: None,
        chrome,
    };
    let Some(corp) = corp.filter(|c| corps.iter().any(|(id, _)| id == c)) else {
        return Ok(render(&page));
    };
    let staff = wecom.staff(tenant, corp).await.map_err(AppError::from)?;
    let label_of = |s: &siyu_domain::wecom::WecomStaff| format!("{} ({})", s.name, s.userid);
    let handovers = staff.iter().filter(|s| (s.status == 5) == resigned).map(|s| (s.userid.clone(), label_of(s)));
    page.handovers = opts(handovers, &handover);
    let takeovers = staff.iter().filter(|s| s.status == 1 && s.contact_enabled && s.userid != handover);
    page.takeovers = opts(takeovers.map(|s| (s.userid.clone(), label_of(s))), "");
    let Some(from) = staff.iter().find(|s| s.userid == handover) else {
        return Ok(render(&page));
    };
    let corp_id = wecom.corp(tenant, corp).await.map_err(AppError::from)?.corp_id;
    let customers: Result<Vec<Pick>, AppError> = if resigned {
        state.app.unassigned_customers(&ca.actor, corp).await.map(|list| {
            list.into_iter()
                .filter(|u| u.handover_userid == handover)
                .map(|u| Pick { label: display(&u.customer_name, &u.external_userid), value: u.external_userid })
                .collect()
        })
    } else {
        let followed = wecom.followed_contacts(tenant, &corp_id, from.user_id).await.map_err(AppError::from)?;
        Ok(followed.into_iter().map(|(ext, _, name)| Pick { label: display(&name, &ext), value: ext }).collect())
    };
    match customers {
        Ok(c) => page.customers = c,
        Err(e) => page.error = Some(error_message(page.chrome.tr, &e)),
    }
    let q = siyu_app::wecom::GroupQuery { corp: Some(corp), limit: 10_000, ..Default::default() };
    let (groups, _) = wecom.groups(tenant, &q).await.map_err(AppError::from)?;
    page.groups = groups
        .into_iter()
        .filter(|g| g.owner_userid == handover)
        .map(|g| Pick { label: display(&g.name, &g.chat_id), value: g.chat_id })
        .collect();
    Ok(render(&page))
}

fn display(name: &str, id: &str) -> String {
    if name.is_empty() { id.to_string() } else { format!("{name} · {id}") }
}

/// The flow's fields as the app takes them.
fn input(fields: &[(String, String)]) -> Result<TransferInput, AppError> {
    let corp: CorpId = text(fields, "corp").parse().map_err(|_| AppError::invalid("corp", "unknown corp"))?;
    let kind = TransferKind::parse(&text(fields, "kind")).unwrap_or(TransferKind::OnJob);
    let list = |key: &str| all(fields, key).into_iter().map(str::to_string).filter(|v| !v.is_empty()).collect();
    let message = text(fields, "message");
    let key = text(fields, "key");
    Ok(TransferInput {
        corp,
        kind,
        handover_userid: text(fields, "handover"),
        takeover_userid: text(fields, "takeover"),
        external_userids: list("customer"),
        all_customers: false,
        chat_ids: list("group"),
        all_groups: false,
        message: (!message.is_empty()).then_some(message),
        key: (!key.is_empty()).then_some(key),
    })
}

/// One row of the preview.
pub struct PreviewRow {
    pub target: String,
    pub name: String,
    pub blocked: Option<String>,
}

#[derive(Template)]
#[template(path = "wecom_transfer_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    corp: String,
    kind: String,
    kind_label: String,
    handover: String,
    handover_name: String,
    takeover: String,
    takeover_name: String,
    message: String,
    customers: Vec<PreviewRow>,
    groups: Vec<PreviewRow>,
    ready: usize,
    blocked: usize,
    key: String,
    back: String,
    error: Option<String>,
}

fn rows(tr: Tr, items: &[PreviewItem]) -> Vec<PreviewRow> {
    items
        .iter()
        .map(|i| PreviewRow {
            target: i.target.clone(),
            name: i.name.clone(),
            blocked: i.blocked.as_deref().map(|b| {
                let why = label(tr, "transfers.reason", b);
                match i.allowed_from {
                    Some(at) => why.replace("{date}", &fmt_time(&at)),
                    None => why,
                }
            }),
        })
        .collect()
}

/// Transfer errors next to what they are about (`transfers.err.<field>`), else the app's words.
fn transfer_error(tr: Tr, e: &AppError) -> String {
    if let AppError::Invalid(i) = e {
        let key = format!("transfers.err.{}", i.field);
        let s = tr.t(&key);
        if s != key {
            return s.to_string();
        }
    }
    error_message(tr, e)
}

async fn preview_page(
    state: &AppState,
    ca: &ConsoleActor,
    input: &TransferInput,
    error: Option<&AppError>,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "transfers");
    let tr = chrome.tr;
    let preview = state.app.preview_transfer(&ca.actor, input).await;
    let error = error.or(preview.as_ref().err()).map(|e| transfer_error(tr, e));
    let names = staff_names(state, ca.actor.tenant, input.corp).await.unwrap_or_default();
    let (customers, groups, ready, blocked) = match &preview {
        Ok(p) => (rows(tr, &p.customers), rows(tr, &p.groups), p.ready, p.blocked),
        Err(_) => (Vec::new(), Vec::new(), 0, 0),
    };
    let kind = input.kind.as_str();
    let page = PreviewPage {
        corp: input.corp.to_string(),
        kind: kind.to_string(),
        kind_label: label(tr, "transfers.kind", kind),
        handover_name: name_of(&names, &input.handover_userid),
        handover: input.handover_userid.clone(),
        takeover_name: name_of(&names, &input.takeover_userid),
        takeover: input.takeover_userid.clone(),
        message: input.message.clone().unwrap_or_default(),
        customers,
        groups,
        ready,
        blocked,
        key: input.key.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        back: format!("{PATH}/new?corp={}&kind={kind}&handover={}", input.corp, input.handover_userid),
        error: error.clone(),
        chrome,
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok((status, render(&page)).into_response())
}

/// What the chosen transfer would do; nothing is sent.
pub async fn preview(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let mut input = input(&post.fields)?;
    input.key = None;
    preview_page(&state, &post.ca, &input, None).await
}

/// Creates the batch (once per key) and shows it.
pub async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let input = input(&post.fields)?;
    match state.app.create_transfer(&post.ca.actor, &input).await {
        Ok(v) => Ok(Redirect::to(&format!("{PATH}/{}", v.batch.id)).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            preview_page(&state, &post.ca, &input, Some(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}
