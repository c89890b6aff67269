//! Staff live codes (`live_codes`), their adds (`live_code_adds`, once per code, customer and staff member)
//! and welcome messages (`welcome_templates`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use siyu_domain::id::{CorpId, CustomerId, LiveCodeId, TenantId};
use siyu_domain::wecom::live_code::{LiveCode, LiveCodeDef, RotationState};
use siyu_domain::wecom::welcome::WelcomeMessage;
use sqlx::types::Json;
use uuid::Uuid;

use super::Wecom;
use crate::{StoreError, exec, on_pool};

#[derive(sqlx::FromRow)]
struct CodeRow {
    id: Uuid,
    corp_row_id: Uuid,
    name: String,
    channel: String,
    state: String,
    definition: Json<LiveCodeDef>,
    config_id: Option<String>,
    qr_code: Option<String>,
    current: Json<Vec<String>>,
    rotation: Json<RotationState>,
    status: String,
    created_at: DateTime<Utc>,
}

impl From<CodeRow> for LiveCode {
    fn from(r: CodeRow) -> Self {
        LiveCode {
            id: LiveCodeId(r.id),
            corp: CorpId(r.corp_row_id),
            name: r.name,
            channel: r.channel,
            state: r.state,
            def: r.definition.0,
            config_id: r.config_id,
            qr_code: r.qr_code,
            current: r.current.0,
            rotation: r.rotation.0,
            active: r.status == "active",
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "id, corp_row_id, name, channel, state, definition, config_id, qr_code, current, rotation, \
     status, created_at";

/// One add through a code.
#[derive(Debug, Clone)]
pub struct CodeAdd {
    pub code: LiveCodeId,
    pub userid: String,
    pub external_userid: String,
    pub customer: Option<CustomerId>,
    pub day: NaiveDate,
    pub at: DateTime<Utc>,
}

/// A code's figures: adds, adds today, relations ended, customers who paid after adding.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CodeStats {
    pub adds: i64,
    pub adds_today: i64,
    pub deletions: i64,
    pub conversions: i64,
    pub welcomes_sent: i64,
    /// The slowest welcome of the last 1,000, in milliseconds.
    pub welcome_max_ms: Option<i64>,
}

impl Wecom<'_> {
    pub async fn insert_live_code(&self, tenant: TenantId, c: &LiveCode) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO live_codes (tenant_id, id, corp_row_id, name, channel, state, definition, config_id, qr_code, \
             current, rotation, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $12)")
            .bind(tenant.0).bind(c.id.0).bind(c.corp.0).bind(&c.name).bind(&c.channel).bind(&c.state)
            .bind(Json(&c.def)).bind(&c.config_id).bind(&c.qr_code).bind(Json(&c.current)).bind(Json(&c.rotation))
            .bind(c.created_at).execute(p).await)?;
        Ok(())
    }

    /// Saves a code's name, channel, definition, WeCom side and status.
    pub async fn update_live_code(&self, tenant: TenantId, c: &LiveCode, at: DateTime<Utc>) -> Result<(), StoreError> {
        let status = if c.active { "active" } else { "archived" };
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE live_codes SET name = $3, channel = $4, definition = $5, config_id = $6, qr_code = $7, \
             current = $8, status = $9, updated_at = $10 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(c.id.0).bind(&c.name).bind(&c.channel).bind(Json(&c.def)).bind(&c.config_id)
            .bind(&c.qr_code).bind(Json(&c.current)).bind(status).bind(at).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Moves the rotation on if it still stands at `seen` (two adds processed at once advance it once each).
    pub async fn advance_rotation(
        &self,
        tenant: TenantId,
        code: LiveCodeId,
        seen: &RotationState,
        next: &RotationState,
        current: &[String],
    ) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE live_codes SET rotation = $4, current = $5 WHERE tenant_id = $1 AND id = $2 AND rotation = $3")
            .bind(tenant.0).bind(code.0).bind(Json(seen)).bind(Json(next)).bind(Json(current)).execute(p).await)?;
        Ok(n == 1)
    }

    pub async fn live_code(&self, tenant: TenantId, id: LiveCodeId) -> Result<LiveCode, StoreError> {
        let row: Option<CodeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM live_codes WHERE tenant_id = $1 AND id = $2")))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn live_code_by_state(&self, tenant: TenantId, state: &str) -> Result<Option<LiveCode>, StoreError> {
        let row: Option<CodeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM live_codes WHERE tenant_id = $1 AND state = $2")))
            .bind(tenant.0).bind(state).fetch_optional(p).await)?;
        Ok(row.map(Into::into))
    }

    pub async fn live_codes(&self, tenant: TenantId, include_archived: bool) -> Result<Vec<LiveCode>, StoreError> {
        let rows: Vec<CodeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM live_codes WHERE tenant_id = $1 AND ($2 OR status = 'active') ORDER BY created_at DESC")))
            .bind(tenant.0).bind(include_archived).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Records an add; `false` when this (code, customer, staff) add was recorded before.
    pub async fn record_code_add(&self, tenant: TenantId, a: &CodeAdd) -> Result<Option<Uuid>, StoreError> {
        let id = Uuid::now_v7();
        let n = exec!(self.0, p => sqlx::query(
            "INSERT INTO live_code_adds (tenant_id, id, code_id, userid, external_userid, customer_id, day, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tenant_id, code_id, external_userid, userid) DO NOTHING")
            .bind(tenant.0).bind(id).bind(a.code.0).bind(&a.userid).bind(&a.external_userid)
            .bind(a.customer.map(|c| c.0)).bind(a.day).bind(a.at).execute(p).await)?;
        Ok((n == 1).then_some(id))
    }

    /// What became of an add's welcome message.
    pub async fn set_add_welcome(
        &self,
        tenant: TenantId,
        add: Uuid,
        outcome: &str,
        ms: Option<i64>,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("UPDATE live_code_adds SET welcome = $3, welcome_ms = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(add).bind(outcome).bind(ms).execute(p).await)?;
        Ok(())
    }

    /// Adds per staff member of a code on a local day.
    pub async fn code_adds_on(
        &self,
        tenant: TenantId,
        code: LiveCodeId,
        day: NaiveDate,
    ) -> Result<HashMap<String, u32>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT userid, COUNT(*) FROM live_code_adds WHERE tenant_id = $1 AND code_id = $2 AND day = $3 GROUP BY userid")
            .bind(tenant.0).bind(code.0).bind(day).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(u, n)| (u, n as u32)).collect())
    }

    /// A code's figures (`today`: the tenant's local date).
    pub async fn code_stats(
        &self,
        tenant: TenantId,
        code: &LiveCode,
        today: NaiveDate,
    ) -> Result<CodeStats, StoreError> {
        let (adds, adds_today, sent, max_ms): (i64, i64, i64, Option<i64>) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN day = $3 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN welcome = 'sent' THEN 1 ELSE 0 END), 0), MAX(welcome_ms) \
             FROM live_code_adds WHERE tenant_id = $1 AND code_id = $2")
            .bind(tenant.0).bind(code.id.0).bind(today).fetch_one(p).await)?;
        let (deletions,): (i64,) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(*) FROM follow_removals WHERE tenant_id = $1 AND state = $2")
            .bind(tenant.0).bind(&code.state).fetch_one(p).await)?;
        let (conversions,): (i64,) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(DISTINCT a.customer_id) FROM live_code_adds a JOIN orders o ON o.tenant_id = a.tenant_id \
             AND o.customer_id = a.customer_id AND o.paid_at >= a.added_at WHERE a.tenant_id = $1 AND a.code_id = $2")
            .bind(tenant.0).bind(code.id.0).fetch_one(p).await)?;
        Ok(CodeStats { adds, adds_today, deletions, conversions, welcomes_sent: sent, welcome_max_ms: max_ms })
    }

    /// Adds per local day of a code since `since`, oldest first.
    pub async fn code_daily_adds(
        &self,
        tenant: TenantId,
        code: LiveCodeId,
        since: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64)>, StoreError> {
        let rows: Vec<(NaiveDate, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT day, COUNT(*) FROM live_code_adds WHERE tenant_id = $1 AND code_id = $2 AND day >= $3 \
             GROUP BY day ORDER BY day")
            .bind(tenant.0).bind(code.0).bind(since).fetch_all(p).await)?;
        Ok(rows)
    }

    /// The welcome message of a scope (`default` or a staff member's user id) and, for `default`, the block list.
    pub async fn welcome_template(
        &self,
        tenant: TenantId,
        scope: &str,
    ) -> Result<Option<(WelcomeMessage, Vec<String>)>, StoreError> {
        let row: Option<(Json<WelcomeMessage>, Json<Vec<String>>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT message, block_list FROM welcome_templates WHERE tenant_id = $1 AND scope = $2")
            .bind(tenant.0).bind(scope).fetch_optional(p).await)?;
        Ok(row.map(|(m, b)| (m.0, b.0)))
    }

    pub async fn set_welcome_template(
        &self,
        tenant: TenantId,
        scope: &str,
        message: &WelcomeMessage,
        block_list: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO welcome_templates (tenant_id, scope, message, block_list, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, scope) DO UPDATE SET message = excluded.message, block_list = excluded.block_list, \
             updated_at = excluded.updated_at")
            .bind(tenant.0).bind(scope).bind(Json(message)).bind(Json(block_list)).bind(at).execute(p).await)?;
        Ok(())
    }
}
