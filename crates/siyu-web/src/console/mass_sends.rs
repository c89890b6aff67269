//! Console: 企业群发 (mass sends). `/console/wecom/mass-sends` lists the sends with their progress;
//! `/console/wecom/mass-sends/{id}` shows one (per-sender tallies, recipients, remind / pull results /
//! cancel); the create form with its audience preview is in `form`.

pub(crate) mod form;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::MassSendView;
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, MassSendId, TenantId};
use siyu_domain::wecom::mass::MassCounts;

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{error_message, fmt_time, label};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub(crate) const PATH: &str = "/console/wecom/mass-sends";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .post(PATH, form::create)
        .get("/console/wecom/mass-sends/new", form::new_page)
        .get("/console/wecom/mass-sends/{id}", detail)
        .post("/console/wecom/mass-sends/{id}/remind", remind)
        .post("/console/wecom/mass-sends/{id}/results", results)
        .post("/console/wecom/mass-sends/{id}/cancel", cancel)
        .into_router()
}

/// Staff names by userid of a corp.
pub(crate) async fn staff_names(
    state: &AppState,
    tenant: TenantId,
    corp: CorpId,
) -> Result<HashMap<String, String>, AppError> {
    Ok(state.app.store.wecom().staff(tenant, corp).await?.into_iter().map(|s| (s.userid, s.name)).collect())
}

/// Counts as the list and the detail page show them.
pub struct Figures {
    /// Recipients WeCom was asked to reach (or will be).
    pub total: i64,
    pub waiting: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub skipped: i64,
    /// Of `total`, handed to WeCom (%).
    pub sent_pct: i64,
    /// Of `total`, confirmed delivered (%).
    pub delivered_pct: i64,
}

impl Figures {
    pub fn of(c: &MassCounts) -> Self {
        let out_of_wecom = c.delivered + c.not_friend + c.capped_by_wecom;
        let total = c.planned + c.sent + out_of_wecom + c.failed;
        let pct = |n: i64| (n * 100).checked_div(total).unwrap_or(0);
        Self {
            total,
            waiting: c.planned,
            sent: c.sent + out_of_wecom,
            delivered: c.delivered,
            failed: c.failed + c.not_friend + c.capped_by_wecom,
            skipped: c.opted_out + c.capped + c.no_staff,
            sent_pct: pct(c.sent + out_of_wecom + c.failed),
            delivered_pct: pct(c.delivered),
        }
    }
}

/// One send as the list shows it.
pub struct SendRow {
    pub id: String,
    pub name: String,
    pub groups: bool,
    pub status: String,
    pub status_label: String,
    pub figures: Figures,
    pub scheduled: String,
    pub created: String,
}

