//! The per-corp, per-API rate budget (`wecom_rate_buckets`) every siyu node draws on. The store keeps the
//! state; the algorithm (GCRA) is the WeCom client's, passed in as a closure and run inside the row's
//! transaction, so two nodes never spend the same budget.

use siyu_domain::id::TenantId;

use super::Wecom;
use crate::{Backend, StoreError};

/// The stored state of one (corp, path): GCRA arrival times per window (epoch µs) and a 45009 block (epoch ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateState {
    pub tat_minute: i64,
    pub tat_hour: i64,
    pub blocked_until: i64,
}

const READ_SQLITE: &str = "SELECT tat_minute, tat_hour, blocked_until FROM wecom_rate_buckets \
     WHERE tenant_id = $1 AND corp_id = $2 AND path = $3";
const READ_POSTGRES: &str = "SELECT tat_minute, tat_hour, blocked_until FROM wecom_rate_buckets \
     WHERE tenant_id = $1 AND corp_id = $2 AND path = $3 FOR UPDATE";
const SEED: &str = "INSERT INTO wecom_rate_buckets (tenant_id, corp_id, path, tat_minute, tat_hour, blocked_until) \
     VALUES ($1, $2, $3, 0, 0, 0) ON CONFLICT (tenant_id, corp_id, path) DO NOTHING";
const WRITE: &str = "UPDATE wecom_rate_buckets SET tat_minute = $4, tat_hour = $5, blocked_until = $6 \
     WHERE tenant_id = $1 AND corp_id = $2 AND path = $3";

macro_rules! update_bucket {
    ($pool:expr, $begin:expr, $read:expr, $tenant:expr, $corp:expr, $path:expr, $step:expr) => {{
        let mut tx = $begin;
        sqlx::query(SEED).bind($tenant.0).bind($corp).bind($path).execute(&mut *tx).await?;
        let row: (i64, i64, i64) =
            sqlx::query_as($read).bind($tenant.0).bind($corp).bind($path).fetch_one(&mut *tx).await?;
        let state = RateState { tat_minute: row.0, tat_hour: row.1, blocked_until: row.2 };
        let (next, out) = $step(state);
        if let Some(n) = next {
            sqlx::query(WRITE)
                .bind($tenant.0)
                .bind($corp)
                .bind($path)
                .bind(n.tat_minute)
                .bind(n.tat_hour)
                .bind(n.blocked_until)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        out
    }};
}

impl Wecom<'_> {
    /// Runs `step` on the state of (`corp`, `path`) under a row lock; the state it returns (if any) is stored.
    pub async fn update_rate<T>(
        &self,
        tenant: TenantId,
        corp: &str,
        path: &str,
        step: impl FnOnce(RateState) -> (Option<RateState>, T),
    ) -> Result<T, StoreError> {
        let out = match &self.0.backend {
            Backend::Sqlite(pool) => {
                update_bucket!(pool, pool.begin_with("BEGIN IMMEDIATE").await?, READ_SQLITE, tenant, corp, path, step)
            }
            Backend::Postgres(pool) => {
                update_bucket!(pool, pool.begin().await?, READ_POSTGRES, tenant, corp, path, step)
            }
        };
        Ok(out)
    }
}
