//! The tantivy tokenizer of a tenant's index: our [`Segmenter`] in search mode.
//!
//! Every search-mode word becomes a token (the precise word and the dictionary words inside it, so that
//! 中华人民共和国 is also found by 人民), ASCII letters are lowercased, and tokens with no letter or digit
//! (whitespace, punctuation, emoji) are skipped. Offsets are byte offsets into the text; positions count
//! the tokens kept. The same tokenizer cuts the query text, so a query word and an indexed word are cut
//! by the same dictionary.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::segment::Segmenter;

/// Tokens longer than this (in bytes) are dropped: a pasted blob or URL would only ever match itself.
pub const MAX_TOKEN_BYTES: usize = 120;

/// Our [`Segmenter`] as a tantivy [`Tokenizer`]. Cheap to clone (the dictionary is shared).
#[derive(Clone, Debug)]
pub struct SegmenterTokenizer {
    segmenter: Segmenter,
}

impl SegmenterTokenizer {
    pub fn new(segmenter: Segmenter) -> Self {
        Self { segmenter }
    }
}

/// The tokens of one text.
pub struct SegmenterTokenStream<'a> {
    text: &'a str,
    words: std::vec::IntoIter<&'a str>,
    token: Token,
    next_position: usize,
}

impl Tokenizer for SegmenterTokenizer {
    type TokenStream<'a> = SegmenterTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        SegmenterTokenStream {
            text,
            words: self.segmenter.cut_for_search(text).into_iter(),
            token: Token::default(),
            next_position: 0,
        }
    }
}

/// Whether `word` is worth a token: it holds a letter or digit (CJK characters count) and is not huge.
pub fn keeps(word: &str) -> bool {
    word.len() <= MAX_TOKEN_BYTES && word.chars().any(char::is_alphanumeric)
}

impl TokenStream for SegmenterTokenStream<'_> {
    fn advance(&mut self) -> bool {
        for word in self.words.by_ref() {
            if !keeps(word) {
                continue;
            }
            // jieba returns slices of the text it was given, so the pointer difference is the byte offset.
            let start = word.as_ptr() as usize - self.text.as_ptr() as usize;
            self.token.offset_from = start;
            self.token.offset_to = start + word.len();
            self.token.position = self.next_position;
            self.token.position_length = 1;
            self.token.text.clear();
            self.token.text.push_str(word);
            self.token.text.make_ascii_lowercase();
            self.next_position += 1;
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// The distinct tokens of `text`, in order of first appearance.
pub fn distinct_terms(segmenter: &Segmenter, text: &str) -> Vec<String> {
    let mut tokenizer = SegmenterTokenizer::new(segmenter.clone());
    let mut stream = tokenizer.token_stream(text);
    let mut out: Vec<String> = Vec::new();
    while let Some(token) = stream.next() {
        if !out.iter().any(|t| t == &token.text) {
            out.push(token.text.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(segmenter: &Segmenter, text: &str) -> Vec<(String, usize, usize)> {
        let mut tokenizer = SegmenterTokenizer::new(segmenter.clone());
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((t.text.clone(), t.offset_from, t.offset_to));
        }
        out
    }

    #[test]
    fn tokens_are_search_mode_words_with_byte_offsets() {
        let text = "我爱中华人民共和国";
        let toks = tokens(&Segmenter::new(), text);
        for (word, from, to) in &toks {
            assert_eq!(&text[*from..*to], word);
        }
        let words: Vec<&str> = toks.iter().map(|t| t.0.as_str()).collect();
        assert!(words.contains(&"中华人民共和国"));
        assert!(words.contains(&"人民"));
    }

    #[test]
    fn ascii_is_lowercased_and_punctuation_and_spaces_are_skipped() {
        let toks = tokens(&Segmenter::new(), "  iPhone 15，  ！！ Hello-World ");
        let words: Vec<&str> = toks.iter().map(|t| t.0.as_str()).collect();
        assert!(words.contains(&"iphone"));
        assert!(words.contains(&"15"));
        assert!(words.contains(&"hello"));
        assert!(words.iter().all(|w| w.chars().any(char::is_alphanumeric)));
    }

    #[test]
    fn positions_count_the_kept_tokens() {
        let toks: Vec<usize> = {
            let mut tokenizer = SegmenterTokenizer::new(Segmenter::new());
            let mut stream = tokenizer.token_stream("退款，流程 说明");
            let mut out = Vec::new();
            while let Some(t) = stream.next() {
                out.push(t.position);
            }
            out
        };
        assert_eq!(toks, (0..toks.len()).collect::<Vec<_>>());
    }

    #[test]
    fn distinct_terms_keep_the_first_appearance_order() {
        assert_eq!(distinct_terms(&Segmenter::new(), "退款 退款 流程"), vec!["退款", "流程"]);
        assert!(distinct_terms(&Segmenter::new(), " ，。!? ").is_empty());
    }
}
