//! Console pages: importing orders from platform exports (淘宝/天猫, 京东, 拼多多, 有赞, 抖店, or a generic
//! file). Upload → the recognised platform, the column mapping and the first orders and row errors →
//! the `import_orders` job with progress → its summary and per-row error report (with a CSV download);
//! the upload page lists the recent imports.
//!
//! The steps are the customer import's (`console/transfer.rs`), and use its pieces: the upload is kept
//! encrypted in the database, the import is a job any worker runs, and the job page polls itself, so any
//! node can serve any step.

pub mod views;

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router};
use siyu_app::orders::{OrderImportOptions, OrderImportReport};
use siyu_app::transfer::UploadedTable;
use siyu_app::{AppError, AppResult};
use siyu_domain::access::Permission;
use siyu_domain::id::{JobId, UploadId};
use siyu_domain::job::JobStatus;
use siyu_domain::order::Platform;

use self::views::{
    CandidateView, HistoryRow, MappedColumn, PLATFORMS, PlatformOption, SampleOrder, Stat, candidates, file_stats,
    mapping_rows, platform_label, platform_options, report_stats,
};
use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::error_message;
use crate::console::page::{Chrome, ConsoleResult, check_csrf, render};
use crate::console::transfer::views::{ProgressView, ShownErrors};
use crate::console::transfer::{PostedBody, check_form_csrf, errors_download, one, read_body, receive_upload};
use crate::routes::Routes;
use crate::state::AppState;

const BASE: &str = "/console/order-imports";
// Paths with a dot live in constants: the i18n test reads any quoted dotted argument of a `t` call as a key.
const ERRORS_CSV: &str = "/console/order-imports/{id}/errors.csv";
/// Longest shop name or appid the options accept.
const MAX_OPTION_CHARS: usize = 64;

pub fn router() -> Router<AppState> {
    // The upload route reads its body itself, bounded by `server.max_upload_bytes`.
    let uploads = Routes::new()
        .post("/console/order-imports/preview", preview)
        .into_router()
        .layer(axum::extract::DefaultBodyLimit::disable());
    Routes::new()
        .get("/console/order-imports", imports_page)
        .post("/console/order-imports/run", run)
        .get("/console/order-imports/{id}", status)
        .get(ERRORS_CSV, errors_csv)
        .into_router()
        .merge(uploads)
}

#[derive(Template)]
#[template(path = "order_imports.html")]
struct ImportsPage {
    chrome: Chrome,
    can_import: bool,
    error: Option<String>,
    platforms: Vec<PlatformOption>,
    history: Vec<HistoryRow>,
}

/// The upload form and the import history; `error` (a refused upload) is shown above them.
async fn imports_with(state: &AppState, ca: &ConsoleActor, error: Option<&AppError>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "order_imports");
    let tr = chrome.tr;
    let history = state.app.recent_order_imports(&ca.actor).await?;
    let status = error.map_or(StatusCode::OK, |e| StatusCode::from_u16(e.code().status()).unwrap_or(StatusCode::OK));
    let page = ImportsPage {
        can_import: ca.actor.can(Permission::CustomersImport),
        error: error.map(|e| error_message(tr, e)),
        platforms: platform_options(tr, None),
        history: history.iter().map(|s| HistoryRow::new(tr, s)).collect(),
        chrome,
    };
    Ok((status, render(&page)).into_response())
}

async fn imports_page(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    imports_with(&state, &ca, None).await
}

/// The options a form posted: `platform` (empty: recognise it), `shop`, `appid`, `create_prospects`.
fn posted_options(pairs: &[(String, String)]) -> AppResult<OrderImportOptions> {
    let text = |k: &str| -> AppResult<Option<String>> {
        let v = one(pairs, k).map(str::trim).filter(|v| !v.is_empty());
        match v {
            Some(v) if v.chars().count() > MAX_OPTION_CHARS => {
                Err(AppError::invalid(k, format!("too_long (max {MAX_OPTION_CHARS} characters)")))
            }
            v => Ok(v.map(str::to_string)),
        }
    };
    let platform = match text("platform")? {
        None => None,
        Some(p) => {
            let known = Platform::parse(&p).filter(|p| PLATFORMS.contains(p));
            Some(known.ok_or_else(|| AppError::invalid("platform", "unknown_platform"))?)
        }
    };
    Ok(OrderImportOptions {
        platform,
        shop: text("shop")?,
        appid: text("appid")?,
        create_prospects: one(pairs, "create_prospects").is_some(),
        ..Default::default()
    })
}

