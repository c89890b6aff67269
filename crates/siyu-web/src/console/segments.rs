//! Console pages "分群": saved audiences (siyu_app::segments). This file holds the router, the list with
//! each segment's 30-day trend, and what the pages share (the daily series both pages chart, member rows,
//! error messages); the form lives in `form` with its condition composer's catalog in `composer`, the
//! live count in `preview`, one segment's page and its actions in `detail`, its downloads in `export`.

pub mod audience_syncs;
pub mod composer;
pub mod detail;
pub mod export;
pub mod form;
pub mod preview;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use siyu_app::customers::CustomerSummary;
use siyu_app::segments::SegmentView;
use siyu_app::{Actor, AppError};
use siyu_domain::access::Permission;
use siyu_domain::segment::{SegmentKind, SegmentSize};

use super::customers::view::{error_message, fmt_opt, fmt_time, label};
use super::page::{Chrome, ConsoleResult, render};
use crate::auth::{ConsoleActor, urlencode};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub const PATH: &str = "/console/segments";
/// Days the trend and the chart cover.
pub const TREND_DAYS: i64 = 30;
/// A definition the empty list offers as a start.
const EXAMPLE: &str = "order_count >= 3 and last_order_at within 90d";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/console/segments", list)
        .post("/console/segments", form::create)
        .get("/console/segments/new", form::new_page)
        .post("/console/segments/preview", preview::preview)
        .get("/console/segments/{id}", detail::show)
        .post("/console/segments/{id}", form::update)
        .get("/console/segments/{id}/edit", form::edit_page)
        .post("/console/segments/{id}/refresh", detail::refresh)
        .post("/console/segments/{id}/archive", detail::archive)
        .post("/console/segments/{id}/restore", detail::restore)
        .post("/console/segments/{id}/delete", detail::delete)
        .into_router()
        .merge(export::router())
        .merge(audience_syncs::router())
}

/// One day of a segment's size; every day of the window is present.
pub struct Day {
    pub day: NaiveDate,
    pub members: i64,
    pub entered: i64,
    pub exited: i64,
}

/// The tenant's today (sizes are kept per day in the tenant's time zone).
pub async fn today(state: &AppState, actor: &Actor) -> Result<NaiveDate, AppError> {
    let offset = state.app.tenant_offset(actor.tenant).await?;
    Ok(state.app.now().with_timezone(&offset).date_naive())
}

/// The last [`TREND_DAYS`] days of a segment, days without a change carrying the size before them.
pub async fn series(state: &AppState, actor: &Actor, s: &SegmentView, today: NaiveDate) -> Result<Vec<Day>, AppError> {
    let sizes = state.app.segment_sizes(actor, s.id, TREND_DAYS).await?;
    Ok(fill(today, TREND_DAYS, &sizes, s.member_count))
}

/// Every day from `today − days + 1` to `today`. A day without a row had no change; before the first row
/// the size is what that row started from, and with no row at all it is the current size.
pub fn fill(today: NaiveDate, days: i64, sizes: &[SegmentSize], current: i64) -> Vec<Day> {
    let rows: Vec<(NaiveDate, &SegmentSize)> =
        sizes.iter().filter_map(|s| NaiveDate::parse_from_str(&s.day, "%Y-%m-%d").ok().map(|d| (d, s))).collect();
    let mut level = rows.first().map_or(current, |(_, s)| (s.members - s.entered + s.exited).max(0));
    (0..days)
        .rev()
        .map(|back| today - Duration::days(back))
        .map(|day| match rows.iter().find(|(d, _)| *d == day) {
            Some((_, s)) => {
                level = s.members;
                Day { day, members: s.members, entered: s.entered, exited: s.exited }
            }
            None => Day { day, members: level, entered: 0, exited: 0 },
        })
        .collect()
}

/// The points of a 120 × 28 polyline over the members per day.
pub fn sparkline(days: &[Day]) -> String {
    let max = days.iter().map(|d| d.members).max().unwrap_or(0).max(1) as f64;
    let step = if days.len() > 1 { 120.0 / (days.len() - 1) as f64 } else { 0.0 };
    days.iter()
        .enumerate()
        .map(|(i, d)| format!("{:.1},{:.1}", i as f64 * step, 26.0 - d.members as f64 * 24.0 / max))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A customer in a members table or a preview's sample.
pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub phone: String,
    /// (tag, group)
    pub tags: Vec<(String, String)>,
    pub created: String,
}

impl MemberRow {
    pub fn new(c: CustomerSummary) -> Self {
        Self {
            id: c.customer.id.to_string(),
            name: c.customer.name,
            phone: c.phone.unwrap_or_default(),
            tags: c.tags.into_iter().map(|t| (t.name, t.group)).collect(),
            created: fmt_time(&c.customer.created_at),
        }
    }
}

