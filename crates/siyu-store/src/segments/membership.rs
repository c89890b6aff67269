//! Segment membership: the current members, and the transaction that changes them. A change takes the
//! segment's next version (which locks its row), diffs against the members as they are inside the
//! transaction, and writes members, the enter/exit log, the member count and the day's size together: a
//! re-run finds nothing left to change, and two refreshes of one segment queue behind each other.

use chrono::{DateTime, Utc};
use siyu_domain::customer::Customer;
use siyu_domain::id::{CustomerId, SegmentId, TagId, TenantId};
use siyu_domain::page::PageRequest;
use siyu_domain::segment::{ChangeOp, ChangeReason, SegmentSize, diff};
use uuid::Uuid;

use super::Segments;
use super::rule_tag::apply_rule_tag;
use crate::customers::{CustomerRow, Visibility, push_newest_first, push_visibility};
use crate::sql::{Arg, Sql, dyn_query, dyn_query_as};
use crate::{StoreError, in_write_tx, on_pool};

/// What a membership change did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refresh {
    /// The version the changes were written under (unchanged when nothing changed).
    pub version: i64,
    pub entered: u64,
    pub exited: u64,
    pub members: i64,
    /// Customers given the segment's rule tag, and customers it was taken from.
    pub tagged: u64,
    pub untagged: u64,
}

/// Rows per multi-row statement.
const CHUNK: usize = 500;

/// What to change: the whole new member list, or customers to add and remove.
pub enum Target<'a> {
    Replace(&'a [CustomerId]),
    Change { add: &'a [CustomerId], remove: &'a [CustomerId] },
}

