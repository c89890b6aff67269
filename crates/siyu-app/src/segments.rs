//! Segments (cdp.md §6): saved audiences defined by a condition tree (JSON) or its text form, checked
//! against the tenant's catalog, previewed with a live count, and materialised as members with an
//! enter/exit log. Dynamic segments are recomputed on demand, when their definition changes and by the
//! worker's sweep (time windows become true with no event); static ones are a snapshot changed by hand.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, SegmentId, TagId, TenantId};
use siyu_domain::page::{Cursor, Page, PageRequest};
use siyu_domain::segment::check::Catalog;
use siyu_domain::segment::eval::At;
use siyu_domain::segment::{ChangeReason, Condition, MembershipChange, Rule, Segment, SegmentKind, SegmentSize, text};

mod audience;
mod audience_sync;
mod catalog;
mod dirty;
mod refresh;
mod rule_tag;

pub use audience::{AudienceKey, AudienceReport, ad_phone, sha256_hex};
pub use audience_sync::{AudienceFile, AudienceSyncView, NewAudienceSync};
pub use refresh::SWEEP_EVERY;

use crate::audit::AuditEvent;
use crate::customers::CustomerSummary;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// A segment to create or the new state of one: a definition as JSON or as text (exactly one).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `dynamic` (default) or `static`; fixed at creation.
    #[serde(default = "dynamic")]
    pub kind: SegmentKind,
    /// The condition tree (see docs/segments.md).
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub definition: Option<Condition>,
    /// The text form, e.g. `order_count >= 3 and last_order_at within 90d`.
    #[serde(default)]
    pub text: Option<String>,
    /// A tag the members hold automatically (dynamic segments; an enterprise tag outside exclusive groups).
    #[serde(default)]
    pub rule_tag: Option<TagId>,
}

fn dynamic() -> SegmentKind {
    SegmentKind::Dynamic
}

/// A segment as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SegmentView {
    pub id: SegmentId,
    pub name: String,
    pub description: String,
    pub kind: SegmentKind,
    #[schema(value_type = Object)]
    pub definition: Condition,
    /// The definition in the text form.
    pub text: String,
    /// The tag members hold automatically, and its name (`组/标签`).
    pub rule_tag: Option<TagId>,
    pub rule_tag_name: Option<String>,
    pub archived: bool,
    pub member_count: i64,
    /// The last membership version.
    pub version: i64,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a definition matches now, before saving it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// Customers matching, within what the caller may see.
    pub count: i64,
    /// The newest few of them.
    pub sample: Vec<CustomerSummary>,
    /// The definition in the text form.
    pub text: String,
    #[schema(value_type = Object)]
    pub definition: Condition,
}

/// What a refresh changed.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct RefreshReport {
    pub entered: u64,
    pub exited: u64,
    pub members: i64,
    pub version: i64,
}

const SAMPLE: u32 = 10;

impl App {
    /// Resolves an input's definition (JSON or text) to the condition and its checked rule.
    async fn definition(
        &self,
        actor: &Actor,
        input_def: Option<&Condition>,
        input_text: Option<&str>,
        defining: Option<SegmentId>,
    ) -> AppResult<(Condition, Rule, Catalog)> {
        let catalog = self.segment_catalog(actor.tenant, defining).await?;
        let (cond, rule) = match (input_def, input_text.map(str::trim).filter(|t| !t.is_empty())) {
            (Some(_), Some(_)) => return Err(AppError::invalid("definition", "give_definition_or_text_not_both")),
            (None, None) => return Err(AppError::invalid("definition", "required")),
            (Some(def), None) => {
                let rule = siyu_domain::segment::check(def, &catalog).map_err(AppError::InvalidDefinition)?;
                (def.clone(), rule)
            }
            (None, Some(src)) => text::parse(src, &catalog).map_err(AppError::InvalidDefinition)?,
        };
        Ok((cond, rule, catalog))
    }

