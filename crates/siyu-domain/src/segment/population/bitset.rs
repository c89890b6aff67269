//! A dense set of row indices (one bit per customer of a population) and the sparse-or-dense member sets
//! the population keeps per tag, customer group, identity kind, consent, static segment and list value.

/// A fixed-length set of bits, 64 to a word; bits at and past `len` are always zero.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bitset {
    words: Vec<u64>,
    len: usize,
}

impl Bitset {
    /// `len` bits, none set.
    pub fn new(len: usize) -> Self {
        Self { words: vec![0; len.div_ceil(64)], len }
    }

    /// `len` bits, all set.
    pub fn full(len: usize) -> Self {
        let mut s = Self { words: vec![u64::MAX; len.div_ceil(64)], len };
        s.trim();
        s
    }

    /// `len` bits with the given indices set (any order, duplicates allowed; indices past `len` ignored).
    pub fn from_indices(len: usize, indices: &[u32]) -> Self {
        let mut s = Self::new(len);
        for &i in indices {
            s.insert(i as usize);
        }
        s
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets bit `i` (ignored past `len`).
    pub fn insert(&mut self, i: usize) {
        if i < self.len {
            self.words[i / 64] |= 1 << (i % 64);
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    /// Appends one bit (the builders grow their presence bits row by row).
    pub(crate) fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(64) {
            self.words.push(0);
        }
        self.len += 1;
        if bit {
            self.insert(self.len - 1);
        }
    }

    /// Sets or clears the last bit.
    pub(crate) fn set_last(&mut self, bit: bool) {
        if let Some(i) = self.len.checked_sub(1) {
            let mask = 1u64 << (i % 64);
            if bit {
                self.words[i / 64] |= mask;
            } else {
                self.words[i / 64] &= !mask;
            }
        }
    }

    /// How many bits are set.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether no bit is set.
    pub fn none(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// The set indices, ascending.
    pub fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let bit = w.trailing_zeros() as usize;
                    w &= w - 1;
                    i * 64 + bit
                })
            })
        })
    }

    /// `self ∩ other` (the shorter length wins for bits past the other's end: they are zero there).
    pub fn and(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter().chain(std::iter::repeat(&0))) {
            *a &= *b;
        }
    }

    /// `self ∪ other`, within `self`'s length.
    pub fn or(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= *b;
        }
        self.trim();
    }

    /// `self \ other`.
    pub fn and_not(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !*b;
        }
    }

    /// The complement within `len`.
    pub fn not(&mut self) {
        for w in &mut self.words {
            *w = !*w;
        }
        self.trim();
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    /// Clears the bits past `len` in the last word.
    fn trim(&mut self) {
        let tail = self.len % 64;
        if tail != 0
            && let Some(last) = self.words.last_mut()
        {
            *last &= (1u64 << tail) - 1;
        }
    }
}

/// The rows holding something (a tag, a list value, ...): a sorted index list while few hold it, a bitset
/// once more than one row in 32 does (then the bits take less room than the indices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Members {
    Sparse(Vec<u32>),
    Dense(Bitset),
}

impl Members {
    /// From the rows collected while building (any order, duplicates allowed), for a population of `len`.
    pub fn build(mut rows: Vec<u32>, len: usize) -> Self {
        if rows.len() > len / 32 {
            return Members::Dense(Bitset::from_indices(len, &rows));
        }
        rows.sort_unstable();
        rows.dedup();
        rows.shrink_to_fit();
        Members::Sparse(rows)
    }

    /// Adds these rows to `out`.
    pub fn or_into(&self, out: &mut Bitset) {
        match self {
            Members::Sparse(rows) => rows.iter().for_each(|&i| out.insert(i as usize)),
            Members::Dense(b) => out.or(b),
        }
    }

    /// Keeps in `out` only these rows.
    pub fn and_into(&self, out: &mut Bitset) {
        match self {
            Members::Sparse(rows) => {
                let mut kept = Bitset::new(out.len());
                for &i in rows {
                    if out.contains(i as usize) {
                        kept.insert(i as usize);
                    }
                }
                *out = kept;
            }
            Members::Dense(b) => out.and(b),
        }
    }

    pub fn to_bitset(&self, len: usize) -> Bitset {
        match self {
            Members::Sparse(rows) => Bitset::from_indices(len, rows),
            Members::Dense(b) => b.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations_stay_within_the_length() {
        let mut a = Bitset::from_indices(70, &[0, 3, 64, 69, 99]);
        assert_eq!(a.ones().collect::<Vec<_>>(), [0, 3, 64, 69]);
        let b = Bitset::from_indices(70, &[3, 65]);
        let mut u = a.clone();
        u.or(&b);
        assert_eq!(u.count(), 5);
        a.and_not(&b);
        assert_eq!(a.ones().collect::<Vec<_>>(), [0, 64, 69]);
        a.not();
        assert_eq!(a.count(), 67);
        assert!(!a.contains(69) && a.contains(68));
        assert_eq!(Bitset::full(70).count(), 70);
        let mut grown = Bitset::default();
        (0..130).for_each(|i| grown.push(i % 3 == 0));
        grown.set_last(false);
        assert_eq!(grown.count(), 43);
    }

    #[test]
    fn members_become_dense_when_many_rows_hold_them() {
        assert!(matches!(Members::build(vec![5, 1, 5], 1000), Members::Sparse(ref v) if v == &[1, 5]));
        let many = Members::build((0..100).collect(), 1000);
        assert!(matches!(many, Members::Dense(_)));
        let mut out = Bitset::from_indices(1000, &[1, 2, 500]);
        many.and_into(&mut out);
        assert_eq!(out.ones().collect::<Vec<_>>(), [1, 2]);
        Members::build(vec![7], 1000).and_into(&mut out);
        assert!(out.none());
    }
}
