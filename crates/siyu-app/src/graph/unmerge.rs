//! Undoing a wrong merge by replay (cdp.md §2.5): the current customer's identities are split by the
//! evidence left once the two sides' anchors are known (`siyu_domain::graph::partition`); events follow
//! the identity they were attributed through, orders their buyer keys, and tags, follows, notes and
//! timeline entries return as the merge log recorded them.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::graph::{Key, Side, partition};
use siyu_domain::id::{CustomerId, EdgeId, IdentityId, MergeId, OrderId, TimelineId, UnmergeId};
use siyu_domain::page::PageRequest;
use siyu_domain::timeline::TimelineEntry;
use siyu_store::graph::{MergeRecord, UnmergePlan};

use super::kinds;
use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// What an un-merge restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UnmergeOutcome {
    pub merge_id: MergeId,
    /// The customer brought back, under the id it had before the merge.
    pub restored: CustomerId,
    /// The customer it was split from.
    pub from: CustomerId,
    pub identities: usize,
    pub orders: usize,
    /// Observed-together links between the two sides, now retracted.
    pub retracted_links: usize,
}

/// One merge as the API and the console show it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MergeView {
    pub id: MergeId,
    pub survivor: CustomerId,
    pub absorbed: CustomerId,
    /// The absorbed customer's name when it was merged.
    pub absorbed_name: String,
    /// `strong_identifier` (automatic) or `suggestion_accepted` (an operator confirmed).
    pub rule: String,
    /// What caused it: `event:<id>`, `order:<id>`, `suggestion:<id>`.
    pub evidence: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub undone_at: Option<chrono::DateTime<chrono::Utc>>,
    pub identities_moved: usize,
    pub events_moved: u64,
    pub orders_moved: usize,
}

impl From<MergeRecord> for MergeView {
    fn from(m: MergeRecord) -> Self {
        Self {
            id: m.id,
            survivor: m.survivor,
            absorbed: m.absorbed,
            absorbed_name: m.snapshot.name,
            rule: m.rule,
            evidence: m.evidence,
            at: m.at,
            undone_at: m.undone_at,
            identities_moved: m.moved.identities.len(),
            events_moved: m.moved.events,
            orders_moved: m.moved.orders.len(),
        }
    }
}

