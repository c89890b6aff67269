//! Authentication: passwords (argon2id), console sessions, login throttling and API tokens.
//!
//! Everything lives in the database, so any `siyu serve` node can serve any request: a session made on
//! one node is valid on another, and failed logins counted on one node count on all.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use chrono::Duration;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use siyu_domain::access::{Permission, TokenScope};
use siyu_domain::id::{ApiTokenId, TenantId};
use siyu_domain::tenancy::{Account, ApiToken, Member, Tenant, TenantStatus};
use siyu_domain::text;
use siyu_store::sessions::SessionRecord;

use crate::actor::Via;
use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

mod token_cache;

use token_cache::Resolved;
pub use token_cache::TokenCache;

/// A valid console session with the account and its current tenant membership.
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub session: SessionRecord,
    pub account: Account,
    /// The membership in the session's current tenant, if any.
    pub member: Option<Member>,
    pub tenant: Option<Tenant>,
    /// All tenants the account belongs to (for the switcher).
    pub memberships: Vec<(Member, Tenant)>,
}

/// What a successful login hands back: the cookie secret (shown once, never stored).
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub secret: String,
    pub context: SessionContext,
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// The tenant named by a secret of the form `<prefix><tenant>_<random>` (API tokens, write keys).
pub(crate) fn tenant_in(secret: &str, prefix: &str) -> Option<TenantId> {
    let (tenant, _) = secret.strip_prefix(prefix)?.split_once('_')?;
    uuid::Uuid::try_parse(tenant).ok().map(TenantId)
}

pub(crate) fn sha256(s: &str) -> Vec<u8> {
    Sha256::digest(s.as_bytes()).to_vec()
}

/// A valid argon2id hash of nothing in particular, so unknown usernames cost as much as known ones.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2l5dWR1bW15c2FsdA$0oWhOJVLxW1cV2h4q3bVy8fZ9Jc3y2Yt6h8kqGQ8rQ0";

