//! Property test: ingesting events with random identifier sets and undoing random merges, in any order,
//! never loses an identifier, never gives one to two customers, never leaves an event or identity on a
//! customer that does not exist, and never gives a customer two values of a unique kind.

use std::collections::{BTreeSet, HashMap};

use proptest::prelude::*;
use serde_json::{Value, json};
use siyu_domain::event::Endpoint;
use siyu_domain::id::CustomerId;
use siyu_domain::source::SourceKind;

use crate::Ctx;

#[derive(Debug, Clone)]
enum Op {
    /// An event from device `anon` carrying the pool identifiers at these indexes.
    Event { anon: usize, ids: Vec<usize> },
    /// Undo the n-th merge not yet undone (modulo their number).
    Unmerge(usize),
}

/// Identifiers the events draw from: two unionids and openids of three apps (two of one app: unique
/// kinds that conflict now and then), and verified phones.
fn pool(i: usize) -> Value {
    match i {
        0..=1 => json!({"type": "unionid", "id": format!("U{i}")}),
        2..=5 => json!({"type": "openid", "appid": format!("wx{}", i % 3), "id": format!("o{i}")}),
        _ => json!({"type": "mobile", "verified_by": "sms", "id": format!("1391234{:04}", i)}),
    }
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let event = (0usize..6, prop::collection::vec(0usize..9, 1..4)).prop_map(|(anon, ids)| Op::Event { anon, ids });
    let op = prop_oneof![2 => event, 1 => (0usize..8).prop_map(Op::Unmerge)];
    prop::collection::vec(op, 6..30)
}

type Keys = BTreeSet<(String, String, String)>;

async fn check(c: &Ctx, before: &Keys) -> Keys {
    let g = c.app.store.graph().check(c.owner.tenant).await.unwrap();
    let keys: Keys = g
        .identities
        .iter()
        .map(|(k, _)| (k.kind.as_str().to_string(), k.namespace.clone(), k.lookup.clone()))
        .collect();
    assert_eq!(keys.len(), g.identities.len(), "an identifier is held twice");
    assert!(before.is_subset(&keys), "an identifier was lost: {:?}", before.difference(&keys).collect::<Vec<_>>());
    assert_eq!((g.orphan_identities, g.orphan_events), (0, 0), "something points at a customer that does not exist");
    let mut unique: HashMap<(CustomerId, &str, &str), usize> = HashMap::new();
    for (k, c) in g.identities.iter().filter(|(k, _)| k.kind.is_unique_per_person()) {
        *unique.entry((*c, k.kind.as_str(), k.namespace.as_str())).or_default() += 1;
    }
    assert!(unique.values().all(|n| *n == 1), "a customer holds two values of a unique kind");
    keys
}

async fn run(ops: Vec<Op>) {
    let c = Ctx::new(siyu_store::testing::TestDb::sqlite().await.unwrap()).await;
    let key = c.app.create_source(&c.owner, "小程序", SourceKind::MiniProgram).await.unwrap().1;
    let mut held = BTreeSet::new();
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Event { anon, ids } => {
                let external: Vec<Value> = ids.into_iter().map(pool).collect();
                let e = json!({"type": "track", "event": "Viewed", "messageId": format!("m{n}"),
                    "anonymousId": format!("dev-{anon}"), "context": {"externalIds": external}});
                let body = serde_json::to_vec(&e).unwrap();
                c.app
                    .ingest(Endpoint::Single(siyu_domain::event::MessageType::Track), &body, Some(&key))
                    .await
                    .unwrap();
            }
            Op::Unmerge(i) => {
                let merges = c.app.store.graph().live_merges(c.owner.tenant).await.unwrap();
                if !merges.is_empty() {
                    c.app.unmerge(&c.owner, merges[i % merges.len()], "property test").await.unwrap();
                }
            }
        }
        c.app.run_due_work().await.unwrap();
        held = check(&c, &held).await;
    }
    let g = c.app.store.graph().check(c.owner.tenant).await.unwrap();
    assert_eq!(g.events_without_customer, 0, "every event carries an anonymousId, so every event has a customer");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn merging_and_unmerging_in_any_order_never_loses_or_duplicates_an_identifier(ops in ops()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops));
    }
}

/// Who holds what: the identifiers grouped by customer, as a set of sets.
async fn grouping(c: &Ctx) -> BTreeSet<BTreeSet<(String, String, String)>> {
    let g = c.app.store.graph().check(c.owner.tenant).await.unwrap();
    let mut by: HashMap<CustomerId, BTreeSet<(String, String, String)>> = HashMap::new();
    for (k, holder) in g.identities {
        // A phone's lookup is a blind index under each tenant's own key: the pool has one phone.
        let lookup = if k.kind == siyu_domain::identity::IdentityKind::Phone { "phone".into() } else { k.lookup };
        by.entry(holder).or_default().insert((k.kind.as_str().to_string(), k.namespace, lookup));
    }
    by.into_values().collect()
}

fn events_of(ops: &[(usize, Vec<usize>)]) -> Vec<Value> {
    ops.iter()
        .enumerate()
        .map(|(n, (anon, ids))| {
            let external: Vec<Value> = ids.iter().copied().map(pool).collect();
            json!({"type": "track", "event": "Viewed", "messageId": format!("m{n}"),
                "anonymousId": format!("dev-{anon}"), "context": {"externalIds": external}})
        })
        .collect()
}

async fn batched_and_one_by_one(ops: Vec<(usize, Vec<usize>)>) {
    let events = events_of(&ops);
    let mut groupings = Vec::new();
    for one_by_one in [false, true] {
        let c = Ctx::new(siyu_store::testing::TestDb::sqlite().await.unwrap()).await;
        let key = c.app.create_source(&c.owner, "小程序", SourceKind::MiniProgram).await.unwrap().1;
        let chunks: Vec<Vec<Value>> =
            if one_by_one { events.iter().map(|e| vec![e.clone()]).collect() } else { vec![events.clone()] };
        for chunk in chunks {
            let body = serde_json::to_vec(&json!({"batch": chunk})).unwrap();
            c.app.ingest(Endpoint::Batch, &body, Some(&key)).await.unwrap();
            c.app.run_due_work().await.unwrap();
        }
        groupings.push(grouping(&c).await);
    }
    assert_eq!(groupings[0], groupings[1], "resolving a batch groups identifiers as resolving event by event");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn resolving_events_in_one_batch_gives_the_same_people_as_one_by_one(
        ops in prop::collection::vec((0usize..6, prop::collection::vec(0usize..9, 0..4)), 1..30)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(batched_and_one_by_one(ops));
    }
}
