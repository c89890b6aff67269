//! Group mass sends (`mass_send_groups`): one row per customer group, planned set-based like a customer send
//! (a skip reason, then chunk numbers of ≤2,000 groups per owner, then `mass_send_chunks`); finishing a chunk
//! marks its groups in one transaction. Also what the console shows of any send: the recipients with their
//! states, the tallies per sender, and an audience's size before it is created.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CorpId, CustomerId, MassSendId, TenantId};
use siyu_domain::wecom::mass::{Audience, GROUP_CHUNK, MassRecipient, MassSend};

use super::super::Wecom;
use super::{PlanLimits, texts};
use crate::sql::{Arg, Sql, contains_pattern, dyn_query, dyn_query_as};
use crate::{StoreError, in_write_tx, on_pool};

#[derive(sqlx::FromRow)]
struct RecipientRow {
    customer_id: Option<uuid::Uuid>,
    chat_id: Option<String>,
    name: String,
    sender: Option<String>,
    status: String,
    updated_at: DateTime<Utc>,
}

/// ` AND g.owner_userid IN (…) AND g.name LIKE …` for a group audience.
fn group_filter(sql: &mut Sql, m: &Audience) {
    let Some(groups) = &m.groups else { return };
    if !groups.owners.is_empty() {
        sql.push(" AND g.owner_userid IN (");
        texts(sql, &groups.owners);
    }
    if let Some(name) = groups.name_contains.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        sql.push(" AND g.name LIKE ").bind(Arg::Text(contains_pattern(name))).push(" ESCAPE '\\'");
    }
    if !groups.chat_ids.is_empty() {
        sql.push(" AND g.chat_id IN (");
        texts(sql, &groups.chat_ids);
    }
}

