//! Settling a sent chunk: its recipients still `planned` become `sent` and go into the journey outbox as
//! sent on the `wecom` channel (so frequency caps shared with journeys see them), in one transaction of two
//! set-based statements over the chunk. It is idempotent (only `planned` rows move; the outbox is keyed by
//! `mass:<send>:<external_userid>`), so a crash between marking the chunk sent and settling it is repaired by
//! settling again, which the mass-send job does for every chunk already marked sent. The job settles a chunk
//! while the next chunk's call goes out.
//!
//! Batches of 1,000 per transaction were tried (so that SQLite's other writers wait less): the extra commits
//! made a chunk's settling slower than the 1 s between calls on PostgreSQL (`siyu bench wecom --part mass`
//! reached 0.33 of the quota, against 0.70 for one transaction per chunk, both runs sharing the machine with
//! a CI build), so a chunk is settled at once.

use chrono::{DateTime, Utc};
use siyu_domain::id::{MassSendId, TenantId};
use sqlx::types::Json;

use super::super::Wecom;
use crate::{Backend, StoreError, in_write_tx};

impl Wecom<'_> {
    /// Settles the recipients of a sent chunk; how many moved (0: it was settled already).
    pub async fn settle_chunk(
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
        let outbox = format!(
            "INSERT INTO outbox (tenant_id, id, dedupe_key, journey_id, customer_id, node, channel, action, status, \
             attempts, next_attempt_at, created_at, sent_at) SELECT tenant_id, {new_id}, 'mass:' || $4 || ':' || \
             external_userid, send_id, customer_id, 'mass', 'wecom', $5, 'sent', 1, $3, $3, $3 FROM mass_send_recipients \
             WHERE tenant_id = $1 AND send_id = $2 AND chunk_no = $6 AND status = 'sent' \
             ON CONFLICT (tenant_id, dedupe_key) DO NOTHING"
        );
        let action = serde_json::json!({"kind": "wecom_mass", "send": id, "chunk": chunk, "msgid": msgid});
        let moved = in_write_tx!(self.0, tx => {
            let moved = sqlx::query("UPDATE mass_send_recipients SET status = 'sent', updated_at = $4 WHERE tenant_id = $1 \
                 AND send_id = $2 AND chunk_no = $3 AND status = 'planned'")
                .bind(tenant.0).bind(id.0).bind(chunk).bind(at).execute(&mut *tx).await?.rows_affected();
            if moved > 0 {
                sqlx::query(sqlx::AssertSqlSafe(outbox))
                    .bind(tenant.0).bind(id.0).bind(at).bind(id.0.to_string()).bind(Json(&action)).bind(chunk)
                    .execute(&mut *tx).await?;
            }
            moved
        });
        Ok(moved)
    }
}
