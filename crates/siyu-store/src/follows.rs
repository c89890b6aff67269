//! Follows: the staff–customer relation.

use chrono::{DateTime, Utc};
use siyu_domain::customer::Follow;
use siyu_domain::id::{CustomerId, TenantId, UserId};
use uuid::Uuid;

use crate::{Store, StoreError, exec, on_pool};

pub struct Follows<'a>(pub(crate) &'a Store);

crate::reader::read_row! {
    #[derive(sqlx::FromRow)]
    struct FollowRow {
        customer_id: Uuid,
        user_id: Uuid,
        remark: Option<String>,
        description: Option<String>,
        add_way: String,
        state: Option<String>,
        added_at: DateTime<Utc>,
    }
}

impl From<FollowRow> for Follow {
    fn from(r: FollowRow) -> Self {
        Follow {
            customer_id: CustomerId(r.customer_id),
            user_id: UserId(r.user_id),
            remark: r.remark,
            description: r.description,
            add_way: r.add_way,
            state: r.state,
            added_at: r.added_at,
        }
    }
}

crate::reader::read_row! {
    /// A follow with the staff member's display name (empty if no longer a member).
    #[derive(sqlx::FromRow)]
    pub(crate) struct NamedFollow {
        #[sqlx(flatten)]
        follow: FollowRow,
        user_name: Option<String>,
    }
}

impl From<NamedFollow> for (Follow, String) {
    fn from(r: NamedFollow) -> Self {
        (r.follow.into(), r.user_name.unwrap_or_default())
    }
}

/// A customer's follows with the staff names, oldest first.
pub(crate) fn named_sql(tenant: TenantId, customer: CustomerId) -> crate::sql::Sql {
    crate::sql::Sql::with(
        "SELECT f.customer_id, f.user_id, f.remark, f.description, f.add_way, f.state, f.added_at, \
         a.display_name AS user_name \
         FROM follows f LEFT JOIN members m ON m.tenant_id = f.tenant_id AND m.user_id = f.user_id \
         LEFT JOIN accounts a ON a.user_id = m.user_id \
         WHERE f.tenant_id = $1 AND f.customer_id = $2 ORDER BY f.added_at",
        vec![crate::sql::Arg::Uuid(tenant.0), crate::sql::Arg::Uuid(customer.0)],
    )
}

impl Store {
    pub fn follows(&self) -> Follows<'_> {
        Follows(self)
    }
}

impl Follows<'_> {
    /// Inserts or updates the relation (re-adding keeps the original add time).
    pub async fn upsert(&self, tenant: TenantId, f: &Follow) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO follows (tenant_id, customer_id, user_id, remark, description, add_way, state, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tenant_id, customer_id, user_id) DO UPDATE SET remark = excluded.remark, \
             description = excluded.description, add_way = excluded.add_way, state = excluded.state")
            .bind(tenant.0).bind(f.customer_id.0).bind(f.user_id.0).bind(&f.remark).bind(&f.description)
            .bind(&f.add_way).bind(&f.state).bind(f.added_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn of_customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<Follow>, StoreError> {
        let rows: Vec<FollowRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT customer_id, user_id, remark, description, add_way, state, added_at FROM follows \
             WHERE tenant_id = $1 AND customer_id = $2 ORDER BY added_at")
            .bind(tenant.0).bind(customer.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The customer's follows with each staff member's display name (empty if no longer a member).
    pub async fn of_customer_named(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<(Follow, String)>, StoreError> {
        let rows: Vec<NamedFollow> = self.0.read_all(named_sql(tenant, customer)).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn delete(&self, tenant: TenantId, customer: CustomerId, user: UserId) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query(
            "DELETE FROM follows WHERE tenant_id = $1 AND customer_id = $2 AND user_id = $3")
            .bind(tenant.0).bind(customer.0).bind(user.0).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
