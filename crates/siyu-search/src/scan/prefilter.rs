//! A cheap test run while the text is normalised: can any rule match here at all?
//!
//! Every match of a rule of two or more characters starts with the rule's first two (normalised)
//! characters, and a one-character rule is its character. So the prefilter keeps the set of first
//! character pairs and of one-character rules, and the normaliser looks each pair of consecutive kept
//! characters up: a 2²⁰-bit table first (hashing both code points), then, on a hit of the table, the exact
//! sorted set. A text with no pair in the set cannot hold a hit and skips the automaton; otherwise the
//! automaton starts at the first pair that is in the set (no match can start earlier). Most chat messages
//! have no candidate, so most of the work per message is the single normalising pass.

const BITS: u32 = 20;

/// The first character pairs and the one-character rules.
#[derive(Debug, Clone)]
pub struct Prefilter {
    table: Vec<u64>,
    /// `(first << 32) | second`, and `(c << 32) | SINGLE` for one-character rules; sorted.
    exact: Vec<u64>,
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
        let mut f = Self { table: vec![0; 1 << (BITS - 6)], exact: Vec::with_capacity(patterns.len()) };
        for p in patterns {
            let mut chars = p.as_ref().chars().map(u32::from);
            let Some(first) = chars.next() else { continue };
            let second = chars.next().unwrap_or(SINGLE);
            let s = slot(first, second);
            f.table[s >> 6] |= 1 << (s & 63);
            f.exact.push((u64::from(first) << 32) | u64::from(second));
        }
        f.exact.sort_unstable();
        f.exact.dedup();
        f
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
}
