//! `/api/v1/customers` and everything hanging off one customer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use siyu_app::customers::{CustomerDetail, CustomerPatch, CustomerSummary, IdentityInput, NewCustomerInput};
use siyu_app::tags::BulkTagRequest;
use siyu_domain::Invalid;
use siyu_domain::customer::{Customer, CustomerFilter, Follow, Note};
use siyu_domain::id::{CustomerId, IdentityId, JobId, NoteId, TagId, UserId};
use siyu_domain::identity::Identity;
use siyu_domain::job::Job;
use siyu_domain::page::PageRequest;
use siyu_domain::timeline::TimelineEntry;

use super::PageBody;
use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/customers", list_customers)
        .post("/api/v1/customers", create_customer)
        .post("/api/v1/customers/bulk-tag", bulk_tag)
        .get("/api/v1/customers/{id}", get_customer)
        .patch("/api/v1/customers/{id}", update_customer)
        .delete("/api/v1/customers/{id}", delete_customer)
        .post("/api/v1/customers/{id}/tags", tag_customer)
        .get("/api/v1/customers/{id}/timeline", customer_timeline)
        .get("/api/v1/customers/{id}/identities", list_identities)
        .post("/api/v1/customers/{id}/identities", add_identity)
        .delete("/api/v1/customers/{id}/identities/{identity_id}", remove_identity)
        .post("/api/v1/customers/{id}/identities/{identity_id}/reveal", reveal_identity)
        .get("/api/v1/customers/{id}/follows", list_follows)
        .post("/api/v1/customers/{id}/follows", add_follow)
        .delete("/api/v1/customers/{id}/follows/{user_id}", remove_follow)
        .get("/api/v1/customers/{id}/notes", list_notes)
        .post("/api/v1/customers/{id}/notes", add_note)
        .delete("/api/v1/customers/{id}/notes/{note_id}", delete_note)
        .get("/api/v1/jobs/{id}", get_job)
        .into_router()
}

/// Filters of the customer list. Id lists are comma separated; dates are RFC 3339 or `YYYY-MM-DD` (UTC).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub tags_any: Option<String>,
    pub tags_all: Option<String>,
    pub tags_none: Option<String>,
    /// Customers followed by this staff member.
    pub staff: Option<UserId>,
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub active_from: Option<String>,
    pub active_to: Option<String>,
    /// Name or remark contains; a full phone number or email matches exactly.
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

fn ids(field: &str, v: &Option<String>) -> Result<Vec<TagId>, Invalid> {
    let Some(v) = v else { return Ok(Vec::new()) };
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| Invalid::new(field, "invalid_id")))
        .collect()
}

/// Parses an RFC 3339 time or a `YYYY-MM-DD` date (midnight UTC).
pub fn time(field: &str, v: &Option<String>) -> Result<Option<DateTime<Utc>>, Invalid> {
    let Some(v) = v.as_deref().map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| Some(dt.and_utc()))
        .ok_or_else(|| Invalid::new(field, "expected_rfc3339_or_yyyy_mm_dd"))
}

