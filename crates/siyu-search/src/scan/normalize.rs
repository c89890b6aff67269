//! The normalisation the scanner applies to rules and to text, with a map from the normalised text back to
//! the original.
//!
//! - Full-width ASCII (U+FF01–U+FF5E) folds to ASCII, and ASCII letters are lowercased: `ＱＱ`, `QQ` → `qq`.
//! - Circled and dingbat digits fold to ASCII digits: ⓪ ①–⑨ ❶–❾ ➀–➈ ➊–➒ → `0`–`9` (⑩ and above, and
//!   other enclosed forms, stay as written). Chinese numerals (一二三, 壹贰叁, 〇) do **not** fold: they are
//!   part of ordinary words (一起, 三星), so folding them would turn ordinary text into digit rules' hits;
//!   a tenant that wants 幺二三 caught lists it as its own rule.
//! - Filler characters are dropped, so they cannot split a word: whitespace (U+3000 included) and control
//!   characters, ASCII punctuation and symbols, Latin-1 punctuation (·«»…), general punctuation (U+2000–U+206F:
//!   dashes, curly quotes, …, •, ※, zero-width characters and joiners), CJK punctuation (、。「」【】《》〜 …,
//!   but not 々 〆 〇), full-width punctuation (，！？；：（）), vertical and small forms, combining marks,
//!   variation selectors and the BOM, arrows, box drawing, geometric shapes (●○■◆), miscellaneous symbols
//!   and dingbats (★☆♥❤✓), and emoji (U+1F000–U+1FAFF, tags).
//! - Everything else (Chinese, digits, other scripts) is kept as written.
//!
//! The normalised text is never longer than the original, and every normalised character comes from exactly
//! one original character, so a match in the normalised text maps back to a range of whole original
//! characters: from the first matched character's start to the last one's end.

use super::prefilter::Prefilter;

/// What happens to one character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Keep,
    Drop,
    /// Replaced by this ASCII byte.
    Fold(u8),
}

/// ASCII: digits and lowercase letters are kept, uppercase letters lowered, the rest dropped.
const fn ascii_class(b: u8) -> Class {
    match b {
        b'0'..=b'9' | b'a'..=b'z' => Class::Keep,
        b'A'..=b'Z' => Class::Fold(b | 0x20),
        _ => Class::Drop,
    }
}

/// Whether `c` (not ASCII) is a filler character (see the module documentation).
fn is_filler(c: char) -> bool {
    match u32::from(c) {
        0x80..=0xBF | 0xD7 | 0xF7 => true,
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F => true,
        0x2000..=0x206F => true,
        0x2190..=0x21FF | 0x2300..=0x23FF | 0x2500..=0x27BF | 0x2900..=0x297F | 0x2B00..=0x2BFF => true,
        0x2E00..=0x2E7F => true,
        0x3000..=0x3004 | 0x3008..=0x3020 | 0x3030 | 0x303D..=0x303F | 0x30FB => true,
        0xFE00..=0xFE1F | 0xFE30..=0xFE6F | 0xFEFF | 0xFF5F..=0xFF65 => true,
        0x1F000..=0x1FAFF | 0xE0000..=0xE007F => true,
        _ => c.is_whitespace() || c.is_control(),
    }
}

/// The class of a character that is not ASCII.
fn classify(c: char) -> Class {
    let u = u32::from(c);
    let digit = |zero: u32| Class::Fold(b'0' + (u - zero) as u8);
    match u {
        0xFF01..=0xFF5E => match ascii_class((u - 0xFEE0) as u8) {
            Class::Keep => Class::Fold((u - 0xFEE0) as u8),
            other => other,
        },
        0x24EA => Class::Fold(b'0'),
        0x2460..=0x2468 => digit(0x2460 - 1),
        0x2776..=0x277E => digit(0x2776 - 1),
        0x2780..=0x2788 => digit(0x2780 - 1),
        0x278A..=0x2792 => digit(0x278A - 1),
        _ if is_filler(c) => Class::Drop,
        _ => Class::Keep,
    }
}

