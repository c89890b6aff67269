//! The access export (PIPL Art. 45): one JSON document with everything held about a customer.
//!
//! The small sections (profile with custom values, identities, tags and their history, follows, notes,
//! consents, privacy requests) are read at once; the timeline, events, orders (with lines, status history and
//! receiver) and the audit entries about the customer are read and written page by page, so a customer with
//! many events never sits in memory whole. Phones, emails and receivers are decrypted only for members who
//! may reveal PII (`pii_revealed` says which); otherwise they stay masked. Needs `customers_export`; each
//! export is recorded as an access request and audited (`customer.export_personal_data`).

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use siyu_domain::access::Permission;
use siyu_domain::audit::AuditEntry;
use siyu_domain::customer::Customer;
use siyu_domain::id::{CustomerId, EventId, IdentityId, PrivacyRequestId, SourceId, TagId, UserId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::order::OrderLine;
use siyu_domain::page::{Cursor, PageRequest};
use siyu_domain::privacy::{Consent, ConsentChange, PrivacyRequest, PrivacyRequestKind};
use siyu_domain::timeline::TimelineEntry;
use siyu_store::audit::AuditQuery;
use tokio::sync::mpsc;

use crate::audit::AuditEvent;
use crate::crypto::TenantKeys;
use crate::customers::{FollowView, NoteView, TagRef};
use crate::error::{AppError, AppResult};
use crate::ingest::pii::SEALED;
use crate::orders::{OrderStatusChange, OrderView};
use crate::{Actor, App};

/// The document's format name and version.
pub const FORMAT: &str = "siyu.personal_data/1";
/// Rows read per page of a streamed section, and bytes per chunk handed to the response.
const PAGE: u32 = 200;
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportedIdentity {
    pub id: IdentityId,
    pub kind: IdentityKind,
    pub namespace: String,
    /// The full value, or the masked one for phones and emails when PII is not revealed.
    pub value: String,
    pub masked: bool,
    pub source: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TagChangeView {
    pub tag_id: TagId,
    pub tag_name: String,
    /// `add` or `remove`.
    pub op: String,
    pub actor_id: Option<UserId>,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportedEvent {
    pub id: EventId,
    pub source_id: SourceId,
    pub event_time: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The message in Segment wire form; sealed phones and emails are put back in clear when PII is revealed.
    #[schema(value_type = Object)]
    pub message: Value,
}

/// An order's receiver: decrypted when PII is revealed, else only the masked phone.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ExportedReceiver {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportedOrder {
    pub order: OrderView,
    pub receiver: ExportedReceiver,
    pub lines: Vec<OrderLine>,
    pub history: Vec<OrderStatusChange>,
}

/// The sections of the document read at once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportHead {
    /// `siyu.personal_data/1`.
    pub format: String,
    pub generated_at: DateTime<Utc>,
    /// The access request this export answers.
    pub request_id: PrivacyRequestId,
    /// Whether phones, emails and receivers are in clear (the member may reveal PII) or masked.
    pub pii_revealed: bool,
    /// The profile, custom field values included.
    pub customer: Customer,
    pub erased_at: Option<DateTime<Utc>>,
    pub identities: Vec<ExportedIdentity>,
    /// Every tag held, personal tags of any staff member included.
    pub tags: Vec<TagRef>,
    pub tag_history: Vec<TagChangeView>,
    pub follows: Vec<FollowView>,
    pub notes: Vec<NoteView>,
    pub consents: Vec<Consent>,
    pub consent_history: Vec<ConsentChange>,
    pub privacy_requests: Vec<PrivacyRequest>,
}

/// The whole document (`GET /api/v1/customers/{id}/export`): the head's sections, then the streamed ones.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonalDataExport {
    #[serde(flatten)]
    pub head: ExportHead,
    /// Newest first.
    pub timeline: Vec<TimelineEntry>,
    /// Newest first (by event time).
    pub events: Vec<ExportedEvent>,
    /// Most recently placed first.
    pub orders: Vec<ExportedOrder>,
    /// Audit log entries about the customer (reveals, exports, erasure, consent changes), newest first.
    pub audit_log: Vec<AuditEntry>,
}

/// An export that was allowed, recorded and audited, ready to be written.
#[derive(Debug, Clone)]
pub struct PersonalExport {
    pub customer: CustomerId,
    pub request_id: PrivacyRequestId,
    pub reveal: bool,
}

/// Buffers the document and hands it on in chunks; fails when the receiver went away.
struct Out {
    tx: mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
    first: bool,
}

