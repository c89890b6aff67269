//! Connecting a corp: its ids and secrets (sealed with the tenant's data key, never shown back), the
//! callback URL to paste into WeCom's admin console, and the connection test.

use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::CorpId;
use siyu_domain::wecom::{Corp, CorpSecrets};
use siyu_store::wecom::NewCorp;
use siyu_wecom::crypto::CallbackCrypto;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The corp settings form. Empty secrets on an update keep the stored ones.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CorpInput {
    /// WeCom's corp id (`ww…`).
    pub corp_id: String,
    pub name: String,
    pub agent_id: Option<i64>,
    /// The 客户联系 secret.
    #[serde(default)]
    pub contact_secret: String,
    /// The self-built app's secret (app messages, JS-SDK).
    #[serde(default)]
    pub app_secret: String,
    /// The callback Token (3–32 letters or digits).
    #[serde(default)]
    pub callback_token: String,
    /// The callback EncodingAESKey (43 characters).
    #[serde(default)]
    pub callback_aes_key: String,
    /// Another WeCom base URL (a fake WeCom for the demo); empty for WeCom itself.
    #[serde(default)]
    pub api_base: String,
    #[serde(default = "active_default")]
    pub active: bool,
}

fn active_default() -> bool {
    true
}

/// A corp as the console shows it: secrets masked, the callback URL spelled out.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CorpView {
    #[serde(flatten)]
    pub corp: Corp,
    pub callback_url: String,
    /// The secrets' last four characters, so an admin can tell which one is stored.
    pub contact_secret_hint: String,
    pub app_secret_hint: String,
    pub callback_token_hint: String,
}

fn hint(secret: &str) -> String {
    let tail: String = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    if secret.is_empty() { String::new() } else { format!("****{tail}") }
}

impl App {
    /// The callback URL of a corp (`/wecom/callback/{corp row id}`).
    pub fn callback_url(&self, corp: CorpId) -> String {
        let base = if self.settings.wecom.public_url.is_empty() {
            format!("http://{}", self.settings.server.listen)
        } else {
            self.settings.wecom.public_url.trim_end_matches('/').to_owned()
        };
        format!("{base}/wecom/callback/{corp}")
    }

    pub async fn corps(&self, actor: &Actor) -> AppResult<Vec<CorpView>> {
        actor.require(Permission::UsersManage)?;
        let mut out = Vec::new();
        for corp in self.store.wecom().corps(actor.tenant).await? {
            out.push(self.corp_view(actor, corp).await?);
        }
        Ok(out)
    }

    pub async fn corp(&self, actor: &Actor, id: CorpId) -> AppResult<CorpView> {
        actor.require(Permission::UsersManage)?;
        let corp = self.store.wecom().corp(actor.tenant, id).await?;
        self.corp_view(actor, corp).await
    }

    async fn corp_view(&self, actor: &Actor, corp: Corp) -> AppResult<CorpView> {
        let secrets = self.corp_secrets(actor.tenant, corp.id).await?;
        Ok(CorpView {
            callback_url: self.callback_url(corp.id),
            contact_secret_hint: hint(&secrets.contact_secret),
            app_secret_hint: hint(&secrets.app_secret),
            callback_token_hint: hint(&secrets.callback_token),
            corp,
        })
    }

    /// Connects a corp.
    pub async fn connect_corp(&self, actor: &Actor, input: &CorpInput) -> AppResult<CorpView> {
        actor.require(Permission::UsersManage)?;
        let secrets = CorpSecrets {
            contact_secret: input.contact_secret.trim().to_owned(),
            app_secret: input.app_secret.trim().to_owned(),
            callback_token: input.callback_token.trim().to_owned(),
            callback_aes_key: input.callback_aes_key.trim().to_owned(),
        };
        let new = self.sealed_corp(actor, CorpId::new(), input, &secrets).await?;
        if self.store.wecom().corp_by_corp_id(actor.tenant, &new.corp_id).await?.is_some() {
            return Err(AppError::Conflict("corp_id".into()));
        }
        self.store.wecom().insert_corp(actor.tenant, &new).await?;
        self.audit_corp(actor, "wecom.corp_connected", new.id, &new.corp_id).await;
        self.corp(actor, new.id).await
    }

