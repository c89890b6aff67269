//! A dense union-find (disjoint sets) over `u32` node ids, the core of identity resolution.
//!
//! Nodes are `0..len()`. [`UnionFind::find`] halves paths as it walks (iteratively, so no deep recursion),
//! [`UnionFind::union`] links by size. The representative of a set is deterministic: after a union it is the
//! root of the larger set, and of two sets of equal size the smaller root id. So replaying the same unions
//! in the same order (identity un-merge does) gives the same roots, whatever happened in between.

/// Disjoint sets over the dense ids `0..len()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnionFind {
    /// Each node's parent; a root is its own parent.
    parent: Vec<u32>,
    /// The set's size, meaningful at roots only.
    size: Vec<u32>,
    /// How many sets there are now.
    sets: usize,
}

/// What a union that joined two sets did: `root` now represents both, `absorbed` was the other root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub root: u32,
    pub absorbed: u32,
}

impl UnionFind {
    /// `n` nodes, each in a set of its own.
    ///
    /// # Panics
    ///
    /// If `n` exceeds `u32::MAX` (ids are `u32`).
    pub fn new(n: usize) -> Self {
        assert!(n <= u32::MAX as usize, "a union-find holds at most u32::MAX nodes, not {n}");
        Self { parent: (0..n as u32).collect(), size: vec![1; n], sets: n }
    }

