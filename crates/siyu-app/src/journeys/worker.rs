//! The worker's step over due runs: claim a batch per tenant under a lease, gather what each step may ask
//! about its customer, run the pure step and write the batch back with its ledger and outbox rows.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use siyu_domain::id::{CustomerId, JourneyId, TenantId};
use siyu_domain::journey::step::{CustomerView, Wake, step};
use siyu_domain::journey::{JourneyGraph, NodeKind};
use siyu_domain::privacy::{ConsentPurpose, ConsentStatus};
use siyu_domain::segment::{Catalog, check};
use siyu_domain::tenancy::TenantStatus;
use siyu_store::journeys::StepWrite;

use super::{BATCH, CHANNELS, DAILY_CAP, LEASE};
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
}

impl App {
    /// Steps every due run of every active tenant, a batch at a time; returns how many steps were written.
    pub async fn run_due_journeys(&self) -> AppResult<u64> {
        let mut written = 0;
        for tenant in self.store.journeys().tenants_with_due(self.now(), 100).await? {
            if self.store.tenants().get(tenant).await?.status != TenantStatus::Active {
                continue;
            }
            // Read once per tenant, not per batch or per customer.
            let offset = self.tenant_offset(tenant).await?;
            let catalog = self.segment_catalog(tenant, None).await?;
            loop {
                let now = self.now();
                let claimed = self.store.journeys().claim_due(tenant, now, now + LEASE, BATCH).await?;
                if claimed.is_empty() {
                    break;
                }
                let mut graphs: HashMap<(JourneyId, i64), JourneyGraph> = HashMap::new();
                let mut writes = Vec::with_capacity(claimed.len());
                for c in claimed {
                    let key = (c.instance.journey, c.version);
                    if let std::collections::hash_map::Entry::Vacant(slot) = graphs.entry(key) {
                        slot.insert(self.store.journeys().version(tenant, key.0, key.1).await?);
                    }
                    let Some(g) = graphs.get(&key) else { continue };
                    let view = self.journey_view(tenant, c.instance.customer, g, offset, &catalog, now).await?;
                    let wake = c.resume_event.as_deref().map_or(Wake::Clock, Wake::Event);
                    let (instance, effects) = step(g, c.instance.clone(), &view, now, wake);
                    writes.push(StepWrite { claimed: c, instance, effects });
                }
                written += self.store.journeys().write_steps(tenant, &writes, now).await?.written;
            }
        }
        Ok(written)
    }

    async fn journey_view(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        g: &JourneyGraph,
        offset: FixedOffset,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> AppResult<View> {
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
        let consents = self.store.privacy().consents(tenant, customer).await?;
        let opted_out =
            consents.iter().any(|c| c.purpose == ConsentPurpose::Marketing && c.status == ConsentStatus::Withdrawn);
        // The cap counts the customer's local calendar day.
        let midnight = now.with_timezone(&offset).date_naive().and_time(chrono::NaiveTime::MIN);
        let since = midnight.and_local_timezone(offset).single().map_or(now, |t| t.with_timezone(&Utc));
        let mut allowance = HashMap::new();
        for channel in CHANNELS {
            let sent = self.store.journeys().sends_since(tenant, customer, channel, since).await?;
            allowance.insert(channel.to_string(), DAILY_CAP - sent);
        }
        let stage_entered_at = self.store.stages().current(tenant, &[customer]).await?.remove(&customer).map(|s| s.1);
        Ok(View { offset, branches, opted_out, stage_entered_at, allowance: std::cell::RefCell::new(allowance) })
    }
}