/// The class, UTF-8 length and code point of the character starting at byte `i` of `original` (a character
/// boundary below its length).
#[inline(always)]
fn char_at(original: &str, i: usize) -> (Class, usize, u32) {
    let bytes = original.as_bytes();
    let b = bytes.get(i).copied().unwrap_or(0);
    // Chinese characters U+4E00–U+9FFF (lead bytes E4 with B8–BF next, and E5–E9), the bulk of a Chinese
    // chat, are kept without going through `classify`.
    if (0xE5..=0xE9).contains(&b) || (b == 0xE4 && bytes.get(i + 1) >= Some(&0xB8)) {
        let tail = |k: usize| bytes.get(i + k).map_or(0, |&t| u32::from(t & 0x3F));
        (Class::Keep, 3, (u32::from(b & 0x0F) << 12) | (tail(1) << 6) | tail(2))
    } else if b < 0x80 {
        (ascii_class(b), 1, u32::from(b))
    } else {
        match original.get(i..).and_then(|rest| rest.chars().next()) {
            Some(c) => (classify(c), c.len_utf8(), u32::from(c)),
            None => (Class::Keep, 1, 0),
        }
    }
}

/// Calls `f` with each character of the normalised text of `original` (its code point), in order, without
/// building the text; stops and returns `true` as soon as `f` does.
#[inline]
pub fn any_kept(original: &str, mut f: impl FnMut(u32) -> bool) -> bool {
    let mut i = 0;
    while i < original.len() {
        let (class, len, code) = char_at(original, i);
        i += len;
        let code = match class {
            Class::Keep => code,
            Class::Fold(a) => u32::from(a),
            Class::Drop => continue,
        };
        if f(code) {
            return true;
        }
    }
    false
}

/// A run of the normalised text: from byte `norm` on, up to the next segment.
#[derive(Debug, Clone, Copy)]
struct Segment {
    norm: usize,
    orig: usize,
    /// 0: the run is a byte-for-byte image of the original from `orig` on (lowercasing keeps lengths).
    /// Otherwise the run is one folded ASCII byte standing for an original character this long.
    folded_len: usize,
}

/// A normalised text and its map back to the original; reused from call to call to keep its buffers.
#[derive(Debug, Default)]
pub struct Normalized {
    text: String,
    segments: Vec<Segment>,
    /// The normalised text is the original, unchanged (`text` is left empty).
    same: bool,
    candidate: Option<usize>,
}

impl Normalized {
    /// Normalises `original`.
    pub fn new(original: &str) -> Self {
        let mut n = Self::default();
        n.fill(original, None);
        n
    }

    /// Where in the normalised text a rule may first start: with a `filter`, the first candidate it found
    /// during the last [`Self::fill`] (`None`: no rule can match); without, the start of the text.
    pub fn candidate(&self) -> Option<usize> {
        self.candidate
    }

    /// Normalises `original` into this buffer, replacing what it held, and with `filter` looks for the
    /// first place a rule may start.
    pub fn fill(&mut self, original: &str, filter: Option<&Prefilter>) {
        self.text.clear();
        self.segments.clear();
        self.candidate = if filter.is_some() { None } else { Some(0) };
        let bytes = original.as_bytes();
        // `original[copy..i]` is waiting to be copied unchanged; `identity` is `orig - norm` of the identity
        // segment the text currently extends, if it extends one; `previous` is the last kept character and its
        // normalised offset, for the filter.
        let mut copy = 0;
        let mut identity: Option<usize> = None;
        let mut previous: Option<(u32, usize)> = None;
        let mut i = 0;
        while i < bytes.len() {
            let (class, len, code) = char_at(original, i);
            let norm = match class {
                Class::Keep => {
                    let norm = self.text.len() + (i - copy);
                    if identity != Some(i - norm) {
                        self.segments.push(Segment { norm, orig: i, folded_len: 0 });
                        identity = Some(i - norm);
                    }
                    Some((code, norm))
                }
                Class::Drop => {
                    self.text.push_str(&original[copy..i]);
                    copy = i + len;
                    None
                }
                Class::Fold(a) => {
                    self.text.push_str(&original[copy..i]);
                    copy = i + len;
                    let norm = self.text.len();
                    if len == 1 {
                        // A lowered ASCII letter: same length, so it can extend an identity segment.
                        if identity != Some(i - norm) {
                            self.segments.push(Segment { norm, orig: i, folded_len: 0 });
                            identity = Some(i - norm);
                        }
                    } else {
                        self.segments.push(Segment { norm, orig: i, folded_len: len });
                        identity = None;
                    }
                    self.text.push(char::from(a));
                    Some((u32::from(a), norm))
                }
            };
            if let (Some(filter), None, Some((code, at))) = (filter, self.candidate, norm) {
                self.candidate = filter.start(previous, code, at);
                previous = Some((code, at));
            }
            i += len;
        }
        self.same = copy == 0 && self.text.is_empty();
        if !self.same {
            self.text.push_str(&original[copy..]);
        }
    }

