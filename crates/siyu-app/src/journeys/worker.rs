//! The worker's step over due runs: claim a batch per tenant under a lease, gather what each step may ask
//! about its customer, run the pure step and write the batch back with its ledger and outbox rows.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use siyu_domain::id::{CustomerId, JourneyId, TenantId};
use siyu_domain::journey::step::{Action, CustomerView, Wake, step};
use siyu_domain::journey::{JourneyGraph, NodeKind};
use siyu_domain::segment::{Catalog, check};
use siyu_domain::tenancy::TenantStatus;
use siyu_store::journeys::StepWrite;

use super::{BATCH, DAILY_CAP, LEASE, channel_names};
use crate::App;
use crate::error::AppResult;

/// What one step may ask about its customer, gathered before the (synchronous) step runs.
struct View {
    offset: FixedOffset,
    branches: HashMap<String, bool>,
    opted_out: bool,
    /// When the customer entered their current lifecycle stage.
    stage_entered_at: Option<DateTime<Utc>>,
    /// Sends left today per channel, counted down as the step sends.
    allowance: std::cell::RefCell<HashMap<String, i64>>,
}

impl CustomerView for View {
    fn offset(&self) -> FixedOffset {
        self.offset
    }
    fn stage_entered_at(&self) -> Option<DateTime<Utc>> {
        self.stage_entered_at
    }
    fn branch(&self, node: &str) -> bool {
        self.branches.get(node).copied().unwrap_or(false)
    }
    fn may_send(&self, channel: &str) -> bool {
        let mut allowance = self.allowance.borrow_mut();
        match allowance.get_mut(channel) {
            Some(left) if !self.opted_out && *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
    fn capped(&self, channel: &str) -> bool {
        !self.opted_out && self.allowance.borrow().get(channel).is_some_and(|left| *left <= 0)
    }
}

impl App {
    /// Steps a batch of due runs of each active tenant that has some; returns how many steps were written
    /// (callers call again while it is more than 0). One batch per tenant per call: a burst of runs falling
    /// due at once in one brand does not hold up the other brands' runs, or the outbox, while it drains.
    pub async fn run_due_journeys(&self) -> AppResult<u64> {
        let mut written = 0;
        // Every active tenant's due runs: a claim probes the head of each bucket's due index, so looking at a
        // tenant with nothing due costs a few index probes, never a scan of its waiting runs.
        for t in self.store.tenants().list().await? {
            if t.status != TenantStatus::Active {
                continue;
            }
            let tenant = t.id;
            let now = self.now();
            let claimed = self.store.journeys().claim_due(tenant, now, now + LEASE, BATCH).await?;
            if claimed.is_empty() {
                continue;
            }
            // Read once per batch (and only when something is due), not per customer.
            let (offset, catalog) = (self.tenant_offset(tenant).await?, self.segment_catalog(tenant, None).await?);
            let mut graphs: HashMap<(JourneyId, i64), JourneyGraph> = HashMap::new();
            // One read of the batch's opt-outs, today's sends and stage entries, not several per customer.
            let customers: Vec<CustomerId> = claimed.iter().map(|c| c.instance.customer).collect();
            let facts = self.store.journeys().step_context(tenant, &customers, local_midnight(now, offset)).await?;
            let mut writes = Vec::with_capacity(claimed.len());
            // Sends this batch has already decided, so two journeys of one customer in one batch share the
            // day's allowance too.
            let mut decided: HashMap<(CustomerId, String), i64> = HashMap::new();
            for c in claimed {
                let key = (c.instance.journey, c.version);
                if let std::collections::hash_map::Entry::Vacant(slot) = graphs.entry(key) {
                    slot.insert(self.store.journeys().version(tenant, key.0, key.1).await?);
                }
                let Some(g) = graphs.get(&key) else { continue };
                let customer = c.instance.customer;
                let branches = self.step_branches(tenant, customer, g, offset, &catalog, now).await?;
                let allowance = channel_names()
                    .map(|ch| {
                        (
                            ch.to_string(),
                            DAILY_CAP
                                - facts.sends.get(&(customer, ch.to_string())).copied().unwrap_or(0)
                                - decided.get(&(customer, ch.to_string())).copied().unwrap_or(0),
                        )
                    })
                    .collect();
                let view = View {
                    offset,
                    branches,
                    opted_out: facts.opted_out.contains(&customer),
                    stage_entered_at: facts.stage_entered_at.get(&customer).copied(),
                    allowance: std::cell::RefCell::new(allowance),
                };
                let wake = c.resume_event.as_deref().map_or(Wake::Clock, Wake::Event);
                let (instance, effects) = step(g, c.instance.clone(), &view, now, wake);
                let before = &c.instance;
                if instance.defer_count > 0
                    && (instance.node != before.node || instance.defer_count > before.defer_count)
                {
                    // Held at a send by quiet hours or a frequency cap (`on_cap: defer`): it goes later.
                    metrics::counter!("siyu_journey_sends_deferred_total").increment(1);
                }
                for e in &effects {
                    if let Action::Send { channel, .. } = &e.action {
                        *decided.entry((customer, channel.clone())).or_default() += 1;
                    }
                }
                writes.push(StepWrite { claimed: c, instance, effects });
            }
            written += self.store.journeys().write_steps(tenant, &writes, now).await?.written;
        }
        Ok(written)
    }

    /// The answers of the graph's branch conditions for the customer now (none read when it has no branch).
    async fn step_branches(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        g: &JourneyGraph,
        offset: FixedOffset,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> AppResult<HashMap<String, bool>> {
        let mut branches = HashMap::new();
        let rules: Vec<(String, siyu_domain::segment::Rule)> = g
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Branch { condition } => check(condition, catalog).ok().map(|r| (n.id.clone(), r)),
                _ => None,
            })
            .collect();
        if !rules.is_empty() {
            let c = self.store.customers().get(tenant, customer).await?;
            let at = siyu_domain::segment::eval::At { now, offset };
            let refs: Vec<&siyu_domain::segment::Rule> = rules.iter().map(|r| &r.1).collect();
            for ((node, _), holds) in rules.iter().zip(self.evaluate(tenant, &c, &refs, at).await?) {
                branches.insert(node.clone(), holds);
            }
        }
        Ok(branches)
    }
}

/// The start of `now`'s local calendar day (the frequency cap counts per local day).
fn local_midnight(now: DateTime<Utc>, offset: FixedOffset) -> DateTime<Utc> {
    let midnight = now.with_timezone(&offset).date_naive().and_time(chrono::NaiveTime::MIN);
    midnight.and_local_timezone(offset).single().map_or(now, |t| t.with_timezone(&Utc))
}
