//! Live edits (reference/journeys.md §6): runs stay pinned to their version; an operator moves them to a
//! newer one node by node (`migrate`), after a dry run (`live_by_node`). Pausing stops new entries;
//! archiving also ends the live runs.

use chrono::{DateTime, Utc};
use siyu_domain::id::{JourneyId, TenantId};

use super::Journeys;
use crate::{StoreError, exec, in_write_tx, on_pool};

impl Journeys<'_> {
    /// Sets `live`, `paused` or `archived`; archiving ends the live runs (`exit_reason` `archived`).
    pub async fn set_status(
        &self,
        tenant: TenantId,
        id: JourneyId,
        status: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        in_write_tx!(self.0, tx => {
            let done = sqlx::query("UPDATE journeys SET status = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 \
                 AND live_version IS NOT NULL")
                .bind(tenant.0).bind(id.0).bind(status).bind(at).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let mut ended = 0;
            if status == "archived" {
                ended = sqlx::query(
                    "UPDATE journey_instances SET status = 'exited', exit_reason = 'archived', next_run_at = NULL, \
                     wait_event = NULL, resume_event = NULL, lease_epoch = lease_epoch + 1, node_entered_at = $3, \
                     updated_at = $3 WHERE tenant_id = $1 AND journey_id = $2 \
                     AND status IN ('running', 'waiting_time', 'waiting_event')")
                    .bind(tenant.0).bind(id.0).bind(at).execute(&mut *tx).await?.rows_affected();
            }
            Ok::<u64, StoreError>(ended)
        })
    }

    /// Live runs per (version, node), for the migration preview and the canvas.
    pub async fn live_by_node(&self, tenant: TenantId, id: JourneyId) -> Result<Vec<(i64, String, i64)>, StoreError> {
        Ok(on_pool!(self.0, p => sqlx::query_as(
            "SELECT version, node, COUNT(*) FROM journey_instances WHERE tenant_id = $1 AND journey_id = $2 \
             AND status IN ('running', 'waiting_time', 'waiting_event') GROUP BY version, node ORDER BY version, node")
            .bind(tenant.0).bind(id.0).fetch_all(p).await)?)
    }

    /// Moves the live runs at `from_node` of version `from` to `to_node` of version `to`. With `restart`
    /// they run again at once at the new node (a wait there schedules from when they reached the old one);
    /// without it they keep their status and timer. A new lease epoch fences out any worker holding them.
    /// Returns how many moved.
    pub async fn migrate(
        &self,
        tenant: TenantId,
        id: JourneyId,
        (from, from_node): (i64, &str),
        (to, to_node): (i64, &str),
        restart: bool,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        const KEEP: &str = "UPDATE journey_instances SET version = $5, node = $6, lease_epoch = lease_epoch + 1, \
             updated_at = $7 WHERE tenant_id = $1 AND journey_id = $2 AND version = $3 AND node = $4 \
             AND status IN ('running', 'waiting_time', 'waiting_event')";
        const RESTART: &str = "UPDATE journey_instances SET version = $5, node = $6, lease_epoch = lease_epoch + 1, \
             updated_at = $7, status = 'running', next_run_at = $7, wait_event = NULL, resume_event = NULL \
             WHERE tenant_id = $1 AND journey_id = $2 AND version = $3 AND node = $4 \
             AND status IN ('running', 'waiting_time', 'waiting_event')";
        let sql = if restart { RESTART } else { KEEP };
        Ok(exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(id.0).bind(from).bind(from_node).bind(to)
            .bind(to_node).bind(at).execute(p).await)?)
    }
}
