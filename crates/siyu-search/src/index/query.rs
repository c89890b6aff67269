//! Turning a [`SearchQuery`] into a tantivy query: plain words, never query syntax.
//!
//! The text is cut by the tenant's tokenizer (search mode, as at indexing). Every term is required, except
//! single-character Chinese words (的, 了, 吗) when the text has longer words too: those only add to the
//! score. A term matches in the title or the body; a title match weighs [`TITLE_BOOST`] times a body
//! match. Filters are required clauses that add nothing to the score.

use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;

use super::schema::Fields;
use super::tokenizer::distinct_terms;
use super::types::SearchQuery;
use crate::segment::Segmenter;

/// How much more a title match weighs than a body match.
pub const TITLE_BOOST: f32 = 2.0;

/// The query to run and the words to highlight.
pub struct Plan {
    pub query: Box<dyn Query>,
    /// The required terms (all terms when none is required), lowercased.
    pub highlight: Vec<String>,
    /// Whether there were words to rank by; without, hits are listed newest first.
    pub ranked: bool,
}

/// Whether `term` is a lone non-ASCII character (的, 了): too common to require.
fn is_particle(term: &str) -> bool {
    let mut chars = term.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if !c.is_ascii())
}

fn term_query(fields: &Fields, term: &str) -> Box<dyn Query> {
    let title = TermQuery::new(Term::from_field_text(fields.title, term), IndexRecordOption::WithFreqs);
    let body = TermQuery::new(Term::from_field_text(fields.body, term), IndexRecordOption::WithFreqs);
    Box::new(BooleanQuery::new(vec![
        (Occur::Should, Box::new(BoostQuery::new(Box::new(title), TITLE_BOOST))),
        (Occur::Should, Box::new(body)),
    ]))
}

fn filter(query: impl Query) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(Box::new(query), 0.0)))
}

pub fn plan(segmenter: &Segmenter, fields: &Fields, q: &SearchQuery) -> Plan {
    let terms = distinct_terms(segmenter, &q.text);
    let any_required = terms.iter().any(|t| !is_particle(t));
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut highlight = Vec::new();
    for term in &terms {
        let required = !any_required || !is_particle(term);
        clauses.push((if required { Occur::Must } else { Occur::Should }, term_query(fields, term)));
        if required {
            highlight.push(term.clone());
        }
    }
    let ranked = !terms.is_empty();
    if !q.kinds.is_empty() {
        let kinds = q.kinds.iter().map(|k| Term::from_field_text(fields.kind, k.as_str()));
        clauses.push(filter(TermSetQuery::new(kinds)));
    }
    if let Some(folder) = &q.folder {
        clauses.push(filter(TermQuery::new(Term::from_field_text(fields.folder, folder), IndexRecordOption::Basic)));
    }
    for tag in &q.tags {
        clauses.push(filter(TermQuery::new(Term::from_field_text(fields.tags, tag), IndexRecordOption::Basic)));
    }
    if !q.visible_to.is_empty() {
        let who = q.visible_to.iter().map(|v| Term::from_field_text(fields.visibility, v));
        clauses.push(filter(TermSetQuery::new(who)));
    }
    let query: Box<dyn Query> =
        if clauses.is_empty() { Box::new(AllQuery) } else { Box::new(BooleanQuery::new(clauses)) };
    Plan { query, highlight, ranked }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_chinese_characters_are_particles_but_ascii_and_words_are_not() {
        assert!(is_particle("的"));
        assert!(!is_particle("a"));
        assert!(!is_particle("退款"));
        assert!(!is_particle(""));
    }
}
