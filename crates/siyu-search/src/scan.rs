//! Sensitive-word scanning: a tenant's word rules matched in chat text.
//!
//! # Normalisation
//!
//! Rules and text are normalised the same way before matching ([`normalize`]): full-width ASCII folds to
//! ASCII, ASCII letters are lowercased, circled digits fold to digits, and filler characters (whitespace,
//! punctuation, zero-width characters, decorative symbols, emoji) are dropped. So the rule 微信 hits
//! `微 信`, `微.信` and `微★信`, the rule `vx` hits `Ｖ Ｘ` and `V.X`, and the rule `加v` hits `加Ｖ`. Hits
//! are reported as byte ranges of the **original** text, from the first matched character to the last, on
//! character boundaries. A rule that is blank once normalised is skipped; rules equal once normalised are
//! merged, keeping the first one's id and word (strict if any of them is). A rule made of punctuation
//! *and* letters loses the punctuation like the text does (`+v` is the rule `v`).
//!
//! # Matching
//!
//! One Aho-Corasick automaton over the normalised rules, with leftmost-longest semantics: at each position
//! the longest rule wins (rules 微信 and 加微信: `加微信吧` gives 加微信), and hits do not overlap.
//! A first pass over the text, building nothing, looks for a two-character rule or the first three
//! characters of a longer one (`prefilter`): most messages have neither and stop there. The others are
//! normalised, and the automaton starts at the first pair of characters that begins a rule.
//!
//! # Hits inside longer words
//!
//! A rule that is not `strict` is dropped where it only appears inside a longer word: 微信 in
//! `请加我企业微信` when the tenant's dictionary has 企业微信. For each candidate hit the *original* text
//! around it (the run of Chinese characters, letters and digits holding it, up to [`WINDOW_CHARS`]
//! characters either side) is cut into words by the tenant's [`Segmenter`], precise mode. The hit is dropped when one word covers it and is longer than it, that word
//! is in the dictionary (jieba's default words or the tenant's own, not a guess of jieba's HMM), and that
//! word is not itself a rule. The original text is cut rather than the normalised one so that dropped
//! punctuation cannot join two words into one (`…企业。微信号…` is not 企业微信), while evasions like
//! `微.信` cannot be a dictionary word and so always hit. ASCII words (`qqmusic`) are not in jieba's
//! dictionary, so an ASCII rule hits inside them unless the tenant adds them as their own words.
//!
//! A dropped hit does not use up its text: the longest shorter rule starting at the same character is
//! tried next (and checked the same way), then the search goes on from the next character. So hits are the
//! leftmost-longest matches among those that survive the check: with rules 微信号 (not strict) and 微信
//! (strict), and 微信号 found inside a dictionary word, 微信 is still reported; and a strict rule is never
//! hidden by a longer rule that was dropped.
//!
//! The check runs only for candidate hits of non-strict rules, on a window of at most a few dozen
//! characters, so its cost does not grow with the text.

mod normalize;
mod prefilter;

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Range;

use aho_corasick::{AhoCorasick, Input, MatchKind};

use normalize::Normalized;
pub use normalize::normalize;
use prefilter::Prefilter;

use crate::Segmenter;

/// At most this many characters of original text are cut into words on each side of a candidate hit.
pub const WINDOW_CHARS: usize = 20;

/// One sensitive-word rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordRule {
    /// The caller's key for the rule, reported in its hits.
    pub id: i64,
    /// The word, as the tenant wrote it.
    pub word: String,
    /// `true`: always a hit, even inside a longer word.
    pub strict: bool,
}

/// One hit of a rule in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub rule_id: i64,
    /// The rule's word as written.
    pub word: String,
    /// Byte range in the original text, on character boundaries.
    pub start: usize,
    pub end: usize,
}

