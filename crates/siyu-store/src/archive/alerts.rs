//! Alerts (one per rule and thing that broke it, made once by their dedupe key), their review, the
//! per-staff statistics and daily digests; and what the archive sweep reads: overdue replies, customers
//! deleted by staff, group join-and-leave changes.

use chrono::{DateTime, Utc};
use siyu_domain::id::{AlertId, CorpId, CustomerId, TenantId, UserId};
use uuid::Uuid;

use super::Archive;
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{StoreError, exec, on_pool};

/// An alert to make.
#[derive(Debug, Clone, Default)]
pub struct NewAlert {
    pub rule_id: Uuid,
    pub kind: String,
    /// What makes it one alert: `msg:<corp>:<msgid>:<rule>`, `reply:<corp>:<msgid>:<rule>`, ….
    pub dedupe_key: String,
    pub corp: Option<Uuid>,
    pub conversation: Option<Uuid>,
    pub msgid: Option<String>,
    pub staff_userid: Option<String>,
    pub customer: Option<Uuid>,
    pub group: Option<Uuid>,
    pub detail: String,
    pub excerpt: String,
    pub occurred_at: DateTime<Utc>,
}

/// An alert with the names it is shown by.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Alert {
    pub id: Uuid,
    pub rule_id: Uuid,
    pub rule_name: Option<String>,
    pub kind: String,
    pub corp_row_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub msgid: Option<String>,
    pub staff_userid: Option<String>,
    pub staff_name: Option<String>,
    pub customer_id: Option<Uuid>,
    pub customer_name: Option<String>,
    pub group_id: Option<Uuid>,
    pub group_name: Option<String>,
    pub group_owner: Option<String>,
    pub detail: String,
    pub excerpt: String,
    pub occurred_at: DateTime<Utc>,
    pub status: String,
    pub handled_by: Option<Uuid>,
    pub handled_at: Option<DateTime<Utc>>,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

const ALERT_SELECT: &str = "SELECT a.id, a.rule_id, r.name AS rule_name, a.kind, a.corp_row_id, a.conversation_id, \
     a.msgid, a.staff_userid, s.name AS staff_name, a.customer_id, c.name AS customer_name, a.group_id, \
     g.name AS group_name, g.owner_userid AS group_owner, a.detail, a.excerpt, a.occurred_at, a.status, a.handled_by, \
     a.handled_at, a.note, a.created_at FROM archive_alerts a \
     LEFT JOIN archive_rules r ON r.tenant_id = a.tenant_id AND r.id = a.rule_id \
     LEFT JOIN wecom_staff s ON s.tenant_id = a.tenant_id AND s.corp_row_id = a.corp_row_id AND s.userid = a.staff_userid \
     LEFT JOIN customers c ON c.tenant_id = a.tenant_id AND c.id = a.customer_id \
     LEFT JOIN customer_groups g ON g.tenant_id = a.tenant_id AND g.id = a.group_id";

/// Filters of the alert inbox.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub staff_userid: Option<String>,
    pub customer: Option<CustomerId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

/// Alerts of one staff member and rule kind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffStat {
    pub staff_userid: Option<String>,
    pub staff_name: Option<String>,
    pub kind: String,
    pub alerts: i64,
    pub open: i64,
}

/// A 1:1 chat whose customer has waited for a reply since `awaiting_since`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueReply {
    pub conversation_id: Uuid,
    pub corp_row_id: Uuid,
    pub staff_userid: Option<String>,
    pub customer_id: Option<Uuid>,
    pub awaiting_since: DateTime<Utc>,
    pub awaiting_msgid: String,
}

/// A customer a staff member deleted.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffRemoval {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub corp_row_id: Option<Uuid>,
    pub userid: Option<String>,
    pub removed_at: DateTime<Utc>,
}

/// A customer joining or leaving a group.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberChange {
    pub group_id: Uuid,
    pub corp_row_id: Uuid,
    pub owner_userid: String,
    pub member_key: String,
    pub op: String,
    pub at: DateTime<Utc>,
}

/// A day's summary.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Digest {
    pub day: String,
    pub alerts: i64,
    pub summary: String,
    pub created_at: DateTime<Utc>,
}

