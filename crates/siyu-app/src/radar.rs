//! The interaction radar (互动雷达): what the tenant's tracked links did over the last days, within the
//! actor's data scope — opens per day (in the tenant's time zone), unique customers, average reading time
//! (over the opens whose page reported one), the top links and each staff member's figures, all grouped in
//! SQL by `store.links().radar()` whatever the number of opens — and the opens as an XLSX file.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::Serialize;
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::UserId;
use siyu_store::links::{OpenQuery, OpenRow, RadarFigures, RadarGroupRow, RadarQuery};
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The longest window the radar reads.
pub const MAX_DAYS: i64 = 90;
/// Rows of the XLSX export at most (the newest opens).
const EXPORT_ROWS: i64 = 100_000;
const TOP: i64 = 20;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DayOpens {
    /// The local day, `YYYY-MM-DD`.
    pub day: String,
    pub opens: i64,
}

/// Figures of one link or one staff member.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RadarRow {
    /// The link's or staff member's id.
    pub id: Uuid,
    /// The link's title or the staff member's name.
    pub name: String,
    pub opens: i64,
    pub unique_customers: i64,
    /// Average reading time in seconds over the opens that reported one.
    pub avg_duration_secs: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RadarStats {
    pub days: i64,
    pub opens: i64,
    pub unique_customers: i64,
    pub avg_duration_secs: i64,
    pub per_day: Vec<DayOpens>,
    pub top_links: Vec<RadarRow>,
    pub per_staff: Vec<RadarRow>,
}

/// Average reading time over the opens that reported one (0 when none did).
fn avg(f: &RadarFigures) -> i64 {
    if f.reads == 0 { 0 } else { f.read_secs / f.reads }
}

fn row(g: RadarGroupRow) -> RadarRow {
    RadarRow {
        id: g.id,
        name: g.name.unwrap_or_default(),
        opens: g.figures.opens,
        unique_customers: g.figures.unique_customers,
        avg_duration_secs: avg(&g.figures),
    }
}

fn check_days(days: i64) -> AppResult<i64> {
    if (1..=MAX_DAYS).contains(&days) { Ok(days) } else { Err(AppError::invalid("days", "1..=90")) }
}

impl App {
    async fn radar_opens(&self, actor: &Actor, days: i64) -> AppResult<Vec<OpenRow>> {
        actor.require(Permission::CustomersRead)?;
        let q = OpenQuery {
            link: None,
            visible_staff: actor.visibility.as_ref().map(|v| v.iter().map(|u| u.0).collect()),
            since: Some(self.now() - Duration::days(days)),
            limit: EXPORT_ROWS,
        };
        Ok(self.store.links().opens(actor.tenant, &q).await?)
    }

    /// The radar's figures over the last `days` (1–90) days, counted by the database.
    pub async fn radar_stats(&self, actor: &Actor, days: i64) -> AppResult<RadarStats> {
        actor.require(Permission::CustomersRead)?;
        let days = check_days(days)?;
        let offset = self.tenant_offset(actor.tenant).await?;
        let q = RadarQuery {
            since: self.now() - Duration::days(days),
            visible_staff: actor.visibility.as_ref().map(|v| v.iter().map(|u| u.0).collect()),
            offset_secs: offset.local_minus_utc(),
            top_links: TOP,
        };
        let rows = self.store.links().radar(actor.tenant, &q).await?;
        let today = self.now().with_timezone(&offset).date_naive();
        let mut per_day: BTreeMap<String, i64> =
            (0..days).map(|d| ((today - Duration::days(days - 1 - d)).format("%Y-%m-%d").to_string(), 0)).collect();
        for (day, opens) in rows.per_day {
            if let Some(n) = per_day.get_mut(&day) {
                *n += opens;
            }
        }
        Ok(RadarStats {
            days,
            opens: rows.total.opens,
            unique_customers: rows.total.unique_customers,
            avg_duration_secs: avg(&rows.total),
            per_day: per_day.into_iter().map(|(day, opens)| DayOpens { day, opens }).collect(),
            top_links: rows.links.into_iter().map(row).collect(),
            per_staff: rows.staff.into_iter().map(row).collect(),
        })
    }

    /// The opens of the last `days` days as an XLSX file with the given column headers (time, link, customer,
    /// staff, seconds read, in WeChat): the newest 100 000.
    pub async fn radar_opens_xlsx(&self, actor: &Actor, days: i64, headers: &[&str]) -> AppResult<Vec<u8>> {
        actor.require(Permission::CustomersExport)?;
        let days = check_days(days)?;
        let opens = self.radar_opens(actor, days).await?;
        let offset = self.tenant_offset(actor.tenant).await?;
        let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::internal(e);
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book.add_worksheet();
        crate::transfer::xlsx_headers(ws, headers, |i| if i == 1 { 36.0 } else { 16.0 }).map_err(xlsx)?;
        for (r, o) in opens.iter().enumerate() {
            let row = r as u32 + 1;
            ws.write_string(row, 0, o.opened_at.with_timezone(&offset).format("%Y-%m-%d %H:%M:%S").to_string())
                .map_err(xlsx)?;
            ws.write_string(row, 1, &o.title).map_err(xlsx)?;
            ws.write_string(row, 2, o.customer_name.clone().unwrap_or_default()).map_err(xlsx)?;
            ws.write_string(row, 3, o.staff_name.clone().unwrap_or_default()).map_err(xlsx)?;
            ws.write_number(row, 4, o.duration_secs as f64).map_err(xlsx)?;
            ws.write_string(row, 5, if o.in_wechat { "✓" } else { "" }).map_err(xlsx)?;
        }
        self.audit(
            actor,
            AuditEvent {
                action: "link_opens.export",
                object_type: "link",
                object_id: None,
                detail: json!({"rows": opens.len(), "days": days}),
            },
        )
        .await;
        book.save_to_buffer().map_err(xlsx)
    }

    /// The name shown for a staff member (for forms: the tenant's active members the actor may pick).
    pub async fn link_staff_choices(&self, actor: &Actor) -> AppResult<Vec<(UserId, String)>> {
        actor.require(Permission::CustomersRead)?;
        let members = self.store.members().list(actor.tenant).await?;
        Ok(members
            .into_iter()
            .filter(|m| m.active && actor.visibility.as_ref().is_none_or(|v| v.contains(&m.user_id)))
            .map(|m| (m.user_id, m.display_name))
            .collect())
    }
}
