//! The audit log table: append-only, newest first.

use chrono::{DateTime, Utc};
use siyu_domain::audit::AuditEntry;
use siyu_domain::id::{AuditId, TenantId, UserId};
use sqlx::types::Json;
use uuid::Uuid;

use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{Store, StoreError, exec, on_pool};

pub struct Audit<'a>(pub(crate) &'a Store);

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Uuid,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    actor_name: String,
    action: String,
    object_type: String,
    object_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Json<serde_json::Value>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: AuditId(r.id),
            at: r.at,
            actor_id: r.actor_id.map(UserId),
            actor_name: r.actor_name,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            ip: r.ip,
            user_agent: r.user_agent,
            detail: r.detail.0,
        }
    }
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub action_prefix: Option<String>,
    pub actor: Option<UserId>,
    pub object_id: Option<String>,
    /// Entries older than this id (ids are time ordered).
    pub before: Option<AuditId>,
    pub limit: u32,
}

impl Store {
    pub fn audit(&self) -> Audit<'_> {
        Audit(self)
    }
}

impl Audit<'_> {
    pub async fn append(&self, tenant: TenantId, e: &AuditEntry) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO audit_log (tenant_id, id, at, actor_id, actor_name, action, object_type, object_id, ip, user_agent, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(tenant.0).bind(e.id.0).bind(e.at).bind(e.actor_id.map(|a| a.0)).bind(&e.actor_name).bind(&e.action)
            .bind(&e.object_type).bind(&e.object_id).bind(&e.ip).bind(&e.user_agent).bind(Json(&e.detail))
            .execute(p).await)?;
        Ok(())
    }

    /// Newest first; fetches `limit + 1` so the caller can tell whether more exist.
    pub async fn list(&self, tenant: TenantId, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql = Sql::new(
            "SELECT id, at, actor_id, actor_name, action, object_type, object_id, ip, user_agent, detail \
             FROM audit_log WHERE tenant_id = ",
        );
        sql.bind(Arg::Uuid(tenant.0));
        if let Some(prefix) = &q.action_prefix {
            sql.push(" AND action >= ").bind(Arg::Text(prefix.clone()));
            sql.push(" AND action < ").bind(Arg::Text(format!("{prefix}\u{10FFFF}")));
        }
        if let Some(actor) = q.actor {
            sql.push(" AND actor_id = ").bind(Arg::Uuid(actor.0));
        }
        if let Some(obj) = &q.object_id {
            sql.push(" AND object_id = ").bind(Arg::Text(obj.clone()));
        }
        if let Some(before) = q.before {
            sql.push(" AND id < ").bind(Arg::Uuid(before.0));
        }
        sql.push(" ORDER BY id DESC").limit(i64::from(q.limit) + 1);
        let rows: Vec<AuditRow> = on_pool!(self.0, p => dyn_query_as!(AuditRow, sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
