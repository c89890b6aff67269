//! The live count of the segment form: `POST /console/segments/preview` (htmx, as the text changes) answers
//! a fragment with how many customers the definition matches within the member's scope and a sample of
//! them, or each problem of the definition with the offending part of the text marked.

use askama::Template;
use axum::extract::State;
use siyu_app::AppError;
use siyu_domain::segment::check::DefinitionError;

use super::MemberRow;
use crate::console::customers::view::{error_message, label, one};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::state::AppState;

/// Problems listed at most.
const SHOWN: usize = 20;

/// One problem of a definition, as the form shows it.
pub struct Problem {
    /// 1-based, matching the mark in the text.
    pub n: usize,
    pub code: String,
    pub message: String,
    pub detail: String,
    /// Whether its part of the text is marked.
    pub marked: bool,
}

/// A run of the definition text: plain, or the part problem `mark` points at.
pub struct Piece {
    pub text: String,
    pub mark: Option<usize>,
    /// A zero-width mark (something missing at this point), shown as a caret.
    pub caret: bool,
}

/// A definition's problems and its text cut into pieces around their spans.
pub struct Problems {
    pub items: Vec<Problem>,
    pub pieces: Vec<Piece>,
}

/// `未知标签 “高意向”`: the translated code with the offending detail.
pub fn problem_message(tr: Tr, e: &DefinitionError) -> String {
    let message = label(tr, "segments.err", &e.code);
    if e.detail.is_empty() { message } else { format!("{message} “{}”", e.detail) }
}

/// The largest char boundary at or before `i`.
fn floor(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary at or after `i`.
fn ceil(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Lays the errors' byte spans over `text` (the text they were parsed from). Overlapping spans keep the
/// first; spans are snapped outwards to character boundaries.
pub fn problems(tr: Tr, text: &str, errors: &[DefinitionError]) -> Problems {
    let mut items: Vec<Problem> = errors
        .iter()
        .take(SHOWN)
        .enumerate()
        .map(|(i, e)| Problem {
            n: i + 1,
            code: e.code.clone(),
            message: label(tr, "segments.err", &e.code),
            detail: e.detail.clone(),
            marked: false,
        })
        .collect();
    let mut spans: Vec<(usize, usize, usize)> = errors
        .iter()
        .take(SHOWN)
        .enumerate()
        .filter_map(|(i, e)| e.span.map(|(s, t)| (floor(text, s), ceil(text, t.max(s)), i)))
        .collect();
    spans.sort_by_key(|(s, t, i)| (*s, *t, *i));
    let mut pieces = Vec::new();
    let mut pos = 0;
    for (start, end, i) in spans {
        if start < pos || (start == pos && start == end && pieces.last().is_some_and(|p: &Piece| p.caret)) {
            continue;
        }
        if start > pos {
            pieces.push(Piece { text: text[pos..start].to_string(), mark: None, caret: false });
        }
        let caret = start == end;
        let shown = if caret { " ".to_string() } else { text[start..end].to_string() };
        pieces.push(Piece { text: shown, mark: Some(i + 1), caret });
        items[i].marked = true;
        pos = end;
    }
    if pos < text.len() {
        pieces.push(Piece { text: text[pos..].to_string(), mark: None, caret: false });
    }
    Problems { items, pieces }
}

#[derive(Template)]
#[template(path = "segment_preview.html")]
struct PreviewFragment {
    chrome: Chrome,
    count: Option<i64>,
    /// A sample of the matching customers.
    members: Vec<MemberRow>,
    problems: Option<Problems>,
    error: Option<String>,
}

/// `POST /console/segments/preview`: the count and sample for the form's `text`, or its problems.
pub async fn preview(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "segments");
    let tr = chrome.tr;
    // The service parses the trimmed text: spans are offsets into it.
    let text = one(&fields, "text").unwrap_or("").trim().to_string();
    let mut fragment = PreviewFragment { chrome, count: None, members: Vec::new(), problems: None, error: None };
    if !text.is_empty() {
        match state.app.preview_segment(&ca.actor, None, Some(&text)).await {
            Ok(p) => {
                fragment.count = Some(p.count);
                fragment.members = p.sample.into_iter().map(MemberRow::new).collect();
            }
            Err(AppError::InvalidDefinition(errors)) => fragment.problems = Some(problems(tr, &text, &errors)),
            Err(e @ AppError::Invalid(_)) => fragment.error = Some(error_message(tr, &e)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(render(&fragment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn err(code: &str, span: Option<(usize, usize)>) -> DefinitionError {
        DefinitionError { path: String::new(), span, code: code.into(), detail: "x".into() }
    }

    fn shown(p: &Problems) -> String {
        p.pieces
            .iter()
            .map(|x| match x.mark {
                Some(n) => format!("[{n}:{}]", x.text),
                None => x.text.clone(),
            })
            .collect()
    }

    #[test]
    fn spans_are_marked_on_character_boundaries() {
        let text = "tag any [\"高意向\"] and x";
        // 10..12 falls inside 高 (bytes 10..13): snapped outwards.
        let p = problems(Tr(Lang::Zh), text, &[err("unknown_tag", Some((10, 12))), err("unexpected_end", None)]);
        assert_eq!(shown(&p), "tag any [\"[1:高]意向\"] and x");
        assert!(p.items[0].marked && !p.items[1].marked);
        assert_eq!(p.items[0].message, "标签不存在");
    }

    #[test]
    fn a_missing_part_is_a_caret_at_the_end_and_overlaps_keep_the_first() {
        let text = "order_count >=";
        let p =
            problems(Tr(Lang::En), text, &[err("a", Some((0, 11))), err("b", Some((3, 5))), err("c", Some((14, 14)))]);
        assert_eq!(shown(&p), "[1:order_count] >=[3: ]");
        assert!(p.pieces.last().is_some_and(|x| x.caret));
        assert!(!p.items[1].marked);
        assert_eq!(p.items[1].message, "b", "unknown codes show as themselves");
    }
}
