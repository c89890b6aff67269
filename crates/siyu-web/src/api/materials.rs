//! The material library (素材库): materials (JSON for text, link and mini-program cards; multipart uploads
//! for images, videos, files and posters), versions and restore, usage statistics, file and thumbnail
//! downloads, posters drawn with a staff member's QR code, folders, and a search over materials and scripts.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::materials::index::{ContentResults, ContentSearch};
use siyu_app::materials::usage::MaterialStats;
use siyu_app::materials::{FolderInput, MaterialFile, MaterialPage, MaterialQuery, Upload};
use siyu_domain::id::{CustomerId, MaterialFolderId, MaterialId, UserId};
use siyu_domain::material::{Material, MaterialFolder, MaterialInput, MaterialVersion};

use crate::auth::ApiActor;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/materials", list_materials)
        .post("/api/v1/materials", create_material)
        .get("/api/v1/materials/{id}", get_material)
        .put("/api/v1/materials/{id}", update_material)
        .delete("/api/v1/materials/{id}", delete_material)
        .get("/api/v1/materials/{id}/file", material_file)
        .get("/api/v1/materials/{id}/thumbnail", material_thumbnail)
        .get("/api/v1/materials/{id}/poster", material_poster)
        .get("/api/v1/materials/{id}/versions", material_versions)
        .post("/api/v1/materials/{id}/versions/{version}/restore", restore_material_version)
        .get("/api/v1/materials/{id}/stats", material_stats)
        .post("/api/v1/materials/{id}/sends", record_material_send)
        .get("/api/v1/material-folders", list_material_folders)
        .post("/api/v1/material-folders", create_material_folder)
        .put("/api/v1/material-folders/{id}", update_material_folder)
        .delete("/api/v1/material-folders/{id}", delete_material_folder)
        .get("/api/v1/content-search", search_content)
        .into_router()
        .merge(upload_router())
}

/// The upload routes read their body themselves, up to the largest material limit (`read_multipart`):
/// the API's 1 MB default body limit does not apply to them.
fn upload_router() -> Router<AppState> {
    Routes::new()
        .post("/api/v1/materials/upload", upload_material)
        .post("/api/v1/materials/{id}/file", replace_material_file)
        .into_router()
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// A multipart body: the `file` part and the other parts as text.
pub struct Parts {
    pub file: Option<Upload>,
    pub fields: Vec<(String, String)>,
}

/// Reads a multipart body of at most the largest material limit (plus room for the other parts).
pub async fn read_multipart(state: &AppState, req: Request) -> Result<Parts, AppError> {
    let limit = state.app.settings.materials.limits().largest().saturating_add(1 << 20);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let req = Request::from_parts(parts, Body::from(bytes));
    let mut mp = Multipart::from_request(req, state)
        .await
        .map_err(|_| AppError::Malformed("expected multipart/form-data".into()))?;
    let bad = |_| AppError::Malformed("unreadable multipart body".into());
    let mut out = Parts { file: None, fields: Vec::new() };
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(bad)?.to_vec();
            if !bytes.is_empty() {
                out.file = Some(Upload { file_name, bytes });
            }
        } else {
            let value = field.text().await.map_err(bad)?;
            out.fields.push((name, value));
        }
    }
    Ok(out)
}

/// The material described by a `meta` part (JSON of [`MaterialInput`]).
fn meta_of(fields: &[(String, String)]) -> Result<MaterialInput, AppError> {
    let meta = fields.iter().find(|(k, _)| k == "meta").map(|(_, v)| v.as_str()).unwrap_or("");
    serde_json::from_str(meta).map_err(|e| AppError::invalid("meta", format!("a JSON material is needed: {e}")))
}