impl Out {
    async fn push(&mut self, bytes: &[u8]) -> AppResult<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK { self.flush().await } else { Ok(()) }
    }

    async fn flush(&mut self) -> AppResult<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.buf);
        self.tx.send(chunk).await.map_err(|_| AppError::internal(anyhow::anyhow!("the export's reader went away")))
    }

    /// Starts the array `key` (`,"key":[`).
    async fn open(&mut self, key: &str) -> AppResult<()> {
        self.first = true;
        self.push(format!(",\"{key}\":[").as_bytes()).await
    }

    async fn item<T: Serialize>(&mut self, v: &T) -> AppResult<()> {
        let bytes = serde_json::to_vec(v).map_err(AppError::internal)?;
        if !std::mem::take(&mut self.first) {
            self.push(b",").await?;
        }
        self.push(&bytes).await
    }
}

fn next_after<T>(rows: &mut Vec<T>, key: impl Fn(&T) -> Cursor) -> Option<Cursor> {
    let more = rows.len() > PAGE as usize;
    rows.truncate(PAGE as usize);
    if more { rows.last().map(key) } else { None }
}

/// Puts sealed values back at their paths (`traits.phone`, `context.externalIds.0.id`) and drops the list.
fn unseal(keys: Option<&TenantKeys>, message: &mut Value) {
    let sealed = message.get_mut("context").and_then(Value::as_object_mut).and_then(|c| c.remove(SEALED));
    let (Some(keys), Some(Value::Array(sealed))) = (keys, sealed) else { return };
    for s in sealed {
        let (Some(path), Some(enc)) = (s["path"].as_str(), s["enc"].as_str()) else { continue };
        let bytes = base64::engine::general_purpose::STANDARD.decode(enc).ok();
        let Some(clear) = bytes.and_then(|b| keys.decrypt(&b).ok()) else { continue };
        let mut at = Some(&mut *message);
        for part in path.split('.') {
            at = at.and_then(|v| match v {
                Value::Object(m) => m.get_mut(part),
                Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
                _ => None,
            });
        }
        if let Some(slot) = at {
            *slot = Value::String(clear);
        }
    }
}

impl App {
    /// Checks the permission and the scope, then records the access request and audits it.
    pub async fn prepare_personal_export(&self, actor: &Actor, customer: CustomerId) -> AppResult<PersonalExport> {
        actor.require(Permission::CustomersExport)?;
        self.ensure_visible(actor, customer).await?;
        let reveal = actor.can(Permission::PiiReveal);
        let request = PrivacyRequest {
            id: PrivacyRequestId::new(),
            customer_id: customer,
            kind: PrivacyRequestKind::Access,
            actor_id: Some(actor.user),
            actor_name: actor.audit_name(),
            at: self.now(),
            detail: json!({"pii_revealed": reveal, "via": crate::customers::source_of(actor)}),
        };
        self.store.privacy().record_request(actor.tenant, &request).await?;
        let ev = AuditEvent {
            action: "customer.export_personal_data",
            object_type: "customer",
            object_id: Some(customer.to_string()),
            detail: json!({"request_id": request.id, "pii_revealed": reveal}),
        };
        self.audit(actor, ev).await;
        Ok(PersonalExport { customer, request_id: request.id, reveal })
    }