impl Archive<'_> {
    /// Makes an alert unless one with its dedupe key exists; the new alert's id.
    pub async fn insert_alert(
        &self,
        tenant: TenantId,
        a: &NewAlert,
        at: DateTime<Utc>,
    ) -> Result<Option<AlertId>, StoreError> {
        let id = Uuid::now_v7();
        let sql = "INSERT INTO archive_alerts (tenant_id, id, rule_id, kind, dedupe_key, corp_row_id, conversation_id, \
             msgid, staff_userid, customer_id, group_id, detail, excerpt, occurred_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (tenant_id, dedupe_key) DO NOTHING";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id).bind(a.rule_id).bind(&a.kind)
            .bind(&a.dedupe_key).bind(a.corp).bind(a.conversation).bind(&a.msgid).bind(&a.staff_userid)
            .bind(a.customer).bind(a.group).bind(&a.detail).bind(&a.excerpt).bind(a.occurred_at).bind(at)
            .execute(p).await)?;
        Ok((n > 0).then_some(AlertId(id)))
    }

    pub async fn alert(&self, tenant: TenantId, id: AlertId) -> Result<Alert, StoreError> {
        let sql = format!("{ALERT_SELECT} WHERE a.tenant_id = $1 AND a.id = $2");
        let row = on_pool!(self.0, p => sqlx::query_as::<_, Alert>(sqlx::AssertSqlSafe(sql))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    fn alert_filter(tenant: TenantId, q: &AlertQuery) -> Sql {
        let mut f = Sql::new(" WHERE a.tenant_id = ");
        f.bind(Arg::Uuid(tenant.0));
        if let Some(s) = &q.status {
            f.push(" AND a.status = ").bind(Arg::Text(s.clone()));
        }
        if let Some(k) = &q.kind {
            f.push(" AND a.kind = ").bind(Arg::Text(k.clone()));
        }
        if let Some(s) = &q.staff_userid {
            f.push(" AND a.staff_userid = ").bind(Arg::Text(s.clone()));
        }
        if let Some(c) = q.customer {
            f.push(" AND a.customer_id = ").bind(Arg::Uuid(c.0));
        }
        if let Some(from) = q.from {
            f.push(" AND a.occurred_at >= ").bind(Arg::Time(from));
        }
        if let Some(to) = q.to {
            f.push(" AND a.occurred_at < ").bind(Arg::Time(to));
        }
        f
    }

    /// Alerts, newest first, and how many match.
    pub async fn alerts(&self, tenant: TenantId, q: &AlertQuery) -> Result<(Vec<Alert>, i64), StoreError> {
        let f = Self::alert_filter(tenant, q);
        let count = Sql::with(&format!("SELECT COUNT(*) FROM archive_alerts a{}", f.text), f.args.clone());
        let mut list = Sql::with(&format!("{ALERT_SELECT}{}", f.text), f.args);
        list.push(" ORDER BY a.occurred_at DESC, a.id LIMIT ")
            .bind(Arg::Int(q.limit))
            .push(" OFFSET ")
            .bind(Arg::Int(q.offset));
        let rows = on_pool!(self.0, p => dyn_query_as!(Alert, list).fetch_all(p).await)?;
        let (total,): (i64,) = on_pool!(self.0, p => dyn_query_as!((i64,), count).fetch_one(p).await)?;
        Ok((rows, total))
    }

    /// Records an auditor's verdict on an alert.
    pub async fn handle_alert(
        &self,
        tenant: TenantId,
        id: AlertId,
        status: &str,
        note: &str,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE archive_alerts SET status = $3, note = $4, handled_by = $5, handled_at = $6 \
             WHERE tenant_id = $1 AND id = $2";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(status).bind(note).bind(by.0)
            .bind(at).execute(p).await)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Alerts per staff member and kind between `from` and `to`.
    pub async fn staff_stats(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StaffStat>, StoreError> {
        let sql = "SELECT a.staff_userid, MAX(s.name) AS staff_name, a.kind, COUNT(*) AS alerts, \
             SUM(CASE WHEN a.status = 'open' THEN 1 ELSE 0 END) AS open FROM archive_alerts a \
             LEFT JOIN wecom_staff s ON s.tenant_id = a.tenant_id AND s.corp_row_id = a.corp_row_id \
                  AND s.userid = a.staff_userid \
             WHERE a.tenant_id = $1 AND a.occurred_at >= $2 AND a.occurred_at < $3 \
             GROUP BY a.staff_userid, a.kind ORDER BY alerts DESC, a.staff_userid, a.kind";
        Ok(
            on_pool!(self.0, p => sqlx::query_as::<_, StaffStat>(sql).bind(tenant.0).bind(from).bind(to).fetch_all(p).await)?,
        )
    }

    /// 1:1 chats of a corp whose customer has waited since before `deadline`.
    pub async fn overdue_replies(
        &self,
        tenant: TenantId,
        corp: CorpId,
        deadline: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OverdueReply>, StoreError> {
        let sql = "SELECT id AS conversation_id, corp_row_id, staff_userid, customer_id, awaiting_since, awaiting_msgid \
             FROM archive_conversations WHERE tenant_id = $1 AND corp_row_id = $2 AND awaiting_since < $3 \
             AND awaiting_msgid IS NOT NULL ORDER BY awaiting_since LIMIT $4";
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, OverdueReply>(sql).bind(tenant.0).bind(corp.0).bind(deadline)
            .bind(limit).fetch_all(p).await)?)
    }

    /// Customers deleted by staff since `since`, with the staff member's WeCom userid.
    pub async fn staff_removals(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<StaffRemoval>, StoreError> {
        let sql = "SELECT r.id, r.customer_id, s.corp_row_id, s.userid, r.removed_at FROM follow_removals r \
             LEFT JOIN wecom_staff s ON s.tenant_id = r.tenant_id AND s.user_id = r.user_id \
             WHERE r.tenant_id = $1 AND r.removed_by = 'staff' AND r.removed_at >= $2 ORDER BY r.removed_at";
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, StaffRemoval>(sql).bind(tenant.0).bind(since).fetch_all(p).await)?)
    }

    /// Records members joining or leaving a group as a callback reported them (once per member and event).
    pub async fn record_join_leaves(
        &self,
        tenant: TenantId,
        corp: CorpId,
        chat_id: &str,
        members: &[String],
        op: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO group_join_leaves (tenant_id, corp_row_id, chat_id, member_key, op, at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, corp_row_id, chat_id, member_key, op, at) DO NOTHING";
        for m in members {
            exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(corp.0).bind(chat_id).bind(m).bind(op).bind(at)
                .execute(p).await)?;
        }
        Ok(())
    }

    /// Customers' joins and leaves of known groups since `since`, per group and member in time order.
    pub async fn member_changes(
        &self,
        tenant: TenantId,
        since: DateTime<Utc>,
    ) -> Result<Vec<MemberChange>, StoreError> {
        let sql = "SELECT g.id AS group_id, g.corp_row_id, g.owner_userid, m.member_key, m.op, m.at \
             FROM group_join_leaves m \
             JOIN customer_groups g ON g.tenant_id = m.tenant_id AND g.corp_row_id = m.corp_row_id AND g.chat_id = m.chat_id \
             WHERE m.tenant_id = $1 AND m.at >= $2 AND (m.member_key LIKE 'wm%' OR m.member_key LIKE 'wo%') \
             ORDER BY g.id, m.member_key, m.at, m.op";
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, MemberChange>(sql).bind(tenant.0).bind(since).fetch_all(p).await)?)
    }

    /// Stores a day's digest unless it exists; whether it was new.
    pub async fn insert_digest(
        &self,
        tenant: TenantId,
        day: &str,
        alerts: i64,
        summary: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO archive_digests (tenant_id, day, alerts, summary, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, day) DO NOTHING";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(day).bind(alerts).bind(summary).bind(at)
            .execute(p).await)?;
        Ok(n > 0)
    }

    /// The latest digests, newest first.
    pub async fn digests(&self, tenant: TenantId, limit: i64) -> Result<Vec<Digest>, StoreError> {
        let sql = "SELECT day, alerts, summary, created_at FROM archive_digests WHERE tenant_id = $1 \
             ORDER BY day DESC LIMIT $2";
        Ok(on_pool!(self.0, p => sqlx::query_as::<_, Digest>(sql).bind(tenant.0).bind(limit).fetch_all(p).await)?)
    }
}
