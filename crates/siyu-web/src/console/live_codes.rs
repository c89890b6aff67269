//! Console: 员工活码 (staff live codes) and 欢迎语 (welcome messages). `/console/live-codes` lists the codes
//! with their QR image, the staff they point at now and their figures; `/console/live-codes/{id}` shows one
//! code (large QR, routing, a 30-day chart of adds, archive); the create/edit form is in `form`, the tenant's
//! default welcome message, nickname block list and per-staff overrides (`/console/welcome`) in `welcome`.

mod form;
mod welcome;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::LiveCodeView;
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, LiveCodeId, TenantId};
use siyu_domain::wecom::WecomStaff;
use siyu_domain::wecom::live_code::{LiveCode, Rotation};

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FormErrors, cst, fmt_time, label, sep};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::console::wecom::corps;
use crate::console::{Bar, bars_scaled};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/live-codes";
/// Days the detail chart covers.
const DAYS: i64 = 30;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .post(PATH, form::create)
        .get("/console/live-codes/new", form::new_page)
        .get("/console/live-codes/{id}", detail)
        .get("/console/live-codes/{id}/edit", form::edit_page)
        .post("/console/live-codes/{id}", form::update)
        .post("/console/live-codes/{id}/archive", archive)
        .get("/console/welcome", welcome::page)
        .post("/console/welcome", welcome::save)
        .into_router()
}

/// The rotations in the order the form offers them.
const ROTATIONS: [Rotation; 4] = [Rotation::RoundRobin, Rotation::Sequential, Rotation::Random, Rotation::LeastLoaded];

fn rotation_str(r: Rotation) -> &'static str {
    match r {
        Rotation::RoundRobin => "round_robin",
        Rotation::Sequential => "sequential",
        Rotation::Random => "random",
        Rotation::LeastLoaded => "least_loaded",
    }
}

fn parse_rotation(s: &str) -> Option<Rotation> {
    ROTATIONS.into_iter().find(|r| rotation_str(*r) == s)
}

/// The staff of a corp a code can route to: active, with the customer-contact permission.
async fn eligible_staff(state: &AppState, tenant: TenantId, corp: CorpId) -> Result<Vec<WecomStaff>, AppError> {
    let staff = state.app.store.wecom().staff(tenant, corp).await?;
    Ok(staff.into_iter().filter(|s| s.contact_enabled && s.status == 1).collect())
}

/// Staff names by corp and userid, fetched once per corp.
#[derive(Default)]
struct Names(HashMap<CorpId, HashMap<String, String>>);

impl Names {
    async fn load(&mut self, state: &AppState, tenant: TenantId, corp: CorpId) -> Result<(), AppError> {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.0.entry(corp) {
            let staff = state.app.store.wecom().staff(tenant, corp).await?;
            slot.insert(staff.into_iter().map(|s| (s.userid, s.name)).collect());
        }
        Ok(())
    }

    /// `张三`, or the userid when WeCom's directory does not know it.
    fn of(&self, corp: CorpId, userid: &str) -> String {
        self.0.get(&corp).and_then(|m| m.get(userid)).cloned().unwrap_or_else(|| userid.to_string())
    }

    fn list(&self, tr: Tr, corp: CorpId, userids: &[String]) -> String {
        userids.iter().map(|u| self.of(corp, u)).collect::<Vec<_>>().join(sep(tr))
    }
}

/// Inline errors of the code and welcome forms in the console's words (`live_codes.err.<field>`, the app's
/// reason as the tooltip), naming the staff member or the row the reason names.
fn code_errors(tr: Tr, e: &AppError) -> FormErrors {
    let mut errors = FormErrors::from_error(tr, e, "name");
    let (AppError::Invalid(i), Some(first)) = (e, errors.0.first_mut()) else {
        return errors;
    };
    let reason = i.reason.as_str();
    let (key, who) = if i.field == "staff" && reason.contains(" is not active staff") {
        ("live_codes.err.staff_unknown".to_string(), reason.split(" is not active staff").next())
    } else if i.field == "staff" && reason.starts_with("daily cap of ") {
        let rest = &reason["daily cap of ".len()..];
        ("live_codes.err.staff_cap".to_string(), rest.split(" must").next())
    } else {
        (format!("live_codes.err.{}", i.field), None)
    };
    let message = tr.t(&key);
    if message == key {
        return errors;
    }
    let mut message = message.replace("{u}", who.unwrap_or(""));
    let row = reason
        .strip_prefix("slot ")
        .or_else(|| reason.strip_prefix("variant "))
        .and_then(|r| r.split(':').next())
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()));
    if let Some(n) = row {
        message.push_str(&tr.t("live_codes.err.row").replace("{n}", n));
    }
    first.message = message;
    errors
}

