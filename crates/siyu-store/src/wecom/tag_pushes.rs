//! Tag changes made in siyu waiting to be marked in WeCom (`wecom_tag_pushes`). Only changes to tags linked
//! to a corp tag are queued; rows are deleted once WeCom has them (or they cannot apply).

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, TagId, TenantId};
use uuid::Uuid;

use super::Wecom;
use crate::tags::TagChange;
use crate::{StoreError, exec, on_pool};

/// One queued change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPush {
    pub id: Uuid,
    pub customer: CustomerId,
    pub tag: TagId,
    pub add: bool,
}

impl Wecom<'_> {
    /// Queues the changes to tags linked to a WeCom corp tag; returns how many were queued.
    pub async fn queue_tag_pushes(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        changes: &[TagChange],
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let sql = "INSERT INTO wecom_tag_pushes (tenant_id, id, customer_id, tag_id, op, created_at) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM wecom_tags w WHERE w.tenant_id = $1 \
             AND w.local_id = $4 AND w.kind = 'tag')";
        let mut queued = 0;
        for c in changes {
            let op = if c.add { "add" } else { "remove" };
            queued += exec!(self.0, p => sqlx::query(sql)
                .bind(tenant.0).bind(Uuid::now_v7()).bind(customer.0).bind(c.tag.0).bind(op).bind(at)
                .execute(p).await)?;
        }
        Ok(queued)
    }

    /// The oldest queued changes, in the order they were made.
    pub async fn due_tag_pushes(&self, tenant: TenantId, limit: i64) -> Result<Vec<TagPush>, StoreError> {
        let rows: Vec<(Uuid, Uuid, Uuid, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, customer_id, tag_id, op FROM wecom_tag_pushes WHERE tenant_id = $1 ORDER BY id LIMIT $2")
            .bind(tenant.0).bind(limit).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(id, c, t, op)| TagPush { id, customer: CustomerId(c), tag: TagId(t), add: op == "add" })
            .collect())
    }

    /// Forgets pushed (or unappliable) changes.
    pub async fn delete_tag_pushes(&self, tenant: TenantId, ids: &[Uuid]) -> Result<(), StoreError> {
        for chunk in ids.chunks(500) {
            let mut sql = crate::sql::Sql::new("DELETE FROM wecom_tag_pushes WHERE tenant_id = ");
            sql.bind(crate::sql::Arg::Uuid(tenant.0)).push(" AND id IN ").bind_list(chunk.iter().copied());
            exec!(self.0, p => crate::sql::dyn_query!(sql).execute(p).await)?;
        }
        Ok(())
    }
}
