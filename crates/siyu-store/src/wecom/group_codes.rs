//! Group live codes (`group_codes`), the joins through them (`group_code_joins`, once per code, group, member
//! and join time, with when the member left) and group welcome templates (`group_welcome_templates`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use siyu_domain::id::{CorpId, CustomerId, GroupCodeId, GroupId, GroupWelcomeId, TenantId};
use siyu_domain::wecom::group_code::{GroupCode, GroupCodeSettings, GroupWelcome};
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
    settings: Json<GroupCodeSettings>,
    chat_ids: Json<Vec<String>>,
    slots: i64,
    reserve: Json<Vec<String>>,
    filled: Json<Vec<String>>,
    needs_groups: bool,
    config_id: Option<String>,
    qr_code: Option<String>,
    status: String,
    version: i64,
    created_at: DateTime<Utc>,
}

impl From<CodeRow> for GroupCode {
    fn from(r: CodeRow) -> Self {
        GroupCode {
            id: GroupCodeId(r.id),
            corp: CorpId(r.corp_row_id),
            name: r.name,
            channel: r.channel,
            state: r.state,
            settings: r.settings.0,
            chat_ids: r.chat_ids.0,
            slots: r.slots,
            reserve: r.reserve.0,
            filled: r.filled.0,
            needs_groups: r.needs_groups,
            config_id: r.config_id,
            qr_code: r.qr_code,
            active: r.status == "active",
            created_at: r.created_at,
            version: r.version,
        }
    }
}

const COLUMNS: &str = "id, corp_row_id, name, channel, state, settings, chat_ids, slots, reserve, filled, \
     needs_groups, config_id, qr_code, status, version, created_at";

/// A synced group as a group code sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFill {
    pub group: GroupId,
    pub name: String,
    pub members: i64,
    pub dismissed: bool,
}

/// One member who joined through a code.
#[derive(Debug, Clone)]
pub struct CodeJoin {
    pub code: GroupCodeId,
    pub group: GroupId,
    pub member_key: String,
    pub member_type: i64,
    pub customer: Option<CustomerId>,
    pub at: DateTime<Utc>,
}

/// A code's funnel: joins through it, joins today, members who left again, members still in, customers they
/// resolved to, and customers who paid after joining.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GroupCodeStats {
    pub joins: i64,
    pub joins_today: i64,
    pub leaves: i64,
    pub stayed: i64,
    pub customers: i64,
    pub conversions: i64,
}

#[derive(sqlx::FromRow)]
struct WelcomeRow {
    id: Uuid,
    corp_row_id: Uuid,
    name: String,
    text: String,
    attachment: Option<Json<serde_json::Value>>,
    template_id: Option<String>,
    notify: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<WelcomeRow> for GroupWelcome {
    fn from(r: WelcomeRow) -> Self {
        GroupWelcome {
            id: GroupWelcomeId(r.id),
            corp: CorpId(r.corp_row_id),
            name: r.name,
            text: r.text,
            attachment: r.attachment.map(|a| a.0),
            template_id: r.template_id,
            notify: r.notify,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const WELCOME_COLUMNS: &str = "id, corp_row_id, name, text, attachment, template_id, notify, created_at, updated_at";

impl Wecom<'_> {
    pub async fn insert_group_code(&self, tenant: TenantId, c: &GroupCode) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO group_codes (tenant_id, id, corp_row_id, name, channel, state, settings, chat_ids, slots, \
             reserve, filled, needs_groups, config_id, qr_code, status, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'active', 0, $15, $15)")
            .bind(tenant.0).bind(c.id.0).bind(c.corp.0).bind(&c.name).bind(&c.channel).bind(&c.state)
            .bind(Json(&c.settings)).bind(Json(&c.chat_ids)).bind(c.slots).bind(Json(&c.reserve))
            .bind(Json(&c.filled)).bind(c.needs_groups).bind(&c.config_id).bind(&c.qr_code).bind(c.created_at)
            .execute(p).await)?;
        Ok(())
    }

    /// Saves everything about a code if it is still at `c.version` (then one version further); `false` when
    /// another change came first.
    pub async fn save_group_code(
        &self,
        tenant: TenantId,
        c: &GroupCode,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let status = if c.active { "active" } else { "archived" };
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE group_codes SET name = $4, channel = $5, settings = $6, chat_ids = $7, slots = $8, reserve = $9, \
             filled = $10, needs_groups = $11, config_id = $12, qr_code = $13, status = $14, version = version + 1, \
             updated_at = $15 WHERE tenant_id = $1 AND id = $2 AND version = $3")
            .bind(tenant.0).bind(c.id.0).bind(c.version).bind(&c.name).bind(&c.channel).bind(Json(&c.settings))
            .bind(Json(&c.chat_ids)).bind(c.slots).bind(Json(&c.reserve)).bind(Json(&c.filled)).bind(c.needs_groups)
            .bind(&c.config_id).bind(&c.qr_code).bind(status).bind(at).execute(p).await)?;
        Ok(n == 1)
    }

