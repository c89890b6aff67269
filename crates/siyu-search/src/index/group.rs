//! Every match of a query gathered per folder: how many documents of each folder match and which one
//! matches best. The archive's conversation list uses it (a chat message's folder is its conversation).
//!
//! A tantivy [`Collector`] over the `folder` and `id` fast columns: it visits each matching document once,
//! counting per term ordinal of the segment's folder column and keeping the best score, and turns ordinals
//! into strings once per segment, so no stored document is read.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// The matches of one folder.
#[derive(Debug, Clone, PartialEq)]
pub struct FolderHits {
    pub folder: String,
    /// Matching documents filed in it.
    pub hits: usize,
    /// The id of its best match (the highest score; of equal scores, the first met).
    pub best_id: String,
    pub best_score: f32,
}

/// Collects [`FolderHits`]; documents without a folder are left out.
pub(super) struct ByFolder;

struct Best {
    hits: usize,
    doc: DocId,
    score: Score,
}

pub(super) struct SegmentByFolder {
    folder: Option<StrColumn>,
    id: Option<StrColumn>,
    groups: HashMap<u64, Best>,
}

impl Collector for ByFolder {
    type Fruit = Vec<FolderHits>;
    type Child = SegmentByFolder;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<SegmentByFolder> {
        let fast = segment.fast_fields();
        Ok(SegmentByFolder { folder: fast.str("folder")?, id: fast.str("id")?, groups: HashMap::new() })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, segments: Vec<Vec<FolderHits>>) -> tantivy::Result<Vec<FolderHits>> {
        let mut merged: HashMap<String, FolderHits> = HashMap::new();
        for group in segments.into_iter().flatten() {
            match merged.get_mut(&group.folder) {
                Some(m) => {
                    m.hits += group.hits;
                    if group.best_score > m.best_score {
                        m.best_score = group.best_score;
                        m.best_id = group.best_id;
                    }
                }
                None => {
                    merged.insert(group.folder.clone(), group);
                }
            }
        }
        let mut out: Vec<FolderHits> = merged.into_values().collect();
        out.sort_by(|a, b| b.best_score.total_cmp(&a.best_score).then_with(|| a.folder.cmp(&b.folder)));
        Ok(out)
    }
}

impl SegmentCollector for SegmentByFolder {
    type Fruit = Vec<FolderHits>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let Some(ord) = self.folder.as_ref().and_then(|c| c.ords().first(doc)) else { return };
        let best = self.groups.entry(ord).or_insert(Best { hits: 0, doc, score });
        best.hits += 1;
        if score > best.score {
            best.doc = doc;
            best.score = score;
        }
    }

    fn harvest(self) -> Vec<FolderHits> {
        let (Some(folders), ids) = (self.folder, self.id) else { return Vec::new() };
        let mut out = Vec::with_capacity(self.groups.len());
        for (ord, best) in self.groups {
            let mut folder = String::new();
            if !folders.ord_to_str(ord, &mut folder).unwrap_or(false) {
                continue;
            }
            let mut best_id = String::new();
            if let Some(ids) = &ids
                && let Some(id_ord) = ids.ords().first(best.doc)
            {
                let _ = ids.ord_to_str(id_ord, &mut best_id);
            }
            out.push(FolderHits { folder, hits: best.hits, best_id, best_score: best.score });
        }
        out
    }
}