impl SendRow {
    fn of(tr: Tr, v: &MassSendView) -> Self {
        let status = v.send.status.as_str();
        Self {
            id: v.send.id.to_string(),
            name: v.send.name.clone(),
            groups: v.send.audience.groups.is_some(),
            status: status.to_string(),
            status_label: label(tr, "mass.status", status),
            figures: Figures::of(&v.counts),
            scheduled: fmt_time(&v.send.scheduled_at),
            created: fmt_time(&v.send.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "mass_sends.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<SendRow>,
    can_edit: bool,
}

async fn list(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "mass_sends");
    let sends = state.app.mass_sends(&ca.actor).await?;
    let page = ListPage {
        rows: sends.iter().map(|v| SendRow::of(chrome.tr, v)).collect(),
        can_edit: ca.actor.can(Permission::CustomersWrite),
        chrome,
    };
    Ok(render(&page))
}

/// One sender's line of the detail page.
pub struct SenderLine {
    pub name: String,
    pub figures: Figures,
}

/// One recipient's line.
pub struct RecipientLine {
    pub name: String,
    /// The customer page, for customers.
    pub href: Option<String>,
    pub sender: String,
    pub status: String,
    pub status_label: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "mass_send_detail.html")]
struct DetailPage {
    chrome: Chrome,
    send: SendRow,
    text: String,
    attachments: usize,
    audience: String,
    error: Option<String>,
    senders: Vec<SenderLine>,
    recipients: Vec<RecipientLine>,
    notice: Option<String>,
    problem: Option<String>,
    can_edit: bool,
    open: bool,
}

#[derive(Deserialize, Default)]
struct DetailParams {
    #[serde(default)]
    notice: Option<String>,
}

async fn detail(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<DetailParams>,
) -> ConsoleResult {
    let id: MassSendId = parse_id(&id)?;
    detail_page(&state, &ca, id, q.notice, None).await
}

async fn detail_page(
    state: &AppState,
    ca: &ConsoleActor,
    id: MassSendId,
    notice: Option<String>,
    problem: Option<String>,
) -> ConsoleResult {
    let v = state.app.mass_send(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "mass_sends");
    let tr = chrome.tr;
    let names = staff_names(state, ca.actor.tenant, v.send.corp).await?;
    let name_of = |u: &Option<String>| match u {
        Some(u) => names.get(u).cloned().unwrap_or_else(|| u.clone()),
        None => "—".to_string(),
    };
    let senders = state
        .app
        .mass_senders(&ca.actor, id)
        .await?
        .iter()
        .map(|s| SenderLine { name: name_of(&s.sender), figures: Figures::of(&s.counts) })
        .collect();
    let recipients = state
        .app
        .mass_recipients(&ca.actor, id, None, 200)
        .await?
        .into_iter()
        .map(|r| RecipientLine {
            href: r.customer_id.map(|c| format!("/console/customers/{c}")),
            name: r.name,
            sender: name_of(&r.sender),
            status_label: label(tr, "mass.recipient", &r.status),
            status: r.status,
            updated: fmt_time(&r.updated_at),
        })
        .collect();
    let a = &v.send.audience;
    let audience = match &a.groups {
        Some(g) if g.owners.is_empty() => tr.t("mass.all_groups").to_string(),
        Some(g) => format!(
            "{}：{}",
            tr.t("mass.groups_of"),
            g.owners.iter().map(|o| name_of(&Some(o.clone()))).collect::<Vec<_>>().join("、")
        ),
        None if a.segment.is_none() && a.tag_ids.is_empty() && a.staff.is_empty() => {
            tr.t("mass.all_customers").to_string()
        }
        None => tr.t("mass.filtered_customers").to_string(),
    };
    let open = matches!(v.send.status.as_str(), "scheduled" | "planned" | "sending" | "sent");
    let page = DetailPage {
        text: v.send.content.text.clone(),
        attachments: v.send.content.attachments.len(),
        audience,
        error: v.send.error.clone(),
        send: SendRow::of(tr, &v),
        senders,
        recipients,
        notice: notice.map(|n| label(tr, "mass.notice", &n)),
        problem,
        can_edit: ca.actor.can(Permission::CustomersWrite),
        open,
        chrome,
    };
    Ok(render(&page))
}

/// Runs an action on a send: back to its page with a notice, or the page with WeCom's refusal.
async fn act(
    state: &AppState,
    post: FormPost,
    id: &str,
    notice: &str,
    run: impl AsyncFnOnce(&AppState, &siyu_app::Actor, MassSendId) -> Result<(), AppError>,
) -> ConsoleResult {
    let id: MassSendId = parse_id(id)?;
    state.app.mass_send(&post.ca.actor, id).await?;
    match run(state, &post.ca.actor, id).await {
        Ok(()) => Ok(Redirect::to(&format!("{PATH}/{id}?notice={notice}")).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_) | AppError::RateLimited { .. })) => {
            let tr = Chrome::new(&post.ca.user, Some(&post.ca.actor), "mass_sends").tr;
            detail_page(state, &post.ca, id, None, Some(error_message(tr, &e))).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn remind(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    act(&state, post, &id, "reminded", async |s, a, id| s.app.remind_mass_send(a, id).await.map(|_| ())).await
}

async fn results(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    act(&state, post, &id, "refreshed", async |s, a, id| s.app.refresh_mass_results(a, id).await.map(|_| ())).await
}

async fn cancel(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    act(&state, post, &id, "cancelled", async |s, a, id| s.app.cancel_mass_send(a, id).await.map(|_| ())).await
}
