//! Identities of a customer: validation into storable records (PII encrypted and blind-indexed), adding,
//! removing, and revealing a masked value (audited).

use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, IdentityId};
use siyu_domain::identity::{Identity, NewIdentity};
use siyu_domain::timeline::kinds;
use siyu_store::identities::IdentityRecord;

use super::{IdentityInput, entry, source_of};
use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

impl App {
    /// Validates identity input and turns it into a storable record (PII encrypted, blind-indexed).
    pub async fn identity_record(
        &self,
        actor: &Actor,
        customer: CustomerId,
        input: &IdentityInput,
        source: &str,
    ) -> AppResult<IdentityRecord> {
        let id = NewIdentity::parse(input.kind, input.namespace.as_deref(), &input.value)?;
        let (lookup, value_enc, display) = if id.kind.is_pii() {
            let keys = self.vault.keys(&self.store, actor.tenant).await?;
            (keys.blind_index(id.kind, &id.value), Some(keys.encrypt(&id.value)?), id.masked())
        } else {
            (id.value.clone(), None, id.value.clone())
        };
        Ok(IdentityRecord {
            identity: Identity {
                id: IdentityId::new(),
                customer_id: customer,
                kind: id.kind,
                namespace: id.namespace,
                display,
                source: source.into(),
                created_at: self.now(),
            },
            lookup,
            value_enc,
        })
    }

    /// Decrypts one PII identity for a member allowed to see it; every reveal is audited.
    pub async fn reveal_identity(
        &self,
        actor: &Actor,
        customer: CustomerId,
        identity: IdentityId,
    ) -> AppResult<String> {
        actor.require(Permission::PiiReveal)?;
        self.ensure_visible(actor, customer).await?;
        let rec = self.store.identities().get(actor.tenant, identity).await?;
        if rec.identity.customer_id != customer {
            return Err(AppError::NotFound);
        }
        let value = match &rec.value_enc {
            Some(enc) => self.vault.keys(&self.store, actor.tenant).await?.decrypt(enc)?,
            None => rec.lookup.clone(),
        };
        let ev = AuditEvent {
            action: "pii.reveal",
            object_type: "customer",
            object_id: Some(customer.to_string()),
            detail: json!({"identity_id": identity, "kind": rec.identity.kind}),
        };
        self.audit(actor, ev).await;
        Ok(value)
    }

    pub async fn add_identity(&self, actor: &Actor, customer: CustomerId, input: IdentityInput) -> AppResult<Identity> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, customer).await?;
        let source = source_of(actor);
        let rec = self.identity_record(actor, customer, &input, source).await?;
        self.store.identities().insert(actor.tenant, &rec).await?;
        let e = entry(
            customer,
            actor,
            source,
            kinds::IDENTITY_ADDED,
            self.now(),
            json!({"kind": rec.identity.kind, "display": rec.identity.display}),
        );
        self.store.timeline().append(actor.tenant, &e).await?;
        self.after_customer_change(actor.tenant, customer).await;
        Ok(rec.identity)
    }

    pub async fn remove_identity(&self, actor: &Actor, customer: CustomerId, identity: IdentityId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, customer).await?;
        let rec = self.store.identities().get(actor.tenant, identity).await?;
        if rec.identity.customer_id != customer {
            return Err(AppError::NotFound);
        }
        self.store.identities().delete(actor.tenant, identity).await?;
        let e = entry(
            customer,
            actor,
            source_of(actor),
            kinds::IDENTITY_REMOVED,
            self.now(),
            json!({"kind": rec.identity.kind, "display": rec.identity.display}),
        );
        self.store.timeline().append(actor.tenant, &e).await?;
        self.after_customer_change(actor.tenant, customer).await;
        Ok(())
    }

    pub async fn identities(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<Identity>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        Ok(self.store.identities().of_customer(actor.tenant, customer).await?.into_iter().map(|r| r.identity).collect())
    }
}
