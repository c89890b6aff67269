//! Rule tags: the tag a dynamic segment's members hold automatically. Entering adds it, leaving removes
//! it, inside the membership change's own transaction, so the enter/exit log and the tags never disagree.
//! A holding the rule made is marked `via_segment`; only those are removed by it, and a customer who already
//! held the tag (added by hand) is left alone on entry and on exit. Every effective change is written to
//! the tag history and the timeline like a hand-made one (reason `rule`), so journeys see `tag_added`.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, SegmentId, TagId, TenantId};
use siyu_domain::timeline::kinds::{TAG_ADDED, TAG_REMOVED};
use uuid::Uuid;

use super::Segments;
use crate::sql::{Arg, Sql};
use crate::{StoreError, in_write_tx};

/// The reason written to the tag history and the timeline.
pub const REASON: &str = "rule";
/// Customers per statement (the history rows bind 9 values each).
pub(super) const CHUNK: usize = 500;

/// The customers of `chunk` already holding the tag (by hand or by the rule).
pub(super) fn held_sql(tenant: TenantId, tag: TagId, chunk: &[CustomerId]) -> Sql {
    let mut sql = Sql::new("SELECT customer_id FROM customer_tags WHERE tenant_id = ");
    sql.bind(Arg::Uuid(tenant.0)).push(" AND tag_id = ").bind(Arg::Uuid(tag.0)).push(" AND customer_id IN ");
    sql.bind_list(chunk.iter().map(|c| c.0));
    sql
}

pub(super) fn insert_sql(tenant: TenantId, tag: TagId, segment: SegmentId, new: &[Uuid], at: DateTime<Utc>) -> Sql {
    let mut sql =
        Sql::new("INSERT INTO customer_tags (tenant_id, customer_id, tag_id, added_by, added_at, via_segment) VALUES ");
    sql.values(new.iter().map(|c| {
        vec![
            Arg::Uuid(tenant.0),
            Arg::Uuid(*c),
            Arg::Uuid(tag.0),
            Arg::OptUuid(None),
            Arg::Time(at),
            Arg::Uuid(segment.0),
        ]
    }));
    sql
}

/// Removes the holdings the rule made among `chunk`, answering whose.
pub(super) fn delete_sql(tenant: TenantId, tag: TagId, segment: SegmentId, chunk: &[CustomerId]) -> Sql {
    let mut sql = Sql::new("DELETE FROM customer_tags WHERE tenant_id = ");
    sql.bind(Arg::Uuid(tenant.0)).push(" AND tag_id = ").bind(Arg::Uuid(tag.0));
    sql.push(" AND via_segment = ").bind(Arg::Uuid(segment.0)).push(" AND customer_id IN ");
    sql.bind_list(chunk.iter().map(|c| c.0)).push(" RETURNING customer_id");
    sql
}

/// The tag history and timeline rows of effective changes.
pub(super) fn record_sql(
    tenant: TenantId,
    tag: TagId,
    tag_name: &str,
    segment: SegmentId,
    customers: &[Uuid],
    add: bool,
    at: DateTime<Utc>,
) -> [Sql; 2] {
    let op = if add { "add" } else { "remove" };
    let mut history = Sql::new(
        "INSERT INTO tag_history (tenant_id, id, customer_id, tag_id, tag_name, op, actor_id, reason, at) VALUES ",
    );
    history.values(customers.iter().map(|c| {
        vec![
            Arg::Uuid(tenant.0),
            Arg::Uuid(Uuid::now_v7()),
            Arg::Uuid(*c),
            Arg::Uuid(tag.0),
            Arg::Text(tag_name.to_string()),
            Arg::Text(op.into()),
            Arg::OptUuid(None),
            Arg::Text(REASON.into()),
            Arg::Time(at),
        ]
    }));
    let kind = if add { TAG_ADDED } else { TAG_REMOVED };
    let payload = serde_json::json!({ "tag_id": tag, "tag": tag_name, "reason": REASON, "segment_id": segment });
    let mut timeline = Sql::new(
        "INSERT INTO timeline (tenant_id, id, customer_id, occurred_at, source, kind, actor_id, payload) VALUES ",
    );
    timeline.values(customers.iter().map(|c| {
        vec![
            Arg::Uuid(tenant.0),
            Arg::Uuid(Uuid::now_v7()),
            Arg::Uuid(*c),
            Arg::Time(at),
            Arg::Text("segment".into()),
            Arg::Text(kind.into()),
            Arg::OptUuid(None),
            Arg::Json(payload.clone()),
        ]
    }));
    [history, timeline]
}

