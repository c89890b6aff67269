//! Connected corps (`wecom_corps`) and the platform table routing a callback URL to its tenant.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CorpId, TenantId};
use siyu_domain::wecom::Corp;
use uuid::Uuid;

use super::Wecom;
use crate::{StoreError, exec, in_write_tx, on_pool};

/// A corp to connect, its secrets already sealed.
#[derive(Debug, Clone)]
pub struct NewCorp {
    pub id: CorpId,
    pub corp_id: String,
    pub name: String,
    pub agent_id: Option<i64>,
    pub secrets_enc: Vec<u8>,
    pub api_base: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct CorpRow {
    id: Uuid,
    corp_id: String,
    name: String,
    agent_id: Option<i64>,
    api_base: Option<String>,
    status: String,
    checked_at: Option<DateTime<Utc>>,
    check_error: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<CorpRow> for Corp {
    fn from(r: CorpRow) -> Self {
        Corp {
            id: CorpId(r.id),
            corp_id: r.corp_id,
            name: r.name,
            agent_id: r.agent_id,
            api_base: r.api_base,
            active: r.status == "active",
            checked_at: r.checked_at,
            check_error: r.check_error,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "id, corp_id, name, agent_id, api_base, status, checked_at, check_error, created_at";

impl Wecom<'_> {
    /// Connects a corp and routes its callback URL to the tenant.
    pub async fn insert_corp(&self, tenant: TenantId, c: &NewCorp) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            sqlx::query(
                "INSERT INTO wecom_corps (tenant_id, id, corp_id, name, agent_id, secrets_enc, api_base, status, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8)")
                .bind(tenant.0).bind(c.id.0).bind(&c.corp_id).bind(&c.name).bind(c.agent_id)
                .bind(&c.secrets_enc).bind(&c.api_base).bind(c.at)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO wecom_callback_routes (route_id, tenant_id, corp_row_id) VALUES ($1, $2, $1)")
                .bind(c.id.0).bind(tenant.0)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Changes a corp's name, agent, base URL and (when given) secrets.
    pub async fn update_corp(&self, tenant: TenantId, c: &NewCorp, active: bool) -> Result<(), StoreError> {
        let status = if active { "active" } else { "disabled" };
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE wecom_corps SET name = $3, agent_id = $4, secrets_enc = $5, api_base = $6, status = $7, \
             updated_at = $8 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(c.id.0).bind(&c.name).bind(c.agent_id).bind(&c.secrets_enc)
            .bind(&c.api_base).bind(status).bind(c.at)
            .execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Records the outcome of a connection test.
    pub async fn set_checked(
        &self,
        tenant: TenantId,
        corp: CorpId,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE wecom_corps SET checked_at = $3, check_error = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(corp.0).bind(at).bind(error)
            .execute(p).await)?;
        Ok(())
    }

    /// Records that a full sync of the corp finished at `at`.
    pub async fn set_synced(&self, tenant: TenantId, corp: CorpId, at: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("UPDATE wecom_corps SET synced_at = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(corp.0).bind(at).execute(p).await)?;
        Ok(())
    }

    /// Active corps of active tenants whose last full sync finished before `before` (never-synced corps wait
    /// for their first sync by hand).
    pub async fn corps_due_for_sync(&self, before: DateTime<Utc>) -> Result<Vec<(TenantId, CorpId)>, StoreError> {
        let rows: Vec<(Uuid, Uuid)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT c.tenant_id, c.id FROM wecom_corps c JOIN tenants t ON t.tenant_id = c.tenant_id \
             WHERE c.status = 'active' AND t.status = 'active' AND c.synced_at < $1 ORDER BY c.synced_at")
            .bind(before).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(t, c)| (TenantId(t), CorpId(c))).collect())
    }

    pub async fn corps(&self, tenant: TenantId) -> Result<Vec<Corp>, StoreError> {
        let rows: Vec<CorpRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM wecom_corps WHERE tenant_id = $1 ORDER BY created_at")))
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    pub async fn corp(&self, tenant: TenantId, corp: CorpId) -> Result<Corp, StoreError> {
        let row: Option<CorpRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM wecom_corps WHERE tenant_id = $1 AND id = $2")))
            .bind(tenant.0).bind(corp.0).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    /// A corp by WeCom's corp id.
    pub async fn corp_by_corp_id(&self, tenant: TenantId, corp_id: &str) -> Result<Option<Corp>, StoreError> {
        let row: Option<CorpRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM wecom_corps WHERE tenant_id = $1 AND corp_id = $2")))
            .bind(tenant.0).bind(corp_id).fetch_optional(p).await)?;
        Ok(row.map(Into::into))
    }

    /// The sealed secrets of a corp.
    pub async fn corp_secrets(&self, tenant: TenantId, corp: CorpId) -> Result<Vec<u8>, StoreError> {
        let row: Option<(Vec<u8>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT secrets_enc FROM wecom_corps WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(corp.0).fetch_optional(p).await)?;
        row.map(|r| r.0).ok_or(StoreError::NotFound)
    }

    /// The tenant and corp of a callback URL's route id.
    pub async fn route(&self, route: Uuid) -> Result<Option<(TenantId, CorpId)>, StoreError> {
        let row: Option<(Uuid, Uuid)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT tenant_id, corp_row_id FROM wecom_callback_routes WHERE route_id = $1")
            .bind(route).fetch_optional(p).await)?;
        Ok(row.map(|(t, c)| (TenantId(t), CorpId(c))))
    }

    /// Every tenant with an active corp (what the sync and callback workers visit).
    pub async fn tenants_with_corps(&self) -> Result<Vec<TenantId>, StoreError> {
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT DISTINCT c.tenant_id FROM wecom_corps c JOIN tenants t ON t.tenant_id = c.tenant_id \
             WHERE c.status = 'active' AND t.status = 'active'")
            .fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| TenantId(r.0)).collect())
    }
}
