//! Console imports run as jobs on a shared database: the file is an upload in the database, any node's
//! worker runs the import, its progress and report land in the job, and only the uploader sees the file.

use std::sync::Arc;

use serde_json::json;
use siyu_app::actor::Via;
use siyu_app::transfer::{CHECKPOINT_ROWS, ColumnMapping, ImportReport};
use siyu_app::{Actor, App, ErrorCode, Settings};
use siyu_domain::access::{DataScope, Role};
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::UploadId;
use siyu_domain::job::JobStatus;
use siyu_store::{ConnectOptions, Store, StoreError};

use crate::Ctx;

crate::on_both_backends!(
    an_import_queued_on_one_node_is_run_by_a_worker_on_another_and_its_upload_is_removed,
    no_one_but_the_uploader_can_read_or_import_an_upload,
    a_re_claimed_import_resumes_at_its_checkpoint_without_duplicates,
);

/// A second node: its own pool on the same database.
async fn other_node(ctx: &Ctx) -> App {
    let store = Store::connect(&ConnectOptions::new(&ctx._db.url)).await.unwrap();
    App::new(store, Settings::defaults().unwrap(), Arc::new(siyu_app::clock::SystemClock)).unwrap()
}

/// `rows` customers with distinct phone numbers, then one row without a name or an identity.
fn file(rows: usize) -> String {
    let mut csv = String::from("姓名,手机号,标签\n");
    for i in 0..rows {
        csv.push_str(&format!("客户{i},1391234{i:04},导入批次\n"));
    }
    csv.push_str(",,无名\n");
    csv
}

async fn mapping(app: &App, actor: &Actor, id: UploadId) -> ColumnMapping {
    let upload = app.upload_table(actor, id).await.unwrap();
    ColumnMapping::suggest(&upload.table.headers, &app.fields(actor).await.unwrap())
}

async fn count(app: &App, actor: &Actor) -> i64 {
    app.count_customers(actor, &CustomerFilter::default()).await.unwrap()
}

async fn an_import_queued_on_one_node_is_run_by_a_worker_on_another_and_its_upload_is_removed(ctx: Ctx) {
    let (web, owner) = (&ctx.app, &ctx.owner);
    let worker = other_node(&ctx).await;
    let rows = CHECKPOINT_ROWS * 2 + 50;
    let upload = web.store_upload(owner, "客户.csv", file(rows).as_bytes()).await.unwrap();
    let job = web.queue_import(owner, upload, &mapping(web, owner, upload).await).await.unwrap();
    assert_eq!((job.status, job.progress_total), (JobStatus::Queued, rows as i64 + 1));
    let again = web.queue_import(owner, upload, &mapping(web, owner, upload).await).await.unwrap();
    assert_eq!(again.id, job.id, "queuing the same upload twice imports it once");
    let queued = web.import_job(owner, job.id).await.unwrap();
    assert_eq!((queued.file_name.as_str(), queued.progress.done, queued.report), ("客户.csv", 0, None));

    assert_eq!(worker.run_due_work().await.unwrap(), 1);

    let done = web.import_job(owner, job.id).await.unwrap();
    assert_eq!(done.job.status, JobStatus::Done, "{:?}", done.job.error);
    assert_eq!((done.job.percent(), done.job.progress_done), (100, rows as i64 + 1));
    assert_eq!((done.progress.done, done.progress.created, done.progress.skipped), (rows + 1, rows, 1));
    let report = done.report.unwrap();
    assert_eq!((report.total_rows, report.created, report.skipped), (rows + 1, rows, 1));
    assert_eq!(report.new_tags, vec!["导入标签:导入批次".to_string()]);
    let errors: Vec<(u32, &str)> = report.errors.iter().map(|e| (e.row, e.code.as_str())).collect();
    assert_eq!(errors, vec![(rows as u32 + 2, "invalid_input")]);
    assert_eq!(serde_json::from_value::<ImportReport>(done.job.result.unwrap()).unwrap(), report);
    assert_eq!(count(web, owner).await, rows as i64);

    let gone = web.upload_table(owner, upload).await.unwrap_err();
    assert_eq!(gone.code(), ErrorCode::NotFound);
    assert!(matches!(web.store.uploads().get(owner.tenant, upload).await, Err(StoreError::NotFound)));
    assert_eq!(worker.run_due_work().await.unwrap(), 0, "nothing is left to run");
}

