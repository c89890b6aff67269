//! The transfer job: items are claimed (`sending`) 100 at a time before their WeCom call and updated with its
//! answer; then `transfer_result` is polled until every customer is taken over, refused or failed, the job
//! putting itself back in the queue until the next takeover is due (at most an hour). Items found `sending`
//! (the worker died between the call and the commit) are looked up in WeCom first — the customer in
//! `transfer_result`, the group's owner — and only sent again when WeCom has no trace of them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use siyu_domain::id::{TenantId, TransferId};
use siyu_domain::job::Job;
use siyu_domain::wecom::transfer::{self, BatchStatus, ItemKind, TransferBatch, TransferKind, item};
use siyu_store::wecom::ItemUpdate;
use siyu_wecom::api::{TransferCustomerRequest, TransferStatus};
use siyu_wecom::{ErrorClass, WecomError};

use super::super::{CorpHandle, wecom_error};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The job kind of a transfer batch.
pub const TRANSFER_JOB: &str = "wecom_transfer";
/// How often a batch with waiting customers polls `transfer_result` at the least.
const POLL_SECS: i64 = 3600;

#[derive(Deserialize)]
struct TransferJob {
    batch: TransferId,
}

/// Why a step stopped before the batch settled.
enum Stop {
    /// Try again after this long (the rate window, or WeCom did not answer).
    Later(Duration),
    App(AppError),
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        match e {
            AppError::RateLimited { retry_after_secs } => Stop::Later(Duration::seconds(retry_after_secs as i64)),
            AppError::Unavailable => Stop::Later(Duration::seconds(10)),
            other => Stop::App(other),
        }
    }
}

fn from_wecom(e: WecomError) -> Stop {
    match e {
        WecomError::Throttled { wait, .. } => {
            Stop::Later(Duration::from_std(wait).unwrap_or(Duration::seconds(60)).max(Duration::seconds(1)))
        }
        WecomError::Transport { .. } => Stop::Later(Duration::seconds(10)),
        e if e.class() == ErrorClass::RateLimited => Stop::Later(Duration::seconds(60)),
        e if e.class() == ErrorClass::Retryable => Stop::Later(Duration::seconds(10)),
        e => Stop::App(wecom_error(e)),
    }
}

impl App {
    pub(crate) async fn run_transfer(&self, tenant: TenantId, job: &Job) -> AppResult<Option<serde_json::Value>> {
        let payload: TransferJob = serde_json::from_value(job.payload.clone()).map_err(AppError::internal)?;
        match self.step_transfer(tenant, payload.batch).await {
            Ok(None) => {
                let counts = self.store.wecom().transfer_counts(tenant, payload.batch).await?;
                Ok(Some(serde_json::to_value(counts).map_err(AppError::internal)?))
            }
            Ok(Some(at)) => {
                self.store.jobs().defer(tenant, job.id, at).await?;
                Ok(None)
            }
            Err(e) => {
                let msg = e.to_string();
                self.store
                    .wecom()
                    .set_transfer_status(tenant, payload.batch, BatchStatus::Failed, Some(&msg), self.now())
                    .await?;
                Err(e)
            }
        }
    }

    /// Pulls a batch's results from WeCom now (besides the job's own polling).
    pub async fn refresh_transfer(&self, actor: &Actor, id: TransferId) -> AppResult<super::TransferView> {
        self.transfer(actor, id).await?;
        self.step_transfer(actor.tenant, id).await?;
        self.transfer(actor, id).await
    }

    /// One step of a batch: recover, send what is pending, poll what waits. `None` once every item settled,
    /// else when to look again.
    async fn step_transfer(&self, tenant: TenantId, id: TransferId) -> AppResult<Option<DateTime<Utc>>> {
        let batch = self.store.wecom().transfer(tenant, id).await?;
        if matches!(batch.status, BatchStatus::Done | BatchStatus::Failed) {
            return Ok(None);
        }
        let handle = self.corp_handle(tenant, batch.corp).await?;
        match self.send_and_poll(tenant, &handle, &batch).await {
            Ok(()) => {}
            Err(Stop::Later(wait)) => return Ok(Some(self.now() + wait)),
            Err(Stop::App(e)) => return Err(e),
        }
        let items = self.store.wecom().transfer_items(tenant, id).await?;
        let open: Vec<_> = items.iter().filter(|i| !item::is_final(&i.status)).collect();
        if open.is_empty() {
            self.store.wecom().set_transfer_status(tenant, id, BatchStatus::Done, None, self.now()).await?;
            return Ok(None);
        }
        self.store.wecom().set_transfer_status(tenant, id, BatchStatus::Waiting, None, self.now()).await?;
        let hour = self.now() + Duration::seconds(POLL_SECS);
        let due = open.iter().filter_map(|i| i.takeover_at).min().map(|t| t + Duration::minutes(1));
        Ok(Some(due.map_or(hour, |d| d.min(hour).max(self.now() + Duration::seconds(10)))))
    }

