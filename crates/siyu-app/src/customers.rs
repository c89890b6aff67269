//! Customer use cases: create, read, update, delete, list with filters, identities, follows, notes,
//! the timeline and revealing PII.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use siyu_domain::access::Permission;
use siyu_domain::customer::{Customer, CustomerFilter, Follow, Gender, Note, Profile};
use siyu_domain::id::{CustomerId, IdentityId, NoteId, TagId, TimelineId, UserId};
use siyu_domain::identity::{Identity, IdentityKind, NewIdentity};
use siyu_domain::page::{Cursor, Page, PageRequest};
use siyu_domain::phone::Phone;
use siyu_domain::text;
use siyu_domain::timeline::{TimelineEntry, kinds};
use siyu_store::customers::{CustomerQuery, NewCustomerRecord};
use siyu_store::identities::IdentityRecord;
use siyu_store::tags::ChangeContext;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    pub kind: IdentityKind,
    /// appid for openid, corp_id for external_userid, platform for platform_buyer.
    pub namespace: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerInput {
    pub name: String,
    #[serde(default)]
    pub gender: Option<Gender>,
    pub avatar_url: Option<String>,
    pub remark: Option<String>,
    /// Full phone number (stored encrypted, shown masked).
    pub phone: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub identities: Vec<IdentityInput>,
    #[serde(default)]
    pub tags: Vec<TagId>,
    /// Custom profile field values by field key.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    /// The staff member following this customer (defaults to the creator unless they see all customers).
    pub follow_user_id: Option<UserId>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub gender: Option<Gender>,
    /// `null` clears it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub remark: Option<Option<String>>,
    /// Custom values to set; a `null` value clears that field.
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Map<String, Value>>,
}

/// Distinguishes an absent field from an explicit `null`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagRef {
    pub id: TagId,
    pub name: String,
    pub group: String,
}

/// A customer as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerSummary {
    #[serde(flatten)]
    pub customer: Customer,
    /// Masked phone (`138****5678`).
    pub phone: Option<String>,
    pub tags: Vec<TagRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowView {
    #[serde(flatten)]
    pub follow: Follow,
    pub user_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoteView {
    #[serde(flatten)]
    pub note: Note,
    pub author_name: String,
}

/// Everything the customer page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerDetail {
    #[serde(flatten)]
    pub customer: Customer,
    pub phone: Option<String>,
    pub identities: Vec<Identity>,
    pub tags: Vec<TagRef>,
    pub follows: Vec<FollowView>,
    pub notes: Vec<NoteView>,
}

fn entry(
    customer: CustomerId,
    actor: &Actor,
    source: &str,
    kind: &str,
    at: chrono::DateTime<chrono::Utc>,
    payload: Value,
) -> TimelineEntry {
    TimelineEntry {
        id: TimelineId::new(),
        customer_id: customer,
        occurred_at: at,
        source: source.into(),
        kind: kind.into(),
        actor_id: Some(actor.user),
        payload,
    }
}