impl Segments<'_> {
    /// Current member ids, ascending.
    pub async fn member_ids(&self, tenant: TenantId, segment: SegmentId) -> Result<Vec<CustomerId>, StoreError> {
        let sql = Sql::with(
            "SELECT customer_id FROM segment_members WHERE tenant_id = $1 AND segment_id = $2 ORDER BY customer_id",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(segment.0)],
        );
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| CustomerId(r.0)).collect())
    }

    /// Makes `new` (ascending) the members.
    pub async fn replace_members(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        new: &[CustomerId],
        reason: ChangeReason,
        at: DateTime<Utc>,
        day: &str,
    ) -> Result<Refresh, StoreError> {
        self.write(tenant, segment, Target::Replace(new), reason, at, day).await
    }

    /// Adds and removes members (ids already in / not in the segment are skipped).
    #[allow(clippy::too_many_arguments)]
    pub async fn change_members(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        add: &[CustomerId],
        remove: &[CustomerId],
        reason: ChangeReason,
        at: DateTime<Utc>,
        day: &str,
    ) -> Result<Refresh, StoreError> {
        self.write(tenant, segment, Target::Change { add, remove }, reason, at, day).await
    }

    async fn write(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        target: Target<'_>,
        reason: ChangeReason,
        at: DateTime<Utc>,
        day: &str,
    ) -> Result<Refresh, StoreError> {
        let t = tenant.0;
        let s = segment.0;
        let total_before: i64;
        in_write_tx!(self.0, tx => {
            // Lock the segment row first, so the members read below stay current until commit.
            let (seq, rule_tag): (i64, Option<Uuid>) =
                sqlx::query_as("UPDATE segments SET seq = seq WHERE tenant_id = $1 AND id = $2 RETURNING seq, rule_tag_id")
                .bind(t).bind(s).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
            // A replace diffs against every member; a change needs only the customers it names.
            let mut read = Sql::new("SELECT customer_id FROM segment_members WHERE tenant_id = ");
            read.bind(Arg::Uuid(t)).push(" AND segment_id = ").bind(Arg::Uuid(s));
            match &target {
                Target::Change { add, remove } if add.is_empty() && remove.is_empty() => {
                    read.push(" AND 1 = 0");
                }
                Target::Change { add, remove } => {
                    read.push(" AND customer_id IN ").bind_list(add.iter().chain(remove.iter()).map(|c| c.0));
                }
                Target::Replace(_) => {}
            }
            read.push(" ORDER BY customer_id");
            let current: Vec<(Uuid,)> = dyn_query_as!((Uuid,), read).fetch_all(&mut *tx).await?;
            let mut current: Vec<CustomerId> = current.into_iter().map(|r| CustomerId(r.0)).collect();
            if matches!(target, Target::Change { .. }) {
                // The count below starts from every member, not just the ones read.
                let (n,): (i64,) = sqlx::query_as("SELECT member_count FROM segments WHERE tenant_id = $1 AND id = $2")
                    .bind(t).bind(s).fetch_one(&mut *tx).await?;
                total_before = n;
            } else {
                total_before = current.len() as i64;
            }
            current.sort();
            let (entered, exited) = match target {
                Target::Replace(new) => diff(&current, new),
                Target::Change { add, remove } => {
                    let mut add: Vec<CustomerId> = add.iter().filter(|c| current.binary_search(c).is_err()).copied().collect();
                    add.sort();
                    add.dedup();
                    let mut remove: Vec<CustomerId> =
                        remove.iter().filter(|c| current.binary_search(c).is_ok() && !add.contains(c)).copied().collect();
                    remove.sort();
                    remove.dedup();
                    (add, remove)
                }
            };
            let members = total_before + entered.len() as i64 - exited.len() as i64;
            let version = if entered.is_empty() && exited.is_empty() { seq } else { seq + 1 };
            for chunk in entered.chunks(CHUNK) {
                let mut sql = Sql::new("INSERT INTO segment_members (tenant_id, segment_id, customer_id, version, entered_at) VALUES ");
                sql.values(chunk.iter().map(|c| {
                    vec![Arg::Uuid(t), Arg::Uuid(s), Arg::Uuid(c.0), Arg::Int(version), Arg::Time(at)]
                }));
                dyn_query!(sql).execute(&mut *tx).await?;
            }
            for chunk in exited.chunks(CHUNK) {
                let mut sql = Sql::new("DELETE FROM segment_members WHERE tenant_id = ");
                sql.bind(Arg::Uuid(t)).push(" AND segment_id = ").bind(Arg::Uuid(s)).push(" AND customer_id IN ")
                    .bind_list(chunk.iter().map(|c| c.0));
                dyn_query!(sql).execute(&mut *tx).await?;
            }
            let log = entered.iter().map(|c| (c, ChangeOp::Enter)).chain(exited.iter().map(|c| (c, ChangeOp::Exit)));
            let log: Vec<_> = log.collect();
            for chunk in log.chunks(CHUNK) {
                let mut sql = Sql::new("INSERT INTO segment_changes (tenant_id, segment_id, version, customer_id, op, reason, at) VALUES ");
                sql.values(chunk.iter().map(|(c, op)| {
                    vec![Arg::Uuid(t), Arg::Uuid(s), Arg::Int(version), Arg::Uuid(c.0), Arg::Text(op.as_str().into()),
                        Arg::Text(reason.as_str().into()), Arg::Time(at)]
                }));
                dyn_query!(sql).execute(&mut *tx).await?;
            }
            sqlx::query("UPDATE segments SET seq = $3, member_count = $4, refreshed_at = $5 WHERE tenant_id = $1 AND id = $2")
                .bind(t).bind(s).bind(version).bind(members).bind(at).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO segment_sizes (tenant_id, segment_id, day, members, entered, exited) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (tenant_id, segment_id, day) DO UPDATE SET members = excluded.members, \
                 entered = segment_sizes.entered + excluded.entered, exited = segment_sizes.exited + excluded.exited")
                .bind(t).bind(s).bind(day).bind(members).bind(entered.len() as i64).bind(exited.len() as i64)
                .execute(&mut *tx).await?;
            let (tagged, untagged) = match rule_tag {
                Some(tag) => apply_rule_tag!(tx, tenant, segment, TagId(tag), entered, exited, at),
                None => (0, 0),
            };
            Ok(Refresh { version, entered: entered.len() as u64, exited: exited.len() as u64, members, tagged, untagged })
        })
    }

    /// One page of members (within what the member may see), newest customers first.
    pub async fn member_page(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        vis: &Visibility,
        page: PageRequest,
    ) -> Result<Vec<Customer>, StoreError> {
        let mut sql = Sql::new(crate::customers::SELECT);
        sql.push(" JOIN segment_members m ON m.tenant_id = c.tenant_id AND m.customer_id = c.id AND m.segment_id = ")
            .bind(Arg::Uuid(segment.0))
            .push(" WHERE c.tenant_id = ")
            .bind(Arg::Uuid(tenant.0));
        push_visibility(&mut sql, tenant, vis);
        push_newest_first(&mut sql, page);
        let rows: Vec<CustomerRow> = self.0.read_all(sql).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Member ids after `after` in id order, within what the member may see: batch jobs walking a segment.
    pub async fn member_ids_after(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        vis: &Visibility,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let mut sql = Sql::new(
            "SELECT c.id FROM customers c JOIN segment_members m ON m.tenant_id = c.tenant_id \
             AND m.customer_id = c.id AND m.segment_id = ",
        );
        sql.bind(Arg::Uuid(segment.0)).push(" WHERE c.tenant_id = ").bind(Arg::Uuid(tenant.0));
        push_visibility(&mut sql, tenant, vis);
        if let Some(a) = after {
            sql.push(" AND c.id > ").bind(Arg::Uuid(a.0));
        }
        sql.push(" ORDER BY c.id").limit(i64::from(limit));
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| CustomerId(r.0)).collect())
    }

    /// How many members the member may see.
    pub async fn visible_member_count(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        vis: &Visibility,
    ) -> Result<i64, StoreError> {
        let mut sql = Sql::new(
            "SELECT COUNT(*) FROM customers c JOIN segment_members m ON m.tenant_id = c.tenant_id \
             AND m.customer_id = c.id AND m.segment_id = ",
        );
        sql.bind(Arg::Uuid(segment.0)).push(" WHERE c.tenant_id = ").bind(Arg::Uuid(tenant.0));
        push_visibility(&mut sql, tenant, vis);
        let row: (i64,) = on_pool!(self.0, p => dyn_query_as!((i64,), sql).fetch_one(p).await)?;
        Ok(row.0)
    }

    /// The segments a customer is in, with when they entered, by segment name.
    pub async fn of_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<(SegmentId, String, DateTime<Utc>)>, StoreError> {
        let sql = Sql::with(
            "SELECT s.id, s.name, m.entered_at FROM segment_members m JOIN segments s ON s.tenant_id = m.tenant_id \
             AND s.id = m.segment_id WHERE m.tenant_id = $1 AND m.customer_id = $2 ORDER BY s.name",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(customer.0)],
        );
        let rows: Vec<(Uuid, String, DateTime<Utc>)> =
            on_pool!(self.0, p => dyn_query_as!((Uuid, String, DateTime<Utc>), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|(id, name, at)| (SegmentId(id), name, at)).collect())
    }

    /// The static segments a customer is a member of (what in-memory evaluation reads).
    pub async fn static_memberships(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<SegmentId>, StoreError> {
        let sql = Sql::with(
            "SELECT m.segment_id FROM segment_members m JOIN segments s ON s.tenant_id = m.tenant_id AND s.id = m.segment_id \
             WHERE m.tenant_id = $1 AND m.customer_id = $2 AND s.kind = 'static'",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(customer.0)],
        );
        let rows: Vec<(Uuid,)> = on_pool!(self.0, p => dyn_query_as!((Uuid,), sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| SegmentId(r.0)).collect())
    }

    /// Daily sizes from `since_day` (inclusive, `YYYY-MM-DD`), oldest first.
    pub async fn sizes(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        since_day: &str,
    ) -> Result<Vec<SegmentSize>, StoreError> {
        let sql = Sql::with(
            "SELECT day, members, entered, exited FROM segment_sizes WHERE tenant_id = $1 AND segment_id = $2 \
             AND day >= $3 ORDER BY day",
            vec![Arg::Uuid(tenant.0), Arg::Uuid(segment.0), Arg::Text(since_day.into())],
        );
        let rows: Vec<(String, i64, i64, i64)> =
            on_pool!(self.0, p => dyn_query_as!((String, i64, i64, i64), sql).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(day, members, entered, exited)| SegmentSize { day, members, entered, exited })
            .collect())
    }
}
