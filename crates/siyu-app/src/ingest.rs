//! Segment-compatible event ingestion: write keys (sources), the `/v1/*` request path, and the debugger.
//!
//! A request is parsed and validated ([`siyu_domain::event::parse_request`]), authenticated by its write key
//! (HTTP Basic user name, else the body's `writeKey`), has its personal data sealed ([`pii`]), and is handed
//! to the group-commit [`writer`]. The caller's `200` waits for the commit: an acknowledged event is durable.
//! Invalid items of a well-formed request go to the quarantine in the same commit; the valid ones are kept.
//!
//! Write keys look like `swk_<tenant>_<secret>`: the tenant part routes the lookup (every index starts with
//! `tenant_id`), the secret is 32 random bytes, and only its SHA-256 is stored.

pub(crate) mod pii;
mod writer;

use std::sync::OnceLock;

use siyu_domain::access::Permission;
use siyu_domain::event::{Endpoint, ItemError, parse_request};
use siyu_domain::id::{SourceId, TenantId};
use siyu_domain::source::{Source, SourceKind, parse_source_name};
use siyu_store::events::{EventBatch, QuarantinedItem, StoredEvent};

use crate::audit::AuditEvent;
use crate::auth::{random_token, sha256, tenant_in};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

pub use writer::Writer;

/// What became of an accepted request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestReceipt {
    /// Messages stored as new events.
    pub accepted: usize,
    /// Messages the source had already sent (same `messageId`): acknowledged, stored once.
    pub duplicates: usize,
    /// Items refused by validation, kept in the quarantine.
    pub rejected: Vec<ItemError>,
}

/// The lazily started group-commit writer of one [`App`] (started on the first request, in its runtime).
#[derive(Default)]
pub struct IngestState {
    writer: OnceLock<Writer>,
}

impl App {
    fn writer(&self) -> &Writer {
        self.ingest.writer.get_or_init(|| Writer::start(self.store.clone(), &self.settings.ingest))
    }

    /// Takes one `/v1/*` request: `body` is the decompressed body, `basic_key` the HTTP Basic user name.
    pub async fn ingest(&self, endpoint: Endpoint, body: &[u8], basic_key: Option<&str>) -> AppResult<IngestReceipt> {
        let received_at = self.now();
        let parsed = parse_request(endpoint, body).map_err(|e| AppError::invalid("body", e.code()))?;
        let key = basic_key.filter(|k| !k.is_empty()).or(parsed.write_key.as_deref());
        let (tenant, source) = self.authenticate_write_key(key.ok_or(AppError::Unauthenticated)?).await?;
        let (mut messages, mut quarantined) = (parsed.messages, parsed.errors);
        if !quarantined.is_empty() || messages.iter().any(pii::carries_pii) {
            let keys = self.vault.keys(&self.store, tenant).await?;
            for m in messages.iter_mut().filter(|m| pii::carries_pii(m)) {
                pii::seal(&keys, m)?;
            }
            for e in &mut quarantined {
                pii::seal_value(&keys, &mut e.item)?;
                pii::seal_loose_phones(&keys, &mut e.item)?;
            }
        }
        let batch = EventBatch { tenant, source: source.id, received_at, messages, quarantined };
        let rejected = batch.quarantined.clone();
        let outcome = self.writer().submit(batch).await?;
        metrics::counter!("siyu_events_accepted_total").increment(outcome.inserted() as u64);
        metrics::counter!("siyu_events_duplicate_total").increment(outcome.duplicates() as u64);
        metrics::counter!("siyu_events_quarantined_total").increment(outcome.quarantined as u64);
        Ok(IngestReceipt { accepted: outcome.inserted(), duplicates: outcome.duplicates(), rejected })
    }

    /// The tenant and live source of a write key; unknown, malformed and revoked keys are `Unauthenticated`.
    pub async fn authenticate_write_key(&self, key: &str) -> AppResult<(TenantId, Source)> {
        let tenant = tenant_in(key, "swk_").ok_or(AppError::Unauthenticated)?;
        let (source, tenant_active) =
            self.store.sources().authenticate(tenant, &sha256(key)).await?.ok_or(AppError::Unauthenticated)?;
        if !tenant_active {
            return Err(AppError::TenantSuspended);
        }
        Ok((tenant, source))
    }

    /// Creates a source and its write key; the key is returned only here.
    pub async fn create_source(&self, actor: &Actor, name: &str, kind: SourceKind) -> AppResult<(Source, String)> {
        actor.require(Permission::TokensManage)?;
        let name = parse_source_name(name)?;
        let secret = random_token(32);
        let key = format!("swk_{}_{secret}", actor.tenant.0.simple());
        let source = Source {
            id: SourceId::new(),
            name,
            kind,
            // The tenant part is the same for every key of the tenant: show the secret's end instead.
            key_prefix: format!("swk_…{}", &secret[secret.len().saturating_sub(6)..]),
            created_by: actor.user,
            created_at: self.now(),
            revoked_at: None,
        };
        self.store.sources().create(actor.tenant, &source, &sha256(&key)).await?;
        let detail = serde_json::json!({"name": source.name, "kind": kind.as_str()});
        let ev = AuditEvent {
            action: "source.create",
            object_type: "source",
            object_id: Some(source.id.to_string()),
            detail,
        };
        self.audit(actor, ev).await;
        Ok((source, key))
    }

    pub async fn list_sources(&self, actor: &Actor) -> AppResult<Vec<Source>> {
        actor.require(Permission::TokensManage)?;
        Ok(self.store.sources().list(actor.tenant).await?)
    }

    pub async fn get_source(&self, actor: &Actor, id: SourceId) -> AppResult<Source> {
        actor.require(Permission::TokensManage)?;
        Ok(self.store.sources().get(actor.tenant, id).await?)
    }

    pub async fn rename_source(&self, actor: &Actor, id: SourceId, name: &str) -> AppResult<Source> {
        actor.require(Permission::TokensManage)?;
        let name = parse_source_name(name)?;
        self.store.sources().rename(actor.tenant, id, &name).await?;
        Ok(self.store.sources().get(actor.tenant, id).await?)
    }

    /// Revokes a source's write key: its clients get 401 from now on; its events stay.
    pub async fn revoke_source(&self, actor: &Actor, id: SourceId) -> AppResult<()> {
        actor.require(Permission::TokensManage)?;
        self.store.sources().revoke(actor.tenant, id, self.now()).await?;
        let detail = serde_json::json!({});
        let ev = AuditEvent { action: "source.revoke", object_type: "source", object_id: Some(id.to_string()), detail };
        self.audit(actor, ev).await;
        Ok(())
    }

    /// The event debugger: the latest accepted events and quarantined items, newest first.
    pub async fn latest_events(
        &self,
        actor: &Actor,
        source: Option<SourceId>,
        limit: u32,
    ) -> AppResult<(Vec<StoredEvent>, Vec<QuarantinedItem>)> {
        actor.require(Permission::TokensManage)?;
        let limit = limit.clamp(1, 200);
        let events = self.store.events().latest(actor.tenant, source, limit).await?;
        let bad = self.store.events().latest_quarantined(actor.tenant, source, limit).await?;
        Ok((events, bad))
    }
}
