//! Cheap tests for whether any rule can match a text at all.
//!
//! Every match of a rule of two or more characters starts with the rule's first two (normalised)
//! characters, and a one-character rule is its character. So the prefilter keeps the set of first
//! character pairs and of one-character rules, and the normaliser looks each pair of consecutive kept
//! characters up: a 2²⁰-bit table first (hashing both code points), then, on a hit of the table, the exact
//! sorted set. The automaton starts at the first pair that is in the set (no match can start earlier).
//!
//! Before that, [`Prefilter::may_match`] decides whether the text is worth normalising at all, in one pass
//! that builds nothing: a match of a rule of three or more characters starts with the rule's first three
//! characters, so it looks up pairs in a 2¹⁶-bit table small enough to stay in the L1 cache, and only a pair
//! that begins a rule makes it check the next character for a rule's first three (or the pair for a
//! two-character rule). Order numbers are full of 52…, 66… and 13…, the first pairs of rules like 520, 666
//! and 1314, but far fewer hold a rule's first three characters, so most messages stop here.

use super::normalize::any_kept;

const BITS: u32 = 20;

/// The first character pairs and the one-character rules.
#[derive(Debug, Clone)]
pub struct Prefilter {
    table: Vec<u64>,
    /// `(first << 32) | second`, and `(c << 32) | SINGLE` for one-character rules; sorted.
    exact: Vec<u64>,
    /// Hashed bit tables: the two-character rules and the first pairs of the longer rules
    /// ([`QUICK_BITS`] bits each), and the longer rules' first three characters ([`TRIPLE_BITS`] bits).
    quick_whole: Vec<u64>,
    quick_long: Vec<u64>,
    quick_triples: Vec<u64>,
    /// Two-character rules, as `(first << 32) | second`; sorted.
    whole_pairs: Vec<u64>,
    /// The first three characters of the rules of three or more characters; sorted.
    triples: Vec<(u32, u32, u32)>,
    /// One-character rules; sorted.
    singles: Vec<u32>,
}

const QUICK_BITS: u32 = 16;
/// The first-three table is larger: true first pairs are common in chat text, so its false positives
/// would each cost a search of the exact list.
const TRIPLE_BITS: u32 = 18;

fn triple_slot(pair_slot: usize, third: u32) -> usize {
    let h = ((pair_slot as u32).wrapping_mul(0x9E37_79B1) ^ third).wrapping_mul(0x85EB_CA77);
    (h >> (32 - TRIPLE_BITS)) as usize
}

fn quick_slot(first: u32, second: u32) -> usize {
    let h = (first.wrapping_mul(0x9E37_79B1) ^ second).wrapping_mul(0x85EB_CA77);
    (h >> (32 - QUICK_BITS)) as usize
}

fn set(bits: &mut [u64], slot: usize) {
    if let Some(word) = bits.get_mut(slot >> 6) {
        *word |= 1 << (slot & 63);
    }
}

#[inline(always)]
fn get(bits: &[u64], slot: usize) -> bool {
    bits.get(slot >> 6).is_some_and(|word| word & (1 << (slot & 63)) != 0)
}

fn pack(first: u32, second: u32) -> u64 {
    (u64::from(first) << 32) | u64::from(second)
}

/// Not a code point: marks a one-character rule in [`Prefilter::exact`].
const SINGLE: u32 = u32::MAX;

fn slot(first: u32, second: u32) -> usize {
    let h = (first.wrapping_mul(0x9E37_79B1) ^ second).wrapping_mul(0x85EB_CA77);
    (h >> (32 - BITS)) as usize
}