impl App {
    /// Hashes a password with argon2id off the async threads.
    pub async fn hash_password(&self, password: &str) -> AppResult<String> {
        let (m, t) = (self.settings.security.argon2_memory_kib, self.settings.security.argon2_iterations);
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            let params = Params::new(m, t, 1, None).map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
        })
        .await
        .map_err(AppError::internal)?
    }

    async fn verify_password(&self, password: &str, hash: &str) -> bool {
        let (password, hash) = (password.to_string(), hash.to_string());
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .unwrap_or(false)
    }

    fn window(&self) -> Duration {
        Duration::minutes(self.settings.security.login_window_minutes)
    }

    /// Refuses when the account or the address has used up its failures in the current window.
    async fn check_throttle(&self, keys: &[String]) -> AppResult<()> {
        let now = self.now();
        for key in keys {
            if let Some((failures, started)) = self.store.sessions().failures(key, now - self.window()).await?
                && failures >= self.settings.security.login_max_failures
            {
                let retry = (started + self.window() - now).num_seconds().max(1);
                return Err(AppError::RateLimited { retry_after_secs: u64::try_from(retry).unwrap_or(1) });
            }
        }
        Ok(())
    }

    /// Signs in with username and password; returns a fresh session (a new id every login).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        ip: Option<String>,
        ua: Option<String>,
    ) -> AppResult<LoginOutcome> {
        let username = username.trim().to_lowercase();
        if username.is_empty() || password.is_empty() || username.chars().count() > 64 || password.chars().count() > 256
        {
            return Err(AppError::InvalidCredentials);
        }
        let keys = vec![format!("user:{username}"), format!("ip:{}", ip.as_deref().unwrap_or("unknown"))];
        self.check_throttle(&keys).await?;
        let found = self.store.accounts().by_username(&username).await?;
        let hash = found.as_ref().map(|(_, h)| h.as_str()).unwrap_or(DUMMY_HASH);
        let ok = self.verify_password(password, hash).await;
        let account = match found {
            Some((account, _)) if ok && account.active => account,
            other => {
                let now = self.now();
                for key in &keys {
                    self.store.sessions().record_failure(key, now, now - self.window()).await?;
                }
                metrics::counter!("siyu_login_failures_total").increment(1);
                if let Some((account, _)) = other {
                    for m in self.store.members().of_account(account.id).await? {
                        let ev = AuditEvent {
                            action: "auth.login_failed",
                            object_type: "account",
                            object_id: Some(account.id.to_string()),
                            detail: json!({"username": username}),
                        };
                        self.audit_raw(
                            m.tenant_id,
                            Some((account.id, account.display_name.clone())),
                            ip.clone(),
                            ua.clone(),
                            ev,
                        )
                        .await;
                    }
                }
                return Err(AppError::InvalidCredentials);
            }
        };
        self.store.sessions().clear_failures(&keys[0]).await?;
        let memberships = self.memberships(&account).await?;
        let tenant = memberships.iter().find(|(m, t)| m.active && t.status == TenantStatus::Active).map(|(_, t)| t.id);
        let now = self.now();
        let secret = random_token(32);
        let session = SessionRecord {
            id_hash: sha256(&secret),
            user_id: account.id,
            tenant_id: tenant,
            csrf_token: random_token(24),
            ip: ip.clone(),
            user_agent: ua.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + Duration::hours(self.settings.security.session_absolute_hours),
        };
        self.store.sessions().insert(&session).await?;
        if let Some(t) = tenant {
            let ev = AuditEvent {
                action: "auth.login",
                object_type: "account",
                object_id: Some(account.id.to_string()),
                detail: json!({}),
            };
            self.audit_raw(t, Some((account.id, account.display_name.clone())), ip, ua, ev).await;
        }
        let context = self.context_for(session, account, memberships)?;
        Ok(LoginOutcome { secret, context })
    }

    async fn memberships(&self, account: &Account) -> AppResult<Vec<(Member, Tenant)>> {
        let mut out = Vec::new();
        for m in self.store.members().of_account(account.id).await? {
            let t = self.store.tenants().get(m.tenant_id).await?;
            out.push((m, t));
        }
        Ok(out)
    }

    fn context_for(
        &self,
        session: SessionRecord,
        account: Account,
        memberships: Vec<(Member, Tenant)>,
    ) -> AppResult<SessionContext> {
        let current = session.tenant_id.and_then(|t| memberships.iter().find(|(m, _)| m.tenant_id == t)).cloned();
        let (member, tenant) = match current {
            Some((m, t)) => (Some(m), Some(t)),
            None => (None, None),
        };
        Ok(SessionContext { session, account, member, tenant, memberships })
    }

    /// Resolves a session cookie; `None` when unknown, expired (absolute or idle) or the account is disabled.
    pub async fn session(&self, secret: &str) -> AppResult<Option<SessionContext>> {
        if secret.is_empty() || secret.len() > 128 {
            return Ok(None);
        }
        let hash = sha256(secret);
        let Some(session) = self.store.sessions().get(&hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        let idle = Duration::minutes(self.settings.security.session_idle_minutes);
        if session.expires_at <= now || session.last_seen_at + idle <= now {
            self.store.sessions().delete(&hash).await?;
            return Ok(None);
        }
        let account = self.store.accounts().get(session.user_id).await?;
        if !account.active {
            return Ok(None);
        }
        if now - session.last_seen_at > Duration::minutes(1) {
            self.store.sessions().touch(&hash, now).await?;
        }
        let memberships = self.memberships(&account).await?;
        self.context_for(session, account, memberships).map(Some)
    }

    /// The acting member of a session's current tenant.
    pub async fn session_actor(
        &self,
        ctx: &SessionContext,
        ip: Option<String>,
        ua: Option<String>,
    ) -> AppResult<Actor> {
        let (Some(member), Some(tenant)) = (&ctx.member, &ctx.tenant) else {
            return Err(AppError::Forbidden);
        };
        if tenant.status != TenantStatus::Active {
            return Err(AppError::TenantSuspended);
        }
        if !member.active {
            return Err(AppError::Forbidden);
        }
        Ok(Actor::for_member(&self.store, member, Via::Session).await?.with_origin(ip, ua))
    }

    /// Switches the session to another tenant the account belongs to.
    pub async fn switch_tenant(&self, ctx: &SessionContext, tenant: TenantId) -> AppResult<()> {
        let ok =
            ctx.memberships.iter().any(|(m, t)| m.tenant_id == tenant && m.active && t.status == TenantStatus::Active);
        if !ok {
            return Err(AppError::NotFound);
        }
        self.store.sessions().set_tenant(&ctx.session.id_hash, tenant).await?;
        Ok(())
    }

    pub async fn logout(&self, secret: &str) -> AppResult<()> {
        self.store.sessions().delete(&sha256(secret)).await?;
        Ok(())
    }

    /// Issues an API token for the actor's tenant. The returned text is shown once; only its hash is kept.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
        scopes: &[TokenScope],
    ) -> AppResult<(ApiToken, String)> {
        actor.require(Permission::TokensManage)?;
        let name = text::required("name", name, 64)?;
        if scopes.is_empty() {
            return Err(AppError::invalid("scopes", "at_least_one_scope"));
        }
        let mut scopes = scopes.to_vec();
        scopes.sort_by_key(|s| s.as_str());
        scopes.dedup();
        let secret = format!("syk_{}_{}", actor.tenant.0.simple(), random_token(32));
        let token = ApiToken {
            id: ApiTokenId::new(),
            name,
            prefix: secret.chars().take(12).collect(),
            scopes,
            created_by: actor.user,
            created_at: self.now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.store.tokens().insert(actor.tenant, &token, &sha256(&secret)).await?;
        let ev = AuditEvent {
            action: "token.create",
            object_type: "api_token",
            object_id: Some(token.id.to_string()),
            detail: json!({"name": token.name, "scopes": token.scopes}),
        };
        self.audit(actor, ev).await;
        Ok((token, secret))
    }

    pub async fn list_tokens(&self, actor: &Actor) -> AppResult<Vec<ApiToken>> {
        actor.require(Permission::TokensManage)?;
        Ok(self.store.tokens().list(actor.tenant).await?)
    }

    pub async fn revoke_token(&self, actor: &Actor, id: ApiTokenId) -> AppResult<()> {
        actor.require(Permission::TokensManage)?;
        self.store.tokens().revoke(actor.tenant, id, self.now()).await?;
        self.token_cache.clear();
        let ev = AuditEvent {
            action: "token.revoke",
            object_type: "api_token",
            object_id: Some(id.to_string()),
            detail: json!({}),
        };
        self.audit(actor, ev).await;
        Ok(())
    }

    /// Resolves a bearer token into the actor of the member who created it, limited by the token's scopes.
    /// The answer is kept for `security.token_cache_secs` (see [`TokenCache`]).
    pub async fn token_actor(&self, token: &str, ip: Option<String>, ua: Option<String>) -> AppResult<Actor> {
        let tenant = tenant_in(token, "syk_").ok_or(AppError::Unauthenticated)?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = self.now();
        // The digest covers the tenant written in the token, so an entry is always of that tenant.
        let resolved = match self.token_cache.get(&digest, now) {
            Some(r) => r,
            None => {
                let generation = self.token_cache.generation();
                let resolved = self.resolve_token(tenant, &digest).await?;
                let ttl = Duration::seconds(self.settings.security.token_cache_secs);
                self.token_cache.put(digest, resolved.clone(), generation, now, ttl);
                resolved
            }
        };
        // Written at most once a minute, so hot paths stay read-only.
        if resolved.last_used_at.is_none_or(|t| t < now - Duration::minutes(1)) {
            self.store.tokens().touch(tenant, resolved.token, now).await?;
            self.token_cache.used(&digest, now);
        }
        Ok(resolved.actor.with_origin(ip, ua))
    }

    async fn resolve_token(&self, tenant: TenantId, digest: &[u8; 32]) -> AppResult<Resolved> {
        let (api_token, tenant_active, member) =
            self.store.tokens().authenticate(tenant, digest).await?.ok_or(AppError::Unauthenticated)?;
        if !tenant_active {
            return Err(AppError::TenantSuspended);
        }
        if !member.active {
            return Err(AppError::Unauthenticated);
        }
        let (token, last_used_at) = (api_token.id, api_token.last_used_at);
        let via = Via::Token { id: api_token.id, name: api_token.name, scopes: api_token.scopes };
        let actor = Actor::for_member(&self.store, &member, via).await?;
        Ok(Resolved { actor, token, last_used_at })
    }
}
