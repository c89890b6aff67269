//! The customer import as a background job (`import_customers`), so it runs on whichever worker claims it
//! and its progress and report are in the database for every node to show.
//!
//! The payload holds the upload, the mapping and the options, plus a checkpoint: the next row to import and
//! the report so far. Every [`CHECKPOINT_ROWS`] rows the worker saves the checkpoint and reports progress
//! (which also extends its lease). A job re-claimed after a crash resumes at the checkpoint; rows between
//! the checkpoint and the crash run again, which the import's row policy makes harmless for rows with an
//! identity (they come back `unchanged`; only a row without any identity would be created twice). When all
//! rows are in, the final checkpoint is saved first and the upload deleted after, so a crash in between
//! still ends with the same report.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{JobId, TenantId, UploadId};
use siyu_domain::job::{Job, JobStatus};

use super::import::Pass;
use super::mapping::ColumnMapping;
use super::table::Table;
use super::{ImportProgress, ImportReport};
use crate::actor::Via;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The job kind.
pub const IMPORT_JOB: &str = "import_customers";
/// Rows imported between two checkpoints.
pub const CHECKPOINT_ROWS: usize = 200;
/// Row errors an import job keeps in its report by default (the rest are counted in `errors_omitted`).
pub const MAX_JOB_ERRORS: usize = 10_000;

/// How an import job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Row errors kept in the report.
    #[serde(default = "default_max_errors")]
    pub max_errors: usize,
}

fn default_max_errors() -> usize {
    MAX_JOB_ERRORS
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { max_errors: MAX_JOB_ERRORS }
    }
}

/// The payload of an `import_customers` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImportJob {
    upload: UploadId,
    file_name: String,
    mapping: ColumnMapping,
    #[serde(default)]
    options: ImportOptions,
    /// Rows before this index are imported (checkpoint).
    #[serde(default)]
    next_row: usize,
    /// All rows are imported: `report` is final.
    #[serde(default)]
    finished: bool,
    /// The report so far.
    #[serde(default)]
    report: ImportReport,
}

fn parse_payload(job: &Job) -> AppResult<ImportJob> {
    serde_json::from_value(job.payload.clone()).map_err(|e| AppError::internal(anyhow::anyhow!("import job: {e}")))
}

/// An import job as the console shows it.
#[derive(Debug, Clone)]
pub struct ImportJobStatus {
    pub job: Job,
    pub file_name: String,
    /// Counts at the last checkpoint.
    pub progress: ImportProgress,
    /// The report, once the job is done.
    pub report: Option<ImportReport>,
}

impl App {
    /// Queues the import of the actor's upload with `mapping`; a worker runs it (see [`App::import_job`]).
    /// Queuing an upload whose import is queued, running or done returns that job instead of a second one.
    pub async fn queue_import(&self, actor: &Actor, upload: UploadId, mapping: &ColumnMapping) -> AppResult<Job> {
        actor.require(Permission::CustomersImport)?;
        let file = self.upload_table(actor, upload).await?;
        let fields = self.store.fields().list(actor.tenant).await?;
        mapping.validate(file.table.width(), &fields)?;
        for job in self.store.jobs().recent(actor.tenant, 50).await? {
            if job.kind == IMPORT_JOB
                && job.status != JobStatus::Failed
                && job.created_by == Some(actor.user)
                && parse_payload(&job).is_ok_and(|p| p.upload == upload)
            {
                return Ok(job);
            }
        }
        let total = file.table.rows.len();
        let payload = ImportJob {
            upload,
            file_name: file.file_name,
            mapping: mapping.clone(),
            options: ImportOptions::default(),
            next_row: 0,
            finished: false,
            report: ImportReport { total_rows: total, ..Default::default() },
        };
        let payload = serde_json::to_value(&payload).map_err(AppError::internal)?;
        let job = Job::queued(IMPORT_JOB, payload, total as i64, actor.user, self.now());
        self.store.jobs().enqueue(actor.tenant, &job).await?;
        Ok(job)
    }

