use chrono::{TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::identity::IdentityKind as K;

fn cid(n: u128) -> CustomerId {
    CustomerId(Uuid::from_u128(n))
}

fn key(kind: K, ns: &str, v: &str) -> Key {
    Key::new(kind, ns, v)
}

fn strong(k: Key, holder: Option<u128>) -> Seen {
    Seen { key: k, strength: Strength::Strong, holder: holder.map(cid) }
}

fn weak(k: Key, holder: Option<u128>) -> Seen {
    Seen { key: k, strength: Strength::Weak, holder: holder.map(cid) }
}

fn person(n: u128, day: u32, keys: Vec<Key>) -> Person {
    let created_at = Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap();
    Person { id: cid(n), created_at, keys, merges: 0, locked: false }
}

const NEW: u128 = 99;

fn run(seen: &[Seen], people: &[Person]) -> Decision {
    decide(seen, people, &[], cid(NEW), &Limits::default())
}

#[test]
fn a_unionid_shared_by_two_mini_program_customers_merges_them_into_the_older_one() {
    let union = key(K::Unionid, "", "oU1");
    let app2 = key(K::Openid, "wx2", "o-app2");
    let older = person(1, 1, vec![key(K::Openid, "wx1", "o-app1"), union.clone()]);
    let newer = person(2, 5, vec![app2.clone()]);
    let d = run(&[strong(app2.clone(), Some(2)), strong(union.clone(), Some(1))], &[newer, older]);
    assert_eq!((d.target, d.created, d.absorb.clone()), (Some(cid(1)), false, vec![cid(2)]));
    assert_eq!(d.anchor, Some(union.clone()));
    assert_eq!(d.edges, vec![(union, app2, Strength::Strong)]);
    assert!(d.suggestions.is_empty());
}

#[test]
fn two_customers_with_different_unionids_are_never_merged_but_suggested() {
    let a = person(1, 1, vec![key(K::Unionid, "", "oU1"), key(K::Phone, "", "idx-138")]);
    let b = person(2, 2, vec![key(K::Unionid, "", "oU2")]);
    let seen = [strong(key(K::Unionid, "", "oU2"), Some(2)), strong(key(K::Phone, "", "idx-138"), Some(1))];
    let d = run(&seen, &[a, b]);
    assert_eq!(d.target, Some(cid(2)), "the unionid outranks the phone");
    assert!(d.absorb.is_empty());
    assert_eq!(d.suggestions.len(), 1);
    assert_eq!((d.suggestions[0].other, d.suggestions[0].reason), (cid(1), SuggestionReason::UniqueConflict));
}

#[test]
fn a_weak_phone_held_by_someone_else_suggests_and_never_merges() {
    let phone = key(K::Phone, "", "idx-139");
    let holder = person(1, 1, vec![phone.clone()]);
    let visitor = person(2, 2, vec![key(K::AnonymousId, "", "anon-1")]);
    let seen = [strong(key(K::AnonymousId, "", "anon-1"), Some(2)), weak(phone.clone(), Some(1))];
    let d = run(&seen, &[holder, visitor]);
    assert_eq!((d.target, d.absorb.len()), (Some(cid(2)), 0));
    assert_eq!(d.skipped, vec![(phone, "held_elsewhere")]);
    assert_eq!(d.suggestions[0].reason, SuggestionReason::WeakIdentifier);
}

#[test]
fn unknown_identifiers_create_one_new_customer_holding_all_of_them() {
    let seen = [strong(key(K::AnonymousId, "", "a1"), None), weak(key(K::Email, "", "idx-mail"), None)];
    let d = run(&seen, &[]);
    assert_eq!((d.target, d.created), (Some(cid(NEW)), true));
    assert_eq!(d.attach.len(), 2);
    assert_eq!(d.anchor, Some(key(K::AnonymousId, "", "a1")));
    assert_eq!(d.edges[0].2, Strength::Weak, "an edge is as strong as its weaker end");
}

#[test]
fn a_second_openid_of_the_same_app_is_not_attached() {
    let holder = person(1, 1, vec![key(K::Openid, "wx1", "o-first"), key(K::Unionid, "", "oU1")]);
    let seen = [strong(key(K::Unionid, "", "oU1"), Some(1)), strong(key(K::Openid, "wx1", "o-second"), None)];
    let d = run(&seen, &[holder]);
    assert!(d.attach.is_empty());
    assert_eq!(d.skipped, vec![(key(K::Openid, "wx1", "o-second"), "unique_conflict")]);
}

#[test]
fn masked_phone_matches_only_suggest_and_too_many_matches_suggest_nothing() {
    let me = person(1, 1, vec![key(K::AnonymousId, "", "a1")]);
    let seen = [strong(key(K::AnonymousId, "", "a1"), Some(1))];
    let limits = Limits::default();
    let d = decide(&seen, std::slice::from_ref(&me), &[cid(7)], cid(NEW), &limits);
    assert_eq!((d.absorb.len(), d.suggestions[0].reason), (0, SuggestionReason::MaskedPhone));
    let many = [cid(7), cid(8), cid(9), cid(10)];
    assert!(decide(&seen, &[me], &many, cid(NEW), &limits).suggestions.is_empty());
}

#[test]
fn the_merge_cap_turns_a_merge_into_a_suggestion() {
    let mut a = person(1, 1, vec![key(K::Openid, "wx1", "o1")]);
    a.merges = 100;
    let b = person(2, 2, vec![key(K::Openid, "wx2", "o2")]);
    let seen = [strong(key(K::Openid, "wx1", "o1"), Some(1)), strong(key(K::Openid, "wx2", "o2"), Some(2))];
    let d = run(&seen, &[a, b]);
    assert!(d.absorb.is_empty());
    assert_eq!(d.suggestions[0].reason, SuggestionReason::MergeCap);
}

#[test]
fn a_locked_customer_is_neither_merged_nor_a_target() {
    let mut erased = person(1, 1, vec![key(K::Openid, "wx1", "o1")]);
    erased.locked = true;
    let seen = [strong(key(K::Openid, "wx1", "o1"), Some(1)), strong(key(K::AnonymousId, "", "a9"), None)];
    let d = run(&seen, &[erased]);
    assert_eq!((d.target, d.created), (Some(cid(NEW)), true));
    assert!(d.absorb.is_empty());
}

#[test]
fn an_observation_without_identifiers_changes_nothing() {
    assert_eq!(run(&[], &[]), Decision::default());
}
