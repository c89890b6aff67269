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

use chrono::Duration;
use siyu_domain::id::{CustomerId, JourneyId, SegmentId, TagId, TenantId, UserId};
use siyu_domain::journey::{GraphCatalog, GraphError, JourneyGraph, NodeKind, validate};
use siyu_domain::segment::check;
use siyu_domain::segment::check::DefinitionError;
use siyu_store::journeys::Entry;

use crate::App;
use crate::error::{AppError, AppResult};

mod access;
mod dispatch;
mod worker;

pub use access::{JourneyView, NewJourney, SandboxMessage};

/// Runs claimed per batch (one transaction writes them back).
pub const BATCH: i64 = 100;
/// How long a claim holds its runs.
pub(crate) const LEASE: Duration = Duration::seconds(60);
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
}
