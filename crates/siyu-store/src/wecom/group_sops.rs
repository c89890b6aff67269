//! Group SOP templates (`group_sops`), the template applied to each group (`customer_groups.sop_id`), and the
//! runs of their steps (`group_sop_runs`, one per group, step and local date). A due occurrence becomes a
//! mass send with its job in the transaction that writes its run, so each is made exactly once.

use chrono::{DateTime, NaiveDate, Utc};
use siyu_domain::id::{CorpId, GroupId, MassSendId, SopId, TenantId, UserId};
use siyu_domain::job::Job;
use siyu_domain::wecom::GroupKind;
use siyu_domain::wecom::mass::MassSend;
use siyu_domain::wecom::sop::{GroupSop, SopStep};
use sqlx::types::Json;
use uuid::Uuid;

use super::Wecom;
use crate::{StoreError, exec, in_write_tx, on_pool};

type SopRow = (Uuid, String, String, String, DateTime<Utc>, DateTime<Utc>);

fn sop(r: SopRow) -> Result<GroupSop, StoreError> {
    let steps: Vec<SopStep> = serde_json::from_str(&r.3).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(GroupSop {
        id: SopId(r.0),
        name: r.1,
        kind: GroupKind::parse(&r.2).unwrap_or(GroupKind::Daily),
        steps,
        created_at: r.4,
        updated_at: r.5,
    })
}

/// A live group with an SOP applied, as the runner reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SopGroup {
    pub id: Uuid,
    pub corp_row_id: Uuid,
    pub chat_id: String,
    pub name: String,
    pub owner_userid: String,
    pub owner_id: Option<Uuid>,
    pub kind: String,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
    pub sop_id: Uuid,
    pub sop_applied_at: Option<DateTime<Utc>>,
}

/// A step occurrence already handled: sent (with its mass send) or skipped.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SopRun {
    pub step_id: String,
    pub occurs_on: NaiveDate,
    pub status: String,
    pub reason: Option<String>,
    pub mass_send_id: Option<Uuid>,
}

/// A step occurrence to record.
#[derive(Debug, Clone)]
pub struct NewSopRun<'a> {
    pub group: GroupId,
    pub sop: SopId,
    pub step_id: &'a str,
    pub occurs_on: NaiveDate,
    pub scheduled_at: DateTime<Utc>,
    /// `sent` or `skipped`.
    pub status: &'static str,
    pub reason: Option<&'a str>,
}

/// A flash-sale group past its close date.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClosedGroup {
    pub id: Uuid,
    pub corp_row_id: Uuid,
    pub name: String,
    pub owner_userid: String,
    pub owner_id: Uuid,
    pub closes_on: NaiveDate,
}

const SOP_SELECT: &str = "SELECT id, name, kind, steps, created_at, updated_at FROM group_sops";

