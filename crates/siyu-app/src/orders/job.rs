//! The order import as a background job (`import_orders`), so it runs on whichever worker claims it and
//! its progress and report are in the database for every node to show.
//!
//! The payload holds the upload and the options, plus a checkpoint: the next order to import (in the
//! order the normaliser returns them, which is the same on every run of the same file) and the report so
//! far. After every batch of [`ORDER_BATCH`] orders the worker saves the checkpoint and reports progress
//! in orders (which also extends its lease). A job re-claimed after a crash resumes at the checkpoint;
//! batches written between the checkpoint and the crash come back `unchanged`, since re-imports change
//! nothing. When all orders are in, the final checkpoint is saved first and the upload deleted after.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{JobId, TenantId, UploadId};
use siyu_domain::job::{Job, JobStatus};

use super::import::Importer;
use super::{ORDER_BATCH, OrderImportOptions, OrderImportProgress, OrderImportReport};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The job kind.
pub const ORDER_IMPORT_JOB: &str = "import_orders";

/// The payload of an `import_orders` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderImportJob {
    upload: UploadId,
    file_name: String,
    #[serde(default)]
    options: OrderImportOptions,
    /// Orders before this index are imported (checkpoint).
    #[serde(default)]
    next_order: usize,
    /// The file was read: `report` holds its row errors and counts.
    #[serde(default)]
    started: bool,
    /// All orders are imported: `report` is final.
    #[serde(default)]
    finished: bool,
    #[serde(default)]
    report: OrderImportReport,
}

fn parse_payload(job: &Job) -> AppResult<OrderImportJob> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| AppError::internal(anyhow::anyhow!("order import job: {e}")))
}

/// An order import job as the console shows it.
#[derive(Debug, Clone)]
pub struct OrderImportJobStatus {
    pub job: Job,
    pub file_name: String,
    /// What the import was asked to do (platform, shop, appid, prospects).
    pub options: OrderImportOptions,
    /// Counts at the last checkpoint.
    pub progress: OrderImportProgress,
    /// The report, once the job is done.
    pub report: Option<OrderImportReport>,
}

/// A job's progress at its last checkpoint and, once it is done, its report.
fn import_status(job: Job) -> AppResult<OrderImportJobStatus> {
    let payload = parse_payload(&job)?;
    let report = match (&job.status, &job.result) {
        (JobStatus::Done, Some(v)) => Some(serde_json::from_value(v.clone()).map_err(AppError::internal)?),
        _ => None,
    };
    let progress = payload.report.progress();
    Ok(OrderImportJobStatus { file_name: payload.file_name, options: payload.options, progress, report, job })
}

impl App {
    /// Queues the order import of the actor's upload; a worker runs it (see [`App::order_import_job`]).
    /// The file is read now, so an unreadable file or an unknown format is refused here. Queuing an upload
    /// whose import is queued, running or done returns that job instead of a second one.
    pub async fn queue_order_import(
        &self,
        actor: &Actor,
        upload: UploadId,
        options: &OrderImportOptions,
    ) -> AppResult<Job> {
        actor.require(Permission::CustomersImport)?;
        let file = self.upload_table(actor, upload).await?;
        for job in self.store.jobs().recent(actor.tenant, 50).await? {
            if job.kind == ORDER_IMPORT_JOB
                && job.status != JobStatus::Failed
                && job.created_by == Some(actor.user)
                && parse_payload(&job).is_ok_and(|p| p.upload == upload)
            {
                return Ok(job);
            }
        }
        let normalised = self.normalise_orders(file.table, options).await?;
        let total = normalised.orders.len();
        let payload = OrderImportJob {
            upload,
            file_name: file.file_name,
            options: options.clone(),
            next_order: 0,
            started: false,
            finished: false,
            report: OrderImportReport { platform: Some(normalised.platform), orders: total, ..Default::default() },
        };
        let payload = serde_json::to_value(&payload).map_err(AppError::internal)?;
        let job = Job::queued(ORDER_IMPORT_JOB, payload, total as i64, actor.user, self.now());
        self.store.jobs().enqueue(actor.tenant, &job).await?;
        Ok(job)
    }

    /// An order import job of the actor (or any, for those who manage users), with its progress and report.
    pub async fn order_import_job(&self, actor: &Actor, id: JobId) -> AppResult<OrderImportJobStatus> {
        let job = self.job(actor, id).await?;
        if job.kind != ORDER_IMPORT_JOB {
            return Err(AppError::NotFound);
        }
        import_status(job)
    }

    /// The recent order imports of the actor (everyone's, for those who manage users), newest first.
    pub async fn recent_order_imports(&self, actor: &Actor) -> AppResult<Vec<OrderImportJobStatus>> {
        let jobs = self.recent_jobs(actor).await?;
        let imports = jobs.into_iter().filter(|j| j.kind == ORDER_IMPORT_JOB);
        Ok(imports
            .filter_map(|job| {
                let id = job.id;
                import_status(job)
                    .map_err(|e| tracing::warn!(job = %id, error = ?e, "order import job unreadable"))
                    .ok()
            })
            .collect())
    }

    /// The worker's side of an `import_orders` job: imports from the checkpoint on, returns the report.
    pub(crate) async fn run_order_import_job(&self, tenant: TenantId, job: &Job) -> AppResult<serde_json::Value> {
        let mut state = parse_payload(job)?;
        let actor = self.job_actor(tenant, job.created_by).await?;
        if !state.finished {
            let (file_name, bytes) = match self.upload_bytes(&actor, state.upload, true).await {
                Err(AppError::NotFound) => return Err(AppError::invalid("upload", "gone (uploads are kept 24 hours)")),
                other => other?,
            };
            let table = self.read_import_file(file_name, bytes).await?;
            self.import_orders_from_checkpoint(&actor, job.id, table, &mut state).await?;
        }
        self.store.uploads().delete(tenant, state.upload).await?;
        serde_json::to_value(&state.report).map_err(AppError::internal)
    }

    async fn import_orders_from_checkpoint(
        &self,
        actor: &Actor,
        job: JobId,
        table: crate::transfer::Table,
        state: &mut OrderImportJob,
    ) -> AppResult<()> {
        let normalised = self.normalise_orders(table, &state.options).await?;
        if !state.started {
            state.report = OrderImportReport::start(&normalised, state.options.max_errors);
            state.started = true;
        }
        let importer = Importer::new(self, actor, &state.options, job).await?;
        let orders = &normalised.orders;
        let mut start = state.next_order.min(orders.len());
        loop {
            let end = (start + ORDER_BATCH).min(orders.len());
            importer.batch(orders.get(start..end).unwrap_or_default(), &mut state.report).await?;
            state.next_order = end;
            state.finished = end >= orders.len();
            if state.finished {
                self.orders_imported(actor, &state.report).await;
            }
            self.order_checkpoint(actor, job, state).await?;
            if state.finished {
                return Ok(());
            }
            start = end;
        }
    }

    /// Saves the checkpoint, reports progress in orders and extends the lease.
    async fn order_checkpoint(&self, actor: &Actor, job: JobId, state: &OrderImportJob) -> AppResult<()> {
        let payload = serde_json::to_value(state).map_err(AppError::internal)?;
        self.store.jobs().checkpoint(actor.tenant, job, &payload).await?;
        let lease = self.now() + Duration::seconds(self.settings.worker.lease_secs);
        let (done, total) = (state.report.done() as i64, state.report.orders as i64);
        self.store.jobs().progress(actor.tenant, job, done, total, lease).await?;
        Ok(())
    }
}
