//! What staff sent from the sidebar (`sidebar_sends`): one row per (member, send id), written in the same
//! transaction as the use count it adds, so a repeated report of one send counts once.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, ScriptId, TenantId, UserId};

use crate::{StoreError, in_tx};

mod groups;
pub use groups::{GroupCustomer, GroupSent, NewGroupSend};

/// One send the sidebar reports.
#[derive(Debug, Clone)]
pub struct NewSend<'a> {
    pub user: UserId,
    /// The id the page made before sending (letters, digits, `-`).
    pub send_id: &'a str,
    pub customer: CustomerId,
    pub at: DateTime<Utc>,
}

/// The repository of sidebar sends (`store.sidebar()`).
pub struct Sidebar<'a>(&'a crate::Store);

impl crate::Store {
    pub fn sidebar(&self) -> Sidebar<'_> {
        Sidebar(self)
    }
}

const INSERT: &str = "INSERT INTO sidebar_sends (tenant_id, user_id, send_id, kind, object_id, customer_id, sent_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, user_id, send_id) DO NOTHING";
const COUNT_SCRIPT: &str = "UPDATE scripts SET uses = uses + 1, last_used_at = $3 WHERE tenant_id = $1 AND id = $2";

impl Sidebar<'_> {
    /// Records a script send and counts the script's use, unless this send id was recorded already. True
    /// when it was new.
    pub async fn record_script_send(
        &self,
        tenant: TenantId,
        script: ScriptId,
        send: &NewSend<'_>,
    ) -> Result<bool, StoreError> {
        let fresh = in_tx!(self.0, tx => {
            let inserted = sqlx::query(INSERT)
                .bind(tenant.0).bind(send.user.0).bind(send.send_id).bind("script").bind(script.0)
                .bind(send.customer.0).bind(send.at)
                .execute(&mut *tx).await?.rows_affected() == 1;
            if inserted {
                let n = sqlx::query(COUNT_SCRIPT).bind(tenant.0).bind(script.0).bind(send.at)
                    .execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
            }
            inserted
        });
        Ok(fresh)
    }

    /// How many sends a member made to a customer (tests and the panel's counters).
    pub async fn sends_to(&self, tenant: TenantId, user: UserId, customer: CustomerId) -> Result<i64, StoreError> {
        let row: (i64,) = crate::on_pool!(self.0, p => sqlx::query_as(
            "SELECT COUNT(*) FROM sidebar_sends WHERE tenant_id = $1 AND user_id = $2 AND customer_id = $3")
            .bind(tenant.0).bind(user.0).bind(customer.0).fetch_one(p).await)?;
        Ok(row.0)
    }
}
