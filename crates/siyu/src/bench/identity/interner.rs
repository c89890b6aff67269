//! One thread's identifier table for `siyu bench identity`: open addressing with linear probing over
//! 16-byte slots, at most 80 % full (it doubles before that), and an arena holding each distinct
//! identifier's bytes once.
//!
//! A slot holds the top 32 bits of the identifier's hash (the tag; the home slot is the tag's top bits) with
//! the id + 1 (so 0 is an empty slot), and where the identifier is in the arena. Identifiers are compared
//! byte for byte. Lookups go in batches: the home slots of a whole batch are loaded first, so that their
//! cache misses overlap (while the batch before is looked up), then the batch is looked up in order (a later
//! occurrence in the batch finds the id an earlier one was given).

use std::hint::black_box;

/// Occurrences looked up together.
pub const BATCH: usize = 16;
/// An identifier's length shares a `u64` with its offset in the buffer.
pub const OFFSET_BITS: u32 = 48;
pub const MAX_LEN: usize = (1 << (64 - OFFSET_BITS)) - 1;

/// One occurrence of an identifier: its hash, and where it is in a buffer (offset, length << 48).
#[derive(Clone, Copy, Default)]
pub struct Item {
    pub hash: u64,
    pub span: u64,
}

impl Item {
    pub fn new(hash: u64, start: usize, len: usize) -> Self {
        Self { hash, span: start as u64 | (len as u64) << OFFSET_BITS }
    }

    pub fn tag(&self) -> u64 {
        self.hash >> 32
    }
}

fn span_bytes(data: &[u8], span: u64) -> &[u8] {
    let start = (span & ((1 << OFFSET_BITS) - 1)) as usize;
    &data[start..start + (span >> OFFSET_BITS) as usize]
}

/// `[tag << 32 | id + 1, span]`, all zero when empty.
type Slot = [u64; 2];

/// `n` empty slots, written out now: memory the kernel maps lazily as zero pages would be faulted twice, a
/// read fault then a copy-on-write fault that flushes the TLB of every core running the process.
fn empty_slots(n: usize) -> Vec<Slot> {
    let mut slots = Vec::with_capacity(n);
    slots.resize(n, [0; 2]);
    slots
}

pub struct Interner {
    arena: Vec<u8>,
    slots: Vec<Slot>,
    /// log2 of the number of slots (at most 32: the home slot comes from the tag).
    bits: u32,
    count: u32,
}

impl Interner {
    /// A table with room for about `distinct` identifiers, of `bytes` bytes in all, before it grows.
    pub fn new(distinct: usize, bytes: usize) -> Self {
        let bits = (distinct + distinct / 4).max(BATCH).next_power_of_two().trailing_zeros().min(32);
        Self { arena: Vec::with_capacity(bytes), slots: empty_slots(1 << bits), bits, count: 0 }
    }

    /// How many distinct identifiers have ids (`0..len()`).
    pub fn len(&self) -> usize {
        self.count as usize
    }

    fn home(&self, tag: u64) -> usize {
        (tag >> (32 - self.bits)) as usize
    }

    /// Appends the id of every item of `batch` (spans in `text`) to `ids`, giving new identifiers the next
    /// ids; `added` sees each new identifier's bytes. Callers [`Interner::touch`] the batch beforehand, as
    /// early as they can.
    pub fn intern(&mut self, text: &[u8], batch: &[Item], ids: &mut Vec<u32>, mut added: impl FnMut(&[u8])) {
        if (self.len() + batch.len()) * 5 > self.slots.len() * 4 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        for item in batch {
            let bytes = span_bytes(text, item.span);
            let tag = item.tag();
            let mut i = self.home(tag);
            let id = loop {
                let [tag_id, span] = self.slots[i];
                if tag_id == 0 {
                    let id = self.count;
                    self.count += 1;
                    let span = Item::new(0, self.arena.len(), bytes.len()).span;
                    self.slots[i] = [tag << 32 | u64::from(id + 1), span];
                    self.arena.extend_from_slice(bytes);
                    added(bytes);
                    break id;
                }
                if tag_id >> 32 == tag && span_bytes(&self.arena, span) == bytes {
                    break (tag_id & 0xFFFF_FFFF) as u32 - 1;
                }
                i = (i + 1) & mask;
            };
            ids.push(id);
        }
    }

