//! The guarded replay of `siyu bench identity`: the same unions, except those that would put two different
//! values of a unique kind into one component (two unionids, or two openids of the same app), which are
//! refused and counted. That is the uniqueness guard of the real resolver (reference/cdp.md §2.3 rule 4).
//!
//! Each root keeps the list of the unique identifiers its set holds, linked through the nodes. A set holds
//! at most one identifier per unique kind, so a check compares two short lists.

use rustc_hash::FxHashMap;
use siyu_domain::union_find::UnionFind;

/// The kind of an identifier that may appear any number of times in a component.
pub const FREE: u32 = u32::MAX;
const UNIONID: u32 = 0;
/// The end of a list.
const END: u32 = u32::MAX;

/// The unique kinds of one thread's identifiers, by id; openid namespaces (`openid@<appid>`) are numbered
/// from 1 in order of first appearance.
#[derive(Default)]
pub struct Kinds {
    namespaces: Namespaces,
    keys: Vec<u32>,
}

/// Openid namespaces and their numbers.
pub type Namespaces = FxHashMap<Vec<u8>, u32>;

impl Kinds {
    /// Classifies the next identifier.
    pub fn push(&mut self, id: &[u8]) {
        let key = if id.starts_with(b"unionid:") {
            UNIONID
        } else if id.starts_with(b"openid@")
            && let Some(colon) = memchr::memchr(b':', id)
        {
            let next = self.namespaces.len() as u32 + 1;
            match self.namespaces.get(&id[..colon]) {
                Some(&n) => n,
                None => *self.namespaces.entry(id[..colon].to_vec()).or_insert(next),
            }
        } else {
            FREE
        };
        self.keys.push(key);
    }

    /// The kinds by id, with namespaces numbered as in `global` (which gains the ones it lacks).
    pub fn keys_in(&self, global: &mut Namespaces) -> Vec<u32> {
        let mut remap = vec![FREE; self.namespaces.len() + 1];
        let mut names: Vec<(&Vec<u8>, u32)> = self.namespaces.iter().map(|(name, &local)| (name, local)).collect();
        names.sort_unstable_by_key(|&(_, local)| local);
        for (name, local) in names {
            let next = global.len() as u32 + 1;
            remap[local as usize] = *global.entry(name.clone()).or_insert(next);
        }
        self.keys.iter().map(|&k| if k == FREE || k == UNIONID { k } else { remap[k as usize] }).collect()
    }
}

/// Union-find with the uniqueness guard.
pub struct Guard {
    sets: UnionFind,
    /// Each identifier's unique kind, or [`FREE`].
    key: Vec<u32>,
    /// At a root: the first unique identifier of its set; `next` links the rest.
    head: Vec<u32>,
    next: Vec<u32>,
    refused: u64,
}

impl Guard {
    /// One set per identifier; `key` gives their kinds (as [`Kinds::merge`] returns them).
    pub fn new(key: Vec<u32>) -> Self {
        let head = key.iter().enumerate().map(|(i, &k)| if k == FREE { END } else { i as u32 }).collect();
        let n = key.len();
        Self { sets: UnionFind::new(n), key, head, next: vec![END; n], refused: 0 }
    }

    /// Adds an identifier of kind `key` in a set of its own; returns its id.
    pub fn add(&mut self, key: u32) -> u32 {
        let id = self.sets.add();
        self.key.push(key);
        self.head.push(if key == FREE { END } else { id });
        self.next.push(END);
        id
    }

    /// Joins the sets of `a` and `b` unless both hold a value of the same unique kind; true when joined.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.sets.find(a), self.sets.find(b));
        if ra == rb {
            return false;
        }
        if self.conflict(ra, rb) {
            self.refused += 1;
            return false;
        }
        let Some(link) = self.sets.link(ra, rb) else {
            return false;
        };
        let (root, absorbed) = (link.root as usize, link.absorbed as usize);
        let mut x = std::mem::replace(&mut self.head[absorbed], END);
        while x != END {
            let after = self.next[x as usize];
            self.next[x as usize] = self.head[root];
            self.head[root] = x;
            x = after;
        }
        true
    }

    /// Whether the sets rooted at `ra` and `rb` hold two values of one unique kind.
    fn conflict(&self, ra: u32, rb: u32) -> bool {
        let mut x = self.head[ra as usize];
        while x != END {
            let mut y = self.head[rb as usize];
            while y != END {
                if self.key[x as usize] == self.key[y as usize] {
                    return true;
                }
                y = self.next[y as usize];
            }
            x = self.next[x as usize];
        }
        false
    }

    pub fn refused(&self) -> u64 {
        self.refused
    }

    pub fn sets(&self) -> usize {
        self.sets.sets()
    }

    pub fn largest_set(&self) -> u32 {
        self.sets.largest_set()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(ids: &[&str]) -> Kinds {
        let mut k = Kinds::default();
        for id in ids {
            k.push(id.as_bytes());
        }
        k
    }

    #[test]
    fn openid_namespaces_are_numbered_across_threads() {
        let a = kinds(&["unionid:u1", "openid@wxa:1", "phone:p", "openid@wxb:2"]);
        let b = kinds(&["openid@wxb:3", "anon:x", "openid@wxc:4", "openid@wxa:5"]);
        let mut global = Namespaces::default();
        assert_eq!(a.keys_in(&mut global), vec![UNIONID, 1, FREE, 2]);
        assert_eq!(b.keys_in(&mut global), vec![2, FREE, 3, 1]);
    }

    #[test]
    fn two_sets_with_one_unionid_each_are_never_joined_but_counted() {
        // 0 unionid:1, 1 phone, 2 unionid:2, 3 openid@wxa, 4 anon
        let mut g = Guard::new(vec![UNIONID, FREE, UNIONID, 1, FREE]);
        assert!(g.union(0, 1));
        assert!(!g.union(2, 1));
        assert!(g.union(3, 4));
        assert!(g.union(4, 1));
        assert!(!g.union(2, 3));
        assert_eq!((g.refused(), g.sets(), g.largest_set()), (2, 2, 4));
    }
}
