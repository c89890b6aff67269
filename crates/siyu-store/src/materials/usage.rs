//! The material usage ledger (`material_usage`): sends, opens and conversions, each once per dedupe key,
//! and the statistics computed from it (conversions: customers with an order in the 7 days after their
//! first open of the material, or a conversion recorded by another feature).

use chrono::{DateTime, Utc};
use siyu_domain::id::{MaterialId, TenantId};
use uuid::Uuid;

use crate::{StoreError, exec, on_pool};

/// One ledger entry to write.
#[derive(Debug, Clone)]
pub struct NewUsage {
    pub id: Uuid,
    pub material_id: Uuid,
    pub action: &'static str,
    pub user_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub dedupe_key: String,
    pub at: DateTime<Utc>,
    pub convert_until: DateTime<Utc>,
}

/// Counts of one material, overall (`user_id` None) or for one staff member.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageCounts {
    pub user_id: Option<Uuid>,
    pub sent: i64,
    pub opened: i64,
    pub unique_openers: i64,
    pub conversions: i64,
}

/// The customers who converted: those with a recorded conversion, and those with an order placed from their
/// first open of the material until 7 days after it.
const CONVERTED: &str = "SELECT customer_id FROM material_usage WHERE tenant_id = $1 AND material_id = $2 \
     AND action = 'converted' AND customer_id IS NOT NULL \
     UNION SELECT f.customer_id FROM (SELECT customer_id, MIN(at) AS first_at, MIN(convert_until) AS until_at \
     FROM material_usage WHERE tenant_id = $1 AND material_id = $2 AND action = 'opened' AND customer_id IS NOT NULL \
     GROUP BY customer_id) f WHERE EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id = $1 \
     AND o.customer_id = f.customer_id AND o.placed_at >= f.first_at AND o.placed_at < f.until_at \
     AND o.status <> 'closed')";

const COUNTS: &str = "COALESCE(SUM(CASE WHEN u.action = 'sent' THEN 1 ELSE 0 END), 0) AS sent, \
     COALESCE(SUM(CASE WHEN u.action = 'opened' THEN 1 ELSE 0 END), 0) AS opened, \
     COUNT(DISTINCT CASE WHEN u.action = 'opened' THEN u.customer_id END) AS unique_openers, \
     COUNT(DISTINCT CASE WHEN u.action IN ('opened', 'converted') AND u.customer_id IN (SELECT customer_id FROM conv) \
     THEN u.customer_id END) AS conversions";

pub struct Usage<'a>(&'a crate::Store);

impl crate::Store {
    pub fn material_usage(&self) -> Usage<'_> {
        Usage(self)
    }
}

impl Usage<'_> {
    /// Records an entry; `false` when its dedupe key was recorded before (nothing changes).
    pub async fn record(&self, tenant: TenantId, u: &NewUsage) -> Result<bool, StoreError> {
        let sql = "INSERT INTO material_usage (tenant_id, id, material_id, action, user_id, customer_id, dedupe_key, \
                   at, convert_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                   ON CONFLICT (tenant_id, dedupe_key) DO NOTHING";
        let n = exec!(self.0, p => sqlx::query(sql).bind(tenant.0).bind(u.id).bind(u.material_id).bind(u.action)
            .bind(u.user_id).bind(u.customer_id).bind(&u.dedupe_key).bind(u.at).bind(u.convert_until)
            .execute(p).await)?;
        Ok(n == 1)
    }

    /// The material's totals, then one row per staff member (entries without one under `None`).
    pub async fn stats(
        &self,
        tenant: TenantId,
        material: MaterialId,
    ) -> Result<(UsageCounts, Vec<UsageCounts>), StoreError> {
        let total = format!(
            "WITH conv AS ({CONVERTED}) SELECT CAST(NULL AS {uuid}) AS user_id, {COUNTS} FROM material_usage u \
             WHERE u.tenant_id = $1 AND u.material_id = $2",
            uuid = self.uuid_type()
        );
        let per_staff = format!(
            "WITH conv AS ({CONVERTED}) SELECT u.user_id, {COUNTS} FROM material_usage u \
             WHERE u.tenant_id = $1 AND u.material_id = $2 GROUP BY u.user_id ORDER BY sent DESC, opened DESC"
        );
        let total: UsageCounts = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(total)).bind(tenant.0)
            .bind(material.0).fetch_one(p).await)?;
        let rows: Vec<UsageCounts> = on_pool!(self.0, p => sqlx::query_as(sqlx::AssertSqlSafe(per_staff))
            .bind(tenant.0).bind(material.0).fetch_all(p).await)?;
        Ok((total, rows))
    }

    fn uuid_type(&self) -> &'static str {
        match self.0.kind() {
            crate::BackendKind::Sqlite => "BLOB",
            crate::BackendKind::Postgres => "UUID",
        }
    }
}