#[derive(Template)]
#[template(path = "order_import_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    id: String,
    file_name: String,
    error: Option<String>,
    detected: String,
    /// The best candidate's score, when one was recognised.
    confidence: Option<u32>,
    candidates: Vec<CandidateView>,
    platforms: Vec<PlatformOption>,
    shop: String,
    appid: String,
    create_prospects: bool,
    /// The platform the file is read as.
    reading_as: String,
    mapped: Vec<MappedColumn>,
    unused: Vec<String>,
    stats: Vec<Stat>,
    orders: usize,
    sample: Vec<SampleOrder>,
    errors: ShownErrors,
    can_run: bool,
}

/// The preview of `file` with `options`; `error` (refused options) is shown above it.
async fn preview_page(
    state: &AppState,
    ca: &ConsoleActor,
    file: UploadedTable,
    options: OrderImportOptions,
    error: Option<AppError>,
) -> ConsoleResult {
    let p = state.app.preview_order_import(&ca.actor, file, &options).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "order_imports");
    let tr = chrome.tr;
    let (mapped, unused) = p.mapping.as_ref().map(|m| mapping_rows(tr, &p, m)).unwrap_or_default();
    let reading_as = p.mapping.as_ref().map(|m| platform_label(tr, m.platform)).unwrap_or_default();
    let best = p.detection.candidates.first().filter(|c| Some(c.platform) == p.detected);
    let r: &OrderImportReport = &p.report;
    let page = PreviewPage {
        id: p.upload.to_string(),
        file_name: p.file_name.clone(),
        error: error.as_ref().or(p.refused.as_ref()).map(|e| error_message(tr, e)),
        detected: p.detected.map(|d| platform_label(tr, d)).unwrap_or_default(),
        confidence: best.map(|c| c.score),
        candidates: candidates(tr, &p.detection),
        platforms: platform_options(tr, options.platform),
        shop: options.shop.clone().unwrap_or_default(),
        appid: options.appid.clone().unwrap_or_default(),
        create_prospects: options.create_prospects,
        reading_as,
        mapped,
        unused,
        stats: file_stats(r),
        orders: r.orders,
        sample: p.sample.iter().map(|o| SampleOrder::new(tr, o)).collect(),
        errors: ShownErrors::new(r.errors.clone(), r.errors_omitted).explained(tr, "order.reason"),
        can_run: p.mapping.is_some() && error.is_none() && r.orders > 0,
        chrome,
    };
    Ok(render(&page))
}

/// An upload is kept and previewed as recognised (or as the platform chosen with it); a posted form
/// previews the kept upload again with the options it names.
async fn preview(State(state): State<AppState>, ca: ConsoleActor, req: Request) -> ConsoleResult {
    let body = match read_body(&state, req).await {
        Ok(b) => b,
        Err(e) => return imports_with(&state, &ca, Some(&e)).await,
    };
    match body {
        PostedBody::Upload { csrf, file_name, bytes, fields } => {
            check_csrf(&ca.user, &csrf)?;
            let options = match posted_options(&fields) {
                Ok(o) => o,
                Err(e) => return imports_with(&state, &ca, Some(&e)).await,
            };
            match receive_upload(&state, &ca, file_name, bytes).await {
                Ok(file) => preview_page(&state, &ca, file, options, None).await,
                Err(e) => imports_with(&state, &ca, Some(&e)).await,
            }
        }
        PostedBody::Form(pairs) => {
            check_form_csrf(&ca.user, &pairs)?;
            let id: UploadId = parse_id(one(&pairs, "id").unwrap_or("").trim())?;
            let file = state.app.upload_table(&ca.actor, id).await?;
            match posted_options(&pairs) {
                Ok(options) => preview_page(&state, &ca, file, options, None).await,
                Err(e) => preview_page(&state, &ca, file, OrderImportOptions::default(), Some(e)).await,
            }
        }
    }
}