impl Hit {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot build the sensitive-word automaton: {0}")]
    Build(#[from] aho_corasick::BuildError),
}

#[derive(Debug, Clone)]
struct Rule {
    id: i64,
    word: String,
    strict: bool,
}

/// A tenant's compiled rules. `Send + Sync`: build it when the rules change and share it in an `Arc`.
#[derive(Debug, Clone)]
pub struct Scanner {
    /// `None` when there are no rules.
    automaton: Option<AhoCorasick>,
    prefilter: Prefilter,
    /// Indexed by the automaton's pattern id.
    rules: Vec<Rule>,
    segmenter: Segmenter,
}

thread_local! {
    static BUFFER: RefCell<Normalized> = RefCell::new(Normalized::default());
}

impl Scanner {
    /// Compiles `rules`, normalised (see the module documentation); `segmenter` is the tenant's, with its
    /// own words, for telling hits inside longer words apart.
    pub fn new(rules: impl IntoIterator<Item = WordRule>, segmenter: Segmenter) -> Result<Self, ScanError> {
        let mut by_word: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut kept: Vec<Rule> = Vec::new();
        for rule in rules {
            let normalized = normalize(&rule.word);
            if normalized.is_empty() {
                continue;
            }
            match by_word.entry(normalized) {
                Entry::Occupied(seen) => {
                    if let Some(first) = kept.get_mut(*seen.get()) {
                        first.strict |= rule.strict;
                    }
                }
                Entry::Vacant(slot) => {
                    patterns.push(slot.key().clone());
                    slot.insert(kept.len());
                    kept.push(Rule { id: rule.id, word: rule.word, strict: rule.strict });
                }
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&patterns)?)
        };
        Ok(Self { automaton, prefilter: Prefilter::new(&patterns), rules: kept, segmenter })
    }

    /// Rules compiled (after dropping blank ones and merging duplicates).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The hits in `text`, in order, not overlapping.
    pub fn scan(&self, text: &str) -> Vec<Hit> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        if !self.prefilter.may_match(text) {
            return Vec::new();
        }
        BUFFER.with(|buffer| match buffer.try_borrow_mut() {
            Ok(mut buffer) => self.scan_with(automaton, text, &mut buffer),
            Err(_) => self.scan_with(automaton, text, &mut Normalized::default()),
        })
    }

    fn scan_with(&self, automaton: &AhoCorasick, text: &str, norm: &mut Normalized) -> Vec<Hit> {
        norm.fill(text, Some(&self.prefilter));
        let Some(mut at) = norm.candidate() else {
            return Vec::new();
        };
        let hay = norm.text(text);
        let mut hits = Vec::new();
        let mut words = Words::default();
        while at < hay.len() {
            let Some(found) = automaton.try_find(Input::new(hay).span(at..hay.len())).ok().flatten() else {
                break;
            };
            let (start, mut end, mut pattern) = (found.start(), found.end(), found.pattern().as_usize());
            at = loop {
                let Some(rule) = self.rules.get(pattern) else {
                    break end;
                };
                let orig = norm.orig_start(start)..norm.orig_end(end);
                if rule.strict || !self.inside_longer_word(text, orig.clone(), &mut words) {
                    hits.push(Hit { rule_id: rule.id, word: rule.word.clone(), start: orig.start, end: orig.end });
                    break end;
                }
                // Dropped: the longest shorter rule starting at the same character, if any. (The leftmost-longest
                // match inside `start..shorter` starts at `start` exactly when there is one.)
                let shorter = hay.get(..end).and_then(|h| h.chars().next_back()).map_or(start, |c| end - c.len_utf8());
                let input = Input::new(hay).span(start..shorter);
                match automaton.try_find(input).ok().flatten().filter(|m| shorter > start && m.start() == start) {
                    Some(m) => (end, pattern) = (m.end(), m.pattern().as_usize()),
                    None => break start + hay.get(start..).and_then(|h| h.chars().next()).map_or(1, char::len_utf8),
                }
            };
        }
        hits
    }

    /// Whether the original text `text[hit]` lies strictly inside one dictionary word that is not a rule.
    ///
    /// jieba cuts a sentence into blocks of Chinese characters, ASCII letters and digits (and `+#&._%-`),
    /// and each block into words on its own, so a word never crosses a block boundary: only the block
    /// holding the hit (at most [`WINDOW_CHARS`] characters either side of it) is cut. A hit with a filler
    /// character inside, or that is its whole block, cannot be inside a longer word and is not cut at all.
    fn inside_longer_word(&self, text: &str, hit: Range<usize>, words: &mut Words) -> bool {
        if !text.get(hit.clone()).is_some_and(|inner| inner.chars().all(in_block)) {
            return false;
        }
        let before = text[..hit.start].char_indices().rev().take(WINDOW_CHARS).take_while(|(_, c)| in_block(*c));
        let start = before.last().map_or(hit.start, |(i, _)| i);
        let after = text[hit.end..].char_indices().take(WINDOW_CHARS).take_while(|(_, c)| in_block(*c));
        let end = after.last().map_or(hit.end, |(i, c)| hit.end + i + c.len_utf8());
        if (start, end) == (hit.start, hit.end) {
            return false;
        }
        let spans = words.around(&self.segmenter, text, start..end);
        let Some(word) = spans.iter().find(|w| w.start <= hit.start && hit.end <= w.end && w.len() > hit.len()) else {
            return false;
        };
        let word = &text[word.clone()];
        self.segmenter.knows(word) && !self.is_rule(word)
    }

    /// Whether `word` is, once normalised, exactly one of the rules.
    fn is_rule(&self, word: &str) -> bool {
        let normalized = normalize(word);
        let Some(automaton) = &self.automaton else {
            return false;
        };
        // The leftmost-longest match of a rule's word is the whole word.
        automaton
            .try_find(normalized.as_str())
            .ok()
            .flatten()
            .is_some_and(|m| m.start() == 0 && m.end() == normalized.len())
    }
}

