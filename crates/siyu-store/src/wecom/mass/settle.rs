//! Settling a sent chunk: its recipients still `planned` become `sent` and go into the journey outbox as
//! sent on the `wecom` channel (so frequency caps shared with journeys see them), a batch per short
//! transaction. Each batch is idempotent (only `planned` rows move; the outbox is keyed by
//! `mass:<send>:<external_userid>`), so a crash between batches is repaired by settling again, which the
//! mass-send job does for every chunk already marked sent.

use chrono::{DateTime, Utc};
use siyu_domain::id::{MassSendId, TenantId};
use uuid::Uuid;

use super::super::Wecom;
use crate::sql::{Arg, Sql, dyn_query, dyn_query_as};
use crate::{Backend, StoreError, in_write_tx};

/// Recipients settled per transaction: short enough that another writer (the rate budget, the next chunk's
/// claim) waits a few milliseconds, not the whole chunk.
pub const SETTLE_BATCH: i64 = 1_000;

impl Wecom<'_> {
    /// Settles up to [`SETTLE_BATCH`] recipients of a sent chunk; how many moved (0: the chunk is settled).
    pub async fn settle_chunk_batch(
        &self,
        tenant: TenantId,
        id: MassSendId,
        chunk: i64,
        msgid: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let new_id = match &self.0.backend {
            Backend::Sqlite(_) => "randomblob(16)",
            Backend::Postgres(_) => "gen_random_uuid()",
        };
        let action = serde_json::json!({"kind": "wecom_mass", "send": id, "chunk": chunk, "msgid": msgid});
        let moved = in_write_tx!(self.0, tx => {
            // The batch's ids first, then statements by id within the chunk: PostgreSQL's statistics predate
            // the plan's rows, and a `customer_id IN (SELECT … LIMIT n)` had it nest a loop over the whole chunk,
            // while ids without the chunk number had it scan every recipient of the send.
            let batch: Vec<(Uuid,)> = sqlx::query_as(
                "SELECT customer_id FROM mass_send_recipients WHERE tenant_id = $1 AND send_id = $2 AND chunk_no = $3 \
                 AND status = 'planned' LIMIT $4")
                .bind(tenant.0).bind(id.0).bind(chunk).bind(SETTLE_BATCH)
                .fetch_all(&mut *tx).await?;
            let mut rows: Vec<(Uuid,)> = Vec::new();
            if !batch.is_empty() {
                let mut sql = Sql::new("UPDATE mass_send_recipients SET status = 'sent', updated_at = ");
                sql.bind(Arg::Time(at)).push(" WHERE tenant_id = ").bind(Arg::Uuid(tenant.0));
                sql.push(" AND send_id = ").bind(Arg::Uuid(id.0)).push(" AND chunk_no = ").bind(Arg::Int(chunk));
                sql.push(" AND status = 'planned' AND customer_id IN ");
                sql.bind_list(batch.iter().map(|r| r.0)).push(" RETURNING customer_id");
                rows = dyn_query_as!((Uuid,), sql).fetch_all(&mut *tx).await?;
            }
            if !rows.is_empty() {
                let mut sql = Sql::new(&format!(
                    "INSERT INTO outbox (tenant_id, id, dedupe_key, journey_id, customer_id, node, channel, action, \
                     status, attempts, next_attempt_at, created_at, sent_at) SELECT tenant_id, {new_id}, 'mass:' || "
                ));
                sql.bind(Arg::Text(id.0.to_string())).push(" || ':' || external_userid, send_id, customer_id, 'mass', 'wecom', ");
                sql.bind(Arg::Json(action)).push(", 'sent', 1, ").bind(Arg::Time(at)).push(", ");
                sql.bind(Arg::Time(at)).push(", ").bind(Arg::Time(at));
                sql.push(" FROM mass_send_recipients WHERE tenant_id = ").bind(Arg::Uuid(tenant.0));
                sql.push(" AND send_id = ").bind(Arg::Uuid(id.0)).push(" AND chunk_no = ").bind(Arg::Int(chunk));
                sql.push(" AND customer_id IN ");
                sql.bind_list(rows.iter().map(|r| r.0));
                sql.push(" ON CONFLICT (tenant_id, dedupe_key) DO NOTHING");
                dyn_query!(sql).execute(&mut *tx).await?;
            }
            rows.len() as u64
        });
        Ok(moved)
    }
}