/// Queues the import (any worker runs it) and shows its progress; refused options go back to the preview.
async fn run(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> ConsoleResult {
    check_form_csrf(&ca.user, &pairs)?;
    ca.actor.require(Permission::CustomersImport)?;
    let id: UploadId = parse_id(one(&pairs, "id").unwrap_or("").trim())?;
    let (options, refused) = match posted_options(&pairs) {
        Ok(options) => match state.app.queue_order_import(&ca.actor, id, &options).await {
            Ok(job) => return Ok(Redirect::to(&format!("{BASE}/{}", job.id)).into_response()),
            Err(e @ AppError::Invalid(_)) => (options, e),
            Err(e) => return Err(e.into()),
        },
        Err(e) => (OrderImportOptions::default(), e),
    };
    let file = state.app.upload_table(&ca.actor, id).await?;
    preview_page(&state, &ca, file, options, Some(refused)).await
}

/// A finished import: what it did and its row errors.
struct SummaryView {
    platform: String,
    stats: Vec<Stat>,
    errors: ShownErrors,
}

#[derive(Template)]
#[template(path = "order_import_status.html")]
struct StatusPage {
    chrome: Chrome,
    id: String,
    file_name: String,
    running: Option<ProgressView>,
    report: Option<SummaryView>,
    failed: Option<String>,
    again_url: &'static str,
}

/// The import job: progress while queued or running (the page polls itself), then the summary.
async fn status(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: JobId = parse_id(&id)?;
    let s = state.app.order_import_job(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "order_imports");
    let tr = chrome.tr;
    let (mut running, mut report, mut failed) = (None, None, None);
    match (s.job.status, s.report) {
        (JobStatus::Queued | JobStatus::Running, _) => {
            let p = s.progress;
            let counts = vec![("order_import.new", p.new), ("order_import.updated", p.updated)];
            let url = format!("{BASE}/{id}");
            running = Some(ProgressView { url, done: p.done, total: p.total, percent: s.job.percent(), counts });
        }
        (JobStatus::Done, Some(mut r)) => {
            let errors = ShownErrors::new(std::mem::take(&mut r.errors), r.errors_omitted);
            report = Some(SummaryView {
                platform: r.platform.map(|p| platform_label(tr, p)).unwrap_or_default(),
                stats: report_stats(&r),
                errors: errors.explained(tr, "order.reason"),
            });
        }
        (JobStatus::Done, None) | (JobStatus::Failed, _) => {
            failed = Some(s.job.error.unwrap_or_else(|| "internal error".into()));
        }
    }
    let (id, file_name) = (id.to_string(), s.file_name);
    Ok(render(&StatusPage { chrome, id, file_name, running, report, failed, again_url: BASE }))
}

/// The row errors of a finished order import, as a CSV.
async fn errors_csv(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: JobId = parse_id(&id)?;
    let report = state.app.order_import_job(&ca.actor, id).await?.report.ok_or(AppError::NotFound)?;
    errors_download("order-import-errors", id, &report.errors)
}

#[cfg(test)]
mod tests {
    use siyu_domain::order::{Field, OrderStatus, Platform, Reason};

    use crate::i18n::CATALOGUE;

    #[test]
    fn every_platform_status_field_and_row_error_reason_has_a_label() {
        let keys = Platform::ALL.iter().map(|p| format!("order.platform.{}", p.as_str()));
        let keys = keys.chain(OrderStatus::ALL.iter().map(|s| format!("order.status.{}", s.as_str())));
        let keys = keys.chain(Field::ALL.iter().map(|f| format!("order.field.{}", f.as_str())));
        let keys = keys.chain(Reason::ALL.iter().map(|r| format!("order.reason.{}", r.as_str())));
        let stats = super::views::report_stats(&Default::default());
        let keys =
            keys.chain(stats.into_iter().chain(super::views::file_stats(&Default::default())).map(|s| s.0.into()));
        let missing: Vec<String> = keys.filter(|k| !CATALOGUE.iter().any(|(c, _, _)| c == k)).collect();
        assert!(missing.is_empty(), "missing catalogue keys: {missing:?}");
    }
}
