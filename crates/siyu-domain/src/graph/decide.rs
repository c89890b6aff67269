//! What one observation does to the graph (cdp.md §2.3–2.4).

use chrono::{DateTime, Utc};

use super::{Key, Suggestion, SuggestionReason, precedence};
use crate::event::Strength;
use crate::id::CustomerId;

/// One identifier of the observation, with the customer holding it now (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub key: Key,
    pub strength: Strength,
    pub holder: Option<CustomerId>,
}

/// A customer holding one of the observed identifiers, as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: CustomerId,
    pub created_at: DateTime<Utc>,
    /// Every identity the customer holds.
    pub keys: Vec<Key>,
    /// Merges this customer already absorbed (its own and its absorbed customers').
    pub merges: usize,
    /// Erased or otherwise frozen: never merged, never given identities.
    pub locked: bool,
}

/// The per-customer caps of §2.3 (6), as Segment sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_identities: usize,
    pub max_merges: usize,
    /// More masked-phone matches than this are too ambiguous to suggest.
    pub max_masked_matches: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_identities: 1000, max_merges: 100, max_masked_matches: 3 }
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// The customer the observation belongs to; `None` when it carries nothing usable.
    pub target: Option<CustomerId>,
    /// Whether `target` is a new customer the caller creates (with the id it passed in).
    pub created: bool,
    /// Customers merged into `target` (the oldest of the group survives), in merge order.
    pub absorb: Vec<CustomerId>,
    /// New identities for `target`.
    pub attach: Vec<Key>,
    /// The identity the observation is attributed through (its highest-priority identifier in the group):
    /// un-merge re-attributes the observation by it.
    pub anchor: Option<Key>,
    /// Observed-together links from the anchor to every other identifier that ends up in the group.
    pub edges: Vec<(Key, Key, Strength)>,
    /// Pairs (`target`, other) for an operator instead of an automatic merge.
    pub suggestions: Vec<Suggestion>,
    /// Identifiers not attached and why: `unique_conflict` (the group holds another value of a unique
    /// kind), `limit` (per-kind or identity cap), `held_elsewhere` (held by a customer that is not merged).
    pub skipped: Vec<(Key, &'static str)>,
}

struct Group<'a> {
    members: Vec<&'a Person>,
    keys: Vec<Key>,
    merges: usize,
}

impl<'a> Group<'a> {
    fn of(p: &'a Person) -> Self {
        Self { members: vec![p], keys: p.keys.clone(), merges: p.merges }
    }

    fn has(&self, id: CustomerId) -> bool {
        self.members.iter().any(|m| m.id == id)
    }

    /// A unique-kind key of `keys` the group holds another value of.
    fn conflict<'k>(&self, keys: impl IntoIterator<Item = &'k Key>) -> Option<&'k Key> {
        keys.into_iter()
            .filter(|k| k.kind.is_unique_per_person())
            .find(|k| self.keys.iter().any(|g| g.kind == k.kind && g.namespace == k.namespace && g.lookup != k.lookup))
    }

    fn room_for(&self, key: &Key, limits: &Limits) -> Result<(), &'static str> {
        if self.conflict([key]).is_some() {
            return Err("unique_conflict");
        }
        let same = self.keys.iter().filter(|g| g.kind == key.kind && g.namespace == key.namespace).count();
        if same >= key.kind.limit_per_person() || self.keys.len() >= limits.max_identities {
            return Err("limit");
        }
        Ok(())
    }
}

