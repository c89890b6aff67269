//! The interaction radar (互动雷达): what the tenant's tracked links did over the last days, within the
//! actor's data scope — opens per day (in the tenant's time zone), unique customers and visitors, average
//! reading time (over the opens whose page reported one), the top links and each staff member's figures —
//! and the opens as an XLSX file.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Duration;
use serde::Serialize;
use serde_json::json;
use siyu_domain::access::Permission;
use siyu_domain::id::{LinkId, UserId};
use siyu_store::links::{OpenQuery, OpenRow};
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// The longest window the radar reads.
pub const MAX_DAYS: i64 = 90;
/// Opens read at most for one figure set or export.
const MAX_OPENS: i64 = 100_000;
const TOP: usize = 20;

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

#[derive(Default)]
struct Tally {
    name: String,
    opens: i64,
    customers: HashSet<Uuid>,
    read_secs: i64,
    reads: i64,
}

impl Tally {
    fn add(&mut self, o: &OpenRow) {
        self.opens += 1;
        self.customers.extend(o.customer_id);
        if o.duration_secs > 0 {
            self.read_secs += o.duration_secs;
            self.reads += 1;
        }
    }

    fn avg(&self) -> i64 {
        if self.reads == 0 { 0 } else { self.read_secs / self.reads }
    }

    fn row(self, id: Uuid) -> RadarRow {
        RadarRow {
            id,
            avg_duration_secs: self.avg(),
            name: self.name,
            opens: self.opens,
            unique_customers: self.customers.len() as i64,
        }
    }
}

fn ranked(map: HashMap<Uuid, Tally>, top: usize) -> Vec<RadarRow> {
    let mut rows: Vec<RadarRow> = map.into_iter().map(|(id, t)| t.row(id)).collect();
    rows.sort_by(|a, b| b.opens.cmp(&a.opens).then(b.unique_customers.cmp(&a.unique_customers)).then(a.id.cmp(&b.id)));
    rows.truncate(top);
    rows
}

fn check_days(days: i64) -> AppResult<i64> {
    if (1..=MAX_DAYS).contains(&days) { Ok(days) } else { Err(AppError::invalid("days", "1..=90")) }
}

impl App {
    async fn radar_opens(&self, actor: &Actor, days: i64, link: Option<LinkId>) -> AppResult<Vec<OpenRow>> {
        actor.require(Permission::CustomersRead)?;
        let q = OpenQuery {
            link: link.map(|l| l.0),
            visible_staff: actor.visibility.as_ref().map(|v| v.iter().map(|u| u.0).collect()),
            since: Some(self.now() - Duration::days(days)),
            limit: MAX_OPENS,
        };
        Ok(self.store.links().opens(actor.tenant, &q).await?)
    }

    /// The radar's figures over the last `days` (1–90) days.
    pub async fn radar_stats(&self, actor: &Actor, days: i64) -> AppResult<RadarStats> {
        let days = check_days(days)?;
        let opens = self.radar_opens(actor, days, None).await?;
        let offset = self.tenant_offset(actor.tenant).await?;
        let today = self.now().with_timezone(&offset).date_naive();
        let mut per_day: BTreeMap<String, i64> =
            (0..days).map(|d| ((today - Duration::days(days - 1 - d)).format("%Y-%m-%d").to_string(), 0)).collect();
        let mut all = Tally::default();
        let mut links: HashMap<Uuid, Tally> = HashMap::new();
        let mut staff: HashMap<Uuid, Tally> = HashMap::new();
        for o in &opens {
            let day = o.opened_at.with_timezone(&offset).format("%Y-%m-%d").to_string();
            if let Some(n) = per_day.get_mut(&day) {
                *n += 1;
            }
            all.add(o);
            let l = links.entry(o.link_id).or_default();
            l.name.clone_from(&o.title);
            l.add(o);
            let s = staff.entry(o.staff_id).or_default();
            s.name = o.staff_name.clone().unwrap_or_default();
            s.add(o);
        }
        Ok(RadarStats {
            days,
            opens: all.opens,
            unique_customers: all.customers.len() as i64,
            avg_duration_secs: all.avg(),
            per_day: per_day.into_iter().map(|(day, opens)| DayOpens { day, opens }).collect(),
            top_links: ranked(links, TOP),
            per_staff: ranked(staff, usize::MAX),
        })
    }

    /// The opens of the last `days` days as an XLSX file with the given column headers (time, link, customer,
    /// staff, seconds read, in WeChat).
    pub async fn radar_opens_xlsx(&self, actor: &Actor, days: i64, headers: &[&str]) -> AppResult<Vec<u8>> {
        actor.require(Permission::CustomersExport)?;
        let days = check_days(days)?;
        let opens = self.radar_opens(actor, days, None).await?;
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
