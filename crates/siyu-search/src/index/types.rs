//! What goes into a tenant's index and what comes out of a search.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kinds of document the console searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    /// A material of the library (article, poster, product card, file).
    Material,
    /// A sales script (话术).
    Script,
    /// An archived chat message (会话存档).
    Chat,
}

impl DocKind {
    pub const ALL: [DocKind; 3] = [DocKind::Material, DocKind::Script, DocKind::Chat];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Material => "material",
            DocKind::Script => "script",
            DocKind::Chat => "chat",
        }
    }

    /// The kind named `s` (as [`DocKind::as_str`] spells it).
    pub fn parse(s: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One document to index. `(kind, id)` identifies it: upserting the same pair replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchDoc {
    pub kind: DocKind,
    pub id: String,
    pub title: String,
    pub body: String,
    /// The folder it is filed in, matched exactly by [`SearchQuery::folder`].
    pub folder: Option<String>,
    /// Tags, matched exactly by [`SearchQuery::tags`].
    pub tags: Vec<String>,
    /// Who may see it, as opaque entries the caller defines, e.g. `all`, `dept:3`, `staff:zhangsan`.
    /// A document with no entry is seen only by queries with an empty [`SearchQuery::visible_to`].
    pub visibility: Vec<String>,
    /// Seconds (or any monotonic unit the caller picks) used to list documents newest first.
    pub updated_at: i64,
}

/// A search. Empty filters do not filter; filters combine with AND.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    /// Plain words, cut by the tenant's segmenter. No query syntax: quotes, `AND`, `-`, `*` are just text.
    /// Empty (or only punctuation): every document passing the filters, newest first.
    pub text: String,
    /// Any of these kinds (empty: all kinds).
    pub kinds: Vec<DocKind>,
    /// Exactly this folder.
    pub folder: Option<String>,
    /// Every one of these tags.
    pub tags: Vec<String>,
    /// A document matches if any of its visibility entries is in this list. **Empty means no visibility
    /// filter** (an administrator); a staff member's query must list what they may see, e.g.
    /// `["all", "dept:3", "staff:zhangsan"]`.
    pub visible_to: Vec<String>,
    /// Hits per page (capped at [`MAX_LIMIT`](crate::index::MAX_LIMIT); 0 only counts).
    pub limit: usize,
    /// Hits skipped; beyond [`MAX_OFFSET`](crate::index::MAX_OFFSET) a search returns no hits (only the total).
    pub offset: usize,
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            text: String::new(),
            kinds: Vec::new(),
            folder: None,
            tags: Vec::new(),
            visible_to: Vec::new(),
            limit: 20,
            offset: 0,
        }
    }
}

impl SearchQuery {
    /// A query for `text` with no filter and the default page.
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), ..Self::default() }
    }
}

/// One document found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub kind: DocKind,
    pub id: String,
    /// BM25 relevance (title matches weigh twice a body match); 0 when listing without text.
    pub score: f32,
    /// The whole title, HTML-escaped, the query's words wrapped in `<mark>`.
    pub title_html: String,
    /// The best passage of the body (about [`SNIPPET_CHARS`](crate::index::SNIPPET_CHARS) characters, `…`
    /// where cut), HTML-escaped, the query's words wrapped in `<mark>`.
    pub snippet_html: String,
}

/// A page of hits and how many documents matched in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<SearchHit>,
}

/// What [`TenantIndex::open`](crate::index::TenantIndex::open) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The index was there and is as it was last committed.
    Existing,
    /// There was no usable index (new tenant, lost or corrupt directory, older schema): it is empty now
    /// and the caller must rebuild it from the database.
    Created,
}