    /// The normalised text of `original` (which must be the text last given to [`Self::fill`]).
    pub fn text<'a>(&'a self, original: &'a str) -> &'a str {
        if self.same { original } else { &self.text }
    }

    /// The segment holding normalised byte `n`.
    fn segment(&self, n: usize) -> Option<Segment> {
        let k = self.segments.partition_point(|s| s.norm <= n);
        k.checked_sub(1).and_then(|k| self.segments.get(k)).copied()
    }

    /// The original byte offset where the character at normalised byte `n` starts.
    pub fn orig_start(&self, n: usize) -> usize {
        if self.same {
            return n;
        }
        match self.segment(n) {
            Some(s) if s.folded_len == 0 => s.orig + (n - s.norm),
            Some(s) => s.orig,
            None => 0,
        }
    }

    /// The original byte offset where the character ending at normalised byte `n` (> 0) ends.
    pub fn orig_end(&self, n: usize) -> usize {
        if self.same {
            return n;
        }
        match self.segment(n.saturating_sub(1)) {
            Some(s) if s.folded_len == 0 => s.orig + (n - s.norm),
            Some(s) => s.orig + s.folded_len,
            None => 0,
        }
    }
}

/// The normalised form of `s`, as an owned string.
pub fn normalize(s: &str) -> String {
    Normalized::new(s).text(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(original: &str) -> Vec<(char, &str)> {
        let n = Normalized::new(original);
        let text = n.text(original);
        text.char_indices().map(|(i, c)| (c, &original[n.orig_start(i)..n.orig_end(i + c.len_utf8())])).collect()
    }

    #[test]
    fn full_width_ascii_folds_and_letters_are_lowered() {
        assert_eq!(normalize("ＱＱ号Ａｂ１２"), "qq号ab12");
        assert_eq!(normalize("VX"), "vx");
        assert_eq!(normalize("加Ｖ"), "加v");
    }

    #[test]
    fn fillers_are_dropped_and_words_are_kept() {
        assert_eq!(normalize("微 信"), "微信");
        assert_eq!(normalize("微\u{3000}信，。！？"), "微信");
        assert_eq!(normalize("微\u{200B}信\u{FEFF}号\u{2060}"), "微信号");
        assert_eq!(normalize("加💗微❤️信★☆●○•·※"), "加微信");
        assert_eq!(normalize("【微信】《加》“我”…—~"), "微信加我");
        assert_eq!(normalize("々〆〇一二三"), "々〆〇一二三");
        assert_eq!(normalize("한국어 Ελληνικά"), "한국어Ελληνικά");
    }

    #[test]
    fn circled_digits_fold_but_chinese_numerals_do_not() {
        assert_eq!(normalize("①②③⓪❾➀➊"), "1230911");
        assert_eq!(normalize("⑩一二三壹"), "⑩一二三壹");
    }

    #[test]
    fn every_normalised_character_maps_to_its_original_character() {
        assert_eq!(mapped("Ｖ.x"), vec![('v', "Ｖ"), ('x', "x")]);
        assert_eq!(mapped("a微，Ｂ信"), vec![('a', "a"), ('微', "微"), ('b', "Ｂ"), ('信', "信")]);
        assert_eq!(mapped("ABC"), vec![('a', "A"), ('b', "B"), ('c', "C")]);
        assert_eq!(mapped("①号"), vec![('1', "①"), ('号', "号")]);
    }

    #[test]
    fn unchanged_text_is_not_copied() {
        let n = Normalized::new("加我微信123abc");
        assert!(n.same);
        assert_eq!(n.text("加我微信123abc"), "加我微信123abc");
        assert_eq!((n.orig_start(3), n.orig_end(6)), (3, 6));
    }
}
