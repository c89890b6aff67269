//! Chinese text analysis: segmentation ([`segment`]), sensitive-word scanning ([`scan`]) and the
//! full-text index ([`index`]). The crate holds no database code; callers feed it documents and rules.

pub mod index;
pub mod scan;
pub mod segment;

pub use index::{DocKind, Opened, SearchDoc, SearchError, SearchHit, SearchQuery, SearchResults, TenantIndex};
pub use scan::{Hit, Scanner, WordRule};
pub use segment::Segmenter;
