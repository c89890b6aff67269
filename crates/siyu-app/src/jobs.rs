//! The worker: claims due jobs from the shared queue and runs them in checkpointed batches, so a job
//! interrupted by a crash resumes from its last batch on whichever worker claims it next.

use chrono::Duration;
use serde_json::json;
use siyu_domain::id::{JobId, TenantId, UserId};
use siyu_domain::job::Job;

use crate::actor::Via;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

impl App {
    fn lease(&self) -> chrono::DateTime<chrono::Utc> {
        self.now() + Duration::seconds(self.settings.worker.lease_secs)
    }

    /// Claims and runs one due job; `false` when there was none.
    pub async fn run_one_job(&self) -> AppResult<bool> {
        let Some((tenant, job)) = self.store.jobs().claim(self.now(), self.lease()).await? else {
            return Ok(false);
        };
        tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job claimed");
        let outcome = self.run_job(tenant, &job).await;
        match outcome {
            // The job put itself back in the queue (its checkpoint saved).
            Ok(None) => {}
            Ok(Some(result)) => {
                self.store.jobs().finish(tenant, job.id, Ok(&result), self.now()).await?;
                metrics::counter!("siyu_jobs_total", "kind" => job.kind.clone(), "outcome" => "done").increment(1);
            }
            Err(e) => {
                tracing::error!(job = %job.id, error = ?e, "job failed");
                self.store.jobs().finish(tenant, job.id, Err(&e.to_string()), self.now()).await?;
                metrics::counter!("siyu_jobs_total", "kind" => job.kind.clone(), "outcome" => "failed").increment(1);
            }
        }
        Ok(true)
    }

    /// Runs every due job and resolves every pending event until there is nothing left, then sweeps the
    /// dynamic segments that are due (tests step the worker with this); returns the number of jobs run.
    pub async fn run_due_work(&self) -> AppResult<usize> {
        let mut n = 0;
        // Group SOP steps that are due become mass sends (their jobs run below).
        self.run_group_sops().await?;
        // Session-archive rules that watch time and relation changes (slow replies, deletions, floods).
        self.sweep_archive().await?;
        loop {
            while self.run_one_job().await? {
                n += 1;
            }
            // WeCom callbacks whose background processing failed or never ran.
            self.process_wecom_callbacks().await?;
            if self.resolve_pending_events().await? == 0 {
                // Customers bulk paths changed, then dynamic segments due for their sweep (time windows
                // move with no event).
                while self.drain_dirty_segments().await? > 0 {}
                // Journeys: stage rules on time, signals (stage moves, enrolments, exits, wake-ups), due runs
                // step, then the outbox is delivered (a delivery may move a stage, enrol or wake more).
                self.scan_date_triggers().await?;
                loop {
                    while self.process_signals().await?
                        + self.run_due_journeys().await?
                        + self.dispatch_outbox().await?
                        > 0
                    {}
                    if self.sweep_all_stages().await? == 0 {
                        break;
                    }
                }
                self.sweep_segments(false).await?;
                // Then the scheduled audience files that are due, and staff told of their new tasks.
                self.sweep_audience_syncs().await?;
                // Tracked-link opens whose tag, alert or usage count a crash or an error left undone.
                self.finish_link_opens().await?;
                self.send_staff_notices().await?;
                self.push_tags_to_wecom().await?;
                // Results of journeys' WeCom sends that are due a look.
                self.poll_wecom_sends().await?;
                // Cached WeCom media ids past their expiry.
                self.sweep_wecom_media().await?;
                return Ok(n);
            }
        }
    }

    pub(crate) async fn job_actor(&self, tenant: TenantId, user: Option<UserId>) -> AppResult<Actor> {
        let user = user.ok_or_else(|| AppError::internal(anyhow::anyhow!("job has no creator")))?;
        // A job acts with its creator's access as it is now: a disabled member, a suspended brand or a
        // member who lost the permission stops the job.
        let member = self.store.members().get(tenant, user).await?;
        if !member.active {
            return Err(AppError::Forbidden);
        }
        if self.store.tenants().get(tenant).await?.status != siyu_domain::tenancy::TenantStatus::Active {
            return Err(AppError::TenantSuspended);
        }
        Actor::for_member(&self.store, &member, Via::System).await
    }

