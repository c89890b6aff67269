//! Lifecycle stages (reference/journeys.md §2): the tenant's stage list (the defaults until edited), each
//! customer's stage and its history, moves by hand, and the sweep for the rules that fire on time.
//!
//! Rules that fire on a signal (an event, a tag, a paid order) run in `journeys::signals`, with the other
//! reactions to the same signal. The sweep here moves customers silent for N days, stalled in a stage for
//! N days, and gives a first stage to customers who have none (from their paid orders, dated from their
//! last order or their creation: for long-known customers the move is old news no journey starts on).

use chrono::Duration;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, TenantId};
use siyu_domain::stage::{Fact, StageChange, StageDef, Stages, defaults};
use siyu_store::stages::StageMove;

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Customers one sweep step moves per rule.
const SWEEP_BATCH: i64 = 500;

/// A customer's stage as the API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CustomerStage {
    pub stage: Option<String>,
    pub name: Option<String>,
    pub entered_at: Option<chrono::DateTime<chrono::Utc>>,
    pub history: Vec<StageChange>,
}

/// A stage as the API lists it, with how many customers are in it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StageView {
    #[serde(flatten)]
    pub stage: StageDef,
    pub customers: i64,
}

/// A stage to move a customer to.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    pub stage: String,
}

impl App {
    /// The tenant's stages in order with their customer counts (`customers_read`).
    pub async fn stage_list(&self, actor: &Actor) -> AppResult<Vec<StageView>> {
        actor.require(Permission::CustomersRead)?;
        let counts = self.stage_counts(actor.tenant).await?;
        Ok(counts.into_iter().map(|(stage, customers)| StageView { stage, customers }).collect())
    }

    /// The tenant's stages (the defaults until edited).
    pub async fn stages(&self, tenant: TenantId) -> AppResult<Stages> {
        match self.store.stages().defs(tenant).await? {
            Some(list) => Ok(Stages(list)),
            None => Ok(defaults()),
        }
    }

    /// Replaces the tenant's stage list (`journeys_manage`); audited. A stage live journeys refer to may not
    /// be removed.
    pub async fn save_stages(&self, actor: &Actor, list: Vec<StageDef>) -> AppResult<Vec<StageDef>> {
        actor.require(Permission::JourneysManage)?;
        let stages = Stages::parse(list)?;
        for key in self.stages_in_use(actor.tenant).await? {
            if stages.get(&key).is_none() {
                return Err(AppError::invalid("stages", "stage_in_use"));
            }
        }
        self.store.stages().save_defs(actor.tenant, &stages.0, self.now()).await?;
        self.refresh_listened_events(actor.tenant).await?;
        let ev = crate::audit::AuditEvent {
            action: "stages.update",
            object_type: "stages",
            object_id: None,
            detail: serde_json::json!({"stages": stages.0.iter().map(|s| &s.key).collect::<Vec<_>>()}),
        };
        self.audit(actor, ev).await;
        Ok(stages.0)
    }

    /// A customer's stage and history (`customers_read`, within the actor's scope).
    pub async fn customer_stage(&self, actor: &Actor, customer: CustomerId) -> AppResult<CustomerStage> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let stages = self.stages(actor.tenant).await?;
        let current = self.store.stages().current(actor.tenant, &[customer]).await?.remove(&customer);
        let history = self.store.stages().history(actor.tenant, customer).await?;
        let name = current.as_ref().and_then(|(k, _)| stages.get(k)).map(|s| s.name.clone());
        Ok(CustomerStage { name, entered_at: current.as_ref().map(|c| c.1), stage: current.map(|c| c.0), history })
    }

    /// Moves a customer to a stage by hand (`customers_write`); the move is a journey signal like any other.
    pub async fn set_customer_stage(&self, actor: &Actor, customer: CustomerId, stage: &str) -> AppResult<()> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_editable(actor, customer).await?;
        if self.stages(actor.tenant).await?.get(stage).is_none() {
            return Err(AppError::invalid("stage", "unknown_stage"));
        }
        let from = self.store.stages().current(actor.tenant, &[customer]).await?.remove(&customer).map(|c| c.0);
        let m = StageMove {
            customer,
            from,
            to: stage.to_string(),
            at: self.now(),
            reason: "manual".into(),
            actor: Some(actor.user),
            journey: None,
        };
        self.store.stages().apply(actor.tenant, &[m]).await?;
        Ok(())
    }

    /// Customers per stage, in the tenant's order (stages nobody is in count 0).
    pub async fn stage_counts(&self, tenant: TenantId) -> AppResult<Vec<(StageDef, i64)>> {
        let counts = self.store.stages().counts(tenant).await?;
        let stages = self.stages(tenant).await?;
        Ok(stages
            .0
            .into_iter()
            .map(|s| {
                let n = counts.iter().find(|c| c.0 == s.key).map_or(0, |c| c.1);
                (s, n)
            })
            .collect())
    }

    /// One pass of the time rules over a tenant: first stages for customers without one, silence, stalls.
    /// Returns how many customers moved; call until it returns 0.
    pub async fn sweep_stages(&self, tenant: TenantId) -> AppResult<usize> {
        let stages = self.stages(tenant).await?;
        let now = self.now();
        let mut moves = Vec::new();
        let first = stages.0.first().map(|s| s.key.clone());
        for (customer, paid, since) in self.store.stages().unstaged(tenant, SWEEP_BATCH).await? {
            let by_orders = stages.on_fact(None, Fact::PaidOrders(paid)).map(|(s, _)| s.key.clone());
            let Some(to) = by_orders.or_else(|| first.clone()) else { continue };
            moves.push(moved(customer, None, to, since.min(now), "backfill"));
        }
        let dormant: Vec<String> = stages.0.iter().filter(|s| s.dormant).map(|s| s.key.clone()).collect();
        for (target, days) in stages.silence() {
            let cutoff = now - Duration::days(i64::from(days));
            for (customer, from) in self.store.stages().silent_since(tenant, cutoff, &dormant, SWEEP_BATCH).await? {
                moves.push(moved(customer, Some(from), target.key.clone(), now, "silence"));
            }
        }
        for (target, stalled, days) in stages.stalls() {
            let cutoff = now - Duration::days(i64::from(days));
            for customer in self.store.stages().stalled_in(tenant, stalled, cutoff, SWEEP_BATCH).await? {
                moves.push(moved(customer, Some(stalled.to_string()), target.key.clone(), now, "stalled"));
            }
        }
        if moves.is_empty() {
            return Ok(0);
        }
        Ok(self.store.stages().apply(tenant, &moves).await?)
    }

    /// Sweeps every active tenant's stages until nothing moves.
    pub async fn sweep_all_stages(&self) -> AppResult<usize> {
        let mut total = 0;
        for t in self.store.tenants().list().await? {
            if t.status != siyu_domain::tenancy::TenantStatus::Active {
                continue;
            }
            loop {
                let n = self.sweep_stages(t.id).await?;
                total += n;
                if n == 0 {
                    break;
                }
            }
        }
        Ok(total)
    }
}

fn moved(
    customer: CustomerId,
    from: Option<String>,
    to: String,
    at: chrono::DateTime<chrono::Utc>,
    reason: &str,
) -> StageMove {
    StageMove { customer, from, to, at, reason: reason.into(), actor: None, journey: None }
}