impl ListQuery {
    pub fn filter(&self) -> Result<CustomerFilter, Invalid> {
        Ok(CustomerFilter {
            tags_any: ids("tags_any", &self.tags_any)?,
            tags_all: ids("tags_all", &self.tags_all)?,
            tags_none: ids("tags_none", &self.tags_none)?,
            staff: self.staff,
            created_from: time("created_from", &self.created_from)?,
            created_to: time("created_to", &self.created_to)?,
            active_from: time("active_from", &self.active_from)?,
            active_to: time("active_to", &self.active_to)?,
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
        })
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// List customers (newest first) with filters, within the caller's data scope.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(ListQuery),
    responses((status = 200, body = PageBody<CustomerSummary>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_customers(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<PageBody<CustomerSummary>>> {
    let filter = q.filter()?;
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    Ok(Json(s.app.list_customers(&a, &filter, page).await?.into()))
}

/// Create a customer with identities, tags, custom values and a follow, all or nothing.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomerInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for 24 h")),
    responses((status = 201, body = Customer), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(input): ApiJson<NewCustomerInput>,
) -> ApiResult<Response> {
    let c = s.app.create_customer(&a, input).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// A customer's profile with identities (PII masked), tags, follows and notes.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = CustomerId, Path)),
    responses((status = 200, body = CustomerDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<CustomerDetail>> {
    Ok(Json(s.app.get_customer(&a, id).await?))
}

/// Update profile fields; absent fields stay, `null` clears.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = CustomerId, Path)), request_body = CustomerPatch,
    responses((status = 200, body = Customer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(p): ApiJson<CustomerPatch>,
) -> ApiResult<Json<Customer>> {
    Ok(Json(s.app.update_customer(&a, id, p).await?))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = CustomerId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<StatusCode> {
    s.app.delete_customer(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagChangeBody {
    #[serde(default)]
    pub add: Vec<TagId>,
    #[serde(default)]
    pub remove: Vec<TagId>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagChangeResult {
    pub added: Vec<TagId>,
    pub removed: Vec<TagId>,
}

/// Add and remove tags on one customer (adding to an exclusive group replaces the sibling tag).
#[utoipa::path(post, path = "/api/v1/customers/{id}/tags", tag = "customers", params(("id" = CustomerId, Path)), request_body = TagChangeBody,
    responses((status = 200, body = TagChangeResult), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn tag_customer(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(b): ApiJson<TagChangeBody>,
) -> ApiResult<Json<TagChangeResult>> {
    let changes = s.app.tag_customer(&a, id, &b.add, &b.remove).await?;
    Ok(Json(TagChangeResult {
        added: changes.iter().filter(|c| c.add).map(|c| c.tag).collect(),
        removed: changes.iter().filter(|c| !c.add).map(|c| c.tag).collect(),
    }))
}

/// Tag or untag many customers (by ids or by filter) as a background job with progress.
#[utoipa::path(post, path = "/api/v1/customers/bulk-tag", tag = "customers", request_body = BulkTagRequest,
    responses((status = 202, body = Job), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn bulk_tag(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<BulkTagRequest>,
) -> ApiResult<Response> {
    let job = s.app.bulk_tag(&a, b).await?;
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = JobId, Path)),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_job(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<JobId>,
) -> ApiResult<Json<Job>> {
    Ok(Json(s.app.job(&a, id).await?))
}

/// The customer's timeline, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers", params(("id" = CustomerId, Path), PageQuery),
    responses((status = 200, body = PageBody<TimelineEntry>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn customer_timeline(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<PageBody<TimelineEntry>>> {
    let page = PageRequest::parse(q.cursor.as_deref(), q.limit)?;
    Ok(Json(s.app.timeline(&a, id, page).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/identities", tag = "identities", params(("id" = CustomerId, Path)),
    responses((status = 200, body = Vec<Identity>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_identities(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<Vec<Identity>>> {
    Ok(Json(s.app.identities(&a, id).await?))
}

/// Add an identity; a value held by another customer answers 409 `duplicate_identity`.
#[utoipa::path(post, path = "/api/v1/customers/{id}/identities", tag = "identities", params(("id" = CustomerId, Path)), request_body = IdentityInput,
    responses((status = 201, body = Identity), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_identity(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(i): ApiJson<IdentityInput>,
) -> ApiResult<Response> {
    let identity = s.app.add_identity(&a, id, i).await?;
    Ok((StatusCode::CREATED, Json(identity)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/identities/{identity_id}", tag = "identities",
    params(("id" = CustomerId, Path), ("identity_id" = IdentityId, Path)), responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn remove_identity(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, identity)): ApiPath<(CustomerId, IdentityId)>,
) -> ApiResult<StatusCode> {
    s.app.remove_identity(&a, id, identity).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Revealed {
    pub value: String,
}

/// The full value of a phone or email identity. Needs the `pii_reveal` permission; audited.
#[utoipa::path(post, path = "/api/v1/customers/{id}/identities/{identity_id}/reveal", tag = "identities",
    params(("id" = CustomerId, Path), ("identity_id" = IdentityId, Path)), responses((status = 200, body = Revealed), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reveal_identity(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, identity)): ApiPath<(CustomerId, IdentityId)>,
) -> ApiResult<Json<Revealed>> {
    Ok(Json(Revealed { value: s.app.reveal_identity(&a, id, identity).await? }))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/follows", tag = "follows", params(("id" = CustomerId, Path)),
    responses((status = 200, body = Vec<Follow>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_follows(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<Vec<Follow>>> {
    Ok(Json(s.app.follows(&a, id).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFollow {
    pub user_id: UserId,
    pub remark: Option<String>,
    /// Channel / live-code state.
    pub state: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/follows", tag = "follows", params(("id" = CustomerId, Path)), request_body = NewFollow,
    responses((status = 201, body = Follow), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_follow(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(f): ApiJson<NewFollow>,
) -> ApiResult<Response> {
    let follow = s.app.add_follow(&a, id, f.user_id, f.remark.as_deref(), f.state.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(follow)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/follows/{user_id}", tag = "follows",
    params(("id" = CustomerId, Path), ("user_id" = UserId, Path)), responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn remove_follow(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, user)): ApiPath<(CustomerId, UserId)>,
) -> ApiResult<StatusCode> {
    s.app.remove_follow(&a, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/notes", tag = "notes", params(("id" = CustomerId, Path)),
    responses((status = 200, body = Vec<Note>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_notes(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
) -> ApiResult<Json<Vec<Note>>> {
    Ok(Json(s.app.notes(&a, id).await?))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub body: String,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/notes", tag = "notes", params(("id" = CustomerId, Path)), request_body = NewNote,
    responses((status = 201, body = Note), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_note(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(n): ApiJson<NewNote>,
) -> ApiResult<Response> {
    let note = s.app.add_note(&a, id, &n.body).await?;
    Ok((StatusCode::CREATED, Json(note)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/notes/{note_id}", tag = "notes",
    params(("id" = CustomerId, Path), ("note_id" = NoteId, Path)), responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_note(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, note)): ApiPath<(CustomerId, NoteId)>,
) -> ApiResult<StatusCode> {
    s.app.delete_note(&a, id, note).await?;
    Ok(StatusCode::NO_CONTENT)
}
