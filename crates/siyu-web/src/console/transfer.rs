//! Console pages: importing customers and tags (upload → column mapping → dry-run preview → import with
//! progress → report with an errors CSV), and the customer export downloads.
//!
//! Nothing of an import lives in this node: the file is an upload in the database (`App::store_upload`),
//! the import is a job any worker runs (`App::queue_import`), and the progress page polls that job, so
//! every step may be served by a different node behind the load balancer.
//!
//! The order import (`console/orders.rs`) uses the same steps and these pieces: [`read_body`],
//! [`receive_upload`], [`errors_download`], and the `views` shared by both (`ShownErrors`, `ProgressView`
//! with `import_errors.html` and `import_progress.html`).

pub mod export;
pub mod views;

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router};
use siyu_app::transfer::{ColumnMapping, RowError, TagImportReport, Target, UploadedTable};
use siyu_app::{AppError, AppResult};
use siyu_domain::access::Permission;
use siyu_domain::id::{JobId, UploadId};
use siyu_domain::job::JobStatus;

use self::views::{ColumnView, PreviewView, ProgressView, ReportView, target_options};
use crate::auth::{ConsoleActor, ConsoleUser};
use crate::console::customers::parse_id;
use crate::console::page::{Chrome, ConsoleError, ConsoleResult, check_csrf, render};
use crate::routes::Routes;
use crate::state::AppState;

// Paths with a dot live in constants: the i18n test reads any quoted dotted argument of a `t` call as a key.
const EXPORT_CSV: &str = "/console/customers/export.csv";
const EXPORT_XLSX: &str = "/console/customers/export.xlsx";
const ERRORS_CSV: &str = "/console/imports/{id}/errors.csv";

pub fn router() -> Router<AppState> {
    // Upload routes read their body themselves, bounded by `server.max_upload_bytes`.
    let uploads = Routes::new()
        .post("/console/imports/preview", preview)
        .post("/console/imports/tags", import_tags)
        .into_router()
        .layer(axum::extract::DefaultBodyLimit::disable());
    Routes::new()
        .get("/console/imports", imports_page)
        .post("/console/imports/run", run)
        .get("/console/imports/{id}", status)
        .get(ERRORS_CSV, errors_csv)
        .get(EXPORT_CSV, export::export_csv)
        .get(EXPORT_XLSX, export::export_xlsx)
        .into_router()
        .merge(uploads)
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    chrome: Chrome,
    can_import: bool,
    can_tags: bool,
    can_export: bool,
    error: Option<String>,
    tag_report: Option<TagImportReport>,
    tag_dry_run: bool,
}

impl ImportsPage {
    fn new(ca: &ConsoleActor) -> Self {
        let a = &ca.actor;
        Self {
            chrome: Chrome::new(&ca.user, Some(a), "imports"),
            can_import: a.can(Permission::CustomersImport),
            can_tags: a.can(Permission::TagsManage),
            can_export: a.can(Permission::CustomersExport),
            error: None,
            tag_report: None,
            tag_dry_run: false,
        }
    }
}

async fn imports_page(ca: ConsoleActor) -> ConsoleResult {
    Ok(render(&ImportsPage::new(&ca)))
}

fn page_error(mut page: ImportsPage, e: &AppError) -> Response {
    let status = StatusCode::from_u16(e.code().status()).unwrap_or(StatusCode::BAD_REQUEST);
    page.error = Some(if status.is_server_error() {
        "内部错误，请稍后重试 / Internal error".into()
    } else {
        e.to_string()
    });
    (status, render(&page)).into_response()
}

/// A form or multipart body, read whole but never beyond the upload limit.
pub enum PostedBody {
    /// A file upload (`file`), its CSRF token and the other fields.
    Upload {
        csrf: String,
        file_name: String,
        bytes: Vec<u8>,
        fields: Vec<(String, String)>,
    },
    Form(Vec<(String, String)>),
}

/// Reads an upload step's body: a multipart upload or a plain form.
pub async fn read_body(state: &AppState, req: Request) -> AppResult<PostedBody> {
    let limit = state.app.settings.server.max_upload_bytes.saturating_add(64 * 1024);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| AppError::PayloadTooLarge)?;
    let multipart = parts.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let multipart = multipart.starts_with("multipart/form-data");
    let req = Request::from_parts(parts, Body::from(bytes));
    if !multipart {
        let Form(pairs) = Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|_| AppError::Malformed("expected a form".into()))?;
        return Ok(PostedBody::Form(pairs));
    }
    let bad = |_| AppError::Malformed("unreadable upload".into());
    let mut mp =
        Multipart::from_request(req, state).await.map_err(|_| AppError::Malformed("expected a form".into()))?;
    let (mut csrf, mut file_name, mut data, mut fields) = (String::new(), String::new(), None, Vec::new());
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "file" => {
                file_name = field.file_name().unwrap_or("upload").to_string();
                data = Some(field.bytes().await.map_err(bad)?.to_vec());
            }
            "_csrf" => csrf = field.text().await.map_err(bad)?,
            name => {
                let name = name.to_string();
                fields.push((name, field.text().await.map_err(bad)?));
            }
        }
    }
    let bytes = data.filter(|d| !d.is_empty()).ok_or_else(|| AppError::invalid("file", "required"))?;
    Ok(PostedBody::Upload { csrf, file_name, bytes, fields })
}