/// Where a change came from, for the timeline (`console`, `api`, `import`).
pub fn source_of(actor: &Actor) -> &'static str {
    match actor.via {
        crate::actor::Via::Session => "console",
        crate::actor::Via::Token { .. } => "api",
        crate::actor::Via::System => "system",
    }
}

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

    /// Checks custom values against the tenant's field definitions; returns canonical values.
    pub async fn coerce_custom(&self, actor: &Actor, values: &Map<String, Value>) -> AppResult<Map<String, Value>> {
        if values.is_empty() {
            return Ok(Map::new());
        }
        let defs = self.store.fields().list(actor.tenant).await?;
        let mut out = Map::new();
        for (key, value) in values {
            let def = defs
                .iter()
                .find(|d| &d.key == key)
                .ok_or_else(|| AppError::invalid(format!("custom.{key}"), "unknown_field"))?;
            out.insert(key.clone(), def.coerce(value)?);
        }
        Ok(out)
    }

    pub async fn create_customer(&self, actor: &Actor, input: NewCustomerInput) -> AppResult<Customer> {
        actor.require(Permission::CustomersWrite)?;
        let source = source_of(actor);
        self.create_customer_from(actor, input, source).await
    }

    /// Creates a customer, recording `source` (imports pass `import`).
    pub async fn create_customer_from(
        &self,
        actor: &Actor,
        input: NewCustomerInput,
        source: &str,
    ) -> AppResult<Customer> {
        let profile = Profile::parse(
            &input.name,
            input.gender.unwrap_or_default(),
            input.avatar_url.as_deref(),
            input.remark.as_deref(),
        )?;
        let now = self.now();
        let id = CustomerId::new();
        let mut custom = self.coerce_custom(actor, &input.custom).await?;
        custom.retain(|_, v| !v.is_null());
        let mut identity_inputs = input.identities.clone();
        if let Some(p) = input.phone.as_deref().filter(|p| !p.trim().is_empty()) {
            identity_inputs.push(IdentityInput { kind: IdentityKind::Phone, namespace: None, value: p.into() });
        }
        if let Some(e) = input.email.as_deref().filter(|e| !e.trim().is_empty()) {
            identity_inputs.push(IdentityInput { kind: IdentityKind::Email, namespace: None, value: e.into() });
        }
        if identity_inputs.len() > 20 {
            return Err(AppError::invalid("identities", "too_many (max 20)"));
        }
        let mut identities = Vec::with_capacity(identity_inputs.len());
        for i in &identity_inputs {
            let rec = self.identity_record(actor, id, i, source).await.map_err(|e| match e {
                AppError::Invalid(inv) if inv.field == "value" => AppError::invalid(i.kind.as_str(), inv.reason),
                other => other,
            })?;
            if identities.iter().any(|r: &IdentityRecord| {
                r.identity.kind == rec.identity.kind
                    && r.identity.namespace == rec.identity.namespace
                    && r.lookup == rec.lookup
            }) {
                continue;
            }
            identities.push(rec);
        }
        let tags = self.resolve_tag_adds(actor, &input.tags).await?;
        let follow_user = match input.follow_user_id {
            Some(u) => {
                self.store
                    .members()
                    .get(actor.tenant, u)
                    .await
                    .map_err(|_| AppError::invalid("follow_user_id", "unknown_user"))?;
                Some(u)
            }
            None if actor.visibility.is_some() => Some(actor.user),
            None => None,
        };
        let follows: Vec<Follow> = follow_user
            .map(|u| Follow {
                customer_id: id,
                user_id: u,
                remark: None,
                description: None,
                add_way: "manual".into(),
                state: None,
                added_at: now,
            })
            .into_iter()
            .collect();
        let customer = Customer {
            id,
            name: profile.name,
            gender: profile.gender,
            avatar_url: profile.avatar_url,
            remark: profile.remark,
            source: source.into(),
            custom,
            created_at: now,
            updated_at: now,
            last_active_at: None,
        };
        let mut timeline = vec![entry(id, actor, source, kinds::CUSTOMER_CREATED, now, json!({"name": customer.name}))];
        for t in &tags {
            timeline.push(entry(
                id,
                actor,
                source,
                kinds::TAG_ADDED,
                now,
                json!({"tag_id": t.tag, "tag": t.tag_name, "reason": "created"}),
            ));
        }
        for f in &follows {
            timeline.push(entry(id, actor, source, kinds::FOLLOW_ADDED, now, json!({"user_id": f.user_id})));
        }
        let ctx = ChangeContext { actor: Some(actor.user), source, reason: "created", at: now };
        let record = NewCustomerRecord {
            customer: &customer,
            identities: &identities,
            follows: &follows,
            tags: &tags,
            ctx: &ctx,
            timeline: &timeline,
        };
        self.store.customers().create(actor.tenant, &record).await?;
        metrics::counter!("siyu_customers_created_total", "source" => source.to_string()).increment(1);
        Ok(customer)
    }

    pub async fn get_customer(&self, actor: &Actor, id: CustomerId) -> AppResult<CustomerDetail> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, id).await?;
        let customer = self.store.customers().get(actor.tenant, id).await?;
        let identities: Vec<Identity> =
            self.store.identities().of_customer(actor.tenant, id).await?.into_iter().map(|r| r.identity).collect();
        let phone = identities.iter().find(|i| i.kind == IdentityKind::Phone).map(|i| i.display.clone());
        let tags = self.tag_refs(actor, &[id]).await?.remove(&id).unwrap_or_default();
        let names = self.member_names(actor).await?;
        let name_of = |u: &UserId| names.get(u).cloned().unwrap_or_else(|| "—".into());
        let follows = self
            .store
            .follows()
            .of_customer(actor.tenant, id)
            .await?
            .into_iter()
            .map(|f| FollowView { user_name: name_of(&f.user_id), follow: f })
            .collect();
        let notes = self
            .store
            .notes()
            .of_customer(actor.tenant, id)
            .await?
            .into_iter()
            .map(|n| NoteView { author_name: name_of(&n.author_id), note: n })
            .collect();
        Ok(CustomerDetail { customer, phone, identities, tags, follows, notes })
    }

    pub async fn member_names(&self, actor: &Actor) -> AppResult<HashMap<UserId, String>> {
        Ok(self.store.members().list(actor.tenant).await?.into_iter().map(|m| (m.user_id, m.display_name)).collect())
    }

    pub async fn update_customer(&self, actor: &Actor, id: CustomerId, patch: CustomerPatch) -> AppResult<Customer> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_visible(actor, id).await?;
        let mut c = self.store.customers().get(actor.tenant, id).await?;
        let before = c.clone();
        let profile = Profile::parse(
            patch.name.as_deref().unwrap_or(&c.name),
            patch.gender.unwrap_or(c.gender),
            match &patch.avatar_url {
                Some(v) => v.as_deref(),
                None => c.avatar_url.as_deref(),
            },
            match &patch.remark {
                Some(v) => v.as_deref(),
                None => c.remark.as_deref(),
            },
        )?;
        if let Some(custom) = &patch.custom {
            for (k, v) in self.coerce_custom(actor, custom).await? {
                if v.is_null() {
                    c.custom.remove(&k);
                } else {
                    c.custom.insert(k, v);
                }
            }
        }
        (c.name, c.gender, c.avatar_url, c.remark) = (profile.name, profile.gender, profile.avatar_url, profile.remark);
        let mut changed = Vec::new();
        for (field, differs) in [
            ("name", before.name != c.name),
            ("gender", before.gender != c.gender),
            ("avatar_url", before.avatar_url != c.avatar_url),
            ("remark", before.remark != c.remark),
            ("custom", before.custom != c.custom),
        ] {
            if differs {
                changed.push(field);
            }
        }
        if changed.is_empty() {
            return Ok(c);
        }
        c.updated_at = self.now();
        self.store.customers().update(actor.tenant, &c).await?;
        let e = entry(id, actor, source_of(actor), kinds::PROFILE_UPDATED, c.updated_at, json!({"fields": changed}));
        self.store.timeline().append(actor.tenant, &e).await?;
        Ok(c)
    }

    pub async fn delete_customer(&self, actor: &Actor, id: CustomerId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_visible(actor, id).await?;
        let c = self.store.customers().get(actor.tenant, id).await?;
        self.store.customers().delete(actor.tenant, id).await?;
        let ev = AuditEvent {
            action: "customer.delete",
            object_type: "customer",
            object_id: Some(id.to_string()),
            detail: json!({"name": c.name}),
        };
        self.audit(actor, ev).await;
        Ok(())
    }

    /// Builds the store query for a filter: a search text that parses as a phone or email also matches
    /// that identity exactly through its blind index.
    pub async fn customer_query<'a>(
        &self,
        actor: &'a Actor,
        filter: &'a CustomerFilter,
    ) -> AppResult<CustomerQuery<'a>> {
        filter.validate()?;
        let mut pii_lookups = Vec::new();
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let keys = self.vault.keys(&self.store, actor.tenant).await?;
            if let Ok(p) = Phone::parse(q) {
                pii_lookups.push((IdentityKind::Phone, keys.blind_index(IdentityKind::Phone, p.e164())));
            }
            if let Ok(e) = NewIdentity::parse(IdentityKind::Email, None, q) {
                pii_lookups.push((IdentityKind::Email, keys.blind_index(IdentityKind::Email, &e.value)));
            }
        }
        Ok(CustomerQuery { filter, visibility: &actor.visibility, pii_lookups })
    }

    pub async fn list_customers(
        &self,
        actor: &Actor,
        filter: &CustomerFilter,
        page: PageRequest,
    ) -> AppResult<Page<CustomerSummary>> {
        actor.require(Permission::CustomersRead)?;
        let q = self.customer_query(actor, filter).await?;
        let rows = self.store.customers().list(actor.tenant, &q, page).await?;
        let page = Page::from_overfetch(rows, page.limit, |c: &Customer| Cursor { at: c.created_at, id: c.id.0 });
        let items = self.summaries(actor, page.items).await?;
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn count_customers(&self, actor: &Actor, filter: &CustomerFilter) -> AppResult<i64> {
        actor.require(Permission::CustomersRead)?;
        let q = self.customer_query(actor, filter).await?;
        Ok(self.store.customers().count(actor.tenant, &q).await?)
    }

    /// Adds masked phones and tag names to a batch of customers.
    pub async fn summaries(&self, actor: &Actor, customers: Vec<Customer>) -> AppResult<Vec<CustomerSummary>> {
        let ids: Vec<CustomerId> = customers.iter().map(|c| c.id).collect();
        let mut phones: HashMap<CustomerId, String> = HashMap::new();
        for r in self.store.identities().of_customers(actor.tenant, IdentityKind::Phone, &ids).await? {
            phones.entry(r.identity.customer_id).or_insert(r.identity.display);
        }
        let mut tags = self.tag_refs(actor, &ids).await?;
        Ok(customers
            .into_iter()
            .map(|c| CustomerSummary {
                phone: phones.remove(&c.id),
                tags: tags.remove(&c.id).unwrap_or_default(),
                customer: c,
            })
            .collect())
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
        self.ensure_visible(actor, customer).await?;
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
        Ok(rec.identity)
    }

    pub async fn remove_identity(&self, actor: &Actor, customer: CustomerId, identity: IdentityId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_visible(actor, customer).await?;
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
        Ok(())
    }

    pub async fn add_follow(
        &self,
        actor: &Actor,
        customer: CustomerId,
        user: UserId,
        remark: Option<&str>,
        state: Option<&str>,
    ) -> AppResult<Follow> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_visible(actor, customer).await?;
        self.store.members().get(actor.tenant, user).await.map_err(|_| AppError::invalid("user_id", "unknown_user"))?;
        let f = Follow {
            customer_id: customer,
            user_id: user,
            remark: text::optional("remark", remark, 64)?,
            description: None,
            add_way: "manual".into(),
            state: text::optional("state", state, 64)?,
            added_at: self.now(),
        };
        self.store.follows().upsert(actor.tenant, &f).await?;
        let e = entry(customer, actor, source_of(actor), kinds::FOLLOW_ADDED, f.added_at, json!({"user_id": user}));
        self.store.timeline().append(actor.tenant, &e).await?;
        Ok(f)
    }

    pub async fn remove_follow(&self, actor: &Actor, customer: CustomerId, user: UserId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_visible(actor, customer).await?;
        self.store.follows().delete(actor.tenant, customer, user).await?;
        let e = entry(customer, actor, source_of(actor), kinds::FOLLOW_REMOVED, self.now(), json!({"user_id": user}));
        self.store.timeline().append(actor.tenant, &e).await?;
        Ok(())
    }

    pub async fn add_note(&self, actor: &Actor, customer: CustomerId, body: &str) -> AppResult<Note> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_visible(actor, customer).await?;
        let note = Note {
            id: NoteId::new(),
            customer_id: customer,
            author_id: actor.user,
            body: text::required("body", body, 2000)?,
            created_at: self.now(),
        };
        self.store.notes().insert(actor.tenant, &note).await?;
        let preview: String = note.body.chars().take(80).collect();
        let e = entry(
            customer,
            actor,
            source_of(actor),
            kinds::NOTE_ADDED,
            note.created_at,
            json!({"note_id": note.id, "preview": preview}),
        );
        self.store.timeline().append(actor.tenant, &e).await?;
        Ok(note)
    }

    pub async fn delete_note(&self, actor: &Actor, customer: CustomerId, note: NoteId) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_visible(actor, customer).await?;
        self.store.notes().delete(actor.tenant, customer, note).await?;
        Ok(())
    }

    pub async fn notes(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<Note>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        Ok(self.store.notes().of_customer(actor.tenant, customer).await?)
    }

    pub async fn identities(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<Identity>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        Ok(self.store.identities().of_customer(actor.tenant, customer).await?.into_iter().map(|r| r.identity).collect())
    }

    pub async fn follows(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<Follow>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        Ok(self.store.follows().of_customer(actor.tenant, customer).await?)
    }

    pub async fn timeline(
        &self,
        actor: &Actor,
        customer: CustomerId,
        page: PageRequest,
    ) -> AppResult<Page<TimelineEntry>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let rows = self.store.timeline().of_customer(actor.tenant, customer, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, |e: &TimelineEntry| Cursor { at: e.occurred_at, id: e.id.0 }))
    }

    /// Appends a timeline entry written by another capability (and marks the customer active).
    pub async fn record_event(&self, actor: &Actor, e: &TimelineEntry) -> AppResult<()> {
        self.store.timeline().append(actor.tenant, e).await?;
        self.store.customers().touch_active(actor.tenant, e.customer_id, e.occurred_at).await?;
        Ok(())
    }
}
