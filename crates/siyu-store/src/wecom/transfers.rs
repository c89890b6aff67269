//! Customer inheritance (`transfer_batches`, `transfer_items`, `transfer_ledger`): a batch and its items are
//! written in one transaction; items are claimed (`sending`) a chunk at a time before their WeCom call and
//! updated with WeCom's answer in one transaction that also writes the ledger of accepted on-job transfers
//! (the 2-per-90-days guard reads it).

use chrono::{DateTime, Utc};
use siyu_domain::id::{CorpId, CustomerId, TenantId, TransferId, UserId};
use siyu_domain::wecom::transfer::{
    BatchStatus, ItemKind, TransferBatch, TransferCounts, TransferItem, TransferKind, item,
};
use uuid::Uuid;

mod lookups;

use super::Wecom;
use crate::sql::{Arg, Sql, dyn_query, dyn_query_as};
use crate::{StoreError, exec, in_write_tx, on_pool};

/// An item of a new batch.
#[derive(Debug, Clone)]
pub struct NewTransferItem {
    pub kind: ItemKind,
    pub target: String,
    pub customer_id: Option<CustomerId>,
    /// `pending`, or `limited` / `skipped` when the preview blocked it.
    pub status: &'static str,
    pub reason: Option<String>,
}

/// WeCom's answer about one item.
#[derive(Debug, Clone)]
pub struct ItemUpdate {
    pub target: String,
    pub status: &'static str,
    pub wecom_status: Option<i64>,
    pub errcode: Option<i64>,
    pub reason: Option<String>,
    pub takeover_at: Option<DateTime<Utc>>,
}

/// An open customer item found for a callback: its batch and who hands over to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    pub batch: TransferId,
    pub kind: TransferKind,
    pub handover_userid: String,
    pub takeover_userid: String,
}