/// Keeps a just uploaded import file for the next steps, read as a table. It is read before it is stored:
/// a file that cannot be read is refused on the upload page, and nothing is kept.
pub async fn receive_upload(
    state: &AppState,
    ca: &ConsoleActor,
    file_name: String,
    bytes: Vec<u8>,
) -> AppResult<UploadedTable> {
    ca.actor.require(Permission::CustomersImport)?;
    let table = state.app.read_import_file(file_name.clone(), bytes.clone()).await?;
    let id = state.app.store_upload(&ca.actor, &file_name, &bytes).await?;
    Ok(UploadedTable { id, file_name, table })
}

/// A posted form's CSRF token checked against the session.
pub fn check_form_csrf(user: &ConsoleUser, pairs: &[(String, String)]) -> Result<(), ConsoleError> {
    check_csrf(user, one(pairs, "_csrf").unwrap_or(""))
}

/// The value of a posted field.
pub fn one<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// How many columns the mapping form posted (`col_0` … `col_<n>`).
fn posted_width(pairs: &[(String, String)]) -> usize {
    pairs
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("col_")?.parse::<usize>().ok())
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
        .min(siyu_app::transfer::MAX_COLUMNS)
}

/// The mapping the form posted: `col_<n>` = target key, plus `appid` and `corp_id`.
fn posted_mapping(pairs: &[(String, String)], width: usize) -> AppResult<ColumnMapping> {
    let mut columns = vec![Target::Ignore; width];
    for (i, slot) in columns.iter_mut().enumerate() {
        if let Some(v) = one(pairs, &format!("col_{i}")) {
            *slot = Target::parse(v).ok_or_else(|| AppError::invalid("mapping", format!("unknown target {v}")))?;
        }
    }
    let text = |k: &str| one(pairs, k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    Ok(ColumnMapping { columns, appid: text("appid"), corp_id: text("corp_id") })
}

#[derive(Template)]
#[template(path = "import_mapping.html")]
struct MappingPage {
    chrome: Chrome,
    id: String,
    file_name: String,
    total_rows: usize,
    columns: Vec<ColumnView>,
    options: Vec<(String, String)>,
    appid: String,
    corp_id: String,
    error: Option<String>,
    preview: Option<PreviewView>,
}

/// What the mapping page shows under the mapping form.
enum Step {
    /// Just uploaded: the suggested mapping, no dry run yet.
    Suggest,
    /// The dry run of the posted mapping.
    Preview,
    /// The posted mapping cannot be used.
    Refused(AppError),
}

async fn mapping_page(
    state: &AppState,
    ca: &ConsoleActor,
    file: &UploadedTable,
    mapping: &ColumnMapping,
    step: Step,
) -> ConsoleResult {
    let app = &state.app;
    let fields = app.fields(&ca.actor).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "imports");
    let table = &file.table;
    let (preview, error) = match step {
        Step::Suggest => (None, None),
        Step::Refused(e) => (None, Some(e.to_string())),
        Step::Preview => match app.preview_import(&ca.actor, table, mapping).await {
            Ok(p) => (Some(PreviewView::new(p)), None),
            Err(e @ AppError::Invalid(_)) => (None, Some(e.to_string())),
            Err(e) => return Err(e.into()),
        },
    };
    let page = MappingPage {
        id: file.id.to_string(),
        file_name: file.file_name.clone(),
        total_rows: table.rows.len(),
        columns: ColumnView::all(table, mapping),
        options: target_options(&chrome, &fields),
        appid: mapping.appid.clone().unwrap_or_default(),
        corp_id: mapping.corp_id.clone().unwrap_or_default(),
        error,
        preview,
        chrome,
    };
    Ok(render(&page))
}