    /// Changes a corp's settings; secrets left empty stay as they are.
    pub async fn update_corp(&self, actor: &Actor, id: CorpId, input: &CorpInput) -> AppResult<CorpView> {
        actor.require(Permission::UsersManage)?;
        let current = self.store.wecom().corp(actor.tenant, id).await?;
        let old = self.corp_secrets(actor.tenant, id).await?;
        let pick = |new: &str, old: &str| if new.trim().is_empty() { old.to_owned() } else { new.trim().to_owned() };
        let secrets = CorpSecrets {
            contact_secret: pick(&input.contact_secret, &old.contact_secret),
            app_secret: pick(&input.app_secret, &old.app_secret),
            callback_token: pick(&input.callback_token, &old.callback_token),
            callback_aes_key: pick(&input.callback_aes_key, &old.callback_aes_key),
        };
        if input.corp_id.trim() != current.corp_id {
            return Err(AppError::invalid("corp_id", "a connected corp's id cannot change"));
        }
        let new = self.sealed_corp(actor, id, input, &secrets).await?;
        self.store.wecom().update_corp(actor.tenant, &new, input.active).await?;
        self.wecom.inbox.clear();
        self.audit_corp(actor, "wecom.corp_updated", id, &new.corp_id).await;
        self.corp(actor, id).await
    }

    /// Fetches a fresh access token with the contact secret (and the app secret, if set); the outcome is
    /// stored and shown on the corp's page.
    pub async fn test_corp(&self, actor: &Actor, id: CorpId) -> AppResult<CorpView> {
        actor.require(Permission::UsersManage)?;
        let handle = self.corp_handle(actor.tenant, id).await?;
        let mut result = handle.client.check(&handle.contact).await;
        if result.is_ok() && handle.app != handle.contact {
            result = handle.client.check(&handle.app).await;
        }
        let error = result.err().map(|e| e.to_string());
        self.store.wecom().set_checked(actor.tenant, id, error.as_deref(), self.now()).await?;
        self.corp(actor, id).await
    }

    async fn sealed_corp(
        &self,
        actor: &Actor,
        id: CorpId,
        input: &CorpInput,
        secrets: &CorpSecrets,
    ) -> AppResult<NewCorp> {
        let corp_id = input.corp_id.trim();
        if corp_id.is_empty() || corp_id.len() > 64 || !corp_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(AppError::invalid("corp_id", "letters and digits, as WeCom shows it (ww…)"));
        }
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("name", "1 to 100 characters"));
        }
        if secrets.contact_secret.is_empty() {
            return Err(AppError::invalid("contact_secret", "required"));
        }
        let token = &secrets.callback_token;
        if token.len() < 3 || token.len() > 32 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(AppError::invalid("callback_token", "3 to 32 letters or digits"));
        }
        if secrets.callback_aes_key.len() != 43
            || CallbackCrypto::new(token, &secrets.callback_aes_key, corp_id).is_err()
        {
            return Err(AppError::invalid("callback_aes_key", "the 43-character EncodingAESKey"));
        }
        let api_base = match input.api_base.trim() {
            "" => None,
            b if (b.starts_with("http://") || b.starts_with("https://")) && b.ends_with('/') => Some(b.to_owned()),
            _ => return Err(AppError::invalid("api_base", "an http(s) URL ending with /")),
        };
        let keys = self.vault.keys(&self.store, actor.tenant).await?;
        let sealed = keys.encrypt(&serde_json::to_string(secrets).map_err(AppError::internal)?)?;
        Ok(NewCorp {
            id,
            corp_id: corp_id.to_owned(),
            name: name.to_owned(),
            agent_id: input.agent_id,
            secrets_enc: sealed,
            api_base,
            at: self.now(),
        })
    }

    async fn audit_corp(&self, actor: &Actor, action: &str, id: CorpId, corp_id: &str) {
        let event = AuditEvent {
            action,
            object_type: "wecom_corp",
            object_id: Some(id.to_string()),
            detail: json!({ "corp_id": corp_id }),
        };
        self.audit(actor, event).await;
    }
}
