//! Console: 互动雷达 (interaction radar). `/console/radar` shows the last 30 days of the tracked links the
//! member may see — opens per day as an SVG bar chart, totals, the per-link and per-staff tables, the latest
//! opens (who opened what, when, how long, for which staff member) — and a form minting a link (staff member,
//! customer, URL with title or material id, open tag) that keeps what was typed with the error shown;
//! `/console/radar/export` downloads the opens as XLSX.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use chrono::FixedOffset;
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::radar::RadarStats;
use siyu_domain::id::{CustomerId, TagId, UserId};
use siyu_domain::link::{self, LinkOpen, NewLink};
use uuid::Uuid;

use crate::auth::ConsoleActor;
use crate::console::customers::view::{FormErrors, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::console::transfer::download;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/radar";
const DAYS: i64 = 30;
const FEED: i64 = 50;
const CHART_W: i64 = 600;
const CHART_H: i64 = 120;

pub fn router() -> Router<AppState> {
    Routes::new().get(PATH, page).post("/console/radar/links", mint).get("/console/radar/export", export).into_router()
}

/// One day's bar of the chart.
pub struct DayBar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub label: String,
    pub opens: i64,
}

/// One line of the opens feed.
pub struct FeedRow {
    pub open: LinkOpen,
    pub at: String,
    pub read: String,
}

/// What the mint form holds (after a refusal: what was typed) and the link it made.
#[derive(Default)]
pub struct Draft {
    pub staff_id: String,
    pub customer_id: String,
    pub url: String,
    pub title: String,
    pub material_id: String,
    pub open_tag_id: String,
    pub minted: Option<String>,
}

#[derive(Template)]
#[template(path = "radar.html")]
struct RadarPage {
    chrome: Chrome,
    stats: RadarStats,
    bars: Vec<DayBar>,
    max_opens: i64,
    feed: Vec<FeedRow>,
    staff: Vec<(UserId, String)>,
    errors: FormErrors,
    draft: Draft,
}

impl RadarPage {
    fn is_staff(&self, id: &UserId) -> bool {
        self.draft.staff_id == id.to_string()
    }
}

/// `1 分 05 秒` style reading time; empty for none.
pub fn read_time(secs: i64) -> String {
    match secs {
        s if s <= 0 => String::new(),
        s if s < 60 => format!("{s}s"),
        s => format!("{}m{:02}s", s / 60, s % 60),
    }
}

fn bars(stats: &RadarStats) -> (Vec<DayBar>, i64) {
    let max = stats.per_day.iter().map(|d| d.opens).max().unwrap_or(0).max(1);
    let n = stats.per_day.len().max(1) as i64;
    let slot = CHART_W / n;
    let bars = stats
        .per_day
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let height = d.opens * CHART_H / max;
            DayBar {
                x: i as i64 * slot + 1,
                y: CHART_H - height,
                width: (slot - 2).max(1),
                height,
                label: d.day.get(5..).unwrap_or(&d.day).to_string(),
                opens: d.opens,
            }
        })
        .collect();
    (bars, max)
}

fn feed(opens: Vec<LinkOpen>, offset: FixedOffset) -> Vec<FeedRow> {
    opens
        .into_iter()
        .map(|o| FeedRow {
            at: o.opened_at.with_timezone(&offset).format("%m-%d %H:%M").to_string(),
            read: read_time(o.duration_secs),
            open: o,
        })
        .collect()
}

async fn show(state: &AppState, ca: &ConsoleActor, errors: FormErrors, draft: Draft) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "radar");
    let stats = state.app.radar_stats(&ca.actor, DAYS).await?;
    let offset = state.app.tenant_offset(ca.actor.tenant).await?;
    let feed = feed(state.app.recent_link_opens(&ca.actor, FEED).await?, offset);
    let staff = state.app.link_staff_choices(&ca.actor).await?;
    let (bars, max_opens) = bars(&stats);
    Ok(render(&RadarPage { chrome, stats, bars, max_opens, feed, staff, errors, draft }))
}

#[derive(Debug, Default, Deserialize)]
struct PageParams {
    minted: Option<String>,
}

async fn page(State(state): State<AppState>, ca: ConsoleActor, Query(p): Query<PageParams>) -> ConsoleResult {
    let minted = p.minted.filter(|c| link::parse_code(c).is_some()).map(|c| state.app.short_url(&c));
    show(&state, &ca, FormErrors::default(), Draft { minted, ..Draft::default() }).await
}

fn uuid_field(fields: &[(String, String)], key: &str) -> Result<Option<Uuid>, AppError> {
    match text(fields, key) {
        s if s.is_empty() => Ok(None),
        s => Uuid::try_parse(&s).map(Some).map_err(|_| AppError::invalid(key, "not_an_id")),
    }
}

fn input_of(fields: &[(String, String)]) -> Result<NewLink, AppError> {
    let staff = uuid_field(fields, "staff_id")?.ok_or_else(|| AppError::invalid("staff_id", "required"))?;
    let some = |k: &str| Some(text(fields, k)).filter(|s| !s.is_empty());
    Ok(NewLink {
        material_id: uuid_field(fields, "material_id")?,
        url: some("url"),
        title: some("title"),
        staff_id: UserId(staff),
        customer_id: uuid_field(fields, "customer_id")?.map(CustomerId),
        open_tag_id: uuid_field(fields, "open_tag_id")?.map(TagId),
        show_page: text(fields, "show_page") == "on",
    })
}

async fn mint(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let draft = Draft {
        staff_id: text(&fields, "staff_id"),
        customer_id: text(&fields, "customer_id"),
        url: text(&fields, "url"),
        title: text(&fields, "title"),
        material_id: text(&fields, "material_id"),
        open_tag_id: text(&fields, "open_tag_id"),
        minted: None,
    };
    let result = match input_of(&fields) {
        Ok(input) => state.app.mint_link(&ca.actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok((link, _)) => Ok(Redirect::to(&format!("{PATH}?minted={}", link.code)).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::NotFound | AppError::Forbidden | AppError::CustomerErased)) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "radar").tr;
            let field = if matches!(e, AppError::NotFound) { "customer_id" } else { "form" };
            show(&state, &ca, FormErrors::from_error(tr, &e, field), draft).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn export(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "radar").tr;
    let headers = [
        tr.t("radar.col.time"),
        tr.t("radar.col.link"),
        tr.t("radar.col.customer"),
        tr.t("radar.col.staff"),
        tr.t("radar.col.seconds"),
        tr.t("radar.col.wechat"),
    ];
    let bytes = state.app.radar_opens_xlsx(&ca.actor, 90, &headers).await?;
    let ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    Ok(download(ct, "link-opens.xlsx", Body::from(bytes)))
}