    /// Loads the home slots of up to [`BATCH`] items, then the first byte of each one's identifier, so that
    /// the lookups that follow find them cached. Nothing branches on what is loaded: a mispredicted branch
    /// would make the loads wait for one another.
    pub fn touch(&self, items: &[Item]) {
        let mut slots = [[0u64; 2]; BATCH];
        for (slot, item) in slots.iter_mut().zip(items) {
            *slot = self.slots[self.home(item.tag())];
        }
        let mut touched = 0u64;
        for [tag_id, span] in slots {
            let start = (span & ((1 << OFFSET_BITS) - 1)) as usize;
            touched ^= tag_id ^ u64::from(self.arena.get(start).copied().unwrap_or(0));
        }
        black_box(touched);
    }

    /// The id of `bytes` (whose hash has `tag` as top 32 bits), if it has one.
    pub fn get(&self, tag: u64, bytes: &[u8]) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(tag);
        loop {
            let [tag_id, span] = self.slots[i];
            if tag_id == 0 {
                return None;
            }
            if tag_id >> 32 == tag && span_bytes(&self.arena, span) == bytes {
                return Some((tag_id & 0xFFFF_FFFF) as u32 - 1);
            }
            i = (i + 1) & mask;
        }
    }

    /// Every identifier in slots `range` (of [`Interner::slot_count`]): its id, tag and bytes.
    pub fn entries(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = (u32, u64, &[u8])> + '_ {
        self.slots[range]
            .iter()
            .filter(|s| s[0] != 0)
            .map(|&[tag_id, span]| ((tag_id & 0xFFFF_FFFF) as u32 - 1, tag_id >> 32, span_bytes(&self.arena, span)))
    }

    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Doubles the table (the tag holds the home slot for any size up to 2^32 slots).
    fn grow(&mut self) {
        let bits = (self.bits + 1).min(32);
        let old = std::mem::replace(&mut self.slots, empty_slots(1 << bits));
        self.bits = bits;
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s[0] != 0) {
            let mut i = self.home(slot[0] >> 32);
            while self.slots[i][0] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_bytes_get_the_same_id_and_colliding_hashes_do_not_merge() {
        let data = b"aaabbbaaaccc";
        // Every item has the same hash: ids must come from the bytes alone.
        let items: Vec<Item> = [0, 3, 6, 9].iter().map(|&s| Item::new(42 << 32, s, 3)).collect();
        let mut interner = Interner::new(1, 0);
        let mut ids = Vec::new();
        let mut added = Vec::new();
        interner.intern(data, &items, &mut ids, |b| added.push(b.to_vec()));
        assert_eq!(ids, vec![0, 1, 0, 2]);
        assert_eq!(added, vec![b"aaa".to_vec(), b"bbb".to_vec(), b"ccc".to_vec()]);
        assert_eq!((interner.len(), interner.get(42, b"ccc"), interner.get(42, b"ddd")), (3, Some(2), None));
    }

    #[test]
    fn the_table_grows_and_keeps_every_id() {
        let data: Vec<u8> = (0..5_000u32).flat_map(|i| i.to_be_bytes()).collect();
        let hash = |i: usize| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let items: Vec<Item> = (0..5_000).map(|i| Item::new(hash(i), i * 4, 4)).collect();
        let mut interner = Interner::new(10, 0);
        let mut ids = Vec::new();
        for batch in items.chunks(BATCH) {
            interner.intern(&data, batch, &mut ids, |_| {});
        }
        assert_eq!(ids, (0..5_000).collect::<Vec<u32>>());
        assert_eq!(interner.get(hash(4_321) >> 32, &4_321u32.to_be_bytes()), Some(4_321));
        assert_eq!(interner.entries(0..interner.slot_count()).count(), 5_000);
    }
}
