//! Journeys (reference/journeys.md): publishing a checked graph as a version, enrolling customers, the
//! worker's step over due runs and the dispatcher over the outbox.
//!
//! `run_due_journeys` claims due runs per tenant in batches under a lease, builds what each step may ask
//! about its customer (the tenant's offset, branch conditions evaluated in memory, whether a marketing
//! message may go: no withdrawn consent and under the daily cap per channel), runs the pure
//! `journey::step::step` and writes the batch back with its ledger and outbox rows. `dispatch_outbox`
//! delivers pending rows: the `sandbox` channel records the rendered message once per dedupe key; the
//! `wecom` channel sends it 1:1 from the customer's owner in WeCom and polls its result ([`wecom`]); tag
//! changes go through the tag store (history and timeline, reason `journey`); enrolments start the other
//! journey; stage moves, staff tasks and signed webhooks ([`webhook`]) have their own deliveries.

use std::collections::HashMap;

use chrono::Duration;
use siyu_domain::id::{CustomerId, JourneyId, SegmentId, TagId, TenantId, UserId};
use siyu_domain::journey::signal::listened_events;
use siyu_domain::journey::{GraphCatalog, GraphError, JourneyGraph, NodeKind, Trigger, Wait, validate};
use siyu_domain::segment::check;
use siyu_domain::segment::check::DefinitionError;
use siyu_domain::segment::check::property_test;
use siyu_domain::stage::Stages;
use siyu_store::journeys::Entry;

use crate::App;
use crate::error::{AppError, AppResult};

mod access;
mod attachments;
mod channels;
mod dates;
mod deliveries;
mod dispatch;
pub mod egress;
pub mod metrics;
mod signals;
pub mod simulate;
pub mod templates;
pub mod versions;
pub mod webhook;
pub mod wecom;
mod worker;

pub use access::{JourneyView, NewJourney, SandboxMessage};
pub use deliveries::DeadLetterView;

/// Runs claimed per batch (one transaction writes them back).
pub const BATCH: i64 = 100;
/// How long a claim holds its runs.
pub(crate) const LEASE: Duration = Duration::seconds(60);
/// Marketing messages per customer, channel and local calendar day.
pub const DAILY_CAP: i64 = 1;
/// The names of the channels a send node may use: `sandbox` records the message; `wecom` sends it 1:1 from
/// the customer's owning staff member ([`wecom`]).
pub fn channel_names() -> impl Iterator<Item = &'static str> {
    channels::ALL.iter().map(|c| c.name())
}
/// What a graph may refer to in one tenant.
struct TenantCatalog {
    tags: Vec<TagId>,
    segments: Vec<SegmentId>,
    journeys: Vec<JourneyId>,
    stages: Stages,
    env: minijinja::Environment<'static>,
}

