//! An external contact as WeCom describes it, applied to siyu: the customer (resolved through the identity
//! graph by external_userid and unionid), one follow per staff member with remark, description, add way and
//! state, the corp tags the staff put on them, and timeline entries for relations that began or ended.

use std::collections::HashMap;

use serde_json::json;
use siyu_domain::customer::Follow;
use siyu_domain::event::Strength;
use siyu_domain::graph::Key;
use siyu_domain::id::{CustomerId, TenantId, TimelineId, UserId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::timeline::{TimelineEntry, kinds};
use siyu_domain::wecom::add_way_name;
use siyu_store::tags::{ChangeContext, TagChange};
use siyu_wecom::api::{ExternalContact, ExternalContactDetail};

use super::CorpHandle;
use crate::App;
use crate::error::{AppError, AppResult};
use crate::graph::{Observation, Observed};

/// What applying contacts looks up, read once per page or event instead of once per contact: userid → siyu
/// member, and WeCom tag id → (siyu tag, name).
pub(crate) struct ContactLookups {
    pub staff: HashMap<String, UserId>,
    pub tags: HashMap<String, (siyu_domain::id::TagId, String)>,
}

/// One (customer, staff) relation as a sync or callback saw it.
#[derive(Debug, Clone)]
pub(crate) struct SeenFollow {
    pub userid: String,
    pub remark: String,
    pub description: String,
    pub createtime: i64,
    pub add_way: i64,
    pub state: String,
    pub tag_ids: Vec<String>,
}

impl SeenFollow {
    pub fn from_detail(d: &ExternalContactDetail) -> Vec<SeenFollow> {
        d.follow_user
            .iter()
            .map(|f| SeenFollow {
                userid: f.userid.clone(),
                remark: f.remark.clone(),
                description: f.description.clone(),
                createtime: f.createtime,
                add_way: f.add_way,
                state: f.state.clone(),
                tag_ids: f.tags.iter().filter(|t| !t.tag_id.is_empty()).map(|t| t.tag_id.clone()).collect(),
            })
            .collect()
    }
}

impl App {
    /// The customer an external contact is, created if new (source `wecom`).
    pub(crate) async fn resolve_contact(
        &self,
        tenant: TenantId,
        corp_id: &str,
        c: &ExternalContact,
        evidence: &str,
    ) -> AppResult<CustomerId> {
        let mut identifiers = vec![observed(IdentityKind::ExternalUserid, corp_id, &c.external_userid)];
        if !c.unionid.is_empty() {
            identifiers.push(observed(IdentityKind::Unionid, "", &c.unionid));
        }
        let obs = Observation {
            identifiers,
            masked_phones: Vec::new(),
            source: "wecom".into(),
            evidence: evidence.to_owned(),
            event: None,
            name: (!c.name.is_empty()).then(|| c.name.clone()),
            actor: None,
            at: self.now(),
        };
        self.observe(tenant, &obs)
            .await?
            .customer
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("no customer for {}", c.external_userid)))
    }

    pub(crate) async fn contact_lookups(&self, tenant: TenantId, handle: &CorpHandle) -> AppResult<ContactLookups> {
        Ok(ContactLookups {
            staff: self.staff_users(tenant, handle).await?,
            tags: self.tag_link_map(tenant, handle).await?,
        })
    }

    /// Applies a contact and the follows seen (a page of them): follows upserted, new ones on the timeline,
    /// corp tags added.
    pub(crate) async fn apply_contact(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        lookups: &ContactLookups,
        contact: &ExternalContact,
        follows: &[SeenFollow],
        evidence: &str,
    ) -> AppResult<CustomerId> {
        let customer = self.resolve_contact(tenant, &handle.corp_id, contact, evidence).await?;
        let (staff, tag_links) = (&lookups.staff, &lookups.tags);
        let existing: HashMap<UserId, Follow> =
            self.store.follows().of_customer(tenant, customer).await?.into_iter().map(|f| (f.user_id, f)).collect();
        let mut adds: Vec<TagChange> = Vec::new();
        for f in follows {
            let Some(&user) = staff.get(&f.userid) else {
                tracing::debug!(userid = %f.userid, "follow of a staff member not synced yet");
                continue;
            };
            let added_at = chrono::DateTime::from_timestamp(f.createtime, 0).unwrap_or_else(|| self.now());
            let follow = Follow {
                customer_id: customer,
                user_id: user,
                remark: non_empty(&f.remark),
                description: non_empty(&f.description),
                add_way: add_way_name(f.add_way).to_owned(),
                state: non_empty(&f.state),
                added_at,
            };
            let changed = existing.get(&user).is_none_or(|old| old != &follow);
            if changed {
                self.store.follows().upsert(tenant, &follow).await?;
            }
            if !existing.contains_key(&user) {
                let payload = json!({"user_id": user, "userid": f.userid, "add_way": follow.add_way,
                    "state": follow.state, "corp": handle.corp_id});
                self.wecom_timeline(tenant, customer, kinds::FOLLOW_ADDED, Some(user), added_at, payload).await?;
            }
            for t in &f.tag_ids {
                if let Some((tag, name)) = tag_links.get(t)
                    && !adds.iter().any(|a| a.tag == *tag)
                {
                    adds.push(TagChange { tag: *tag, tag_name: name.clone(), add: true });
                }
            }
        }
        if !adds.is_empty() {
            let ctx = ChangeContext { actor: None, source: "wecom", reason: "wecom", at: self.now() };
            self.store.tags().change(tenant, customer, &adds, &ctx).await?;
        }
        self.after_customer_change(tenant, customer).await;
        Ok(customer)
    }

    /// A relation ended: the follow is removed and the removal kept (who ended it, the channel it came by).
    pub(crate) async fn end_follow(
        &self,
        tenant: TenantId,
        handle: &CorpHandle,
        userid: &str,
        external_userid: &str,
        removed_by: &str,
    ) -> AppResult<()> {
        let Some(customer) = self.customer_of_external(tenant, &handle.corp_id, external_userid).await? else {
            return Ok(());
        };
        let Some(staff) = self.store.wecom().staff_by_userid(tenant, handle.corp, userid).await? else {
            return Ok(());
        };
        let follows = self.store.follows().of_customer(tenant, customer).await?;
        let Some(f) = follows.into_iter().find(|f| f.user_id == staff.user_id) else {
            return Ok(());
        };
        let at = self.now();
        self.store.wecom().record_follow_removal(tenant, &f, removed_by, at).await?;
        let payload = json!({"user_id": staff.user_id, "userid": userid, "removed_by": removed_by,
            "state": f.state, "corp": handle.corp_id});
        self.wecom_timeline(tenant, customer, kinds::FOLLOW_REMOVED, Some(staff.user_id), at, payload).await?;
        self.after_customer_change(tenant, customer).await;
        Ok(())
    }

    /// The customer behind an external_userid of a corp, if known.
    pub(crate) async fn customer_of_external(
        &self,
        tenant: TenantId,
        corp_id: &str,
        external_userid: &str,
    ) -> AppResult<Option<CustomerId>> {
        Ok(self.store.identities().resolve(tenant, IdentityKind::ExternalUserid, corp_id, external_userid).await?)
    }

    pub(crate) async fn wecom_timeline(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        kind: &str,
        actor: Option<UserId>,
        at: chrono::DateTime<chrono::Utc>,
        payload: serde_json::Value,
    ) -> AppResult<()> {
        let entry = TimelineEntry {
            id: TimelineId::new(),
            customer_id: customer,
            occurred_at: at,
            source: "wecom".into(),
            kind: kind.to_owned(),
            actor_id: actor,
            payload,
        };
        self.store.timeline().append(tenant, &entry).await?;
        Ok(())
    }
}

fn observed(kind: IdentityKind, namespace: &str, value: &str) -> Observed {
    Observed {
        key: Key::new(kind, namespace, value),
        strength: Strength::Strong,
        display: value.to_owned(),
        value_enc: None,
    }
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}
