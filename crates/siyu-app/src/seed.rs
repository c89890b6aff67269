//! Bulk loads (the demo brand, benchmark data sets): many customers at once, through the same validation
//! and PII protection as a single create, written by the store's multi-row bulk insert.
//!
//! Unlike [`App::create_customer`], the caller sets ids, times and sources (seeded history lies in the
//! past); the timeline entries are derived here from what is inserted.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use siyu_domain::access::Permission;
use siyu_domain::customer::{Customer, Follow, Note, Profile};
use siyu_domain::id::{TagId, TimelineId, UserId};
use siyu_domain::tag::TagKind;
use siyu_domain::text;
use siyu_domain::timeline::{TimelineEntry, kinds};
use siyu_store::bulk::{BulkCounts, BulkCustomer, BulkTag};
use siyu_store::identities::IdentityRecord;

use crate::customers::IdentityInput;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A tag a new customer holds, with who added it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInput {
    pub tag: TagId,
    pub actor: Option<UserId>,
    pub at: DateTime<Utc>,
}

/// One customer of a bulk load. The profile's id, times and source are kept as given; identities are
/// validated, encrypted and blind-indexed like any other.
#[derive(Debug, Clone)]
pub struct NewCustomerBulk {
    pub customer: Customer,
    /// Who created the customer (the timeline's first entry), if a member did.
    pub created_by: Option<UserId>,
    pub identities: Vec<IdentityInput>,
    pub follows: Vec<Follow>,
    pub tags: Vec<TagInput>,
    pub notes: Vec<Note>,
}

/// What the whole load may refer to, read once per call.
struct Catalog {
    members: HashSet<UserId>,
    /// Tag id → (name, group id, exclusive, owner of a personal group).
    tags: HashMap<TagId, (String, siyu_domain::id::TagGroupId, bool, Option<UserId>)>,
    fields: Vec<siyu_domain::field::FieldDef>,
}

fn entry(c: &Customer, kind: &str, at: DateTime<Utc>, actor: Option<UserId>, payload: Value) -> TimelineEntry {
    TimelineEntry {
        id: TimelineId::new(),
        customer_id: c.id,
        occurred_at: at,
        source: c.source.clone(),
        kind: kind.into(),
        actor_id: actor,
        payload,
    }
}

