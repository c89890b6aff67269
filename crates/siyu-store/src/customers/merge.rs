//! Merging imported rows into customers that already exist, and resolving many identities at once.
//!
//! An import row that names an existing customer (same phone, unionid, ...) updates that customer instead
//! of creating a duplicate: the profile, new identities and tags are written in one transaction, so a row
//! is either applied completely or not at all.

use siyu_domain::customer::Customer;
use siyu_domain::id::{CustomerId, TenantId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::timeline::TimelineEntry;
use uuid::Uuid;

use super::Customers;
use crate::identities::{Identities, IdentityRecord, identity_conflict};
use crate::sql::{Arg, Sql, dyn_query_as};
use crate::statements::{apply_tag_change, insert_identity, insert_timeline, update_customer};
use crate::tags::{ChangeContext, TagChange};
use crate::{StoreError, in_tx, on_pool};

/// Changes to one existing customer, written in one transaction.
pub struct CustomerMerge<'a> {
    /// The customer with its merged profile; written when `profile_changed`.
    pub customer: &'a Customer,
    pub profile_changed: bool,
    /// Identities to add to the customer.
    pub identities: &'a [IdentityRecord],
    /// Tags to add or remove (only effective changes reach history and the timeline).
    pub tags: &'a [TagChange],
    pub ctx: &'a ChangeContext<'a>,
    /// Timeline entries besides the tag changes (profile updated, identity added).
    pub timeline: &'a [TimelineEntry],
}

impl Customers<'_> {
    /// Applies a [`CustomerMerge`] atomically; returns the effective tag changes. A taken identity answers
    /// `Conflict("identities_lookup")` and leaves no trace.
    pub async fn merge(&self, tenant: TenantId, m: &CustomerMerge<'_>) -> Result<Vec<TagChange>, StoreError> {
        let c = m.customer;
        let mut effective = Vec::new();
        let result: Result<(), StoreError> = async {
            in_tx!(self.0, tx => {
                if m.profile_changed && update_customer!(tenant, c).execute(&mut *tx).await?.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                for r in m.identities {
                    insert_identity!(tenant, c.id, r).execute(&mut *tx).await?;
                }
                for t in m.tags {
                    if apply_tag_change!(tx, tenant, c.id, t, m.ctx) {
                        effective.push(t.clone());
                    }
                }
                for e in m.timeline {
                    insert_timeline!(tenant, e).execute(&mut *tx).await?;
                }
            });
            Ok(())
        }
        .await;
        result.map_err(identity_conflict)?;
        Ok(effective)
    }
}

impl Identities<'_> {
    /// The customers holding any of `lookups` of one (kind, namespace): `(lookup, customer)` pairs.
    pub async fn resolve_many(
        &self,
        tenant: TenantId,
        kind: IdentityKind,
        namespace: &str,
        lookups: &[String],
    ) -> Result<Vec<(String, CustomerId)>, StoreError> {
        let mut out = Vec::new();
        for chunk in lookups.chunks(500) {
            let mut sql = Sql::new("SELECT lookup, customer_id FROM identities WHERE tenant_id = ");
            sql.bind(Arg::Uuid(tenant.0));
            sql.push(" AND kind = ").bind(Arg::Text(kind.as_str().into()));
            sql.push(" AND namespace = ").bind(Arg::Text(namespace.into()));
            sql.push(" AND lookup IN (");
            for (i, l) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Arg::Text(l.clone()));
            }
            sql.push(")");
            let rows: Vec<(String, Uuid)> =
                on_pool!(self.0, p => dyn_query_as!((String, Uuid), sql).fetch_all(p).await)?;
            out.extend(rows.into_iter().map(|(l, c)| (l, CustomerId(c))));
        }
        Ok(out)
    }
}
