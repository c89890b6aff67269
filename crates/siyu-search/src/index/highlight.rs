//! `<mark>` highlighting of titles and snippets.
//!
//! tantivy's `SnippetGenerator` walks the tokens in offset order and assumes they do not overlap; search-mode
//! tokens do (中华人民共和国 and 人民), which can make it slice outside its fragment. So we highlight
//! ourselves: every occurrence of a query term in the text is marked (ASCII terms only at word boundaries,
//! case-insensitively), overlapping marks are merged, everything else is HTML-escaped, and a snippet is the
//! window of the body holding the most marks.

use std::ops::Range;

/// Characters of context kept before the first mark of a snippet.
const CONTEXT_CHARS: usize = 16;
/// Marks considered as the start of a snippet window, and marks found at most per text.
const MAX_ANCHORS: usize = 64;
const MAX_MARKS: usize = 1_000;

/// `text` whole, HTML-escaped, `terms` marked.
pub fn full(text: &str, terms: &[String]) -> String {
    let marks = find(text, terms);
    render(text, &marks, 0..text.len())
}

/// About `max_chars` characters of `text` around its best cluster of `terms` (the start when none is
/// there), HTML-escaped, marked, with `…` where the text was cut.
pub fn snippet(text: &str, terms: &[String], max_chars: usize) -> String {
    let marks = find(text, terms);
    let window = window(text, &marks, max_chars.max(1));
    render(text, &marks, window)
}

/// Byte ranges of the terms in `text`, sorted and merged.
fn find(text: &str, terms: &[String]) -> Vec<Range<usize>> {
    if terms.is_empty() || text.is_empty() {
        return Vec::new();
    }
    // ASCII lowercasing keeps every byte offset, and the terms are lowercased the same way.
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut found: Vec<Range<usize>> = Vec::new();
    for term in terms.iter().filter(|t| !t.is_empty()) {
        let tb = term.as_bytes();
        let (first_alnum, last_alnum) =
            (tb.first().is_some_and(u8::is_ascii_alphanumeric), tb.last().is_some_and(u8::is_ascii_alphanumeric));
        for (at, _) in lower.match_indices(term.as_str()) {
            let end = at + term.len();
            let left_ok = !first_alnum || at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
            let right_ok = !last_alnum || end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
            if left_ok && right_ok {
                found.push(at..end);
                if found.len() >= MAX_MARKS {
                    break;
                }
            }
        }
    }
    found.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(found.len());
    for r in found {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// The byte offset `n` characters after `from` (or the end).
fn forward(text: &str, from: usize, n: usize) -> usize {
    text[from..].char_indices().nth(n).map_or(text.len(), |(i, _)| from + i)
}

/// The byte offset `n` characters before `to` (or 0).
fn backward(text: &str, to: usize, n: usize) -> usize {
    if n == 0 {
        return to;
    }
    text[..to].char_indices().rev().take(n).last().map_or(to, |(i, _)| i)
}

/// The byte range of the snippet: at most `max_chars` characters (more only to finish a mark), starting a
/// little before the mark that gathers the most marks in its window.
fn window(text: &str, marks: &[Range<usize>], max_chars: usize) -> Range<usize> {
    let end_all = forward(text, 0, max_chars);
    if end_all == text.len() {
        return 0..text.len();
    }
    let mut best = (0..end_all, 0usize);
    for mark in marks.iter().take(MAX_ANCHORS) {
        let start = backward(text, mark.start, CONTEXT_CHARS);
        let end = forward(text, start, max_chars).max(mark.end);
        let score = marks.iter().filter(|m| m.start >= start && m.end <= end).count();
        if score > best.1 {
            best = (start..end, score);
        }
    }
    let Range { start, mut end } = best.0;
    // Do not cut a mark in two.
    if let Some(cut) = marks.iter().find(|m| m.start < end && m.end > end) {
        end = cut.end;
    }
    start..end
}

fn render(text: &str, marks: &[Range<usize>], window: Range<usize>) -> String {
    let mut out = String::with_capacity(window.len() + 32);
    if window.start > 0 {
        out.push('…');
    }
    let mut at = window.start;
    for mark in marks.iter().filter(|m| m.start >= window.start && m.end <= window.end) {
        escape_into(&mut out, &text[at..mark.start]);
        out.push_str("<mark>");
        escape_into(&mut out, &text[mark.clone()]);
        out.push_str("</mark>");
        at = mark.end;
    }
    escape_into(&mut out, &text[at..window.end]);
    if window.end < text.len() {
        out.push('…');
    }
    out
}

/// Appends `s` with `& < > " '` escaped for HTML text and attributes.
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn marks_every_occurrence_and_escapes_the_rest() {
        let html = full("退款<b>流程</b>：先退款", &terms(&["退款"]));
        assert_eq!(html, "<mark>退款</mark>&lt;b&gt;流程&lt;/b&gt;：先<mark>退款</mark>");
    }

    #[test]
    fn overlapping_terms_become_one_mark() {
        let html = full("中华人民共和国成立", &terms(&["中华人民共和国", "人民", "共和国"]));
        assert_eq!(html, "<mark>中华人民共和国</mark>成立");
    }

    #[test]
    fn ascii_terms_match_whole_words_case_insensitively() {
        let html = full("Happy APP users love the app", &terms(&["app"]));
        assert_eq!(html, "Happy <mark>APP</mark> users love the <mark>app</mark>");
    }

    #[test]
    fn a_snippet_is_cut_around_the_marks_with_ellipses() {
        let text = format!("{}退款流程{}", "开头".repeat(100), "结尾".repeat(100));
        let html = snippet(&text, &terms(&["退款"]), 40);
        assert!(html.starts_with('…') && html.ends_with('…'), "{html}");
        assert!(html.contains("<mark>退款</mark>流程"), "{html}");
        assert!(html.chars().count() < 70, "{html}");
    }

    #[test]
    fn a_snippet_without_marks_is_the_start_of_the_text() {
        let text = "一".repeat(200);
        let html = snippet(&text, &terms(&["退款"]), 10);
        assert_eq!(html, format!("{}…", "一".repeat(10)));
        assert_eq!(snippet("短文本", &terms(&["退款"]), 10), "短文本");
    }
}
