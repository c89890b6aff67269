//! Customer moments (`moments`, `moment_senders`, `moment_visible`, `moment_interactions`): the task with its
//! status moves (each a compare-and-set, so two workers never both call WeCom), and the results pulled back
//! in one transaction per pull. A comment or like is unique on WeCom's own fields; only a new one writes the
//! customer's timeline entry, so pulling twice writes it once.

use chrono::{DateTime, TimeZone, Utc};
use siyu_domain::id::{CorpId, CustomerId, MomentId, TenantId, TimelineId, UserId};
use siyu_domain::timeline::TimelineEntry;
use siyu_domain::wecom::moment::{
    Moment, MomentContent, MomentInteraction, MomentInvalid, MomentSender, MomentStatus, MomentVisibility, kinds,
};
use sqlx::types::Json;
use uuid::Uuid;

use super::Wecom;
use crate::sql::{Arg, Sql, dyn_query};
use crate::statements::insert_timeline;
use crate::{StoreError, exec, in_write_tx, on_pool};

/// A comment or like as WeCom reports it.
#[derive(Debug, Clone)]
pub struct NewInteraction {
    /// The staff member whose post it is on.
    pub userid: String,
    pub like: bool,
    pub external_userid: String,
    pub staff_userid: String,
    pub create_time: i64,
}

#[derive(sqlx::FromRow)]
struct MomentRow {
    id: Uuid,
    corp_row_id: Uuid,
    name: String,
    content: Json<MomentContent>,
    visibility: Json<MomentVisibility>,
    scheduled_at: DateTime<Utc>,
    status: String,
    moment_id: Option<String>,
    invalid: Option<Json<MomentInvalid>>,
    error: Option<String>,
    created_at: DateTime<Utc>,
    submitted_at: Option<DateTime<Utc>>,
    published_at: Option<DateTime<Utc>>,
    results_at: Option<DateTime<Utc>>,
}

impl From<MomentRow> for Moment {
    fn from(r: MomentRow) -> Self {
        Moment {
            id: MomentId(r.id),
            corp: CorpId(r.corp_row_id),
            name: r.name,
            content: r.content.0,
            visibility: r.visibility.0,
            scheduled_at: r.scheduled_at,
            status: MomentStatus::parse(&r.status).unwrap_or(MomentStatus::Failed),
            moment_id: r.moment_id,
            invalid: r.invalid.map(|j| j.0),
            error: r.error,
            created_at: r.created_at,
            submitted_at: r.submitted_at,
            published_at: r.published_at,
            results_at: r.results_at,
        }
    }
}

const COLUMNS: &str = "id, corp_row_id, name, content, visibility, scheduled_at, status, moment_id, invalid, error, \
     created_at, submitted_at, published_at, results_at";

