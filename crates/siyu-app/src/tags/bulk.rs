//! Bulk tagging: a job that adds and removes tags on many customers (by ids or by filter) in
//! checkpointed batches, within the requesting member's data scope.

use serde::{Deserialize, Serialize};
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::{CustomerId, TagId};
use siyu_domain::job::Job;
use siyu_domain::tag;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Which customers a bulk tag job works on.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BulkTarget {
    Ids(Vec<CustomerId>),
    /// Every customer matching the filter (within the actor's data scope) when the job runs.
    Filter(FilterSpec),
}

/// The serialisable form of [`CustomerFilter`].
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    #[serde(default)]
    pub tags_any: Vec<TagId>,
    #[serde(default)]
    pub tags_all: Vec<TagId>,
    #[serde(default)]
    pub tags_none: Vec<TagId>,
    pub staff: Option<siyu_domain::id::UserId>,
    pub created_from: Option<chrono::DateTime<chrono::Utc>>,
    pub created_to: Option<chrono::DateTime<chrono::Utc>>,
    pub active_from: Option<chrono::DateTime<chrono::Utc>>,
    pub active_to: Option<chrono::DateTime<chrono::Utc>>,
    pub q: Option<String>,
}

impl From<FilterSpec> for CustomerFilter {
    fn from(f: FilterSpec) -> Self {
        CustomerFilter {
            tags_any: f.tags_any,
            tags_all: f.tags_all,
            tags_none: f.tags_none,
            staff: f.staff,
            created_from: f.created_from,
            created_to: f.created_to,
            active_from: f.active_from,
            active_to: f.active_to,
            q: f.q,
        }
    }
}

impl From<&CustomerFilter> for FilterSpec {
    fn from(f: &CustomerFilter) -> Self {
        FilterSpec {
            tags_any: f.tags_any.clone(),
            tags_all: f.tags_all.clone(),
            tags_none: f.tags_none.clone(),
            staff: f.staff,
            created_from: f.created_from,
            created_to: f.created_to,
            active_from: f.active_from,
            active_to: f.active_to,
            q: f.q.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkTagRequest {
    pub target: BulkTarget,
    #[serde(default)]
    pub add: Vec<TagId>,
    #[serde(default)]
    pub remove: Vec<TagId>,
}

impl App {
    /// Queues a bulk tag job; a worker applies it in batches with progress.
    pub async fn bulk_tag(&self, actor: &Actor, req: BulkTagRequest) -> AppResult<Job> {
        actor.require(Permission::CustomersWrite)?;
        if req.add.is_empty() && req.remove.is_empty() {
            return Err(AppError::invalid("add", "nothing_to_do"));
        }
        self.resolve_tag_adds(actor, &req.add).await?;
        let (groups, tags) = self.tag_catalog(actor).await?;
        for r in &req.remove {
            if !tags.get(r).and_then(|t| groups.get(&t.group_id)).is_some_and(|g| tag::may_use(g, actor.user)) {
                return Err(AppError::invalid("remove", format!("unknown_tag {r}")));
            }
        }
        self.refuse_rule_tags(actor.tenant, "remove", &req.remove).await?;
        let total = match &req.target {
            BulkTarget::Ids(ids) => {
                if ids.is_empty() || ids.len() > 10_000 {
                    return Err(AppError::invalid("target", "one_to_10000_ids"));
                }
                ids.len() as i64
            }
            BulkTarget::Filter(f) => self.count_customers(actor, &CustomerFilter::from(f.clone())).await?,
        };
        let payload = json!({ "request": req, "actor": actor.user, "after": null, "done": 0 });
        let job = Job::queued("bulk_tag", payload, total, actor.user, self.now());
        self.store.jobs().enqueue(actor.tenant, &job).await?;
        let ev = AuditEvent {
            action: "customer.bulk_tag",
            object_type: "job",
            object_id: Some(job.id.to_string()),
            detail: json!({"add": req.add, "remove": req.remove, "total": total}),
        };
        self.audit(actor, ev).await;
        Ok(job)
    }

    /// Runs one batch of a bulk tag job; returns `(processed, done)` and the new payload checkpoint.
    pub(crate) async fn bulk_tag_batch(
        &self,
        actor: &Actor,
        payload: &serde_json::Value,
    ) -> AppResult<(Vec<CustomerId>, serde_json::Value, bool)> {
        actor.require(Permission::CustomersWrite)?;
        let req: BulkTagRequest = serde_json::from_value(payload["request"].clone()).map_err(AppError::internal)?;
        let after: Option<CustomerId> = serde_json::from_value(payload["after"].clone()).ok().flatten();
        let batch = self.settings.worker.batch_size;
        let ids: Vec<CustomerId> = match &req.target {
            BulkTarget::Ids(ids) => {
                let mut sorted = ids.clone();
                sorted.sort();
                sorted.dedup();
                sorted.into_iter().filter(|id| after.is_none_or(|a| *id > a)).take(batch as usize).collect()
            }
            BulkTarget::Filter(f) => {
                let filter = CustomerFilter::from(f.clone());
                let q = self.customer_query(actor, &filter).await?;
                self.store.customers().ids(actor.tenant, &q, after, batch).await?
            }
        };
        let adds = self.resolve_tag_adds(actor, &req.add).await.unwrap_or_default();
        let (groups, tags) = self.tag_catalog(actor).await?;
        let mut processed = Vec::new();
        for id in &ids {
            // Erased customers (PIPL) keep no tags: they are skipped like invisible ones.
            if self.store.customers().is_visible(actor.tenant, *id, &actor.visibility).await?
                && matches!(self.store.privacy().erased_at(actor.tenant, *id).await, Ok(None))
            {
                self.apply_tags(actor, *id, &adds, &req.remove, &groups, &tags, "bulk").await?;
                processed.push(*id);
            }
        }
        let finished = ids.len() < batch as usize;
        let mut next = payload.clone();
        next["after"] = json!(ids.last().copied().or(after));
        next["done"] = json!(payload["done"].as_i64().unwrap_or(0) + ids.len() as i64);
        Ok((processed, next, finished))
    }
}
