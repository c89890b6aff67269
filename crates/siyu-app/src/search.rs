//! The tenants' full-text indexes (`siyu-search`'s [`TenantIndex`]): archived chats, materials and
//! quick-reply scripts in one index per tenant (materials and scripts: see [`crate::materials::index`]).
//!
//! The database is the source of truth; an index is a cache of it:
//!
//! - [`Indexes`] holds the open index of each tenant of this process, opened on first use: on disk under
//!   `search.dir` (one directory per tenant), or in memory (see [`Settings`]'s `search.dir`).
//! - An index that was created empty (new tenant, lost or corrupt directory, older schema, in memory), one
//!   marked stale (a failed write, an erasure) and one cut with another dictionary than the tenant's
//!   current one are rebuilt from the database before use: every message with text, in pages, then every
//!   material and script.
//! - Beside each directory, `<tenant>.words` holds the dictionary the index was built with; it is written
//!   after a rebuild's commit and removed when the index is marked stale, so a process that stops in
//!   between rebuilds the index on its next start.
//! - While a rebuild runs, [`Indexes::is_rebuilding`] says so: the archive's searches answer from the
//!   database meanwhile instead of waiting (see [`crate::archive`]).
//! - Ingest adds each batch's new messages and commits once per batch (searchable at once). A failed index
//!   write never fails the ingest: it is logged and the index marked stale.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use siyu_domain::id::TenantId;
use siyu_search::{DocKind, Opened, SearchDoc, SearchError, Segmenter, TenantIndex};
use siyu_store::archive::MessageRow;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::{App, Settings};

/// Messages read from the database per page while rebuilding.
const REBUILD_PAGE: i64 = 1000;
/// How long opening an index directory is retried (another holder of its writer may be letting go).
const OPEN_ATTEMPTS: u32 = 20;
const OPEN_RETRY: Duration = Duration::from_millis(100);
/// After a directory could not be opened (e.g. another process holds it), how long it is not tried again.
const OPEN_BACKOFF: Duration = Duration::from_secs(30);

/// Where the indexes live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// In memory: rebuilt from the database whenever this process first needs a tenant's index.
    Ram,
    /// One directory per tenant under this one.
    Dir(PathBuf),
}

impl Location {
    /// `search.dir`, or when it is empty: beside the SQLite database file `store` uses, else in memory.
    pub fn new(settings: &Settings, store: &siyu_store::Store) -> Self {
        let dir = settings.search.dir.trim();
        if !dir.is_empty() {
            return Self::Dir(PathBuf::from(dir));
        }
        match store.sqlite_file() {
            Some(file) => {
                let mut dir = file.into_os_string();
                dir.push(".search");
                Self::Dir(PathBuf::from(dir))
            }
            None => Self::Ram,
        }
    }
}

/// An open index and the dictionary it was cut with.
struct Open {
    index: Arc<TenantIndex>,
    words: Vec<String>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Open>>>;

/// The open indexes of this process, per tenant.
pub struct Indexes {
    location: Location,
    slots: Mutex<HashMap<TenantId, Slot>>,
    stale: Mutex<HashSet<TenantId>>,
    /// Tenants whose index is being rebuilt right now.
    rebuilding: Mutex<HashSet<TenantId>>,
    /// When opening a tenant's directory last failed.
    failed: Mutex<HashMap<TenantId, Instant>>,
}

impl Indexes {
    pub fn new(location: Location) -> Self {
        Self {
            location,
            slots: Mutex::default(),
            stale: Mutex::default(),
            rebuilding: Mutex::default(),
            failed: Mutex::default(),
        }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    fn slot(&self, tenant: TenantId) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(slots.entry(tenant).or_default())
    }

    fn dir(&self, tenant: TenantId) -> Option<PathBuf> {
        match &self.location {
            Location::Ram => None,
            Location::Dir(d) => Some(d.join(tenant.0.to_string())),
        }
    }

    fn words_file(&self, tenant: TenantId) -> Option<PathBuf> {
        match &self.location {
            Location::Ram => None,
            Location::Dir(d) => Some(d.join(format!("{}.words", tenant.0))),
        }
    }

    /// Marks the tenant's index for a rebuild from the database before its next use (also after a restart).
    pub fn mark_stale(&self, tenant: TenantId) {
        self.stale.lock().unwrap_or_else(|e| e.into_inner()).insert(tenant);
        self.forget_words(tenant);
    }

