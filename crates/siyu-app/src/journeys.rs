//! Journeys (reference/journeys.md): publishing a checked graph as a version, enrolling customers, the
//! worker's step over due runs and the dispatcher over the outbox.
//!
//! `run_due_journeys` claims due runs per tenant in batches under a lease, builds what each step may ask
//! about its customer (the tenant's offset, branch conditions evaluated in memory, whether a marketing
//! message may go: no withdrawn consent and under the daily cap per channel), runs the pure
//! `journey::step::step` and writes the batch back with its ledger and outbox rows. `dispatch_outbox`
//! delivers pending rows: the `sandbox` channel records the rendered message once per dedupe key; tag
//! changes go through the tag store (history and timeline, reason `journey`); enrolments start the other
//! journey. Stage changes, tasks and webhooks are refused at publish until their channels land.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::json;
use siyu_domain::id::{CustomerId, JourneyId, SegmentId, TagId, TenantId, UserId};
use siyu_domain::journey::step::{Action, CustomerView, Wake, step};
use siyu_domain::journey::{GraphCatalog, GraphError, JourneyGraph, NodeKind, validate};
use siyu_domain::privacy::{ConsentPurpose, ConsentStatus};
use siyu_domain::segment::check::DefinitionError;
use siyu_domain::segment::{Catalog, check};
use siyu_domain::tenancy::TenantStatus;
use siyu_store::journeys::{Entry, OutboxItem, StepWrite};
use siyu_store::tags::{ChangeContext, TagChange};

use crate::App;
use crate::error::{AppError, AppResult};

/// Runs claimed per batch (one transaction writes them back).
pub const BATCH: i64 = 100;
/// How long a claim holds its runs.
const LEASE: Duration = Duration::seconds(60);
/// Marketing messages per customer, channel and local calendar day.
pub const DAILY_CAP: i64 = 1;
/// The channels that deliver today.
pub const CHANNELS: [&str; 1] = ["sandbox"];

/// What a graph may refer to in one tenant.
struct TenantCatalog {
    tags: Vec<TagId>,
    segments: Vec<SegmentId>,
    journeys: Vec<JourneyId>,
    env: minijinja::Environment<'static>,
}

impl GraphCatalog for TenantCatalog {
    fn check_template(&self, source: &str) -> Result<(), String> {
        self.env.template_from_str(source).map(|_| ()).map_err(|e| e.to_string())
    }
    fn has_channel(&self, channel: &str) -> bool {
        CHANNELS.contains(&channel)
    }
    fn has_tag(&self, tag: TagId) -> bool {
        self.tags.contains(&tag)
    }
    fn has_segment(&self, segment: SegmentId) -> bool {
        self.segments.contains(&segment)
    }
    fn has_stage(&self, _: &str) -> bool {
        // Lifecycle stages land with their own tables; until then no stage exists to refer to.
        false
    }
    fn has_journey(&self, journey: JourneyId) -> bool {
        self.journeys.contains(&journey)
    }
}

/// Graph problems as definition errors pointing at `/nodes/<index>`.
fn graph_errors(g: &JourneyGraph, errors: Vec<GraphError>) -> AppError {
    let list = errors
        .into_iter()
        .map(|e| {
            let index = e.node.as_ref().and_then(|id| g.nodes.iter().position(|n| &n.id == id));
            let path = index.map_or(String::new(), |i| format!("/nodes/{i}"));
            DefinitionError {
                path,
                span: None,
                code: e.code,
                detail: e.node.map_or(e.detail.clone(), |n| format!("{n}: {}", e.detail)),
            }
        })
        .collect();
    AppError::InvalidDefinition(list)
}

/// What one step may ask about its customer, gathered before the (synchronous) step runs.
struct View {
    offset: FixedOffset,
    branches: HashMap<String, bool>,
    opted_out: bool,
    /// Sends left today per channel, counted down as the step sends.
    allowance: std::cell::RefCell<HashMap<String, i64>>,
}