impl Wecom<'_> {
    /// Plans a scheduled group send: one row per live group of the audience (skipped when its owner is no
    /// active staff member, or it received the month's limit of mass messages), chunk numbers, chunks.
    pub async fn plan_group_mass_send(
        &self,
        tenant: TenantId,
        m: &MassSend,
        l: &PlanLimits<'_>,
    ) -> Result<(), StoreError> {
        let t = || Arg::Uuid(tenant.0);
        let mut insert = Sql::new(
            "INSERT INTO mass_send_groups (tenant_id, send_id, chat_id, group_id, name, owner, chunk_no, status, \
             updated_at) SELECT g.tenant_id, ",
        );
        insert.bind(Arg::Uuid(m.id.0)).push(
            ", g.chat_id, g.id, g.name, g.owner_userid, NULL, CASE WHEN s.userid IS NULL THEN 'no_staff' \
             WHEN COALESCE(month.n, 0) >= ",
        );
        insert.bind(Arg::Int(l.days_in_month)).push(" THEN 'capped' ELSE 'planned' END, ").bind(Arg::Time(l.at));
        insert.push(
            " FROM customer_groups g LEFT JOIN wecom_staff s ON s.tenant_id = g.tenant_id \
             AND s.corp_row_id = g.corp_row_id AND s.userid = g.owner_userid AND s.status = 1 \
             LEFT JOIN (SELECT chat_id, COUNT(*) AS n FROM mass_send_groups WHERE tenant_id = ",
        );
        insert.bind(t()).push(" AND status IN ('sent', 'delivered') AND updated_at >= ").bind(Arg::Time(l.month_start));
        insert.push(" GROUP BY chat_id) month ON month.chat_id = g.chat_id WHERE g.tenant_id = ").bind(t());
        insert.push(" AND g.corp_row_id = ").bind(Arg::Uuid(m.corp.0)).push(" AND g.dismissed_at IS NULL");
        group_filter(&mut insert, &m.audience);
        insert.push(" ON CONFLICT (tenant_id, send_id, chat_id) DO NOTHING");
        let number = Sql::with(
            &format!(
                "UPDATE mass_send_groups SET chunk_no = r.chunk_no FROM (SELECT chat_id, \
                 (DENSE_RANK() OVER (ORDER BY owner) - 1) * 100000 \
                 + (ROW_NUMBER() OVER (PARTITION BY owner ORDER BY chat_id) - 1) / {GROUP_CHUNK} AS chunk_no \
                 FROM mass_send_groups WHERE tenant_id = $1 AND send_id = $2 AND status = 'planned') r \
                 WHERE mass_send_groups.tenant_id = $1 AND mass_send_groups.send_id = $2 \
                 AND mass_send_groups.chat_id = r.chat_id"
            ),
            vec![t(), Arg::Uuid(m.id.0)],
        );
        let chunks = Sql::with(
            "INSERT INTO mass_send_chunks (tenant_id, send_id, chunk_no, sender, size, status) \
             SELECT $1, $2, chunk_no, MIN(owner), COUNT(*), 'pending' FROM mass_send_groups \
             WHERE tenant_id = $1 AND send_id = $2 AND status = 'planned' GROUP BY chunk_no",
            vec![t(), Arg::Uuid(m.id.0)],
        );
        let mark = Sql::with(
            "UPDATE mass_sends SET status = 'planned', planned_at = $3 WHERE tenant_id = $1 AND id = $2 \
             AND status = 'scheduled'",
            vec![t(), Arg::Uuid(m.id.0), Arg::Time(l.at)],
        );
        in_write_tx!(self.0, tx => {
            if dyn_query!(mark).execute(&mut *tx).await?.rows_affected() == 1 {
                dyn_query!(insert).execute(&mut *tx).await?;
                dyn_query!(number).execute(&mut *tx).await?;
                dyn_query!(chunks).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Groups per status.
    pub async fn mass_group_counts(&self, tenant: TenantId, id: MassSendId) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_pool!(self.0, p => sqlx::query_as(
            "SELECT status, COUNT(*) FROM mass_send_groups WHERE tenant_id = $1 AND send_id = $2 GROUP BY status")
            .bind(tenant.0).bind(id.0).fetch_all(p).await)?)
    }

    /// The chat_ids of a chunk, sorted.
    pub async fn group_chunk_recipients(
        &self,
        tenant: TenantId,
        id: MassSendId,
        chunk: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT chat_id FROM mass_send_groups WHERE tenant_id = $1 AND send_id = $2 AND chunk_no = $3 \
             ORDER BY chat_id")
            .bind(tenant.0).bind(id.0).bind(chunk).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// A group chunk is in WeCom as `msgid`: its groups are sent (those in `fail_list` failed), at once.
    pub async fn finish_group_chunk(
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
            sqlx::query("UPDATE mass_send_groups SET status = 'sent', updated_at = $4 WHERE tenant_id = $1 \
                 AND send_id = $2 AND chunk_no = $3 AND status = 'planned'")
                .bind(tenant.0).bind(id.0).bind(chunk).bind(at).execute(&mut *tx).await?;
            for failed in fail_list.chunks(500) {
                let mut sql = Sql::new("UPDATE mass_send_groups SET status = 'failed' WHERE tenant_id = ");
                sql.bind(Arg::Uuid(tenant.0)).push(" AND send_id = ").bind(Arg::Uuid(id.0));
                sql.push(" AND chunk_no = ").bind(Arg::Int(chunk)).push(" AND chat_id IN (");
                texts(&mut sql, failed);
                dyn_query!(sql).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Per-group results pulled back from WeCom (`delivered`, `not_friend` for a group gone, `capped_by_wecom`).
    pub async fn set_group_mass_results(
        &self,
        tenant: TenantId,
        id: MassSendId,
        results: &[(String, &'static str)],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        in_write_tx!(self.0, tx => {
            for (chat_id, status) in results {
                sqlx::query("UPDATE mass_send_groups SET status = $4, updated_at = $5 WHERE tenant_id = $1 \
                     AND send_id = $2 AND chat_id = $3 AND status IN ('sent', 'delivered')")
                    .bind(tenant.0).bind(id.0).bind(chat_id).bind(*status).bind(at)
                    .execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// The recipients of a send (customers or groups), by sender then name, `status` only if given.
    pub async fn mass_recipients(
        &self,
        tenant: TenantId,
        id: MassSendId,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<MassRecipient>, StoreError> {
        let mut sql = Sql::new(
            "SELECT r.customer_id, NULL AS chat_id, c.name, r.sender, r.status, r.updated_at FROM \
             mass_send_recipients r JOIN customers c ON c.tenant_id = r.tenant_id AND c.id = r.customer_id \
             WHERE r.tenant_id = ",
        );
        sql.bind(Arg::Uuid(tenant.0)).push(" AND r.send_id = ").bind(Arg::Uuid(id.0));
        if let Some(s) = status {
            sql.push(" AND r.status = ").bind(Arg::Text(s.into()));
        }
        sql.push(
            " UNION ALL SELECT NULL, g.chat_id, g.name, g.owner, g.status, g.updated_at FROM mass_send_groups g \
             WHERE g.tenant_id = ",
        )
        .bind(Arg::Uuid(tenant.0))
        .push(" AND g.send_id = ")
        .bind(Arg::Uuid(id.0));
        if let Some(s) = status {
            sql.push(" AND g.status = ").bind(Arg::Text(s.into()));
        }
        sql.push(" ORDER BY 4, 3").limit(limit);
        let rows: Vec<RecipientRow> = on_pool!(self.0, p => dyn_query_as!(RecipientRow, sql).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| MassRecipient {
                customer_id: r.customer_id.map(CustomerId),
                chat_id: r.chat_id,
                name: r.name,
                sender: r.sender,
                status: r.status,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// Recipients per (sender, status) of a send.
    pub async fn mass_sender_tallies(
        &self,
        tenant: TenantId,
        id: MassSendId,
    ) -> Result<Vec<(Option<String>, String, i64)>, StoreError> {
        Ok(on_pool!(self.0, p => sqlx::query_as(
            "SELECT sender, status, COUNT(*) FROM mass_send_recipients WHERE tenant_id = $1 AND send_id = $2 \
             GROUP BY sender, status UNION ALL SELECT owner, status, COUNT(*) FROM mass_send_groups \
             WHERE tenant_id = $1 AND send_id = $2 GROUP BY owner, status ORDER BY 1, 2")
            .bind(tenant.0).bind(id.0).fetch_all(p).await)?)
    }

    /// How many an audience holds before a send is created: customers (and of them, those with a WeCom
    /// staff member of the corp), or live groups (both figures the same).
    pub async fn mass_audience_size(
        &self,
        tenant: TenantId,
        corp: CorpId,
        a: &Audience,
    ) -> Result<(i64, i64), StoreError> {
        let t = || Arg::Uuid(tenant.0);
        if a.groups.is_some() {
            let mut sql = Sql::new("SELECT COUNT(*), COUNT(*) FROM customer_groups g WHERE g.tenant_id = ");
            sql.bind(t()).push(" AND g.corp_row_id = ").bind(Arg::Uuid(corp.0)).push(" AND g.dismissed_at IS NULL");
            group_filter(&mut sql, a);
            return Ok(on_pool!(self.0, p => dyn_query_as!((i64, i64), sql).fetch_one(p).await)?);
        }
        let mut sql = Sql::new(
            "SELECT COUNT(*), COUNT(snd.customer_id) FROM customers c LEFT JOIN (SELECT DISTINCT f.customer_id \
             FROM follows f JOIN wecom_staff s ON s.tenant_id = f.tenant_id AND s.user_id = f.user_id \
             WHERE f.tenant_id = ",
        );
        sql.bind(t()).push(" AND s.corp_row_id = ").bind(Arg::Uuid(corp.0)).push(" AND s.status = 1");
        if !a.staff.is_empty() {
            sql.push(" AND s.userid IN (");
            texts(&mut sql, &a.staff);
        }
        sql.push(") snd ON snd.customer_id = c.id WHERE c.tenant_id = ").bind(t()).push(" AND c.erased_at IS NULL");
        if let Some(segment) = a.segment {
            sql.push(" AND c.id IN (SELECT customer_id FROM segment_members WHERE tenant_id = ").bind(t());
            sql.push(" AND segment_id = ").bind(Arg::Uuid(segment.0)).push(")");
        }
        if !a.tag_ids.is_empty() {
            sql.push(" AND c.id IN (SELECT customer_id FROM customer_tags WHERE tenant_id = ").bind(t());
            sql.push(" AND tag_id IN (");
            for (i, tag) in a.tag_ids.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Arg::Uuid(tag.0));
            }
            sql.push("))");
        }
        if !a.staff.is_empty() {
            sql.push(" AND snd.customer_id IS NOT NULL");
        }
        Ok(on_pool!(self.0, p => dyn_query_as!((i64, i64), sql).fetch_one(p).await)?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_filter_matches_its_wildcards_literally() {
        assert_eq!(crate::sql::contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
