//! Un-merge as a replay (cdp.md §2.5): split one customer's identities in two by the evidence left.
//!
//! The anchors are what each side held when the merge happened (the absorbed customer's identities, which
//! the merge log recorded, and the survivor's). Identities that arrived later belong to the side the
//! evidence connects them to: a breadth-first search grows both sides at once over the observed-together
//! edges, each identity joining the nearer side (the survivor on a tie, and when nothing connects it).
//! Every edge left between the two sides is evidence the operator has just called wrong: it is retracted.

/// Which customer an identity goes to when a merge is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Survivor,
    Absorbed,
}

/// The outcome of [`partition`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The side of every node, by node index.
    pub side: Vec<Side>,
    /// Indexes (into the `edges` given) of the edges joining the two sides: to be retracted.
    pub cut: Vec<usize>,
}

/// Splits `nodes` identities (`0..nodes`) joined by `edges` (node index pairs) starting from `anchors`.
/// Indexes out of range are ignored; a node anchored on both sides stays with the survivor.
pub fn partition(nodes: usize, edges: &[(usize, usize)], anchors: &[(usize, Side)]) -> Partition {
    let mut adjacent: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    for &(a, b) in edges {
        if a < nodes && b < nodes && a != b {
            adjacent[a].push(b);
            adjacent[b].push(a);
        }
    }
    let mut side: Vec<Option<Side>> = vec![None; nodes];
    for &(n, s) in anchors.iter().filter(|(n, _)| *n < nodes) {
        if side[n] != Some(Side::Survivor) {
            side[n] = Some(s);
        }
    }
    let mut frontier: Vec<usize> = (0..nodes).filter(|n| side[*n].is_some()).collect();
    while !frontier.is_empty() {
        // The survivor's frontier first: a node both sides reach in the same step stays with the survivor.
        frontier.sort_by_key(|n| (side[*n] != Some(Side::Survivor), *n));
        let mut next = Vec::new();
        for u in frontier {
            let s = side[u];
            for &v in &adjacent[u] {
                if side[v].is_none() {
                    side[v] = s;
                    next.push(v);
                }
            }
        }
        frontier = next;
    }
    let side: Vec<Side> = side.into_iter().map(|s| s.unwrap_or(Side::Survivor)).collect();
    let cut = edges
        .iter()
        .enumerate()
        .filter(|(_, (a, b))| *a < nodes && *b < nodes && side[*a] != side[*b])
        .map(|(i, _)| i)
        .collect();
    Partition { side, cut }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_bad_link_is_cut_and_each_side_keeps_what_hangs_off_it() {
        // 0 -(bad)- 1; 2 arrived later with 1; 3 arrived later with nothing.
        let edges = [(0, 1), (1, 2)];
        let p = partition(4, &edges, &[(0, Side::Survivor), (1, Side::Absorbed)]);
        assert_eq!(p.side, [Side::Survivor, Side::Absorbed, Side::Absorbed, Side::Survivor]);
        assert_eq!(p.cut, [0]);
    }

    #[test]
    fn an_identity_reached_by_both_sides_at_once_stays_with_the_survivor() {
        let edges = [(0, 2), (1, 2)];
        let p = partition(3, &edges, &[(0, Side::Survivor), (1, Side::Absorbed)]);
        assert_eq!(p.side[2], Side::Survivor);
        assert_eq!(p.cut, [1]);
    }

    type Graph = (usize, Vec<(usize, usize)>, Vec<(usize, Side)>);

    fn graph() -> impl Strategy<Value = Graph> {
        (1usize..30).prop_flat_map(|n| {
            let edge = (0..n, 0..n);
            let anchor = (0..n, prop_oneof![Just(Side::Survivor), Just(Side::Absorbed)]);
            (Just(n), prop::collection::vec(edge, 0..60), prop::collection::vec(anchor, 0..8))
        })
    }

    proptest! {
        #[test]
        fn every_identity_gets_one_side_anchors_keep_theirs_and_no_kept_edge_crosses(
            (n, edges, anchors) in graph()
        ) {
            let p = partition(n, &edges, &anchors);
            prop_assert_eq!(p.side.len(), n);
            for (a, s) in &anchors {
                let both = anchors.iter().any(|(b, t)| b == a && *t == Side::Survivor);
                prop_assert_eq!(p.side[*a], if both { Side::Survivor } else { *s });
            }
            for (i, (a, b)) in edges.iter().enumerate() {
                prop_assert_eq!(p.cut.contains(&i), p.side[*a] != p.side[*b]);
            }
            // Every absorbed-side identity is reachable from an absorbed anchor over kept edges.
            let mut reach: Vec<bool> = (0..n).map(|i| p.side[i] == Side::Absorbed
                && anchors.iter().any(|(a, s)| *a == i && *s == Side::Absorbed)).collect();
            loop {
                let mut grew = false;
                for (i, (a, b)) in edges.iter().enumerate() {
                    if p.cut.contains(&i) { continue; }
                    if reach[*a] != reach[*b] { reach[*a] = true; reach[*b] = true; grew = true; }
                }
                if !grew { break; }
            }
            for (side, reached) in p.side.iter().zip(&reach) {
                prop_assert_eq!(*side == Side::Absorbed, *reached);
            }
        }
    }
}
