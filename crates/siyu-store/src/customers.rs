//! Customers: the profile row. Identities, follows, tags, notes and the timeline have their own modules.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use siyu_domain::customer::{Customer, CustomerFilter, Follow, Gender};
use siyu_domain::id::{CustomerId, TenantId, UserId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::page::{Cursor, PageRequest};
use siyu_domain::timeline::TimelineEntry;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::OptionExt;
use crate::identities::{IdentityRecord, identity_conflict};
use crate::reader::read_row;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::statements::{apply_tag_change, insert_customer, insert_identity, insert_timeline, update_customer};
use crate::tags::{ChangeContext, TagChange};
use crate::{BackendKind, Store, StoreError, exec, in_tx, on_pool};

mod merge;
mod profile;
pub use merge::CustomerMerge;
pub use profile::{ListDecorations, ProfileRecord};

pub struct Customers<'a>(pub(crate) &'a Store);

read_row! {
    #[derive(sqlx::FromRow)]
    pub(crate) struct CustomerRow {
        id: Uuid,
        name: String,
        gender: String,
        avatar_url: Option<String>,
        remark: Option<String>,
        source: String,
        custom: Json<Map<String, Value>>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        last_active_at: Option<DateTime<Utc>>,
    }
}

impl From<CustomerRow> for Customer {
    fn from(r: CustomerRow) -> Self {
        Customer {
            id: CustomerId(r.id),
            name: r.name,
            gender: Gender::parse(&r.gender).unwrap_or_default(),
            avatar_url: r.avatar_url,
            remark: r.remark,
            source: r.source,
            custom: r.custom.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_active_at: r.last_active_at,
        }
    }
}

pub(crate) const SELECT: &str = "SELECT c.id, c.name, c.gender, c.avatar_url, c.remark, c.source, c.custom, c.created_at, \
     c.updated_at, c.last_active_at FROM customers c";

/// Which customers a member may see: `None` all of the tenant's, `Some(users)` only those followed by one of
/// these staff members (their own for scope "self", their department tree's for scope "department").
pub type Visibility = Option<Vec<UserId>>;

/// A customer list query: the user's filter, the member's visibility and the page.
#[derive(Debug, Clone)]
pub struct CustomerQuery<'f> {
    pub filter: &'f CustomerFilter,
    pub visibility: &'f Visibility,
    /// Blind-index lookups of the phone/email the search text parsed as, if any.
    pub pii_lookups: Vec<(IdentityKind, String)>,
}

/// A new customer and what is created with it, written in one transaction.
pub struct NewCustomerRecord<'a> {
    pub customer: &'a Customer,
    pub identities: &'a [IdentityRecord],
    pub follows: &'a [Follow],
    /// Tags to add (history records `ctx`).
    pub tags: &'a [TagChange],
    pub ctx: &'a ChangeContext<'a>,
    pub timeline: &'a [TimelineEntry],
}

impl Store {
    pub fn customers(&self) -> Customers<'_> {
        Customers(self)
    }
}