impl Wecom<'_> {
    pub async fn insert_sop(&self, tenant: TenantId, s: &GroupSop, by: Option<UserId>) -> Result<(), StoreError> {
        let steps = serde_json::to_string(&s.steps).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        exec!(self.0, p => sqlx::query(
            "INSERT INTO group_sops (tenant_id, id, name, kind, steps, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
            .bind(tenant.0).bind(s.id.0).bind(&s.name).bind(s.kind.as_str()).bind(&steps).bind(by.map(|u| u.0))
            .bind(s.created_at).execute(p).await)?;
        Ok(())
    }

    pub async fn update_sop(&self, tenant: TenantId, s: &GroupSop) -> Result<(), StoreError> {
        let steps = serde_json::to_string(&s.steps).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE group_sops SET name = $3, kind = $4, steps = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(s.id.0).bind(&s.name).bind(s.kind.as_str()).bind(&steps).bind(s.updated_at)
            .execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Deletes a template and takes it off its groups (their past runs stay).
    pub async fn delete_sop(&self, tenant: TenantId, id: SopId) -> Result<(), StoreError> {
        let n = in_write_tx!(self.0, tx => {
            sqlx::query("UPDATE customer_groups SET sop_id = NULL WHERE tenant_id = $1 AND sop_id = $2")
                .bind(tenant.0).bind(id.0).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM group_sops WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0).bind(id.0).execute(&mut *tx).await?.rows_affected()
        });
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn sop(&self, tenant: TenantId, id: SopId) -> Result<GroupSop, StoreError> {
        let row: Option<SopRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SOP_SELECT} WHERE tenant_id = $1 AND id = $2")))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        sop(row.ok_or(StoreError::NotFound)?)
    }

    /// The tenant's templates by name, each with how many groups it is applied to.
    pub async fn sops(&self, tenant: TenantId) -> Result<Vec<(GroupSop, i64)>, StoreError> {
        let rows: Vec<SopRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SOP_SELECT} WHERE tenant_id = $1 ORDER BY name, id")))
            .bind(tenant.0).fetch_all(p).await)?;
        let counts: Vec<(Uuid, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT sop_id, COUNT(*) FROM customer_groups WHERE tenant_id = $1 AND sop_id IS NOT NULL \
             AND dismissed_at IS NULL GROUP BY sop_id")
            .bind(tenant.0).fetch_all(p).await)?;
        rows.into_iter()
            .map(|r| {
                let n = counts.iter().find(|c| c.0 == r.0).map_or(0, |c| c.1);
                sop(r).map(|s| (s, n))
            })
            .collect()
    }

    /// Applies a template to a group (none: takes it off); the applied time moves only when it changes.
    pub async fn set_group_sop(
        &self,
        tenant: TenantId,
        group: GroupId,
        sop: Option<SopId>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE customer_groups SET sop_applied_at = CASE WHEN sop_id = $3 THEN sop_applied_at ELSE $4 END, \
             sop_id = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(group.0).bind(sop.map(|s| s.0)).bind(at).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// The template applied to a group and since when.
    pub async fn group_sop(
        &self,
        tenant: TenantId,
        group: GroupId,
    ) -> Result<Option<(SopId, DateTime<Utc>)>, StoreError> {
        let row: Option<(Option<Uuid>, Option<DateTime<Utc>>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT sop_id, sop_applied_at FROM customer_groups WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(group.0).fetch_optional(p).await)?;
        let (sop, at) = row.ok_or(StoreError::NotFound)?;
        Ok(sop.zip(at).map(|(s, a)| (SopId(s), a)))
    }

    /// Live groups with a template applied (flash-sale ones only until their close date).
    pub async fn sop_groups(&self, tenant: TenantId, today: NaiveDate) -> Result<Vec<SopGroup>, StoreError> {
        Ok(on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, corp_row_id, chat_id, name, owner_userid, owner_id, kind, opens_on, closes_on, sop_id, \
             sop_applied_at FROM customer_groups WHERE tenant_id = $1 AND sop_id IS NOT NULL AND dismissed_at IS NULL \
             AND (kind = 'daily' OR closes_on >= $2) ORDER BY id")
            .bind(tenant.0).bind(today).fetch_all(p).await)?)
    }

    /// Flash-sale groups, live, with an owner on siyu, whose close date is in `since..today` (exclusive).
    pub async fn closed_flash_groups(
        &self,
        tenant: TenantId,
        since: NaiveDate,
        today: NaiveDate,
    ) -> Result<Vec<ClosedGroup>, StoreError> {
        Ok(on_pool!(self.0, p => sqlx::query_as(
            "SELECT id, corp_row_id, name, owner_userid, owner_id, closes_on FROM customer_groups \
             WHERE tenant_id = $1 AND kind = 'flash' AND dismissed_at IS NULL AND owner_id IS NOT NULL \
             AND closes_on >= $2 AND closes_on < $3 ORDER BY id")
            .bind(tenant.0).bind(since).bind(today).fetch_all(p).await)?)
    }

    /// The runs of a group's steps.
    pub async fn sop_runs(&self, tenant: TenantId, group: GroupId) -> Result<Vec<SopRun>, StoreError> {
        Ok(on_pool!(self.0, p => sqlx::query_as(
            "SELECT step_id, occurs_on, status, reason, mass_send_id FROM group_sop_runs \
             WHERE tenant_id = $1 AND group_id = $2 ORDER BY occurs_on, step_id")
            .bind(tenant.0).bind(group.0).fetch_all(p).await)?)
    }

    /// Records a step occurrence and, for a sent one, makes its mass send and the send's job, all in one
    /// transaction; `false` (and nothing written) when the occurrence was recorded before.
    pub async fn record_sop_run(
        &self,
        tenant: TenantId,
        corp: CorpId,
        run: &NewSopRun<'_>,
        send: Option<(&MassSend, &Job)>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mass: Option<MassSendId> = send.map(|s| s.0.id);
        let done = in_write_tx!(self.0, tx => {
            let n = sqlx::query(
                "INSERT INTO group_sop_runs (tenant_id, group_id, step_id, occurs_on, sop_id, scheduled_at, status, \
                 reason, mass_send_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (tenant_id, group_id, step_id, occurs_on) DO NOTHING")
                .bind(tenant.0).bind(run.group.0).bind(run.step_id).bind(run.occurs_on).bind(run.sop.0)
                .bind(run.scheduled_at).bind(run.status).bind(run.reason).bind(mass.map(|m| m.0)).bind(at)
                .execute(&mut *tx).await?.rows_affected();
            if let (1, Some((m, j))) = (n, send) {
                sqlx::query(
                    "INSERT INTO mass_sends (tenant_id, id, corp_row_id, name, audience, content, daily_cap, \
                     scheduled_at, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                    .bind(tenant.0).bind(m.id.0).bind(corp.0).bind(&m.name).bind(Json(&m.audience))
                    .bind(Json(&m.content)).bind(m.daily_cap).bind(m.scheduled_at).bind(m.status.as_str())
                    .bind(j.created_by.map(|u| u.0)).bind(m.created_at)
                    .execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO jobs (tenant_id, id, kind, status, payload, progress_done, progress_total, \
                     created_by, created_at, run_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)")
                    .bind(tenant.0).bind(j.id.0).bind(&j.kind).bind(j.status.as_str()).bind(Json(&j.payload))
                    .bind(j.progress_done).bind(j.progress_total).bind(j.created_by.map(|u| u.0)).bind(j.created_at)
                    .execute(&mut *tx).await?;
            }
            n == 1
        });
        Ok(done)
    }

    /// Who made a template (the SOP's mass sends are theirs).
    pub async fn sop_creator(&self, tenant: TenantId, id: SopId) -> Result<Option<UserId>, StoreError> {
        let row: Option<(Option<Uuid>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT created_by FROM group_sops WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        Ok(row.and_then(|r| r.0).map(UserId))
    }
}
