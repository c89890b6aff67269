//! The job queue. Workers on any node claim due jobs: PostgreSQL with `FOR UPDATE SKIP LOCKED`, SQLite
//! under its single-writer lock. A claimed job holds a lease; if its worker dies the lease runs out and
//! another worker picks it up again.

use chrono::{DateTime, Utc};
use siyu_domain::id::{JobId, TenantId, UserId};
use siyu_domain::job::{Job, JobStatus};
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::OptionExt;
use crate::{Backend, Store, StoreError, exec, on_pool};

pub struct Jobs<'a>(pub(crate) &'a Store);

#[derive(sqlx::FromRow)]
struct JobRow {
    tenant_id: Uuid,
    id: Uuid,
    kind: String,
    status: String,
    payload: Json<serde_json::Value>,
    progress_done: i64,
    progress_total: i64,
    result: Option<Json<serde_json::Value>>,
    error: Option<String>,
    attempts: i64,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<JobRow> for (TenantId, Job) {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        let job = Job {
            id: JobId(r.id),
            kind: r.kind,
            status: JobStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("job status {}", r.status)))?,
            payload: r.payload.0,
            progress_done: r.progress_done,
            progress_total: r.progress_total,
            result: r.result.map(|j| j.0),
            error: r.error,
            attempts: r.attempts,
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            finished_at: r.finished_at,
        };
        Ok((TenantId(r.tenant_id), job))
    }
}

const COLUMNS: &str = "tenant_id, id, kind, status, payload, progress_done, progress_total, result, error, attempts, \
     created_by, created_at, finished_at";

const CLAIM_SQLITE: &str = "UPDATE jobs SET status = 'running', locked_until = $2, attempts = attempts + 1 \
     WHERE (tenant_id, id) = (SELECT tenant_id, id FROM jobs \
       WHERE (status = 'queued' AND run_after <= $1) OR (status = 'running' AND locked_until < $1) \
       ORDER BY run_after LIMIT 1) \
     RETURNING tenant_id, id, kind, status, payload, progress_done, progress_total, result, error, attempts, \
       created_by, created_at, finished_at";

const CLAIM_POSTGRES: &str = "UPDATE jobs SET status = 'running', locked_until = $2, attempts = attempts + 1 \
     WHERE (tenant_id, id) = (SELECT tenant_id, id FROM jobs \
       WHERE (status = 'queued' AND run_after <= $1) OR (status = 'running' AND locked_until < $1) \
       ORDER BY run_after LIMIT 1 FOR UPDATE SKIP LOCKED) \
     RETURNING tenant_id, id, kind, status, payload, progress_done, progress_total, result, error, attempts, \
       created_by, created_at, finished_at";

impl Store {
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs(self)
    }
}

impl Jobs<'_> {
    pub async fn enqueue(&self, tenant: TenantId, j: &Job) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO jobs (tenant_id, id, kind, status, payload, progress_done, progress_total, created_by, created_at, run_after) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)")
            .bind(tenant.0).bind(j.id.0).bind(&j.kind).bind(j.status.as_str()).bind(Json(&j.payload))
            .bind(j.progress_done).bind(j.progress_total).bind(j.created_by.map(|u| u.0)).bind(j.created_at)
            .execute(p).await)?;
        Ok(())
    }

    /// Claims the oldest due job (or one whose lease expired) until `lease_until`.
    pub async fn claim(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<(TenantId, Job)>, StoreError> {
        let row: Option<JobRow> = match &self.0.backend {
            Backend::Sqlite(p) => sqlx::query_as(CLAIM_SQLITE).bind(now).bind(lease_until).fetch_optional(p).await?,
            Backend::Postgres(p) => {
                sqlx::query_as(CLAIM_POSTGRES).bind(now).bind(lease_until).fetch_optional(p).await?
            }
        };
        row.map(TryInto::try_into).transpose()
    }

    pub async fn progress(
        &self,
        tenant: TenantId,
        id: JobId,
        done: i64,
        total: i64,
        lease_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE jobs SET progress_done = $3, progress_total = $4, locked_until = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(done).bind(total).bind(lease_until).execute(p).await)?;
        Ok(())
    }

    /// Saves a checkpoint in the payload so a re-claimed job resumes where it stopped.
    pub async fn checkpoint(&self, tenant: TenantId, id: JobId, payload: &serde_json::Value) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("UPDATE jobs SET payload = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(Json(payload)).execute(p).await)?;
        Ok(())
    }

    /// Puts a running job back in the queue until `run_after` (it keeps its checkpoint), e.g. when an API's
    /// rate budget is spent.
    pub async fn defer(&self, tenant: TenantId, id: JobId, run_after: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE jobs SET status = 'queued', run_after = $3, locked_until = NULL WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(run_after).execute(p).await)?;
        Ok(())
    }

    pub async fn finish(
        &self,
        tenant: TenantId,
        id: JobId,
        result: Result<&serde_json::Value, &str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (status, value, error) = match result {
            Ok(v) => ("done", Some(Json(v)), None),
            Err(e) => ("failed", None, Some(e)),
        };
        exec!(self.0, p => sqlx::query(
            "UPDATE jobs SET status = $3, result = $4, error = $5, finished_at = $6, locked_until = NULL, \
             progress_done = CASE WHEN $3 = 'done' THEN progress_total ELSE progress_done END \
             WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(status).bind(value).bind(error).bind(at).execute(p).await)?;
        Ok(())
    }

    pub async fn get(&self, tenant: TenantId, id: JobId) -> Result<Job, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2");
        let row: Option<JobRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        Ok(<(TenantId, Job)>::try_from(row.found()?)?.1)
    }

    pub async fn recent(&self, tenant: TenantId, limit: i64) -> Result<Vec<Job>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2");
        let rows: Vec<JobRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(|r| <(TenantId, Job)>::try_from(r).map(|x| x.1)).collect()
    }
}