    pub async fn group_code(&self, tenant: TenantId, id: GroupCodeId) -> Result<GroupCode, StoreError> {
        let row: Option<CodeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM group_codes WHERE tenant_id = $1 AND id = $2")))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn group_code_by_state(&self, tenant: TenantId, state: &str) -> Result<Option<GroupCode>, StoreError> {
        let row: Option<CodeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM group_codes WHERE tenant_id = $1 AND state = $2")))
            .bind(tenant.0).bind(state).fetch_optional(p).await)?;
        Ok(row.map(Into::into))
    }

    pub async fn group_codes(&self, tenant: TenantId, include_archived: bool) -> Result<Vec<GroupCode>, StoreError> {
        let rows: Vec<CodeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM group_codes WHERE tenant_id = $1 AND ($2 OR status = 'active') \
             ORDER BY created_at DESC, id")))
            .bind(tenant.0).bind(include_archived).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The synced groups of a corp among `chat_ids`, by chat id.
    pub async fn group_fills(
        &self,
        tenant: TenantId,
        corp: CorpId,
        chat_ids: &[String],
    ) -> Result<HashMap<String, GroupFill>, StoreError> {
        if chat_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let marks: Vec<String> = (0..chat_ids.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT chat_id, id, name, member_count, dismissed_at FROM customer_groups \
             WHERE tenant_id = $1 AND corp_row_id = $2 AND chat_id IN ({})",
            marks.join(", ")
        );
        type Row = (String, Uuid, String, i64, Option<DateTime<Utc>>);
        let rows: Vec<Row> = on_pool!(self.0, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(tenant.0).bind(corp.0);
            for c in chat_ids {
                q = q.bind(c);
            }
            q.fetch_all(p).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(chat, id, name, members, dismissed)| {
                (chat, GroupFill { group: GroupId(id), name, members, dismissed: dismissed.is_some() })
            })
            .collect())
    }

    /// Records a join through a code; `false` when this (code, group, member, join time) was recorded before.
    pub async fn record_code_join(&self, tenant: TenantId, j: &CodeJoin) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "INSERT INTO group_code_joins (tenant_id, id, code_id, group_id, member_key, member_type, customer_id, \
             joined_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tenant_id, code_id, group_id, member_key, joined_at) DO NOTHING")
            .bind(tenant.0).bind(Uuid::now_v7()).bind(j.code.0).bind(j.group.0).bind(&j.member_key)
            .bind(j.member_type).bind(j.customer.map(|c| c.0)).bind(j.at).execute(p).await)?;
        Ok(n == 1)
    }

    /// The members of a group who joined through a code and have not left: (row id, member key).
    pub async fn open_code_joins(&self, tenant: TenantId, group: GroupId) -> Result<Vec<(Uuid, String)>, StoreError> {
        let rows: Vec<(Uuid, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, member_key FROM group_code_joins WHERE tenant_id = $1 AND group_id = $2 AND left_at IS NULL")
            .bind(tenant.0).bind(group.0).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Marks a join as ended by the member leaving at `at`.
    pub async fn close_code_join(&self, tenant: TenantId, id: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE group_code_joins SET left_at = $3 WHERE tenant_id = $1 AND id = $2 AND left_at IS NULL")
            .bind(tenant.0).bind(id).bind(at).execute(p).await)?;
        Ok(())
    }

    /// A code's funnel (`today`: the start of the tenant's local day).
    pub async fn group_code_stats(
        &self,
        tenant: TenantId,
        code: GroupCodeId,
        today: DateTime<Utc>,
    ) -> Result<GroupCodeStats, StoreError> {
        let (joins, joins_today, leaves, customers): (i64, i64, i64, i64) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN joined_at >= $3 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN left_at IS NOT NULL THEN 1 ELSE 0 END), 0), COUNT(DISTINCT customer_id) \
             FROM group_code_joins WHERE tenant_id = $1 AND code_id = $2")
            .bind(tenant.0).bind(code.0).bind(today).fetch_one(p).await)?;
        let (conversions,): (i64,) = on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(DISTINCT j.customer_id) FROM group_code_joins j JOIN orders o ON o.tenant_id = j.tenant_id \
             AND o.customer_id = j.customer_id AND o.paid_at >= j.joined_at WHERE j.tenant_id = $1 AND j.code_id = $2")
            .bind(tenant.0).bind(code.0).fetch_one(p).await)?;
        Ok(GroupCodeStats { joins, joins_today, leaves, stayed: joins - leaves, customers, conversions })
    }

    /// Joins and leaves through a code per group.
    pub async fn group_code_group_stats(
        &self,
        tenant: TenantId,
        code: GroupCodeId,
    ) -> Result<HashMap<GroupId, (i64, i64)>, StoreError> {
        let rows: Vec<(Uuid, i64, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT group_id, COUNT(*), COALESCE(SUM(CASE WHEN left_at IS NOT NULL THEN 1 ELSE 0 END), 0) \
             FROM group_code_joins WHERE tenant_id = $1 AND code_id = $2 GROUP BY group_id")
            .bind(tenant.0).bind(code.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(g, j, l)| (GroupId(g), (j, l))).collect())
    }

    pub async fn insert_group_welcome(&self, tenant: TenantId, w: &GroupWelcome) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO group_welcome_templates (tenant_id, id, corp_row_id, name, text, attachment, template_id, \
             notify, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(tenant.0).bind(w.id.0).bind(w.corp.0).bind(&w.name).bind(&w.text).bind(w.attachment.as_ref().map(Json))
            .bind(&w.template_id).bind(w.notify).bind(w.created_at).bind(w.updated_at).execute(p).await)?;
        Ok(())
    }

    pub async fn update_group_welcome(&self, tenant: TenantId, w: &GroupWelcome) -> Result<(), StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE group_welcome_templates SET name = $3, text = $4, attachment = $5, template_id = $6, \
             updated_at = $7 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(w.id.0).bind(&w.name).bind(&w.text).bind(w.attachment.as_ref().map(Json))
            .bind(&w.template_id).bind(w.updated_at).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn delete_group_welcome(&self, tenant: TenantId, id: GroupWelcomeId) -> Result<(), StoreError> {
        let n = exec!(self.0, p => sqlx::query("DELETE FROM group_welcome_templates WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn group_welcome(&self, tenant: TenantId, id: GroupWelcomeId) -> Result<GroupWelcome, StoreError> {
        let row: Option<WelcomeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {WELCOME_COLUMNS} FROM group_welcome_templates WHERE tenant_id = $1 AND id = $2")))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn group_welcomes(&self, tenant: TenantId) -> Result<Vec<GroupWelcome>, StoreError> {
        let rows: Vec<WelcomeRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {WELCOME_COLUMNS} FROM group_welcome_templates WHERE tenant_id = $1 ORDER BY created_at DESC, id")))
            .bind(tenant.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
