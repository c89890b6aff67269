//! Corp tags both ways, siyu → WeCom: a tag change made in siyu (by hand, in bulk or by a journey) to a tag
//! linked to a WeCom corp tag is queued (`wecom_tag_pushes`) and marked on each of the customer's relations
//! in every connected corp with `mark_tag`. Changes that came from WeCom (callbacks, sync, live codes) are
//! not queued, so nothing echoes back. `mark_tag` is idempotent: a change is pushed at least once, and a
//! row is forgotten once WeCom has it, or when it cannot apply (the relation or the tag is gone there).

use std::collections::{BTreeMap, HashMap};

use siyu_domain::id::{CustomerId, TagId, TenantId, UserId};
use siyu_domain::identity::IdentityKind;
use siyu_store::tags::TagChange;
use siyu_wecom::ErrorClass;
use siyu_wecom::api::MarkTagRequest;

use super::{CorpHandle, wecom_error};
use crate::App;
use crate::error::{AppError, AppResult};

const BATCH: i64 = 500;

/// A corp changes are marked in: its client, its tag links (siyu tag → WeCom tag id) and staff (member →
/// userid).
struct Target {
    handle: CorpHandle,
    links: HashMap<TagId, String>,
    staff: HashMap<UserId, String>,
}

/// What a customer's queued changes come to, per tag (the last change wins).
fn net(changes: &[(TagId, bool)]) -> BTreeMap<TagId, bool> {
    changes.iter().copied().collect()
}

impl App {
    /// Queues siyu-made tag changes of a customer for WeCom (only those to linked tags are kept).
    pub(crate) async fn queue_tag_push(&self, tenant: TenantId, customer: CustomerId, changes: &[TagChange]) {
        if changes.is_empty() {
            return;
        }
        if let Err(e) = self.store.wecom().queue_tag_pushes(tenant, customer, changes, self.now()).await {
            tracing::warn!(%customer, error = %e, "tag changes not queued for WeCom");
        }
    }

    /// Pushes the queued tag changes of every tenant with a connected corp; returns the relations marked.
    pub async fn push_tags_to_wecom(&self) -> AppResult<usize> {
        let mut marked = 0;
        for tenant in self.store.wecom().tenants_with_corps().await? {
            match self.push_tenant_tags(tenant).await {
                Ok(n) => marked += n,
                // WeCom's budget is spent or it is busy: the rows wait for the next sweep.
                Err(AppError::RateLimited { .. } | AppError::Unavailable) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(marked)
    }

    async fn push_tenant_tags(&self, tenant: TenantId) -> AppResult<usize> {
        let mut marked = 0;
        let mut targets = None;
        loop {
            let rows = self.store.wecom().due_tag_pushes(tenant, BATCH).await?;
            if rows.is_empty() {
                return Ok(marked);
            }
            if targets.is_none() {
                targets = Some(self.tag_push_targets(tenant).await?);
            }
            let mut per_customer: BTreeMap<CustomerId, Vec<(TagId, bool)>> = BTreeMap::new();
            for r in &rows {
                per_customer.entry(r.customer).or_default().push((r.tag, r.add));
            }
            for (customer, changes) in per_customer {
                let changes = net(&changes);
                for target in targets.iter().flatten() {
                    marked += self.mark_customer(tenant, target, customer, &changes).await?;
                }
            }
            let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
            self.store.wecom().delete_tag_pushes(tenant, &ids).await?;
            if (rows.len() as i64) < BATCH {
                return Ok(marked);
            }
        }
    }

    /// Each active corp with its tag links (siyu tag → WeCom tag id) and staff (member → userid).
    async fn tag_push_targets(&self, tenant: TenantId) -> AppResult<Vec<Target>> {
        let mut out = Vec::new();
        for corp in self.store.wecom().corps(tenant).await?.into_iter().filter(|c| c.active) {
            let handle = self.corp_handle(tenant, corp.id).await?;
            let links = self.tag_link_map(tenant, &handle).await?.into_iter().map(|(w, (t, _))| (t, w)).collect();
            let staff = self.staff_users(tenant, &handle).await?.into_iter().map(|(userid, u)| (u, userid)).collect();
            out.push(Target { handle, links, staff });
        }
        Ok(out)
    }

    /// Marks a customer's changes on each of their relations in one corp; returns the relations marked.
    async fn mark_customer(
        &self,
        tenant: TenantId,
        target: &Target,
        customer: CustomerId,
        changes: &BTreeMap<TagId, bool>,
    ) -> AppResult<usize> {
        let Target { handle, links, staff: by_user } = target;
        let pick = |add: bool| -> Vec<String> {
            changes.iter().filter(|(_, a)| **a == add).filter_map(|(t, _)| links.get(t).cloned()).collect()
        };
        let (add_tag, remove_tag) = (pick(true), pick(false));
        if add_tag.is_empty() && remove_tag.is_empty() {
            return Ok(0);
        }
        let identities =
            self.store.identities().of_customers(tenant, IdentityKind::ExternalUserid, &[customer]).await?;
        let Some(external_userid) =
            identities.into_iter().find(|i| i.identity.namespace == handle.corp_id).map(|i| i.lookup)
        else {
            return Ok(0);
        };
        let mut marked = 0;
        for follow in self.store.follows().of_customer(tenant, customer).await? {
            let Some(userid) = by_user.get(&follow.user_id) else { continue };
            let request = MarkTagRequest {
                userid: userid.clone(),
                external_userid: external_userid.clone(),
                add_tag: add_tag.clone(),
                remove_tag: remove_tag.clone(),
            };
            match handle.client.mark_tag(&handle.contact, &request).await {
                Ok(()) => marked += 1,
                Err(e) if matches!(e.class(), ErrorClass::RateLimited | ErrorClass::Retryable) => {
                    return Err(wecom_error(e));
                }
                // The relation or a tag is gone in WeCom: nothing to mark; the next sync brings siyu along.
                Err(e) => tracing::info!(%customer, userid, error = %e, "tag change not marked in WeCom"),
            }
        }
        Ok(marked)
    }
}