impl App {
    /// The merges a customer took part in (as survivor or absorbed), newest first.
    pub async fn merges_of(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<MergeView>> {
        self.ensure_visible(actor, customer).await?;
        let merges = self.store.graph().merges_of(actor.tenant, customer).await?;
        Ok(merges.into_iter().map(MergeView::from).collect())
    }

    /// Undoes a merge: the absorbed customer returns with what the remaining evidence connects to it.
    pub async fn unmerge(&self, actor: &Actor, merge: MergeId, reason: &str) -> AppResult<UnmergeOutcome> {
        actor.require(Permission::CustomersWrite)?;
        self.exclusively(actor.tenant, self.unmerge_now(actor, merge, reason)).await
    }

    async fn unmerge_now(&self, actor: &Actor, merge: MergeId, reason: &str) -> AppResult<UnmergeOutcome> {
        let tenant = actor.tenant;
        let graph = self.store.graph();
        let m = graph.merge(tenant, merge).await?;
        if m.undone_at.is_some() {
            return Err(AppError::Conflict("this merge was already undone".into()));
        }
        // The identities moved by the merge tell who holds them now (the survivor, or whoever absorbed it).
        let moved: HashSet<IdentityId> = m.moved.identities.iter().copied().collect();
        let holders = self.store.identities().customers_of(tenant, &m.moved.identities).await?;
        let current = holders.first().copied().unwrap_or(m.survivor);
        self.ensure_visible(actor, current).await?;
        if self.store.customers().get(tenant, m.absorbed).await.is_ok() {
            return Err(AppError::Conflict("this merge was already undone".into()));
        }
        let person = graph.people(tenant, &[current]).await?.into_iter().next().ok_or(AppError::NotFound)?;
        let nodes: Vec<(IdentityId, Key)> = person.identities.iter().map(|(i, k, _)| (*i, k.clone())).collect();
        let index = |id: IdentityId| nodes.iter().position(|(i, _)| *i == id);
        let anchors: Vec<(usize, Side)> = person
            .identities
            .iter()
            .enumerate()
            .filter_map(|(n, (id, _, created))| {
                if moved.contains(id) {
                    Some((n, Side::Absorbed))
                } else {
                    (*created <= m.at).then_some((n, Side::Survivor))
                }
            })
            .collect();
        let ids: Vec<IdentityId> = nodes.iter().map(|(i, _)| *i).collect();
        let live = graph.live_edges(tenant, &ids).await?;
        let edges: Vec<(usize, usize, EdgeId)> =
            live.iter().filter_map(|e| Some((index(e.a)?, index(e.b)?, e.id))).collect();
        let pairs: Vec<(usize, usize)> = edges.iter().map(|(a, b, _)| (*a, *b)).collect();
        let split = partition(nodes.len(), &pairs, &anchors);
        let back: Vec<IdentityId> =
            nodes.iter().zip(&split.side).filter(|(_, s)| **s == Side::Absorbed).map(|((i, _), _)| *i).collect();
        let retract: Vec<EdgeId> = split.cut.iter().map(|i| edges[*i].2).collect();
        let absorbed_keys: Vec<&Key> =
            nodes.iter().zip(&split.side).filter(|(_, s)| **s == Side::Absorbed).map(|((_, k), _)| k).collect();
        let orders = self.orders_going_back(actor, current, &m, &nodes, &absorbed_keys).await?;
        let now = self.now();
        let note = |customer: CustomerId, other: CustomerId| TimelineEntry {
            id: TimelineId::new(),
            customer_id: customer,
            occurred_at: now,
            source: "console".into(),
            kind: kinds::MERGE_UNDONE.into(),
            actor_id: Some(actor.user),
            payload: json!({"merge_id": m.id, "other": other, "reason": reason}),
        };
        let timeline = [note(current, m.absorbed), note(m.absorbed, current)];
        let outcome = UnmergeOutcome {
            merge_id: m.id,
            restored: m.absorbed,
            from: current,
            identities: back.len(),
            orders: orders.len(),
            retracted_links: retract.len(),
        };
        let detail = serde_json::to_value(&outcome).map_err(AppError::internal)?;
        let plan = UnmergePlan {
            id: UnmergeId::new(),
            merge: &m,
            current,
            identities: &back,
            orders: &orders,
            retract: &retract,
            actor: Some(actor.user),
            reason,
            detail: detail.clone(),
            timeline: &timeline,
            at: now,
        };
        graph.unmerge(tenant, &plan).await?;
        self.refresh_aggregates(tenant, &[current, m.absorbed]).await?;
        let audit = AuditEvent {
            action: "customer.unmerge",
            object_type: "customer",
            object_id: Some(m.absorbed.to_string()),
            detail,
        };
        self.audit(actor, audit).await;
        Ok(outcome)
    }

    /// The current customer's orders that belong to the absorbed side: the highest-priority buyer key
    /// held by the current customer is on that side, or no key is held and the merge moved the order.
    async fn orders_going_back(
        &self,
        actor: &Actor,
        current: CustomerId,
        m: &MergeRecord,
        nodes: &[(IdentityId, Key)],
        absorbed: &[&Key],
    ) -> AppResult<Vec<OrderId>> {
        let mut out = Vec::new();
        let mut page = PageRequest { after: None, limit: 200 };
        loop {
            let batch = self.store.orders().of_customer(actor.tenant, current, page).await?;
            let more = batch.len() > page.limit as usize;
            for o in batch.iter().take(page.limit as usize) {
                let mut keys: Vec<Key> =
                    o.buyer_keys.iter().map(|k| Key::new(k.kind, &k.namespace, &k.lookup)).collect();
                keys.sort_by_key(|k| std::cmp::Reverse(k.kind.priority()));
                let held = keys.iter().find(|k| nodes.iter().any(|(_, n)| n == *k));
                let goes_back = match held {
                    Some(k) => absorbed.contains(&k),
                    None => m.moved.orders.contains(&o.id),
                };
                if goes_back {
                    out.push(o.id);
                }
            }
            match (more, batch.get(page.limit as usize - 1)) {
                (true, Some(last)) => {
                    page.after = Some(siyu_domain::page::Cursor { at: last.placed_at, id: last.id.0 })
                }
                _ => return Ok(out),
            }
        }
    }
}
