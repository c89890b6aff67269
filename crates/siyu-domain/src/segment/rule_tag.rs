//! Rule tags between segments: a segment may drive a tag (its members hold it automatically) and read
//! tags other segments drive. Refreshing the driver before its readers lets one sweep settle the chain;
//! a cycle (A drives a tag B reads while B drives one A reads) would never settle and is refused.

use std::collections::{BTreeMap, BTreeSet};

use super::{Atom, Rule};
use crate::id::{SegmentId, TagId};

/// What one segment gives and reads: the tag it drives and the tags its checked rule reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFlow {
    pub segment: SegmentId,
    pub drives: Option<TagId>,
    pub reads: Vec<TagId>,
}

impl Rule {
    /// Every tag the rule reads (nested dynamic segments are inlined, so theirs too), ascending.
    pub fn tags(&self) -> Vec<TagId> {
        fn walk(r: &Rule, out: &mut BTreeSet<TagId>) {
            match r {
                Rule::All(v) | Rule::Any(v) => v.iter().for_each(|r| walk(r, out)),
                Rule::Not(r) => walk(r, out),
                Rule::Atom(Atom::Tags { tags, .. }) => out.extend(tags.iter().copied()),
                Rule::Atom(_) => {}
            }
        }
        let mut out = BTreeSet::new();
        walk(self, &mut out);
        out.into_iter().collect()
    }
}

/// The segments in an order where every driver of a tag comes before the segments reading it (otherwise
/// in the given order). `Err` holds the segments on or behind a cycle, in the given order.
pub fn refresh_order(flows: &[TagFlow]) -> Result<Vec<SegmentId>, Vec<SegmentId>> {
    let driver: BTreeMap<TagId, usize> =
        flows.iter().enumerate().filter_map(|(i, f)| f.drives.map(|t| (t, i))).collect();
    // Edges driver → reader, counted per reader.
    let mut waiting = vec![0usize; flows.len()];
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); flows.len()];
    for (i, f) in flows.iter().enumerate() {
        let drivers: BTreeSet<usize> = f.reads.iter().filter_map(|t| driver.get(t).copied()).collect();
        for d in drivers {
            waiting[i] += 1;
            readers[d].push(i);
        }
    }
    let mut order = Vec::with_capacity(flows.len());
    let mut done = vec![false; flows.len()];
    // Always take the first ready segment, so the result is the given order wherever tags allow.
    while let Some(i) = (0..flows.len()).find(|&i| !done[i] && waiting[i] == 0) {
        done[i] = true;
        order.push(flows[i].segment);
        for &r in &readers[i] {
            waiting[r] -= 1;
        }
    }
    if order.len() == flows.len() {
        Ok(order)
    } else {
        Err(flows.iter().zip(&done).filter(|(_, d)| !**d).map(|(f, _)| f.segment).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(s: SegmentId, drives: Option<TagId>, reads: &[TagId]) -> TagFlow {
        TagFlow { segment: s, drives, reads: reads.to_vec() }
    }

    #[test]
    fn a_segment_reading_a_rule_tag_is_refreshed_after_the_segment_driving_it() {
        let (a, b, c) = (SegmentId::new(), SegmentId::new(), SegmentId::new());
        let (t1, t2) = (TagId::new(), TagId::new());
        let flows = [flow(a, None, &[t2]), flow(b, Some(t2), &[t1]), flow(c, Some(t1), &[])];
        assert_eq!(refresh_order(&flows), Ok(vec![c, b, a]));
    }

    #[test]
    fn segments_without_rule_tags_keep_their_order() {
        let (a, b) = (SegmentId::new(), SegmentId::new());
        let flows = [flow(a, None, &[TagId::new()]), flow(b, None, &[])];
        assert_eq!(refresh_order(&flows), Ok(vec![a, b]));
    }

    #[test]
    fn segments_driving_each_others_tags_are_a_cycle() {
        let (a, b, c) = (SegmentId::new(), SegmentId::new(), SegmentId::new());
        let (t1, t2) = (TagId::new(), TagId::new());
        let flows = [flow(a, Some(t1), &[t2]), flow(b, Some(t2), &[t1]), flow(c, None, &[t1])];
        assert_eq!(refresh_order(&flows), Err(vec![a, b, c]));
    }

    #[test]
    fn a_segment_reading_its_own_rule_tag_is_a_cycle() {
        let a = SegmentId::new();
        let t = TagId::new();
        assert_eq!(refresh_order(&[flow(a, Some(t), &[t])]), Err(vec![a]));
    }
}
