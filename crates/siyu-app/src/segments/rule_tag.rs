//! Rule tags (cdp.md §6): a dynamic segment may name a tag its members hold automatically, e.g. "bought ≥ 3
//! times in 90 days" → 高频复购. The store gives and takes the tag inside each membership change; this
//! module checks the choice (an enterprise tag outside exclusive groups, not read by its own rule, no
//! cycle through other rule tags), keeps hand-made tag changes off rule tags, and orders the sweep so a
//! tag's driver is refreshed before the segments reading it.

use std::collections::HashMap;

use serde_json::json;
use siyu_domain::id::{SegmentId, TagId, TenantId};
use siyu_domain::segment::rule_tag::{TagFlow, refresh_order};
use siyu_domain::segment::{Catalog, Rule, Segment, SegmentKind, check};
use siyu_domain::tag::TagKind;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

impl App {
    /// The tags segments drive, with the driving segment's name.
    pub(crate) async fn rule_tags(&self, tenant: TenantId) -> AppResult<HashMap<TagId, String>> {
        let segments = self.store.segments().list(tenant).await?;
        Ok(segments.into_iter().filter_map(|s| s.rule_tag.map(|t| (t, s.name))).collect())
    }

    /// Refuses hand-made changes of tags a segment drives: they follow the segment's members.
    pub(crate) async fn refuse_rule_tags(&self, tenant: TenantId, field: &str, tags: &[TagId]) -> AppResult<()> {
        if tags.is_empty() {
            return Ok(());
        }
        let driven = self.rule_tags(tenant).await?;
        match tags.iter().find_map(|t| driven.get(t)) {
            Some(segment) => Err(AppError::invalid(field, format!("rule_tag_is_automatic (segment “{segment}”)"))),
            None => Ok(()),
        }
    }

    /// Checks that `tag` may be the rule tag of the segment `id` whose checked rule is `rule`.
    pub(super) async fn check_rule_tag(
        &self,
        tenant: TenantId,
        id: SegmentId,
        kind: SegmentKind,
        rule: &Rule,
        tag: TagId,
        catalog: &Catalog,
    ) -> AppResult<()> {
        if kind != SegmentKind::Dynamic {
            return Err(AppError::invalid("rule_tag", "rule_tags_need_a_dynamic_segment"));
        }
        let t = match self.store.tags().tag(tenant, tag).await {
            Ok(t) => t,
            Err(siyu_store::StoreError::NotFound) => return Err(AppError::invalid("rule_tag", "unknown_tag")),
            Err(e) => return Err(e.into()),
        };
        let group = self.store.tags().group(tenant, t.group_id).await?;
        if group.kind != TagKind::Enterprise {
            return Err(AppError::invalid("rule_tag", "personal_tags_cannot_be_rule_tags"));
        }
        if group.exclusive {
            // Giving it would take a sibling tag someone chose by hand.
            return Err(AppError::invalid("rule_tag", "tags_of_exclusive_groups_cannot_be_rule_tags"));
        }
        if rule.tags().contains(&tag) {
            return Err(AppError::invalid("rule_tag", "rule_tag_read_by_its_own_definition"));
        }
        let mut flows: Vec<TagFlow> = Vec::new();
        for s in self.store.segments().list(tenant).await? {
            if s.id == id {
                continue;
            }
            if s.rule_tag == Some(tag) {
                return Err(AppError::Conflict(format!("segment “{}” already drives this tag", s.name)));
            }
            if let Some(flow) = flow_of(&s, catalog) {
                flows.push(flow);
            }
        }
        flows.push(TagFlow { segment: id, drives: Some(tag), reads: rule.tags() });
        match refresh_order(&flows) {
            Err(cycle) if cycle.contains(&id) => {
                Err(AppError::invalid("rule_tag", "rule_tag_cycle (segments give each other the tags they read)"))
            }
            _ => Ok(()),
        }
    }

    /// Makes `tag` the segment's rule tag (or none), giving it to the current members at once. Holdings
    /// the previous rule tag made stay with their customers as ordinary tags.
    pub(super) async fn set_rule_tag(&self, actor: &Actor, s: &Segment, tag: Option<TagId>) -> AppResult<()> {
        if s.rule_tag == tag {
            return Ok(());
        }
        let given = self.store.segments().set_rule_tag(actor.tenant, s.id, tag, self.now()).await?;
        let ev = AuditEvent {
            action: "segment.rule_tag",
            object_type: "segment",
            object_id: Some(s.id.to_string()),
            detail: json!({"name": s.name, "from": s.rule_tag, "to": tag, "given": given}),
        };
        self.audit(actor, ev).await;
        Ok(())
    }
}

/// What a saved segment gives and reads (`None` when its definition no longer checks).
fn flow_of(s: &Segment, catalog: &Catalog) -> Option<TagFlow> {
    let catalog = Catalog { defining: Some(s.id), ..catalog.clone() };
    let rule = check(&s.definition, &catalog).ok()?;
    Some(TagFlow { segment: s.id, drives: s.rule_tag, reads: rule.tags() })
}

/// Orders checked segments so every rule tag's driver comes before its readers (the given order when a
/// cycle slipped in, e.g. through a definition edited before this check existed).
pub(super) fn in_refresh_order(checked: Vec<(Segment, Rule)>) -> Vec<(Segment, Rule)> {
    let flows: Vec<TagFlow> =
        checked.iter().map(|(s, r)| TagFlow { segment: s.id, drives: s.rule_tag, reads: r.tags() }).collect();
    match refresh_order(&flows) {
        Ok(order) => {
            let mut by_id: HashMap<SegmentId, (Segment, Rule)> = checked.into_iter().map(|x| (x.0.id, x)).collect();
            order.into_iter().filter_map(|id| by_id.remove(&id)).collect()
        }
        Err(cycle) => {
            tracing::warn!(?cycle, "segments give each other the tags they read; refreshing in list order");
            checked
        }
    }
}
