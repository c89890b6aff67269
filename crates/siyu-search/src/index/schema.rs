//! The fields of a tenant's index.

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

/// The name our tokenizer is registered under in every tenant's index.
pub const TOKENIZER: &str = "siyu_zh";

/// The fields, looked up once.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// `kind:id`, the identity upserts and deletes go by.
    pub key: Field,
    pub kind: Field,
    pub id: Field,
    pub title: Field,
    pub body: Field,
    pub folder: Field,
    pub tags: Field,
    pub visibility: Field,
    pub updated_at: Field,
}

/// `id` and `folder` are also fast columns, so matches can be gathered per folder without reading stored
/// documents ([`super::group`]). Text fields record term frequencies (BM25) but no positions: queries are bags of required words, never
/// phrases, and leaving positions out makes indexing faster and the index smaller.
pub fn build() -> (Schema, Fields) {
    let text = |stored: bool| {
        let indexing =
            TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqs);
        let options = TextOptions::default().set_indexing_options(indexing);
        if stored { options.set_stored() } else { options }
    };
    let mut b = Schema::builder();
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        kind: b.add_text_field("kind", STRING | STORED),
        id: b.add_text_field("id", STORED | FAST),
        title: b.add_text_field("title", text(true)),
        body: b.add_text_field("body", text(true)),
        folder: b.add_text_field("folder", STRING | FAST),
        tags: b.add_text_field("tags", STRING),
        visibility: b.add_text_field("visibility", STRING),
        updated_at: b.add_i64_field("updated_at", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// The identity term of a document.
pub fn key(kind: &str, id: &str) -> String {
    format!("{kind}:{id}")
}