    /// An import job of the actor (or any, for those who manage users), with its progress and report.
    pub async fn import_job(&self, actor: &Actor, id: JobId) -> AppResult<ImportJobStatus> {
        let job = self.job(actor, id).await?;
        if job.kind != IMPORT_JOB {
            return Err(AppError::NotFound);
        }
        let payload = parse_payload(&job)?;
        let r = &payload.report;
        let progress = ImportProgress {
            done: payload.next_row,
            total: r.total_rows,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            skipped: r.skipped,
        };
        let report = match (&job.status, &job.result) {
            (JobStatus::Done, Some(v)) => Some(serde_json::from_value(v.clone()).map_err(AppError::internal)?),
            _ => None,
        };
        Ok(ImportJobStatus { file_name: payload.file_name, progress, report, job })
    }

    /// The worker's side of an `import_customers` job: imports from the checkpoint on, returns the report.
    pub(crate) async fn run_import_job(&self, tenant: TenantId, job: &Job) -> AppResult<serde_json::Value> {
        let mut state = parse_payload(job)?;
        let user = job.created_by.ok_or_else(|| AppError::internal(anyhow::anyhow!("job has no creator")))?;
        let member = self.store.members().get(tenant, user).await?;
        let actor = Actor::for_member(&self.store, &member, Via::System).await?;
        if !state.finished {
            let (file_name, bytes) = match self.upload_bytes(&actor, state.upload, true).await {
                Err(AppError::NotFound) => return Err(AppError::invalid("upload", "gone (uploads are kept 24 hours)")),
                other => other?,
            };
            let table = self.read_import_file(file_name, bytes).await?;
            self.import_from_checkpoint(&actor, job.id, &table, &mut state).await?;
        }
        self.store.uploads().delete(tenant, state.upload).await?;
        serde_json::to_value(&state.report).map_err(AppError::internal)
    }

    async fn import_from_checkpoint(
        &self,
        actor: &Actor,
        job: JobId,
        table: &Table,
        state: &mut ImportJob,
    ) -> AppResult<()> {
        let total = table.rows.len();
        let mut pass = Pass::new(self, actor, table, &state.mapping, false).await?;
        state.report.total_rows = total;
        pass.errors = std::mem::take(&mut state.report.errors);
        pass.errors_omitted = state.report.errors_omitted;
        let mut start = state.next_row.min(total);
        loop {
            let end = (start + CHECKPOINT_ROWS).min(total);
            let rows = table.rows.get(start..end).unwrap_or_default();
            let (parsed, existing) = pass.load_chunk(rows).await?;
            for parsed in parsed {
                let outcome = pass.import_row(parsed, &existing).await;
                state.report.count(outcome, &mut pass);
            }
            let max = state.options.max_errors;
            if pass.errors.len() > max {
                pass.errors_omitted += pass.errors.len() - max;
                pass.errors.truncate(max);
            }
            state.report.new_tags.append(&mut pass.catalog.created);
            state.next_row = end;
            state.finished = end >= total;
            if state.finished {
                state.report.errors = std::mem::take(&mut pass.errors);
                state.report.errors_omitted = pass.errors_omitted;
                self.imported(actor, table, &state.report).await;
                return self.checkpoint(actor, job, state).await;
            }
            // The errors so far go into the checkpoint and come back for the next rows.
            state.report.errors = std::mem::take(&mut pass.errors);
            state.report.errors_omitted = pass.errors_omitted;
            self.checkpoint(actor, job, state).await?;
            pass.errors = std::mem::take(&mut state.report.errors);
            start = end;
        }
    }

    /// Saves the checkpoint, reports progress and extends the lease.
    async fn checkpoint(&self, actor: &Actor, job: JobId, state: &ImportJob) -> AppResult<()> {
        let payload = serde_json::to_value(state).map_err(AppError::internal)?;
        self.store.jobs().checkpoint(actor.tenant, job, &payload).await?;
        let lease = self.now() + Duration::seconds(self.settings.worker.lease_secs);
        let total = state.report.total_rows as i64;
        self.store.jobs().progress(actor.tenant, job, state.next_row as i64, total, lease).await?;
        Ok(())
    }
}
