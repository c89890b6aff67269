//! Console pages: customers. This file holds the list (filters, cursor paging, bulk tagging, export links)
//! and job progress; the create/edit forms live in `form`, the customer page in `detail`.

pub mod activity;
pub mod aggregates;
pub mod detail;
pub mod edits;
pub mod filter;
pub mod form;
pub mod merges;
pub mod orders;
pub mod privacy;
pub mod sandbox;
pub mod segments;
pub mod stage;
pub mod timeline;
pub mod values;
pub mod view;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router};
use siyu_app::AppError;
use siyu_app::tags::{BulkTagRequest, BulkTarget, FilterSpec, TagGroupView};
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, JobId, TagId};
use siyu_domain::job::{Job, JobStatus};
use siyu_domain::page::PageRequest;

use self::filter::ListParams;
use self::view::{FormErrors, Picker, all, fmt_opt, fmt_time, label, one};
use super::page::{Chrome, ConsoleError, ConsoleResult, check_csrf, render};
use crate::auth::ConsoleActor;
use crate::console::csrf_from;
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/console/customers", list)
        .post("/console/customers", form::create)
        .get("/console/customers/new", form::new_page)
        .post("/console/customers/bulk-tag", bulk_tag)
        .get("/console/customers/{id}", detail::show)
        .post("/console/customers/{id}", form::update)
        .get("/console/customers/{id}/edit", form::edit_page)
        .post("/console/customers/{id}/delete", form::delete)
        .post("/console/customers/{id}/tags", detail::change_tags)
        .post("/console/customers/{id}/notes", detail::add_note)
        .post("/console/customers/{id}/stage", stage::set_stage)
        .post("/console/customers/{id}/follows", detail::add_follow)
        .post("/console/customers/{id}/follows/{user_id}/delete", detail::remove_follow)
        .get("/console/customers/{id}/timeline", activity::timeline)
        .get("/console/customers/{id}/orders", orders::orders)
        .post("/console/customers/{id}/consents/{purpose}", privacy::change_consent)
        .get("/console/customers/{id}/personal-data", privacy::export)
        .get("/console/customers/{id}/erasure", privacy::confirm)
        .post("/console/customers/{id}/erasure", privacy::erase)
        .post("/console/customers/{id}/identities/{identity_id}/reveal", edits::reveal)
        .post("/console/customers/{id}/identities", edits::add_identity)
        .post("/console/customers/{id}/identities/{identity_id}/delete", edits::remove_identity)
        .post("/console/customers/{id}/notes/{note_id}/delete", edits::delete_note)
        .post("/console/merges/{id}/undo", merges::undo)
        .get("/console/jobs/{id}", job)
        .into_router()
}

/// Parses an id from a path segment; anything unparsable is simply not found.
pub fn parse_id<T: std::str::FromStr>(s: &str) -> Result<T, ConsoleError> {
    s.parse().map_err(|_| ConsoleError(AppError::NotFound))
}

/// Parses a list of tag ids from form values, as an inline error on `field`.
pub fn tag_ids(field: &str, values: &[&str]) -> Result<Vec<TagId>, AppError> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().map_err(|_| AppError::invalid(field, "invalid_id")))
        .collect()
}

/// One row of the customer list.
pub struct Row {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub tags: Vec<(String, String)>,
    pub source: String,
    pub created: String,
    pub last_active: String,
    pub checked: bool,
}

/// A job's progress as the progress card shows it.
pub struct JobView {
    pub id: String,
    pub title: String,
    pub status: &'static str,
    pub status_label: String,
    pub percent: i64,
    pub done: i64,
    pub total: i64,
    pub finished: bool,
    pub error: Option<String>,
    pub summary: String,
    /// Where the standalone job page links back to (empty inside other pages).
    pub back_url: String,
    pub back_label: String,
}

