//! One segment's page (`/console/segments/{id}`): its header and definition, the 30-day chart of its size
//! with entries and exits, the members (cursor-paged, within the member's scope) and the latest entries and
//! exits; and the posts that refresh, archive, restore and delete it, each redirecting back with a notice.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_domain::access::Permission;
use siyu_domain::id::SegmentId;
use siyu_domain::page::PageRequest;
use siyu_domain::segment::{ChangeOp, SegmentKind};

use super::{Day, MemberRow, Notice, PATH, kind_label, segment_error, series, today};
use crate::auth::{ConsoleActor, urlencode};
use crate::console::customers::parse_id;
use crate::console::customers::view::{fmt_opt, fmt_time, label};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::state::AppState;

/// Members per page.
const PAGE: u32 = 50;
/// Entries and exits shown.
const CHANGES: u32 = 30;

/// One day's bar of the chart, in SVG user units (600 × 160 plot area, as the dashboard's).
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub height: i64,
    /// Shown under every fifth bar.
    pub label: Option<String>,
    pub title: String,
}

fn bars(tr: Tr, days: &[Day]) -> (Vec<Bar>, i64) {
    let max = days.iter().map(|d| d.members).max().unwrap_or(0).max(1);
    let width = 600 / (days.len().max(1) as i64);
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let height = d.members * 150 / max;
            let title = tr
                .t("segments.bar_title")
                .replace("{day}", &d.day.format("%Y-%m-%d").to_string())
                .replace("{members}", &d.members.to_string())
                .replace("{entered}", &d.entered.to_string())
                .replace("{exited}", &d.exited.to_string());
            Bar {
                x: i as i64 * width + 2,
                y: 160 - height,
                height,
                label: (i % 5 == 0).then(|| d.day.format("%m-%d").to_string()),
                title,
            }
        })
        .collect();
    (bars, max)
}

/// An entry or exit as the page lists it.
pub struct ChangeRow {
    pub customer: String,
    /// Empty when the customer no longer exists.
    pub name: String,
    pub entered: bool,
    pub op: String,
    pub reason: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "segment_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    name: String,
    description: String,
    /// The tag members hold automatically (`组/标签`).
    rule_tag: Option<String>,
    dynamic: bool,
    kind: String,
    archived: bool,
    member_count: i64,
    version: i64,
    refreshed: String,
    text: String,
    bars: Vec<Bar>,
    chart_max: i64,
    /// Days with entries or exits, newest first: (day, members, entered, exited).
    busy_days: Vec<(String, i64, i64, i64)>,
    members: Vec<MemberRow>,
    visible: i64,
    first_url: Option<String>,
    next_url: Option<String>,
    /// None when the member's scope does not allow the whole log.
    changes: Option<Vec<ChangeRow>>,
    can_manage: bool,
    can_export: bool,
    /// The scheduled ad audiences card (members with `customers_export`).
    audience_syncs: Option<super::audience_syncs::Card>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    pub cursor: Option<String>,
    #[serde(flatten)]
    pub notice: Notice,
}

pub async fn show(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> ConsoleResult {
    let (app, a) = (&state.app, &ca.actor);
    let id: SegmentId = parse_id(&id)?;
    let chrome = Chrome::new(&ca.user, Some(a), "segments");
    let tr = chrome.tr;
    let s = app.get_segment(a, id).await?;
    let days = series(&state, a, &s, today(&state, a).await?).await?;
    let (bars, chart_max) = bars(tr, &days);
    let busy_days = days
        .iter()
        .rev()
        .filter(|d| d.entered > 0 || d.exited > 0)
        .map(|d| (d.day.format("%Y-%m-%d").to_string(), d.members, d.entered, d.exited))
        .collect();
    let page = PageRequest::parse(q.cursor.as_deref(), Some(PAGE)).map_err(AppError::from)?;
    let (members, visible) = app.segment_members(a, id, page).await?;
    let changes = match app.latest_segment_changes(a, id, CHANGES).await {
        Ok((list, names)) => Some(
            list.into_iter()
                .map(|c| ChangeRow {
                    customer: c.customer_id.to_string(),
                    name: names.get(&c.customer_id).cloned().unwrap_or_default(),
                    entered: c.op == ChangeOp::Enter,
                    op: label(tr, "segments.change", c.op.as_str()),
                    reason: label(tr, "segments.reason", c.reason.as_str()),
                    at: fmt_time(&c.at),
                })
                .collect(),
        ),
        Err(AppError::Forbidden) => None,
        Err(e) => return Err(e.into()),
    };
    let audience_syncs = super::audience_syncs::card(&state, a, tr, id).await?;
    let page = DetailPage {
        id: s.id.to_string(),
        name: s.name,
        description: s.description,
        rule_tag: s.rule_tag_name.clone(),
        dynamic: s.kind == SegmentKind::Dynamic,
        kind: kind_label(tr, s.kind),
        archived: s.archived,
        member_count: s.member_count,
        version: s.version,
        refreshed: fmt_opt(&s.refreshed_at),
        text: s.text,
        bars,
        chart_max,
        busy_days,
        members: members.items.into_iter().map(MemberRow::new).collect(),
        visible,
        first_url: q.cursor.is_some().then(|| format!("{PATH}/{id}")),
        next_url: members.next_cursor.map(|c| format!("{PATH}/{id}?cursor={}", urlencode(&c))),
        changes,
        can_manage: a.can(Permission::SegmentsManage),
        can_export: a.can(Permission::CustomersExport),
        audience_syncs,
        notice: q.notice.message(tr),
        error: q.notice.error,
        chrome,
    };
    Ok(render(&page))
}

/// Back to the segment's page with `done` (a query string), or with the refusal as an inline error.
fn back(ca: &ConsoleActor, id: SegmentId, result: Result<String, AppError>) -> ConsoleResult {
    let target = match result {
        Ok(done) => format!("{PATH}/{id}?{done}"),
        Err(e @ (AppError::NotFound | AppError::Forbidden)) => return Err(e.into()),
        Err(e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "segments").tr;
            format!("{PATH}/{id}?error={}", urlencode(&segment_error(tr, &e)))
        }
    };
    Ok(Redirect::to(&target).into_response())
}

/// `POST /console/segments/{id}/refresh`: recomputes a dynamic segment now.
pub async fn refresh(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: SegmentId = parse_id(&id)?;
    let result = state.app.refresh_segment(&post.ca.actor, id).await;
    back(&post.ca, id, result.map(|r| format!("done=refreshed&entered={}&exited={}", r.entered, r.exited)))
}

async fn set_archived(state: &AppState, id: &str, post: &FormPost, archived: bool) -> ConsoleResult {
    let id: SegmentId = parse_id(id)?;
    let result = state.app.archive_segment(&post.ca.actor, id, archived).await;
    back(&post.ca, id, result.map(|_| format!("done={}", if archived { "archived" } else { "restored" })))
}

pub async fn archive(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    set_archived(&state, &id, &post, true).await
}

pub async fn restore(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    set_archived(&state, &id, &post, false).await
}

/// `POST /console/segments/{id}/delete`: deletes it with its members and history, back to the list.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: SegmentId = parse_id(&id)?;
    match state.app.delete_segment(&post.ca.actor, id).await {
        Ok(()) => Ok(Redirect::to(&format!("{PATH}?done=deleted")).into_response()),
        Err(e) => back(&post.ca, id, Err(e)),
    }
}
