//! Identity resolution (cdp.md §2): every observation (an event, an order, a confirmed suggestion) is
//! resolved to one customer. The rules are `siyu_domain::graph::decide`; this module gathers what they
//! need from the store, turns the decision into records and writes it in one transaction.
//!
//! Events are resolved after they are durably appended, by [`App::resolve_pending_events`], which the
//! worker runs between jobs: one resolver per tenant at a time (a lease row), events in arrival order.

use chrono::{DateTime, Utc};
use serde_json::json;
use siyu_domain::customer::{Customer, Gender};
use siyu_domain::event::Strength;
use siyu_domain::graph::{Decision, Key, Limits, Person, Seen, decide};
use siyu_domain::id::{CustomerId, EdgeId, EventId, IdentityId, MergeId, TenantId, TimelineId, UserId};
use siyu_domain::identity::{Identity, IdentityKind};
use siyu_domain::timeline::TimelineEntry;
use siyu_store::graph::{Applied, EdgeRecord, Held, MergePlan, SuggestionRecord};
use siyu_store::identities::IdentityRecord;

use crate::App;
use crate::error::{AppError, AppResult};

mod batch;
mod events;
mod suggestions;
mod unmerge;

pub use suggestions::{ReceiverPhone, SuggestionView};
pub use unmerge::{MergeView, UnmergeOutcome};

/// Timeline kinds written by identity resolution.
pub mod kinds {
    pub const CUSTOMERS_MERGED: &str = "customers_merged";
    pub const MERGE_UNDONE: &str = "merge_undone";
}

/// One identifier observed, with what is needed to store it if it is new.
#[derive(Debug, Clone)]
pub struct Observed {
    pub key: Key,
    pub strength: Strength,
    /// Masked for PII kinds.
    pub display: String,
    /// The ciphertext of the canonical value for PII kinds.
    pub value_enc: Option<Vec<u8>>,
}

/// Something that names a person: the identifiers it carried and where it came from.
#[derive(Debug, Clone)]
pub struct Observation {
    pub identifiers: Vec<Observed>,
    /// Masked phones it carried (`138****1234`): hints for a manual claim, never identifiers.
    pub masked_phones: Vec<String>,
    /// The identity source of new identities and the edge source: `sdk`, `order`, `console`.
    pub source: String,
    /// `event:<id>`, `order:<id>`, `suggestion:<id>`.
    pub evidence: String,
    pub event: Option<EventId>,
    /// Display name for a customer created by this observation.
    pub name: Option<String>,
    pub actor: Option<UserId>,
    pub at: DateTime<Utc>,
}

/// What a resolution did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Resolution {
    pub customer: Option<CustomerId>,
    pub created: bool,
    pub merged: Vec<CustomerId>,
    pub attached: usize,
    pub suggestions: usize,
}

impl App {
    /// Resolves one observation to a customer, creating, attaching and merging as the rules decide.
    pub async fn observe(&self, tenant: TenantId, obs: &Observation) -> AppResult<Resolution> {
        // A lost race on a new identity (another resolution inserted it first) is simply resolved again.
        for _ in 0..3 {
            match self.observe_once(tenant, obs).await {
                Err(AppError::DuplicateIdentity) => continue,
                other => return other,
            }
        }
        Err(AppError::DuplicateIdentity)
    }