    /// Writes the document of a prepared export into `tx`, in chunks.
    pub async fn write_personal_export(
        &self,
        actor: &Actor,
        plan: &PersonalExport,
        tx: mpsc::Sender<Vec<u8>>,
    ) -> AppResult<()> {
        let (tenant, id) = (actor.tenant, plan.customer);
        let keys = if plan.reveal { Some(self.vault.keys(&self.store, tenant).await?) } else { None };
        let decrypt = |enc: &Option<Vec<u8>>| -> AppResult<Option<String>> {
            match (keys.as_deref(), enc) {
                (Some(k), Some(e)) => k.decrypt(e).map(Some),
                _ => Ok(None),
            }
        };
        let head = self.export_head(actor, plan, keys.as_deref()).await?;
        let mut out = Out { tx, buf: Vec::with_capacity(CHUNK), first: true };
        let head = serde_json::to_vec(&head).map_err(AppError::internal)?;
        out.push(head.strip_suffix(b"}").unwrap_or(&head)).await?;

        out.open("timeline").await?;
        let mut after = None;
        loop {
            let mut rows = self.store.timeline().of_customer(tenant, id, PageRequest { after, limit: PAGE }).await?;
            after = next_after(&mut rows, |e| Cursor { at: e.occurred_at, id: e.id.0 });
            for e in &rows {
                out.item(e).await?;
            }
            if after.is_none() {
                break;
            }
        }
        out.push(b"]").await?;

        out.open("events").await?;
        let mut after = None;
        loop {
            let mut rows = self.store.events().of_customer(tenant, id, PageRequest { after, limit: PAGE }).await?;
            after = next_after(&mut rows, |e| Cursor { at: e.event_time, id: e.id.0 });
            for e in rows {
                let mut message = serde_json::to_value(&e.message).map_err(AppError::internal)?;
                unseal(keys.as_deref(), &mut message);
                let (id, source_id, event_time, received_at) = (e.id, e.source_id, e.event_time, e.received_at);
                out.item(&ExportedEvent { id, source_id, event_time, received_at, message }).await?;
            }
            if after.is_none() {
                break;
            }
        }
        out.push(b"]").await?;

        out.open("orders").await?;
        let mut after = None;
        loop {
            let mut rows = self.store.orders().of_customer(tenant, id, PageRequest { after, limit: PAGE }).await?;
            after = next_after(&mut rows, |o| Cursor { at: o.placed_at, id: o.id.0 });
            for o in rows {
                let lines = self.store.orders().get(tenant, o.id).await?.lines;
                let history = self.store.orders().history(tenant, o.id).await?;
                let history = history.into_iter().map(|h| OrderStatusChange { from: h.from, to: h.to, at: h.at });
                let r = &o.receiver;
                let receiver = ExportedReceiver {
                    name: decrypt(&r.name_enc)?,
                    phone: decrypt(&r.phone_enc)?.or_else(|| r.phone_display.clone()),
                    address: decrypt(&r.address_enc)?,
                };
                let order = ExportedOrder { order: o.into(), receiver, lines, history: history.collect() };
                out.item(&order).await?;
            }
            if after.is_none() {
                break;
            }
        }
        out.push(b"]").await?;

        out.open("audit_log").await?;
        let mut before = None;
        loop {
            let q = AuditQuery { object_id: Some(id.to_string()), before, limit: PAGE, ..Default::default() };
            let mut rows = self.store.audit().list(tenant, &q).await?;
            let more = rows.len() > PAGE as usize;
            rows.truncate(PAGE as usize);
            before = if more { rows.last().map(|e| e.id) } else { None };
            for e in &rows {
                out.item(e).await?;
            }
            if before.is_none() {
                break;
            }
        }
        out.push(b"]}").await?;
        out.flush().await
    }

    /// The whole document in memory: for tests and small customers; handlers stream it instead.
    pub async fn export_personal_data(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<u8>> {
        let plan = self.prepare_personal_export(actor, customer).await?;
        let (tx, mut rx) = mpsc::channel(4);
        let collect = async {
            let mut doc = Vec::new();
            while let Some(chunk) = rx.recv().await {
                doc.extend(chunk);
            }
            doc
        };
        let (written, doc) = tokio::join!(self.write_personal_export(actor, &plan, tx), collect);
        written?;
        Ok(doc)
    }

    async fn export_head(
        &self,
        actor: &Actor,
        plan: &PersonalExport,
        keys: Option<&TenantKeys>,
    ) -> AppResult<ExportHead> {
        let (tenant, id) = (actor.tenant, plan.customer);
        let p = self.store.customers().profile(tenant, id).await?;
        let mut identities = Vec::with_capacity(p.identities.len());
        for r in p.identities {
            let i = r.identity;
            let clear = match (keys, &r.value_enc) {
                (Some(k), Some(enc)) => Some(k.decrypt(enc)?),
                _ => None,
            };
            let masked = i.kind.is_pii() && clear.is_none();
            let value = clear.unwrap_or(i.display);
            let (id, kind, namespace, source, created_at) = (i.id, i.kind, i.namespace, i.source, i.created_at);
            identities.push(ExportedIdentity { id, kind, namespace, value, masked, source, created_at });
        }
        let privacy = self.store.privacy();
        let tag_history = privacy.tag_history(tenant, id).await?.into_iter().map(|h| TagChangeView {
            tag_id: h.tag_id,
            tag_name: h.tag_name,
            op: h.op,
            actor_id: h.actor_id,
            reason: h.reason,
            at: h.at,
        });
        Ok(ExportHead {
            format: FORMAT.into(),
            generated_at: self.now(),
            request_id: plan.request_id,
            pii_revealed: plan.reveal,
            erased_at: privacy.erased_at(tenant, id).await?,
            customer: p.customer,
            identities,
            tags: p.tags.into_iter().map(|(t, g)| TagRef { id: t.id, name: t.name, group: g.name }).collect(),
            tag_history: tag_history.collect(),
            follows: p.follows.into_iter().map(|(follow, user_name)| FollowView { follow, user_name }).collect(),
            notes: p.notes.into_iter().map(|(note, author_name)| NoteView { note, author_name }).collect(),
            consents: Consent::all_of(&privacy.consents(tenant, id).await?),
            consent_history: privacy.consent_history(tenant, id).await?,
            privacy_requests: privacy.requests(tenant, id).await?,
        })
    }
}
