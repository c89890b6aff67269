//! Customer aggregates (cdp.md §3): order count and days, net paid, refunds, average order, products
//! bought, platforms, last activity per channel, first seen and last active; the rules are
//! `siyu_domain::aggregate`'s, the stored row `siyu_store::aggregates`'.
//!
//! They are kept current incrementally: every order import batch and every mall order refreshes the
//! customers it touched in the same transaction that writes the orders, and [`App::refresh_aggregates`]
//! recomputes given customers for everything else that changes what belongs to a customer (identity
//! resolution linking events, merges and un-merges). [`App::rebuild_aggregates`] recomputes a whole tenant
//! (`siyu admin rebuild-aggregates`, the demo seed). A customer whose row is missing when read (data from
//! before the table existed) gets it computed on the spot.

use chrono::FixedOffset;
use siyu_domain::access::Permission;
use siyu_domain::aggregate::CustomerAggregates;
use siyu_domain::id::{CustomerId, TenantId};
use siyu_domain::tenancy::utc_offset;
use siyu_store::aggregates::{REFRESH_CHUNK, RefreshAt};

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

impl App {
    /// The offset from UTC the tenant counts business days in (its time zone; Asia/Shanghai by default).
    pub async fn tenant_offset(&self, tenant: TenantId) -> AppResult<FixedOffset> {
        Ok(utc_offset(&self.store.tenants().get(tenant).await?.timezone))
    }

    /// What a refresh needs to know: the tenant's offset and the time now.
    pub(crate) async fn refresh_at(&self, tenant: TenantId) -> AppResult<RefreshAt> {
        Ok(RefreshAt { offset: self.tenant_offset(tenant).await?, now: self.now() })
    }

    /// Recomputes the aggregates of `customers` from their orders and resolved events, in one transaction
    /// (ids of customers that no longer exist are skipped). Call it after anything that changes which orders
    /// or events belong to a customer outside the order import: identity resolution setting
    /// `events.customer_id`, merges and un-merges moving orders and events (refresh both customers).
    pub async fn refresh_aggregates(&self, tenant: TenantId, customers: &[CustomerId]) -> AppResult<()> {
        let at = self.refresh_at(tenant).await?;
        for chunk in customers.chunks(REFRESH_CHUNK) {
            self.store.aggregates().refresh(tenant, chunk, at).await?;
        }
        Ok(())
    }

    /// A customer's aggregates (computed now if they never were).
    pub async fn customer_aggregates(&self, actor: &Actor, customer: CustomerId) -> AppResult<CustomerAggregates> {
        actor.require(Permission::CustomersRead)?;
        self.ensure_visible(actor, customer).await?;
        if let Some(a) = self.store.aggregates().get(actor.tenant, customer).await? {
            return Ok(a);
        }
        self.refresh_aggregates(actor.tenant, &[customer]).await?;
        self.store.aggregates().get(actor.tenant, customer).await?.ok_or(AppError::NotFound)
    }

    /// Recomputes the aggregates of every customer of the tenant, [`REFRESH_CHUNK`] customers per
    /// transaction; `progress` gets the number done after each. Returns how many customers were refreshed.
    pub async fn rebuild_aggregates(&self, tenant: TenantId, progress: &mut (dyn FnMut(u64) + Send)) -> AppResult<u64> {
        let at = self.refresh_at(tenant).await?;
        let (mut after, mut done) = (None, 0u64);
        loop {
            let ids = self.store.aggregates().customer_ids(tenant, after, REFRESH_CHUNK as u32).await?;
            let Some(last) = ids.last().copied() else { break };
            self.store.aggregates().refresh(tenant, &ids, RefreshAt { now: self.now(), ..at }).await?;
            done += ids.len() as u64;
            progress(done);
            after = Some(last);
        }
        tracing::info!(tenant = %tenant, customers = done, "aggregates rebuilt");
        Ok(done)
    }
}
