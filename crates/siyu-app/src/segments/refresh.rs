//! Keeping members current: a full recompute of one segment, the worker's sweep over due dynamic
//! segments (a window such as "no order in 90 days" becomes true with no event), and the in-memory
//! evaluation of one customer against every dynamic segment when their own data changed.

use chrono::Duration;
use siyu_domain::access::Permission;
use siyu_domain::customer::Customer;
use siyu_domain::id::{CustomerId, SegmentId, TagId, TenantId};
use siyu_domain::segment::eval::{At, Subject, matches};
use siyu_domain::segment::population::Needs;
use siyu_domain::segment::{ChangeReason, Rule, Segment, SegmentKind, check};
use siyu_domain::tenancy::TenantStatus;
use siyu_store::segments::EventsSince;

use super::RefreshReport;
use super::rule_tag::in_refresh_order;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// How often the worker recomputes a dynamic segment at the latest.
pub const SWEEP_EVERY: Duration = Duration::minutes(5);

impl App {
    /// Recomputes a segment's members from its rule.
    pub(crate) async fn materialise(
        &self,
        tenant: TenantId,
        id: SegmentId,
        rule: &Rule,
        reason: ChangeReason,
    ) -> AppResult<RefreshReport> {
        let (at, offset) = self.at(tenant).await?;
        let ids = self.store.segments().matching_ids(tenant, rule, at).await?;
        let day = at.now.with_timezone(&offset).format("%Y-%m-%d").to_string();
        let r = self.store.segments().replace_members(tenant, id, &ids, reason, at.now, &day).await?;
        Ok(RefreshReport { entered: r.entered, exited: r.exited, members: r.members, version: r.version })
    }

    /// Recomputes a dynamic segment now.
    pub async fn refresh_segment(&self, actor: &Actor, id: SegmentId) -> AppResult<RefreshReport> {
        actor.require(Permission::SegmentsManage)?;
        let s = self.store.segments().get(actor.tenant, id).await?;
        if s.kind != SegmentKind::Dynamic {
            return Err(AppError::invalid("kind", "static_segments_do_not_refresh"));
        }
        let catalog = self.segment_catalog(actor.tenant, Some(id)).await?;
        let rule = check(&s.definition, &catalog).map_err(AppError::InvalidDefinition)?;
        let first = s.refreshed_at.is_none();
        let reason = if first { ChangeReason::Initial } else { ChangeReason::Refresh };
        self.materialise(actor.tenant, id, &rule, reason).await
    }

    /// Recomputes every active dynamic segment of every active tenant last refreshed more than
    /// [`SWEEP_EVERY`] ago (or all of them with `force`). A segment whose definition no longer checks (a
    /// tag it names was deleted) is skipped and logged. Returns how many segments were recomputed.
    pub async fn sweep_segments(&self, force: bool) -> AppResult<usize> {
        let mut n = 0;
        for tenant in self.store.tenants().list().await? {
            if tenant.status != TenantStatus::Active {
                continue;
            }
            let due = self.now() - SWEEP_EVERY;
            let segments = self.store.segments().list(tenant.id).await?;
            let due: Vec<_> = segments
                .into_iter()
                .filter(|s| s.kind == SegmentKind::Dynamic && !s.archived)
                .filter(|s| force || s.refreshed_at.is_none_or(|at| at <= due))
                .collect();
            if due.is_empty() {
                continue;
            }
            let catalog = self.segment_catalog(tenant.id, None).await?;
            let mut checked = Vec::with_capacity(due.len());
            for s in due {
                let catalog = siyu_domain::segment::Catalog { defining: Some(s.id), ..catalog.clone() };
                match check(&s.definition, &catalog) {
                    Ok(rule) => checked.push((s, rule)),
                    Err(errors) => tracing::warn!(segment = %s.id, ?errors, "segment definition no longer checks"),
                }
            }
            n += self.sweep_tenant(tenant.id, in_refresh_order(checked)).await?;
        }
        Ok(n)
    }

    /// Recomputes a tenant's due segments (in rule-tag order) over one columnar population read once:
    /// every rule is evaluated in memory over the columns it needs, and the atoms the population does not
    /// hold (follows, events, purchases) come from SQL once each. A segment reading a rule tag that an
    /// earlier segment of this sweep just gave or took is evaluated by SQL instead, on the fresh tags.
    async fn sweep_tenant(&self, tenant: TenantId, ordered: Vec<(Segment, Rule)>) -> AppResult<usize> {
        let mut needs = Needs::default();
        for (_, rule) in &ordered {
            needs.add(rule);
        }
        let (at, offset) = self.at(tenant).await?;
        let day = at.now.with_timezone(&offset).format("%Y-%m-%d").to_string();
        let segments = self.store.segments();
        let population = segments.population(tenant, &needs).await?;
        let external = segments.external_sets(tenant, &population, &needs, at).await?;
        let mut retagged: Vec<TagId> = Vec::new();
        for (s, rule) in &ordered {
            let ids = if rule.tags().iter().any(|t| retagged.contains(t)) {
                segments.matching_ids(tenant, rule, at).await?
            } else {
                population.ids_of(&population.evaluate(rule, at, &external).map_err(AppError::internal)?)
            };
            let reason = if s.refreshed_at.is_none() { ChangeReason::Initial } else { ChangeReason::Refresh };
            let r = segments.replace_members(tenant, s.id, &ids, reason, at.now, &day).await?;
            if r.tagged + r.untagged > 0 {
                retagged.extend(s.rule_tag);
            }
        }
        Ok(ordered.len())
    }

