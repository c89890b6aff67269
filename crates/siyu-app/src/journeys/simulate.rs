//! Test mode for actors: one customer (a real one the actor may see, or a made-up one) run through a
//! journey's graph on a simulated clock (`siyu_domain::journey::simulate`). Nothing is stored or sent.
//!
//! A real customer's branch answers come from their current data, as the worker would evaluate them; the
//! operator's chosen answers override them. With `caps` on, the daily cap applies and a customer who
//! withdrew marketing consent is skipped. In a keyed journey the customer enters with a key value and
//! injected events carry theirs, so two orders run side by side as they would in the worker.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, JourneyId};
use siyu_domain::journey::simulate::{Scenario, SimEvent, SimStep, simulate};
use siyu_domain::journey::step::Action;
use siyu_domain::journey::{JourneyGraph, NodeKind};
use siyu_domain::privacy::{ConsentPurpose, ConsentStatus};
use siyu_domain::segment::check;
use uuid::Uuid;

use super::DAILY_CAP;

/// The key value a test of a keyed journey enters with when it names none.
pub const DEFAULT_TEST_KEY: &str = "TEST";
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// What to simulate.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateInput {
    /// A customer the actor may see; without one, a made-up customer in the tenant's time zone.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// When the customer enters (default: now).
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    /// The version to run (default: the live one).
    #[serde(default)]
    pub version: Option<i64>,
    /// Branch answers by node id; they override what the customer's data says.
    #[serde(default)]
    pub branches: BTreeMap<String, bool>,
    /// Apply the daily cap and the customer's opt-out.
    #[serde(default)]
    pub caps: bool,
    /// Events the customer does, at chosen times (in a keyed journey each with the key value it carries).
    #[serde(default)]
    pub events: Vec<SimEvent>,
    /// The key value the customer enters with, in a keyed journey (e.g. the first order's id).
    #[serde(default)]
    pub entry_key: Option<String>,
}

/// One simulated step with its messages rendered for the customer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SimulatedStep {
    #[serde(flatten)]
    pub step: SimStep,
    /// The text of each send in the step, rendered with the customer's name.
    pub messages: Vec<String>,
}

/// What test mode shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SimulationView {
    pub journey: JourneyId,
    pub version: i64,
    pub customer_id: Option<CustomerId>,
    pub customer_name: String,
    /// The offset local times are in, e.g. `+08:00`.
    pub offset: String,
    pub start: DateTime<Utc>,
    /// The property the journey's runs are keyed by (`order_id`), if it is keyed.
    pub keyed_by: Option<String>,
    /// The answer each branch node gave.
    pub branches: BTreeMap<String, bool>,
    pub steps: Vec<SimulatedStep>,
    /// The run was still live when the simulation stopped (too many steps, or years ahead).
    pub truncated: bool,
}

impl App {
    /// Runs test mode on a journey (`customers_read`; a chosen customer must be visible to the actor).
    pub async fn simulate_journey(
        &self,
        actor: &Actor,
        journey: JourneyId,
        input: SimulateInput,
    ) -> AppResult<SimulationView> {
        actor.require(Permission::CustomersRead)?;
        let (_, live) = self.store.journeys().status(actor.tenant, journey).await?;
        let version = input.version.or(live).ok_or(AppError::NotFound)?;
        let g = self.store.journeys().version(actor.tenant, journey, version).await?;
        let offset = self.tenant_offset(actor.tenant).await?;
        let start = input.start.unwrap_or_else(|| self.now());
        let mut s = Scenario::new(start, offset);
        let (mut name, mut customer) = ("测试客户".to_string(), CustomerId(Uuid::nil()));
        if let Some(id) = input.customer_id {
            self.ensure_visible(actor, id).await?;
            let c = self.store.customers().get(actor.tenant, id).await?;
            s.branches = self.branch_answers(actor, &g, &c, start).await?;
            if input.caps {
                let consents = self.store.privacy().consents(actor.tenant, id).await?;
                s.opted_out = consents
                    .iter()
                    .any(|c| c.purpose == ConsentPurpose::Marketing && c.status == ConsentStatus::Withdrawn);
            }
            (name, customer) = (c.name, id);
        }
        s.branches.extend(input.branches);
        for n in g.nodes.iter().filter(|n| matches!(n.kind, NodeKind::Branch { .. })) {
            s.branches.entry(n.id.clone()).or_insert(s.default_branch);
        }
        s.daily_cap = input.caps.then_some(DAILY_CAP.max(0) as u32);
        s.events = input.events;
        s.entry_key = input.entry_key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
        // A keyed journey starts no run without a key value (the engine refuses such an event): a test that
        // names none enters with the value `TEST` rather than show a keyless run the engine would never start.
        if g.entry_key().is_some() && s.entry_key.is_none() {
            s.entry_key = Some(DEFAULT_TEST_KEY.to_string());
        }
        let sim = simulate(&g, journey, customer, &s)
            .ok_or_else(|| AppError::Conflict("the journey has no trigger".into()))?;
        let env = minijinja::Environment::new();
        let steps = sim
            .steps
            .into_iter()
            .map(|step| {
                let messages = step
                    .effects
                    .iter()
                    .filter_map(|e| match &e.action {
                        Action::Send { template, .. } => {
                            Some(env.render_str(template, serde_json::json!({"name": name})).unwrap_or_default())
                        }
                        _ => None,
                    })
                    .collect();
                SimulatedStep { step, messages }
            })
            .collect();
        Ok(SimulationView {
            journey,
            version,
            customer_id: input.customer_id,
            customer_name: name,
            offset: offset.to_string(),
            start,
            keyed_by: g.entry_key().map(str::to_string),
            branches: s.branches,
            steps,
            truncated: sim.truncated,
        })
    }

    /// What each branch of `g` answers for the customer now.
    async fn branch_answers(
        &self,
        actor: &Actor,
        g: &JourneyGraph,
        c: &siyu_domain::customer::Customer,
        now: DateTime<Utc>,
    ) -> AppResult<BTreeMap<String, bool>> {
        let catalog = self.segment_catalog(actor.tenant, None).await?;
        let rules: Vec<(String, siyu_domain::segment::Rule)> = g
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Branch { condition } => check(condition, &catalog).ok().map(|r| (n.id.clone(), r)),
                _ => None,
            })
            .collect();
        if rules.is_empty() {
            return Ok(BTreeMap::new());
        }
        let at = siyu_domain::segment::eval::At { now, offset: self.tenant_offset(actor.tenant).await? };
        let refs: Vec<&siyu_domain::segment::Rule> = rules.iter().map(|r| &r.1).collect();
        let held = self.evaluate(actor.tenant, c, &refs, at).await?;
        Ok(rules.into_iter().map(|r| r.0).zip(held).collect())
    }
}