    /// Runs `work` holding the tenant's resolver lease (waiting up to about ten seconds for it), so that an
    /// operator's merge or un-merge never interleaves with the resolver working on the same customers.
    pub(crate) async fn exclusively<T>(
        &self,
        tenant: TenantId,
        work: impl std::future::Future<Output = AppResult<T>>,
    ) -> AppResult<T> {
        let holder = uuid::Uuid::now_v7().to_string();
        let graph = self.store.graph();
        let mut tries = 0;
        loop {
            if self.take_resolver_lease(tenant, &holder).await? {
                break;
            }
            tries += 1;
            if tries > 50 {
                return Err(AppError::Unavailable);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let out = work.await;
        graph.release(tenant, &holder).await?;
        out
    }

    /// Takes the tenant's resolver lease for `holder` (for the worker's lease time); `false` while another
    /// holder has it.
    pub(crate) async fn take_resolver_lease(&self, tenant: TenantId, holder: &str) -> AppResult<bool> {
        let until = self.now() + chrono::Duration::seconds(self.settings.worker.lease_secs);
        Ok(self.store.graph().lease(tenant, holder, self.now(), until).await?)
    }

    async fn observe_once(&self, tenant: TenantId, obs: &Observation) -> AppResult<Resolution> {
        let graph = self.store.graph();
        let keys: Vec<Key> = obs.identifiers.iter().map(|o| o.key.clone()).collect();
        let held = graph.holders(tenant, &keys).await?;
        let mut holders: Vec<CustomerId> = held.iter().map(|h| h.customer).collect();
        holders.sort();
        holders.dedup();
        let records = graph.people(tenant, &holders).await?;
        let people: Vec<Person> = records
            .iter()
            .map(|p| Person {
                id: p.id,
                created_at: p.created_at,
                keys: p.identities.iter().map(|(_, k, _)| k.clone()).collect(),
                merges: p.merges,
                locked: p.erased,
            })
            .collect();
        let mut masked = Vec::new();
        for display in &obs.masked_phones {
            masked.extend(graph.masked_phone_holders(tenant, display, 4).await?);
        }
        let seen: Vec<Seen> = obs
            .identifiers
            .iter()
            .map(|o| Seen {
                key: o.key.clone(),
                strength: o.strength,
                holder: held.iter().find(|h| h.key == o.key).map(|h| h.customer),
            })
            .collect();
        let new_id = CustomerId::new();
        let d = decide(&seen, &people, &masked, new_id, &Limits::default());
        if d.target.is_none() {
            if let Some(e) = obs.event {
                graph.skip_event(tenant, e, self.now()).await?;
            }
            return Ok(Resolution::default());
        }
        let absorbed =
            if d.absorb.is_empty() { Vec::new() } else { self.store.customers().by_ids(tenant, &d.absorb).await? };
        let Some(plan) = plan(obs, &d, &held, &absorbed, new_id, self.now()) else { return Ok(Resolution::default()) };
        graph.apply(tenant, &plan.applied()).await?;
        self.link_waiting_orders(tenant, &plan).await?;
        Ok(Resolution {
            customer: Some(plan.target),
            created: d.created,
            merged: d.absorb,
            attached: plan.attach.len(),
            suggestions: plan.suggestions.len(),
        })
    }

    /// Orders whose buyer matched no one wait for a later identity: the plan's new identities may be it.
    pub(crate) async fn link_waiting_orders(&self, tenant: TenantId, plan: &Plan) -> AppResult<()> {
        let buyer_kinds =
            [IdentityKind::Unionid, IdentityKind::Openid, IdentityKind::PlatformBuyer, IdentityKind::Phone];
        for r in plan.attach.iter().filter(|r| buyer_kinds.contains(&r.identity.kind)) {
            let key = Key::new(r.identity.kind, &r.identity.namespace, &r.lookup);
            self.store.graph().attach_waiting_orders(tenant, &key, plan.target, plan.at).await?;
        }
        Ok(())
    }
}

/// What one resolution writes, built from a [`decide`] outcome (see [`plan`]).
pub(crate) struct Plan {
    pub target: CustomerId,
    pub create: Option<Customer>,
    pub attach: Vec<IdentityRecord>,
    pub merges: Vec<MergePlan>,
    pub edges: Vec<EdgeRecord>,
    pub suggestions: Vec<SuggestionRecord>,
    pub timeline: Vec<TimelineEntry>,
    pub event: Option<(EventId, Option<IdentityId>)>,
    pub actor: Option<UserId>,
    pub at: DateTime<Utc>,
}

impl Plan {
    pub fn applied(&self) -> Applied<'_> {
        Applied {
            target: self.target,
            create: self.create.as_ref(),
            attach: &self.attach,
            merges: &self.merges,
            edges: &self.edges,
            suggestions: &self.suggestions,
            timeline: &self.timeline,
            event: self.event,
            actor: self.actor,
            at: self.at,
        }
    }
}

/// Turns a decision into the records to write: new identities, edges (by identity id), merges, suggestions
/// and timeline entries. `held` are the identities the observation's keys already had; `absorbed` the
/// customers merged away (for their names). `None` when the decision has no target.
pub(crate) fn plan(
    obs: &Observation,
    d: &Decision,
    held: &[Held],
    absorbed: &[Customer],
    new_id: CustomerId,
    now: DateTime<Utc>,
) -> Option<Plan> {
    let target = d.target?;
    let attach: Vec<IdentityRecord> = d
        .attach
        .iter()
        .filter_map(|k| obs.identifiers.iter().find(|o| &o.key == k))
        .map(|o| identity_record(target, o, &obs.source, now))
        .collect();
    let identity_of = |k: &Key| -> Option<IdentityId> {
        held.iter()
            .find(|h| &h.key == k)
            .map(|h| h.identity)
            .or_else(|| attach.iter().find(|r| held_as(r, k)).map(|r| r.identity.id))
    };
    let edges: Vec<EdgeRecord> = d
        .edges
        .iter()
        .filter_map(|(a, b, strength)| {
            Some(EdgeRecord {
                id: EdgeId::new(),
                a: identity_of(a)?,
                b: identity_of(b)?,
                strength: *strength,
                source: obs.source.clone(),
                evidence: obs.evidence.clone(),
                observed_at: obs.at,
            })
        })
        .collect();
    let merges: Vec<MergePlan> = d
        .absorb
        .iter()
        .map(|a| MergePlan {
            id: MergeId::new(),
            absorbed: *a,
            rule: if obs.evidence.starts_with("suggestion:") { "suggestion_accepted" } else { "strong_identifier" }
                .into(),
            evidence: obs.evidence.clone(),
        })
        .collect();
    let suggestions: Vec<SuggestionRecord> = d
        .suggestions
        .iter()
        .map(|s| {
            let display = obs.identifiers.iter().find(|o| o.key == s.key).map(|o| o.display.clone());
            let evidence = json!({"kind": s.key.kind, "display": display.or_else(|| obs.masked_phones.first().cloned()),
                "evidence": obs.evidence});
            SuggestionRecord::open(target, s.other, s.reason, evidence, now)
        })
        .collect();
    let created = d.created.then(|| new_customer(new_id, obs, now));
    let mut timeline: Vec<TimelineEntry> = merges
        .iter()
        .map(|m| {
            let name = absorbed.iter().find(|c| c.id == m.absorbed).map(|c| c.name.clone());
            let payload = json!({"merge_id": m.id, "absorbed": m.absorbed, "absorbed_name": name,
                "rule": m.rule, "evidence": obs.evidence});
            entry(target, kinds::CUSTOMERS_MERGED, obs, payload)
        })
        .collect();
    if created.is_some() {
        timeline.push(entry(
            target,
            siyu_domain::timeline::kinds::CUSTOMER_CREATED,
            obs,
            json!({"name": created.as_ref().map(|c| c.name.clone()), "source": obs.source}),
        ));
    }
    for r in attach.iter().filter(|r| r.identity.kind != IdentityKind::AnonymousId) {
        let payload = json!({"kind": r.identity.kind, "namespace": r.identity.namespace, "display": r.identity.display,
            "evidence": obs.evidence});
        timeline.push(entry(target, siyu_domain::timeline::kinds::IDENTITY_ADDED, obs, payload));
    }
    let anchor = d.anchor.as_ref().and_then(identity_of);
    Some(Plan {
        target,
        create: created,
        attach,
        merges,
        edges,
        suggestions,
        timeline,
        event: obs.event.map(|e| (e, anchor)),
        actor: obs.actor,
        at: now,
    })
}

/// Whether a new identity record is the identity of `k`.
fn held_as(r: &IdentityRecord, k: &Key) -> bool {
    r.lookup == k.lookup && r.identity.kind == k.kind && r.identity.namespace == k.namespace
}

fn identity_record(customer: CustomerId, o: &Observed, source: &str, now: DateTime<Utc>) -> IdentityRecord {
    IdentityRecord {
        identity: Identity {
            id: IdentityId::new(),
            customer_id: customer,
            kind: o.key.kind,
            namespace: o.key.namespace.clone(),
            display: o.display.clone(),
            source: source.into(),
            created_at: now,
        },
        lookup: o.key.lookup.clone(),
        value_enc: o.value_enc.clone(),
    }
}

fn new_customer(id: CustomerId, obs: &Observation, now: DateTime<Utc>) -> Customer {
    let short: String = id.0.simple().to_string().chars().rev().take(4).collect();
    let name = obs.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| format!("访客 {short}"));
    Customer {
        id,
        name: name.chars().take(64).collect(),
        gender: Gender::Unknown,
        avatar_url: None,
        remark: None,
        source: obs.source.clone(),
        custom: serde_json::Map::new(),
        created_at: now,
        updated_at: now,
        last_active_at: Some(obs.at),
    }
}

fn entry(customer: CustomerId, kind: &str, obs: &Observation, payload: serde_json::Value) -> TimelineEntry {
    TimelineEntry {
        id: TimelineId::new(),
        customer_id: customer,
        occurred_at: obs.at,
        source: obs.source.clone(),
        kind: kind.into(),
        actor_id: obs.actor,
        payload,
    }
}
