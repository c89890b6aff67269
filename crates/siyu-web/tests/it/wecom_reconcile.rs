//! The periodic reconciliation: a day after a corp's last full sync the worker syncs it again, and a
//! relation WeCom no longer has (its callback was lost) is ended, on the customer's timeline as such; a
//! relation made minutes ago is left alone.

use std::sync::Arc;

use chrono::Duration;
use siyu_app::clock::ManualClock;
use siyu_wecom::fake::{CustomerSetup, FakeConfig};

use crate::helpers::{daytime, fresh_db, spawn_with_clock};
use crate::wecom_callbacks::{CORP, connect, customer_of, settle, start_fake, sync};

#[tokio::test]
async fn a_relation_whose_callback_was_lost_is_ended_by_the_next_days_reconciliation() {
    let clock = ManualClock::new(daytime());
    let fake = start_fake(FakeConfig { start_time: daytime().timestamp(), ..FakeConfig::default() }).await;
    let t = spawn_with_clock(Arc::new(fresh_db().await), Arc::new(clock.clone())).await;
    let (f, corp) = connect(&t, &fake).await;
    let wm = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    fake.customer_adds_staff(CORP, &wm, "zhangsan", None).await.unwrap();
    fake.customer_adds_staff(CORP, &wm, "lisi", None).await.unwrap();
    let job = sync(&t, &f, &corp).await;
    assert_eq!(job["result"]["ended"], 0, "{job}");
    settle(&t).await;
    let customer = customer_of(&t, &f, &wm).await.unwrap();
    assert_eq!(t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap().len(), 2);

    // The customer deletes zhangsan; the callback never arrives.
    fake.set_callback_url(CORP, None).unwrap();
    fake.customer_deletes_staff(CORP, &wm, "zhangsan").await.unwrap();

    // A sync right away leaves the relation alone: it is too young to tell from one made after WeCom's list.
    let job = sync(&t, &f, &corp).await;
    assert_eq!(job["result"]["ended"], 0, "{job}");
    assert_eq!(t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap().len(), 2);

    // Not due within the day; due after it, once.
    assert_eq!(t.app.schedule_wecom_reconciliation().await.unwrap(), 0);
    clock.advance(Duration::hours(25));
    assert_eq!(t.app.schedule_wecom_reconciliation().await.unwrap(), 1);
    assert_eq!(t.app.schedule_wecom_reconciliation().await.unwrap(), 0, "already queued");
    t.app.run_due_work().await.unwrap();

    let follows = t.app.store.follows().of_customer(f.tenant.id, customer).await.unwrap();
    assert_eq!(follows.len(), 1);
    let jobs = t.app.store.jobs().recent(f.tenant.id, 5).await.unwrap();
    let latest = jobs.iter().filter(|j| j.kind == "wecom_sync").max_by_key(|j| j.created_at).unwrap();
    assert_eq!(latest.result.as_ref().unwrap()["ended"], 1, "{latest:?}");
    let (_, timeline) = t.api("GET", &format!("/api/v1/customers/{}/timeline", customer.0), &f.token, None).await;
    let removed = timeline["items"].as_array().unwrap().iter().find(|e| e["kind"] == "follow_removed").unwrap();
    assert_eq!(removed["payload"]["removed_by"], "reconcile");
    assert_eq!(removed["payload"]["userid"], "zhangsan");
    assert_eq!(t.app.schedule_wecom_reconciliation().await.unwrap(), 0, "synced just now");
}
