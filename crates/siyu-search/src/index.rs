//! The full-text index of a tenant's materials, scripts and archived chats, on tantivy.
//!
//! One index per tenant, in a directory the caller picks (or in memory for tests), so that each tenant's
//! tokenizer carries the tenant's own words: the index registers a [`SegmenterTokenizer`] built from the
//! tenant's [`Segmenter`] and uses it for indexing and for cutting query text alike. When the tenant's
//! words change, reopen with the new segmenter and rebuild ([`TenantIndex::clear`] + upsert everything).
//!
//! The index is a cache of the database: [`TenantIndex::open`] answers [`Opened::Created`] when there was
//! no usable index (new tenant, deleted directory, corrupt files, older schema), and the caller then
//! rebuilds it from the database. Writes go through one [`tantivy::IndexWriter`] per index, behind a
//! mutex; [`TenantIndex::commit`] makes them durable and reloads the reader, so the next search sees them.
//!
//! See `docs/search.md` for ranking and highlighting.

mod group;
mod highlight;
mod query;
mod schema;
mod tokenizer;
mod types;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, TantivyError, Term};

use crate::segment::Segmenter;
use schema::{Fields, TOKENIZER};

pub use group::FolderHits;
pub use query::TITLE_BOOST;
pub use tokenizer::{MAX_TOKEN_BYTES, SegmenterTokenStream, SegmenterTokenizer};
pub use types::{DocKind, Opened, SearchDoc, SearchHit, SearchQuery, SearchResults};

/// The indexing memory budget of a tenant's writer. tantivy's floor is 15 MB; more makes fewer, larger
/// segments when bulk (re)building, which is what matters for rebuild time.
pub const WRITER_MEMORY_BYTES: usize = 48_000_000;
/// The most hits one search returns.
pub const MAX_LIMIT: usize = 1_000;
/// The most hits a search can skip (deeper pages are refused by capping, not by an error).
pub const MAX_OFFSET: usize = 10_000;
/// About how many characters of the body a hit's snippet shows.
pub const SNIPPET_CHARS: usize = 120;

/// What can go wrong with an index. Query text never causes an error.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] TantivyError),
    #[error("search index directory {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("search index: a writer thread panicked while holding the writer")]
    Poisoned,
    #[error("search index: stored document {0:?} lacks its kind or id")]
    Corrupt(DocAddress),
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// A tenant's index: `Send + Sync`, meant to be shared as `Arc<TenantIndex>`.
pub struct TenantIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    fields: Fields,
    segmenter: Segmenter,
}

impl std::fmt::Debug for TenantIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantIndex").field("docs", &self.doc_count()).finish_non_exhaustive()
    }
}

impl TenantIndex {
    /// Opens the index in `dir`, creating the directory and an empty index when there is none or it cannot
    /// be used (then [`Opened::Created`]: rebuild it from the database). A directory holding an index of
    /// another schema, or a corrupt one, is emptied first. Fails if another writer holds the directory.
    pub fn open(dir: impl AsRef<Path>, segmenter: Segmenter) -> Result<(Self, Opened)> {
        let dir = dir.as_ref();
        let io = |source| SearchError::Io { path: dir.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let (schema, fields) = schema::build();
        let directory = MmapDirectory::open(dir).map_err(TantivyError::from)?;
        if Index::exists(&directory).map_err(TantivyError::from)? {
            match Index::open(directory) {
                Ok(index) if index.schema() == schema => {
                    return Ok((Self::with_index(index, fields, segmenter)?, Opened::Existing));
                }
                Err(e @ (TantivyError::IoError(_) | TantivyError::LockFailure(..))) => return Err(e.into()),
                // Another schema or unreadable files: the index is lost, start again.
                Ok(_) | Err(_) => {
                    std::fs::remove_dir_all(dir).map_err(io)?;
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
            }
        }
        let index = Index::create_in_dir(dir, schema)?;
        Ok((Self::with_index(index, fields, segmenter)?, Opened::Created))
    }

    /// An empty index in memory (tests, previews).
    pub fn in_ram(segmenter: Segmenter) -> Result<Self> {
        let (schema, fields) = schema::build();
        Self::with_index(Index::create_in_ram(schema), fields, segmenter)
    }

    fn with_index(index: Index, fields: Fields, segmenter: Segmenter) -> Result<Self> {
        index.tokenizers().register(TOKENIZER, TextAnalyzer::from(SegmenterTokenizer::new(segmenter.clone())));
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { index, reader, writer: Mutex::new(writer), fields, segmenter })
    }

    /// The tenant's segmenter (the one queries are cut with).
    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }

