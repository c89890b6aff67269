//! Chinese word segmentation: jieba's default dictionary plus a tenant's own words.
//!
//! Brands add their brand and product names (企业微信, 小米之家, a product line) so that the words stay one
//! token in the index and in the sensitive-word check. The default dictionary is loaded once per process;
//! a tenant's segmenter is a copy of it with the tenant's words added, built when the words change.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;

/// The longest user word accepted, in characters. Longer entries are skipped: they would only ever match
/// themselves and slow the dictionary down.
pub const MAX_USER_WORD_CHARS: usize = 32;

/// A jieba segmenter. Cheap to clone (the dictionary is shared).
#[derive(Clone)]
pub struct Segmenter {
    jieba: Arc<Jieba>,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter").finish_non_exhaustive()
    }
}

fn default_jieba() -> &'static Arc<Jieba> {
    static DEFAULT: OnceLock<Arc<Jieba>> = OnceLock::new();
    DEFAULT.get_or_init(|| Arc::new(Jieba::new()))
}

impl Default for Segmenter {
    fn default() -> Self {
        Self { jieba: Arc::clone(default_jieba()) }
    }
}

impl Segmenter {
    /// The default dictionary only.
    pub fn new() -> Self {
        Self::default()
    }

    /// The default dictionary plus `words` (blank entries, and entries longer than
    /// [`MAX_USER_WORD_CHARS`], are skipped). Each word is given a frequency high enough to stay whole.
    pub fn with_user_words<I, S>(words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut words = words
            .into_iter()
            .map(|w| w.as_ref().trim().to_string())
            .filter(|w| !w.is_empty() && w.chars().count() <= MAX_USER_WORD_CHARS)
            .peekable();
        if words.peek().is_none() {
            return Self::default();
        }
        let mut jieba = Jieba::clone(default_jieba());
        for word in words {
            let freq = jieba.suggest_freq(&word).max(1_000);
            jieba.add_word(&word, Some(freq), None);
        }
        Self { jieba: Arc::new(jieba) }
    }

    /// Precise-mode words of `text`, in order, covering it exactly (whitespace and punctuation included as
    /// their own tokens).
    pub fn cut<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba.cut(text, true).into_iter().map(|token| token.word).collect()
    }

    /// Search-mode words: the precise words plus the dictionary words inside long ones
    /// (中华人民共和国 → 中华, 华人, 人民, 共和, 共和国, 中华人民共和国).
    pub fn cut_for_search<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba.cut_for_search(text, true).into_iter().map(|token| token.word).collect()
    }

    /// Byte ranges of the precise-mode words of `text`.
    pub fn spans(&self, text: &str) -> Vec<Range<usize>> {
        self.jieba.cut(text, true).into_iter().map(|token| token.byte_start..token.byte_end).collect()
    }

    /// Whether the dictionary holds `word`.
    pub fn knows(&self, word: &str) -> bool {
        self.jieba.has_word(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_word_stays_one_token() {
        let plain = Segmenter::new();
        assert!(plain.cut("欢迎使用企业微信").len() > 2);
        let tenant = Segmenter::with_user_words(["企业微信", "  ", "小米之家"]);
        assert!(tenant.cut("欢迎使用企业微信").contains(&"企业微信"));
        assert!(tenant.cut("去小米之家看看").contains(&"小米之家"));
        assert!(tenant.knows("小米之家"));
    }

    #[test]
    fn spans_cover_the_text_in_order() {
        let text = "我来到北京清华大学, hello 123";
        let spans = Segmenter::new().spans(text);
        assert_eq!(spans.first().map(|r| r.start), Some(0));
        assert_eq!(spans.last().map(|r| r.end), Some(text.len()));
        for pair in spans.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
    }
}