/// A file response: the sniffed type, never sniffed again by the browser; files as attachments.
pub fn file_response(f: MaterialFile, inline: bool) -> Response {
    let disposition = if inline { "inline" } else { "attachment" };
    let ascii: String =
        f.file_name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    let encoded: String = f
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let mut res = Body::from(f.bytes).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&f.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("content-security-policy", HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Materials the caller sees: filters, cursor paging; with `q`, the best matches first with marked words.
#[utoipa::path(get, path = "/api/v1/materials", tag = "content", params(MaterialQuery),
    responses((status = 200, body = MaterialPage), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_materials(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<MaterialQuery>,
) -> ApiResult<Json<MaterialPage>> {
    Ok(Json(s.app.list_materials(&a, &q).await?))
}

/// Makes a text, link or mini-program material (files: `POST /api/v1/materials/upload`).
#[utoipa::path(post, path = "/api/v1/materials", tag = "content", request_body = MaterialInput,
    responses((status = 201, body = Material), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_material(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<MaterialInput>,
) -> ApiResult<(StatusCode, Json<Material>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_material(&a, b, None).await?)))
}

/// Uploads an image, video, file or poster: multipart with `meta` (the material as JSON) and `file`.
/// The file's bytes decide its type (`material_type_mismatch`, `material_unsupported_type`); each kind has
/// a size limit (`material_too_large`); images that cannot be decoded are refused (`material_corrupt_image`).
#[utoipa::path(post, path = "/api/v1/materials/upload", tag = "content",
    request_body(content_type = "multipart/form-data", description = "`meta`: MaterialInput as JSON; `file`: the file"),
    responses((status = 201, body = Material), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn upload_material(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    req: Request,
) -> ApiResult<(StatusCode, Json<Material>)> {
    let parts = read_multipart(&s, req).await?;
    let input = meta_of(&parts.fields)?;
    Ok((StatusCode::CREATED, Json(s.app.create_material(&a, input, parts.file).await?)))
}

#[utoipa::path(get, path = "/api/v1/materials/{id}", tag = "content", params(("id" = MaterialId, Path)),
    responses((status = 200, body = Material), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_material(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Json<Material>> {
    Ok(Json(s.app.get_material(&a, id).await?))
}

/// Edits a material: new title, text or content make a new version; folder, tags, visibility change in place.
#[utoipa::path(put, path = "/api/v1/materials/{id}", tag = "content", params(("id" = MaterialId, Path)),
    request_body = MaterialInput,
    responses((status = 200, body = Material), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_material(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
    ApiJson(b): ApiJson<MaterialInput>,
) -> ApiResult<Json<Material>> {
    Ok(Json(s.app.update_material(&a, id, b, None).await?))
}

/// Replaces the file (a new version; the old file is kept): multipart with `file` and optionally `meta`.
#[utoipa::path(post, path = "/api/v1/materials/{id}/file", tag = "content", params(("id" = MaterialId, Path)),
    request_body(content_type = "multipart/form-data", description = "`file`, optional `meta`"),
    responses((status = 200, body = Material), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn replace_material_file(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
    req: Request,
) -> ApiResult<Json<Material>> {
    // Another tenant's (or an invisible) material is not found before the body is even read.
    let current = s.app.get_material(&a, id).await?;
    let parts = read_multipart(&s, req).await?;
    let input = if parts.fields.iter().any(|(k, _)| k == "meta") {
        meta_of(&parts.fields)?
    } else {
        MaterialInput {
            kind: current.kind,
            title: current.current.title,
            body: current.current.body,
            folder_id: current.folder_id,
            tags: current.tags,
            visibility: current.visibility,
            content: current.current.content,
            open_tag_ids: current.open_tag_ids,
        }
    };
    let file = parts.file.ok_or_else(|| AppError::invalid("file", "required"))?;
    Ok(Json(s.app.update_material(&a, id, input, Some(file)).await?))
}

#[utoipa::path(delete, path = "/api/v1/materials/{id}", tag = "content", params(("id" = MaterialId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_material(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<StatusCode> {
    s.app.delete_material(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionParam {
    /// A past version (default: the current one).
    pub version: Option<i64>,
}

/// The material's file, as an attachment, with its sniffed type and `X-Content-Type-Options: nosniff`.
#[utoipa::path(get, path = "/api/v1/materials/{id}/file", tag = "content", params(("id" = MaterialId, Path), VersionParam),
    responses((status = 200, description = "the file"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn material_file(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
    ApiQuery(p): ApiQuery<VersionParam>,
) -> Result<Response, ApiError> {
    let f = s.app.material_file(&a, id, p.version, false).await?;
    Ok(file_response(f, false))
}

/// The thumbnail (PNG, at most 320 px) of an image or poster.
#[utoipa::path(get, path = "/api/v1/materials/{id}/thumbnail", tag = "content", params(("id" = MaterialId, Path), VersionParam),
    responses((status = 200, description = "PNG"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn material_thumbnail(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
    ApiQuery(p): ApiQuery<VersionParam>,
) -> Result<Response, ApiError> {
    let f = s.app.material_file(&a, id, p.version, true).await?;
    Ok(file_response(f, true))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PosterParam {
    /// The staff member whose QR code is drawn (default: the caller).
    pub staff_id: Option<UserId>,
}

/// A poster drawn for a staff member (PNG, the poster's size): the QR code of their tracked link of the
/// poster (minted on first use) in the poster's QR slot (default: the bottom-right corner). Cached per
/// version and staff member.
#[utoipa::path(get, path = "/api/v1/materials/{id}/poster", tag = "content",
    params(("id" = MaterialId, Path), PosterParam),
    responses((status = 200, description = "PNG"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn material_poster(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
    ApiQuery(p): ApiQuery<PosterParam>,
) -> Result<Response, ApiError> {
    let f = s.app.material_poster(&a, id, p.staff_id).await?;
    Ok(file_response(f, true))
}

/// Every version, newest first.
#[utoipa::path(get, path = "/api/v1/materials/{id}/versions", tag = "content", params(("id" = MaterialId, Path)),
    responses((status = 200, body = Vec<MaterialVersion>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn material_versions(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Json<Vec<MaterialVersion>>> {
    Ok(Json(s.app.material_versions(&a, id).await?))
}

/// Makes an old version current again (as a new version).
#[utoipa::path(post, path = "/api/v1/materials/{id}/versions/{version}/restore", tag = "content",
    params(("id" = MaterialId, Path), ("version" = i64, Path)),
    responses((status = 200, body = Material), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn restore_material_version(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, version)): ApiPath<(MaterialId, i64)>,
) -> ApiResult<Json<Material>> {
    Ok(Json(s.app.restore_material_version(&a, id, version).await?))
}

/// Sent, opened, unique openers and conversions (orders within 7 days of the first open), per staff too.
#[utoipa::path(get, path = "/api/v1/materials/{id}/stats", tag = "content", params(("id" = MaterialId, Path)),
    responses((status = 200, body = MaterialStats), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn material_stats(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Json<MaterialStats>> {
    Ok(Json(s.app.material_stats(&a, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SendBody {
    pub customer_id: Option<CustomerId>,
    /// The caller's id of this send (e.g. the WeCom msgid): a retry with the same key counts once.
    pub dedupe_key: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SendRecorded {
    /// False when this send was recorded before.
    pub recorded: bool,
}

/// Records that the caller sent the material (to a customer).
#[utoipa::path(post, path = "/api/v1/materials/{id}/sends", tag = "content", params(("id" = MaterialId, Path)),
    request_body = SendBody,
    responses((status = 200, body = SendRecorded), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn record_material_send(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialId>,
    ApiJson(b): ApiJson<SendBody>,
) -> ApiResult<Json<SendRecorded>> {
    let recorded = s.app.record_material_send(&a, id, b.customer_id, &b.dedupe_key).await?;
    Ok(Json(SendRecorded { recorded }))
}

#[utoipa::path(get, path = "/api/v1/material-folders", tag = "content",
    responses((status = 200, body = Vec<MaterialFolder>)), security(("bearer" = [])))]
pub async fn list_material_folders(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
) -> ApiResult<Json<Vec<MaterialFolder>>> {
    Ok(Json(s.app.material_folders(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/material-folders", tag = "content", request_body = FolderInput,
    responses((status = 201, body = MaterialFolder), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_material_folder(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<FolderInput>,
) -> ApiResult<(StatusCode, Json<MaterialFolder>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_material_folder(&a, &b).await?)))
}

/// Renames or moves a folder.
#[utoipa::path(put, path = "/api/v1/material-folders/{id}", tag = "content", params(("id" = MaterialFolderId, Path)),
    request_body = FolderInput,
    responses((status = 200, body = MaterialFolder), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_material_folder(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialFolderId>,
    ApiJson(b): ApiJson<FolderInput>,
) -> ApiResult<Json<MaterialFolder>> {
    Ok(Json(s.app.update_material_folder(&a, id, &b).await?))
}

/// Deletes an empty folder (409 while it holds folders or materials).
#[utoipa::path(delete, path = "/api/v1/material-folders/{id}", tag = "content", params(("id" = MaterialFolderId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_material_folder(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<MaterialFolderId>,
) -> ApiResult<StatusCode> {
    s.app.delete_material_folder(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Searches materials and quick-reply scripts the caller sees (Chinese words cut with the tenant's
/// dictionary), with marked titles and snippets; filters by kind, folder, tag and (managers) visibility.
#[utoipa::path(get, path = "/api/v1/content-search", tag = "content", params(ContentSearch),
    responses((status = 200, body = ContentResults), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn search_content(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<ContentSearch>,
) -> ApiResult<Json<ContentResults>> {
    Ok(Json(s.app.search_content(&a, &q).await?))
}