async fn no_one_but_the_uploader_can_read_or_import_an_upload(ctx: Ctx) {
    let (app, owner) = (&ctx.app, &ctx.owner);
    let upload = app.store_upload(owner, "客户.csv", file(3).as_bytes()).await.unwrap();
    let m = mapping(app, owner, upload).await;
    let operator = ctx.member("operator", Role::Operator, DataScope::All).await;
    let admin = ctx.member("admin", Role::Admin, DataScope::All).await;
    let brand = app.create_tenant("别的品牌").await.unwrap();
    let account = app.create_account("stranger", "外人", "correct horse battery", false).await.unwrap();
    let member = app.add_membership(brand.id, &account, Role::Owner, None, None).await.unwrap();
    let stranger = Actor::for_member(&app.store, &member, Via::System).await.unwrap();
    for other in [&operator, &admin, &stranger] {
        assert_eq!(app.upload_table(other, upload).await.unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(app.queue_import(other, upload, &m).await.unwrap_err().code(), ErrorCode::NotFound);
    }
    let staff = ctx.member("staff", Role::Staff, DataScope::SelfOnly).await;
    let refused = app.store_upload(&staff, "客户.csv", b"x").await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Forbidden, "uploading needs the import permission");

    let job = app.queue_import(owner, upload, &m).await.unwrap();
    assert_eq!(app.import_job(&operator, job.id).await.unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(app.import_job(&stranger, job.id).await.unwrap_err().code(), ErrorCode::NotFound);
    assert!(app.import_job(&admin, job.id).await.is_ok(), "those who manage users see every job");
    let big = vec![b'a'; app.settings.server.max_upload_bytes + 1];
    assert_eq!(app.store_upload(owner, "big.csv", &big).await.unwrap_err().code(), ErrorCode::PayloadTooLarge);
}

async fn a_re_claimed_import_resumes_at_its_checkpoint_without_duplicates(ctx: Ctx) {
    let (web, owner) = (&ctx.app, &ctx.owner);
    let rows = CHECKPOINT_ROWS * 3;
    let text = file(rows);
    let upload = web.store_upload(owner, "客户.csv", text.as_bytes()).await.unwrap();
    let m = mapping(web, owner, upload).await;
    let job = web.queue_import(owner, upload, &m).await.unwrap();

    // A worker claims the job, imports rows up to the first checkpoint and 50 more, then dies.
    let now = web.now();
    let (_, claimed) = web.store.jobs().claim(now, now).await.unwrap().unwrap();
    assert_eq!(claimed.id, job.id);
    let applied: String = text.lines().take(1 + CHECKPOINT_ROWS + 50).map(|l| format!("{l}\n")).collect();
    let table = siyu_app::transfer::Table::read("part.csv", applied.as_bytes()).unwrap();
    web.import_customers(owner, &table, &m, &mut |_| {}).await.unwrap();
    let mut payload = claimed.payload.clone();
    payload["next_row"] = json!(CHECKPOINT_ROWS);
    payload["report"]["created"] = json!(CHECKPOINT_ROWS);
    web.store.jobs().checkpoint(owner.tenant, job.id, &payload).await.unwrap();
    assert_eq!(count(web, owner).await, CHECKPOINT_ROWS as i64 + 50);

    // Its lease has run out: another node's worker takes the job over from the checkpoint.
    let worker = other_node(&ctx).await;
    assert_eq!(worker.run_due_work().await.unwrap(), 1);
    let done = web.import_job(owner, job.id).await.unwrap();
    assert_eq!((done.job.status, done.job.attempts), (JobStatus::Done, 2));
    let report = done.report.unwrap();
    let created = rows - 50;
    assert_eq!((report.created, report.unchanged, report.skipped), (created, 50, 1), "{report:?}");
    assert_eq!(count(web, owner).await, rows as i64, "no customer was imported twice");
}
