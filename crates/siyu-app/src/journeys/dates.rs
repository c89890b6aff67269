//! Date-property triggers (reference/journeys.md §3): once per journey and local day, the customers whose
//! date is today minus the trigger's offset start a run due at the trigger's local time (or at once, if
//! that time has passed). A birthday matches on month and day every year; `last_order_at` gives
//! replenishment reminders "30 days after the last order".

use chrono::{Duration, NaiveDate, TimeZone};
use siyu_domain::id::TenantId;
use siyu_domain::journey::validate::parse_time;
use siyu_domain::journey::{NodeKind, Trigger};
use siyu_domain::tenancy::TenantStatus;
use siyu_store::journeys::Entry;
use siyu_store::journeys::dates::DateField;

use crate::App;
use crate::error::AppResult;

/// The built-in date a trigger may read besides custom date fields.
pub const LAST_ORDER_AT: &str = "last_order_at";

impl App {
    /// Runs the date scans due today in every active tenant; returns how many runs started.
    pub async fn scan_date_triggers(&self) -> AppResult<u64> {
        let mut started = 0;
        for t in self.store.tenants().list().await? {
            if t.status == TenantStatus::Active {
                started += self.scan_tenant_dates(t.id).await?;
            }
        }
        Ok(started)
    }

    async fn scan_tenant_dates(&self, tenant: TenantId) -> AppResult<u64> {
        let live = self.live_journeys(tenant).await?;
        let dated: Vec<_> = live
            .0
            .iter()
            .filter(|(_, _, g)| {
                g.nodes.iter().any(|n| matches!(&n.kind, NodeKind::Trigger { trigger: Trigger::DateProperty { .. } }))
            })
            .collect();
        if dated.is_empty() {
            return Ok(0);
        }
        let offset = self.tenant_offset(tenant).await?;
        let now = self.now();
        let today = now.with_timezone(&offset).date_naive();
        let journeys = self.store.journeys();
        let mut started = 0;
        for (id, version, g) in dated {
            if journeys.date_scanned(tenant, *id, today).await? || !journeys.mark_date_scan(tenant, *id, today).await? {
                continue;
            }
            for n in &g.nodes {
                let NodeKind::Trigger { trigger: Trigger::DateProperty { field, offset_days, at, yearly } } = &n.kind
                else {
                    continue;
                };
                // The date that makes today "offset_days after" it.
                let date = today - Duration::days(i64::from(*offset_days));
                let local_day = |d: NaiveDate| {
                    offset.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN)).single().map(|t| t.to_utc())
                };
                let source = if field == LAST_ORDER_AT {
                    let (Some(from), Some(to)) = (local_day(date), local_day(date + Duration::days(1))) else {
                        continue;
                    };
                    DateField::LastOrder { from, to }
                } else {
                    DateField::Custom { key: field, yearly: *yearly }
                };
                let customers = journeys.customers_on_date(tenant, source, date).await?;
                let due = parse_time(at)
                    .and_then(|t| offset.from_local_datetime(&today.and_time(t)).single())
                    .map_or(now, |t| t.to_utc().max(now));
                let entries: Vec<Entry<'_>> = customers
                    .iter()
                    .map(|c| Entry {
                        journey: *id,
                        version: *version,
                        customer: *c,
                        start: &n.id,
                        reentry: g.reentry,
                        key: None,
                    })
                    .collect();
                started += journeys.enrol_many(tenant, &entries, due).await?;
            }
        }
        Ok(started)
    }
}