    async fn send_and_poll(&self, tenant: TenantId, handle: &CorpHandle, batch: &TransferBatch) -> Result<(), Stop> {
        self.recover_sending(tenant, handle, batch).await?;
        for kind in [ItemKind::Customer, ItemKind::Group] {
            loop {
                let wecom = self.store.wecom();
                let targets = wecom
                    .claim_transfer_items(tenant, batch.id, kind, transfer::CHUNK as i64, self.now())
                    .await
                    .map_err(AppError::from)?;
                if targets.is_empty() {
                    break;
                }
                match kind {
                    ItemKind::Customer => self.send_customers(tenant, handle, batch, &targets).await?,
                    ItemKind::Group => self.send_groups(tenant, handle, batch, &targets).await?,
                }
            }
        }
        let waiting = self.store.wecom().transfer_targets(tenant, batch.id, ItemKind::Customer, item::WAITING).await;
        if !waiting.map_err(AppError::from)?.is_empty() {
            self.poll_customers(tenant, handle, batch, item::WAITING).await?;
        }
        Ok(())
    }

    async fn send_customers(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        batch: &TransferBatch,
        targets: &[String],
    ) -> Result<(), Stop> {
        let (from, to) = (&batch.handover_userid, &batch.takeover_userid);
        let answer = match batch.kind {
            TransferKind::OnJob => {
                let request = TransferCustomerRequest {
                    handover_userid: from.clone(),
                    takeover_userid: to.clone(),
                    external_userid: targets.to_vec(),
                    transfer_success_msg: batch.message.clone(),
                };
                handle.client.transfer_customer(&handle.contact, &request).await
            }
            TransferKind::Resigned => {
                handle.client.resigned_transfer_customer(&handle.contact, from, to, targets).await
            }
        };
        let codes: HashMap<String, i64> = match answer {
            Ok(list) => list.into_iter().map(|c| (c.external_userid, c.errcode)).collect(),
            Err(e) => return self.fail_call(tenant, handle, batch, ItemKind::Customer, targets, e).await,
        };
        let updates: Vec<ItemUpdate> = targets
            .iter()
            .map(|t| match codes.get(t) {
                Some(0) => update(t, item::WAITING, Some(2), None, None),
                Some(code) => update(t, item::FAILED, None, Some(*code), Some(format!("errcode {code}"))),
                None => update(t, item::FAILED, None, None, Some("no_answer".into())),
            })
            .collect();
        metrics::counter!("siyu_wecom_transfer_calls_total", "kind" => "customer").increment(1);
        self.apply_updates(tenant, handle, batch, ItemKind::Customer, &updates).await?;
        Ok(())
    }

    async fn send_groups(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        batch: &TransferBatch,
        targets: &[String],
    ) -> Result<(), Stop> {
        let to = &batch.takeover_userid;
        let answer = match batch.kind {
            TransferKind::OnJob => handle.client.groupchat_onjob_transfer(&handle.contact, targets, to).await,
            TransferKind::Resigned => handle.client.groupchat_transfer(&handle.contact, targets, to).await,
        };
        let failed: HashMap<String, (i64, String)> = match answer {
            Ok(list) => list.into_iter().map(|f| (f.chat_id, (f.errcode, f.errmsg))).collect(),
            Err(e) => return self.fail_call(tenant, handle, batch, ItemKind::Group, targets, e).await,
        };
        let updates: Vec<ItemUpdate> = targets
            .iter()
            .map(|t| match failed.get(t) {
                Some((code, msg)) => update(t, item::FAILED, None, Some(*code), Some(short(msg))),
                None => update(t, item::SUCCESS, None, None, None),
            })
            .collect();
        metrics::counter!("siyu_wecom_transfer_calls_total", "kind" => "group").increment(1);
        self.apply_updates(tenant, handle, batch, ItemKind::Group, &updates).await?;
        Ok(())
    }

    /// A call WeCom refused as a whole. Throttled or busy: nothing reached WeCom, the items go back and the
    /// job comes back later. Unanswered: WeCom may have started it, so the items stay `sending` to be looked up
    /// first. Anything else (bad staff, invalid request) fails the chunk's items with the error.
    async fn fail_call(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        batch: &TransferBatch,
        kind: ItemKind,
        targets: &[String],
        e: WecomError,
    ) -> Result<(), Stop> {
        let wecom = self.store.wecom();
        if matches!(e, WecomError::Transport { .. }) {
            return Err(Stop::Later(Duration::seconds(10)));
        }
        let code = e.errcode();
        match from_wecom(e) {
            Stop::Later(wait) => {
                wecom.release_transfer_items(tenant, batch.id, kind, targets).await.map_err(AppError::from)?;
                Err(Stop::Later(wait))
            }
            Stop::App(err) => {
                tracing::warn!(batch = %batch.id, error = %err, "transfer call refused");
                let reason = short(&err.to_string());
                let updates: Vec<ItemUpdate> =
                    targets.iter().map(|t| update(t, item::FAILED, None, code, Some(reason.clone()))).collect();
                self.apply_updates(tenant, handle, batch, kind, &updates).await?;
                Ok(())
            }
        }
    }
}

fn update(t: &str, status: &'static str, ws: Option<i64>, code: Option<i64>, reason: Option<String>) -> ItemUpdate {
    ItemUpdate { target: t.to_owned(), status, wecom_status: ws, errcode: code, reason, takeover_at: None }
}

fn short(s: &str) -> String {
    s.split(", hint").next().unwrap_or(s).chars().take(200).collect()
}

/// The latest `transfer_result` entry per customer.
pub(super) fn latest(rows: Vec<TransferStatus>) -> HashMap<String, TransferStatus> {
    rows.into_iter().map(|r| (r.external_userid.clone(), r)).collect()
}
