//! Idempotency keys for API POSTs (see `siyu-web`'s middleware): claim, complete, release.

pub use siyu_store::idempotency::Claim;

use crate::error::AppResult;
use crate::{Actor, App};

impl App {
    pub async fn claim_idempotency(&self, actor: &Actor, key: &str, request_hash: &str) -> AppResult<Claim> {
        let now = self.now();
        let expired = now - chrono::Duration::hours(self.settings.security.idempotency_hours);
        Ok(self.store.idempotency().claim(actor.tenant, &actor.principal(), key, request_hash, now, expired).await?)
    }

    pub async fn complete_idempotency(&self, actor: &Actor, key: &str, status: u16, body: &[u8]) -> AppResult<()> {
        Ok(self.store.idempotency().complete(actor.tenant, &actor.principal(), key, status, body).await?)
    }

    pub async fn release_idempotency(&self, actor: &Actor, key: &str) -> AppResult<()> {
        Ok(self.store.idempotency().release(actor.tenant, &actor.principal(), key).await?)
    }
}
