//! Following a batch to its end: `transfer_result` polls, the `transfer_fail` and `DELETE_BY_TRANSFER`
//! callbacks, and what a settled customer means for siyu's data. Every path goes through
//! [`App::apply_updates`], and each item reaches its final state once (the store's update only touches open
//! items), so the timeline entry and the follow move happen once whichever path got there first.
//!
//! Taken over: the handover's follow ends (kept in `follow_removals` as ended by a transfer), the takeover's
//! is read from WeCom (`externalcontact/get`), and the customer's timeline gets a `customer_transferred`
//! entry. Refused or failed: a `transfer_failed` entry; the relation stays with the handover.

use chrono::DateTime;
use serde_json::json;
use siyu_domain::id::TenantId;
use siyu_domain::wecom::transfer::{self, ItemKind, TransferBatch, TransferKind, item};
use siyu_store::wecom::ItemUpdate;
use siyu_wecom::callback::ContactChange;

use super::super::{CorpHandle, wecom_error};
use super::run::latest;
use crate::App;
use crate::error::{AppError, AppResult};

impl App {
    /// Every `transfer_result` entry of the batch's handover → takeover pair, the latest per customer.
    async fn transfer_statuses(
        &self,
        handle: &CorpHandle,
        batch: &TransferBatch,
    ) -> AppResult<std::collections::HashMap<String, siyu_wecom::api::TransferStatus>> {
        let (from, to) = (&batch.handover_userid, &batch.takeover_userid);
        let mut rows = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = match batch.kind {
                TransferKind::OnJob => handle.client.transfer_result(&handle.contact, from, to, &cursor).await,
                TransferKind::Resigned => {
                    handle.client.resigned_transfer_result(&handle.contact, from, to, &cursor).await
                }
            }
            .map_err(wecom_error)?;
            rows.extend(page.customer);
            if page.next_cursor.is_empty() {
                return Ok(latest(rows));
            }
            cursor = page.next_cursor;
        }
    }

    /// Polls the batch's customers in `status` (`waiting`, or `sending` after a crash): WeCom's answer for
    /// each one it knows. Returns the targets WeCom has no trace of.
    pub(super) async fn poll_customers(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        batch: &TransferBatch,
        status: &str,
    ) -> AppResult<Vec<String>> {
        let targets = self.store.wecom().transfer_targets(tenant, batch.id, ItemKind::Customer, status).await?;
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let known = self.transfer_statuses(handle, batch).await?;
        let mut updates = Vec::new();
        let mut unknown = Vec::new();
        for t in targets {
            let Some(s) = known.get(&t) else {
                unknown.push(t);
                continue;
            };
            let Some((state, reason)) = transfer::result_status(s.status) else { continue };
            let takeover_at = (s.takeover_time > 0).then(|| DateTime::from_timestamp(s.takeover_time, 0)).flatten();
            updates.push(ItemUpdate {
                target: t,
                status: state,
                wecom_status: Some(s.status),
                errcode: None,
                reason: reason.map(str::to_owned),
                takeover_at,
            });
        }
        self.apply_updates(tenant, handle, batch, ItemKind::Customer, &updates).await?;
        Ok(unknown)
    }

    /// Items left `sending` by a worker that died between its call and the commit: customers WeCom lists in
    /// `transfer_result` and groups whose owner is already the takeover are adopted, the rest sent again.
    pub(super) async fn recover_sending(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        batch: &TransferBatch,
    ) -> AppResult<()> {
        let wecom = self.store.wecom();
        let unknown = self.poll_customers(tenant, handle, batch, item::SENDING).await?;
        wecom.release_transfer_items(tenant, batch.id, ItemKind::Customer, &unknown).await?;
        let groups = wecom.transfer_targets(tenant, batch.id, ItemKind::Group, item::SENDING).await?;
        let mut moved = Vec::new();
        let mut resend = Vec::new();
        for chat_id in groups {
            let chat = handle.client.groupchat_get(&handle.contact, &chat_id, false).await.map_err(wecom_error)?;
            if chat.owner == batch.takeover_userid {
                moved.push(ItemUpdate {
                    target: chat_id,
                    status: item::SUCCESS,
                    wecom_status: None,
                    errcode: None,
                    reason: None,
                    takeover_at: None,
                });
            } else {
                resend.push(chat_id);
            }
        }
        self.apply_updates(tenant, handle, batch, ItemKind::Group, &moved).await?;
        wecom.release_transfer_items(tenant, batch.id, ItemKind::Group, &resend).await?;
        Ok(())
    }

    /// Stores WeCom's answers and acts on the items that settled with them.
    pub(super) async fn apply_updates(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        batch: &TransferBatch,
        kind: ItemKind,
        updates: &[ItemUpdate],
    ) -> AppResult<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let settled = self.store.wecom().update_transfer_items(tenant, batch, kind, updates, self.now()).await?;
        for target in settled {
            let Some(u) = updates.iter().find(|u| u.target == target) else { continue };
            match kind {
                ItemKind::Customer => self.customer_settled(tenant, handle, batch, u).await?,
                ItemKind::Group if u.status == item::SUCCESS => {
                    // The group's new owner, read back from WeCom (the next sync repairs a failure here).
                    if let Err(e) = self.refresh_group(tenant, handle, &target, 0).await {
                        tracing::warn!(chat_id = %target, error = %e, "group re-read after transfer failed");
                    }
                }
                ItemKind::Group => {}
            }
        }
        Ok(())
    }

    async fn customer_settled(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        batch: &TransferBatch,
        u: &ItemUpdate,
    ) -> AppResult<()> {
        let ext = u.target.as_str();
        let Some(customer) = self.customer_of_external(tenant, &handle.corp_id, ext).await? else {
            return Ok(());
        };
        let wecom = self.store.wecom();
        let from = wecom.staff_by_userid(tenant, batch.corp, &batch.handover_userid).await?;
        let to = wecom.staff_by_userid(tenant, batch.corp, &batch.takeover_userid).await?;
        let mut payload = json!({"batch": batch.id, "kind": batch.kind.as_str(), "corp": handle.corp_id,
            "from": batch.handover_userid, "to": batch.takeover_userid,
            "from_user_id": from.as_ref().map(|s| s.user_id), "to_user_id": to.as_ref().map(|s| s.user_id),
            "from_name": from.as_ref().map(|s| s.name.clone()), "to_name": to.as_ref().map(|s| s.name.clone())});
        let actor = to.as_ref().map(|s| s.user_id);
        if u.status == item::SUCCESS {
            self.end_follow(tenant, handle, &batch.handover_userid, ext, "transfer").await?;
            if let Err(e) = self.refresh_contact(tenant, handle, ext, &batch.takeover_userid).await {
                // The add_external_contact callback (or the next sync) brings the takeover's follow.
                tracing::warn!(external_userid = %ext, error = %e, "contact re-read after transfer failed");
            }
            let at = u.takeover_at.unwrap_or_else(|| self.now());
            self.wecom_timeline(tenant, customer, transfer::TIMELINE_TRANSFERRED, actor, at, payload).await?;
        } else {
            payload["status"] = json!(u.status);
            payload["reason"] = json!(u.reason);
            payload["errcode"] = json!(u.errcode);
            let at = self.now();
            self.wecom_timeline(tenant, customer, transfer::TIMELINE_TRANSFER_FAILED, actor, at, payload).await?;
        }
        Ok(())
    }

    /// `transfer_fail`: the customer refused, or the takeover staff is at their customer limit (`UserID` is
    /// the takeover).
    pub(crate) async fn on_transfer_fail(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        c: &ContactChange,
    ) -> AppResult<()> {
        let wecom = self.store.wecom();
        let open = wecom.open_transfer_item(tenant, handle.corp, &c.external_user_id, Some(&c.user_id), None).await?;
        let Some(open) = open else { return Ok(()) };
        let batch = wecom.transfer(tenant, open.batch).await?;
        let reason = c.fail_reason.clone().unwrap_or_else(|| "customer_refused".into());
        let status = transfer::fail_status(&reason);
        let update = ItemUpdate {
            target: c.external_user_id.clone(),
            status,
            wecom_status: Some(if status == item::REFUSED { 3 } else { 4 }),
            errcode: None,
            reason: Some(reason),
            takeover_at: None,
        };
        self.apply_updates(tenant, handle, &batch, ItemKind::Customer, &[update]).await?;
        self.close_if_settled(tenant, &batch).await
    }

    /// `del_external_contact` with `Source=DELETE_BY_TRANSFER`: WeCom moved the customer away from `userid`;
    /// an open on-job item of theirs is taken over.
    pub(crate) async fn on_transferred_away(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        userid: &str,
        external_userid: &str,
    ) -> AppResult<()> {
        let wecom = self.store.wecom();
        let open = wecom.open_transfer_item(tenant, handle.corp, external_userid, None, Some(userid)).await?;
        let Some(open) = open else { return Ok(()) };
        let batch = wecom.transfer(tenant, open.batch).await?;
        let update = ItemUpdate {
            target: external_userid.to_owned(),
            status: item::SUCCESS,
            wecom_status: Some(1),
            errcode: None,
            reason: None,
            takeover_at: Some(self.now()),
        };
        self.apply_updates(tenant, handle, &batch, ItemKind::Customer, &[update]).await?;
        self.close_if_settled(tenant, &batch).await
    }

    /// A batch whose items all settled is done (its job finds it so and stops).
    async fn close_if_settled(&self, tenant: TenantId, batch: &TransferBatch) -> AppResult<()> {
        let counts = self.store.wecom().transfer_counts(tenant, batch.id).await?;
        if counts.pending == 0 && counts.waiting == 0 {
            let done = transfer::BatchStatus::Done;
            self.store.wecom().set_transfer_status(tenant, batch.id, done, None, self.now()).await?;
        }
        Ok::<(), AppError>(())
    }
}
