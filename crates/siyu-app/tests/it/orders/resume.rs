//! An order import job interrupted by a crash resumes at its last checkpoint on another worker.

use std::sync::Arc;

use serde_json::json;
use siyu_app::orders::{ORDER_BATCH, OrderImportReport};
use siyu_app::transfer::Table;
use siyu_app::{App, Settings};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::job::JobStatus;
use siyu_store::{ConnectOptions, Store};

use super::{YOUZAN_HEADER, prospects, youzan};
use crate::Ctx;

crate::on_both_backends!(a_re_claimed_order_import_resumes_at_its_checkpoint_without_duplicates);

/// `n` Youzan orders, each from its own buyer (a full mobile), one row each.
fn file(n: usize) -> String {
    let rows: String = (0..n).map(|i| youzan(&format!("E{i:06}"), "待发货", &format!("1391234{i:04}"), "")).collect();
    format!("{YOUZAN_HEADER}{rows}")
}

async fn a_re_claimed_order_import_resumes_at_its_checkpoint_without_duplicates(ctx: Ctx) {
    let (web, owner) = (&ctx.app, &ctx.owner);
    let n = ORDER_BATCH * 2 + 50;
    let text = file(n);
    let upload = web.store_upload(owner, "有赞订单.csv", text.as_bytes()).await.unwrap();
    let job = web.queue_order_import(owner, upload, &prospects()).await.unwrap();
    assert_eq!((job.status, job.progress_total), (JobStatus::Queued, n as i64));

    // A worker claims the job, writes its first batch and checkpoints, writes 50 more orders, then dies.
    let now = web.now();
    let (_, claimed) = web.store.jobs().claim(now, now).await.unwrap().unwrap();
    assert_eq!(claimed.id, job.id);
    let applied: String = text.lines().take(1 + ORDER_BATCH + 50).map(|l| format!("{l}\n")).collect();
    let table = Table::read("part.csv", applied.as_bytes()).unwrap();
    web.import_orders(owner, table, &prospects(), &mut |_| {}).await.unwrap();
    let at_checkpoint = OrderImportReport {
        platform: Some(siyu_domain::order::Platform::Youzan),
        rows: n,
        orders: n,
        lines: n,
        new: ORDER_BATCH,
        matched: ORDER_BATCH,
        prospects: ORDER_BATCH,
        ..Default::default()
    };
    let mut payload = claimed.payload.clone();
    payload["next_order"] = json!(ORDER_BATCH);
    payload["started"] = json!(true);
    payload["report"] = serde_json::to_value(&at_checkpoint).unwrap();
    web.store.jobs().checkpoint(owner.tenant, job.id, &payload).await.unwrap();
    assert_eq!(web.count_orders(owner, None).await.unwrap(), (ORDER_BATCH + 50) as i64);

    // Its lease has run out: another node's worker takes the job over from the checkpoint.
    let store = Store::connect(&ConnectOptions::new(&ctx._db.url)).await.unwrap();
    let worker = App::new(store, Settings::defaults().unwrap(), Arc::new(siyu_app::clock::SystemClock)).unwrap();
    assert_eq!(worker.run_due_work().await.unwrap(), 1);
    let done = web.order_import_job(owner, job.id).await.unwrap();
    assert_eq!((done.job.status, done.job.attempts), (JobStatus::Done, 2), "{:?}", done.job.error);
    assert_eq!((done.job.progress_done, done.job.progress_total), (n as i64, n as i64));
    let r = done.report.unwrap();
    let rest = n - ORDER_BATCH - 50;
    assert_eq!((r.new, r.unchanged, r.matched, r.unmatched), (ORDER_BATCH + rest, 50, n, 0), "{r:?}");
    assert_eq!(r.prospects, ORDER_BATCH + rest, "the 50 written before the crash were counted by the dead worker");
    assert_eq!(web.count_orders(owner, None).await.unwrap(), n as i64, "no order was imported twice");
    let customers = web.count_customers(owner, &CustomerFilter::default()).await.unwrap();
    assert_eq!(customers, n as i64, "no buyer became two prospects");
}
