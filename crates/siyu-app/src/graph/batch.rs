//! The resolver's batch: events decided in memory and written together. Events of known people (every
//! identifier held by one customer: attributed, with their observed-together links) and events of new
//! people (no identifier held by anyone: a new customer per person, decided by the same rules as
//! [`App::observe`]) need no reads per event; the batch keeps an overlay of the identities it has planned so
//! that a new person's next events in the same batch find them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use siyu_domain::graph::{Key, Limits, Seen, decide, precedence};
use siyu_domain::id::{CustomerId, EdgeId, EventId, IdentityId, TenantId};
use siyu_store::graph::EdgeRecord;

use super::{Observation, Observed, Plan, plan};
use crate::App;
use crate::error::AppResult;

/// What the batch will write at its next flush.
#[derive(Default)]
pub(super) struct Batch {
    /// New people, in order.
    fresh: Vec<Plan>,
    /// Events of known people: (event, customer, identity attributed through).
    events: Vec<(EventId, CustomerId, IdentityId)>,
    edges: Vec<EdgeRecord>,
}

impl Batch {
    /// Takes the observation if all its identifiers are held by one customer and it carries no masked phone;
    /// returns that customer.
    pub fn known(&mut self, obs: &Observation, held: &HashMap<Key, (IdentityId, CustomerId)>) -> Option<CustomerId> {
        let event = obs.event?;
        if !obs.masked_phones.is_empty() || obs.identifiers.is_empty() {
            return None;
        }
        let mut ids: Vec<(&Observed, IdentityId)> = Vec::with_capacity(obs.identifiers.len());
        let mut customer = None;
        for o in &obs.identifiers {
            let (identity, holder) = held.get(&o.key)?;
            if customer.is_some_and(|c| c != *holder) {
                return None;
            }
            customer = Some(*holder);
            ids.push((o, *identity));
        }
        let customer = customer?;
        ids.sort_by_key(|(o, _)| precedence(o.strength, o.key.kind));
        let (anchor, anchor_id) = ids[0];
        for (o, id) in &ids[1..] {
            self.edges.push(EdgeRecord {
                id: EdgeId::new(),
                a: anchor_id,
                b: *id,
                strength: anchor.strength.min(o.strength),
                source: obs.source.clone(),
                evidence: obs.evidence.clone(),
                observed_at: obs.at,
            });
        }
        self.events.push((event, customer, anchor_id));
        Some(customer)
    }

    /// Takes the observation if none of its identifiers is held by anyone (nor planned in this batch) and it
    /// carries no masked phone: a new customer holding them, as `decide` rules. Returns the new customer.
    pub fn new_person(
        &mut self,
        obs: &Observation,
        held: &mut HashMap<Key, (IdentityId, CustomerId)>,
        now: DateTime<Utc>,
    ) -> Option<CustomerId> {
        obs.event?;
        if !obs.masked_phones.is_empty() || obs.identifiers.iter().any(|o| held.contains_key(&o.key)) {
            return None;
        }
        let seen: Vec<Seen> =
            obs.identifiers.iter().map(|o| Seen { key: o.key.clone(), strength: o.strength, holder: None }).collect();
        let new_id = CustomerId::new();
        let d = decide(&seen, &[], &[], new_id, &Limits::default());
        let p = plan(obs, &d, &[], &[], new_id, now)?;
        for r in &p.attach {
            let key = Key::new(r.identity.kind, &r.identity.namespace, &r.lookup);
            held.insert(key, (r.identity.id, p.target));
        }
        let target = p.target;
        self.fresh.push(p);
        Some(target)
    }

    /// Writes the new people first (the known events may be attributed to them), then the known events.
    pub async fn flush(&mut self, app: &App, tenant: TenantId) -> AppResult<()> {
        let graph = app.store.graph();
        let applied: Vec<_> = self.fresh.iter().map(Plan::applied).collect();
        graph.apply_many(tenant, &applied).await?;
        for p in &self.fresh {
            app.link_waiting_orders(tenant, p).await?;
        }
        graph.attribute(tenant, &self.events, &self.edges, app.now()).await?;
        self.fresh.clear();
        self.events.clear();
        self.edges.clear();
        Ok(())
    }
}
