//! Staff tasks (`staff_tasks`): to-dos for a staff member about one customer.
//!
//! A journey's task node becomes a task through `create_for_step`: in one transaction the customer's owning
//! staff member is looked up (the earliest follow), the task is inserted under the step's dedupe key
//! (`ON CONFLICT DO NOTHING`: a retried delivery creates nothing twice), a `task_created` entry goes to the
//! customer's timeline for a new task only, and the outbox row is marked sent. `complete` closes an open
//! task and writes `task_completed` to the timeline in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::json;
use siyu_domain::id::{CustomerId, JourneyId, TaskId, TenantId, TimelineId, UserId};
use siyu_domain::page::{Cursor, PageRequest};
use siyu_domain::task::{Task, TaskKind, TaskStatus};
use siyu_domain::timeline::{TimelineEntry, kinds};
use uuid::Uuid;

use crate::customers::Visibility;
use crate::journeys::deliveries::finish_outbox_stmt;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::statements::insert_timeline;
use crate::{Store, StoreError, in_write_tx, on_pool};

pub struct Tasks<'a>(pub(crate) &'a Store);

impl Store {
    pub fn tasks(&self) -> Tasks<'_> {
        Tasks(self)
    }
}

/// A task a journey step asks for.
#[derive(Debug, Clone)]
pub struct StepTask<'a> {
    /// The outbox row the step wrote (marked sent with the task).
    pub outbox_id: Uuid,
    pub dedupe_key: &'a str,
    pub journey: JourneyId,
    pub node: &'a str,
    pub customer: CustomerId,
    pub title: &'a str,
    pub kind: TaskKind,
    pub due_at: DateTime<Utc>,
}

/// A task a member creates by hand.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub customer: CustomerId,
    pub assignee: Option<UserId>,
    pub kind: TaskKind,
    pub title: &'a str,
    pub note: &'a str,
    pub due_at: DateTime<Utc>,
    pub created_by: UserId,
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Default)]
pub struct TaskQuery {
    pub status: Option<TaskStatus>,
    /// Only this staff member's.
    pub assignee: Option<UserId>,
    pub customer: Option<CustomerId>,
    /// Only tasks assigned to these staff members (the actor's data scope); `None`: all.
    pub visible: Visibility,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: Uuid,
    customer_id: Uuid,
    customer_name: String,
    assignee_id: Option<Uuid>,
    assignee_name: Option<String>,
    kind: String,
    title: String,
    note: String,
    due_at: DateTime<Utc>,
    status: String,
    journey_id: Option<Uuid>,
    node: Option<String>,
    created_at: DateTime<Utc>,
    done_at: Option<DateTime<Utc>>,
    done_by: Option<Uuid>,
    created_by: Option<Uuid>,
}

impl TryFrom<TaskRow> for Task {
    type Error = StoreError;
    fn try_from(r: TaskRow) -> Result<Self, StoreError> {
        Ok(Task {
            id: TaskId(r.id),
            customer_id: CustomerId(r.customer_id),
            customer_name: r.customer_name,
            assignee_id: r.assignee_id.map(UserId),
            assignee_name: r.assignee_name,
            kind: TaskKind::parse(&r.kind).ok_or_else(|| StoreError::Corrupt(format!("task kind {}", r.kind)))?,
            title: r.title,
            note: r.note,
            due_at: r.due_at,
            status: TaskStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("task status {}", r.status)))?,
            journey_id: r.journey_id.map(JourneyId),
            node: r.node,
            created_at: r.created_at,
            done_at: r.done_at,
            done_by: r.done_by.map(UserId),
            created_by: r.created_by.map(UserId),
        })
    }
}

const SELECT: &str = "SELECT t.id, t.customer_id, c.name AS customer_name, t.assignee_id, \
     a.display_name AS assignee_name, t.kind, t.title, t.note, t.due_at, t.status, t.journey_id, t.node, \
     t.created_at, t.done_at, t.done_by, t.created_by FROM staff_tasks t JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id \
     LEFT JOIN accounts a ON a.user_id = t.assignee_id WHERE t.tenant_id = ";