    fn writer(&self) -> Result<MutexGuard<'_, IndexWriter<TantivyDocument>>> {
        self.writer.lock().map_err(|_| SearchError::Poisoned)
    }

    fn key(&self, kind: DocKind, id: &str) -> Term {
        Term::from_field_text(self.fields.key, &schema::key(kind.as_str(), id))
    }

    /// Adds `docs`, replacing any document with the same `(kind, id)`. Visible to searches after
    /// [`commit`](Self::commit).
    pub fn upsert(&self, docs: &[SearchDoc]) -> Result<()> {
        let writer = self.writer()?;
        let f = &self.fields;
        for d in docs {
            writer.delete_term(self.key(d.kind, &d.id));
            let mut doc = TantivyDocument::default();
            doc.add_text(f.key, schema::key(d.kind.as_str(), &d.id));
            doc.add_text(f.kind, d.kind.as_str());
            doc.add_text(f.id, &d.id);
            doc.add_text(f.title, &d.title);
            doc.add_text(f.body, &d.body);
            if let Some(folder) = &d.folder {
                doc.add_text(f.folder, folder);
            }
            for tag in &d.tags {
                doc.add_text(f.tags, tag);
            }
            for v in &d.visibility {
                doc.add_text(f.visibility, v);
            }
            doc.add_i64(f.updated_at, d.updated_at);
            writer.add_document(doc)?;
        }
        Ok(())
    }

    /// Removes the document `(kind, id)` if there is one (after [`commit`](Self::commit)).
    pub fn delete(&self, kind: DocKind, id: &str) -> Result<()> {
        self.writer()?.delete_term(self.key(kind, id));
        Ok(())
    }

    /// Removes every document (after [`commit`](Self::commit)): clear, upsert everything and commit to
    /// rebuild while searches keep seeing the old contents.
    pub fn clear(&self) -> Result<()> {
        self.writer()?.delete_all_documents()?;
        Ok(())
    }

    /// Makes the pending changes durable and visible: the next search sees them.
    pub fn commit(&self) -> Result<()> {
        let mut writer = self.writer()?;
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Drops the changes made since the last commit.
    pub fn rollback(&self) -> Result<()> {
        self.writer()?.rollback()?;
        Ok(())
    }

    /// Committed documents.
    pub fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Runs `q`: with words, the best matches first; without, every document passing the filters, newest
    /// first. Any text is accepted (it is cut into words, never parsed as syntax).
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        self.run(q, None)
    }

    /// [`search`](Self::search) limited to documents filed in any of `folders` (none: nothing matches).
    pub fn search_in_folders(&self, q: &SearchQuery, folders: &[String]) -> Result<SearchResults> {
        let terms = folders.iter().map(|f| Term::from_field_text(self.fields.folder, f));
        self.run(q, Some(Box::new(TermSetQuery::new(terms))))
    }

    /// Every document matching `q` (its page ignored) gathered per folder, the folder with the best match
    /// first; documents without a folder are left out.
    pub fn folders(&self, q: &SearchQuery) -> Result<Vec<FolderHits>> {
        let plan = query::plan(&self.segmenter, &self.fields, q);
        Ok(self.reader.searcher().search(&*plan.query, &group::ByFolder)?)
    }

    /// Whether `text` has a word to search by (not only spaces, punctuation or emoji).
    pub fn has_words(&self, text: &str) -> bool {
        !tokenizer::distinct_terms(&self.segmenter, text).is_empty()
    }

    /// The documents `(kind, id)` of `ids` that the index holds, in the order of `ids`, highlighted for
    /// `text` as a search for it would: the snippets of hits chosen elsewhere (e.g. by [`folders`](Self::folders)).
    pub fn highlight(&self, kind: DocKind, ids: &[String], text: &str) -> Result<Vec<SearchHit>> {
        let searcher = self.reader.searcher();
        let plan = query::plan(&self.segmenter, &self.fields, &SearchQuery::text(text));
        let mut hits = Vec::with_capacity(ids.len());
        for id in ids {
            let by_key = TermQuery::new(self.key(kind, id), IndexRecordOption::Basic);
            let Some((_, addr)) = searcher.search(&by_key, &TopDocs::with_limit(1).order_by_score())?.pop() else {
                continue;
            };
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default();
            hits.push(SearchHit {
                kind,
                id: id.clone(),
                score: 0.0,
                title_html: highlight::full(text(self.fields.title), &plan.highlight),
                snippet_html: highlight::snippet(text(self.fields.body), &plan.highlight, SNIPPET_CHARS),
            });
        }
        Ok(hits)
    }

    fn run(&self, q: &SearchQuery, filter: Option<Box<dyn Query>>) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let mut plan = query::plan(&self.segmenter, &self.fields, q);
        if let Some(filter) = filter {
            let filter: Box<dyn Query> = Box::new(ConstScoreQuery::new(filter, 0.0));
            plan.query = Box::new(BooleanQuery::new(vec![(Occur::Must, plan.query), (Occur::Must, filter)]));
        }
        let limit = q.limit.min(MAX_LIMIT);
        // Past the deepest page there are no hits (rather than the deepest page again, which a "next" link
        // would serve forever).
        if limit == 0 || q.offset > MAX_OFFSET {
            let total = searcher.search(&*plan.query, &Count)?;
            return Ok(SearchResults { total, hits: Vec::new() });
        }
        let page = TopDocs::with_limit(limit).and_offset(q.offset);
        let (found, total): (Vec<(f32, DocAddress)>, usize) = if plan.ranked {
            searcher.search(&*plan.query, &(page.order_by_score(), Count))?
        } else {
            let (newest, total) =
                searcher.search(&*plan.query, &(page.order_by_fast_field::<i64>("updated_at", Order::Desc), Count))?;
            (newest.into_iter().map(|(_, addr)| (0.0, addr)).collect(), total)
        };
        let mut hits = Vec::with_capacity(found.len());
        for (score, addr) in found {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default();
            let kind = DocKind::parse(text(self.fields.kind)).ok_or(SearchError::Corrupt(addr))?;
            let id = text(self.fields.id);
            if id.is_empty() && doc.get_first(self.fields.id).is_none() {
                return Err(SearchError::Corrupt(addr));
            }
            hits.push(SearchHit {
                kind,
                id: id.to_string(),
                score,
                title_html: highlight::full(text(self.fields.title), &plan.highlight),
                snippet_html: highlight::snippet(text(self.fields.body), &plan.highlight, SNIPPET_CHARS),
            });
        }
        Ok(SearchResults { total, hits })
    }

    /// The underlying tantivy index (for diagnostics).
    pub fn tantivy(&self) -> &Index {
        &self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_tenant_index_can_be_shared_between_threads() {
        assert_send_sync::<TenantIndex>();
    }
}
