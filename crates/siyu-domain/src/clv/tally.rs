//! Counting and summing over many customer patterns: a hash map for keys made of a few numbers, [`tally`],
//! which counts a million keys without the cache misses of one big table by partitioning them by hash
//! first, and [`sum_in_parallel`], which splits a likelihood's sum over threads.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

/// Partitions by the top bits of the hash; each partition's table then stays small enough for the cache.
const PARTITION_BITS: u32 = 8;
/// Below this many keys one table is fine.
const PARTITION_FROM: usize = 1 << 16;

/// FxHash's multiply-rotate mix with MurmurHash3's finaliser (the bits of whole-number floats end in
/// zeros, which a bare multiply keeps out of the bucket index). Keys are a few numbers no attacker chooses.
#[derive(Default)]
pub(crate) struct PatternHasher(u64);

impl Hasher for PatternHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A hash map keyed by a few numbers (patterns, ages, frequencies).
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<PatternHasher>>;

/// Each distinct key with the number of times it occurs. The order is deterministic (it depends on the
/// keys and their order only).
pub(crate) fn tally<K: Hash + Eq + Copy>(keys: &[K]) -> Vec<(K, f64)> {
    let build = BuildHasherDefault::<PatternHasher>::default();
    let mut counts: FastMap<K, usize> = FastMap::default();
    let mut distinct: Vec<(K, f64)> = Vec::new();
    let mut count = |keys: &mut dyn Iterator<Item = K>, counts: &mut FastMap<K, usize>| {
        counts.clear();
        for key in keys {
            let slot = *counts.entry(key).or_insert_with(|| {
                distinct.push((key, 0.0));
                distinct.len() - 1
            });
            distinct[slot].1 += 1.0;
        }
    };
    if keys.len() < PARTITION_FROM {
        count(&mut keys.iter().copied(), &mut counts);
        return distinct;
    }
    let mut partitions: Vec<Vec<K>> = vec![Vec::new(); 1 << PARTITION_BITS];
    for &key in keys {
        partitions[(build.hash_one(key) >> (64 - PARTITION_BITS)) as usize].push(key);
    }
    for partition in &partitions {
        count(&mut partition.iter().copied(), &mut counts);
    }
    distinct
}

/// Below this many items a sum stays on the calling thread, and no thread gets fewer than half of it.
const PARALLEL_FROM: usize = 50_000;
/// Threads at most, whatever is asked for.
const MAX_THREADS: usize = 64;

/// `sum(items)` computed as the sum of `sum(chunk)` over up to `threads` chunks on scoped threads (the
/// calling thread alone for small inputs or `threads ≤ 1`). A chunk whose thread cannot be started is
/// summed on the calling thread; NaN when a thread fails.
pub(crate) fn sum_in_parallel<T: Sync, const K: usize>(
    items: &[T],
    threads: usize,
    sum: impl Fn(&[T]) -> [f64; K] + Sync,
) -> [f64; K] {
    let threads = threads.min(MAX_THREADS).min(items.len() / (PARALLEL_FROM / 2));
    if threads <= 1 || items.len() < PARALLEL_FROM {
        return sum(items);
    }
    let size = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let sum = &sum;
        let mut total = [0.0; K];
        let mut add = |part: [f64; K]| {
            for (t, p) in total.iter_mut().zip(part) {
                *t += p;
            }
        };
        let mut running = Vec::new();
        for chunk in items.chunks(size) {
            match std::thread::Builder::new().spawn_scoped(scope, move || sum(chunk)) {
                Ok(thread) => running.push(thread),
                Err(_) => add(sum(chunk)),
            }
        }
        for thread in running {
            add(thread.join().unwrap_or([f64::NAN; K]));
        }
        total
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_each_distinct_key_once_in_small_and_large_inputs() {
        for n in [10usize, 200_000] {
            let keys: Vec<(u32, u64)> = (0..n).map(|i| ((i % 7) as u32, (i % 1000) as u64)).collect();
            let mut counted = tally(&keys);
            assert_eq!(counted.len(), 7000.min(n), "n={n}");
            assert_eq!(counted.iter().map(|(_, c)| c).sum::<f64>(), n as f64);
            counted.sort_by_key(|(k, _)| *k);
            let expected = (0..n).filter(|i| i % 7 == 3 && i % 1000 == 10).count() as f64;
            let found = counted.iter().find(|(k, _)| *k == (3, 10)).map_or(0.0, |(_, c)| *c);
            assert_eq!(found, expected);
        }
    }

    #[test]
    fn a_parallel_sum_equals_the_plain_sum() {
        let items: Vec<f64> = (0..100_000).map(f64::from).collect();
        let plain = items.iter().sum::<f64>();
        for threads in [1, 2, 3, usize::MAX] {
            let [total, count] = sum_in_parallel(&items, threads, |chunk| [chunk.iter().sum(), chunk.len() as f64]);
            assert_eq!((total, count), (plain, 100_000.0), "threads={threads}");
        }
    }

    #[test]
    fn whole_number_floats_spread_over_the_table() {
        let build = BuildHasherDefault::<PatternHasher>::default();
        let tops: std::collections::HashSet<u64> =
            (0..1000).map(|d| build.hash_one((1u32, f64::from(d).to_bits())) >> 56).collect();
        assert!(tops.len() > 200, "{}", tops.len());
    }
}
