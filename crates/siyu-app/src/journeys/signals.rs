//! Reacting to signals (reference/journeys.md §3–4): per tenant, a batch of queued signals at a time, in
//! order. For each, the stage rules may move the customer (a paid order, an event, a tag), every live
//! journey may end the customer's run (exit criteria) or start one (its trigger), and runs waiting for the
//! event wake at once — an event-driven step never waits for a segment poll. The store applies a batch's
//! reactions and deletes its signals in one transaction.
//!
//! Within a batch the stage a customer was moved to is remembered, so two signals of one customer in one
//! batch see each other's moves. A stage move queues a `stage_changed` signal of its own, which the next
//! batch reacts to (stage-enter triggers, stage-change exits).

use std::collections::HashMap;

use chrono::Duration;
use siyu_domain::id::{CustomerId, JourneyId, TenantId};
use siyu_domain::journey::signal::{Happening, ORDER_PAID, react, wakes};
use siyu_domain::journey::{JourneyGraph, Reentry};
use siyu_domain::stage::Fact;
use siyu_domain::tenancy::TenantStatus;
use siyu_store::journeys::Entry;
use siyu_store::signals::Reactions;
use siyu_store::stages::StageMove;

use crate::App;
use crate::error::AppResult;

/// Signals taken per batch.
const SIGNAL_BATCH: i64 = 200;
/// How long before a run reached its wait an event may have happened and still answer it (clients'
/// clocks run a little behind ours).
const WAKE_SLACK: Duration = Duration::minutes(5);

/// What one signal does, decided before the store applies it (enrolments own their start node).
struct Decided {
    signal: uuid::Uuid,
    customer: CustomerId,
    exits: Vec<(JourneyId, String, Option<String>)>,
    wakes: Vec<(JourneyId, i64, String, Option<String>)>,
    stage: Option<StageMove>,
    /// (journey, version, start node, re-entry rule, key value)
    enrols: Vec<(JourneyId, i64, String, Reentry, Option<String>)>,
}

/// A tenant's live journeys with their graphs.
pub(crate) struct LiveJourneys(pub Vec<(JourneyId, i64, JourneyGraph)>);

impl App {
    /// The live journeys of a tenant, each on its live version.
    pub(crate) async fn live_journeys(&self, tenant: TenantId) -> AppResult<LiveJourneys> {
        let mut out = Vec::new();
        for (id, _, status, version) in self.store.journeys().list(tenant).await? {
            if let (Some(v), "live") = (version, status.as_str()) {
                out.push((id, v, self.store.journeys().version(tenant, id, v).await?));
            }
        }
        Ok(LiveJourneys(out))
    }