/// The words of the last window cut, reused while later hits of the same text fall in it.
#[derive(Default)]
struct Words {
    window: Range<usize>,
    spans: Vec<Range<usize>>,
}

impl Words {
    fn around(&mut self, segmenter: &Segmenter, text: &str, window: Range<usize>) -> &[Range<usize>] {
        let cached = !self.spans.is_empty() && self.window.start <= window.start && window.end <= self.window.end;
        if !cached {
            let offset = window.start;
            self.spans = segmenter.spans(&text[window.clone()]);
            for span in &mut self.spans {
                *span = span.start + offset..span.end + offset;
            }
            self.window = window;
        }
        &self.spans
    }
}

/// Whether jieba keeps `c` in a block of words (jieba-rs's `RE_HAN_DEFAULT`): CJK ideographs, ASCII letters
/// and digits, and `+#&._%-`.
fn in_block(c: char) -> bool {
    matches!(c,
        'a'..='z' | 'A'..='Z' | '0'..='9' | '+' | '#' | '&' | '.' | '_' | '%' | '-'
        | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2A6DF}' | '\u{2A700}'..='\u{2EBEF}' | '\u{2F800}'..='\u{2FA1F}')
}

/// The byte offset `n` characters before `at` (or 0).
fn back_chars(text: &str, at: usize, n: usize) -> usize {
    let at = floor_boundary(text, at);
    text[..at].char_indices().rev().take(n).last().map_or(at, |(i, _)| i)
}

/// The byte offset `n` characters after `at` (or the end).
fn forward_chars(text: &str, at: usize, n: usize) -> usize {
    let at = floor_boundary(text, at);
    text[at..].char_indices().nth(n).map_or(text.len(), |(i, _)| at + i)
}

/// `at`, clamped to the text and moved back to a character boundary.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `text[hit]` with up to `context_chars` characters either side, for an alert: `…` marks text cut off,
/// and line breaks and tabs become spaces. A hit that does not fit `text` is clamped to it.
pub fn excerpt(text: &str, hit: &Hit, context_chars: usize) -> String {
    let start = floor_boundary(text, hit.start);
    let end = floor_boundary(text, hit.end).max(start);
    let from = back_chars(text, start, context_chars);
    let to = forward_chars(text, end, context_chars);
    let mut out = String::with_capacity(to - from + 6);
    if from > 0 {
        out.push('…');
    }
    out.extend(text[from..to].chars().map(|c| if c.is_control() { ' ' } else { c }));
    if to < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