    fn view(&self, s: Segment, catalog: &Catalog) -> SegmentView {
        SegmentView {
            id: s.id,
            name: s.name,
            description: s.description,
            kind: s.kind,
            text: text::print(&s.definition, catalog),
            definition: s.definition,
            rule_tag: s.rule_tag,
            rule_tag_name: s
                .rule_tag
                .and_then(|t| catalog.tags.iter().find(|(id, ..)| *id == t).map(|(_, g, name)| format!("{g}/{name}"))),
            archived: s.archived,
            member_count: s.member_count,
            version: s.seq,
            refreshed_at: s.refreshed_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }

    pub(crate) async fn at(&self, tenant: TenantId) -> AppResult<(At, FixedOffset)> {
        let offset = self.tenant_offset(tenant).await?;
        Ok((At { now: self.now(), offset }, offset))
    }

    /// Counts and samples what a definition matches now, without saving it.
    pub async fn preview_segment(
        &self,
        actor: &Actor,
        definition: Option<&Condition>,
        src: Option<&str>,
    ) -> AppResult<Preview> {
        actor.require(Permission::CustomersRead)?;
        let (cond, rule, catalog) = self.definition(actor, definition, src, None).await?;
        let (at, _) = self.at(actor.tenant).await?;
        let segments = self.store.segments();
        let count = segments.count_matching(actor.tenant, &rule, at, &actor.visibility).await?;
        let page = PageRequest { limit: SAMPLE, after: None };
        let rows = segments.matching_page(actor.tenant, &rule, at, &actor.visibility, page).await?;
        let rows = Page::from_overfetch(rows, SAMPLE, |c| Cursor { at: c.created_at, id: c.id.0 }).items;
        let sample = self.summaries(actor, rows).await?;
        Ok(Preview { count, sample, text: text::print(&cond, &catalog), definition: cond })
    }

    pub async fn list_segments(&self, actor: &Actor) -> AppResult<Vec<SegmentView>> {
        actor.require(Permission::CustomersRead)?;
        let catalog = self.segment_catalog(actor.tenant, None).await?;
        let list = self.store.segments().list(actor.tenant).await?;
        Ok(list.into_iter().map(|s| self.view(s, &catalog)).collect())
    }

    pub async fn get_segment(&self, actor: &Actor, id: SegmentId) -> AppResult<SegmentView> {
        actor.require(Permission::CustomersRead)?;
        let catalog = self.segment_catalog(actor.tenant, None).await?;
        let s = self.store.segments().get(actor.tenant, id).await?;
        Ok(self.view(s, &catalog))
    }

    /// Creates a segment and materialises its members (recorded as `initial`: not entries journeys react to).
    pub async fn create_segment(&self, actor: &Actor, input: SegmentInput) -> AppResult<SegmentView> {
        actor.require(Permission::SegmentsManage)?;
        let name = siyu_domain::text::required("name", &input.name, 60)?;
        let description =
            siyu_domain::text::optional("description", Some(&input.description), 500)?.unwrap_or_default();
        let (definition, rule, catalog) =
            self.definition(actor, input.definition.as_ref(), input.text.as_deref(), None).await?;
        let id = SegmentId::new();
        if let Some(tag) = input.rule_tag {
            self.check_rule_tag(actor.tenant, id, input.kind, &rule, tag, &catalog).await?;
        }
        let now = self.now();
        let segment = Segment {
            id,
            name,
            description,
            kind: input.kind,
            definition,
            rule_tag: input.rule_tag,
            archived: false,
            seq: 0,
            member_count: 0,
            refreshed_at: None,
            created_by: Some(actor.user),
            created_at: now,
            updated_at: now,
        };
        self.store.segments().create(actor.tenant, &segment).await.map_err(name_taken)?;
        let report = self.materialise(actor.tenant, segment.id, &rule, ChangeReason::Initial).await?;
        let ev = AuditEvent {
            action: "segment.create",
            object_type: "segment",
            object_id: Some(segment.id.to_string()),
            detail: json!({"name": segment.name, "kind": segment.kind.as_str(), "members": report.members}),
        };
        self.audit(actor, ev).await;
        let stored = self.store.segments().get(actor.tenant, segment.id).await?;
        Ok(self.view(stored, &catalog))
    }

    /// Changes name, description and definition; a dynamic segment is recomputed at once (changes logged as
    /// `refresh`). A static segment keeps its members.
    pub async fn update_segment(&self, actor: &Actor, id: SegmentId, input: SegmentInput) -> AppResult<SegmentView> {
        actor.require(Permission::SegmentsManage)?;
        let mut s = self.store.segments().get(actor.tenant, id).await?;
        if input.kind != s.kind {
            return Err(AppError::invalid("kind", "kind_is_fixed"));
        }
        let (definition, rule, catalog) =
            self.definition(actor, input.definition.as_ref(), input.text.as_deref(), Some(id)).await?;
        s.name = siyu_domain::text::required("name", &input.name, 60)?;
        s.description = siyu_domain::text::optional("description", Some(&input.description), 500)?.unwrap_or_default();
        if let Some(tag) = input.rule_tag {
            self.check_rule_tag(actor.tenant, id, s.kind, &rule, tag, &catalog).await?;
        }
        s.definition = definition;
        s.updated_at = self.now();
        self.store.segments().update(actor.tenant, &s).await.map_err(name_taken)?;
        self.set_rule_tag(actor, &s, input.rule_tag).await?;
        if s.kind == SegmentKind::Dynamic && !s.archived {
            self.materialise(actor.tenant, id, &rule, ChangeReason::Refresh).await?;
        }
        let ev = AuditEvent {
            action: "segment.update",
            object_type: "segment",
            object_id: Some(id.to_string()),
            detail: json!({"name": s.name}),
        };
        self.audit(actor, ev).await;
        let stored = self.store.segments().get(actor.tenant, id).await?;
        Ok(self.view(stored, &catalog))
    }

    /// Archives (or restores) a segment: archived ones keep members and history but are not refreshed.
    pub async fn archive_segment(&self, actor: &Actor, id: SegmentId, archived: bool) -> AppResult<SegmentView> {
        actor.require(Permission::SegmentsManage)?;
        let mut s = self.store.segments().get(actor.tenant, id).await?;
        s.archived = archived;
        s.updated_at = self.now();
        self.store.segments().update(actor.tenant, &s).await?;
        let ev = AuditEvent {
            action: if archived { "segment.archive" } else { "segment.restore" },
            object_type: "segment",
            object_id: Some(id.to_string()),
            detail: json!({"name": s.name}),
        };
        self.audit(actor, ev).await;
        self.get_segment(actor, id).await
    }

    /// Deletes a segment with its members and history. Refused while another segment refers to it.
    pub async fn delete_segment(&self, actor: &Actor, id: SegmentId) -> AppResult<()> {
        actor.require(Permission::SegmentsManage)?;
        let s = self.store.segments().get(actor.tenant, id).await?;
        let others = self.store.segments().list(actor.tenant).await?;
        if let Some(user) = others.iter().find(|o| o.id != id && refers_to(&o.definition, id)) {
            return Err(AppError::Conflict(format!("segment “{}” refers to this segment", user.name)));
        }
        self.store.segments().delete(actor.tenant, id).await?;
        let ev = AuditEvent {
            action: "segment.delete",
            object_type: "segment",
            object_id: Some(id.to_string()),
            detail: json!({"name": s.name}),
        };
        self.audit(actor, ev).await;
        Ok(())
    }

    /// One page of a segment's members within the caller's scope, and how many they may see in all.
    pub async fn segment_members(
        &self,
        actor: &Actor,
        id: SegmentId,
        page: PageRequest,
    ) -> AppResult<(Page<CustomerSummary>, i64)> {
        actor.require(Permission::CustomersRead)?;
        let segments = self.store.segments();
        segments.get(actor.tenant, id).await?;
        let rows = segments.member_page(actor.tenant, id, &actor.visibility, page).await?;
        let page = Page::from_overfetch(rows, page.limit, |c| Cursor { at: c.created_at, id: c.id.0 });
        let total = segments.visible_member_count(actor.tenant, id, &actor.visibility).await?;
        let items = self.summaries(actor, page.items).await?;
        Ok((Page { items, next_cursor: page.next_cursor }, total))
    }

    /// Entries and exits after `version`, oldest first (how consumers follow a segment).
    pub async fn segment_changes(
        &self,
        actor: &Actor,
        id: SegmentId,
        version: i64,
        limit: u32,
    ) -> AppResult<Vec<MembershipChange>> {
        actor.require(Permission::CustomersRead)?;
        if actor.visibility.is_some() {
            // The log names customers outside a scoped member's own.
            return Err(AppError::Forbidden);
        }
        self.store.segments().get(actor.tenant, id).await?;
        Ok(self.store.segments().changes_after(actor.tenant, id, version, limit).await?)
    }

    /// The latest entries and exits, newest first, with the names of the customers still there.
    pub async fn latest_segment_changes(
        &self,
        actor: &Actor,
        id: SegmentId,
        limit: u32,
    ) -> AppResult<(Vec<MembershipChange>, HashMap<CustomerId, String>)> {
        actor.require(Permission::CustomersRead)?;
        if actor.visibility.is_some() {
            return Err(AppError::Forbidden);
        }
        self.store.segments().get(actor.tenant, id).await?;
        let changes = self.store.segments().latest_changes(actor.tenant, id, limit).await?;
        let ids: Vec<CustomerId> = changes.iter().map(|c| c.customer_id).collect();
        let found = self.store.customers().by_ids(actor.tenant, &ids).await?;
        Ok((changes, found.into_iter().map(|c| (c.id, c.name)).collect()))
    }

    /// Daily sizes over the last `days` days.
    pub async fn segment_sizes(&self, actor: &Actor, id: SegmentId, days: i64) -> AppResult<Vec<SegmentSize>> {
        actor.require(Permission::CustomersRead)?;
        self.store.segments().get(actor.tenant, id).await?;
        let (at, offset) = self.at(actor.tenant).await?;
        let since = (at.now.with_timezone(&offset).date_naive() - chrono::Duration::days(days - 1)).format("%Y-%m-%d");
        Ok(self.store.segments().sizes(actor.tenant, id, &since.to_string()).await?)
    }

    /// The segments a customer is in (name, since) and their latest entries and exits.
    pub async fn customer_segments(
        &self,
        actor: &Actor,
        customer: CustomerId,
    ) -> AppResult<(Vec<(SegmentId, String, DateTime<Utc>)>, Vec<MembershipChange>)> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let segments = self.store.segments();
        let current = segments.of_customer(actor.tenant, customer).await?;
        let changes = segments.changes_of_customer(actor.tenant, customer, 50).await?;
        Ok((current, changes))
    }

