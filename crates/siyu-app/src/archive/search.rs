//! Listing and searching archived chats. Text goes to the tenant's full-text index (jieba with the tenant's
//! dictionary, see [`crate::search`]); the index answers which messages match, the database which of their
//! conversations pass the filters and what they hold.
//!
//! - The conversation list with text: the index gathers every matching message per conversation (count and
//!   best match), the database keeps the conversations passing the kind, staff and customer filters, most
//!   recent first, and loads the page; the best match of each is highlighted.
//! - The message search: the best matches first, within the conversations passing the filters when some
//!   are set; each message read back from the database with its highlight.
//!
//! While the index is being rebuilt or cannot be opened, both use a substring match in the database
//! instead (newest first, no highlight) and say so ([`SearchSource`]); so does a text with no word to
//! search by (only punctuation or emoji), which the index would not cut into anything.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::error::Invalid;
use siyu_domain::id::TenantId;
use siyu_search::{DocKind, SearchQuery, TenantIndex};
use siyu_store::archive::ConversationQuery;
use uuid::Uuid;

use super::{ConversationView, MessageView};
use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The longest search text, in characters.
const MAX_TEXT: usize = 100;

/// What answered a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchSource {
    /// The full-text index: words cut by jieba with the tenant's dictionary, highlighted.
    Index,
    /// The database's substring match, because the index is being rebuilt.
    IndexRebuilding,
    /// The database's substring match, because the index could not be opened or searched.
    IndexUnavailable,
    /// The database's substring match, because the text has no word to search by.
    Substring,
}

/// A page of a list and how many items there are in all.
#[derive(Debug, Clone)]
pub struct ArchivePage<T> {
    pub items: Vec<T>,
    pub total: i64,
    /// What answered the text filter (`None`: there was none).
    pub source: Option<SearchSource>,
}

/// The trimmed search text, or `None` when blank; `q` when longer than [`MAX_TEXT`].
fn search_text(text: Option<&str>) -> AppResult<Option<&str>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > MAX_TEXT => Err(AppError::Invalid(Invalid::new("q", "length"))),
        t => Ok(t),
    }
}

fn filtered(q: &ConversationQuery) -> bool {
    q.kind.is_some() || q.staff_userid.is_some() || q.customer.is_some()
}