    /// Removes the record of what the index on disk was built with: until it is written again, the next
    /// open rebuilds the index.
    fn forget_words(&self, tenant: TenantId) {
        if let Some(file) = self.words_file(tenant)
            && let Err(e) = std::fs::remove_file(&file)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %file.display(), error = %e, "cannot mark the search index stale");
        }
    }

    /// Whether the tenant's index is being rebuilt from the database at this moment (searches that cannot
    /// wait for it use the database instead).
    pub fn is_rebuilding(&self, tenant: TenantId) -> bool {
        self.rebuilding.lock().unwrap_or_else(|e| e.into_inner()).contains(&tenant)
    }

    fn take_stale(&self, tenant: TenantId) -> bool {
        self.stale.lock().unwrap_or_else(|e| e.into_inner()).remove(&tenant)
    }

    /// Whether the words file says the index on disk was built with `words`.
    fn built_with(&self, tenant: TenantId, words: &[String]) -> bool {
        let Some(file) = self.words_file(tenant) else { return false };
        std::fs::read_to_string(file).is_ok_and(|s| s == words_text(words))
    }

    fn record_words(&self, tenant: TenantId, words: &[String]) {
        if let Some(file) = self.words_file(tenant)
            && let Err(e) = std::fs::write(&file, words_text(words))
        {
            tracing::warn!(path = %file.display(), error = %e, "cannot record the search index's dictionary");
        }
    }
}

/// Marks a tenant's index as being rebuilt while it lives.
struct Rebuilding<'a> {
    indexes: &'a Indexes,
    tenant: TenantId,
}

impl<'a> Rebuilding<'a> {
    fn start(indexes: &'a Indexes, tenant: TenantId) -> Self {
        indexes.rebuilding.lock().unwrap_or_else(|e| e.into_inner()).insert(tenant);
        Self { indexes, tenant }
    }
}

impl Drop for Rebuilding<'_> {
    fn drop(&mut self) {
        self.indexes.rebuilding.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.tenant);
    }
}

fn words_text(words: &[String]) -> String {
    let mut s = String::from("siyu-search-words 1\n");
    for w in words {
        s.push_str(w);
        s.push('\n');
    }
    s
}

fn search_error(e: SearchError) -> AppError {
    AppError::internal(e)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, SearchError> + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(AppError::internal)?.map_err(search_error)
}

/// The index document of an archived message: its text as the body, filed under its conversation.
pub fn chat_doc(id: Uuid, conversation: Option<Uuid>, text: &str, msgtime: DateTime<Utc>) -> SearchDoc {
    SearchDoc {
        kind: DocKind::Chat,
        id: id.to_string(),
        title: String::new(),
        body: text.to_string(),
        folder: conversation.map(|c| c.to_string()),
        tags: Vec::new(),
        visibility: Vec::new(),
        updated_at: msgtime.timestamp_millis(),
    }
}

fn message_doc(m: &MessageRow) -> SearchDoc {
    chat_doc(m.id, m.conversation_id, &m.body, m.msgtime)
}

/// Opens (or creates) the index in `dir`, retrying while another holder of its writer lets go.
async fn open_dir(dir: &Path, segmenter: Segmenter) -> AppResult<(TenantIndex, Opened)> {
    let mut attempt = 0;
    loop {
        let (dir, seg) = (dir.to_path_buf(), segmenter.clone());
        match tokio::task::spawn_blocking(move || TenantIndex::open(dir, seg)).await.map_err(AppError::internal)? {
            Ok(opened) => return Ok(opened),
            Err(SearchError::Index(_)) if attempt + 1 < OPEN_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(OPEN_RETRY).await;
            }
            Err(e) => return Err(search_error(e)),
        }
    }
}

impl App {
    /// The tenant's archive index, opened on first use and rebuilt from the database when it was lost,
    /// marked stale or cut with another dictionary.
    pub async fn archive_index(&self, tenant: TenantId) -> AppResult<Arc<TenantIndex>> {
        let words = self.store.archive().tenant_words(tenant).await?;
        let slot = self.search.slot(tenant);
        let mut open = slot.lock().await;
        self.archive_index_in(tenant, words, &mut open).await
    }

    /// [`archive_index`](Self::archive_index), or `None` at once when another task holds the tenant's index
    /// (opening or rebuilding it): a search answers from the database rather than wait for a rebuild.
    pub(crate) async fn archive_index_unless_busy(&self, tenant: TenantId) -> AppResult<Option<Arc<TenantIndex>>> {
        let words = self.store.archive().tenant_words(tenant).await?;
        let slot = self.search.slot(tenant);
        let Ok(mut open) = slot.try_lock() else {
            return Ok(None);
        };
        self.archive_index_in(tenant, words, &mut open).await.map(Some)
    }

