//! WeCom app messages to staff (`staff_notices`): one row per (dedupe key, staff member), made once, claimed
//! by one sender at a time, re-claimable when its sender died before recording WeCom's answer.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CorpId, TaskId, TenantId, UserId};
use uuid::Uuid;

use super::Wecom;
use crate::{StoreError, exec, on_pool};

/// An open task whose staff member can be told through a corp's app.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskToNotify {
    pub task_id: Uuid,
    pub kind: String,
    pub title: String,
    pub note: String,
    pub due_at: DateTime<Utc>,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub corp_row_id: Uuid,
    pub userid: String,
    pub user_id: Uuid,
}

/// A notice to make.
#[derive(Debug, Clone)]
pub struct NewNotice<'a> {
    pub corp: CorpId,
    pub userid: &'a str,
    pub user: UserId,
    pub dedupe_key: &'a str,
    pub task: Option<TaskId>,
    /// The `message/send` body as JSON text.
    pub body: &'a str,
}

/// A notice claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Notice {
    pub id: Uuid,
    pub corp_row_id: Uuid,
    pub userid: String,
    pub task_id: Option<Uuid>,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub msgid: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const NOTICE_COLUMNS: &str =
    "id, corp_row_id, userid, task_id, body, status, attempts, msgid, error, created_at, sent_at";

impl Wecom<'_> {
    /// Open tasks created since `since` whose assignee is active staff of an active corp with an app (agent
    /// id) and who has no notice for the task yet; oldest first.
    pub async fn tasks_to_notify(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<TaskToNotify>, StoreError> {
        let sql = "SELECT t.id AS task_id, t.kind, t.title, t.note, t.due_at, t.customer_id, c.name AS customer_name, \
             s.corp_row_id, s.userid, s.user_id \
             FROM staff_tasks t \
             JOIN customers c ON c.tenant_id = t.tenant_id AND c.id = t.customer_id \
             JOIN wecom_staff s ON s.tenant_id = t.tenant_id AND s.user_id = t.assignee_id AND s.status = 1 \
             JOIN wecom_corps k ON k.tenant_id = s.tenant_id AND k.id = s.corp_row_id \
                  AND k.status = 'active' AND k.agent_id IS NOT NULL \
             WHERE t.tenant_id = $1 AND t.status = 'open' AND t.created_at >= $2 \
             AND NOT EXISTS (SELECT 1 FROM staff_notices n WHERE n.tenant_id = t.tenant_id AND n.task_id = t.id) \
             ORDER BY t.created_at, t.id LIMIT $3";
        let rows = on_pool!(self.0, p => sqlx::query_as::<_, TaskToNotify>(sql)
            .bind(tenant.0).bind(since).bind(limit).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Makes a pending notice unless one with the same dedupe key and staff member exists; whether it did.
    pub async fn insert_notice(
        &self,
        tenant: TenantId,
        n: &NewNotice<'_>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO staff_notices (tenant_id, id, corp_row_id, userid, user_id, dedupe_key, task_id, body, \
             status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9) \
             ON CONFLICT (tenant_id, dedupe_key, userid) DO NOTHING";
        let n = exec!(self.0, p => sqlx::query(sql)
            .bind(tenant.0).bind(Uuid::now_v7()).bind(n.corp.0).bind(n.userid).bind(n.user.0).bind(n.dedupe_key)
            .bind(n.task.map(|t| t.0)).bind(n.body).bind(at).execute(p).await)?;
        Ok(n > 0)
    }

    /// Claims up to `limit` notices to send: pending ones, and those left `sending` before `stale` (their
    /// sender died before recording the answer). Each is claimed by exactly one caller.
    pub async fn claim_notices(
        &self,
        tenant: TenantId,
        stale: DateTime<Utc>,
        at: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Notice>, StoreError> {
        let pick = "SELECT id FROM staff_notices WHERE tenant_id = $1 \
             AND (status = 'pending' OR (status = 'sending' AND claimed_at < $2)) ORDER BY created_at, id LIMIT $3";
        let ids: Vec<(Uuid,)> =
            on_pool!(self.0, p => sqlx::query_as(pick).bind(tenant.0).bind(stale).bind(limit).fetch_all(p).await)?;
        let claim = "UPDATE staff_notices SET status = 'sending', attempts = attempts + 1, claimed_at = $3 \
             WHERE tenant_id = $1 AND id = $2 AND (status = 'pending' OR (status = 'sending' AND claimed_at < $4))";
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let won = exec!(self.0, p => sqlx::query(claim)
                .bind(tenant.0).bind(id).bind(at).bind(stale).execute(p).await)?;
            if won > 0 {
                out.push(self.notice(tenant, id).await?);
            }
        }
        Ok(out)
    }

    /// One notice.
    pub async fn notice(&self, tenant: TenantId, id: Uuid) -> Result<Notice, StoreError> {
        let sql = format!("SELECT {NOTICE_COLUMNS} FROM staff_notices WHERE tenant_id = $1 AND id = $2");
        let row = on_pool!(self.0, p => sqlx::query_as::<_, Notice>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(tenant.0).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Records how a claimed notice ended: `sent` with WeCom's msgid, `failed` with the reason, or still
    /// `sending` (a retryable failure, taken up again once stale) with the reason.
    pub async fn finish_notice(
        &self,
        tenant: TenantId,
        id: Uuid,
        status: &str,
        msgid: Option<&str>,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE staff_notices SET status = $3, msgid = COALESCE($4, msgid), error = $5, \
             sent_at = CASE WHEN $3 = 'sent' THEN $6 ELSE sent_at END WHERE tenant_id = $1 AND id = $2";
        exec!(self.0, p => sqlx::query(sql)
            .bind(tenant.0).bind(id).bind(status).bind(msgid).bind(error).bind(at).execute(p).await)?;
        Ok(())
    }
}
