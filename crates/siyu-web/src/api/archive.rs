//! The session archive (会话存档): ingest of archived messages, conversations and search, the alert inbox,
//! statistics, word lists, rules and the tenant's dictionary.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use siyu_app::AppError;
use siyu_app::archive::{
    AlertQuery, AlertVerdict, AlertView, ConversationQuery, ConversationView, IngestInput, IngestResult, MessageView,
    RuleInput, RuleView, SearchSource, StaffStatRow, WordListInput, WordListView, WordsInput,
};
use siyu_domain::archive::{AlertStatus, RuleKind};
use siyu_domain::id::{AlertId, ArchiveRuleId, ConversationId, CustomerId, WordListId};

use crate::auth::ApiActor;
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, ErrorBody};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .post("/api/v1/archive/ingest", ingest_archive)
        .get("/api/v1/archive/conversations", list_conversations)
        .get("/api/v1/archive/conversations/{id}/messages", conversation_messages)
        .get("/api/v1/archive/search", search_archive)
        .get("/api/v1/archive/alerts", list_alerts)
        .get("/api/v1/archive/alerts/{id}", get_alert)
        .post("/api/v1/archive/alerts/{id}/verdict", judge_alert)
        .get("/api/v1/archive/stats", alert_stats)
        .get("/api/v1/archive/word-lists", list_word_lists)
        .post("/api/v1/archive/word-lists", create_word_list)
        .delete("/api/v1/archive/word-lists/{id}", delete_word_list)
        .get("/api/v1/archive/word-lists/{id}/words", list_words)
        .post("/api/v1/archive/word-lists/{id}/words", add_words)
        .delete("/api/v1/archive/word-lists/{id}/words/{word}", remove_word)
        .get("/api/v1/archive/rules", list_rules)
        .post("/api/v1/archive/rules", create_rule)
        .put("/api/v1/archive/rules/{id}", update_rule)
        .delete("/api/v1/archive/rules/{id}", delete_rule)
        .get("/api/v1/archive/dictionary", get_dictionary)
        .put("/api/v1/archive/dictionary", set_dictionary)
        .into_router()
}

fn page_limit(limit: Option<i64>) -> ApiResult<i64> {
    match limit.unwrap_or(50) {
        l @ 1..=200 => Ok(l),
        _ => Err(AppError::invalid("limit", "limit_out_of_range (1..=200)").into()),
    }
}

