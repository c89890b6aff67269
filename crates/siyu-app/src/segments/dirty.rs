//! Incremental membership for bulk paths. A single-customer change re-evaluates that customer in memory at
//! once ([`App::refresh_customer_segments`]); imports, bulk tags, identity resolution, order imports,
//! merges and customer-group syncs change many customers, so they mark them (`segment_dirty`, the
//! aggregates refresh does it in its own transaction) and the worker re-evaluates the marked customers in
//! batches with SQL restricted to them, segment by segment in rule-tag order, recording entries and exits
//! as `change`.

use chrono::{DateTime, Utc};
use siyu_domain::id::{CustomerId, GroupId, TenantId};
use siyu_domain::segment::ChangeReason;

use super::rule_tag::in_refresh_order;
use crate::App;
use crate::error::AppResult;

/// Marked customers re-evaluated per batch.
const BATCH: u32 = 500;

impl App {
    /// Marks customers a bulk path changed; the worker re-evaluates their segments. Never fails the
    /// caller: a failure is logged and the next sweep catches up.
    pub(crate) async fn mark_segments_dirty(&self, tenant: TenantId, customers: &[CustomerId]) {
        if let Err(e) = self.store.segments().mark_dirty(tenant, customers, self.now()).await {
            tracing::warn!(error = ?e, "marking customers for segment re-evaluation failed; the sweep will catch up");
        }
    }

    /// After a customer group's member list was synced at `since`: marks its customer members and those who
    /// left it in that sync, so dynamic segments on group membership follow. Never fails the caller.
    pub async fn after_group_change(&self, tenant: TenantId, group: GroupId, since: DateTime<Utc>) {
        if let Err(e) = self.store.segments().mark_group_dirty(tenant, group, since, self.now()).await {
            tracing::warn!(error = ?e, group = %group.0, "marking group members failed; the sweep will catch up");
        }
    }

    /// Re-evaluates one batch of marked customers per tenant and clears their marks. Returns how many
    /// customers were re-evaluated (0: nothing was marked).
    pub async fn drain_dirty_segments(&self) -> AppResult<usize> {
        let mut done = 0;
        for tenant in self.store.segments().dirty_tenants(100).await? {
            let (customers, latest) = self.store.segments().dirty_batch(tenant, BATCH).await?;
            let Some(latest) = latest else { continue };
            self.refresh_segments_for(tenant, &customers).await?;
            self.store.segments().clear_dirty(tenant, &customers, latest).await?;
            done += customers.len();
        }
        Ok(done)
    }

    /// Re-evaluates `customers` (ascending) against every active dynamic segment of the tenant with SQL
    /// restricted to them; returns the entries and exits recorded.
    pub async fn refresh_segments_for(&self, tenant: TenantId, customers: &[CustomerId]) -> AppResult<(u64, u64)> {
        if customers.is_empty() {
            return Ok((0, 0));
        }
        let checked = self.live_dynamic_rules(tenant).await?;
        if checked.is_empty() {
            return Ok((0, 0));
        }
        let (at, offset) = self.at(tenant).await?;
        let day = at.now.with_timezone(&offset).format("%Y-%m-%d").to_string();
        let (mut entered, mut exited) = (0, 0);
        // Drivers of rule tags first: the segments reading a tag then see it as just given or taken.
        for (s, rule) in in_refresh_order(checked) {
            let matching = self.store.segments().matching_among(tenant, &rule, at, customers).await?;
            let rest: Vec<CustomerId> =
                customers.iter().filter(|c| matching.binary_search(c).is_err()).copied().collect();
            let r = self
                .store
                .segments()
                .change_members(tenant, s.id, &matching, &rest, ChangeReason::Change, at.now, &day)
                .await?;
            entered += r.entered;
            exited += r.exited;
        }
        Ok((entered, exited))
    }
}
