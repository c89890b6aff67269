//! The sidebar's customer panel: the customer of the open chat (by external_userid, within the member's data
//! scope), their unified profile, and the changes staff make from it. The changes go through the services
//! the console uses (tags, notes, stages, tasks) and are each audited as the staff member, marked as made in
//! the sidebar.

use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::clv::CustomerClv;
use siyu_domain::id::{CustomerId, TagId, TaskId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::page::PageRequest;
use siyu_domain::rfm::CustomerRfm;
use siyu_domain::stage::StageDef;
use siyu_domain::tag::{self, TagKind};
use siyu_domain::task::{Task, TaskStatus};

use super::SidebarIdentity;
use crate::activity::{ActivityFilter, ActivityItem};
use crate::audit::AuditEvent;
use crate::customers::CustomerDetail;
use crate::error::{AppError, AppResult};
use crate::orders::{CustomerOrderTotals, OrderView};
use crate::stages::CustomerStage;
use crate::tasks::TaskFilter;
use crate::{Actor, App};

/// How many orders and activity items the panel shows.
const RECENT: u32 = 5;
const TIMELINE: u32 = 10;

/// A tag staff may put on a customer: its id and `group / name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChoice {
    pub id: TagId,
    pub label: String,
}

/// Everything the panel shows about one customer.
#[derive(Debug, Clone)]
pub struct SidebarProfile {
    /// Profile, masked phone, tags, follows and notes (as the console's customer page has them).
    pub detail: CustomerDetail,
    pub stage: CustomerStage,
    pub stages: Vec<StageDef>,
    pub rfm: Option<CustomerRfm>,
    pub clv: Option<CustomerClv>,
    pub totals: CustomerOrderTotals,
    pub orders: Vec<OrderView>,
    pub activity: Vec<ActivityItem>,
    /// Tags the member may add (enterprise tags and their own personal ones, rule tags left out).
    pub tag_choices: Vec<TagChoice>,
}

fn recent(limit: u32) -> PageRequest {
    PageRequest { after: None, limit }
}

impl App {
    /// The customer of the chat with `external_userid` in the identity's corp: NotFound when unknown or
    /// outside the member's data scope.
    pub async fn sidebar_customer(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        external_userid: &str,
    ) -> AppResult<CustomerId> {
        actor.require(Permission::CustomersRead)?;
        if external_userid.is_empty() || external_userid.len() > 128 {
            return Err(AppError::NotFound);
        }
        let row = self.store.wecom().corp(actor.tenant, identity.corp).await?;
        let identities = self.store.identities();
        let found = identities.resolve(actor.tenant, IdentityKind::ExternalUserid, &row.corp_id, external_userid);
        let customer = found.await?.ok_or(AppError::NotFound)?;
        self.ensure_visible(actor, customer).await?;
        Ok(customer)
    }

    /// The panel of one customer the member sees.
    pub async fn sidebar_profile(&self, actor: &Actor, customer: CustomerId) -> AppResult<SidebarProfile> {
        let detail = self.get_customer(actor, customer).await?;
        let stage = self.customer_stage(actor, customer).await?;
        let stages = self.stages(actor.tenant).await?.0;
        let (rfm, clv) = self.customer_values(actor, customer).await?;
        let totals = self.customer_order_totals(actor, customer).await?;
        let orders = self.customer_orders(actor, customer, recent(RECENT)).await?.items;
        let activity = self.customer_activity(actor, customer, &ActivityFilter::default(), recent(TIMELINE)).await?;
        let rule_tags = self.rule_tags(actor.tenant).await?;
        let mut tag_choices = Vec::new();
        for g in self.tag_groups(actor).await? {
            if g.group.kind == TagKind::Personal && !tag::may_use(&g.group, actor.user) {
                continue;
            }
            for t in g.tags {
                if !rule_tags.contains_key(&t.tag.id) {
                    tag_choices.push(TagChoice { id: t.tag.id, label: format!("{} / {}", g.group.name, t.tag.name) });
                }
            }
        }
        Ok(SidebarProfile { detail, stage, stages, rfm, clv, totals, orders, activity: activity.items, tag_choices })
    }

    async fn sidebar_audit(&self, actor: &Actor, action: &str, customer: CustomerId, detail: serde_json::Value) {
        let ev = AuditEvent {
            action,
            object_type: "customer",
            object_id: Some(customer.to_string()),
            detail: json!({"via": "sidebar", "change": detail}),
        };
        self.audit(actor, ev).await;
    }

    /// Adds or removes one tag.
    pub async fn sidebar_tag(&self, actor: &Actor, customer: CustomerId, tag: TagId, add: bool) -> AppResult<()> {
        self.ensure_visible(actor, customer).await?;
        let (adds, removes) = if add { (vec![tag], vec![]) } else { (vec![], vec![tag]) };
        let changes = self.tag_customer(actor, customer, &adds, &removes).await?;
        if !changes.is_empty() {
            let detail = json!(
                changes.iter().map(|c| json!({"tag": c.tag, "name": c.tag_name, "add": c.add})).collect::<Vec<_>>()
            );
            self.sidebar_audit(actor, "customer.tags", customer, detail).await;
        }
        Ok(())
    }

    /// Adds a note.
    pub async fn sidebar_note(&self, actor: &Actor, customer: CustomerId, body: &str) -> AppResult<()> {
        self.ensure_visible(actor, customer).await?;
        let note = self.add_note(actor, customer, body).await?;
        self.sidebar_audit(actor, "customer.note", customer, json!({"note": note.id})).await;
        Ok(())
    }

    /// Moves the customer to another lifecycle stage.
    pub async fn sidebar_stage(&self, actor: &Actor, customer: CustomerId, stage: &str) -> AppResult<()> {
        self.ensure_visible(actor, customer).await?;
        let before = self.customer_stage(actor, customer).await?.stage;
        self.set_customer_stage(actor, customer, stage).await?;
        self.sidebar_audit(actor, "customer.stage", customer, json!({"from": before, "to": stage})).await;
        Ok(())
    }

    /// The member's own open tasks, soonest due first.
    pub async fn sidebar_tasks(&self, actor: &Actor) -> AppResult<Vec<Task>> {
        let filter = TaskFilter { status: Some(TaskStatus::Open), mine: true };
        let mut tasks = self.list_tasks(actor, &filter, recent(50)).await?.items;
        tasks.sort_by_key(|t| t.due_at);
        Ok(tasks)
    }

    /// Completes one of the member's tasks (audited by the task service).
    pub async fn sidebar_complete_task(&self, actor: &Actor, id: TaskId) -> AppResult<Task> {
        self.complete_task(actor, id).await
    }
}
