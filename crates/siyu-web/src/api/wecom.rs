//! WeCom: connected corps (settings, connection test, full sync) and customer groups (客户群).

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use siyu_app::wecom::groups::GroupDetail;
use siyu_app::wecom::{CorpInput, CorpView, GroupQuery};
use siyu_domain::id::{CorpId, GroupId};
use siyu_domain::job::Job;
use siyu_domain::wecom::{CustomerGroup, GroupKind};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/api/v1/wecom/corps", list_corps)
        .post("/api/v1/wecom/corps", connect_corp)
        .get("/api/v1/wecom/corps/{id}", get_corp)
        .put("/api/v1/wecom/corps/{id}", update_corp)
        .post("/api/v1/wecom/corps/{id}/test", test_corp)
        .post("/api/v1/wecom/corps/{id}/sync", sync_corp)
        .get("/api/v1/groups", list_groups)
        .get("/api/v1/groups/{id}", get_group)
        .put("/api/v1/groups/{id}/kind", set_group_kind)
        .into_router()
}

/// The tenant's connected corps, secrets masked, each with its callback URL (`users_manage`).
#[utoipa::path(get, path = "/api/v1/wecom/corps", tag = "wecom",
    responses((status = 200, body = Vec<CorpView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_corps(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<CorpView>>> {
    Ok(Json(s.app.corps(&a).await?))
}

/// Connects a corp: corp id, 客户联系 secret, app secret, callback Token and EncodingAESKey. The secrets are
/// sealed at rest and never returned.
#[utoipa::path(post, path = "/api/v1/wecom/corps", tag = "wecom", request_body = CorpInput,
    responses((status = 201, body = CorpView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn connect_corp(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<CorpInput>,
) -> ApiResult<(StatusCode, Json<CorpView>)> {
    Ok((StatusCode::CREATED, Json(s.app.connect_corp(&a, &b).await?)))
}

#[utoipa::path(get, path = "/api/v1/wecom/corps/{id}", tag = "wecom", params(("id" = CorpId, Path)),
    responses((status = 200, body = CorpView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_corp(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CorpId>,
) -> ApiResult<Json<CorpView>> {
    Ok(Json(s.app.corp(&a, id).await?))
}

/// Changes a corp's settings; secrets left empty keep their stored values.
#[utoipa::path(put, path = "/api/v1/wecom/corps/{id}", tag = "wecom", params(("id" = CorpId, Path)),
    request_body = CorpInput,
    responses((status = 200, body = CorpView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_corp(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CorpId>,
    ApiJson(b): ApiJson<CorpInput>,
) -> ApiResult<Json<CorpView>> {
    s.app.corp(&a, id).await?;
    Ok(Json(s.app.update_corp(&a, id, &b).await?))
}

/// Tests the connection (fetches fresh access tokens); the outcome is stored on the corp.
#[utoipa::path(post, path = "/api/v1/wecom/corps/{id}/test", tag = "wecom", params(("id" = CorpId, Path)),
    responses((status = 200, body = CorpView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn test_corp(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CorpId>,
) -> ApiResult<Json<CorpView>> {
    Ok(Json(s.app.test_corp(&a, id).await?))
}

/// Queues a full sync (staff, tags, customers, groups) as a resumable job; follow it at `/api/v1/jobs/{id}`.
#[utoipa::path(post, path = "/api/v1/wecom/corps/{id}/sync", tag = "wecom", params(("id" = CorpId, Path)),
    responses((status = 202, body = Job), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn sync_corp(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<CorpId>,
) -> ApiResult<(StatusCode, Json<Job>)> {
    Ok((StatusCode::ACCEPTED, Json(s.app.queue_wecom_sync(&a, id).await?)))
}

/// Filters of the group list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupParams {
    pub name: Option<String>,
    /// `daily` or `flash`.
    pub kind: Option<String>,
    #[serde(default)]
    pub include_dismissed: bool,
    /// Only groups carrying this group tag.
    pub tag: Option<siyu_domain::id::GroupTagId>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A page of groups.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupPage {
    pub items: Vec<CustomerGroup>,
    pub total: i64,
}

/// Customer groups, largest first (staff with a narrower data scope see the groups they own).
#[utoipa::path(get, path = "/api/v1/groups", tag = "wecom", params(GroupParams),
    responses((status = 200, body = GroupPage), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_groups(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<GroupParams>,
) -> ApiResult<Json<GroupPage>> {
    let kind = match p.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(GroupKind::parse(k).ok_or_else(|| siyu_app::AppError::invalid("kind", "daily or flash"))?),
    };
    let q = GroupQuery {
        name: p.name.filter(|n| !n.trim().is_empty()),
        kind,
        include_dismissed: p.include_dismissed,
        tag: p.tag,
        limit: p.limit.unwrap_or(50),
        offset: p.offset.unwrap_or(0),
        ..GroupQuery::default()
    };
    let (items, total) = s.app.customer_groups(&a, q).await?;
    Ok(Json(GroupPage { items, total }))
}

/// A group with its members and its daily joins and leaves over 30 days.
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "wecom", params(("id" = GroupId, Path)),
    responses((status = 200, body = GroupDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_group(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupId>,
) -> ApiResult<Json<GroupDetail>> {
    Ok(Json(s.app.customer_group(&a, id).await?))
}

/// A group's kind: a daily-sales group, or a flash-sale group open from `opens_on` to `closes_on`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GroupKindInput {
    pub kind: GroupKind,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
}

#[utoipa::path(put, path = "/api/v1/groups/{id}/kind", tag = "wecom", params(("id" = GroupId, Path)),
    request_body = GroupKindInput,
    responses((status = 200, body = CustomerGroup), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_group_kind(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<GroupId>,
    ApiJson(b): ApiJson<GroupKindInput>,
) -> ApiResult<Json<CustomerGroup>> {
    s.app.customer_group(&a, id).await?;
    Ok(Json(s.app.set_group_kind(&a, id, b.kind, b.opens_on, b.closes_on).await?))
}