#[derive(sqlx::FromRow)]
struct BatchRow {
    id: Uuid,
    corp_row_id: Uuid,
    kind: String,
    handover_userid: String,
    takeover_userid: String,
    message: Option<String>,
    status: String,
    error: Option<String>,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl From<BatchRow> for TransferBatch {
    fn from(r: BatchRow) -> Self {
        TransferBatch {
            id: TransferId(r.id),
            corp: CorpId(r.corp_row_id),
            kind: TransferKind::parse(&r.kind).unwrap_or(TransferKind::OnJob),
            handover_userid: r.handover_userid,
            takeover_userid: r.takeover_userid,
            message: r.message,
            status: BatchStatus::parse(&r.status).unwrap_or(BatchStatus::Failed),
            error: r.error,
            created_by: r.created_by.map(UserId),
            created_at: r.created_at,
            finished_at: r.finished_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    item_kind: String,
    target: String,
    customer_id: Option<Uuid>,
    status: String,
    wecom_status: Option<i64>,
    errcode: Option<i64>,
    reason: Option<String>,
    takeover_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, corp_row_id, kind, handover_userid, takeover_userid, message, status, error, created_by, \
     created_at, finished_at";
const OPEN: &str = "('pending', 'sending', 'waiting')";

impl Wecom<'_> {
    /// Writes a batch with its items; with a `client_key` used before, nothing is written and the earlier
    /// batch's id is returned.
    pub async fn insert_transfer(
        &self,
        tenant: TenantId,
        b: &TransferBatch,
        client_key: Option<&str>,
        items: &[NewTransferItem],
    ) -> Result<TransferId, StoreError> {
        let id = in_write_tx!(self.0, tx => {
            let earlier: Option<(Uuid,)> = match client_key {
                Some(key) => sqlx::query_as("SELECT id FROM transfer_batches WHERE tenant_id = $1 AND client_key = $2")
                    .bind(tenant.0).bind(key).fetch_optional(&mut *tx).await?,
                None => None,
            };
            if let Some((id,)) = earlier {
                TransferId(id)
            } else {
                sqlx::query("INSERT INTO transfer_batches (tenant_id, id, corp_row_id, kind, handover_userid, \
                     takeover_userid, message, status, client_key, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
                    .bind(tenant.0).bind(b.id.0).bind(b.corp.0).bind(b.kind.as_str()).bind(&b.handover_userid)
                    .bind(&b.takeover_userid).bind(&b.message).bind(b.status.as_str()).bind(client_key)
                    .bind(b.created_by.map(|u| u.0)).bind(b.created_at).execute(&mut *tx).await?;
                for rows in items.chunks(100) {
                    let mut sql = Sql::new("INSERT INTO transfer_items (tenant_id, batch_id, item_kind, target, \
                         corp_row_id, customer_id, status, reason, updated_at) VALUES ");
                    sql.values(rows.iter().map(|i| vec![
                        Arg::Uuid(tenant.0), Arg::Uuid(b.id.0), Arg::Text(i.kind.as_str().into()),
                        Arg::Text(i.target.clone()), Arg::Uuid(b.corp.0), Arg::OptUuid(i.customer_id.map(|c| c.0)),
                        Arg::Text(i.status.into()), Arg::OptText(i.reason.clone()), Arg::Time(b.created_at),
                    ]));
                    sql.push(" ON CONFLICT (tenant_id, batch_id, item_kind, target) DO NOTHING");
                    dyn_query!(sql).execute(&mut *tx).await?;
                }
                b.id
            }
        });
        Ok(id)
    }

    /// Remembers the job working on a batch.
    pub async fn set_transfer_job(
        &self,
        tenant: TenantId,
        id: TransferId,
        job: siyu_domain::id::JobId,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query("UPDATE transfer_batches SET job_id = $3 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(job.0).execute(p).await)?;
        Ok(())
    }

    pub async fn transfer(&self, tenant: TenantId, id: TransferId) -> Result<TransferBatch, StoreError> {
        let row: Option<BatchRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM transfer_batches WHERE tenant_id = $1 AND id = $2")))
            .bind(tenant.0).bind(id.0).fetch_optional(p).await)?;
        row.map(Into::into).ok_or(StoreError::NotFound)
    }

    /// The newest batches first.
    pub async fn transfers(&self, tenant: TenantId, limit: i64) -> Result<Vec<TransferBatch>, StoreError> {
        let rows: Vec<BatchRow> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM transfer_batches WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")))
            .bind(tenant.0).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Moves a batch to `status` (finished ones get their time).
    pub async fn set_transfer_status(
        &self,
        tenant: TenantId,
        id: TransferId,
        status: BatchStatus,
        error: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let finished = matches!(status, BatchStatus::Done | BatchStatus::Failed).then_some(at);
        exec!(self.0, p => sqlx::query(
            "UPDATE transfer_batches SET status = $3, error = $4, finished_at = $5 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0).bind(id.0).bind(status.as_str()).bind(error).bind(finished).execute(p).await)?;
        Ok(())
    }

    pub async fn transfer_counts(&self, tenant: TenantId, id: TransferId) -> Result<TransferCounts, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT status, COUNT(*) FROM transfer_items WHERE tenant_id = $1 AND batch_id = $2 GROUP BY status")
            .bind(tenant.0).bind(id.0).fetch_all(p).await)?;
        let mut counts = TransferCounts::default();
        for (status, n) in rows {
            counts.add(&status, n);
        }
        Ok(counts)
    }

    /// A batch's items, customers first, in target order.
    pub async fn transfer_items(&self, tenant: TenantId, id: TransferId) -> Result<Vec<TransferItem>, StoreError> {
        let rows: Vec<ItemRow> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT item_kind, target, customer_id, status, wecom_status, errcode, reason, takeover_at, updated_at \
             FROM transfer_items WHERE tenant_id = $1 AND batch_id = $2 ORDER BY item_kind, target")
            .bind(tenant.0).bind(id.0).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| TransferItem {
                kind: ItemKind::parse(&r.item_kind).unwrap_or(ItemKind::Customer),
                target: r.target,
                customer_id: r.customer_id.map(CustomerId),
                status: r.status,
                wecom_status: r.wecom_status,
                errcode: r.errcode,
                reason: r.reason,
                takeover_at: r.takeover_at,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// The targets of a batch's items of `kind` in `status`.
    pub async fn transfer_targets(
        &self,
        tenant: TenantId,
        id: TransferId,
        kind: ItemKind,
        status: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT target FROM transfer_items WHERE tenant_id = $1 AND batch_id = $2 AND item_kind = $3 \
             AND status = $4 ORDER BY target")
            .bind(tenant.0).bind(id.0).bind(kind.as_str()).bind(status).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Claims up to `limit` pending items of `kind` (`sending`) for one WeCom call; their targets.
    pub async fn claim_transfer_items(
        &self,
        tenant: TenantId,
        id: TransferId,
        kind: ItemKind,
        limit: i64,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let claimed = in_write_tx!(self.0, tx => {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT target FROM transfer_items WHERE tenant_id = $1 AND batch_id = $2 AND item_kind = $3 \
                 AND status = 'pending' ORDER BY target LIMIT $4")
                .bind(tenant.0).bind(id.0).bind(kind.as_str()).bind(limit).fetch_all(&mut *tx).await?;
            let targets: Vec<String> = rows.into_iter().map(|r| r.0).collect();
            let mut claimed = Vec::new();
            if !targets.is_empty() {
                // Only the rows this statement moved are ours: a concurrent claim (the job and a refresh from
                // the console) may have taken some of the ones read above.
                let mut sql = Sql::new("UPDATE transfer_items SET status = 'sending', sent_at = ");
                sql.bind(Arg::Time(at)).push(", updated_at = ").bind(Arg::Time(at));
                item_filter(&mut sql, tenant, id, kind, &targets);
                sql.push(" AND status = 'pending' RETURNING target");
                let rows: Vec<(String,)> = dyn_query_as!((String,), sql).fetch_all(&mut *tx).await?;
                claimed = rows.into_iter().map(|r| r.0).collect();
                claimed.sort();
            }
            claimed
        });
        Ok(claimed)
    }

    /// Puts claimed items back (their call never reached WeCom).
    pub async fn release_transfer_items(
        &self,
        tenant: TenantId,
        id: TransferId,
        kind: ItemKind,
        targets: &[String],
    ) -> Result<(), StoreError> {
        if targets.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new("UPDATE transfer_items SET status = 'pending', sent_at = NULL");
        item_filter(&mut sql, tenant, id, kind, targets);
        sql.push(" AND status = 'sending'");
        exec!(self.0, p => dyn_query!(sql).execute(p).await)?;
        Ok(())
    }

    /// Applies WeCom's answers to open items in one transaction; on-job customers WeCom accepted go into the
    /// ledger (`ledger` = the corp's batch handover and takeover). Returns the targets that reached a final
    /// state with this call (each does so once).
    pub async fn update_transfer_items(
        &self,
        tenant: TenantId,
        b: &TransferBatch,
        kind: ItemKind,
        updates: &[ItemUpdate],
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let ledger = b.kind == TransferKind::OnJob && kind == ItemKind::Customer;
        let finished = in_write_tx!(self.0, tx => {
            let mut finished = Vec::new();
            for u in updates {
                let n = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE transfer_items SET status = $5, wecom_status = COALESCE($6, wecom_status), errcode = $7, \
                     reason = COALESCE($8, reason), takeover_at = COALESCE($9, takeover_at), updated_at = $10 \
                     WHERE tenant_id = $1 AND batch_id = $2 AND item_kind = $3 AND target = $4 AND status IN {OPEN}")))
                    .bind(tenant.0).bind(b.id.0).bind(kind.as_str()).bind(&u.target).bind(u.status)
                    .bind(u.wecom_status).bind(u.errcode).bind(&u.reason).bind(u.takeover_at).bind(at)
                    .execute(&mut *tx).await?.rows_affected();
                if n == 1 && item::is_final(u.status) {
                    finished.push(u.target.clone());
                }
                if n == 1 && ledger && matches!(u.status, item::WAITING | item::SUCCESS) {
                    sqlx::query("INSERT INTO transfer_ledger (tenant_id, corp_row_id, external_userid, batch_id, \
                         handover_userid, takeover_userid, accepted_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (tenant_id, corp_row_id, external_userid, batch_id) DO NOTHING")
                        .bind(tenant.0).bind(b.corp.0).bind(&u.target).bind(b.id.0).bind(&b.handover_userid)
                        .bind(&b.takeover_userid).bind(at).execute(&mut *tx).await?;
                }
            }
            finished
        });
        Ok(finished)
    }

    /// The newest open customer item of `external_userid` whose takeover (or handover) is `userid`.
    pub async fn open_transfer_item(
        &self,
        tenant: TenantId,
        corp: CorpId,
        external_userid: &str,
        takeover: Option<&str>,
        handover: Option<&str>,
    ) -> Result<Option<OpenItem>, StoreError> {
        let row: Option<(Uuid, String, String, String)> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(
            format!("SELECT b.id, b.kind, b.handover_userid, b.takeover_userid FROM transfer_items i \
             JOIN transfer_batches b ON b.tenant_id = i.tenant_id AND b.id = i.batch_id \
             WHERE i.tenant_id = $1 AND i.corp_row_id = $2 AND i.item_kind = 'customer' AND i.target = $3 \
             AND i.status IN {OPEN} AND ($4 = '' OR b.takeover_userid = $4) AND ($5 = '' OR b.handover_userid = $5) \
             ORDER BY b.created_at DESC LIMIT 1")))
            .bind(tenant.0).bind(corp.0).bind(external_userid).bind(takeover.unwrap_or_default())
            .bind(handover.unwrap_or_default()).fetch_optional(p).await)?;
        Ok(row.map(|(id, kind, handover_userid, takeover_userid)| OpenItem {
            batch: TransferId(id),
            kind: TransferKind::parse(&kind).unwrap_or(TransferKind::OnJob),
            handover_userid,
            takeover_userid,
        }))
    }
}

/// ` WHERE` the batch's items of `kind` among `targets`.
fn item_filter(sql: &mut Sql, tenant: TenantId, id: TransferId, kind: ItemKind, targets: &[String]) {
    sql.push(" WHERE tenant_id = ").bind(Arg::Uuid(tenant.0)).push(" AND batch_id = ").bind(Arg::Uuid(id.0));
    sql.push(" AND item_kind = ").bind(Arg::Text(kind.as_str().into())).push(" AND target IN (");
    texts(sql, targets);
}

/// `$a, $b, …)` for a list of texts.
pub(super) fn texts(sql: &mut Sql, values: &[String]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Arg::Text(v.clone()));
    }
    sql.push(")");
}