    /// No nodes yet, room for `capacity` before reallocating.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { parent: Vec::with_capacity(capacity), size: Vec::with_capacity(capacity), sets: 0 }
    }

    /// Adds a node in a set of its own and returns its id.
    ///
    /// # Panics
    ///
    /// If the structure already holds `u32::MAX` nodes.
    pub fn add(&mut self) -> u32 {
        assert!(self.parent.len() < u32::MAX as usize, "a union-find holds at most u32::MAX nodes");
        let id = self.parent.len() as u32;
        self.parent.push(id);
        self.size.push(1);
        self.sets += 1;
        id
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// How many disjoint sets there are (kept as unions happen, not counted).
    pub fn sets(&self) -> usize {
        self.sets
    }

    /// The representative of `x`'s set, halving the path on the way.
    ///
    /// # Panics
    ///
    /// If `x` is not a node (`x >= len()`).
    pub fn find(&mut self, x: u32) -> u32 {
        let mut x = x as usize;
        loop {
            let p = self.parent[x] as usize;
            if p == x {
                return x as u32;
            }
            let grandparent = self.parent[p];
            self.parent[x] = grandparent;
            x = grandparent as usize;
        }
    }

    /// Joins the sets of `a` and `b`; true when they were two sets (false when already one).
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        self.link(a, b).is_some()
    }

    /// Like [`UnionFind::union`], telling which root was kept and which absorbed, so that callers keeping
    /// data per root (guards, un-merge bookkeeping) can move it.
    pub fn link(&mut self, a: u32, b: u32) -> Option<Link> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return None;
        }
        let (sa, sb) = (self.size[ra as usize], self.size[rb as usize]);
        let (root, absorbed) = if sa > sb || (sa == sb && ra < rb) { (ra, rb) } else { (rb, ra) };
        self.parent[absorbed as usize] = root;
        self.size[root as usize] = sa + sb;
        self.sets -= 1;
        Some(Link { root, absorbed })
    }

    /// Whether `a` and `b` are in the same set.
    pub fn same(&mut self, a: u32, b: u32) -> bool {
        self.find(a) == self.find(b)
    }

    /// How many nodes `x`'s set holds.
    pub fn set_size(&mut self, x: u32) -> u32 {
        let root = self.find(x);
        self.size[root as usize]
    }

    /// The size of the largest set (0 when there are no nodes).
    pub fn largest_set(&self) -> u32 {
        let roots = self.parent.iter().zip(&self.size).enumerate().filter(|&(i, (&p, _))| p as usize == i);
        roots.map(|(_, (_, &s))| s).max().unwrap_or(0)
    }

    /// The representative of every node, indexed by node id (paths are compressed on the way).
    pub fn components(&mut self) -> Vec<u32> {
        (0..self.parent.len() as u32).map(|x| self.find(x)).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;

    /// The component of every node by breadth-first search: the smallest node id in it.
    fn bfs_labels(n: usize, edges: &[(u32, u32)]) -> Vec<u32> {
        let mut adjacent = vec![Vec::new(); n];
        for &(a, b) in edges {
            adjacent[a as usize].push(b);
            adjacent[b as usize].push(a);
        }
        let mut label = vec![u32::MAX; n];
        for start in 0..n {
            if label[start] != u32::MAX {
                continue;
            }
            label[start] = start as u32;
            let mut queue = VecDeque::from([start]);
            while let Some(x) = queue.pop_front() {
                for &y in &adjacent[x] {
                    if label[y as usize] == u32::MAX {
                        label[y as usize] = start as u32;
                        queue.push_back(y as usize);
                    }
                }
            }
        }
        label
    }

    #[test]
    fn every_node_starts_alone() {
        let mut uf = UnionFind::new(4);
        assert_eq!((uf.len(), uf.sets(), uf.largest_set()), (4, 4, 1));
        assert_eq!(uf.components(), vec![0, 1, 2, 3]);
        assert!(!uf.same(0, 1));
    }

    #[test]
    fn a_union_joins_two_sets_once() {
        let mut uf = UnionFind::new(3);
        assert!(uf.union(0, 1));
        assert!(!uf.union(1, 0));
        assert!(uf.same(0, 1));
        assert_eq!((uf.sets(), uf.set_size(1), uf.largest_set()), (2, 2, 2));
        assert!(uf.union(2, 1));
        assert_eq!((uf.sets(), uf.set_size(2)), (1, 3));
    }

    #[test]
    fn the_larger_set_keeps_its_root_and_ties_go_to_the_smaller_id() {
        let mut uf = UnionFind::new(6);
        assert_eq!(uf.link(5, 3), Some(Link { root: 3, absorbed: 5 }));
        assert_eq!(uf.link(1, 0), Some(Link { root: 0, absorbed: 1 }));
        // {0, 1} and {3, 5} tie: the smaller root wins.
        assert_eq!(uf.link(5, 1), Some(Link { root: 0, absorbed: 3 }));
        // A single node joining the big set never becomes the root, even with a smaller id.
        let mut uf2 = UnionFind::new(4);
        uf2.union(2, 3);
        assert_eq!(uf2.link(0, 3), Some(Link { root: 2, absorbed: 0 }));
        assert_eq!(uf.components(), vec![0, 0, 2, 0, 4, 0]);
    }

    #[test]
    fn nodes_can_be_added_one_at_a_time() {
        let mut uf = UnionFind::with_capacity(2);
        assert!(uf.is_empty());
        assert_eq!(uf.largest_set(), 0);
        let (a, b, c) = (uf.add(), uf.add(), uf.add());
        assert_eq!((a, b, c), (0, 1, 2));
        uf.union(a, c);
        assert_eq!((uf.len(), uf.sets()), (3, 2));
        assert_eq!(uf.components(), vec![0, 1, 0]);
    }

    #[test]
    fn a_million_unions_in_a_row_make_one_set() {
        let n = 1_000_000u32;
        let mut uf = UnionFind::new(n as usize);
        for x in 1..n {
            // Linking the new node above the old root every time would make a million-long path.
            uf.union(x, x - 1);
        }
        assert_eq!((uf.sets(), uf.largest_set()), (1, n));
        assert!(uf.same(0, n - 1));
    }

    proptest! {
        #[test]
        fn unions_agree_with_breadth_first_search(
            (n, edges) in (1usize..60).prop_flat_map(|n| {
                (Just(n), prop::collection::vec((0..n as u32, 0..n as u32), 0..120))
            })
        ) {
            let mut uf = UnionFind::new(n);
            let mut joined = 0;
            for &(a, b) in &edges {
                let (ra, rb) = (uf.find(a), uf.find(b));
                let (sa, sb) = (uf.set_size(a), uf.set_size(b));
                let link = uf.link(a, b);
                prop_assert_eq!(link.is_some(), ra != rb);
                if let Some(l) = link {
                    joined += 1;
                    let expected = if sa > sb || (sa == sb && ra < rb) { ra } else { rb };
                    prop_assert_eq!(l.root, expected);
                    prop_assert_eq!(uf.set_size(a), sa + sb);
                }
            }
            let labels = bfs_labels(n, &edges);
            let roots = uf.components();
            for x in 0..n {
                for y in 0..n {
                    prop_assert_eq!(roots[x] == roots[y], labels[x] == labels[y], "nodes {} and {}", x, y);
                }
            }
            let mut distinct = labels.clone();
            distinct.sort_unstable();
            distinct.dedup();
            prop_assert_eq!(uf.sets(), distinct.len());
            prop_assert_eq!(uf.sets(), n - joined);
            let largest = distinct.iter().map(|l| labels.iter().filter(|x| *x == l).count()).max();
            prop_assert_eq!(Some(uf.largest_set() as usize), largest);
        }
    }
}