    /// Adds and removes members of a static segment by hand.
    pub async fn change_static_members(
        &self,
        actor: &Actor,
        id: SegmentId,
        add: &[CustomerId],
        remove: &[CustomerId],
    ) -> AppResult<RefreshReport> {
        actor.require(Permission::SegmentsManage)?;
        let s = self.store.segments().get(actor.tenant, id).await?;
        if s.kind != SegmentKind::Static {
            return Err(AppError::invalid("kind", "members_of_dynamic_segments_follow_the_definition"));
        }
        for c in add.iter().chain(remove) {
            self.ensure_visible(actor, *c).await?;
        }
        let (at, offset) = self.at(actor.tenant).await?;
        let day = at.now.with_timezone(&offset).format("%Y-%m-%d").to_string();
        let r = self
            .store
            .segments()
            .change_members(actor.tenant, id, add, remove, ChangeReason::Manual, at.now, &day)
            .await?;
        let ev = AuditEvent {
            action: "segment.members",
            object_type: "segment",
            object_id: Some(id.to_string()),
            detail: json!({"added": r.entered, "removed": r.exited}),
        };
        self.audit(actor, ev).await;
        Ok(RefreshReport { entered: r.entered, exited: r.exited, members: r.members, version: r.version })
    }
}

/// Whether a definition mentions a segment directly.
fn refers_to(c: &Condition, id: SegmentId) -> bool {
    match c {
        Condition::All { of } | Condition::Any { of } => of.iter().any(|x| refers_to(x, id)),
        Condition::Not { not } => refers_to(not, id),
        Condition::Segment { segment } => *segment == id,
        _ => false,
    }
}

fn name_taken(e: siyu_store::StoreError) -> AppError {
    if e.is_conflict_on("name") {
        AppError::Conflict("a segment with this name already exists".into())
    } else {
        e.into()
    }
}
