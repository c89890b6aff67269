//! Customer use cases: create, read, update, delete, list with filters, identities, follows, notes,
//! the timeline and revealing PII.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use siyu_domain::access::Permission;
use siyu_domain::customer::{Customer, CustomerFilter, Follow, Profile};
use siyu_domain::id::{CustomerId, TimelineId, UserId};
use siyu_domain::identity::{Identity, IdentityKind, NewIdentity};
use siyu_domain::page::{Cursor, Page, PageRequest};
use siyu_domain::phone::Phone;
use siyu_domain::timeline::{TimelineEntry, kinds};
use siyu_store::customers::{CustomerQuery, ListDecorations, NewCustomerRecord};
use siyu_store::identities::IdentityRecord;
use siyu_store::tags::ChangeContext;

mod identities;
mod model;
mod relations;

pub use model::{
    CustomerDetail, CustomerPatch, CustomerSummary, FollowView, IdentityInput, NewCustomerInput, NoteView, TagRef,
};

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::tags::tag_ref;
use crate::{Actor, App};

pub(crate) fn entry(
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
        let c = self.create_customer_from(actor, input, source).await?;
        self.after_customer_change(actor.tenant, c.id).await;
        Ok(c)
    }

    /// Creates a customer, recording `source` (imports pass `import`).
    pub(crate) async fn create_customer_from(
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
        // An actor seeing every customer needs no scope check: the read below answers NotFound by itself.
        if actor.visibility.is_some() {
            self.ensure_visible(actor, id).await?;
        }
        let p = self.store.customers().profile(actor.tenant, id).await?;
        let identities: Vec<Identity> = p.identities.into_iter().map(|r| r.identity).collect();
        let phone = identities.iter().find(|i| i.kind == IdentityKind::Phone).map(|i| i.display.clone());
        let tags = p.tags.into_iter().filter_map(|(tag, group)| tag_ref(actor, tag, &group)).collect();
        let or_dash = |n: String| if n.is_empty() { "—".to_string() } else { n };
        let follows = p.follows.into_iter().map(|(follow, n)| FollowView { user_name: or_dash(n), follow }).collect();
        let notes = p.notes.into_iter().map(|(note, n)| NoteView { author_name: or_dash(n), note }).collect();
        let customer = p.customer;
        Ok(CustomerDetail { customer, phone, identities, tags, follows, notes })
    }

    pub async fn member_names(&self, actor: &Actor) -> AppResult<HashMap<UserId, String>> {
        Ok(self.store.members().list(actor.tenant).await?.into_iter().map(|m| (m.user_id, m.display_name)).collect())
    }

    pub async fn update_customer(&self, actor: &Actor, id: CustomerId, patch: CustomerPatch) -> AppResult<Customer> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, id).await?;
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
        self.after_customer_change(actor.tenant, id).await;
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
        let (rows, found) = self.store.customers().list_page(actor.tenant, &q, page, IdentityKind::Phone).await?;
        let page = Page::from_overfetch(rows, page.limit, |c: &Customer| Cursor { at: c.created_at, id: c.id.0 });
        Ok(Page { items: summarise(actor, page.items, found), next_cursor: page.next_cursor })
    }

    /// New customers per China day over the last `days` days (oldest first, zero-filled), within scope.
    pub async fn daily_new_customers(&self, actor: &Actor, days: i64) -> AppResult<Vec<(chrono::NaiveDate, i64)>> {
        actor.require(Permission::CustomersRead)?;
        let cst =
            chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(|| AppError::internal(anyhow::anyhow!("offset")))?;
        let today = self.now().with_timezone(&cst).date_naive();
        let first = today - chrono::Duration::days(days - 1);
        let since = first.and_hms_opt(0, 0, 0).and_then(|t| t.and_local_timezone(cst).single()).map(|t| t.to_utc());
        let since = since.ok_or_else(|| AppError::internal(anyhow::anyhow!("day start")))?;
        let counts: HashMap<String, i64> =
            self.store.customers().created_per_day(actor.tenant, since, &actor.visibility).await?.into_iter().collect();
        Ok((0..days)
            .map(|i| {
                let d = first + chrono::Duration::days(i);
                (d, counts.get(&d.format("%Y-%m-%d").to_string()).copied().unwrap_or(0))
            })
            .collect())
    }

    pub async fn count_customers(&self, actor: &Actor, filter: &CustomerFilter) -> AppResult<i64> {
        actor.require(Permission::CustomersRead)?;
        let q = self.customer_query(actor, filter).await?;
        Ok(self.store.customers().count(actor.tenant, &q).await?)
    }

    /// Adds masked phones and tag names to a batch of customers.
    pub async fn summaries(&self, actor: &Actor, customers: Vec<Customer>) -> AppResult<Vec<CustomerSummary>> {
        let ids: Vec<CustomerId> = customers.iter().map(|c| c.id).collect();
        let found = self.store.customers().decorations(actor.tenant, IdentityKind::Phone, &ids).await?;
        Ok(summarise(actor, customers, found))
    }
}

/// The customers with their masked phones and the tag names `actor` may see, from `found` (which may hold
/// more customers than these: a list page's extra row).
fn summarise(actor: &Actor, customers: Vec<Customer>, found: ListDecorations) -> Vec<CustomerSummary> {
    let mut phones: HashMap<CustomerId, String> = HashMap::new();
    for r in found.identities {
        phones.entry(r.identity.customer_id).or_insert(r.identity.display);
    }
    let mut tags: HashMap<CustomerId, Vec<TagRef>> = HashMap::new();
    for (c, tag, group) in found.tags {
        if let Some(r) = tag_ref(actor, tag, &group) {
            tags.entry(c).or_default().push(r);
        }
    }
    customers
        .into_iter()
        .map(|c| CustomerSummary {
            phone: phones.remove(&c.id),
            tags: tags.remove(&c.id).unwrap_or_default(),
            customer: c,
        })
        .collect()
}