/// One code as the list (and the detail page's head) shows it.
pub struct CodeRow {
    pub id: String,
    pub name: String,
    pub channel: String,
    pub qr: Option<String>,
    /// The staff the code points at now.
    pub current: String,
    pub adds: i64,
    pub adds_today: i64,
    pub deletions: i64,
    pub conversions: i64,
    pub welcomes: i64,
    pub active: bool,
    pub created: String,
}

impl CodeRow {
    fn of(tr: Tr, v: &LiveCodeView, names: &Names) -> Self {
        let c = &v.code;
        Self {
            id: c.id.to_string(),
            name: c.name.clone(),
            channel: c.channel.clone(),
            qr: c.qr_code.clone().filter(|q| !q.is_empty()),
            current: names.list(tr, c.corp, &c.current),
            adds: v.stats.adds,
            adds_today: v.stats.adds_today,
            deletions: v.stats.deletions,
            conversions: v.stats.conversions,
            welcomes: v.stats.welcomes_sent,
            active: c.active,
            created: fmt_time(&c.created_at),
        }
    }
}

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    archived: Option<String>,
}

#[derive(Template)]
#[template(path = "live_codes.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<CodeRow>,
    archived: bool,
    can_edit: bool,
}

async fn list(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<ListParams>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "live_codes");
    let tr = chrome.tr;
    let archived = q.archived.as_deref().is_some_and(|a| !a.is_empty() && a != "0");
    let codes = state.app.live_codes(&ca.actor, archived).await?;
    let mut names = Names::default();
    for v in &codes {
        names.load(&state, ca.actor.tenant, v.code.corp).await?;
    }
    let page = ListPage {
        rows: codes.iter().map(|v| CodeRow::of(tr, v, &names)).collect(),
        archived,
        can_edit: ca.actor.can(Permission::CustomersWrite),
        chrome,
    };
    Ok(render(&page))
}

/// One staff member behind a code, with their daily cap.
pub struct StaffCap {
    pub name: String,
    pub userid: String,
    /// `每天 20 人` or `不限`.
    pub cap: String,
}

/// Weekday numbers as words: `周一、周三`.
fn weekdays(tr: Tr, days: &[u8]) -> String {
    days.iter().map(|d| label(tr, "live_codes.day", &d.to_string())).collect::<Vec<_>>().join(sep(tr))
}

#[derive(Template)]
#[template(path = "live_code_detail.html")]
struct DetailPage {
    chrome: Chrome,
    code: CodeRow,
    state: String,
    corp_name: String,
    rotation: String,
    rotation_hint: String,
    staff: Vec<StaffCap>,
    backup: String,
    /// `周一、周二 09:00–18:00：张三、李四`.
    slots: Vec<String>,
    skip_verify: bool,
    exclusive: bool,
    tags: String,
    remark_template: String,
    description: String,
    welcome_text: Option<String>,
    welcome_attachments: usize,
    welcome_variants: usize,
    /// The slowest welcome's latency (`—` before any).
    welcome_max: String,
    chart: Vec<Bar>,
    chart_max: i64,
    chart_total: i64,
    can_edit: bool,
}

/// The last [`DAYS`] days up to `today`, days without adds at 0.
fn daily_series(today: NaiveDate, daily: &[(NaiveDate, i64)]) -> Vec<(NaiveDate, i64)> {
    let counts: HashMap<NaiveDate, i64> = daily.iter().copied().collect();
    (0..DAYS)
        .rev()
        .map(|back| today - Duration::days(back))
        .map(|d| (d, counts.get(&d).copied().unwrap_or(0)))
        .collect()
}