impl App {
    /// Inserts customers with their identities, follows, tags and notes in one transaction (all or
    /// nothing), and the timeline entries telling that history. Needs the import permission.
    pub async fn bulk_insert_customers(&self, actor: &Actor, items: Vec<NewCustomerBulk>) -> AppResult<BulkCounts> {
        actor.require(Permission::CustomersImport)?;
        if items.is_empty() {
            return Ok(BulkCounts::default());
        }
        let catalog = self.catalog(actor).await?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let b = self.bulk_customer(actor, &catalog, item).await.map_err(|e| match e {
                AppError::Invalid(inv) => AppError::invalid(format!("items[{i}].{}", inv.field), inv.reason),
                other => other,
            })?;
            out.push(b);
        }
        let n = out.len() as u64;
        let counts = self.store.bulk().insert_customers(actor.tenant, out).await?;
        metrics::counter!("siyu_customers_created_total", "source" => "bulk").increment(n);
        Ok(counts)
    }

    async fn catalog(&self, actor: &Actor) -> AppResult<Catalog> {
        let members = self.store.members().list(actor.tenant).await?.into_iter().map(|m| m.user_id).collect();
        let groups: HashMap<_, _> =
            self.store.tags().groups(actor.tenant).await?.into_iter().map(|g| (g.id, g)).collect();
        let mut tags = HashMap::new();
        for t in self.store.tags().all_tags(actor.tenant).await? {
            if let Some(g) = groups.get(&t.group_id) {
                let owner = if g.kind == TagKind::Personal { g.owner_id } else { None };
                tags.insert(t.id, (t.name, g.id, g.exclusive, owner));
            }
        }
        let fields = self.store.fields().list(actor.tenant).await?;
        Ok(Catalog { members, tags, fields })
    }

    async fn bulk_customer(&self, actor: &Actor, cat: &Catalog, item: NewCustomerBulk) -> AppResult<BulkCustomer> {
        let mut c = item.customer;
        let profile = Profile::parse(&c.name, c.gender, c.avatar_url.as_deref(), c.remark.as_deref())?;
        (c.name, c.gender, c.avatar_url, c.remark) = (profile.name, profile.gender, profile.avatar_url, profile.remark);
        c.custom = coerce(&cat.fields, std::mem::take(&mut c.custom))?;
        let mut timeline =
            vec![entry(&c, kinds::CUSTOMER_CREATED, c.created_at, item.created_by, json!({"name": c.name}))];
        let mut identities: Vec<IdentityRecord> = Vec::with_capacity(item.identities.len());
        for input in &item.identities {
            let mut rec = self.identity_record(actor, c.id, input, &c.source).await.map_err(|e| match e {
                AppError::Invalid(inv) if inv.field == "value" => AppError::invalid(input.kind.as_str(), inv.reason),
                other => other,
            })?;
            rec.identity.created_at = c.created_at;
            let dup = identities.iter().any(|r| {
                r.identity.kind == rec.identity.kind
                    && r.identity.namespace == rec.identity.namespace
                    && r.lookup == rec.lookup
            });
            if !dup {
                identities.push(rec);
            }
        }
        let mut follows: Vec<Follow> = Vec::with_capacity(item.follows.len());
        for mut f in item.follows {
            if !cat.members.contains(&f.user_id) {
                return Err(AppError::invalid("follows.user_id", "unknown_user"));
            }
            if follows.iter().any(|x| x.user_id == f.user_id) {
                continue;
            }
            f.customer_id = c.id;
            f.remark = text::optional("remark", f.remark.as_deref(), 64)?;
            f.state = text::optional("state", f.state.as_deref(), 64)?;
            timeline.push(entry(&c, kinds::FOLLOW_ADDED, f.added_at, Some(f.user_id), json!({"user_id": f.user_id})));
            follows.push(f);
        }
        let mut tags: Vec<BulkTag> = Vec::with_capacity(item.tags.len());
        for t in item.tags {
            let (name, group, exclusive, owner) =
                cat.tags.get(&t.tag).ok_or_else(|| AppError::invalid("tags", format!("unknown_tag {}", t.tag)))?;
            if owner.is_some() && *owner != t.actor {
                return Err(AppError::invalid("tags", format!("unknown_tag {}", t.tag)));
            }
            if tags.iter().any(|x| x.tag == t.tag) {
                continue;
            }
            if *exclusive && tags.iter().any(|x| cat.tags.get(&x.tag).is_some_and(|(_, g, _, _)| g == group)) {
                return Err(AppError::invalid("tags", format!("one_tag_per_exclusive_group ({name})")));
            }
            let payload = json!({"tag_id": t.tag, "tag": name, "reason": "created"});
            timeline.push(entry(&c, kinds::TAG_ADDED, t.at, t.actor, payload));
            tags.push(BulkTag {
                tag: t.tag,
                tag_name: name.clone(),
                actor: t.actor,
                reason: "created".into(),
                at: t.at,
            });
        }
        let mut notes = Vec::with_capacity(item.notes.len());
        for mut n in item.notes {
            if !cat.members.contains(&n.author_id) {
                return Err(AppError::invalid("notes.author_id", "unknown_user"));
            }
            n.customer_id = c.id;
            n.body = text::required("body", &n.body, 2000)?;
            let preview: String = n.body.chars().take(80).collect();
            let payload = json!({"note_id": n.id, "preview": preview});
            timeline.push(entry(&c, kinds::NOTE_ADDED, n.created_at, Some(n.author_id), payload));
            notes.push(n);
        }
        Ok(BulkCustomer { customer: c, identities, follows, tags, notes, timeline })
    }
}

/// Checks custom values against the field definitions (unknown keys are refused, `null`s dropped).
fn coerce(defs: &[siyu_domain::field::FieldDef], values: Map<String, Value>) -> AppResult<Map<String, Value>> {
    let mut out = Map::new();
    for (key, value) in values {
        let def = defs
            .iter()
            .find(|d| d.key == key)
            .ok_or_else(|| AppError::invalid(format!("custom.{key}"), "unknown_field"))?;
        let v = def.coerce(&value)?;
        if !v.is_null() {
            out.insert(key, v);
        }
    }
    Ok(out)
}