impl GraphCatalog for TenantCatalog {
    fn check_template(&self, source: &str) -> Result<(), String> {
        self.env.template_from_str(source).map(|_| ()).map_err(|e| e.to_string())
    }
    fn has_channel(&self, channel: &str) -> bool {
        channels::find(channel).is_some()
    }
    fn has_tag(&self, tag: TagId) -> bool {
        self.tags.contains(&tag)
    }
    fn has_segment(&self, segment: SegmentId) -> bool {
        self.segments.contains(&segment)
    }
    fn has_stage(&self, stage: &str) -> bool {
        self.stages.get(stage).is_some()
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
            stages: self.stages(tenant).await?,
            env: minijinja::Environment::new(),
        };
        let mut errors = validate(g, &catalog);
        let segment_catalog = self.segment_catalog(tenant, None).await?;
        let rule_tags = self.rule_tags(tenant).await?;
        let fields = self.store.fields().list(tenant).await?;
        // Each channel the graph sends on, asked once whether the brand can use it now.
        let mut unavailable: HashMap<&str, Option<&'static str>> = HashMap::new();
        for n in &g.nodes {
            if let NodeKind::Send { channel, .. } = &n.kind
                && !unavailable.contains_key(channel.as_str())
                && let Some(ch) = channels::find(channel)
            {
                unavailable.insert(channel, ch.unavailable(self, tenant).await?);
            }
        }
        for n in &g.nodes {
            if let NodeKind::Send { attachments, channel, .. } = &n.kind {
                errors.extend(self.attachment_errors(tenant, &n.id, attachments).await?);
                if let Some(Some(code)) = unavailable.get(channel.as_str()) {
                    // Refused now rather than failing every send (e.g. no WeCom corp to send from).
                    let problem =
                        GraphError { node: Some(n.id.clone()), code: (*code).into(), detail: channel.clone() };
                    errors.push(problem);
                }
            }
            if let NodeKind::Trigger { trigger: Trigger::DateProperty { field, .. } } = &n.kind {
                let date_field =
                    fields.iter().any(|f| &f.key == field && f.kind == siyu_domain::field::FieldKind::Date);
                if !date_field && field != dates::LAST_ORDER_AT {
                    errors.push(GraphError {
                        node: Some(n.id.clone()),
                        code: "unknown_date_field".into(),
                        detail: field.clone(),
                    });
                }
            }
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
            if let NodeKind::Webhook { url } = &n.kind
                && let Err(problem) = webhook::check_url(url)
                && (url.starts_with("http://") || url.starts_with("https://"))
            {
                // `validate` already refused anything else; this catches a missing host or a malformed URL.
                errors.push(GraphError { node: Some(n.id.clone()), code: "bad_url".into(), detail: problem });
            }
            let filters = match &n.kind {
                NodeKind::Trigger { trigger: Trigger::Event { filters, .. } } => filters.as_slice(),
                NodeKind::Wait { wait: Wait::Event { filters, .. } } => filters.as_slice(),
                _ => &[],
            };
            for p in filters.iter().filter_map(|f| property_test(f).err()) {
                errors.push(GraphError { node: Some(n.id.clone()), code: p.code, detail: p.detail });
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
        self.after_publish(tenant, id, g).await?;
        Ok(id)
    }

    /// What a new live version sets going: the event names the store queues, and the current members of
    /// segments whose enter trigger asks for them.
    pub(crate) async fn after_publish(&self, tenant: TenantId, id: JourneyId, g: &JourneyGraph) -> AppResult<()> {
        self.refresh_listened_events(tenant).await?;
        for n in &g.nodes {
            if let NodeKind::Trigger { trigger: Trigger::SegmentEnter { segment, current: true } } = &n.kind {
                let members = self.store.segments().member_ids(tenant, *segment).await?;
                let (_, version) = self.store.journeys().status(tenant, id).await?;
                let Some(version) = version else { continue };
                let entries: Vec<Entry<'_>> = members
                    .iter()
                    .map(|c| Entry { journey: id, version, customer: *c, start: &n.id, reentry: g.reentry, key: None })
                    .collect();
                self.store.journeys().enrol_many(tenant, &entries, self.now()).await?;
            }
        }
        Ok(())
    }

    /// Tells the store which resolved events to queue as signals: those live journeys and stage rules name.
    pub(crate) async fn refresh_listened_events(&self, tenant: TenantId) -> AppResult<()> {
        let mut names: Vec<String> = self.stages(tenant).await?.event_names().map(str::to_string).collect();
        for (_, _, g) in self.live_journeys(tenant).await?.0 {
            names.extend(listened_events(&g));
        }
        names.sort();
        names.dedup();
        Ok(self.store.signals().set_listened_events(tenant, &names).await?)
    }

    /// The stages live journeys refer to (they may not be removed from the stage list).
    pub(crate) async fn stages_in_use(&self, tenant: TenantId) -> AppResult<Vec<String>> {
        let mut keys = Vec::new();
        for (_, _, g) in self.live_journeys(tenant).await?.0 {
            for n in &g.nodes {
                match &n.kind {
                    NodeKind::Trigger { trigger: Trigger::StageEnter { stage, from } } => {
                        keys.push(stage.clone());
                        keys.extend(from.clone());
                    }
                    NodeKind::Stage { stage } => keys.push(stage.clone()),
                    _ => {}
                }
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
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
        let entry = Entry { journey, version, customer, start: &start.id, reentry: g.reentry, key: None };
        Ok(self.store.journeys().enrol(tenant, &entry, self.now()).await?)
    }
}