impl JobView {
    pub fn new(tr: Tr, job: &Job) -> Self {
        let changed = job.result.as_ref().and_then(|r| r["customers"].as_i64());
        let summary = match (job.status, changed) {
            (JobStatus::Done, Some(n)) => format!("{} {n}", tr.t("job.changed_customers")),
            (JobStatus::Done, None) => tr.t("job.status.done").to_string(),
            _ => format!("{} / {}", job.progress_done, job.progress_total),
        };
        Self {
            id: job.id.to_string(),
            title: label(tr, "job.kind", &job.kind),
            status: job.status.as_str(),
            status_label: label(tr, "job.status", job.status.as_str()),
            percent: job.percent(),
            done: job.progress_done,
            total: job.progress_total,
            finished: job.status.is_finished(),
            error: job.error.clone(),
            summary,
            back_url: String::new(),
            back_label: tr.t("job.back").to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "job_fragment.html")]
struct JobFragment {
    job: JobView,
}

#[derive(Template)]
#[template(path = "job_page.html")]
struct JobPage {
    chrome: Chrome,
    job: JobView,
}

async fn job(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ConsoleResult {
    let id: JobId = parse_id(&id)?;
    let job = state.app.job(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "customers");
    let mut view = JobView::new(chrome.tr, &job);
    if headers.contains_key("hx-request") {
        let mut res = render(&JobFragment { job: view });
        // The page polling this job shows data the job changed: reload it once the job is over.
        if job.status.is_finished() {
            res.headers_mut().insert("hx-refresh", axum::http::HeaderValue::from_static("true"));
        }
        Ok(res)
    } else {
        if job.kind == "bulk_tag" {
            view.back_url = "/console/customers".into();
        }
        Ok(render(&JobPage { chrome, job: view }))
    }
}

/// What the bulk form had when it failed validation (to show it again).
#[derive(Default)]
struct BulkState {
    error: Option<String>,
    ids: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    all_matching: bool,
}

#[derive(Template)]
#[template(path = "customers_list.html")]
struct ListPage {
    chrome: Chrome,
    params: ListParams,
    errors: FormErrors,
    rows: Vec<Row>,
    total: i64,
    next_url: Option<String>,
    first_url: Option<String>,
    query: String,
    filter_pairs: Vec<(&'static str, String)>,
    pickers: Vec<Picker>,
    staff: Vec<(String, String, bool)>,
    bulk_pickers: Vec<Picker>,
    bulk: BulkState,
    job: Option<JobView>,
    flash_deleted: bool,
    can_write: bool,
    can_export: bool,
}

impl ListPage {
    fn export_url(&self, ext: &str) -> String {
        if self.query.is_empty() {
            format!("/console/customers/export.{ext}")
        } else {
            format!("/console/customers/export.{ext}?{}", self.query)
        }
    }
}

async fn list(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ConsoleResult {
    let job = match one(&pairs, "job").and_then(|j| j.parse::<JobId>().ok()) {
        Some(id) => state.app.job(&ca.actor, id).await.ok(),
        None => None,
    };
    list_page(&state, &ca, &pairs, job, BulkState::default()).await
}

async fn list_page(
    state: &AppState,
    ca: &ConsoleActor,
    pairs: &[(String, String)],
    job: Option<Job>,
    bulk: BulkState,
) -> ConsoleResult {
    let (app, a) = (&state.app, &ca.actor);
    let chrome = Chrome::new(&ca.user, Some(a), "customers");
    let tr = chrome.tr;
    let params = ListParams::from_pairs(pairs);
    let groups: Vec<TagGroupView> = app.tag_groups(a).await?;
    let members = app.list_members(a).await?;
    let mut errors = FormErrors::default();
    let mut rows = Vec::new();
    let (mut total, mut next_url) = (0, None);
    let filter = params.filter().map_err(AppError::Invalid);
    let page = PageRequest::parse(params.cursor.as_deref(), params.limit).map_err(AppError::Invalid);
    match (filter, page) {
        (Ok(filter), Ok(page)) => {
            let result = app.list_customers(a, &filter, page).await?;
            total = app.count_customers(a, &filter).await?;
            next_url = result.next_cursor.as_deref().map(|c| params.url("/console/customers", Some(c)));
            rows = result
                .items
                .into_iter()
                .map(|s| Row {
                    id: s.customer.id.to_string(),
                    checked: bulk.ids.contains(&s.customer.id.to_string()),
                    name: s.customer.name,
                    phone: s.phone.unwrap_or_default(),
                    tags: s.tags.into_iter().map(|t| (t.name, t.group)).collect(),
                    source: label(tr, "source", &s.customer.source),
                    created: fmt_time(&s.customer.created_at),
                    last_active: fmt_opt(&s.customer.last_active_at),
                })
                .collect();
        }
        (Err(e), _) | (_, Err(e)) if matches!(e, AppError::Invalid(_)) => {
            errors = FormErrors::from_error(tr, &e, "q");
        }
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    }
    let picker =
        |name, key: &str, chosen: &[String]| Picker::new(tr, name, key, "tags.any_placeholder", &groups, chosen);
    let pickers = vec![
        picker("tags_any", "customers.tags_any", &params.tags_any),
        picker("tags_all", "customers.tags_all", &params.tags_all),
        picker("tags_none", "customers.tags_none", &params.tags_none),
    ];
    let bulk_picker = |name, key: &str, chosen: &[String]| Picker::new(tr, name, key, "tags.choose", &groups, chosen);
    let bulk_pickers = vec![
        bulk_picker("add", "customers.bulk_add", &bulk.add).in_form("bulk"),
        bulk_picker("remove", "customers.bulk_remove", &bulk.remove).in_form("bulk"),
    ];
    let staff = members
        .iter()
        .filter(|m| m.active)
        .map(|m| {
            let id = m.user_id.to_string();
            (m.display_name.clone(), id.clone(), id == params.staff)
        })
        .collect();
    let first_url = params.cursor.as_ref().map(|_| params.url("/console/customers", None));
    let page = ListPage {
        query: params.query(),
        filter_pairs: params.pairs(),
        errors,
        rows,
        total,
        next_url,
        first_url,
        pickers,
        staff,
        bulk_pickers,
        bulk,
        job: job.map(|j| JobView::new(tr, &j)),
        flash_deleted: one(pairs, "done") == Some("deleted"),
        can_write: a.can(Permission::CustomersWrite),
        can_export: a.can(Permission::CustomersExport),
        params,
        chrome,
    };
    Ok(render(&page))
}

async fn bulk_tag(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, one(&pairs, "_csrf")))?;
    let params = ListParams::from_pairs(&pairs);
    let all_matching = one(&pairs, "target") == Some("filter");
    let ids: Vec<String> = all(&pairs, "ids").into_iter().map(str::to_string).collect();
    let request = || -> Result<BulkTagRequest, AppError> {
        let target = if all_matching {
            BulkTarget::Filter(FilterSpec::from(&params.filter()?))
        } else {
            let ids: Result<Vec<CustomerId>, _> = ids.iter().map(|i| i.parse()).collect();
            BulkTarget::Ids(ids.map_err(|_| AppError::invalid("target", "invalid_id"))?)
        };
        let add = tag_ids("add", &all(&pairs, "add"))?;
        let remove = tag_ids("remove", &all(&pairs, "remove"))?;
        Ok(BulkTagRequest { target, add, remove })
    };
    let outcome = match request() {
        Ok(req) => state.app.bulk_tag(&ca.actor, req).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(job) => {
            let back = params.url("/console/customers", None);
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!("{back}{sep}job={}", job.id)).into_response())
        }
        Err(e @ AppError::Invalid(_)) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "customers").tr;
            let bulk = BulkState {
                error: Some(view::error_message(tr, &e)),
                ids,
                add: all(&pairs, "add").into_iter().map(str::to_string).collect(),
                remove: all(&pairs, "remove").into_iter().map(str::to_string).collect(),
                all_matching,
            };
            let filter_pairs: Vec<(String, String)> =
                params.pairs().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let page = list_page(&state, &ca, &filter_pairs, None, bulk).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