    /// Runs a claimed job: its result, or `None` when it deferred itself.
    async fn run_job(&self, tenant: TenantId, job: &Job) -> AppResult<Option<serde_json::Value>> {
        match job.kind.as_str() {
            "bulk_tag" => self.run_bulk_tag(tenant, job).await.map(Some),
            crate::transfer::IMPORT_JOB => self.run_import_job(tenant, job).await.map(Some),
            crate::orders::ORDER_IMPORT_JOB => self.run_order_import_job(tenant, job).await.map(Some),
            crate::wecom::SYNC_JOB => self.run_wecom_sync(tenant, job).await,
            crate::wecom::MASS_JOB => self.run_mass_send(tenant, job).await,
            crate::wecom::MOMENT_JOB => self.run_moment(tenant, job).await,
            crate::wecom::TRANSFER_JOB => self.run_transfer(tenant, job).await,
            other => Err(AppError::internal(anyhow::anyhow!("unknown job kind {other}"))),
        }
    }

    async fn run_bulk_tag(&self, tenant: TenantId, job: &Job) -> AppResult<serde_json::Value> {
        let actor = self.job_actor(tenant, job.created_by).await?;
        let mut payload = job.payload.clone();
        let mut changed = payload["changed"].as_i64().unwrap_or(0);
        loop {
            let (processed, next, finished) = self.bulk_tag_batch(&actor, &payload).await?;
            self.mark_segments_dirty(tenant, &processed).await;
            changed += processed.len() as i64;
            payload = next;
            payload["changed"] = json!(changed);
            let done = payload["done"].as_i64().unwrap_or(0);
            self.store.jobs().checkpoint(tenant, job.id, &payload).await?;
            self.store.jobs().progress(tenant, job.id, done, job.progress_total.max(done), self.lease()).await?;
            if finished {
                return Ok(json!({ "customers": changed }));
            }
        }
    }

    pub async fn job(&self, actor: &Actor, id: JobId) -> AppResult<Job> {
        let job = self.store.jobs().get(actor.tenant, id).await?;
        if job.created_by != Some(actor.user) && !actor.can(siyu_domain::access::Permission::UsersManage) {
            return Err(AppError::NotFound);
        }
        Ok(job)
    }

    pub async fn recent_jobs(&self, actor: &Actor) -> AppResult<Vec<Job>> {
        let jobs = self.store.jobs().recent(actor.tenant, 50).await?;
        let all = actor.can(siyu_domain::access::Permission::UsersManage);
        Ok(jobs.into_iter().filter(|j| all || j.created_by == Some(actor.user)).collect())
    }

    /// The worker: runs due work until `shutdown` fires; what is in hand is finished first. Journeys run in a
    /// loop of their own beside the jobs', so a long job (an import, a sync) never holds up a run falling due
    /// or a message waiting in the outbox.
    pub async fn work(&self, shutdown: tokio_util::sync::CancellationToken) {
        tokio::join!(self.work_jobs(shutdown.clone()), self.work_journeys(shutdown));
        tracing::info!("worker stopped");
    }

