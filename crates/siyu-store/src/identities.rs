//! Identities. For PII kinds `lookup` is a hex HMAC blind index and `value_enc` the AES-GCM ciphertext;
//! for the others `lookup` is the value itself and `value_enc` is empty.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, IdentityId, TenantId};
use siyu_domain::identity::{Identity, IdentityKind};
use uuid::Uuid;

use crate::error::OptionExt;
use crate::statements::insert_identity;
use crate::{Store, StoreError, exec, on_pool};

pub struct Identities<'a>(pub(crate) &'a Store);

/// What the store keeps for one identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRecord {
    pub identity: Identity,
    pub lookup: String,
    pub value_enc: Option<Vec<u8>>,
}

crate::reader::read_row! {
    #[derive(sqlx::FromRow)]
    pub(crate) struct IdentityRow {
        id: Uuid,
        customer_id: Uuid,
        kind: String,
        namespace: String,
        lookup: String,
        value_enc: Option<Vec<u8>>,
        display: String,
        source: String,
        created_at: DateTime<Utc>,
    }
}

impl TryFrom<IdentityRow> for IdentityRecord {
    type Error = StoreError;
    fn try_from(r: IdentityRow) -> Result<Self, StoreError> {
        Ok(IdentityRecord {
            identity: Identity {
                id: IdentityId(r.id),
                customer_id: CustomerId(r.customer_id),
                kind: IdentityKind::parse(&r.kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("identity kind {}", r.kind)))?,
                namespace: r.namespace,
                display: r.display,
                source: r.source,
                created_at: r.created_at,
            },
            lookup: r.lookup,
            value_enc: r.value_enc,
        })
    }
}

const SELECT: &str =
    "SELECT id, customer_id, kind, namespace, lookup, value_enc, display, source, created_at FROM identities";

/// Names a unique violation on the identity lookup the same on both backends (PostgreSQL reports the index,
/// SQLite the columns), so callers can tell a taken identity from other conflicts.
pub(crate) fn identity_conflict(e: StoreError) -> StoreError {
    match e {
        StoreError::Conflict(c) if c.contains("identities") || c.contains("lookup") => {
            StoreError::Conflict("identities_lookup".into())
        }
        other => other,
    }
}

/// A customer's identities, oldest first.
pub(crate) fn of_customer_sql(tenant: TenantId, customer: CustomerId) -> crate::sql::Sql {
    crate::sql::Sql::with(
        &format!("{SELECT} WHERE tenant_id = $1 AND customer_id = $2 ORDER BY created_at, id"),
        vec![crate::sql::Arg::Uuid(tenant.0), crate::sql::Arg::Uuid(customer.0)],
    )
}

/// Identities of one kind of several customers (not empty), oldest first.
pub(crate) fn of_customers_sql(
    backend: crate::BackendKind,
    tenant: TenantId,
    kind: IdentityKind,
    customers: &[CustomerId],
) -> crate::sql::Sql {
    let mut sql = crate::sql::Sql::new(SELECT);
    sql.push(" WHERE tenant_id = ").bind(crate::sql::Arg::Uuid(tenant.0));
    // Kept on identities_customer rather than every phone of the tenant (see `BackendKind::unindexed`).
    sql.push(" AND ").push(backend.unindexed()).push("kind = ").bind(crate::sql::Arg::Text(kind.as_str().into()));
    sql.push(" AND customer_id IN ").bind_list(customers.iter().map(|c| c.0)).push(" ORDER BY created_at, id");
    sql
}

impl Store {
    pub fn identities(&self) -> Identities<'_> {
        Identities(self)
    }
}

impl Identities<'_> {
    /// Inserts; a taken (kind, namespace, value) answers `Conflict("identities_lookup")`.
    pub async fn insert(&self, tenant: TenantId, r: &IdentityRecord) -> Result<(), StoreError> {
        let res = exec!(self.0, p => insert_identity!(tenant, r.identity.customer_id, r).execute(p).await);
        res.map(|_| ()).map_err(|e| identity_conflict(e.into()))
    }

    pub async fn of_customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<IdentityRecord>, StoreError> {
        let rows: Vec<IdentityRow> = self.0.read_all(of_customer_sql(tenant, customer)).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Identities of several customers at once (for list pages showing a masked phone).
    pub async fn of_customers(
        &self,
        tenant: TenantId,
        kind: IdentityKind,
        customers: &[CustomerId],
    ) -> Result<Vec<IdentityRecord>, StoreError> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let sql = of_customers_sql(self.0.kind(), tenant, kind, customers);
        let rows: Vec<IdentityRow> = self.0.read_all(sql).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn get(&self, tenant: TenantId, id: IdentityId) -> Result<IdentityRecord, StoreError> {
        let sql = format!("{SELECT} WHERE tenant_id = $1 AND id = $2");
        let row: Option<IdentityRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.found()?.try_into()
    }

    /// The customer holding (kind, namespace, lookup), if any.
    pub async fn resolve(
        &self,
        tenant: TenantId,
        kind: IdentityKind,
        namespace: &str,
        lookup: &str,
    ) -> Result<Option<CustomerId>, StoreError> {
        let row: Option<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT customer_id FROM identities WHERE tenant_id = $1 AND kind = $2 AND namespace = $3 AND lookup = $4")
            .bind(tenant.0).bind(kind.as_str()).bind(namespace).bind(lookup).fetch_optional(p).await)?;
        Ok(row.map(|r| CustomerId(r.0)))
    }

    /// The distinct customers holding any of `ids` (identities that no longer exist are skipped).
    pub async fn customers_of(&self, tenant: TenantId, ids: &[IdentityId]) -> Result<Vec<CustomerId>, StoreError> {
        let mut out: Vec<CustomerId> = Vec::new();
        for chunk in ids.chunks(400) {
            let mut sql = crate::sql::Sql::new("SELECT DISTINCT customer_id FROM identities WHERE tenant_id = ");
            sql.bind(crate::sql::Arg::Uuid(tenant.0)).push(" AND id IN ").bind_list(chunk.iter().map(|i| i.0));
            let rows: Vec<(Uuid,)> = on_pool!(self.0, p => crate::sql::dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|r| CustomerId(r.0)).filter(|c| !out.contains(c)).collect::<Vec<_>>());
        }
        Ok(out)
    }

    pub async fn delete(&self, tenant: TenantId, id: IdentityId) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query("DELETE FROM identities WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
