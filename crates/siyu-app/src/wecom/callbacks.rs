//! WeCom callbacks (reference/wecom.md §5–§6).
//!
//! Receiving: the URL's route id names the tenant and corp; the signature is checked, the body decrypted and
//! parsed, and the event stored under its dedupe key, all before WeCom gets its `success` (it retries three
//! times without one in 5 s). A retry finds the stored row and is answered at once.
//!
//! Processing: claimed with a lease (by the request's own task right after answering, or by a worker), welcome
//! codes first. Handlers fetch the current state from WeCom (`externalcontact/get`, `groupchat/get`, the tag
//! list) rather than apply the event as a delta, so duplicates and out-of-order deliveries converge on what
//! WeCom holds now. A failure is retried with backoff, then kept as failed with its error for the console.

use chrono::Duration;
use serde::Deserialize;
use siyu_domain::id::{CallbackId, CorpId, TenantId};
use siyu_store::wecom::NewCallback;
use siyu_wecom::callback::{self, CallbackEvent, ChatChangeType, ChatUpdateDetail, ContactChangeKind, StaffChangeType};
use siyu_wecom::crypto::CallbackCrypto;
use uuid::Uuid;

use super::CorpHandle;
use super::contacts::SeenFollow;
use super::inbox::Route;
use crate::App;
use crate::error::{AppError, AppResult};

/// The query WeCom calls the callback URL with.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    pub msg_signature: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub nonce: String,
    /// Only on the GET URL check (already URL-decoded).
    pub echostr: Option<String>,
}

/// What receiving a callback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackAnswer {
    /// Stored for processing.
    Stored { tenant: TenantId, id: CallbackId },
    /// The same event was stored before (a WeCom retry).
    Duplicate,
}

const MAX_ATTEMPTS: i64 = 5;

impl App {
    /// The route's tenant, corp and callback crypto, read from the database (and remembered by the inbox).
    async fn route_crypto(&self, route: Uuid) -> AppResult<Route> {
        let (tenant, corp) = self.store.wecom().route(route).await?.ok_or(AppError::NotFound)?;
        let row = self.store.wecom().corp(tenant, corp).await?;
        if !row.active {
            self.wecom.inbox.forget(route);
            return Err(AppError::NotFound);
        }
        let secrets = self.corp_secrets(tenant, corp).await?;
        let crypto = CallbackCrypto::new(&secrets.callback_token, &secrets.callback_aes_key, &row.corp_id)
            .map_err(|e| AppError::invalid("callback_aes_key", e.code()))?;
        let r = Route::new(tenant, corp, crypto);
        self.wecom.inbox.remember(route, r.clone());
        Ok(r)
    }

    /// The GET URL check: the decrypted `echostr` to answer with.
    pub async fn verify_callback_url(&self, route: Uuid, q: &CallbackQuery) -> AppResult<String> {
        let Route { crypto, .. } = self.route_crypto(route).await?;
        let echostr = q.echostr.as_deref().unwrap_or_default();
        crypto
            .verify_url(&q.msg_signature, &q.timestamp, &q.nonce, echostr)
            .map_err(|e| AppError::invalid("msg_signature", e.code()))
    }

    /// Verifies, decrypts, parses and stores a POSTed callback.
    /// A callback is stored through the inbox's group commit (see [`super::inbox`]).
    pub async fn receive_callback(&self, route: Uuid, q: &CallbackQuery, body: &str) -> AppResult<CallbackAnswer> {
        let decrypt = |r: &Route| r.crypto.decrypt_message(&q.msg_signature, &q.timestamp, &q.nonce, body);
        let (r, plain) = match self.wecom.inbox.cached(route) {
            Some(r) => match decrypt(&r) {
                Ok(plain) => (r, Ok(plain)),
                // The token or key may have changed since the route was cached: check against a fresh read.
                Err(_) => {
                    let r = self.route_crypto(route).await?;
                    let plain = decrypt(&r);
                    (r, plain)
                }
            },
            None => {
                let r = self.route_crypto(route).await?;
                let plain = decrypt(&r);
                (r, plain)
            }
        };
        let (tenant, corp) = (r.tenant, r.corp);
        let plain = plain.map_err(|e| AppError::invalid("msg_signature", e.code()))?;
        let parsed = callback::parse(&plain).map_err(|e| AppError::invalid("body", e.code()))?;
        let welcome = matches!(&parsed.event, CallbackEvent::ExternalContact(c) if c.welcome_code.is_some());
        let record = NewCallback {
            id: CallbackId::new(),
            corp,
            dedupe_key: parsed.dedupe_key(),
            kind: parsed.kind(),
            priority: if welcome { 0 } else { 1 },
            event: serde_json::to_value(&parsed).map_err(AppError::internal)?,
            body: plain,
            at: self.now(),
        };
        metrics::counter!("siyu_wecom_callbacks_total", "kind" => record.kind.clone()).increment(1);
        let id = record.id;
        if self.wecom.inbox.store(&self.store, tenant, record).await? {
            Ok(CallbackAnswer::Stored { tenant, id })
        } else {
            Ok(CallbackAnswer::Duplicate)
        }
    }