/// Stores a batch (≤ 1000) of archived messages of one corp, in WeCom's decrypted shape, idempotent on
/// (corp, msgid); bad items are reported one by one and the rest are stored. Each new message is checked
/// against the tenant's rules at once.
#[utoipa::path(post, path = "/api/v1/archive/ingest", tag = "archive", request_body = IngestInput,
    responses((status = 200, body = IngestResult), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn ingest_archive(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<IngestInput>,
) -> ApiResult<Json<IngestResult>> {
    Ok(Json(s.app.ingest_archive(&a, &b).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationParams {
    /// `single`, `group` or `internal`.
    pub kind: Option<String>,
    /// A staff member's WeCom userid.
    pub staff: Option<String>,
    pub customer: Option<CustomerId>,
    /// Conversations with a message matching these words (full-text index; at most 100 characters).
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl ConversationParams {
    fn query(self) -> ApiResult<ConversationQuery> {
        let kind = self.kind.filter(|k| !k.is_empty());
        if kind.as_deref().is_some_and(|k| !matches!(k, "single" | "group" | "internal")) {
            return Err(AppError::invalid("kind", "single, group or internal").into());
        }
        Ok(ConversationQuery {
            kind,
            staff_userid: self.staff.filter(|s| !s.is_empty()),
            customer: self.customer,
            text: self.q,
            limit: page_limit(self.limit)?,
            offset: self.offset.unwrap_or(0).max(0),
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationPage {
    pub items: Vec<ConversationView>,
    pub total: i64,
    /// What answered `q`: `index`, or the database's substring match (`index_rebuilding`,
    /// `index_unavailable`, `substring` for text without words). Absent without `q`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SearchSource>,
}

/// Archived conversations, most recent first; with `q`, those holding a matching message, each with its
/// hit count and highlighted best match.
#[utoipa::path(get, path = "/api/v1/archive/conversations", tag = "archive", params(ConversationParams),
    responses((status = 200, body = ConversationPage), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_conversations(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<ConversationParams>,
) -> ApiResult<Json<ConversationPage>> {
    let page = s.app.conversations(&a, &p.query()?).await?;
    Ok(Json(ConversationPage { items: page.items, total: page.total, source: page.source }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageParams {
    /// Only messages after this time.
    pub after: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationMessages {
    pub conversation: ConversationView,
    pub messages: Vec<MessageView>,
}

/// A conversation's messages in time order (the read is audited).
#[utoipa::path(get, path = "/api/v1/archive/conversations/{id}/messages", tag = "archive",
    params(("id" = ConversationId, Path), MessageParams),
    responses((status = 200, body = ConversationMessages), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn conversation_messages(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ConversationId>,
    ApiQuery(p): ApiQuery<MessageParams>,
) -> ApiResult<Json<ConversationMessages>> {
    let limit = p.limit.unwrap_or(200).clamp(1, 500);
    let (conversation, messages) = s.app.conversation_messages(&a, id, p.after, limit).await?;
    Ok(Json(ConversationMessages { conversation, messages }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The words (at most 100 characters).
    pub q: String,
    /// Only in conversations of this kind: `single`, `group` or `internal`.
    pub kind: Option<String>,
    /// Only in conversations of this staff member (WeCom userid).
    pub staff: Option<String>,
    /// Only in conversations with this customer.
    pub customer: Option<CustomerId>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    pub items: Vec<MessageView>,
    pub total: i64,
    /// What answered: `index`, or the database's substring match (`index_rebuilding`,
    /// `index_unavailable`, `substring` for text without words; newest first, no `highlight`).
    pub source: Option<SearchSource>,
}

/// Archived messages matching the words, best first, each with its highlight (the search is audited).
#[utoipa::path(get, path = "/api/v1/archive/search", tag = "archive", params(SearchParams),
    responses((status = 200, body = MessagePage), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn search_archive(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<MessagePage>> {
    let q = ConversationParams {
        kind: p.kind,
        staff: p.staff,
        customer: p.customer,
        q: None,
        limit: p.limit,
        offset: p.offset,
    }
    .query()?;
    let page = s.app.search_archive(&a, &p.q, &q).await?;
    Ok(Json(MessagePage { items: page.items, total: page.total, source: page.source }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    pub status: Option<AlertStatus>,
    pub kind: Option<RuleKind>,
    /// A staff member's WeCom userid.
    pub staff: Option<String>,
    pub customer: Option<CustomerId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl AlertParams {
    pub fn query(self) -> ApiResult<AlertQuery> {
        Ok(AlertQuery {
            status: self.status.map(|s| s.as_str().to_string()),
            kind: self.kind.map(|k| k.as_str().to_string()),
            staff_userid: self.staff.filter(|s| !s.is_empty()),
            customer: self.customer,
            from: self.from,
            to: self.to,
            limit: page_limit(self.limit)?,
            offset: self.offset.unwrap_or(0).max(0),
        })
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertPage {
    pub items: Vec<AlertView>,
    pub total: i64,
}

/// The alert inbox, newest first.
#[utoipa::path(get, path = "/api/v1/archive/alerts", tag = "archive", params(AlertParams),
    responses((status = 200, body = AlertPage), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_alerts(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<AlertParams>,
) -> ApiResult<Json<AlertPage>> {
    let (items, total) = s.app.alerts(&a, &p.query()?).await?;
    Ok(Json(AlertPage { items, total }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertDetail {
    pub alert: AlertView,
    /// Messages around the one that raised it.
    pub context: Vec<MessageView>,
}

#[utoipa::path(get, path = "/api/v1/archive/alerts/{id}", tag = "archive", params(("id" = AlertId, Path)),
    responses((status = 200, body = AlertDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_alert(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AlertId>,
) -> ApiResult<Json<AlertDetail>> {
    let (alert, context) = s.app.alert(&a, id).await?;
    Ok(Json(AlertDetail { alert, context }))
}

/// Confirms or dismisses an alert (or opens it again), with a note.
#[utoipa::path(post, path = "/api/v1/archive/alerts/{id}/verdict", tag = "archive", params(("id" = AlertId, Path)),
    request_body = AlertVerdict,
    responses((status = 200, body = AlertView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn judge_alert(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<AlertId>,
    ApiJson(b): ApiJson<AlertVerdict>,
) -> ApiResult<Json<AlertView>> {
    Ok(Json(s.app.judge_alert(&a, id, &b).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Default: 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// Default: now.
    pub to: Option<DateTime<Utc>>,
}

/// Alerts per staff member and rule kind in a period.
#[utoipa::path(get, path = "/api/v1/archive/stats", tag = "archive", params(StatsParams),
    responses((status = 200, body = Vec<StaffStatRow>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn alert_stats(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiQuery(p): ApiQuery<StatsParams>,
) -> ApiResult<Json<Vec<StaffStatRow>>> {
    let to = p.to.unwrap_or_else(|| s.app.now());
    let from = p.from.unwrap_or(to - Duration::days(30));
    Ok(Json(s.app.alert_stats(&a, from, to).await?))
}

#[utoipa::path(get, path = "/api/v1/archive/word-lists", tag = "archive",
    responses((status = 200, body = Vec<WordListView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_word_lists(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<WordListView>>> {
    Ok(Json(s.app.word_lists(&a).await?))
}

#[utoipa::path(post, path = "/api/v1/archive/word-lists", tag = "archive", request_body = WordListInput,
    responses((status = 201, body = WordListView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_word_list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<WordListInput>,
) -> ApiResult<(StatusCode, Json<WordListView>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_word_list(&a, &b).await?)))
}

/// Deletes a word list and its words (refused while a rule uses it).
#[utoipa::path(delete, path = "/api/v1/archive/word-lists/{id}", tag = "archive", params(("id" = WordListId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_word_list(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<WordListId>,
) -> ApiResult<StatusCode> {
    s.app.delete_word_list(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WordView {
    pub word: String,
    pub strict: bool,
}

#[utoipa::path(get, path = "/api/v1/archive/word-lists/{id}/words", tag = "archive", params(("id" = WordListId, Path)),
    responses((status = 200, body = Vec<WordView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_words(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<WordListId>,
) -> ApiResult<Json<Vec<WordView>>> {
    let words = s.app.list_words(&a, id).await?;
    Ok(Json(words.into_iter().map(|(word, strict)| WordView { word, strict }).collect()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WordsAdded {
    /// Words that were not in the list yet.
    pub added: u64,
}

/// Adds words to a list (one per entry; entries with line breaks are split; existing words stay).
#[utoipa::path(post, path = "/api/v1/archive/word-lists/{id}/words", tag = "archive", params(("id" = WordListId, Path)),
    request_body = WordsInput,
    responses((status = 200, body = WordsAdded), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_words(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<WordListId>,
    ApiJson(b): ApiJson<WordsInput>,
) -> ApiResult<Json<WordsAdded>> {
    Ok(Json(WordsAdded { added: s.app.add_words(&a, id, &b).await? }))
}

#[utoipa::path(delete, path = "/api/v1/archive/word-lists/{id}/words/{word}", tag = "archive",
    params(("id" = WordListId, Path), ("word" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn remove_word(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath((id, word)): ApiPath<(WordListId, String)>,
) -> ApiResult<StatusCode> {
    s.app.remove_word(&a, id, &word).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/archive/rules", tag = "archive",
    responses((status = 200, body = Vec<RuleView>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_rules(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Vec<RuleView>>> {
    Ok(Json(s.app.rules(&a).await?))
}

/// Makes a rule: sensitive words, a sensitive behaviour or a group anti-harassment rule.
#[utoipa::path(post, path = "/api/v1/archive/rules", tag = "archive", request_body = RuleInput,
    responses((status = 201, body = RuleView), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_rule(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<RuleInput>,
) -> ApiResult<(StatusCode, Json<RuleView>)> {
    Ok((StatusCode::CREATED, Json(s.app.save_rule(&a, None, &b).await?)))
}

/// Replaces a rule's name, state and settings (its kind stays).
#[utoipa::path(put, path = "/api/v1/archive/rules/{id}", tag = "archive", params(("id" = ArchiveRuleId, Path)),
    request_body = RuleInput,
    responses((status = 200, body = RuleView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_rule(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ArchiveRuleId>,
    ApiJson(b): ApiJson<RuleInput>,
) -> ApiResult<Json<RuleView>> {
    Ok(Json(s.app.save_rule(&a, Some(id), &b).await?))
}

#[utoipa::path(delete, path = "/api/v1/archive/rules/{id}", tag = "archive", params(("id" = ArchiveRuleId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_rule(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiPath(id): ApiPath<ArchiveRuleId>,
) -> ApiResult<StatusCode> {
    s.app.delete_rule(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's dictionary: brand and product words kept whole by segmentation (search and word rules).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dictionary {
    pub words: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/archive/dictionary", tag = "archive",
    responses((status = 200, body = Dictionary), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_dictionary(State(s): State<AppState>, ApiActor(a): ApiActor) -> ApiResult<Json<Dictionary>> {
    Ok(Json(Dictionary { words: s.app.dictionary(&a).await? }))
}

/// Replaces the tenant's dictionary.
#[utoipa::path(put, path = "/api/v1/archive/dictionary", tag = "archive", request_body = Dictionary,
    responses((status = 200, body = Dictionary), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn set_dictionary(
    State(s): State<AppState>,
    ApiActor(a): ApiActor,
    ApiJson(b): ApiJson<Dictionary>,
) -> ApiResult<Json<Dictionary>> {
    Ok(Json(Dictionary { words: s.app.set_dictionary(&a, &b.words).await? }))
}