/// Step 2 and 3: an upload is stored and shows the suggested mapping; a posted mapping shows the dry run.
async fn preview(State(state): State<AppState>, ca: ConsoleActor, req: Request) -> ConsoleResult {
    let body = match read_body(&state, req).await {
        Ok(b) => b,
        Err(e) => return Ok(page_error(ImportsPage::new(&ca), &e)),
    };
    match body {
        PostedBody::Upload { csrf, file_name, bytes, .. } => {
            check_csrf(&ca.user, &csrf)?;
            let file = match receive_upload(&state, &ca, file_name, bytes).await {
                Ok(file) => file,
                Err(e) => return Ok(page_error(ImportsPage::new(&ca), &e)),
            };
            let fields = state.app.fields(&ca.actor).await?;
            let mapping = ColumnMapping::suggest(&file.table.headers, &fields);
            mapping_page(&state, &ca, &file, &mapping, Step::Suggest).await
        }
        PostedBody::Form(pairs) => {
            check_form_csrf(&ca.user, &pairs)?;
            let id: UploadId = parse_id(one(&pairs, "id").unwrap_or("").trim())?;
            let file = state.app.upload_table(&ca.actor, id).await?;
            match posted_mapping(&pairs, file.table.width()) {
                Ok(m) => mapping_page(&state, &ca, &file, &m, Step::Preview).await,
                Err(e) => mapping_page(&state, &ca, &file, &ColumnMapping::default(), Step::Refused(e)).await,
            }
        }
    }
}

/// Step 4: queues the import (any worker runs it) and shows its progress.
async fn run(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> ConsoleResult {
    check_form_csrf(&ca.user, &pairs)?;
    ca.actor.require(Permission::CustomersImport)?;
    let id: UploadId = parse_id(one(&pairs, "id").unwrap_or("").trim())?;
    let (mapping, refused) = match posted_mapping(&pairs, posted_width(&pairs)) {
        Ok(mapping) => match state.app.queue_import(&ca.actor, id, &mapping).await {
            Ok(job) => return Ok(Redirect::to(&format!("/console/imports/{}", job.id)).into_response()),
            Err(e @ AppError::Invalid(_)) => (mapping, e),
            Err(e) => return Err(e.into()),
        },
        Err(e) => (ColumnMapping::default(), e),
    };
    let file = state.app.upload_table(&ca.actor, id).await?;
    mapping_page(&state, &ca, &file, &mapping, Step::Refused(refused)).await
}

#[derive(Template)]
#[template(path = "import_status.html")]
struct StatusPage {
    chrome: Chrome,
    id: String,
    file_name: String,
    running: Option<ProgressView>,
    report: Option<ReportView>,
    failed: Option<String>,
    /// Where "import another file" leads.
    again_url: &'static str,
}

/// The import job: progress while queued or running (the page polls itself), then the report.
async fn status(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: JobId = parse_id(&id)?;
    let s = state.app.import_job(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "imports");
    let (mut running, mut report, mut failed) = (None, None, None);
    match (s.job.status, s.report) {
        (JobStatus::Queued | JobStatus::Running, _) => {
            running = Some(ProgressView::customers(format!("/console/imports/{id}"), s.progress, s.job.percent()));
        }
        (JobStatus::Done, Some(r)) => report = Some(ReportView::new(r)),
        (JobStatus::Done, None) | (JobStatus::Failed, _) => {
            failed = Some(s.job.error.unwrap_or_else(|| "internal error".into()));
        }
    }
    let (id, file_name, again_url) = (id.to_string(), s.file_name, "/console/imports");
    let page = StatusPage { chrome, id, file_name, running, report, failed, again_url };
    Ok(render(&page))
}

/// Attachment headers for a download.
pub fn download(content_type: &'static str, file_name: &str, body: Body) -> Response {
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    res
}

/// The row errors of a finished import, as a CSV made from the job's report.
async fn errors_csv(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: JobId = parse_id(&id)?;
    let report = state.app.import_job(&ca.actor, id).await?.report.ok_or(AppError::NotFound)?;
    errors_download("import-errors", id, &report.errors)
}

/// A job's row errors as a CSV download named `<prefix>-<first 8 digits of the job id>.csv`.
pub fn errors_download(prefix: &str, id: JobId, errors: &[RowError]) -> ConsoleResult {
    let bytes = siyu_app::transfer::errors_csv(errors)?;
    let short: String = id.0.simple().to_string().chars().take(8).collect();
    Ok(download("text/csv; charset=utf-8", &format!("{prefix}-{short}.csv"), Body::from(bytes)))
}

/// The tag catalogue import: one upload, then the result on the imports page.
async fn import_tags(State(state): State<AppState>, ca: ConsoleActor, req: Request) -> ConsoleResult {
    let page = ImportsPage::new(&ca);
    let (csrf, file_name, bytes, fields) = match read_body(&state, req).await {
        Ok(PostedBody::Upload { csrf, file_name, bytes, fields }) => (csrf, file_name, bytes, fields),
        Ok(PostedBody::Form(_)) => return Ok(page_error(page, &AppError::invalid("file", "required"))),
        Err(e) => return Ok(page_error(page, &e)),
    };
    check_csrf(&ca.user, &csrf)?;
    let dry_run = one(&fields, "dry_run").is_some();
    let result = match state.app.read_import_file(file_name, bytes).await {
        Ok(table) => state.app.import_tags(&ca.actor, &table, dry_run).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => Ok(render(&ImportsPage { tag_report: Some(report), tag_dry_run: dry_run, ..page })),
        Err(e) => Ok(page_error(page, &e)),
    }
}