impl Wecom<'_> {
    pub async fn insert_moment(&self, tenant: TenantId, m: &Moment, by: Option<UserId>) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO moments (tenant_id, id, corp_row_id, name, content, visibility, scheduled_at, status, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(tenant.0).bind(m.id.0).bind(m.corp.0).bind(&m.name).bind(Json(&m.content))
            .bind(Json(&m.visibility)).bind(m.scheduled_at).bind(m.status.as_str()).bind(by.map(|u| u.0))
            .bind(m.created_at).execute(p).await)?;
        Ok(())
    }

    pub async fn moment(&self, tenant: TenantId, id: MomentId) -> Result<Moment, StoreError> {
        let row: Option<MomentRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM moments WHERE tenant_id = $1 AND id = $2")))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    pub async fn moments(&self, tenant: TenantId, limit: i64) -> Result<Vec<Moment>, StoreError> {
        let rows: Vec<MomentRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM moments WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT $2")))
            .bind(tenant.0).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// WeCom's moment ids of a corp's moments (those a lost submit must not be mistaken for).
    pub async fn known_moment_ids(&self, tenant: TenantId, corp: CorpId) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT moment_id FROM moments WHERE tenant_id = $1 AND corp_row_id = $2 AND moment_id IS NOT NULL")
            .bind(tenant.0).bind(corp.0).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Moves a moment to `to` if it is in one of `from`, setting the given columns; `false` if it was not.
    /// `submitting` stamps `submitted_at`, `published` `published_at`.
    pub async fn move_moment(
        &self,
        tenant: TenantId,
        id: MomentId,
        from: &[MomentStatus],
        to: MomentStatus,
        set: MomentSet<'_>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new("UPDATE moments SET status = ");
        sql.bind(Arg::Text(to.as_str().into()));
        match to {
            MomentStatus::Submitting => sql.push(", submitted_at = ").bind(Arg::Time(at)),
            MomentStatus::Published => sql.push(", published_at = ").bind(Arg::Time(at)),
            _ => &mut sql,
        };
        if let Some(jobid) = set.jobid {
            sql.push(", wecom_jobid = ").bind(Arg::Text(jobid.into()));
        }
        if let Some(moment_id) = set.moment_id {
            sql.push(", moment_id = ").bind(Arg::Text(moment_id.into()));
        }
        if let Some(invalid) = set.invalid {
            sql.push(", invalid = ").bind(Arg::Json(serde_json::to_value(invalid).unwrap_or_default()));
        }
        if let Some(error) = set.error {
            sql.push(", error = ").bind(Arg::Text(error.into()));
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
        Ok(exec!(self.0, p => dyn_query!(sql).execute(p).await)? == 1)
    }

    /// WeCom's job id of a moment being created.
    pub async fn moment_jobid(&self, tenant: TenantId, id: MomentId) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT wecom_jobid FROM moments WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        Ok(row.and_then(|r| r.0))
    }

    /// Stores one pull of a moment's results: each staff member's publish status, the customers it reached,
    /// and comments and likes (new ones on the customer's timeline). Returns how many interactions were new.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_moment_results(
        &self,
        tenant: TenantId,
        m: &Moment,
        corp_id: &str,
        senders: &[(String, i64)],
        visible: &[(String, String)],
        interactions: &[NewInteraction],
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let customer_of = "SELECT i.customer_id FROM identities i JOIN customers c ON c.tenant_id = i.tenant_id \
             AND c.id = i.customer_id WHERE i.tenant_id = $1 AND i.kind = 'external_userid' AND i.namespace = $2 \
             AND i.lookup = $3 AND c.erased_at IS NULL";
        let mut new = 0;
        in_write_tx!(self.0, tx => {
            for (userid, status) in senders {
                sqlx::query("INSERT INTO moment_senders (tenant_id, moment_row_id, userid, publish_status, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, moment_row_id, userid) \
                     DO UPDATE SET publish_status = excluded.publish_status, updated_at = excluded.updated_at")
                    .bind(tenant.0).bind(m.id.0).bind(userid).bind(*status).bind(at).execute(&mut *tx).await?;
            }
            for (userid, ext) in visible {
                let customer: Option<(Uuid,)> = sqlx::query_as(customer_of)
                    .bind(tenant.0).bind(corp_id).bind(ext).fetch_optional(&mut *tx).await?;
                sqlx::query("INSERT INTO moment_visible (tenant_id, moment_row_id, userid, external_userid, customer_id) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, moment_row_id, userid, external_userid) \
                     DO NOTHING")
                    .bind(tenant.0).bind(m.id.0).bind(userid).bind(ext).bind(customer.map(|c| c.0))
                    .execute(&mut *tx).await?;
            }
            for i in interactions {
                let customer: Option<(Uuid,)> = if i.external_userid.is_empty() {
                    None
                } else {
                    sqlx::query_as(customer_of).bind(tenant.0).bind(corp_id).bind(&i.external_userid)
                        .fetch_optional(&mut *tx).await?
                };
                let kind = if i.like { "like" } else { "comment" };
                let inserted = sqlx::query("INSERT INTO moment_interactions (tenant_id, moment_row_id, userid, kind, \
                     external_userid, staff_userid, create_time, customer_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (tenant_id, moment_row_id, userid, kind, external_userid, staff_userid, create_time) \
                     DO NOTHING")
                    .bind(tenant.0).bind(m.id.0).bind(&i.userid).bind(kind).bind(&i.external_userid)
                    .bind(&i.staff_userid).bind(i.create_time).bind(customer.map(|c| c.0))
                    .execute(&mut *tx).await?.rows_affected();
                if inserted == 1 {
                    new += 1;
                    if let Some((customer,)) = customer {
                        let entry = TimelineEntry {
                            id: TimelineId::new(),
                            customer_id: CustomerId(customer),
                            occurred_at: Utc.timestamp_opt(i.create_time, 0).single().unwrap_or(at),
                            source: "wecom".into(),
                            kind: if i.like { kinds::MOMENT_LIKED } else { kinds::MOMENT_COMMENTED }.into(),
                            actor_id: None,
                            payload: serde_json::json!({"moment": m.id, "name": m.name, "userid": i.userid,
                                "moment_id": m.moment_id}),
                        };
                        insert_timeline!(tenant, &entry).execute(&mut *tx).await?;
                    }
                }
            }
            sqlx::query("UPDATE moments SET results_at = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0).bind(m.id.0).bind(at).execute(&mut *tx).await?;
        });
        Ok(new)
    }

    /// Each posting staff member with what their post reached.
    pub async fn moment_senders(&self, tenant: TenantId, id: MomentId) -> Result<Vec<MomentSender>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT s.userid, s.publish_status, \
             (SELECT COUNT(*) FROM moment_visible v WHERE v.tenant_id = s.tenant_id AND v.moment_row_id = s.moment_row_id \
              AND v.userid = s.userid), \
             (SELECT COUNT(*) FROM moment_interactions i WHERE i.tenant_id = s.tenant_id \
              AND i.moment_row_id = s.moment_row_id AND i.userid = s.userid AND i.kind = 'comment'), \
             (SELECT COUNT(*) FROM moment_interactions i WHERE i.tenant_id = s.tenant_id \
              AND i.moment_row_id = s.moment_row_id AND i.userid = s.userid AND i.kind = 'like') \
             FROM moment_senders s WHERE s.tenant_id = $1 AND s.moment_row_id = $2 ORDER BY s.userid")
            .bind(tenant.0).bind(id.0).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(userid, status, visible, comments, likes)| MomentSender {
                userid,
                published: status == 1,
                visible,
                comments,
                likes,
            })
            .collect())
    }

    /// Comments and likes, newest first.
    pub async fn moment_interactions(
        &self,
        tenant: TenantId,
        id: MomentId,
        limit: i64,
    ) -> Result<Vec<MomentInteraction>, StoreError> {
        type Row = (String, String, String, String, i64, Option<Uuid>);
        let rows: Vec<Row> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT userid, kind, external_userid, staff_userid, create_time, customer_id FROM moment_interactions \
             WHERE tenant_id = $1 AND moment_row_id = $2 ORDER BY create_time DESC LIMIT $3")
            .bind(tenant.0).bind(id.0).bind(limit).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(userid, kind, external_userid, staff_userid, t, customer)| MomentInteraction {
                userid,
                kind,
                external_userid,
                staff_userid,
                customer_id: customer.map(CustomerId),
                at: Utc.timestamp_opt(t, 0).single().unwrap_or_default(),
            })
            .collect())
    }
}

/// The columns a moment's status move sets besides its status.
#[derive(Debug, Clone, Copy, Default)]
pub struct MomentSet<'a> {
    pub jobid: Option<&'a str>,
    pub moment_id: Option<&'a str>,
    pub invalid: Option<&'a MomentInvalid>,
    pub error: Option<&'a str>,
}
