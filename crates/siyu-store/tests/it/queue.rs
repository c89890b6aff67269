use chrono::Duration;
use serde_json::json;
use siyu_domain::id::JobId;
use siyu_domain::job::{Job, JobStatus};
use siyu_store::Store;

use crate::{now, tenant};

fn job() -> Job {
    Job {
        id: JobId::new(),
        kind: "bulk_tag".into(),
        status: JobStatus::Queued,
        payload: json!({"n": 1}),
        progress_done: 0,
        progress_total: 0,
        result: None,
        error: None,
        attempts: 0,
        created_by: None,
        created_at: now() - Duration::seconds(1),
        finished_at: None,
    }
}

async fn a_job_is_claimed_by_one_worker_and_reclaimed_when_its_lease_runs_out(store: Store) {
    let t = tenant(&store).await;
    let j = job();
    store.jobs().enqueue(t, &j).await.unwrap();
    let n = now();
    let (tenant_id, claimed) = store.jobs().claim(n, n + Duration::seconds(30)).await.unwrap().unwrap();
    assert_eq!((tenant_id, claimed.id, claimed.status, claimed.attempts), (t, j.id, JobStatus::Running, 1));
    assert!(
        store.jobs().claim(n, n + Duration::seconds(30)).await.unwrap().is_none(),
        "a leased job is not handed out twice"
    );
    let later = n + Duration::seconds(31);
    let (_, again) = store.jobs().claim(later, later + Duration::seconds(30)).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (j.id, 2));
    store.jobs().finish(t, j.id, Ok(&json!({"tagged": 3})), later).await.unwrap();
    let done = store.jobs().get(t, j.id).await.unwrap();
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(done.result, Some(json!({"tagged": 3})));
    assert!(store.jobs().claim(later + Duration::hours(1), later + Duration::hours(2)).await.unwrap().is_none());
}

async fn concurrent_claims_never_share_a_job(store: Store) {
    let t = tenant(&store).await;
    for _ in 0..20 {
        store.jobs().enqueue(t, &job()).await.unwrap();
    }
    let n = now();
    let mut handles = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some((_, j)) = store.jobs().claim(n, n + Duration::minutes(1)).await.unwrap() {
                got.push(j.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!((total, all.len()), (20, 20));
}

crate::conformance!(
    a_job_is_claimed_by_one_worker_and_reclaimed_when_its_lease_runs_out,
    concurrent_claims_never_share_a_job,
);
