//! Tenants (brands). The wrapped data key encrypts the tenant's PII; only `siyu-app` can unwrap it.

use chrono::{DateTime, Utc};
use siyu_domain::id::TenantId;
use siyu_domain::tenancy::{Tenant, TenantStatus};
use uuid::Uuid;

use crate::error::OptionExt;
use crate::{Store, StoreError, exec, on_pool};

pub struct Tenants<'a>(pub(crate) &'a Store);

#[derive(sqlx::FromRow)]
struct TenantRow {
    tenant_id: Uuid,
    name: String,
    status: String,
    timezone: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;
    fn try_from(r: TenantRow) -> Result<Self, StoreError> {
        Ok(Tenant {
            id: TenantId(r.tenant_id),
            name: r.name,
            status: TenantStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("tenant status {}", r.status)))?,
            timezone: r.timezone,
            created_at: r.created_at,
        })
    }
}

impl Store {
    pub fn tenants(&self) -> Tenants<'_> {
        Tenants(self)
    }
}

impl Tenants<'_> {
    pub async fn insert(&self, t: &Tenant, wrapped_data_key: &[u8]) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO tenants (tenant_id, name, status, timezone, data_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(t.id.0).bind(&t.name).bind(t.status.as_str()).bind(&t.timezone).bind(wrapped_data_key).bind(t.created_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn get(&self, id: TenantId) -> Result<Tenant, StoreError> {
        let row: Option<TenantRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT tenant_id, name, status, timezone, created_at FROM tenants WHERE tenant_id = $1")
            .bind(id.0).fetch_optional(p).await)?;
        row.found()?.try_into()
    }

    pub async fn list(&self) -> Result<Vec<Tenant>, StoreError> {
        let rows: Vec<TenantRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT tenant_id, name, status, timezone, created_at FROM tenants ORDER BY created_at, tenant_id")
            .fetch_all(p).await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    pub async fn set_status(&self, id: TenantId, status: TenantStatus) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query("UPDATE tenants SET status = $2 WHERE tenant_id = $1")
            .bind(id.0).bind(status.as_str()).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn rename(&self, id: TenantId, name: &str) -> Result<(), StoreError> {
        let done = exec!(self.0, p => sqlx::query("UPDATE tenants SET name = $2 WHERE tenant_id = $1")
            .bind(id.0).bind(name).execute(p).await)?;
        if done == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// The wrapped (encrypted) data key of a tenant.
    pub async fn data_key(&self, id: TenantId) -> Result<Vec<u8>, StoreError> {
        let row: Option<(Vec<u8>,)> = on_pool!(self.0, p => sqlx::query_as("SELECT data_key FROM tenants WHERE tenant_id = $1")
            .bind(id.0).fetch_optional(p).await)?;
        Ok(row.found()?.0)
    }
}