pub fn kind_label(tr: Tr, kind: SegmentKind) -> String {
    label(tr, "segments.kind", kind.as_str())
}

/// A translated message for what a segment use case refused.
pub fn segment_error(tr: Tr, e: &AppError) -> String {
    match e {
        AppError::Conflict(m) if m.contains("segment with this name") => tr.t("segments.name_taken").to_string(),
        AppError::Conflict(m) if m.contains("refers to this segment") => {
            let name = m.split(['“', '”']).nth(1).unwrap_or("");
            tr.t("segments.in_use").replace("{name}", name)
        }
        AppError::Conflict(m) if m.contains("drives this tag") => {
            let name = m.split(['“', '”']).nth(1).unwrap_or("");
            tr.t("segments.rule_tag_taken").replace("{name}", name)
        }
        AppError::InvalidDefinition(errors) => {
            let parts: Vec<String> = errors.iter().map(|d| preview::problem_message(tr, d)).collect();
            format!("{}{}", tr.t("segments.invalid"), parts.join("；"))
        }
        other => error_message(tr, other),
    }
}

/// What a post redirected back with.
#[derive(Deserialize, Default)]
pub struct Notice {
    pub done: Option<String>,
    pub error: Option<String>,
    /// Numbers arrive as text: this struct is flattened into others, where serde reads no numbers.
    pub entered: Option<String>,
    pub exited: Option<String>,
}

impl Notice {
    pub fn message(&self, tr: Tr) -> Option<String> {
        let done = self.done.as_deref()?;
        let number = |n: &Option<String>| n.as_deref().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0).to_string();
        Some(
            label(tr, "segments.done", done)
                .replace("{entered}", &number(&self.entered))
                .replace("{exited}", &number(&self.exited)),
        )
    }
}

pub struct ListRow {
    pub id: String,
    pub name: String,
    pub dynamic: bool,
    pub kind: String,
    pub archived: bool,
    pub members: i64,
    pub trend: String,
    pub trend_title: String,
    pub refreshed: String,
    pub text: String,
    pub short: String,
}

#[derive(Template)]
#[template(path = "segments_list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ListRow>,
    can_manage: bool,
    example: &'static str,
    example_q: String,
    notice: Option<String>,
    error: Option<String>,
}

/// The first `n` characters, with `…` when cut.
pub fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

async fn list(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<Notice>) -> ConsoleResult {
    let (app, a) = (&state.app, &ca.actor);
    let chrome = Chrome::new(&ca.user, Some(a), "segments");
    let tr = chrome.tr;
    let today = today(&state, a).await?;
    let mut rows = Vec::new();
    for s in app.list_segments(a).await? {
        let days = series(&state, a, &s, today).await?;
        let first = days.first().map_or(0, |d| d.members);
        let trend_title = tr
            .t("segments.trend_title")
            .replace("{from}", &first.to_string())
            .replace("{to}", &s.member_count.to_string());
        rows.push(ListRow {
            id: s.id.to_string(),
            name: s.name,
            dynamic: s.kind == SegmentKind::Dynamic,
            kind: kind_label(tr, s.kind),
            archived: s.archived,
            members: s.member_count,
            trend: sparkline(&days),
            trend_title,
            refreshed: fmt_opt(&s.refreshed_at),
            short: truncate(&s.text, 80),
            text: s.text,
        });
    }
    let page = ListPage {
        rows,
        can_manage: a.can(Permission::SegmentsManage),
        example: EXAMPLE,
        example_q: urlencode(EXAMPLE),
        notice: q.message(tr),
        error: q.error,
        chrome,
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(day: &str, members: i64, entered: i64, exited: i64) -> SegmentSize {
        SegmentSize { day: day.into(), members, entered, exited }
    }

    #[test]
    fn days_without_a_change_carry_the_size_before_them() {
        let today = NaiveDate::from_ymd_opt(2024, 5, 10).unwrap_or_default();
        let sizes = [size("2024-05-07", 10, 10, 0), size("2024-05-09", 8, 1, 3)];
        let days = fill(today, 5, &sizes, 8);
        let members: Vec<i64> = days.iter().map(|d| d.members).collect();
        assert_eq!(members, vec![0, 10, 10, 8, 8]);
        assert_eq!((days[3].entered, days[3].exited), (1, 3));
        let flat = fill(today, 3, &[], 42);
        assert!(flat.iter().all(|d| d.members == 42));
        assert_eq!(sparkline(&flat), "0.0,2.0 60.0,2.0 120.0,2.0");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("标签任一高意向", 4), "标签任一…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