impl CustomerView for View {
    fn offset(&self) -> FixedOffset {
        self.offset
    }
    fn stage_entered_at(&self) -> Option<DateTime<Utc>> {
        None
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
    /// Checks a graph against the tenant (every problem on its node) and the branch conditions against the
    /// segment catalog.
    pub async fn check_journey(&self, tenant: TenantId, g: &JourneyGraph) -> AppResult<()> {
        let catalog = TenantCatalog {
            tags: self.store.tags().all_tags(tenant).await?.into_iter().map(|t| t.id).collect(),
            segments: self.store.segments().list(tenant).await?.into_iter().map(|s| s.id).collect(),
            journeys: self.store.journeys().list(tenant).await?.into_iter().map(|j| j.0).collect(),
            env: minijinja::Environment::new(),
        };
        let mut errors = validate(g, &catalog);
        let segment_catalog = self.segment_catalog(tenant, None).await?;
        let rule_tags = self.rule_tags(tenant).await?;
        for n in &g.nodes {
            if let NodeKind::Tag { add, remove } = &n.kind
                && let Some(t) = add.iter().chain(remove).find(|t| rule_tags.contains_key(t))
            {
                // A segment gives and takes it; a journey changing it would leave it held against the rule.
                errors.push(GraphError {
                    node: Some(n.id.clone()),
                    code: "rule_tag_is_automatic".into(),
                    detail: t.to_string(),
                });
            }
            let unsupported = matches!(n.kind, NodeKind::Task { .. } | NodeKind::Webhook { .. });
            if unsupported {
                errors.push(GraphError {
                    node: Some(n.id.clone()),
                    code: "channel_not_available".into(),
                    detail: n.kind.name().into(),
                });
            }
            if let NodeKind::Branch { condition } = &n.kind
                && let Err(problems) = check(condition, &segment_catalog)
            {
                for p in problems {
                    errors.push(GraphError { node: Some(n.id.clone()), code: p.code, detail: p.detail });
                }
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(graph_errors(g, errors)) }
    }

    /// Creates a journey and publishes its graph as version 1 (refused with every problem on its node).
    pub async fn create_journey(
        &self,
        tenant: TenantId,
        name: &str,
        g: &JourneyGraph,
        by: Option<UserId>,
    ) -> AppResult<JourneyId> {
        let name = siyu_domain::text::required("name", name, 60)?;
        self.check_journey(tenant, g).await?;
        let id = JourneyId::new();
        let journeys = self.store.journeys();
        journeys.create(tenant, id, &name, g, by, self.now()).await?;
        journeys.publish(tenant, id, g, by, self.now()).await?;
        Ok(id)
    }

    /// Starts a customer's run on the journey's live version, if its re-entry rule allows. Returns the entry.
    pub async fn enrol_in_journey(
        &self,
        tenant: TenantId,
        journey: JourneyId,
        customer: CustomerId,
    ) -> AppResult<Option<i64>> {
        let (status, version) = self.store.journeys().status(tenant, journey).await?;
        let Some(version) = version else { return Err(AppError::NotFound) };
        if status != "live" {
            return Ok(None);
        }
        let g = self.store.journeys().version(tenant, journey, version).await?;
        let Some(start) = g.nodes.iter().find(|n| n.kind.is_trigger()) else { return Ok(None) };
        let entry = Entry { journey, version, customer, start: &start.id, reentry: g.reentry };
        Ok(self.store.journeys().enrol(tenant, &entry, self.now()).await?)
    }

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
        Ok(View { offset, branches, opted_out, allowance: std::cell::RefCell::new(allowance) })
    }

    /// Delivers pending outbox rows of every tenant; returns how many were handled.
    pub async fn dispatch_outbox(&self) -> AppResult<u64> {
        let mut done = 0;
        for tenant in self.store.journeys().tenants_with_outbox(self.now(), 100).await? {
            loop {
                let items = self.store.journeys().pending_outbox(tenant, self.now(), BATCH).await?;
                if items.is_empty() {
                    break;
                }
                for item in &items {
                    // One item's failure is recorded on that item only; its neighbours still go.
                    if let Err(e) = self.deliver(tenant, item).await {
                        tracing::warn!(error = ?e, outbox = %item.id, "outbox delivery failed");
                        let result = json!({"error": e.code().name(), "message": e.to_string()});
                        self.store.journeys().finish_outbox(tenant, item.id, "failed", &result, self.now()).await?;
                    }
                    done += 1;
                }
            }
        }
        Ok(done)
    }

    async fn deliver(&self, tenant: TenantId, item: &OutboxItem) -> AppResult<()> {
        let now = self.now();
        let journeys = self.store.journeys();
        match &item.action {
            Action::Send { channel, template, .. } => {
                let c = match self.store.customers().get(tenant, item.customer_id).await {
                    Ok(c) => c,
                    // Merged into another customer or gone: nothing to deliver, and the row must not stay due.
                    Err(siyu_store::StoreError::NotFound) => {
                        let result = json!({"error": "customer_gone"});
                        return Ok(journeys.finish_outbox(tenant, item.id, "failed", &result, now).await?);
                    }
                    Err(e) => return Err(e.into()),
                };
                let env = minijinja::Environment::new();
                match env.render_str(template, json!({"name": c.name, "gender": c.gender.as_str()})) {
                    Ok(body) => journeys.deliver_to_sandbox(tenant, item, channel, &body, now).await?,
                    Err(e) => {
                        journeys.finish_outbox(tenant, item.id, "failed", &json!({"error": e.to_string()}), now).await?
                    }
                }
            }
            Action::Tag { add, remove } => {
                let tags = self.store.tags().all_tags(tenant).await?;
                let name = |id: &TagId| tags.iter().find(|t| t.id == *id).map(|t| t.name.clone());
                let changes: Vec<TagChange> = add
                    .iter()
                    .filter_map(|t| name(t).map(|n| TagChange { tag: *t, tag_name: n, add: true }))
                    .chain(
                        remove.iter().filter_map(|t| name(t).map(|n| TagChange { tag: *t, tag_name: n, add: false })),
                    )
                    .collect();
                let ctx = ChangeContext { actor: None, source: "journey", reason: "journey", at: now };
                let applied = self.store.tags().change(tenant, item.customer_id, &changes, &ctx).await?;
                journeys.finish_outbox(tenant, item.id, "sent", &json!({"changed": applied.len()}), now).await?;
                self.after_customer_change(tenant, item.customer_id).await;
            }
            Action::Enrol { journey } => {
                let entry = self.enrol_in_journey(tenant, *journey, item.customer_id).await?;
                journeys.finish_outbox(tenant, item.id, "sent", &json!({"entry": entry}), now).await?;
            }
            other => {
                let result = json!({"error": "channel_not_available", "action": other});
                journeys.finish_outbox(tenant, item.id, "failed", &result, now).await?;
            }
        }
        Ok(())
    }
}

/// A journey to create: its name and graph (published at once as version 1).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJourney {
    pub name: String,
    pub graph: JourneyGraph,
}