    async fn archive_index_in(
        &self,
        tenant: TenantId,
        words: Vec<String>,
        open: &mut Option<Open>,
    ) -> AppResult<Arc<TenantIndex>> {
        let stale = self.search.take_stale(tenant);
        match open.take() {
            Some(o) if o.words == words && !stale => {
                let index = Arc::clone(&o.index);
                *open = Some(o);
                return Ok(index);
            }
            Some(o) if o.words == words => {
                // Same tokens: rebuild in place; searches see the old contents until the commit.
                let index = o.index;
                if let Err(e) = self.rebuild_archive_index(tenant, &index, &words).await {
                    self.search.mark_stale(tenant);
                    return Err(e);
                }
                *open = Some(Open { index: Arc::clone(&index), words });
                return Ok(index);
            }
            // Another dictionary (or nothing open): the old index, if any, is dropped here, letting go of
            // its directory before it is opened again with the new segmenter.
            _ => {}
        }
        let segmenter = Segmenter::with_user_words(words.iter().cloned());
        let (index, fresh) = match self.search.dir(tenant) {
            None => (blocking(move || TenantIndex::in_ram(segmenter)).await?, false),
            Some(dir) => {
                let recently_failed = {
                    let failed = self.search.failed.lock().unwrap_or_else(|e| e.into_inner());
                    failed.get(&tenant).is_some_and(|at| at.elapsed() < OPEN_BACKOFF)
                };
                if recently_failed {
                    if stale {
                        self.search.mark_stale(tenant);
                    }
                    return Err(AppError::internal(anyhow::anyhow!("search index {} is unavailable", dir.display())));
                }
                let (index, opened) = match open_dir(&dir, segmenter).await {
                    Ok(opened) => opened,
                    Err(e) => {
                        self.search.failed.lock().unwrap_or_else(|e| e.into_inner()).insert(tenant, Instant::now());
                        if stale {
                            self.search.mark_stale(tenant);
                        }
                        return Err(e);
                    }
                };
                self.search.failed.lock().unwrap_or_else(|e| e.into_inner()).remove(&tenant);
                (index, opened == Opened::Existing && !stale && self.search.built_with(tenant, &words))
            }
        };
        let index = Arc::new(index);
        if !fresh && let Err(e) = self.rebuild_archive_index(tenant, &index, &words).await {
            self.search.mark_stale(tenant);
            return Err(e);
        }
        *open = Some(Open { index: Arc::clone(&index), words });
        Ok(index)
    }

    /// Refills `index` with the tenant's messages from the database (clear, upsert every page, commit).
    async fn rebuild_archive_index(
        &self,
        tenant: TenantId,
        index: &Arc<TenantIndex>,
        words: &[String],
    ) -> AppResult<()> {
        let started = std::time::Instant::now();
        let _rebuilding = Rebuilding::start(&self.search, tenant);
        self.search.forget_words(tenant);
        let ix = Arc::clone(index);
        blocking(move || ix.clear()).await?;
        let mut after = None;
        let mut count = 0usize;
        loop {
            let page = self.store.archive().messages_with_text(tenant, after, REBUILD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some((last.msgtime, last.id));
            count += page.len();
            let docs: Vec<SearchDoc> = page.iter().map(message_doc).collect();
            let ix = Arc::clone(index);
            if let Err(e) = blocking(move || ix.upsert(&docs)).await {
                let ix = Arc::clone(index);
                let _ = blocking(move || ix.rollback()).await;
                return Err(e);
            }
            if (page.len() as i64) < REBUILD_PAGE {
                break;
            }
        }
        let content = self.content_docs(tenant).await?;
        let contents = content.len();
        let ix = Arc::clone(index);
        if let Err(e) = blocking(move || ix.upsert(&content)).await {
            let ix = Arc::clone(index);
            let _ = blocking(move || ix.rollback()).await;
            return Err(e);
        }
        let ix = Arc::clone(index);
        blocking(move || ix.commit()).await?;
        self.search.record_words(tenant, words);
        tracing::info!(tenant = %tenant.0, messages = count, materials_and_scripts = contents,
            ms = started.elapsed().as_millis() as u64, "rebuilt the search index");
        Ok(())
    }

    /// Adds newly stored messages to the tenant's index and commits. Never fails: a failure is logged and
    /// the index marked for a rebuild (the database holds the messages).
    pub(crate) async fn index_new_messages(&self, tenant: TenantId, docs: Vec<SearchDoc>) {
        if docs.is_empty() {
            return;
        }
        let result = match self.archive_index(tenant).await {
            Ok(index) => {
                blocking(move || {
                    index.upsert(&docs).and_then(|()| index.commit()).inspect_err(|_| {
                        let _ = index.rollback();
                    })
                })
                .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(tenant = %tenant.0, error = %e, "archive search index not updated; it will be rebuilt");
            self.search.mark_stale(tenant);
        }
    }
}
