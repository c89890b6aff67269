//! `/api/v1/segments`: saved audiences. A definition is a JSON condition tree or its text form; a bad one
//! answers `invalid_definition` with every problem in `errors` (JSON pointer, and a byte span for text).
//! Members change as `enter` / `exit` deltas with a rising version, readable with `/changes`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use siyu_app::customers::CustomerSummary;
use siyu_app::segments::{AudienceKey, Preview, RefreshReport, SegmentInput, SegmentView};
use siyu_app::transfer::{ExportFormat, ExportRequest};
use siyu_domain::id::{CustomerId, SegmentId};
use siyu_domain::page::PageRequest;
use siyu_domain::segment::{Condition, MembershipChange, SegmentSize};

use super::customers::PageQuery;
use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/segments", list_segments)
        .post("/api/v1/segments", create_segment)
        .post("/api/v1/segments/preview", preview_segment)
        .get("/api/v1/segments/{id}", get_segment)
        .put("/api/v1/segments/{id}", update_segment)
        .delete("/api/v1/segments/{id}", delete_segment)
        .post("/api/v1/segments/{id}/archive", archive_segment)
        .post("/api/v1/segments/{id}/refresh", refresh_segment)
        .get("/api/v1/segments/{id}/members", segment_members)
        .post("/api/v1/segments/{id}/members", change_members)
        .get("/api/v1/segments/{id}/changes", segment_changes)
        .get("/api/v1/segments/{id}/sizes", segment_sizes)
        .get("/api/v1/segments/{id}/export", export_members)
        .get("/api/v1/segments/{id}/audience", export_audience)
        .get("/api/v1/customers/{id}/segments", customer_segments)
        .into_router()
}

/// Segments of the tenant, archived ones last.
#[utoipa::path(get, path = "/api/v1/segments", tag = "segments",
    responses((status = 200, body = Vec<SegmentView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_segments(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<SegmentView>>> {
    Ok(Json(s.app.list_segments(&a).await?))
}

/// Creates a segment from a `definition` (JSON) or `text`, and materialises its members at once (recorded
/// as `initial`, which journeys do not treat as entries).
#[utoipa::path(post, path = "/api/v1/segments", tag = "segments", request_body = SegmentInput,
    responses((status = 201, body = SegmentView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_segment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<SegmentInput>,
) -> ApiResult<(StatusCode, Json<SegmentView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_segment(&a, b).await?)))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub definition: Option<Condition>,
    #[serde(default)]
    pub text: Option<String>,
}

/// Counts what a definition matches now (within the caller's scope) with a sample, without saving.
#[utoipa::path(post, path = "/api/v1/segments/preview", tag = "segments", request_body = PreviewInput,
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn preview_segment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<PreviewInput>,
) -> ApiResult<Json<Preview>> {
    Ok(Json(s.app.preview_segment(&a, b.definition.as_ref(), b.text.as_deref()).await?))
}