    /// The journeys' loop: signals (they enrol, wake and end runs), due runs, then their outbox, while any
    /// has work; every 30 s the time-driven stage rules and date triggers and the results of WeCom sends.
    async fn work_journeys(&self, shutdown: tokio_util::sync::CancellationToken) {
        let idle = std::time::Duration::from_millis(self.settings.worker.poll_ms);
        let mut last_sweep: Option<std::time::Instant> = None;
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            match self.process_signals().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "journey signal step failed"),
            }
            match self.run_due_journeys().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "journey step failed"),
            }
            match self.dispatch_outbox().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "outbox dispatch failed"),
            }
            if last_sweep.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(30)) {
                last_sweep = Some(std::time::Instant::now());
                // Date-property triggers, once per journey and local day.
                if let Err(e) = self.scan_date_triggers().await {
                    tracing::error!(error = ?e, "date trigger scan failed");
                }
                // Stage rules that fire on time (silence, stalls) and first stages for new customers.
                if let Err(e) = self.sweep_all_stages().await {
                    tracing::error!(error = ?e, "stage sweep failed");
                }
                // Results of journeys' WeCom sends that are due a look.
                if let Err(e) = self.poll_wecom_sends().await {
                    tracing::error!(error = ?e, "polling WeCom send results failed");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(idle) => {}
            }
        }
    }

    /// The jobs' loop: due jobs, WeCom callbacks left over, identity resolution, segment re-evaluation, and
    /// the periodic sweeps.
    async fn work_jobs(&self, shutdown: tokio_util::sync::CancellationToken) {
        let idle = std::time::Duration::from_millis(self.settings.worker.poll_ms);
        let mut last_sweep: Option<std::time::Instant> = None;
        let mut last_housekeeping: Option<std::time::Instant> = None;
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            match self.run_one_job().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = ?e, "worker step failed"),
            }
            // WeCom callbacks not processed right after their request (a failure to retry, a node that stopped).
            match self.process_wecom_callbacks().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "WeCom callback step failed"),
            }
            // Between jobs: identity resolution of newly ingested events.
            match self.resolve_pending_events().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "identity resolution step failed"),
            }
            // Then customers bulk paths changed, a batch at a time.
            match self.drain_dirty_segments().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = ?e, "segment re-evaluation step failed"),
            }
            // Segments are due every few minutes: looking every 30 s is plenty.
            if last_sweep.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(30)) {
                last_sweep = Some(std::time::Instant::now());
                if let Err(e) = self.sweep_segments(false).await {
                    tracing::error!(error = ?e, "segment sweep failed");
                }
                // Scheduled audience files (each due every few hours at the most often).
                if let Err(e) = self.sweep_audience_syncs().await {
                    tracing::error!(error = ?e, "audience sync sweep failed");
                }
                // Tag changes made in siyu, marked in WeCom.
                if let Err(e) = self.push_tags_to_wecom().await {
                    tracing::error!(error = ?e, "pushing tags to WeCom failed");
                }
                // WeCom corps whose last full sync is a day old: sync again to repair drift.
                if let Err(e) = self.schedule_wecom_reconciliation().await {
                    tracing::error!(error = ?e, "WeCom reconciliation scheduling failed");
                }
                // Group SOP steps that are due become mass sends; flash-sale groups past close tell their owner.
                if let Err(e) = self.run_group_sops().await {
                    tracing::error!(error = ?e, "group SOP run failed");
                }
                // Session-archive rules that watch time and relation changes, and the daily digest.
                if let Err(e) = self.sweep_archive().await {
                    tracing::error!(error = ?e, "archive sweep failed");
                }
                // Tracked-link opens whose tag, alert or usage count a crash or an error left undone (each
                // open's effects are finished once, whoever gets there first).
                if let Err(e) = self.finish_link_opens().await {
                    tracing::error!(error = ?e, "finishing link opens failed");
                }
                // App messages telling staff of new tasks (normally sent as the task is made; this retries).
                if let Err(e) = self.send_staff_notices().await {
                    tracing::error!(error = ?e, "staff notices failed");
                }
                // Live codes whose schedule turned or whose staff's caps reset with the day.
                if let Err(e) = self.rotate_live_codes().await {
                    tracing::error!(error = ?e, "live code rotation failed");
                }
                // Group codes whose groups filled up or were dismissed roll over to their reserve.
                if let Err(e) = self.rotate_group_codes().await {
                    tracing::error!(error = ?e, "group code roll-over failed");
                }
                // RFM and CLV per tenant once a day (each tenant when its last run is a day old).
                if let Err(e) = self.sweep_values(false).await {
                    tracing::error!(error = ?e, "RFM / CLV sweep failed");
                }
            }
            // Housekeeping once an hour: cached WeCom media ids past their expiry (three days after upload).
            if last_housekeeping.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(3600)) {
                last_housekeeping = Some(std::time::Instant::now());
                if let Err(e) = self.sweep_wecom_media().await {
                    tracing::error!(error = ?e, "WeCom media sweep failed");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(idle) => {}
            }
        }
    }
}
