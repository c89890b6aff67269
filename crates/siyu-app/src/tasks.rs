//! Staff tasks: what a journey's task node asks a staff member to do about one customer ("call them back").
//!
//! The dispatcher creates the task for the customer's owning staff member (the earliest follow), once per
//! journey step however often the delivery is retried. Lists honour data scopes: a member sees the tasks
//! assigned to the staff their scope covers (a `self` member their own, a department its members', `all`
//! every task); completing needs `customers_write` and a task in scope. Creation and completion are written
//! to the customer's timeline (`task_created`, `task_completed`).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::UserId;
use siyu_domain::id::{CustomerId, TaskId, TenantId};
use siyu_domain::page::{Cursor, Page, PageRequest};
use siyu_domain::task::{Task, TaskKind, TaskStatus};
use siyu_store::journeys::OutboxItem;
use siyu_store::tasks::{NewTask, StepTask, TaskQuery};

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Which tasks to list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TaskFilter {
    /// `open`, `done` or `cancelled`; all when absent.
    pub status: Option<TaskStatus>,
    /// Only the tasks assigned to the caller.
    #[serde(default)]
    pub mine: bool,
}

/// A task a member creates by hand.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TaskInput {
    pub customer_id: CustomerId,
    /// The staff member it is for; the customer's owning staff member when absent.
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    #[serde(default)]
    pub kind: TaskKind,
    pub title: String,
    #[serde(default)]
    pub note: String,
    pub due_at: DateTime<Utc>,
}

/// The longest task title and note, in characters.
const TITLE_MAX: usize = 100;
const NOTE_MAX: usize = 500;

/// Whether the actor's data scope covers a task (by its assignee).
fn in_scope(actor: &Actor, task: &Task) -> bool {
    match &actor.visibility {
        None => true,
        Some(users) => task.assignee_id.is_some_and(|a| users.contains(&a)),
    }
}

impl App {
    /// A page of the tasks in the actor's scope, soonest due first.
    pub async fn list_tasks(&self, actor: &Actor, f: &TaskFilter, page: PageRequest) -> AppResult<Page<Task>> {
        actor.require(Permission::CustomersRead)?;
        let q = TaskQuery {
            status: f.status,
            assignee: f.mine.then_some(actor.user),
            customer: None,
            visible: actor.visibility.clone(),
        };
        let rows = self.store.tasks().list(actor.tenant, &q, page).await?;
        Ok(Page::from_overfetch(rows, page.limit, |t| Cursor { at: t.due_at, id: t.id.0 }))
    }

    /// Every task about a customer the actor may see, soonest due first.
    pub async fn customer_tasks(&self, actor: &Actor, customer: CustomerId) -> AppResult<Vec<Task>> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        let q = TaskQuery { customer: Some(customer), ..Default::default() };
        let rows = self.store.tasks().list(actor.tenant, &q, PageRequest::first(PageRequest::MAX_LIMIT)).await?;
        Ok(rows.into_iter().take(PageRequest::MAX_LIMIT as usize).collect())
    }

    /// Completes a task in the actor's scope (`customers_write`); completing a done task changes nothing.
    /// A cancelled task cannot be completed.
    pub async fn complete_task(&self, actor: &Actor, id: TaskId) -> AppResult<Task> {
        actor.require(Permission::CustomersWrite)?;
        let tasks = self.store.tasks();
        let task = tasks.get(actor.tenant, id).await?;
        if !in_scope(actor, &task) {
            return Err(AppError::NotFound);
        }
        match task.status {
            TaskStatus::Cancelled => return Err(AppError::Conflict("this task was cancelled".into())),
            TaskStatus::Done => return Ok(task),
            TaskStatus::Open => {}
        }
        if tasks.complete(actor.tenant, &task, actor.user, self.now()).await? {
            let ev = crate::audit::AuditEvent {
                action: "task.complete",
                object_type: "task",
                object_id: Some(id.to_string()),
                detail: json!({"customer_id": task.customer_id, "title": task.title}),
            };
            self.audit(actor, ev).await;
        }
        Ok(tasks.get(actor.tenant, id).await?)
    }

    /// Creates a task by hand (`customers_write`) about a customer the actor sees, for a staff member in the
    /// actor's scope; written to the customer's timeline. A WeCom staff member is told by app message.
    pub async fn create_task(&self, actor: &Actor, input: &TaskInput) -> AppResult<Task> {
        actor.require(Permission::CustomersWrite)?;
        self.ensure_visible(actor, input.customer_id).await?;
        let title = input.title.trim();
        if title.is_empty() {
            return Err(AppError::invalid("title", "task_title_required"));
        }
        if title.chars().count() > TITLE_MAX {
            return Err(AppError::invalid("title", format!("task_title_too_long (max {TITLE_MAX} characters)")));
        }
        let note = input.note.trim();
        if note.chars().count() > NOTE_MAX {
            return Err(AppError::invalid("note", format!("task_note_too_long (max {NOTE_MAX} characters)")));
        }
        if let Some(a) = input.assignee_id {
            self.store.members().get(actor.tenant, a).await.map_err(|e| match e {
                siyu_store::StoreError::NotFound => AppError::invalid("assignee_id", "unknown_staff"),
                e => e.into(),
            })?;
            if actor.visibility.as_ref().is_some_and(|users| !users.contains(&a)) {
                return Err(AppError::invalid("assignee_id", "staff_out_of_scope"));
            }
        }
        let new = NewTask {
            customer: input.customer_id,
            assignee: input.assignee_id,
            kind: input.kind,
            title,
            note,
            due_at: input.due_at,
            created_by: actor.user,
        };
        let id = self.store.tasks().create(actor.tenant, &new, self.now()).await?;
        let ev = crate::audit::AuditEvent {
            action: "task.create",
            object_type: "task",
            object_id: Some(id.to_string()),
            detail: json!({"customer_id": input.customer_id, "title": title, "kind": input.kind}),
        };
        self.audit(actor, ev).await;
        self.notify_staff_soon();
        Ok(self.store.tasks().get(actor.tenant, id).await?)
    }

    /// Delivers a journey's task action: the task for the customer's owning staff member, created once per
    /// step, and the outbox row marked sent with it.
    pub(crate) async fn create_journey_task(
        &self,
        tenant: TenantId,
        item: &OutboxItem,
        title: &str,
        kind: TaskKind,
        due_at: DateTime<Utc>,
    ) -> AppResult<()> {
        let now = self.now();
        if let Err(siyu_store::StoreError::NotFound) = self.store.customers().get(tenant, item.customer_id).await {
            // Merged into another customer or gone: no one to call, and the row must not stay due.
            let result = json!({"error": "customer_gone"});
            return Ok(self.store.journeys().finish_outbox(tenant, item.id, "failed", &result, now).await?);
        }
        let step = StepTask {
            outbox_id: item.id,
            dedupe_key: &item.dedupe_key,
            journey: item.journey_id,
            node: &item.node,
            customer: item.customer_id,
            title,
            kind,
            due_at,
        };
        let (_, created) = self.store.tasks().create_for_step(tenant, &step, now).await?;
        if created {
            self.notify_staff_soon();
        }
        Ok(())
    }
}
