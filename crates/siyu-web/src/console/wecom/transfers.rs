//! Console: 客户继承 (customer inheritance). `/console/wecom/transfers` lists the batches with their item
//! counts; `/console/wecom/transfers/{id}` shows one batch item by item (state, WeCom status, errcode, when
//! taken over) with a button to pull WeCom's results now. The new-transfer flow (staff → customers and
//! groups → notice → preview → confirm) is in `form`.

mod form;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_app::wecom::TransferView;
use siyu_domain::id::{CorpId, CustomerId, TenantId, TransferId};
use siyu_domain::wecom::transfer::{BatchStatus, ItemKind, TransferCounts};

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{fmt_opt, fmt_time, label};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/wecom/transfers";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .post(PATH, form::create)
        .get("/console/wecom/transfers/new", form::new_page)
        .post("/console/wecom/transfers/preview", form::preview)
        .get("/console/wecom/transfers/{id}", detail)
        .post("/console/wecom/transfers/{id}/results", refresh)
        .into_router()
}

/// Staff names of a corp by userid.
async fn staff_names(state: &AppState, tenant: TenantId, corp: CorpId) -> Result<HashMap<String, String>, AppError> {
    let staff = state.app.store.wecom().staff(tenant, corp).await?;
    Ok(staff.into_iter().map(|s| (s.userid, s.name)).collect())
}

fn name_of(names: &HashMap<String, String>, userid: &str) -> String {
    names.get(userid).cloned().unwrap_or_else(|| userid.to_string())
}

/// One batch as the list (and the detail page's head) shows it.
pub struct BatchRow {
    pub id: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub status: String,
    pub status_class: &'static str,
    pub message: String,
    pub created: String,
    pub finished: String,
    pub counts: TransferCounts,
    pub total: i64,
    /// Refused and failed together.
    pub not_done: i64,
    /// Limited and skipped together (never sent).
    pub blocked: i64,
    pub open: bool,
}

impl BatchRow {
    fn of(tr: Tr, v: &TransferView, names: &HashMap<String, String>) -> Self {
        let b = &v.batch;
        let c = v.counts.clone();
        Self {
            id: b.id.to_string(),
            kind: label(tr, "transfers.kind", b.kind.as_str()),
            from: name_of(names, &b.handover_userid),
            to: name_of(names, &b.takeover_userid),
            status: label(tr, "transfers.status", b.status.as_str()),
            status_class: match b.status {
                BatchStatus::Done => "ok",
                BatchStatus::Failed => "error",
                _ => "warn",
            },
            message: b.message.clone().unwrap_or_default(),
            created: fmt_time(&b.created_at),
            finished: fmt_opt(&b.finished_at),
            total: c.total(),
            not_done: c.refused + c.failed,
            blocked: c.limited + c.skipped,
            open: matches!(b.status, BatchStatus::Sending | BatchStatus::Waiting),
            counts: c,
        }
    }
}

#[derive(Template)]
#[template(path = "wecom_transfers.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<BatchRow>,
    /// Items of the listed batches by state.
    totals: TransferCounts,
}

async fn list(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "transfers");
    let tr = chrome.tr;
    let views = state.app.transfers(&ca.actor).await?;
    let mut names: HashMap<CorpId, HashMap<String, String>> = HashMap::new();
    let mut totals = TransferCounts::default();
    let mut rows = Vec::new();
    for v in &views {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(v.batch.corp) {
            slot.insert(staff_names(&state, ca.actor.tenant, v.batch.corp).await?);
        }
        let c = &v.counts;
        for (status, n) in [
            ("pending", c.pending),
            ("waiting", c.waiting),
            ("success", c.success),
            ("refused", c.refused),
            ("failed", c.failed),
            ("limited", c.limited),
            ("skipped", c.skipped),
        ] {
            totals.add(status, n);
        }
        rows.push(BatchRow::of(tr, v, names.get(&v.batch.corp).unwrap_or(&HashMap::new())));
    }
    Ok(render(&ListPage { chrome, rows, totals }))
}

/// One item of the detail page.
pub struct ItemRow {
    pub group: bool,
    pub target: String,
    pub name: String,
    pub customer: Option<String>,
    pub status: String,
    pub status_class: &'static str,
    pub reason: String,
    pub takeover: String,
    pub errcode: String,
}

#[derive(Template)]
#[template(path = "wecom_transfer_detail.html")]
struct DetailPage {
    chrome: Chrome,
    batch: BatchRow,
    items: Vec<ItemRow>,
    error: Option<String>,
}

async fn detail(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: TransferId = parse_id(&id)?;
    let v = state.app.transfer(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "transfers");
    let tr = chrome.tr;
    let tenant = ca.actor.tenant;
    let names = staff_names(&state, tenant, v.batch.corp).await?;
    let items = v.items.clone().unwrap_or_default();
    let ids: Vec<CustomerId> = items.iter().filter_map(|i| i.customer_id).collect();
    let customers: HashMap<CustomerId, String> = state
        .app
        .store
        .customers()
        .by_ids(tenant, &ids)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let (groups, _) = state
        .app
        .store
        .wecom()
        .groups(tenant, &siyu_app::wecom::GroupQuery { corp: Some(v.batch.corp), limit: 10_000, ..Default::default() })
        .await
        .map_err(AppError::from)?;
    let group_names: HashMap<String, String> = groups.into_iter().map(|g| (g.chat_id, g.name)).collect();
    let items = items
        .into_iter()
        .map(|i| {
            let group = i.kind == ItemKind::Group;
            let name = if group {
                group_names.get(&i.target).cloned()
            } else {
                i.customer_id.and_then(|c| customers.get(&c).cloned())
            };
            ItemRow {
                group,
                name: name.unwrap_or_default(),
                customer: i.customer_id.map(|c| c.to_string()),
                status: label(tr, "transfers.item", &i.status),
                status_class: match i.status.as_str() {
                    "success" => "ok",
                    "refused" | "failed" => "error",
                    "limited" | "skipped" => "off",
                    _ => "warn",
                },
                reason: i.reason.as_deref().map(|r| label(tr, "transfers.reason", r)).unwrap_or_default(),
                takeover: fmt_opt(&i.takeover_at),
                errcode: i.errcode.map(|c| c.to_string()).unwrap_or_default(),
                target: i.target,
            }
        })
        .collect();
    let error = v.batch.error.clone();
    let page = DetailPage { batch: BatchRow::of(tr, &v, &names), items, error, chrome };
    Ok(render(&page))
}

/// Sends what is pending and pulls WeCom's results now.
async fn refresh(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: TransferId = parse_id(&id)?;
    state.app.transfer(&post.ca.actor, id).await?;
    state.app.refresh_transfer(&post.ca.actor, id).await?;
    Ok(Redirect::to(&format!("{PATH}/{id}")).into_response())
}