impl Tasks<'_> {
    /// Creates the task of a journey step for the customer's owning staff member, once per dedupe key, and
    /// marks the step's outbox row sent. Returns the task and whether this call created it.
    pub async fn create_for_step(
        &self,
        tenant: TenantId,
        s: &StepTask<'_>,
        at: DateTime<Utc>,
    ) -> Result<(TaskId, bool), StoreError> {
        in_write_tx!(self.0, tx => {
            let owner: Option<(Uuid,)> = sqlx::query_as(
                "SELECT user_id FROM follows WHERE tenant_id = $1 AND customer_id = $2 ORDER BY added_at, user_id LIMIT 1")
                .bind(tenant.0).bind(s.customer.0).fetch_optional(&mut *tx).await?;
            let assignee = owner.map(|o| o.0);
            let id = Uuid::now_v7();
            let new = sqlx::query(
                "INSERT INTO staff_tasks (tenant_id, id, customer_id, assignee_id, title, due_at, status, journey_id, node, \
                 dedupe_key, created_at, kind) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10, $11) \
                 ON CONFLICT (tenant_id, dedupe_key) DO NOTHING")
                .bind(tenant.0).bind(id).bind(s.customer.0).bind(assignee).bind(s.title).bind(s.due_at)
                .bind(s.journey.0).bind(s.node).bind(s.dedupe_key).bind(at).bind(s.kind.as_str())
                .execute(&mut *tx).await?.rows_affected() > 0;
            let (task,): (Uuid,) = sqlx::query_as("SELECT id FROM staff_tasks WHERE tenant_id = $1 AND dedupe_key = $2")
                .bind(tenant.0).bind(s.dedupe_key).fetch_one(&mut *tx).await?;
            if new {
                let e = TimelineEntry {
                    id: TimelineId::new(),
                    customer_id: s.customer,
                    occurred_at: at,
                    source: "journey".into(),
                    kind: kinds::TASK_CREATED.into(),
                    actor_id: None,
                    payload: json!({"task_id": task, "title": s.title, "kind": s.kind, "assignee_id": assignee,
                        "due_at": s.due_at, "journey_id": s.journey, "node": s.node}),
                };
                insert_timeline!(tenant, &e).execute(&mut *tx).await?;
            }
            let result = json!({"task_id": task, "created": new});
            finish_outbox_stmt!(tenant, s.outbox_id, "sent", result, at).execute(&mut *tx).await?;
            Ok::<(TaskId, bool), StoreError>((TaskId(task), new))
        })
    }

    /// Creates a task by hand for `assignee` (the customer's owning staff member when `None`) and writes
    /// `task_created` to the customer's timeline, together.
    pub async fn create(&self, tenant: TenantId, t: &NewTask<'_>, at: DateTime<Utc>) -> Result<TaskId, StoreError> {
        in_write_tx!(self.0, tx => {
            let assignee = match t.assignee {
                Some(u) => Some(u.0),
                None => sqlx::query_as::<_, (Uuid,)>(
                    "SELECT user_id FROM follows WHERE tenant_id = $1 AND customer_id = $2 \
                     ORDER BY added_at, user_id LIMIT 1")
                    .bind(tenant.0).bind(t.customer.0).fetch_optional(&mut *tx).await?.map(|o| o.0),
            };
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO staff_tasks (tenant_id, id, customer_id, assignee_id, title, due_at, status, created_at, \
                 kind, note, created_by) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10)")
                .bind(tenant.0).bind(id).bind(t.customer.0).bind(assignee).bind(t.title).bind(t.due_at).bind(at)
                .bind(t.kind.as_str()).bind(t.note).bind(t.created_by.0)
                .execute(&mut *tx).await?;
            let e = TimelineEntry {
                id: TimelineId::new(),
                customer_id: t.customer,
                occurred_at: at,
                source: "console".into(),
                kind: kinds::TASK_CREATED.into(),
                actor_id: Some(t.created_by),
                payload: json!({"task_id": id, "title": t.title, "kind": t.kind, "assignee_id": assignee,
                    "due_at": t.due_at, "note": t.note}),
            };
            insert_timeline!(tenant, &e).execute(&mut *tx).await?;
            Ok::<TaskId, StoreError>(TaskId(id))
        })
    }

    /// One task, if the tenant has it.
    pub async fn get(&self, tenant: TenantId, id: TaskId) -> Result<Task, StoreError> {
        let mut sql = Sql::new(SELECT);
        sql.bind(Arg::Uuid(tenant.0)).push(" AND t.id = ").bind(Arg::Uuid(id.0));
        let row: Option<TaskRow> = on_pool!(self.0, p => dyn_query_as!(TaskRow, sql).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// A page of tasks, soonest due first; returns up to `limit + 1` (the extra one signals a next page).
    pub async fn list(&self, tenant: TenantId, q: &TaskQuery, page: PageRequest) -> Result<Vec<Task>, StoreError> {
        let mut sql = Sql::new(SELECT);
        sql.bind(Arg::Uuid(tenant.0));
        if let Some(s) = q.status {
            sql.push(" AND t.status = ").bind(Arg::Text(s.as_str().into()));
        }
        if let Some(u) = q.assignee {
            sql.push(" AND t.assignee_id = ").bind(Arg::Uuid(u.0));
        }
        if let Some(c) = q.customer {
            sql.push(" AND t.customer_id = ").bind(Arg::Uuid(c.0));
        }
        if let Some(users) = &q.visible {
            if users.is_empty() {
                sql.push(" AND 1 = 0");
            } else {
                sql.push(" AND t.assignee_id IN ").bind_list(users.iter().map(|u| u.0));
            }
        }
        if let Some(Cursor { at, id }) = page.after {
            sql.push(" AND (t.due_at > ").bind(Arg::Time(at));
            sql.push(" OR (t.due_at = ").bind(Arg::Time(at)).push(" AND t.id > ").bind(Arg::Uuid(id)).push("))");
        }
        sql.push(" ORDER BY t.due_at, t.id").limit(i64::from(page.limit) + 1);
        let rows: Vec<TaskRow> = on_pool!(self.0, p => dyn_query_as!(TaskRow, sql).fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Marks an open task done by `by` and writes `task_completed` to the customer's timeline, together.
    /// Returns whether this call completed it (`false`: it was no longer open).
    pub async fn complete(
        &self,
        tenant: TenantId,
        task: &Task,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        in_write_tx!(self.0, tx => {
            let done = sqlx::query(
                "UPDATE staff_tasks SET status = 'done', done_at = $3, done_by = $4 \
                 WHERE tenant_id = $1 AND id = $2 AND status = 'open'")
                .bind(tenant.0).bind(task.id.0).bind(at).bind(by.0).execute(&mut *tx).await?.rows_affected() > 0;
            if done {
                let e = TimelineEntry {
                    id: TimelineId::new(),
                    customer_id: task.customer_id,
                    occurred_at: at,
                    source: "console".into(),
                    kind: kinds::TASK_COMPLETED.into(),
                    actor_id: Some(by),
                    payload: json!({"task_id": task.id, "title": task.title, "journey_id": task.journey_id,
                        "node": task.node}),
                };
                insert_timeline!(tenant, &e).execute(&mut *tx).await?;
            }
            Ok::<bool, StoreError>(done)
        })
    }
}