    /// Processes one stored callback if it is due and nobody holds it; `true` when this call did it.
    pub async fn process_callback(&self, tenant: TenantId, id: CallbackId) -> AppResult<bool> {
        let now = self.now();
        let lease = now + Duration::seconds(self.settings.worker.lease_secs);
        let Some(record) = self.store.wecom().claim_callback(tenant, id, now, lease).await? else {
            return Ok(false);
        };
        let outcome = match callback::parse(&record.body) {
            Ok(parsed) => match self.corp_handle(tenant, CorpId(record.corp_row_id)).await {
                Ok(handle) => self.handle_event(tenant, &handle, &parsed.event, record.received_at).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(AppError::invalid("body", e.code())),
        };
        match outcome {
            Ok(()) => self.store.wecom().finish_callback(tenant, id, self.now()).await?,
            Err(e) => {
                let retry = matches!(e, AppError::RateLimited { .. } | AppError::Unavailable | AppError::Internal(_))
                    && record.attempts < MAX_ATTEMPTS;
                let retry_at = retry.then(|| self.now() + Duration::seconds(10 << record.attempts.clamp(0, 6)));
                tracing::warn!(callback = %id, kind = %record.kind, error = %e, retry = retry, "callback failed");
                self.store.wecom().retry_callback(tenant, id, &e.to_string(), retry_at, self.now()).await?;
            }
        }
        Ok(true)
    }

    /// Processes every due callback of every tenant; returns how many were processed.
    pub async fn process_wecom_callbacks(&self) -> AppResult<usize> {
        let mut n = 0;
        for tenant in self.store.wecom().tenants_with_corps().await? {
            for id in self.store.wecom().due_callbacks(tenant, self.now(), 200).await? {
                if self.process_callback(tenant, id).await? {
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    async fn handle_event(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        event: &CallbackEvent,
        received_at: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<()> {
        match event {
            CallbackEvent::ExternalContact(c) => match &c.change {
                ContactChangeKind::Add | ContactChangeKind::AddHalf => {
                    self.on_contact_added(tenant, handle, c, received_at).await
                }
                ContactChangeKind::Edit => self.refresh_contact(tenant, handle, &c.external_user_id, &c.user_id).await,
                ContactChangeKind::Delete => {
                    let by = if c.source.as_deref() == Some("DELETE_BY_TRANSFER") { "transfer" } else { "staff" };
                    self.end_follow(tenant, handle, &c.user_id, &c.external_user_id, by).await?;
                    if by == "transfer" {
                        self.on_transferred_away(tenant, handle, &c.user_id, &c.external_user_id).await?;
                    }
                    Ok(())
                }
                ContactChangeKind::DeletedByCustomer => {
                    self.end_follow(tenant, handle, &c.user_id, &c.external_user_id, "customer").await
                }
                ContactChangeKind::TransferFail => self.on_transfer_fail(tenant, handle, c).await,
                _ => Ok(()),
            },
            CallbackEvent::ExternalChat(c) => {
                let op = match c.update_detail {
                    Some(ChatUpdateDetail::AddMember) => Some("join"),
                    Some(ChatUpdateDetail::DelMember) => Some("leave"),
                    _ => None,
                };
                if let Some(op) = op {
                    let archive = self.store.archive();
                    archive
                        .record_join_leaves(tenant, handle.corp, &c.chat_id, &c.mem_change_list, op, received_at)
                        .await?;
                }
                match c.change_type {
                    ChatChangeType::Dismiss => self.dismiss_group(tenant, handle.corp, &c.chat_id).await,
                    _ => self.refresh_group(tenant, handle, &c.chat_id, 0).await.map(|_| ()),
                }
            }
            CallbackEvent::MsgAuditNotify => {
                Ok(self.store.archive().mark_notified(tenant, handle.corp, received_at).await?)
            }
            CallbackEvent::ExternalTag(_) => self.sync_corp_tags(tenant, handle).await.map(|_| ()),
            CallbackEvent::Contact(s) => match (&s.change_type, s.user_id.as_deref()) {
                (StaffChangeType::DeleteUser, Some(userid)) => {
                    self.store.wecom().staff_left(tenant, handle.corp, userid, self.now()).await?;
                    Ok(())
                }
                (StaffChangeType::UpdateUser, Some(userid))
                    if s.new_user_id.as_deref().is_some_and(|n| n != userid) =>
                {
                    let to = s.new_user_id.as_deref().unwrap_or(userid);
                    self.store.wecom().rename_staff(tenant, handle.corp, userid, to).await?;
                    self.sync_staff(tenant, handle).await.map(|_| ())
                }
                (StaffChangeType::CreateUser | StaffChangeType::UpdateUser, _) => {
                    self.sync_staff(tenant, handle).await.map(|_| ())
                }
                _ => self.sync_departments(tenant, handle).await.map(|_| ()),
            },
            _ => Ok(()),
        }
    }

    /// Reads a contact from WeCom and applies all its follows (every page of them).
    pub(crate) async fn refresh_contact(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        external_userid: &str,
        userid: &str,
    ) -> AppResult<()> {
        self.known_staff(tenant, handle, userid).await?;
        let lookups = self.contact_lookups(tenant, handle).await?;
        let mut cursor = String::new();
        loop {
            let detail = handle
                .client
                .external_contact_get(&handle.contact, external_userid, &cursor)
                .await
                .map_err(super::wecom_error)?;
            let follows = SeenFollow::from_detail(&detail);
            self.apply_contact(tenant, handle, &lookups, &detail.external_contact, &follows, "wecom_callback").await?;
            if detail.next_cursor.is_empty() {
                return Ok(());
            }
            cursor = detail.next_cursor;
        }
    }
}