impl Prefilter {
    /// The prefilter of `patterns` (normalised, not empty).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Self {
        let mut f = Self {
            table: vec![0; 1 << (BITS - 6)],
            exact: Vec::with_capacity(patterns.len()),
            quick_whole: vec![0; 1 << (QUICK_BITS - 6)],
            quick_long: vec![0; 1 << (QUICK_BITS - 6)],
            quick_triples: vec![0; 1 << (TRIPLE_BITS - 6)],
            whole_pairs: Vec::new(),
            triples: Vec::new(),
            singles: Vec::new(),
        };
        for p in patterns {
            let mut chars = p.as_ref().chars().map(u32::from);
            let Some(first) = chars.next() else { continue };
            let second = chars.next().unwrap_or(SINGLE);
            let s = slot(first, second);
            f.table[s >> 6] |= 1 << (s & 63);
            f.exact.push(pack(first, second));
            match (second, chars.next()) {
                (SINGLE, _) => f.singles.push(first),
                (_, None) => {
                    f.whole_pairs.push(pack(first, second));
                    set(&mut f.quick_whole, quick_slot(first, second));
                }
                (_, Some(third)) => {
                    f.triples.push((first, second, third));
                    set(&mut f.quick_long, quick_slot(first, second));
                    set(&mut f.quick_triples, triple_slot(quick_slot(first, second), third));
                }
            }
        }
        for list in [&mut f.exact, &mut f.whole_pairs] {
            list.sort_unstable();
            list.dedup();
        }
        f.triples.sort_unstable();
        f.triples.dedup();
        f.singles.sort_unstable();
        f.singles.dedup();
        f
    }

    /// Whether some rule may match the normalised `text`: `false` means none can, so the text need not be
    /// normalised or searched. One pass over the original text, building nothing.
    pub fn may_match(&self, text: &str) -> bool {
        // `begun`: the previous two characters begin a longer rule (by the hashed table), and their hash.
        let (mut previous, mut begun) = (None::<u32>, None::<(usize, u32, u32)>);
        any_kept(text, |code| {
            if let Some((q, a, b)) = begun.take()
                && get(&self.quick_triples, triple_slot(q, code))
                && self.triples.binary_search(&(a, b, code)).is_ok()
            {
                return true;
            }
            if !self.singles.is_empty() && self.singles.binary_search(&code).is_ok() {
                return true;
            }
            if let Some(p) = previous.replace(code) {
                let q = quick_slot(p, code);
                if get(&self.quick_whole, q) && self.whole_pairs.binary_search(&pack(p, code)).is_ok() {
                    return true;
                }
                if get(&self.quick_long, q) {
                    begun = Some((q, p, code));
                }
            }
            false
        })
    }

    fn has(&self, first: u32, second: u32) -> bool {
        let s = slot(first, second);
        self.table[s >> 6] & (1 << (s & 63)) != 0
            && self.exact.binary_search(&((u64::from(first) << 32) | u64::from(second))).is_ok()
    }

    /// Whether a rule may start at the character before `current` (`previous`, if any) or at `current`:
    /// the offset of that character, given their normalised byte offsets.
    #[inline]
    pub fn start(&self, previous: Option<(u32, usize)>, current: u32, at: usize) -> Option<usize> {
        if let Some((p, p_at)) = previous
            && self.has(p, current)
        {
            return Some(p_at);
        }
        self.has(current, SINGLE).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::normalize::normalize;
    use super::*;

    #[test]
    fn pairs_and_single_characters_are_found_and_others_are_not() {
        let f = Prefilter::new(&["微信号", "qq", "v"]);
        let c = |s: char| u32::from(s);
        assert_eq!(f.start(Some((c('微'), 3)), c('信'), 6), Some(3));
        assert_eq!(f.start(Some((c('q'), 0)), c('q'), 1), Some(0));
        assert_eq!(f.start(Some((c('加'), 0)), c('v'), 3), Some(3));
        assert_eq!(f.start(Some((c('信'), 0)), c('号'), 3), None);
        assert_eq!(f.start(None, c('微'), 0), None);
    }

    #[test]
    fn a_text_may_match_only_with_a_whole_short_rule_or_a_long_rules_first_three_characters() {
        let f = Prefilter::new(&["微信号", "qq", "1314"]);
        assert!(f.may_match("加我微 信-号"), "the first three, with fillers between them");
        assert!(f.may_match("ＱＱ"), "a whole two-character rule, folded");
        assert!(f.may_match("订单 13145"));
        assert!(!f.may_match("微信"), "the first pair of a longer rule is not enough");
        assert!(f.may_match("订单 131 4"), "a filler is dropped");
        assert!(!f.may_match("订单 13号14"), "a kept character in between breaks the first three");
        assert!(!f.may_match("1323 微信 q"));
        assert!(Prefilter::new(&["v"]).may_match("加Ｖ"));
        assert!(!Prefilter::new(&["v"]).may_match("加w"));
    }

    proptest! {
        #[test]
        fn a_text_holding_a_rule_once_normalised_always_may_match(
            rules in proptest::collection::vec("[微信号加qQ1３ ]{1,4}", 1..6),
            text in "[微信号加qQ1３ ·、\u{200B}ａ]{0,12}",
        ) {
            let patterns: Vec<String> = rules.iter().map(|r| normalize(r)).filter(|r| !r.is_empty()).collect();
            prop_assume!(!patterns.is_empty());
            let f = Prefilter::new(&patterns);
            let normalised = normalize(&text);
            if patterns.iter().any(|p| normalised.contains(p.as_str())) {
                prop_assert!(f.may_match(&text), "{:?} in {:?}", patterns, text);
            }
        }
    }
}
