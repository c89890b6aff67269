//! Deterministic assignment for random splits and holdouts: a stable hash of (journey, customer, entry,
//! node), so a replayed step, another worker or a later release always picks the same output.

use crate::id::{CustomerId, JourneyId};

/// FNV-1a over the parts, finished with the SplitMix64 mixer (FNV alone is weak in the low bits that a
/// modulo reads). Fixed here, so it never changes with the standard library.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

fn entry_hash(journey: JourneyId, customer: CustomerId, entry_seq: u32, node: &str) -> u64 {
    stable_hash(&[journey.0.as_bytes(), customer.0.as_bytes(), &entry_seq.to_be_bytes(), node.as_bytes()])
}

/// The output of a split with `weights` an entry takes (`0` when every weight is 0).
pub fn pick(weights: &[u32], journey: JourneyId, customer: CustomerId, entry_seq: u32, node: &str) -> usize {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return 0;
    }
    let mut ticket = entry_hash(journey, customer, entry_seq, node) % total;
    for (i, w) in weights.iter().enumerate() {
        let w = u64::from(*w);
        if ticket < w {
            return i;
        }
        ticket -= w;
    }
    0
}

/// Whether an entry falls in a holdout of `percent` (0–100).
pub fn held_out(percent: u32, journey: JourneyId, customer: CustomerId, entry_seq: u32, node: &str) -> bool {
    entry_hash(journey, customer, entry_seq, node) % 100 < u64::from(percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_entry_always_takes_the_same_output() {
        let (j, c) = (JourneyId::new(), CustomerId::new());
        let first = pick(&[1, 1, 1], j, c, 1, "split");
        assert!((0..20).all(|_| pick(&[1, 1, 1], j, c, 1, "split") == first));
    }

    #[test]
    fn outputs_follow_the_weights_over_many_customers() {
        let j = JourneyId::new();
        let mut counts = [0u32; 2];
        for _ in 0..20_000 {
            counts[pick(&[3, 1], j, CustomerId::new(), 1, "n")] += 1;
        }
        let share = f64::from(counts[0]) / 20_000.0;
        assert!((0.73..0.77).contains(&share), "{share}");
        let held = (0..20_000).filter(|_| held_out(10, j, CustomerId::new(), 1, "h")).count();
        assert!((1_800..2_200).contains(&held), "{held}");
    }

    #[test]
    fn the_hash_is_fixed_across_releases() {
        // Pinned: changing the function would move running journeys' customers between branches.
        assert_eq!(stable_hash(&[b"a", b"bc"]), stable_hash(&[b"a", b"bc"]));
        assert_ne!(stable_hash(&[b"ab", b"c"]), stable_hash(&[b"a", b"bc"]));
        assert_eq!(format!("{:016x}", stable_hash(&[b"siyu"])), "92baca75cba7f286", "computed independently in Python");
    }
}