fn chat_query(text: &str, limit: i64, offset: i64) -> SearchQuery {
    SearchQuery {
        text: text.to_string(),
        kinds: vec![DocKind::Chat],
        limit: usize::try_from(limit).unwrap_or(0),
        offset: usize::try_from(offset).unwrap_or(0),
        ..SearchQuery::default()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, siyu_search::SearchError> + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(AppError::internal)?.map_err(AppError::internal)
}

impl App {
    /// Conversations most recent first, filtered by kind, staff member and customer, and with `q.text` by
    /// the messages they hold (through the index: with each one's hit count and highlighted best match).
    pub async fn conversations(
        &self,
        actor: &Actor,
        q: &ConversationQuery,
    ) -> AppResult<ArchivePage<ConversationView>> {
        actor.require(Permission::ArchiveAudit)?;
        let Some(text) = search_text(q.text.as_deref())? else {
            let q = ConversationQuery { text: None, ..q.clone() };
            let (rows, total) = self.store.archive().conversations(actor.tenant, &q).await?;
            return Ok(ArchivePage { items: rows.into_iter().map(Into::into).collect(), total, source: None });
        };
        // The list then shows each conversation's best matching message: a search like any other.
        self.audit_archive_search(actor, text).await;
        let index = match self.chat_index(actor.tenant, text).await {
            Ok(index) => index,
            Err(source) => {
                let q = ConversationQuery { text: Some(text.to_string()), ..q.clone() };
                let (rows, total) = self.store.archive().conversations(actor.tenant, &q).await?;
                return Ok(ArchivePage {
                    items: rows.into_iter().map(Into::into).collect(),
                    total,
                    source: Some(source),
                });
            }
        };
        let ix = Arc::clone(&index);
        let query = chat_query(text, 0, 0);
        let groups = blocking(move || ix.folders(&query)).await?;
        let mut best: HashMap<Uuid, (i64, String)> = HashMap::with_capacity(groups.len());
        for g in groups {
            if let Ok(id) = Uuid::parse_str(&g.folder) {
                best.insert(id, (i64::try_from(g.hits).unwrap_or(i64::MAX), g.best_id));
            }
        }
        let ids: Vec<Uuid> = best.keys().copied().collect();
        let ordered = self.store.archive().filter_conversations(actor.tenant, &ids, q).await?;
        let total = i64::try_from(ordered.len()).unwrap_or(i64::MAX);
        let start = usize::try_from(q.offset.max(0)).unwrap_or(usize::MAX).min(ordered.len());
        let end = start.saturating_add(usize::try_from(q.limit.max(0)).unwrap_or(0)).min(ordered.len());
        let rows = self.store.archive().conversations_by_ids(actor.tenant, &ordered[start..end]).await?;
        let best_ids: Vec<String> = rows.iter().filter_map(|r| best.get(&r.id)).map(|(_, id)| id.clone()).collect();
        let (ix, text_owned) = (Arc::clone(&index), text.to_string());
        let marked = blocking(move || ix.highlight(DocKind::Chat, &best_ids, &text_owned)).await?;
        let marked: HashMap<String, String> = marked.into_iter().map(|h| (h.id, h.snippet_html)).collect();
        let items = rows
            .into_iter()
            .map(|row| {
                let (hits, best_id) = best.get(&row.id).cloned().unwrap_or_default();
                ConversationView {
                    hits: Some(hits),
                    best_message_id: Uuid::parse_str(&best_id).ok(),
                    highlight: marked.get(&best_id).cloned(),
                    ..row.into()
                }
            })
            .collect();
        Ok(ArchivePage { items, total, source: Some(SearchSource::Index) })
    }

    /// Archived messages matching `text`, best first, each with its highlighted snippet, within the
    /// conversations passing `q`'s kind, staff and customer filters; one page (`q.limit`, `q.offset`) and
    /// how many match. The search is audited.
    pub async fn search_archive(
        &self,
        actor: &Actor,
        text: &str,
        q: &ConversationQuery,
    ) -> AppResult<ArchivePage<MessageView>> {
        actor.require(Permission::ArchiveAudit)?;
        let Some(text) = search_text(Some(text))? else {
            return Err(AppError::Invalid(Invalid::new("q", "length")));
        };
        let q = ConversationQuery { limit: q.limit.clamp(1, 200), offset: q.offset.max(0), ..q.clone() };
        let page = match self.chat_index(actor.tenant, text).await {
            Ok(index) => self.search_messages_in(actor.tenant, index, text, &q).await?,
            Err(source) => {
                let (rows, total) = self.store.archive().search_messages(actor.tenant, text, &q).await?;
                ArchivePage { items: rows.into_iter().map(Into::into).collect(), total, source: Some(source) }
            }
        };
        self.audit_archive_search(actor, text).await;
        Ok(page)
    }

    /// Records that `actor` searched the archive for `text` (a search shows message text).
    async fn audit_archive_search(&self, actor: &Actor, text: &str) {
        let detail = json!({"q": text});
        self.audit(actor, AuditEvent { action: "archive.search", object_type: "archive", object_id: None, detail })
            .await;
    }

    /// The tenant's index when it can answer `text` now, else why the database answers instead.
    async fn chat_index(&self, tenant: TenantId, text: &str) -> Result<Arc<TenantIndex>, SearchSource> {
        if self.search.is_rebuilding(tenant) {
            return Err(SearchSource::IndexRebuilding);
        }
        match self.archive_index_unless_busy(tenant).await {
            Ok(None) => Err(SearchSource::IndexRebuilding),
            Ok(Some(index)) if index.has_words(text) => Ok(index),
            Ok(Some(_)) => Err(SearchSource::Substring),
            Err(e) => {
                tracing::warn!(tenant = %tenant.0, error = %e, "archive search index unavailable; searching the database");
                Err(SearchSource::IndexUnavailable)
            }
        }
    }

    /// A page of the index's hits, within the filtered conversations when `q` filters, read back from the
    /// database in hit order (a hit whose message is gone is left out).
    async fn search_messages_in(
        &self,
        tenant: TenantId,
        index: Arc<TenantIndex>,
        text: &str,
        q: &ConversationQuery,
    ) -> AppResult<ArchivePage<MessageView>> {
        let query = chat_query(text, q.limit, q.offset);
        let results = if filtered(q) {
            let (ix, all) = (Arc::clone(&index), chat_query(text, 0, 0));
            let groups = blocking(move || ix.folders(&all)).await?;
            let ids: Vec<Uuid> = groups.iter().filter_map(|g| Uuid::parse_str(&g.folder).ok()).collect();
            let allowed = self.store.archive().filter_conversations(tenant, &ids, q).await?;
            let folders: Vec<String> = allowed.iter().map(Uuid::to_string).collect();
            blocking(move || index.search_in_folders(&query, &folders)).await?
        } else {
            blocking(move || index.search(&query)).await?
        };
        let mut snippets: HashMap<Uuid, String> = HashMap::with_capacity(results.hits.len());
        let mut ids: Vec<Uuid> = Vec::with_capacity(results.hits.len());
        for hit in results.hits {
            if let Ok(id) = Uuid::parse_str(&hit.id) {
                ids.push(id);
                snippets.insert(id, hit.snippet_html);
            }
        }
        let rows = self.store.archive().messages_by_ids(tenant, &ids).await?;
        let items =
            rows.into_iter().map(|row| MessageView { highlight: snippets.remove(&row.id), ..row.into() }).collect();
        Ok(ArchivePage {
            items,
            total: i64::try_from(results.total).unwrap_or(i64::MAX),
            source: Some(SearchSource::Index),
        })
    }
}