/// Decides what an observation of `seen` identifiers does. `people` are the customers holding any of them;
/// `masked_matches` the customers whose phone matches a masked phone the observation carried; `new_id` the
/// id to use if a customer must be created.
///
/// Strong identifiers held by several customers merge them into the oldest, unless that would give one
/// person two values of a unique kind or pass the caps: then the pair becomes a suggestion. Weak
/// identifiers and masked phones never merge; they attach when free and suggest when held elsewhere.
pub fn decide(
    seen: &[Seen],
    people: &[Person],
    masked_matches: &[CustomerId],
    new_id: CustomerId,
    limits: &Limits,
) -> Decision {
    let mut order: Vec<&Seen> = seen.iter().collect();
    order.sort_by_key(|s| precedence(s.strength, s.key.kind));
    let person = |id: CustomerId| people.iter().find(|p| p.id == id && !p.locked);
    let mut d = Decision::default();
    let mut group: Option<Group> = None;
    for s in order.iter().filter(|s| s.strength == Strength::Strong) {
        let Some(p) = s.holder.and_then(person) else { continue };
        match &mut group {
            None => group = Some(Group::of(p)),
            Some(g) if g.has(p.id) => {}
            Some(g) => {
                let reason = if g.conflict(&p.keys).is_some() {
                    Some(SuggestionReason::UniqueConflict)
                } else if g.keys.len() + p.keys.len() > limits.max_identities
                    || g.merges + p.merges >= limits.max_merges
                {
                    Some(SuggestionReason::MergeCap)
                } else {
                    None
                };
                match reason {
                    Some(reason) => suggest(&mut d, p.id, reason, &s.key),
                    None => {
                        g.members.push(p);
                        g.keys.extend(p.keys.iter().cloned());
                        g.merges += p.merges + 1;
                    }
                }
            }
        }
    }
    let free: Vec<&&Seen> = order.iter().filter(|s| s.holder.is_none()).collect();
    let mut g = match group {
        Some(g) => g,
        None if free.is_empty() => return d,
        None => {
            d.created = true;
            Group { members: Vec::new(), keys: Vec::new(), merges: 0 }
        }
    };
    // The oldest customer survives (Snowplow's rule): operators and journeys keep their ids.
    g.members.sort_by_key(|p| (p.created_at, p.id));
    let target = g.members.first().map_or(new_id, |p| p.id);
    d.target = Some(target);
    d.absorb = g.members.iter().skip(1).map(|p| p.id).collect();
    let mut in_group: Vec<&Seen> = order.iter().copied().filter(|s| s.holder.is_some_and(|h| g.has(h))).collect();
    for s in free {
        match g.room_for(&s.key, limits) {
            Ok(()) => {
                g.keys.push(s.key.clone());
                d.attach.push(s.key.clone());
                in_group.push(s);
            }
            Err(why) => d.skipped.push((s.key.clone(), why)),
        }
    }
    for s in order.iter().filter(|s| s.holder.is_some_and(|h| !g.has(h))) {
        let holder = s.holder.unwrap_or(target);
        d.skipped.push((s.key.clone(), "held_elsewhere"));
        if s.strength == Strength::Weak && person(holder).is_some() {
            suggest(&mut d, holder, SuggestionReason::WeakIdentifier, &s.key);
        }
    }
    let masked: Vec<&CustomerId> = masked_matches.iter().filter(|c| **c != target && !g.has(**c)).collect();
    if !masked.is_empty() && masked.len() <= limits.max_masked_matches {
        for c in masked {
            let key = Key::new(crate::identity::IdentityKind::Phone, "", "masked");
            suggest(&mut d, *c, SuggestionReason::MaskedPhone, &key);
        }
    }
    in_group.sort_by_key(|s| precedence(s.strength, s.key.kind));
    if let Some((anchor, rest)) = in_group.split_first() {
        d.anchor = Some(anchor.key.clone());
        for s in rest {
            d.edges.push((anchor.key.clone(), s.key.clone(), anchor.strength.min(s.strength)));
        }
    }
    d
}

fn suggest(d: &mut Decision, other: CustomerId, reason: SuggestionReason, key: &Key) {
    if !d.suggestions.iter().any(|s| s.other == other && s.reason == reason) {
        d.suggestions.push(Suggestion { other, reason, key: key.clone() });
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
