//! Customers to re-evaluate (`segment_dirty`): bulk paths mark the customers they changed, the worker
//! takes them tenant by tenant in id order, re-evaluates their dynamic segments and clears the marks it
//! read. A mark made again while a batch runs carries a later time and survives the clear.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, GroupId, TenantId};
use uuid::Uuid;

use super::Segments;
use crate::sql::{Arg, Sql, dyn_query, dyn_query_as};
use crate::{StoreError, exec, on_pool};

/// Customers per statement.
const CHUNK: usize = 500;

/// Marks `customers` for re-evaluation inside a transaction `$tx` (the statements of a bulk write).
pub(crate) fn mark_sql(tenant: TenantId, customers: &[Uuid], at: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new("INSERT INTO segment_dirty (tenant_id, customer_id, marked_at) VALUES ");
    sql.values(customers.iter().map(|c| vec![Arg::Uuid(tenant.0), Arg::Uuid(*c), Arg::Time(at)]));
    sql.push(" ON CONFLICT (tenant_id, customer_id) DO UPDATE SET marked_at = excluded.marked_at");
    sql
}

impl Segments<'_> {
    /// Marks customers whose data changed for re-evaluation by the worker.
    pub async fn mark_dirty(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut ids: Vec<Uuid> = customers.iter().map(|c| c.0).collect();
        ids.sort();
        ids.dedup();
        for chunk in ids.chunks(CHUNK) {
            let sql = mark_sql(tenant, chunk, at);
            exec!(self.0, p => dyn_query!(sql).execute(p).await)?;
        }
        Ok(())
    }

    /// Marks the customers a customer group's sync may have moved: its customer members now (through their
    /// external_userid identities) and those who left it at or after `since` (the sync's time).
    pub async fn mark_group_dirty(
        &self,
        tenant: TenantId,
        group: GroupId,
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = Sql::with(
            "INSERT INTO segment_dirty (tenant_id, customer_id, marked_at) \
             SELECT DISTINCT i.tenant_id, i.customer_id, $3 FROM identities i \
             WHERE i.tenant_id = $1 AND i.kind = 'external_userid' AND i.lookup IN \
             (SELECT m.member_key FROM group_members m \
             WHERE m.tenant_id = $1 AND m.group_id = $2 AND m.member_type = 2 \
             UNION SELECT x.member_key FROM group_member_changes x WHERE x.tenant_id = $1 AND x.group_id = $2 \
             AND x.member_type = 2 AND x.op = 'leave' AND x.at >= $4) \
             ON CONFLICT (tenant_id, customer_id) DO UPDATE SET marked_at = excluded.marked_at",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(group.0), Arg::Time(at), Arg::Time(since)],
        );
        exec!(self.0, p => dyn_query!(sql).execute(p).await)?;
        Ok(())
    }

    /// Tenants with marked customers.
    pub async fn dirty_tenants(&self, limit: u32) -> Result<Vec<TenantId>, StoreError> {
        let sql = Sql::with("SELECT DISTINCT tenant_id FROM segment_dirty LIMIT $1", vec![Arg::Int(limit.into())]);
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| TenantId(r.0)).collect())
    }

    /// Up to `limit` marked customers of a tenant in id order, and the latest mark among them.
    pub async fn dirty_batch(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> Result<(Vec<CustomerId>, Option<DateTime<Utc>>), StoreError> {
        let sql = Sql::with(
            "SELECT customer_id, marked_at FROM segment_dirty WHERE tenant_id = $1 ORDER BY customer_id LIMIT $2",
            vec![Arg::Uuid(tenant.0), Arg::Int(limit.into())],
        );
        let rows: Vec<(Uuid, DateTime<Utc>)> =
            on_pool!(self.0, p => dyn_query_as!((Uuid, DateTime<Utc>), sql).fetch_all(p).await)?;
        let latest = rows.iter().map(|r| r.1).max();
        Ok((rows.into_iter().map(|r| CustomerId(r.0)).collect(), latest))
    }

    /// Clears the marks of `customers` made at or before `up_to`.
    pub async fn clear_dirty(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
        up_to: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for chunk in customers.chunks(CHUNK) {
            let mut sql = Sql::new("DELETE FROM segment_dirty WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0)).push(" AND marked_at <= ").bind(Arg::Time(up_to));
            sql.push(" AND customer_id IN ").bind_list(chunk.iter().map(|c| c.0));
            exec!(self.0, p => dyn_query!(sql).execute(p).await)?;
        }
        Ok(())
    }

    /// The ids among `customers` (ascending, live) that match a rule now: a bulk re-evaluation.
    pub async fn matching_among(
        &self,
        tenant: TenantId,
        rule: &siyu_domain::segment::Rule,
        at: siyu_domain::segment::eval::At,
        customers: &[CustomerId],
    ) -> Result<Vec<CustomerId>, StoreError> {
        let mut out = Vec::new();
        for chunk in customers.chunks(CHUNK) {
            let mut sql = Sql::new("SELECT c.id");
            self.matching(&mut sql, tenant, rule, at, &None);
            sql.push(" AND c.id IN ").bind_list(chunk.iter().map(|c| c.0));
            let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|r| CustomerId(r.0)));
        }
        out.sort();
        Ok(out)
    }
}