impl Customers<'_> {
    pub async fn insert(&self, tenant: TenantId, c: &Customer) -> Result<(), StoreError> {
        exec!(self.0, p => insert_customer!(tenant, c)
            .execute(p).await)?;
        Ok(())
    }

    /// Creates a customer with everything that comes with it in one transaction: nothing is half-written.
    /// A taken identity answers `Conflict("identities_lookup")` and leaves no trace.
    pub async fn create(&self, tenant: TenantId, new: &NewCustomerRecord<'_>) -> Result<(), StoreError> {
        let c = new.customer;
        let result: Result<(), StoreError> = async {
            in_tx!(self.0, tx => {
                insert_customer!(tenant, c)
                    .execute(&mut *tx).await?;
                for r in new.identities {
                    insert_identity!(tenant, c.id, r).execute(&mut *tx).await?;
                }
                for f in new.follows {
                    sqlx::query(
                        "INSERT INTO follows (tenant_id, customer_id, user_id, remark, description, add_way, state, added_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, customer_id, user_id) DO NOTHING")
                        .bind(tenant.0).bind(c.id.0).bind(f.user_id.0).bind(&f.remark).bind(&f.description)
                        .bind(&f.add_way).bind(&f.state).bind(f.added_at)
                        .execute(&mut *tx).await?;
                }
                for t in new.tags {
                    apply_tag_change!(tx, tenant, c.id, t, new.ctx);
                }
                for e in new.timeline {
                    insert_timeline!(tenant, e).execute(&mut *tx).await?;
                }
            });
            Ok(())
        }
        .await;
        result.map_err(identity_conflict)
    }

    pub async fn get(&self, tenant: TenantId, id: CustomerId) -> Result<Customer, StoreError> {
        let sql = profile::get_sql(tenant, id);
        let (row,) = crate::reader::read_together!(self.0, optional CustomerRow = sql)?;
        Ok(row.found()?.into())
    }

    /// Writes the profile columns and custom values of an existing customer.
    pub async fn update(&self, tenant: TenantId, c: &Customer) -> Result<(), StoreError> {
        let done = exec!(self.0, p => update_customer!(tenant, c).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn delete(&self, tenant: TenantId, id: CustomerId) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query("DELETE FROM customers WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn touch_active(&self, tenant: TenantId, id: CustomerId, at: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE customers SET last_active_at = $3 WHERE tenant_id = $1 AND id = $2 \
             AND (last_active_at IS NULL OR last_active_at < $3)")
            .bind(tenant.0).bind(id.0).bind(at).execute(p).await)?;
        Ok(())
    }

    /// Whether the customer exists and is visible.
    pub async fn is_visible(&self, tenant: TenantId, id: CustomerId, vis: &Visibility) -> Result<bool, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM customers c WHERE c.tenant_id = ");
        sql.bind(Arg::Uuid(tenant.0)).push(" AND c.id = ").bind(Arg::Uuid(id.0));
        push_visibility(&mut sql, tenant, vis);
        let row: Option<(i64,)> = self.0.read_optional(sql).await?;
        Ok(row.is_some_and(|r| r.0 > 0))
    }

    /// One page, newest first; returns up to `limit + 1` rows (the extra one signals a next page).
    pub async fn list(
        &self,
        tenant: TenantId,
        q: &CustomerQuery<'_>,
        page: PageRequest,
    ) -> Result<Vec<Customer>, StoreError> {
        let mut sql = Sql::new(SELECT);
        self.push_where(&mut sql, tenant, q);
        push_newest_first(&mut sql, page);
        let rows: Vec<CustomerRow> = self.0.read_all(sql).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn count(&self, tenant: TenantId, q: &CustomerQuery<'_>) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM customers c");
        self.push_where(&mut sql, tenant, q);
        let row: (i64,) = on_pool!(self.0, p => dyn_query_as!((i64,), sql).fetch_one(p).await)?;
        Ok(row.0)
    }

    /// New customers per day (China Standard Time) since `since`, oldest first; days without any are absent.
    pub async fn created_per_day(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
        vis: &Visibility,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let day = match self.0.kind() {
            BackendKind::Sqlite => "strftime('%Y-%m-%d', c.created_at, '+8 hours')",
            BackendKind::Postgres => "to_char(c.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')",
        };
        let mut sql = Sql::new("SELECT ");
        sql.push(day).push(" AS day, COUNT(*) FROM customers c WHERE c.tenant_id = ").bind(Arg::Uuid(tenant.0));
        sql.push(" AND c.created_at >= ").bind(Arg::Time(since));
        push_visibility(&mut sql, tenant, vis);
        sql.push(" GROUP BY day ORDER BY day");
        let rows: Vec<(String, i64)> = on_pool!(self.0, p => dyn_query_as!((String, i64), sql).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Ids of matching customers after `after` in id order, for batch jobs walking a filter.
    pub async fn ids(
        &self,
        tenant: TenantId,
        q: &CustomerQuery<'_>,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let mut sql = Sql::new("SELECT c.id FROM customers c");
        self.push_where(&mut sql, tenant, q);
        if let Some(a) = after {
            sql.push(" AND c.id > ").bind(Arg::Uuid(a.0));
        }
        sql.push(" ORDER BY c.id").limit(i64::from(limit));
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| CustomerId(r.0)).collect())
    }

    /// Customers by id (missing ids are skipped), in the order given.
    pub async fn by_ids(&self, tenant: TenantId, ids: &[CustomerId]) -> Result<Vec<Customer>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(SELECT);
        sql.push(" WHERE c.tenant_id = ")
            .bind(Arg::Uuid(tenant.0))
            .push(" AND c.id IN ")
            .bind_list(ids.iter().map(|i| i.0));
        let rows: Vec<CustomerRow> = self.0.read_all(sql).await?;
        let mut out: Vec<Customer> = rows.into_iter().map(Into::into).collect();
        out.sort_by_key(|c| ids.iter().position(|i| *i == c.id));
        Ok(out)
    }

    fn push_where(&self, sql: &mut Sql, tenant: TenantId, q: &CustomerQuery<'_>) {
        let t = Arg::Uuid(tenant.0);
        let f = q.filter;
        sql.push(" WHERE c.tenant_id = ").bind(t.clone());
        push_visibility(sql, tenant, q.visibility);
        if !f.tags_any.is_empty() {
            sql.push(" AND EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.customer_id = c.id AND ct.tag_id IN ")
                .bind_list(f.tags_any.iter().map(|x| x.0))
                .push(")");
        }
        for tag in &f.tags_all {
            sql.push(" AND EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.customer_id = c.id AND ct.tag_id = ")
                .bind(Arg::Uuid(tag.0))
                .push(")");
        }
        if !f.tags_none.is_empty() {
            sql.push(" AND NOT EXISTS (SELECT 1 FROM customer_tags ct WHERE ct.tenant_id = c.tenant_id AND ct.customer_id = c.id AND ct.tag_id IN ")
                .bind_list(f.tags_none.iter().map(|x| x.0))
                .push(")");
        }
        if let Some(staff) = f.staff {
            sql.push(" AND EXISTS (SELECT 1 FROM follows fo WHERE fo.tenant_id = c.tenant_id AND fo.customer_id = c.id AND fo.user_id = ")
                .bind(Arg::Uuid(staff.0))
                .push(")");
        }
        for (col, op, v) in [
            ("c.created_at", " >= ", f.created_from),
            ("c.created_at", " < ", f.created_to),
            ("c.last_active_at", " >= ", f.active_from),
            ("c.last_active_at", " < ", f.active_to),
        ] {
            if let Some(v) = v {
                sql.push(" AND ").push(col).push(op).bind(Arg::Time(v));
            }
        }
        if let Some(text) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let like = crate::sql::ilike(self.0.kind());
            let pattern = crate::sql::contains_pattern(text);
            sql.push(" AND (c.name").push(like).bind(Arg::Text(pattern.clone())).push(" ESCAPE '\\'");
            sql.push(" OR c.remark").push(like).bind(Arg::Text(pattern)).push(" ESCAPE '\\'");
            for (kind, lookup) in &q.pii_lookups {
                sql.push(
                    " OR c.id IN (SELECT i.customer_id FROM identities i WHERE i.tenant_id = c.tenant_id AND i.kind = ",
                )
                .bind(Arg::Text(kind.as_str().into()))
                .push(" AND i.namespace = '' AND i.lookup = ")
                .bind(Arg::Text(lookup.clone()))
                .push(")");
            }
            sql.push(")");
        }
    }
}

/// Appends the cursor condition, newest-first order and `limit + 1` of a customer page.
pub(crate) fn push_newest_first(sql: &mut Sql, page: PageRequest) {
    if let Some(Cursor { at, id }) = page.after {
        sql.push(" AND (c.created_at < ").bind(Arg::Time(at));
        sql.push(" OR (c.created_at = ").bind(Arg::Time(at)).push(" AND c.id < ").bind(Arg::Uuid(id)).push("))");
    }
    sql.push(" ORDER BY c.created_at DESC, c.id DESC").limit(i64::from(page.limit) + 1);
}

pub(crate) fn push_visibility(sql: &mut Sql, _tenant: TenantId, vis: &Visibility) {
    if let Some(users) = vis {
        if users.is_empty() {
            sql.push(" AND 1 = 0");
            return;
        }
        sql.push(" AND EXISTS (SELECT 1 FROM follows v WHERE v.tenant_id = c.tenant_id AND v.customer_id = c.id AND v.user_id IN ")
            .bind_list(users.iter().map(|u| u.0))
            .push(")");
    }
}