/// A journey as the API lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JourneyView {
    pub id: JourneyId,
    pub name: String,
    /// `draft`, `live`, `paused` or `archived`.
    pub status: String,
    pub live_version: Option<i64>,
}

/// One message the sandbox channel recorded.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SandboxMessage {
    pub channel: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

impl App {
    /// Creates and publishes a journey (`journeys_manage`); audited.
    pub async fn create_journey_as(&self, actor: &crate::Actor, input: NewJourney) -> AppResult<JourneyView> {
        actor.require(siyu_domain::access::Permission::JourneysManage)?;
        let id = self.create_journey(actor.tenant, &input.name, &input.graph, Some(actor.user)).await?;
        let ev = crate::audit::AuditEvent {
            action: "journey.publish",
            object_type: "journey",
            object_id: Some(id.to_string()),
            detail: json!({"name": input.name, "version": 1, "nodes": input.graph.nodes.len()}),
        };
        self.audit(actor, ev).await;
        let list = self.list_journeys(actor).await?;
        list.into_iter().find(|j| j.id == id).ok_or(AppError::NotFound)
    }

    pub async fn list_journeys(&self, actor: &crate::Actor) -> AppResult<Vec<JourneyView>> {
        actor.require(siyu_domain::access::Permission::CustomersRead)?;
        let rows = self.store.journeys().list(actor.tenant).await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, status, live_version)| JourneyView { id, name, status, live_version })
            .collect())
    }

    /// Enrols a customer the actor may see by hand (`journeys_manage`); `None` when the re-entry rule or a
    /// live run keeps them out.
    pub async fn enrol_customer(
        &self,
        actor: &crate::Actor,
        journey: JourneyId,
        customer: CustomerId,
    ) -> AppResult<Option<i64>> {
        actor.require(siyu_domain::access::Permission::JourneysManage)?;
        self.ensure_visible(actor, customer).await?;
        if self.store.privacy().erased_at(actor.tenant, customer).await?.is_some() {
            return Err(AppError::CustomerErased);
        }
        self.enrol_in_journey(actor.tenant, journey, customer).await
    }

    /// What the sandbox channel recorded for a customer, oldest first.
    pub async fn sandbox_messages(&self, actor: &crate::Actor, customer: CustomerId) -> AppResult<Vec<SandboxMessage>> {
        actor.require(siyu_domain::access::Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let rows = self.store.journeys().sandbox_of(actor.tenant, customer).await?;
        Ok(rows.into_iter().map(|(channel, body, at)| SandboxMessage { channel, body, at }).collect())
    }
}
