//! WeCom (企业微信): connected corps, callbacks, and the sync of staff, customers, tags and groups
//! (reference/wecom.md; the client, crypto and fake server are `siyu_wecom`).
//!
//! - `corps`: connecting a corp (secrets sealed with the tenant's data key), testing the connection, the
//!   callback URL to paste into WeCom's admin console.
//! - `callbacks`: a callback is verified, decrypted, parsed and persisted (deduplicated) before WeCom gets its
//!   answer; processing happens afterwards, welcome codes first. Handlers read the current state from WeCom
//!   instead of trusting the event's order, so duplicates and out-of-order deliveries converge.
//! - `sync`: the full sync as a resumable job (staff → tags → customers → groups) with progress.
//! - `contacts`, `groups`, `staff`: applying what WeCom says to customers, follows, tags, groups and members.

mod callbacks;
mod contacts;
mod corps;
mod group_codes;
mod group_rollover;
mod group_sops;
mod group_welcome;
pub mod groups;
mod inbox;
mod limiter;
mod live_codes;
mod mass;
mod moments;
mod notices;
mod sop_runner;
mod staff;
mod sync;
mod tag_push;
mod transfers;
mod welcome;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use siyu_domain::id::{CorpId, TenantId};
use siyu_domain::wecom::CorpSecrets;
use siyu_wecom::limiter::{LocalLimiter, Quota, RateLimiter};
use siyu_wecom::{Client, ClientConfig, CorpCredentials, WecomError};

pub use callbacks::{CallbackAnswer, CallbackQuery};
pub use corps::{CorpInput, CorpView};
pub use group_codes::{CodeGroupView, GroupCodeInput, GroupCodeView};
pub use group_sops::{GroupPatch, GroupTagInput, GroupView, SopInput, SopView};
pub use group_welcome::GroupWelcomeInput;
pub use live_codes::{LiveCodeInput, LiveCodeView};
pub use mass::{MASS_JOB, MassPreview, MassPreviewInput, MassSendInput, MassSendView, SenderCounts};
pub use moments::{MOMENT_JOB, MomentInput, MomentView};
pub use siyu_store::wecom::{GroupQuery, GroupSync};
pub use sop_runner::{SopCalendar, SopCalendarRow, SopCell};
pub use sync::{SYNC_JOB, SyncSummary};
pub use transfers::{PreviewItem, TRANSFER_JOB, TransferInput, TransferPreview, TransferView, UnassignedView};
pub use welcome::WelcomeSettings;

use crate::App;
use crate::error::{AppError, AppResult};

/// The WeCom clients of this process, one per (tenant, API base): they share token caches and limiters. And
/// the callbacks being processed in the background after their request was answered.
#[derive(Default)]
pub struct Clients {
    clients: Mutex<HashMap<(TenantId, String), Client>>,
    background: tokio_util::task::TaskTracker,
    /// A staff-notice sweep is queued in the background.
    notices_queued: std::sync::atomic::AtomicBool,
    /// Where received callbacks become durable (route cache and group commit).
    pub(crate) inbox: inbox::Inbox,
}

/// What a call to a corp needs: the client and the corp's credentials.
#[derive(Clone)]
pub struct CorpHandle {
    pub corp: CorpId,
    pub corp_id: String,
    pub client: Client,
    /// The 客户联系 secret's credentials.
    pub contact: CorpCredentials,
    /// The self-built app's (falls back to the contact secret when the app secret is empty).
    pub app: CorpCredentials,
}

impl App {
    /// Processes a just-stored callback in the background (the request has its answer already).
    pub fn process_callback_soon(&self, tenant: TenantId, id: siyu_domain::id::CallbackId) {
        let app = self.clone();
        self.wecom.background.spawn(async move {
            if let Err(e) = app.process_callback(tenant, id).await {
                tracing::warn!(callback = %id, error = %e, "background callback processing failed; a worker retries");
            }
        });
    }

    /// Waits until the callbacks handed to the background are processed (tests and shutdown).
    pub async fn settle_callbacks(&self) {
        let tracker = &self.wecom.background;
        tracker.close();
        tracker.wait().await;
        tracker.reopen();
    }

    fn wecom_client(&self, tenant: TenantId, base: &str) -> AppResult<Client> {
        let mut clients = self.wecom.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(&(tenant, base.to_owned())) {
            return Ok(c.clone());
        }
        let s = &self.settings.wecom;
        let quota = Quota { per_minute: s.quota_per_minute, per_hour: s.quota_per_hour };
        let limiter: Arc<dyn RateLimiter> = if s.shared_limiter {
            Arc::new(limiter::StoreLimiter::new(self.store.clone(), tenant, quota, self.clock.clone()))
        } else {
            Arc::new(LocalLimiter::new(quota))
        };
        let config = ClientConfig {
            base_url: base.to_owned(),
            timeout: Duration::from_secs(s.timeout_secs),
            max_inline_wait: Duration::from_millis(s.max_inline_wait_ms),
            ..ClientConfig::default()
        };
        let client = Client::new(config, limiter).map_err(wecom_error)?;
        clients.insert((tenant, base.to_owned()), client.clone());
        Ok(client)
    }

    /// The client and credentials for calling `corp`.
    pub async fn corp_handle(&self, tenant: TenantId, corp: CorpId) -> AppResult<CorpHandle> {
        let row = self.store.wecom().corp(tenant, corp).await?;
        let secrets = self.corp_secrets(tenant, corp).await?;
        let base = row.api_base.clone().unwrap_or_else(|| self.settings.wecom.api_base.clone());
        let client = self.wecom_client(tenant, &base)?;
        let creds = |secret: &str| CorpCredentials {
            corp_id: row.corp_id.clone(),
            secret: secret.to_owned(),
            agent_id: row.agent_id,
        };
        let app_secret = if secrets.app_secret.is_empty() { &secrets.contact_secret } else { &secrets.app_secret };
        Ok(CorpHandle {
            corp,
            corp_id: row.corp_id.clone(),
            client,
            contact: creds(&secrets.contact_secret),
            app: creds(app_secret),
        })
    }

    pub(crate) async fn corp_secrets(&self, tenant: TenantId, corp: CorpId) -> AppResult<CorpSecrets> {
        let keys = self.vault.keys(&self.store, tenant).await?;
        let sealed = self.store.wecom().corp_secrets(tenant, corp).await?;
        serde_json::from_str(&keys.decrypt(&sealed)?).map_err(AppError::internal)
    }
}

/// A WeCom failure as the app reports it.
pub(crate) fn wecom_error(e: WecomError) -> AppError {
    use siyu_wecom::ErrorClass;
    match e.class() {
        ErrorClass::RateLimited => AppError::RateLimited { retry_after_secs: 60 },
        ErrorClass::Retryable => AppError::Unavailable,
        ErrorClass::InvalidInput => AppError::invalid("wecom", e.to_string()),
        _ => AppError::internal(anyhow::anyhow!("{e}")),
    }
}
