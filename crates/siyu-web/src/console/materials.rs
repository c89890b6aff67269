//! Console: 素材库 (material library). `/console/materials` shows the folder tree, tag and kind filters, a
//! search box (matches marked), the grid with thumbnails and, for content managers, the upload form (only
//! the chosen kind's fields, by a small script; every field with its label without it) and folder forms;
//! `/console/materials/{id}` shows a preview (a poster drawn with a staff member's QR code), the edit form
//! with the visibility editor and the tags given on open, the versions with restore, and the usage
//! statistics as a bar chart. Refused forms keep what was typed and show their error at the field.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::materials::usage::MaterialStats;
use siyu_app::materials::{FolderInput, MaterialItem, MaterialQuery};
use siyu_domain::access::Permission;
use siyu_domain::id::{DepartmentId, MaterialFolderId, MaterialId, TagId, UserId};
use siyu_domain::material::{
    Material, MaterialContent, MaterialFolder, MaterialInput, MaterialKind, MaterialVersion, MaterialVisibility, QrSlot,
};
use siyu_domain::tenancy::{Department, Member};

use crate::api::materials::{file_response, read_multipart};
use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FieldError, FormErrors, Picker, fmt_time, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, check_csrf, render};
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/materials";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .post("/console/material-folders", create_folder)
        .post("/console/material-folders/{id}/delete", delete_folder)
        .get("/console/materials/{id}", detail)
        .post("/console/materials/{id}/delete", delete)
        .post("/console/materials/{id}/versions/{version}/restore", restore)
        .get("/console/materials/{id}/file", file)
        .get("/console/materials/{id}/thumbnail", thumbnail)
        .get("/console/materials/{id}/poster", poster)
        .into_router()
        .merge(
            // Uploads read their body themselves, up to the largest material limit.
            Routes::new()
                .post(PATH, create)
                .post("/console/materials/{id}", update)
                .into_router()
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

#[derive(Debug, Default, Deserialize)]
struct Filters {
    q: Option<String>,
    kind: Option<String>,
    folder: Option<String>,
    tag: Option<String>,
    cursor: Option<String>,
}

/// A folder in the tree, with its depth.
struct FolderLine {
    folder: MaterialFolder,
    depth: usize,
}

fn tree(folders: &[MaterialFolder]) -> Vec<FolderLine> {
    fn walk(all: &[MaterialFolder], parent: Option<MaterialFolderId>, depth: usize, out: &mut Vec<FolderLine>) {
        for f in all.iter().filter(|f| f.parent_id == parent) {
            if out.iter().any(|l| l.folder.id == f.id) || depth > 16 {
                continue;
            }
            out.push(FolderLine { folder: f.clone(), depth });
            walk(all, Some(f.id), depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(folders, None, 0, &mut out);
    out
}

/// The fields of the material forms, each shown with its error (others go to the top).
const FORM_FIELDS: [&str; 11] = [
    "title",
    "body",
    "file",
    "content.url",
    "content.cover_url",
    "content.appid",
    "content.pagepath",
    "content.qr",
    "folder_id",
    "tags",
    "open_tag_ids",
];

/// What a refused form had (shown again with the error), by field name.
#[derive(Debug, Default)]
struct Draft(Vec<(String, String)>);

impl Draft {
    fn v(&self, key: &str) -> &str {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

/// The tags a material gives on open, as a picker (`open_tags` checkboxes).
async fn open_tag_picker(state: &AppState, ca: &ConsoleActor, chosen: &[String]) -> Result<Picker, AppError> {
    let groups = state.app.tag_groups(&ca.actor).await?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "materials").tr;
    Ok(Picker::new(tr, "open_tags", "materials.open_tags", "materials.open_tags_placeholder", &groups, chosen))
}

#[derive(Template)]
#[template(path = "materials.html")]
struct ListPage {
    chrome: Chrome,
    items: Vec<MaterialItem>,
    next_cursor: Option<String>,
    folders: Vec<FolderLine>,
    tags: Vec<(String, i64)>,
    kinds: Vec<&'static str>,
    q: String,
    kind: String,
    folder: String,
    tag: String,
    can_manage: bool,
    errors: FormErrors,
    draft: Draft,
    open_picker: Option<Picker>,
}

impl ListPage {
    fn top_errors(&self) -> Vec<&FieldError> {
        self.errors.others(&FORM_FIELDS)
    }
    fn field_error(&self, field: &str) -> Option<&FieldError> {
        self.errors.get(field)
    }
    fn draft_kind(&self) -> &str {
        match self.draft.v("kind") {
            "" => "text",
            k => k,
        }
    }
    fn indent(&self, l: &FolderLine) -> String {
        "— ".repeat(l.depth)
    }
    fn filter_url(&self, key: &str, value: &str) -> String {
        let mut pairs = vec![
            ("q", self.q.as_str()),
            ("kind", self.kind.as_str()),
            ("folder", self.folder.as_str()),
            ("tag", self.tag.as_str()),
        ];
        for p in &mut pairs {
            if p.0 == key {
                p.1 = value;
            }
        }
        let query: Vec<String> =
            pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", url_encode(v))).collect();
        format!("{PATH}?{}", query.join("&"))
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn list_page(state: &AppState, ca: &ConsoleActor, f: Filters, errors: FormErrors, draft: Draft) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "materials");
    let kind = f.kind.as_deref().and_then(MaterialKind::parse);
    let folder = match f.folder.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(MaterialFolderId(parse_id(s)?)),
        None => None,
    };
    let query = MaterialQuery {
        q: f.q.clone(),
        kind,
        folder_id: folder,
        tag: f.tag.clone().filter(|t| !t.is_empty()),
        cursor: f.cursor.clone(),
        limit: Some(48),
    };
    let page = state.app.list_materials(&ca.actor, &query).await?;
    let folders = state.app.material_folders(&ca.actor).await?;
    let can_manage = ca.actor.can(Permission::ContentManage);
    let open_picker = if can_manage {
        let chosen: Vec<String> = draft.0.iter().filter(|(k, _)| k == "open_tags").map(|(_, v)| v.clone()).collect();
        Some(open_tag_picker(state, ca, &chosen).await?)
    } else {
        None
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let page = ListPage {
        items: page.items,
        next_cursor: page.next_cursor,
        folders: tree(&folders),
        tags: state.app.material_tags(&ca.actor).await?,
        kinds: MaterialKind::ALL.iter().map(|k| k.as_str()).collect(),
        q: f.q.unwrap_or_default(),
        kind: kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        folder: folder.map(|f| f.to_string()).unwrap_or_default(),
        tag: f.tag.unwrap_or_default(),
        can_manage,
        errors,
        draft,
        open_picker,
        chrome,
    };
    Ok((status, render(&page)).into_response())
}

async fn list(State(state): State<AppState>, ca: ConsoleActor, Query(f): Query<Filters>) -> ConsoleResult {
    list_page(&state, &ca, f, FormErrors::default(), Draft::default()).await
}

fn refusable(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Invalid(_)
            | AppError::Conflict(_)
            | AppError::Forbidden
            | AppError::Material(_)
            | AppError::PayloadTooLarge
    )
}

fn all(fields: &[(String, String)], key: &str) -> Vec<String> {
    fields.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).filter(|v| !v.is_empty()).collect()
}

/// The material of a posted form.
fn posted(fields: &[(String, String)], kind: MaterialKind) -> Result<MaterialInput, AppError> {
    let opt = |k: &str| Some(text(fields, k)).filter(|v| !v.trim().is_empty());
    let folder_id = match opt("folder_id") {
        Some(s) => Some(MaterialFolderId(parse_id(&s).map_err(|_| AppError::invalid("folder_id", "unknown_folder"))?)),
        None => None,
    };
    let ids = |key: &str| -> Result<Vec<uuid::Uuid>, AppError> {
        all(fields, key)
            .iter()
            .map(|s| uuid::Uuid::try_parse(s).map_err(|_| AppError::invalid("visibility", "unknown")))
            .collect()
    };
    let qr = match (opt("qr_x"), opt("qr_y"), opt("qr_size")) {
        (Some(x), Some(y), Some(size)) => {
            let n = |s: String| s.trim().parse::<u32>().map_err(|_| AppError::invalid("content.qr", "out_of_range"));
            Some(QrSlot { x: n(x)?, y: n(y)?, size: n(size)? })
        }
        (None, None, None) => None,
        _ => return Err(AppError::invalid("content.qr", "incomplete")),
    };
    let open_tag_ids = all(fields, "open_tags")
        .iter()
        .map(|s| uuid::Uuid::try_parse(s).map(TagId).map_err(|_| AppError::invalid("open_tag_ids", "unknown_tag")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MaterialInput {
        kind,
        title: text(fields, "title"),
        body: text(fields, "body"),
        folder_id,
        tags: text(fields, "tags").split([',', '，', ' ']).map(str::to_string).collect(),
        visibility: MaterialVisibility {
            departments: ids("departments")?.into_iter().map(DepartmentId).collect(),
            staff: ids("staff")?.into_iter().map(UserId).collect(),
        },
        content: MaterialContent {
            url: opt("url"),
            cover_url: opt("cover_url"),
            appid: opt("appid"),
            pagepath: opt("pagepath"),
            qr,
        },
        open_tag_ids,
    })
}

async fn create(State(state): State<AppState>, ca: ConsoleActor, req: Request) -> ConsoleResult {
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "materials").tr;
    let parts = match read_multipart(&state, req).await {
        Ok(parts) => parts,
        Err(e) if refusable(&e) => {
            let errors = FormErrors::from_error(tr, &e, "file");
            return list_page(&state, &ca, Filters::default(), errors, Draft::default()).await;
        }
        Err(e) => return Err(e.into()),
    };
    check_csrf(&ca.user, &text(&parts.fields, "_csrf")).map_err(|e| e.0)?;
    let result = async {
        let kind =
            MaterialKind::parse(&text(&parts.fields, "kind")).ok_or_else(|| AppError::invalid("kind", "required"))?;
        let input = posted(&parts.fields, kind)?;
        state.app.create_material(&ca.actor, input, parts.file).await
    }
    .await;
    match result {
        Ok(m) => Ok(Redirect::to(&format!("{PATH}/{}", m.id)).into_response()),
        Err(e) if refusable(&e) => {
            let errors = FormErrors::from_error(tr, &e, "file");
            list_page(&state, &ca, Filters::default(), errors, Draft(parts.fields)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn create_folder(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let parent_id = match Some(text(&fields, "parent_id")).filter(|s| !s.is_empty()) {
        Some(s) => Some(MaterialFolderId(parse_id(&s)?)),
        None => None,
    };
    match state.app.create_material_folder(&ca.actor, &FolderInput { name: text(&fields, "name"), parent_id }).await {
        Ok(_) => Ok(Redirect::to(PATH).into_response()),
        Err(e) if refusable(&e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "materials").tr;
            list_page(&state, &ca, Filters::default(), FormErrors::from_error(tr, &e, "name"), Draft::default()).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_folder(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id = MaterialFolderId(parse_id(&id)?);
    match state.app.delete_material_folder(&post.ca.actor, id).await {
        Ok(()) => Ok(Redirect::to(PATH).into_response()),
        Err(e) if refusable(&e) => {
            let tr = Chrome::new(&post.ca.user, Some(&post.ca.actor), "materials").tr;
            let errors = FormErrors::from_error(tr, &e, "name");
            list_page(&state, &post.ca, Filters::default(), errors, Draft::default()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// One bar of the per-staff chart.
struct Bar {
    name: String,
    sent: i64,
    opened: i64,
    sent_width: i64,
    opened_width: i64,
}

#[derive(Template)]
#[template(path = "material.html")]
struct DetailPage {
    chrome: Chrome,
    m: Material,
    versions: Vec<MaterialVersion>,
    stats: MaterialStats,
    bars: Vec<Bar>,
    folders: Vec<FolderLine>,
    departments: Vec<Department>,
    members: Vec<Member>,
    can_manage: bool,
    errors: FormErrors,
    open_picker: Option<Picker>,
    /// The staff member the poster preview is drawn for (empty: the viewer).
    poster_staff: String,
}

impl DetailPage {
    fn top_errors(&self) -> Vec<&FieldError> {
        self.errors.others(&FORM_FIELDS)
    }
    fn field_error(&self, field: &str) -> Option<&FieldError> {
        self.errors.get(field)
    }
    fn is_poster(&self) -> bool {
        self.m.kind == MaterialKind::Poster
    }
    fn qr(&self, part: &str) -> String {
        match (self.m.current.content.qr, part) {
            (Some(q), "x") => q.x.to_string(),
            (Some(q), "y") => q.y.to_string(),
            (Some(q), _) => q.size.to_string(),
            (None, _) => String::new(),
        }
    }
    fn poster_src(&self) -> String {
        match self.poster_staff.as_str() {
            "" => format!("{PATH}/{}/poster", self.m.id),
            s => format!("{PATH}/{}/poster?staff_id={s}", self.m.id),
        }
    }
    fn is_poster_staff(&self, u: &Member) -> bool {
        self.poster_staff == u.user_id.to_string()
    }
    fn time(&self, v: &MaterialVersion) -> String {
        fmt_time(&v.created_at)
    }
    fn has_dept(&self, d: &Department) -> bool {
        self.m.visibility.departments.contains(&d.id)
    }
    fn has_staff(&self, u: &Member) -> bool {
        self.m.visibility.staff.contains(&u.user_id)
    }
    fn in_folder(&self, l: &FolderLine) -> bool {
        self.m.folder_id == Some(l.folder.id)
    }
    fn indent(&self, l: &FolderLine) -> String {
        "— ".repeat(l.depth)
    }
    fn tags_text(&self) -> String {
        self.m.tags.join(", ")
    }
    fn is_image(&self) -> bool {
        self.m.kind.is_image()
    }
    fn has_file(&self) -> bool {
        self.m.kind.has_file()
    }
    fn is_current(&self, v: &MaterialVersion) -> bool {
        v.version == self.m.current.version
    }
    fn content(&self) -> &MaterialContent {
        &self.m.current.content
    }
    fn opt<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

async fn detail_page(
    state: &AppState,
    ca: &ConsoleActor,
    id: MaterialId,
    errors: FormErrors,
    poster_staff: String,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "materials");
    let m = state.app.get_material(&ca.actor, id).await?;
    let versions = state.app.material_versions(&ca.actor, id).await?;
    let stats = state.app.material_stats(&ca.actor, id).await?;
    let max = stats.by_staff.iter().map(|s| s.sent.max(s.opened)).max().unwrap_or(0).max(1);
    let bars = stats
        .by_staff
        .iter()
        .map(|s| Bar {
            name: s.name.clone().unwrap_or_else(|| chrome.t("materials.no_staff").to_string()),
            sent: s.sent,
            opened: s.opened,
            sent_width: s.sent * 360 / max,
            opened_width: s.opened * 360 / max,
        })
        .collect();
    let can_manage = ca.actor.can(Permission::ContentManage);
    let (departments, members) = if can_manage {
        (state.app.departments(&ca.actor).await?, state.app.list_members(&ca.actor).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let folders = tree(&state.app.material_folders(&ca.actor).await?);
    let open_picker = if can_manage {
        let chosen: Vec<String> = m.open_tag_ids.iter().map(ToString::to_string).collect();
        Some(open_tag_picker(state, ca, &chosen).await?)
    } else {
        None
    };
    let poster_staff = match poster_staff.trim() {
        "" => String::new(),
        s => UserId(parse_id(s)?).to_string(),
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let page = DetailPage {
        m,
        versions,
        stats,
        bars,
        folders,
        departments,
        members,
        can_manage,
        errors,
        open_picker,
        poster_staff,
        chrome,
    };
    Ok((status, render(&page)).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct StaffParam {
    staff_id: Option<String>,
}

async fn detail(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(p): Query<StaffParam>,
) -> ConsoleResult {
    let staff = p.staff_id.unwrap_or_default();
    detail_page(&state, &ca, MaterialId(parse_id(&id)?), FormErrors::default(), staff).await
}

async fn update(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    req: Request,
) -> ConsoleResult {
    let id = MaterialId(parse_id(&id)?);
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "materials").tr;
    let result = async {
        let current = state.app.get_material(&ca.actor, id).await?;
        let parts = read_multipart(&state, req).await?;
        check_csrf(&ca.user, &text(&parts.fields, "_csrf")).map_err(|e| e.0)?;
        let input = posted(&parts.fields, current.kind)?;
        state.app.update_material(&ca.actor, id, input, parts.file).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}/{id}")).into_response()),
        Err(e) if refusable(&e) => {
            detail_page(&state, &ca, id, FormErrors::from_error(tr, &e, "file"), String::new()).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    state.app.delete_material(&post.ca.actor, MaterialId(parse_id(&id)?)).await?;
    Ok(Redirect::to(PATH).into_response())
}

async fn restore(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, i64)>,
    post: FormPost,
) -> ConsoleResult {
    let id = MaterialId(parse_id(&id)?);
    state.app.restore_material_version(&post.ca.actor, id, version).await?;
    Ok(Redirect::to(&format!("{PATH}/{id}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct VersionParam {
    version: Option<i64>,
}

async fn file(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(p): Query<VersionParam>,
) -> ConsoleResult {
    let f = state.app.material_file(&ca.actor, MaterialId(parse_id(&id)?), p.version, false).await?;
    let inline = f.mime.starts_with("image/") || f.mime.starts_with("video/");
    Ok(file_response(f, inline))
}

async fn thumbnail(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(p): Query<VersionParam>,
) -> ConsoleResult {
    let f = state.app.material_file(&ca.actor, MaterialId(parse_id(&id)?), p.version, true).await?;
    Ok(file_response(f, true))
}

/// The poster drawn with a staff member's QR code (`staff_id`, default: the viewer), inline.
async fn poster(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(p): Query<StaffParam>,
) -> ConsoleResult {
    let staff = match p.staff_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(UserId(parse_id(s)?)),
        None => None,
    };
    let f = state.app.material_poster(&ca.actor, MaterialId(parse_id(&id)?), staff).await?;
    Ok(file_response(f, true))
}