#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = SegmentId, Path)),
    responses((status = 200, body = SegmentView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_segment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
) -> ApiResult<Json<SegmentView>> {
    Ok(Json(s.app.get_segment(&a, id).await?))
}

/// Replaces name, description and definition; a dynamic segment is recomputed at once.
#[utoipa::path(put, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = SegmentId, Path)),
    request_body = SegmentInput,
    responses((status = 200, body = SegmentView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_segment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
    ApiJson(b): ApiJson<SegmentInput>,
) -> ApiResult<Json<SegmentView>> {
    Ok(Json(s.app.update_segment(&a, id, b).await?))
}

/// Deletes a segment with its members and history; 409 while another segment refers to it.
#[utoipa::path(delete, path = "/api/v1/segments/{id}", tag = "segments", params(("id" = SegmentId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_segment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
) -> ApiResult<StatusCode> {
    s.app.delete_segment(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveInput {
    pub archived: bool,
}

/// Archives (`true`) or restores (`false`) a segment; archived segments are not refreshed.
#[utoipa::path(post, path = "/api/v1/segments/{id}/archive", tag = "segments", params(("id" = SegmentId, Path)),
    request_body = ArchiveInput, responses((status = 200, body = SegmentView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn archive_segment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
    ApiJson(b): ApiJson<ArchiveInput>,
) -> ApiResult<Json<SegmentView>> {
    Ok(Json(s.app.archive_segment(&a, id, b.archived).await?))
}

/// Recomputes a dynamic segment now (the worker also does every 5 minutes).
#[utoipa::path(post, path = "/api/v1/segments/{id}/refresh", tag = "segments", params(("id" = SegmentId, Path)),
    responses((status = 200, body = RefreshReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn refresh_segment(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
) -> ApiResult<Json<RefreshReport>> {
    Ok(Json(s.app.refresh_segment(&a, id).await?))
}

/// A page of members and how many the caller may see.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MembersBody {
    pub items: Vec<CustomerSummary>,
    pub next_cursor: Option<String>,
    pub total: i64,
}

/// Members, newest customers first, within the caller's scope.
#[utoipa::path(get, path = "/api/v1/segments/{id}/members", tag = "segments", params(("id" = SegmentId, Path), PageQuery),
    responses((status = 200, body = MembersBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn segment_members(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<MembersBody>> {
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    let (page, total) = s.app.segment_members(&a, id, page).await?;
    Ok(Json(MembersBody { items: page.items, next_cursor: page.next_cursor, total }))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    #[serde(default)]
    pub add: Vec<CustomerId>,
    #[serde(default)]
    pub remove: Vec<CustomerId>,
}

/// Adds and removes members of a static segment (at most 1,000 ids per call).
#[utoipa::path(post, path = "/api/v1/segments/{id}/members", tag = "segments", params(("id" = SegmentId, Path)),
    request_body = MemberChange,
    responses((status = 200, body = RefreshReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_members(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
    ApiJson(b): ApiJson<MemberChange>,
) -> ApiResult<Json<RefreshReport>> {
    if b.add.len() + b.remove.len() > 1_000 {
        return Err(siyu_app::AppError::invalid("add", "at_most_1000_ids_per_call").into());
    }
    Ok(Json(s.app.change_static_members(&a, id, &b.add, &b.remove).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// Only changes with a version above this one (the last version seen; default 0).
    pub after_version: Option<i64>,
    /// At most this many (default 500, at most 5,000).
    pub limit: Option<u32>,
}

/// Entries and exits after a version, oldest first: how consumers follow a segment. Each (customer,
/// version) appears once; drop a delta older than one already seen for the customer.
#[utoipa::path(get, path = "/api/v1/segments/{id}/changes", tag = "segments", params(("id" = SegmentId, Path), ChangesQuery),
    responses((status = 200, body = Vec<MembershipChange>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn segment_changes(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<Vec<MembershipChange>>> {
    let limit = q.limit.unwrap_or(500).clamp(1, 5_000);
    Ok(Json(s.app.segment_changes(&a, id, q.after_version.unwrap_or(0), limit).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SizesQuery {
    /// Days back from today (default 30, at most 366).
    pub days: Option<i64>,
}

/// The member count per day (tenant time zone) with the day's entries and exits.
#[utoipa::path(get, path = "/api/v1/segments/{id}/sizes", tag = "segments", params(("id" = SegmentId, Path), SizesQuery),
    responses((status = 200, body = Vec<SegmentSize>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn segment_sizes(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
    ApiQuery(q): ApiQuery<SizesQuery>,
) -> ApiResult<Json<Vec<SegmentSize>>> {
    Ok(Json(s.app.segment_sizes(&a, id, q.days.unwrap_or(30).clamp(1, 366)).await?))
}

/// A segment a customer is in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerSegment {
    pub id: SegmentId,
    pub name: String,
    pub entered_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerSegments {
    pub current: Vec<CustomerSegment>,
    /// The latest entries and exits, newest first.
    pub changes: Vec<MembershipChange>,
}

/// The segments a customer is in now and their latest entries and exits.
#[utoipa::path(get, path = "/api/v1/customers/{id}/segments", tag = "segments", params(("id" = CustomerId, Path)),
    responses((status = 200, body = CustomerSegments), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn customer_segments(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<CustomerSegments>> {
    let (current, changes) = s.app.customer_segments(&a, id).await?;
    let current = current.into_iter().map(|(id, name, entered_at)| CustomerSegment { id, name, entered_at }).collect();
    Ok(Json(CustomerSegments { current, changes }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// Full phone numbers and emails (needs `pii_reveal`; audited either way).
    pub reveal_pii: Option<bool>,
}

/// Downloads the members (within the caller's scope) as CSV or XLSX, phones masked unless revealed.
#[utoipa::path(get, path = "/api/v1/segments/{id}/export", tag = "segments", params(("id" = SegmentId, Path), ExportQuery),
    responses((status = 200, description = "The file", content_type = "text/csv"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn export_members(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    let format = match q.format.as_deref() {
        None | Some("csv") => ExportFormat::Csv,
        Some("xlsx") => ExportFormat::Xlsx,
        Some(_) => return Err(siyu_app::AppError::invalid("format", "csv_or_xlsx").into()),
    };
    let request =
        ExportRequest { segment: Some(id), format, reveal_pii: q.reveal_pii.unwrap_or(false), ..Default::default() };
    let plan = s.app.prepare_export(&a, request).await?;
    Ok(crate::console::transfer::export::export_download(&s, &a, plan, "segment"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AudienceQuery {
    /// `phone` (default): SHA-256 of the 11-digit mobile; `openid`: SHA-256 of each openid.
    pub key: Option<AudienceKey>,
}

/// An ad-platform audience file: one SHA-256 per line, only for members who granted the `ad_audience`
/// consent. Hashed while sent, never stored; counted and audited.
#[utoipa::path(get, path = "/api/v1/segments/{id}/audience", tag = "segments", params(("id" = SegmentId, Path), AudienceQuery),
    responses((status = 200, description = "One hash per line after a header", content_type = "text/csv"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn export_audience(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<SegmentId>,
    ApiQuery(q): ApiQuery<AudienceQuery>,
) -> ApiResult<Response> {
    Ok(audience_download(&s, &a, id, q.key.unwrap_or(AudienceKey::Phone)).await?)
}

/// The audience file as a download; permission and existence are checked before the first byte.
pub async fn audience_download(
    s: &AppState,
    a: &siyu_app::Actor,
    id: SegmentId,
    key: AudienceKey,
) -> Result<Response, siyu_app::AppError> {
    a.require(siyu_domain::access::Permission::CustomersExport)?;
    s.app.store.segments().get(a.tenant, id).await?;
    let (app, actor) = (s.app.clone(), a.clone());
    let body =
        super::privacy::streamed_body(
            move |tx| async move { app.export_audience(&actor, id, key, tx).await.map(|_| ()) },
        );
    let name = format!("audience-{}-{id}.csv", if key == AudienceKey::Phone { "phone" } else { "openid" });
    Ok(crate::console::transfer::download("text/csv; charset=utf-8", &name, body))
}