    /// Reacts to every queued signal of every active tenant; returns how many were handled.
    pub async fn process_signals(&self) -> AppResult<u64> {
        let mut handled = 0;
        for tenant in self.store.signals().tenants_pending(100).await? {
            if self.store.tenants().get(tenant).await?.status != TenantStatus::Active {
                continue;
            }
            let stages = self.stages(tenant).await?;
            let live = self.live_journeys(tenant).await?;
            let mut graphs: HashMap<(JourneyId, i64), JourneyGraph> =
                live.0.iter().map(|(id, v, g)| ((*id, *v), g.clone())).collect();
            loop {
                let batch = self.store.signals().pending(tenant, SIGNAL_BATCH).await?;
                if batch.is_empty() {
                    break;
                }
                let mut customers: Vec<CustomerId> = batch.iter().map(|s| s.customer).collect();
                customers.sort();
                customers.dedup();
                let mut current = self.store.stages().current(tenant, &customers).await?;
                let paid = self.store.signals().paid_orders(tenant, &customers).await?;
                // The waits the batch's events may answer, by (customer, event name).
                let happenings: Vec<Happening> =
                    batch.iter().map(|s| Happening::read(&s.source, &s.kind, s.segment, s.payload.as_ref())).collect();
                let wanted: Vec<(CustomerId, String)> =
                    batch.iter().zip(&happenings).map(|(s, h)| (s.customer, h.event_name().to_string())).collect();
                let waiting = self.store.signals().waiting(tenant, &wanted).await?;
                for w in &waiting {
                    if let std::collections::hash_map::Entry::Vacant(slot) = graphs.entry((w.journey, w.version)) {
                        slot.insert(self.store.journeys().version(tenant, w.journey, w.version).await?);
                    }
                }
                let now = self.now();
                let mut out = Vec::with_capacity(batch.len());
                for (s, h) in batch.iter().zip(happenings) {
                    let mut r = Decided {
                        signal: s.id,
                        customer: s.customer,
                        exits: Vec::new(),
                        wakes: Vec::new(),
                        stage: None,
                        enrols: Vec::new(),
                    };
                    let fact = match &h {
                        Happening::Created => Some(Fact::Created),
                        Happening::Event { name, .. } if name == ORDER_PAID => {
                            Some(Fact::PaidOrders(paid.get(&s.customer).copied().unwrap_or(0)))
                        }
                        Happening::Event { name, .. } => Some(Fact::Event(name)),
                        Happening::TagAdded(t) => Some(Fact::TagAdded(*t)),
                        _ => None,
                    };
                    let was = current.get(&s.customer).map(|c| c.0.clone());
                    if let Some((to, reason)) = fact.and_then(|f| stages.on_fact(was.as_deref(), f)) {
                        let at = s.at.min(now);
                        current.insert(s.customer, (to.key.clone(), at));
                        r.stage = Some(StageMove {
                            customer: s.customer,
                            from: was,
                            to: to.key.clone(),
                            at,
                            reason: reason.into(),
                            actor: None,
                            journey: None,
                        });
                    }
                    for (id, version, g) in &live.0 {
                        let re = react(*id, g, &h, s.at, now);
                        if let Some(reason) = re.exit {
                            r.exits.push((*id, reason, re.exit_key));
                        }
                        if let Some(start) = re.enrol {
                            r.enrols.push((*id, *version, start, g.reentry, re.key));
                        }
                        if let Some(reason) = re.refused {
                            // A keyed trigger's event without the key property: nothing to key a run by.
                            metrics::counter!("siyu_journey_enrol_refused_total", "reason" => reason).increment(1);
                            tracing::debug!(journey = %id, customer = %s.customer, reason, "journey entry refused");
                        }
                    }
                    let answered = waiting.iter().filter(|w| {
                        w.customer == s.customer
                            && w.wait_event == h.event_name()
                            && s.at >= w.node_entered_at - WAKE_SLACK
                    });
                    for w in answered {
                        let g = graphs.get(&(w.journey, w.version));
                        if g.is_some_and(|g| wakes(g, &w.node, &h, w.entry_key.as_deref())) {
                            r.wakes.push((w.journey, w.entry_seq, w.wait_event.clone(), w.entry_key.clone()));
                        }
                    }
                    out.push(r);
                }
                let reactions: Vec<Reactions<'_>> = out
                    .iter()
                    .map(|r| Reactions {
                        signal: r.signal,
                        customer: r.customer,
                        exits: r.exits.clone(),
                        wakes: r.wakes.clone(),
                        stage: r.stage.clone(),
                        enrols: r
                            .enrols
                            .iter()
                            .map(|(journey, version, start, reentry, key)| Entry {
                                journey: *journey,
                                version: *version,
                                customer: r.customer,
                                start,
                                reentry: *reentry,
                                key: key.as_deref(),
                            })
                            .collect(),
                    })
                    .collect();
                let applied = self.store.signals().apply(tenant, &reactions, now).await?;
                handled += batch.len() as u64;
                if applied.moves + applied.exits > 0 {
                    metrics::counter!("siyu_journey_signal_effects_total").increment(applied.moves + applied.exits);
                }
            }
        }
        Ok(handled)
    }
}