/// Inside a membership transaction `$tx`: gives `$tag` to the entered customers who lack it and takes it
/// from the exited ones who got it from this segment. Evaluates to `(added, removed)`.
macro_rules! apply_rule_tag {
    ($tx:ident, $tenant:expr, $segment:expr, $tag:expr, $entered:expr, $exited:expr, $at:expr) => {{
        let (tenant, segment, tag, at): (
            siyu_domain::id::TenantId,
            siyu_domain::id::SegmentId,
            siyu_domain::id::TagId,
            chrono::DateTime<chrono::Utc>,
        ) = ($tenant, $segment, $tag, $at);
        let (added, removed): (u64, u64) =
            match sqlx::query_as::<_, (String,)>("SELECT name FROM tags WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.0)
                .bind(tag.0)
                .fetch_optional(&mut *$tx)
                .await?
            {
                // The tag was deleted under the segment: nothing to give or take.
                None => (0, 0),
                Some((name,)) => {
                    let (mut added, mut removed) = (0u64, 0u64);
                    for chunk in $entered.chunks($crate::segments::rule_tag::CHUNK) {
                        let held: Vec<(uuid::Uuid,)> = $crate::sql::dyn_query_as!(
                            (uuid::Uuid,),
                            $crate::segments::rule_tag::held_sql(tenant, tag, chunk)
                        )
                        .fetch_all(&mut *$tx)
                        .await?;
                        let held: std::collections::HashSet<uuid::Uuid> = held.into_iter().map(|r| r.0).collect();
                        let new: Vec<uuid::Uuid> = chunk.iter().map(|c| c.0).filter(|c| !held.contains(c)).collect();
                        if new.is_empty() {
                            continue;
                        }
                        $crate::sql::dyn_query!($crate::segments::rule_tag::insert_sql(tenant, tag, segment, &new, at))
                            .execute(&mut *$tx)
                            .await?;
                        for sql in $crate::segments::rule_tag::record_sql(tenant, tag, &name, segment, &new, true, at) {
                            $crate::sql::dyn_query!(sql).execute(&mut *$tx).await?;
                        }
                        added += new.len() as u64;
                    }
                    for chunk in $exited.chunks($crate::segments::rule_tag::CHUNK) {
                        let gone: Vec<(uuid::Uuid,)> = $crate::sql::dyn_query_as!(
                            (uuid::Uuid,),
                            $crate::segments::rule_tag::delete_sql(tenant, tag, segment, chunk)
                        )
                        .fetch_all(&mut *$tx)
                        .await?;
                        if gone.is_empty() {
                            continue;
                        }
                        let gone: Vec<uuid::Uuid> = gone.into_iter().map(|r| r.0).collect();
                        for sql in $crate::segments::rule_tag::record_sql(tenant, tag, &name, segment, &gone, false, at)
                        {
                            $crate::sql::dyn_query!(sql).execute(&mut *$tx).await?;
                        }
                        removed += gone.len() as u64;
                    }
                    (added, removed)
                }
            };
        (added, removed)
    }};
}
pub(super) use apply_rule_tag;

impl Segments<'_> {
    /// Makes `tag` the segment's rule tag (or none). The holdings the previous rule tag made stay with
    /// their customers as ordinary tags; the new tag is given at once to the current members who lack it.
    /// A tag another segment already drives answers a conflict on `segments_rule_tag`. Returns how many
    /// customers were given the tag.
    pub async fn set_rule_tag(
        &self,
        tenant: TenantId,
        segment: SegmentId,
        tag: Option<TagId>,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let (t, s) = (tenant.0, segment.0);
        in_write_tx!(self.0, tx => {
            let (old,): (Option<Uuid>,) =
                sqlx::query_as("UPDATE segments SET seq = seq WHERE tenant_id = $1 AND id = $2 RETURNING rule_tag_id")
                    .bind(t).bind(s).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
            if old == tag.map(|t| t.0) {
                Ok(0)
            } else {
                sqlx::query("UPDATE customer_tags SET via_segment = NULL WHERE tenant_id = $1 AND via_segment = $2")
                    .bind(t).bind(s).execute(&mut *tx).await?;
                sqlx::query("UPDATE segments SET rule_tag_id = $3 WHERE tenant_id = $1 AND id = $2")
                    .bind(t).bind(s).bind(tag.map(|t| t.0)).execute(&mut *tx).await?;
                match tag {
                    None => Ok(0),
                    Some(tag) => {
                        let members: Vec<(Uuid,)> = sqlx::query_as(
                            "SELECT customer_id FROM segment_members WHERE tenant_id = $1 AND segment_id = $2 ORDER BY customer_id")
                            .bind(t).bind(s).fetch_all(&mut *tx).await?;
                        let members: Vec<CustomerId> = members.into_iter().map(|r| CustomerId(r.0)).collect();
                        let none: &[CustomerId] = &[];
                        let (added, _) = apply_rule_tag!(tx, tenant, segment, tag, members, none, at);
                        Ok(added)
                    }
                }
            }
        })
    }
}
