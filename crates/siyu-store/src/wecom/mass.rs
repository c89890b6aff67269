//! Mass sends (`mass_sends`, `mass_send_recipients`, `mass_send_chunks`): planning is one set-based
//! statement (recipients with their sender, WeCom id, skip reason and chunk number) and one for the chunks,
//! so a million recipients plan in seconds; finishing a chunk marks it sent (with its fail_list) in one short
//! transaction, and settling it marks its recipients and writes them to the journey outbox.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CorpId, MassSendId, TenantId, UserId};
use siyu_domain::wecom::mass::{Audience, MassContent, MassCounts, MassSend, MassStatus};
use sqlx::types::Json;
use uuid::Uuid;

mod groups;
mod settle;

use super::Wecom;
use crate::sql::{Arg, Sql, dyn_query};
use crate::{Backend, StoreError, exec, in_write_tx, on_pool};

/// The bounds a plan checks each recipient against.
#[derive(Debug, Clone)]
pub struct PlanLimits<'a> {
    /// The corp's WeCom corp id (the namespace of its external_userids).
    pub corp_id: &'a str,
    /// Local midnight today and on the 1st of the month, as instants.
    pub day_start: DateTime<Utc>,
    pub month_start: DateTime<Utc>,
    pub days_in_month: i64,
    pub at: DateTime<Utc>,
}