fn routing_view(tr: Tr, code: &LiveCode, names: &Names) -> (Vec<StaffCap>, String, Vec<String>) {
    let r = &code.def.routing;
    let staff = r
        .staff
        .iter()
        .map(|s| StaffCap {
            name: names.of(code.corp, &s.userid),
            userid: s.userid.clone(),
            cap: match s.daily_cap {
                Some(n) => tr.t("live_codes.cap_per_day").replace("{n}", &n.to_string()),
                None => tr.t("live_codes.no_cap").to_string(),
            },
        })
        .collect();
    let backup = names.list(tr, code.corp, &r.backup);
    let slots = r
        .schedule
        .iter()
        .map(|s| {
            format!(
                "{} {}–{}：{}",
                weekdays(tr, &s.weekdays),
                s.start.format("%H:%M"),
                s.end.format("%H:%M"),
                names.list(tr, code.corp, &s.staff)
            )
        })
        .collect();
    (staff, backup, slots)
}

async fn detail(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: LiveCodeId = parse_id(&id)?;
    let v = state.app.live_code(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "live_codes");
    let tr = chrome.tr;
    let tenant = ca.actor.tenant;
    let mut names = Names::default();
    names.load(&state, tenant, v.code.corp).await?;
    let corp_name =
        corps(&state, tenant, true).await?.into_iter().find(|c| c.0 == v.code.corp).map(|c| c.1).unwrap_or_default();
    let tag_names: HashMap<String, String> = state
        .app
        .tag_groups(&ca.actor)
        .await?
        .into_iter()
        .flat_map(|g| g.tags.into_iter().map(|t| (t.tag.id.to_string(), t.tag.name)))
        .collect();
    let c = &v.code;
    let tags = c
        .def
        .tag_ids
        .iter()
        .map(|t| tag_names.get(&t.to_string()).cloned().unwrap_or_else(|| t.to_string()))
        .collect::<Vec<_>>()
        .join(sep(tr));
    let (staff, backup, slots) = routing_view(tr, c, &names);
    let today = state.app.now().with_timezone(&cst()).date_naive();
    let today = v.daily.iter().map(|d| d.0).max().map_or(today, |last| last.max(today));
    let series = daily_series(today, &v.daily);
    let chart_max = series.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let rotation = rotation_str(c.def.routing.rotation);
    let welcome = c.def.welcome.as_ref();
    let page = DetailPage {
        state: c.state.clone(),
        corp_name,
        rotation: label(tr, "live_codes.rotation", rotation),
        rotation_hint: label(tr, "live_codes.rotation_hint", rotation),
        staff,
        backup,
        slots,
        skip_verify: c.def.skip_verify,
        exclusive: c.def.exclusive,
        tags,
        remark_template: c.def.remark_template.clone().unwrap_or_default(),
        description: c.def.description.clone().unwrap_or_default(),
        welcome_text: welcome.map(|w| w.text.clone()).filter(|t| !t.trim().is_empty()),
        welcome_attachments: welcome.map_or(0, |w| w.attachments.len()),
        welcome_variants: welcome.map_or(0, |w| w.variants.len()),
        welcome_max: v.stats.welcome_max_ms.map_or_else(|| "—".to_string(), |ms| format!("{ms} ms")),
        chart: bars_scaled(&series, chart_max),
        chart_max,
        chart_total: series.iter().map(|d| d.1).sum(),
        can_edit: ca.actor.can(Permission::CustomersWrite),
        code: CodeRow::of(tr, &v, &names),
        chrome,
    };
    Ok(render(&page))
}

/// Retires a code (its WeCom contact way is deleted; its history stays).
async fn archive(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: LiveCodeId = parse_id(&id)?;
    state.app.live_code(&post.ca.actor, id).await?;
    state.app.archive_live_code(&post.ca.actor, id).await?;
    Ok(Redirect::to(PATH).into_response())
}
