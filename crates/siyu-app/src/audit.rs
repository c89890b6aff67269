//! Recording and reading the audit log.

use serde_json::Value;
use siyu_domain::access::Permission;
use siyu_domain::audit::AuditEntry;
use siyu_domain::id::{AuditId, TenantId, UserId};
use siyu_domain::page::Page;
pub use siyu_store::audit::AuditQuery;

use crate::error::AppResult;
use crate::{Actor, App};

/// An audit record about to be written.
pub struct AuditEvent<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: Option<String>,
    pub detail: Value,
}

impl App {
    /// Appends to the audit log. Failures are logged, not returned: auditing must not undo the action
    /// that already happened, but a failure is loud.
    pub async fn audit(&self, actor: &Actor, e: AuditEvent<'_>) {
        let entry = AuditEntry {
            id: AuditId::new(),
            at: self.now(),
            actor_id: Some(actor.user),
            actor_name: actor.audit_name(),
            action: e.action.to_string(),
            object_type: e.object_type.to_string(),
            object_id: e.object_id,
            ip: actor.ip.clone(),
            user_agent: actor.user_agent.clone(),
            detail: e.detail,
        };
        self.write_audit(actor.tenant, &entry).await;
    }

    /// Audit without a full actor (login attempts, CLI).
    pub async fn audit_raw(
        &self,
        tenant: TenantId,
        actor: Option<(UserId, String)>,
        ip: Option<String>,
        ua: Option<String>,
        e: AuditEvent<'_>,
    ) {
        let (actor_id, actor_name) = match actor {
            Some((id, name)) => (Some(id), name),
            None => (None, "system".to_string()),
        };
        let entry = AuditEntry {
            id: AuditId::new(),
            at: self.now(),
            actor_id,
            actor_name,
            action: e.action.to_string(),
            object_type: e.object_type.to_string(),
            object_id: e.object_id,
            ip,
            user_agent: ua,
            detail: e.detail,
        };
        self.write_audit(tenant, &entry).await;
    }

    async fn write_audit(&self, tenant: TenantId, entry: &AuditEntry) {
        if let Err(e) = self.store.audit().append(tenant, entry).await {
            tracing::error!(error = %e, action = %entry.action, "audit write failed");
            metrics::counter!("siyu_audit_write_failures_total").increment(1);
        }
    }

    pub async fn audit_log(&self, actor: &Actor, mut q: AuditQuery) -> AppResult<Page<AuditEntry>> {
        actor.require(Permission::AuditRead)?;
        q.limit = q.limit.clamp(1, 200);
        let limit = q.limit as usize;
        let mut rows = self.store.audit().list(actor.tenant, &q).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(|e| e.id.to_string()) } else { None };
        Ok(Page { items: rows, next_cursor })
    }
}
