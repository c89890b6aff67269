//! What previews read: the ledger of accepted on-job transfers, the targets already in an open item, the
//! customers a staff member follows and the customers behind external_userids.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use siyu_domain::id::{CorpId, CustomerId, TenantId, UserId};
use siyu_domain::wecom::transfer::ItemKind;
use uuid::Uuid;

use super::super::Wecom;
use super::{OPEN, texts};
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::{StoreError, on_pool};

impl Wecom<'_> {
    /// When each of `external_userids` was transferred on-job (accepted by WeCom) since `since`.
    pub async fn transfer_ledger(
        &self,
        tenant: TenantId,
        corp: CorpId,
        external_userids: &[String],
        since: DateTime<Utc>,
    ) -> Result<HashMap<String, Vec<DateTime<Utc>>>, StoreError> {
        let mut out: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
        for part in external_userids.chunks(500) {
            let mut sql = Sql::new("SELECT external_userid, accepted_at FROM transfer_ledger WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0)).push(" AND corp_row_id = ").bind(Arg::Uuid(corp.0));
            sql.push(" AND accepted_at >= ").bind(Arg::Time(since)).push(" AND external_userid IN (");
            texts(&mut sql, part);
            let rows: Vec<(String, DateTime<Utc>)> =
                on_pool!(self.0, p => dyn_query_as!((String, DateTime<Utc>), sql).fetch_all(p).await)?;
            for (ext, at) in rows {
                out.entry(ext).or_default().push(at);
            }
        }
        Ok(out)
    }

    /// Which of `targets` already have an open item (pending, sending, waiting) in some batch of the corp.
    pub async fn open_transfer_targets(
        &self,
        tenant: TenantId,
        corp: CorpId,
        kind: ItemKind,
        targets: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut out = HashSet::new();
        for part in targets.chunks(500) {
            let mut sql = Sql::new("SELECT DISTINCT target FROM transfer_items WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0)).push(" AND corp_row_id = ").bind(Arg::Uuid(corp.0));
            sql.push(" AND item_kind = ").bind(Arg::Text(kind.as_str().into()));
            sql.push(&format!(" AND status IN {OPEN} AND target IN ("));
            texts(&mut sql, part);
            let rows: Vec<(String,)> = on_pool!(self.0, p => dyn_query_as!((String,), sql).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|r| r.0));
        }
        Ok(out)
    }

    /// The customers `user` follows that have an external_userid in the corp (`corp_id`, WeCom's id):
    /// (external_userid, customer, name), by external_userid.
    pub async fn followed_contacts(
        &self,
        tenant: TenantId,
        corp_id: &str,
        user: UserId,
    ) -> Result<Vec<(String, CustomerId, String)>, StoreError> {
        let rows: Vec<(String, Uuid, String)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT MIN(i.lookup), c.id, c.name FROM follows f \
             JOIN customers c ON c.tenant_id = f.tenant_id AND c.id = f.customer_id \
             JOIN identities i ON i.tenant_id = f.tenant_id AND i.customer_id = f.customer_id \
             AND i.kind = 'external_userid' AND i.namespace = $3 \
             WHERE f.tenant_id = $1 AND f.user_id = $2 AND c.erased_at IS NULL GROUP BY c.id, c.name ORDER BY 1")
            .bind(tenant.0).bind(user.0).bind(corp_id).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(e, c, n)| (e, CustomerId(c), n)).collect())
    }

    /// The customers behind external_userids of the corp: external_userid → (customer, name).
    pub async fn contacts_by_external(
        &self,
        tenant: TenantId,
        corp_id: &str,
        external_userids: &[String],
    ) -> Result<HashMap<String, (CustomerId, String)>, StoreError> {
        let mut out = HashMap::new();
        for part in external_userids.chunks(500) {
            let mut sql = Sql::new(
                "SELECT i.lookup, c.id, c.name FROM identities i JOIN customers c \
                 ON c.tenant_id = i.tenant_id AND c.id = i.customer_id WHERE i.tenant_id = ",
            );
            sql.bind(Arg::Uuid(tenant.0)).push(" AND i.kind = 'external_userid' AND i.namespace = ");
            sql.bind(Arg::Text(corp_id.into())).push(" AND i.lookup IN (");
            texts(&mut sql, part);
            let rows: Vec<(String, Uuid, String)> =
                on_pool!(self.0, p => dyn_query_as!((String, Uuid, String), sql).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|(e, c, n)| (e, (CustomerId(c), n))));
        }
        Ok(out)
    }
}