    /// The tenant's active dynamic segments that were materialised and still check, with their rules: what
    /// a change re-evaluates (the catalog is read only when there is one).
    pub(super) async fn live_dynamic_rules(&self, tenant: TenantId) -> AppResult<Vec<(Segment, Rule)>> {
        let all = self.store.segments().list(tenant).await?;
        let live: Vec<Segment> = all
            .into_iter()
            .filter(|s| s.kind == SegmentKind::Dynamic && !s.archived && s.refreshed_at.is_some())
            .collect();
        if live.is_empty() {
            return Ok(Vec::new());
        }
        let catalog = self.segment_catalog(tenant, None).await?;
        Ok(live.into_iter().filter_map(|s| check(&s.definition, &catalog).ok().map(|r| (s, r))).collect())
    }

    /// Whether one customer matches a segment's definition now, evaluated in memory (no SQL over the
    /// tenant): what the incremental path and single-customer checks use.
    pub async fn customer_matches_segment(
        &self,
        actor: &Actor,
        id: SegmentId,
        customer: CustomerId,
    ) -> AppResult<bool> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let s = self.store.segments().get(actor.tenant, id).await?;
        let catalog = self.segment_catalog(actor.tenant, Some(id)).await?;
        let rule = check(&s.definition, &catalog).map_err(AppError::InvalidDefinition)?;
        let c = self.store.customers().get(actor.tenant, customer).await?;
        let (at, _) = self.at(actor.tenant).await?;
        self.evaluate(actor.tenant, &c, &[&rule], at).await.map(|v| v.first().copied().unwrap_or(false))
    }

    /// Evaluates rules for one customer in memory, loading what they read once.
    pub async fn evaluate(&self, tenant: TenantId, c: &Customer, rules: &[&Rule], at: At) -> AppResult<Vec<bool>> {
        if self.store.privacy().erased_at(tenant, c.id).await?.is_some() {
            return Ok(vec![false; rules.len()]);
        }
        let window = rules.iter().filter_map(|r| r.event_window()).reduce(|a, b| match (a, b) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        });
        let events = match window {
            None => EventsSince::None,
            Some(None) => EventsSince::All,
            Some(Some(days)) => EventsSince::Since(at.cutoff(days)),
        };
        let facts = self.store.segments().subject_facts(tenant, c.id, events).await?;
        let aggregates = self.store.aggregates().get(tenant, c.id).await?;
        let follows = self.store.follows().of_customer(tenant, c.id).await?;
        let rfm = self.store.rfm().of_customer(tenant, c.id).await?;
        let clv = self.store.clv().of_customer(tenant, c.id).await?;
        let stage = self.store.stages().current(tenant, &[c.id]).await?.remove(&c.id);
        let subject = Subject {
            customer: c,
            aggregates: aggregates.as_ref(),
            tags: &facts.tags,
            groups: &facts.groups,
            identities: &facts.identities,
            follows: &follows,
            events: &facts.events,
            purchases: &facts.purchases,
            consents: &facts.consents,
            memberships: &facts.memberships,
            rfm: rfm.as_ref(),
            clv: clv.as_ref(),
            stage: stage.as_ref().map(|(k, at)| (k.as_str(), *at)),
        };
        Ok(rules.iter().map(|r| matches(r, &subject, at)).collect())
    }

    /// After one customer's own data changed through a single-customer use case (profile, tags, consent,
    /// identities, follows, a mall order): re-evaluates their dynamic segments. Never fails the caller:
    /// a failure is logged and the next sweep catches up.
    pub(crate) async fn after_customer_change(&self, tenant: TenantId, customer: CustomerId) {
        if let Err(e) = self.refresh_customer_segments(tenant, customer).await {
            tracing::warn!(error = ?e, customer = %customer.0, "segment re-evaluation failed; the sweep will catch up");
        }
    }

    /// Re-evaluates one customer against every active dynamic segment of the tenant and records the
    /// entries and exits (reason `change`) where membership differs. When that gave or took a rule tag,
    /// the segments reading it are evaluated again (a few rounds at most: rule tags form no cycle).
    pub async fn refresh_customer_segments(&self, tenant: TenantId, customer: CustomerId) -> AppResult<(u64, u64)> {
        let checked = self.live_dynamic_rules(tenant).await?;
        if checked.is_empty() {
            return Ok((0, 0));
        }
        let c = match self.store.customers().get(tenant, customer).await {
            Ok(c) => c,
            Err(siyu_store::StoreError::NotFound) => return Ok((0, 0)),
            Err(e) => return Err(e.into()),
        };
        let rules: Vec<&Rule> = checked.iter().map(|(_, r)| r).collect();
        let (at, offset) = self.at(tenant).await?;
        let day = at.now.with_timezone(&offset).format("%Y-%m-%d").to_string();
        let (mut entered, mut exited) = (0, 0);
        for _ in 0..RULE_TAG_ROUNDS {
            let results = self.evaluate(tenant, &c, &rules, at).await?;
            let held: Vec<SegmentId> =
                self.store.segments().of_customer(tenant, customer).await?.into_iter().map(|(id, _, _)| id).collect();
            let mut retagged = false;
            for ((s, _), is_member) in checked.iter().zip(results) {
                let id = &s.id;
                if held.contains(id) == is_member {
                    continue;
                }
                let (add, remove) = if is_member { (vec![customer], vec![]) } else { (vec![], vec![customer]) };
                let r = self
                    .store
                    .segments()
                    .change_members(tenant, *id, &add, &remove, ChangeReason::Change, at.now, &day)
                    .await?;
                entered += r.entered;
                exited += r.exited;
                retagged |= r.tagged + r.untagged > 0;
            }
            if !retagged {
                break;
            }
        }
        Ok((entered, exited))
    }
}

/// How many times one customer's change is followed through rule tags read by other segments.
const RULE_TAG_ROUNDS: usize = 4;
