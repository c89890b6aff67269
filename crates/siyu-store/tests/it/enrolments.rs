//! Journey enrolments racing each other: several transactions enrolling the same customer in the same
//! journey at once (PostgreSQL workers) never fail on the run's unique keys; every order gets its run and no
//! order gets two (reference/journeys.md §10, failure 1).

use std::collections::BTreeSet;

use serde_json::json;
use siyu_domain::customer::{Customer, Gender};
use siyu_domain::id::{CustomerId, JourneyId};
use siyu_domain::journey::{JourneyGraph, Reentry};
use siyu_store::Store;
use siyu_store::journeys::Entry;

use crate::{now, tenant};

async fn a_journey_and_a_customer(store: &Store) -> (siyu_domain::id::TenantId, JourneyId, CustomerId) {
    let t = tenant(store).await;
    let at = now();
    let c = Customer {
        id: CustomerId::new(),
        name: "王小美".into(),
        gender: Gender::Female,
        avatar_url: None,
        remark: None,
        source: "test".into(),
        custom: json!({}).as_object().unwrap().clone(),
        created_at: at,
        updated_at: at,
        last_active_at: None,
    };
    store.customers().insert(t, &c).await.unwrap();
    let j = JourneyId::new();
    let graph = JourneyGraph { nodes: Vec::new(), exit_on: Vec::new(), reentry: Reentry::Never, goal: None };
    store.journeys().create(t, j, "下单关怀", &graph, None, at).await.unwrap();
    (t, j, c.id)
}

async fn concurrent_enrolments_of_one_customer_give_each_order_one_run_and_never_fail(store: Store) {
    let (t, j, customer) = a_journey_and_a_customer(&store).await;
    let at = now();
    // Twelve orders, each enrolled three times at once (a retried event, two workers).
    let keys: Vec<String> = (0..12).map(|i| format!("order-{i}")).collect();
    let attempts = keys.iter().flat_map(|k| [k, k, k]).map(|key| {
        let store = store.clone();
        let key = key.clone();
        async move {
            let entry =
                Entry { journey: j, version: 1, customer, start: "trigger", reentry: Reentry::Never, key: Some(&key) };
            store.journeys().enrol(t, &entry, at).await
        }
    });
    let results = futures::future::join_all(attempts.map(tokio::spawn)).await;
    let mut started = 0;
    for r in results {
        if r.unwrap().unwrap().is_some() {
            started += 1;
        }
    }
    assert_eq!(started, keys.len(), "one run per order");
    let runs = store.journeys().runs_of(t, j, customer).await.unwrap();
    let seqs: BTreeSet<i64> = runs.iter().map(|r| r.entry_seq).collect();
    let orders: BTreeSet<String> = runs.iter().filter_map(|r| r.entry_key.clone()).collect();
    assert_eq!((runs.len(), seqs.len(), orders.len()), (keys.len(), keys.len(), keys.len()), "{runs:?}");
}

crate::conformance!(concurrent_enrolments_of_one_customer_give_each_order_one_run_and_never_fail);