/// One chunk to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub chunk_no: i64,
    pub sender: String,
    pub status: String,
    pub msgid: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct SendRow {
    id: Uuid,
    corp_row_id: Uuid,
    name: String,
    audience: Json<Audience>,
    content: Json<MassContent>,
    daily_cap: i64,
    scheduled_at: DateTime<Utc>,
    status: String,
    error: Option<String>,
    created_at: DateTime<Utc>,
    planned_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<SendRow> for MassSend {
    fn from(r: SendRow) -> Self {
        MassSend {
            id: MassSendId(r.id),
            corp: CorpId(r.corp_row_id),
            name: r.name,
            audience: r.audience.0,
            content: r.content.0,
            daily_cap: r.daily_cap,
            scheduled_at: r.scheduled_at,
            status: MassStatus::parse(&r.status).unwrap_or(MassStatus::Failed),
            error: r.error,
            created_at: r.created_at,
            planned_at: r.planned_at,
            finished_at: r.finished_at,
        }
    }
}

const COLUMNS: &str = "id, corp_row_id, name, audience, content, daily_cap, scheduled_at, status, error, created_at, \
     planned_at, finished_at";

impl Wecom<'_> {
    pub async fn insert_mass_send(&self, tenant: TenantId, m: &MassSend, by: Option<UserId>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO mass_sends (tenant_id, id, corp_row_id, name, audience, content, daily_cap, scheduled_at, status, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(tenant.0).bind(m.id.0).bind(m.corp.0).bind(&m.name).bind(Json(&m.audience)).bind(Json(&m.content))
            .bind(m.daily_cap).bind(m.scheduled_at).bind(m.status.as_str()).bind(by.map(|u| u.0)).bind(m.created_at)
            .execute(p).await)?;
        Ok(())
    }

    pub async fn mass_send(&self, tenant: TenantId, id: MassSendId) -> Result<MassSend, StoreError> {
        let row: Option<SendRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM mass_sends WHERE tenant_id = $1 AND id = $2")))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn mass_sends(&self, tenant: TenantId, limit: i64) -> Result<Vec<MassSend>, StoreError> {
        let rows: Vec<SendRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM mass_sends WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT $2")))
            .bind(tenant.0).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Moves a send to `status` if it is in one of `from`; `false` if it was not.
    pub async fn set_mass_status(
        &self,
        tenant: TenantId,
        id: MassSendId,
        from: &[MassStatus],
        status: MassStatus,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new("UPDATE mass_sends SET status = ");
        sql.bind(Arg::Text(status.as_str().into())).push(", error = ").bind(Arg::OptText(error.map(str::to_owned)));
        if matches!(status, MassStatus::Sent | MassStatus::Cancelled | MassStatus::Failed) {
            sql.push(", finished_at = ").bind(Arg::Time(at));
        }
        sql.push(" WHERE tenant_id = ").bind(Arg::Uuid(tenant.0)).push(" AND id = ").bind(Arg::Uuid(id.0));
        sql.push(" AND status IN (");
        for (i, f) in from.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Arg::Text(f.as_str().into()));
        }
        sql.push(")");
        let n = exec!(self.0, p => dyn_query!(sql).execute(p).await)?;
        Ok(n == 1)
    }

    /// Plans a scheduled send: one recipient row per audience customer (sender, external_userid, or why
    /// skipped), chunk numbers for the planned ones, one chunk row per 10,000 per sender.
    pub async fn plan_mass_send(&self, tenant: TenantId, m: &MassSend, l: &PlanLimits<'_>) -> Result<(), StoreError> {
        let mut insert = Sql::new("WITH p AS MATERIALIZED (SELECT c.tenant_id, ");
        insert.bind(Arg::Uuid(m.id.0)).push(
            " AS send_id, c.id AS customer_id, snd.userid AS sender, ext.lookup AS external_userid, CASE \
             WHEN snd.userid IS NULL OR ext.lookup IS NULL THEN 'no_staff' \
             WHEN oo.customer_id IS NOT NULL THEN 'opted_out' WHEN COALESCE(today.n, 0) >= ",
        );
        insert.bind(Arg::Int(m.daily_cap)).push(" OR COALESCE(month.n, 0) >= ").bind(Arg::Int(l.days_in_month));
        insert.push(" THEN 'capped' ELSE 'planned' END AS status, ").bind(Arg::Time(l.at)).push(" AS updated_at");
        let tenant_arg = || Arg::Uuid(tenant.0);
        insert
            .push(
                " FROM customers c LEFT JOIN (SELECT f.customer_id, s.userid, ROW_NUMBER() OVER \
             (PARTITION BY f.customer_id ORDER BY f.added_at, s.userid) AS rn FROM follows f JOIN wecom_staff s \
             ON s.tenant_id = f.tenant_id AND s.user_id = f.user_id WHERE f.tenant_id = ",
            )
            .bind(tenant_arg());
        insert.push(" AND s.corp_row_id = ").bind(Arg::Uuid(m.corp.0)).push(" AND s.status = 1");
        if !m.audience.staff.is_empty() {
            insert.push(" AND s.userid IN (");
            texts(&mut insert, &m.audience.staff);
        }
        insert
            .push(
                ") snd ON snd.customer_id = c.id AND snd.rn = 1 LEFT JOIN (SELECT customer_id, MIN(lookup) AS lookup \
             FROM identities WHERE tenant_id = ",
            )
            .bind(tenant_arg());
        insert.push(" AND kind = 'external_userid' AND namespace = ").bind(Arg::Text(l.corp_id.into()));
        insert.push(" GROUP BY customer_id) ext ON ext.customer_id = c.id LEFT JOIN consents oo ON oo.tenant_id = c.tenant_id \
             AND oo.customer_id = c.id AND oo.purpose = 'marketing' AND oo.status = 'withdrawn' \
             LEFT JOIN (SELECT customer_id, COUNT(*) AS n FROM outbox WHERE tenant_id = ").bind(tenant_arg());
        insert
            .push(" AND channel = 'wecom' AND status IN ('pending', 'sent', 'unknown') AND created_at >= ")
            .bind(Arg::Time(l.day_start));
        insert
            .push(
                " GROUP BY customer_id) today ON today.customer_id = c.id LEFT JOIN (SELECT customer_id, COUNT(*) AS n \
             FROM outbox WHERE tenant_id = ",
            )
            .bind(tenant_arg());
        insert.push(" AND channel = 'wecom' AND node = 'mass' AND created_at >= ").bind(Arg::Time(l.month_start));
        insert.push(" GROUP BY customer_id) month ON month.customer_id = c.id WHERE c.tenant_id = ").bind(tenant_arg());
        insert.push(" AND c.erased_at IS NULL");
        if let Some(segment) = m.audience.segment {
            insert.push(" AND c.id IN (SELECT customer_id FROM segment_members WHERE tenant_id = ").bind(tenant_arg());
            insert.push(" AND segment_id = ").bind(Arg::Uuid(segment.0)).push(")");
        }
        if !m.audience.tag_ids.is_empty() {
            insert.push(" AND c.id IN (SELECT customer_id FROM customer_tags WHERE tenant_id = ").bind(tenant_arg());
            insert.push(" AND tag_id IN (");
            for (i, t) in m.audience.tag_ids.iter().enumerate() {
                if i > 0 {
                    insert.push(", ");
                }
                insert.bind(Arg::Uuid(t.0));
            }
            insert.push("))");
        }
        if !m.audience.staff.is_empty() {
            insert.push(" AND snd.userid IS NOT NULL");
        }
        // Chunks are numbered in the same statement (an UPDATE of a million rows afterwards doubled the
        // writes): per sender, blocks of 10,000 planned recipients in customer order. The audience is a
        // materialised CTE: as a plain subquery of the windowed SELECT, SQLite's planner no longer indexed
        // `snd` and scanned it once per customer. `WHERE true` keeps SQLite from reading the upsert's ON as a
        // join's.
        insert.push(
            ") INSERT INTO mass_send_recipients (tenant_id, send_id, customer_id, sender, external_userid, chunk_no, \
             status, updated_at) SELECT tenant_id, send_id, customer_id, sender, external_userid, \
             CASE WHEN status = 'planned' THEN (DENSE_RANK() OVER (PARTITION BY status = 'planned' ORDER BY sender) - 1) \
             * 100000 + (ROW_NUMBER() OVER (PARTITION BY status = 'planned', sender ORDER BY customer_id) - 1) / 10000 \
             END, status, updated_at FROM p WHERE true ON CONFLICT (tenant_id, send_id, customer_id) DO NOTHING",
        );
        // Only planned recipients have a chunk number: the chunk index alone counts them, and one row per
        // chunk names its sender.
        let chunks = Sql::with(
            "INSERT INTO mass_send_chunks (tenant_id, send_id, chunk_no, sender, size, status) \
             SELECT $1, $2, g.chunk_no, (SELECT r.sender FROM mass_send_recipients r WHERE r.tenant_id = $1 \
             AND r.send_id = $2 AND r.chunk_no = g.chunk_no LIMIT 1), g.n, 'pending' FROM (SELECT chunk_no, \
             COUNT(*) AS n FROM mass_send_recipients WHERE tenant_id = $1 AND send_id = $2 \
             AND chunk_no IS NOT NULL GROUP BY chunk_no) g",
            vec![tenant_arg(), Arg::Uuid(m.id.0)],
        );
        let mark = Sql::with(
            "UPDATE mass_sends SET status = 'planned', planned_at = $3 WHERE tenant_id = $1 AND id = $2 \
             AND status = 'scheduled'",
            vec![tenant_arg(), Arg::Uuid(m.id.0), Arg::Time(l.at)],
        );
        if let Backend::Postgres(pool) = &self.0.backend {
            // Fresh statistics first: right after an import PostgreSQL would think these tables nearly empty
            // and nest loops over a hundred thousand rows (minutes instead of seconds).
            sqlx::query(
                "ANALYZE customers, follows, identities, wecom_staff, consents, outbox, segment_members, customer_tags",
            )
            .execute(pool)
            .await?;
        }
        in_write_tx!(self.0, tx => {
            let planned = dyn_query!(mark).execute(&mut *tx).await?.rows_affected();
            if planned == 1 {
                dyn_query!(insert).execute(&mut *tx).await?;
                dyn_query!(chunks).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    pub async fn mass_counts(&self, tenant: TenantId, id: MassSendId) -> Result<MassCounts, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT status, COUNT(*) FROM mass_send_recipients WHERE tenant_id = $1 AND send_id = $2 GROUP BY status")
            .bind(tenant.0).bind(id.0).fetch_all(p).await)?;
        let mut counts = MassCounts::default();
        for (status, n) in rows {
            counts.add(&status, n);
        }
        Ok(counts)
    }

    /// The chunks of a send, in order.
    pub async fn mass_chunks(&self, tenant: TenantId, id: MassSendId) -> Result<Vec<Chunk>, StoreError> {
        type Row = (i64, String, String, Option<String>, Option<DateTime<Utc>>);
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT chunk_no, sender, status, msgid, claimed_at FROM mass_send_chunks WHERE tenant_id = $1 AND send_id = $2 \
             ORDER BY chunk_no")
            .bind(tenant.0).bind(id.0).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(chunk_no, sender, status, msgid, claimed_at)| Chunk { chunk_no, sender, status, msgid, claimed_at })
            .collect())
    }

    /// The external_userids of a chunk, sorted.
    pub async fn chunk_recipients(
        &self,
        tenant: TenantId,
        id: MassSendId,
        chunk: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT external_userid FROM mass_send_recipients WHERE tenant_id = $1 AND send_id = $2 AND chunk_no = $3 \
             ORDER BY external_userid")
            .bind(tenant.0).bind(id.0).bind(chunk).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Claims a pending chunk for its `add_msg_template` call; `false` if someone else did.
    pub async fn claim_chunk(
        &self,
        tenant: TenantId,
        id: MassSendId,
        chunk: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = exec!(self.0, p => sqlx::query(
            "UPDATE mass_send_chunks SET status = 'sending', claimed_at = $4 WHERE tenant_id = $1 AND send_id = $2 \
             AND chunk_no = $3 AND status = 'pending'")
            .bind(tenant.0).bind(id.0).bind(chunk).bind(at).execute(p).await)?;
        Ok(n == 1)
    }

    /// Puts a claimed chunk back (its call never reached WeCom: the rate budget was spent).
    pub async fn release_chunk(&self, tenant: TenantId, id: MassSendId, chunk: i64) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "UPDATE mass_send_chunks SET status = 'pending', claimed_at = NULL WHERE tenant_id = $1 AND send_id = $2 \
             AND chunk_no = $3 AND status = 'sending'")
            .bind(tenant.0).bind(id.0).bind(chunk).execute(p).await)?;
        Ok(())
    }

    /// A chunk WeCom refused for good: its recipients, customers or groups, failed with it.
    pub async fn fail_chunk(
        &self,
        tenant: TenantId,
        id: MassSendId,
        chunk: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            sqlx::query("UPDATE mass_send_chunks SET status = 'failed', error = $4 WHERE tenant_id = $1 AND send_id = $2 \
                 AND chunk_no = $3")
                .bind(tenant.0).bind(id.0).bind(chunk).bind(error).execute(&mut *tx).await?;
            for table in ["mass_send_recipients", "mass_send_groups"] {
                let sql = format!("UPDATE {table} SET status = 'failed' WHERE tenant_id = $1 AND send_id = $2 \
                     AND chunk_no = $3");
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(id.0).bind(chunk).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// A chunk is in WeCom as `msgid`: the chunk is marked sent and the recipients in `fail_list` failed, in
    /// one short transaction; the others are then marked sent and written to the journey outbox by
    /// [`Wecom::settle_chunk`], in batches, so the next chunk's call need not wait for them.
    pub async fn finish_chunk(
        &self,
        tenant: TenantId,
        id: MassSendId,
        chunk: i64,
        msgid: &str,
        fail_list: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            sqlx::query("UPDATE mass_send_chunks SET status = 'sent', msgid = $4, failed = $5, sent_at = $6, error = NULL \
                 WHERE tenant_id = $1 AND send_id = $2 AND chunk_no = $3")
                .bind(tenant.0).bind(id.0).bind(chunk).bind(msgid).bind(fail_list.len() as i64).bind(at)
                .execute(&mut *tx).await?;
            for failed in fail_list.chunks(500) {
                let mut sql = Sql::new("UPDATE mass_send_recipients SET status = 'failed', updated_at = ");
                sql.bind(Arg::Time(at)).push(" WHERE tenant_id = ").bind(Arg::Uuid(tenant.0));
                sql.push(" AND send_id = ").bind(Arg::Uuid(id.0)).push(" AND chunk_no = ").bind(Arg::Int(chunk));
                sql.push(" AND status = 'planned' AND external_userid IN (");
                texts(&mut sql, failed);
                dyn_query!(sql).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Per-recipient results pulled back from WeCom (`delivered`, `not_friend`, `capped_by_wecom`).
    pub async fn set_mass_results(
        &self,
        tenant: TenantId,
        id: MassSendId,
        results: &[(String, &'static str)],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            for (external_userid, status) in results {
                sqlx::query("UPDATE mass_send_recipients SET status = $4, updated_at = $5 WHERE tenant_id = $1 \
                     AND send_id = $2 AND external_userid = $3 AND status IN ('sent', 'delivered')")
                    .bind(tenant.0).bind(id.0).bind(external_userid).bind(*status).bind(at)
                    .execute(&mut *tx).await?;
            }
        });
        Ok(())
    }
}

/// `$a, $b, …)` for a list of texts.
fn texts(sql: &mut Sql, values: &[String]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Arg::Text(v.clone()));
    }
    sql.push(")");
}
