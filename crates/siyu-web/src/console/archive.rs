//! Console: 会话存档 (session archive). `/console/archive` is the alert inbox (filters by status, rule kind and
//! staff member; an XLSX export of what is shown) with a chart of the last 30 days' alerts per staff member
//! and the latest daily digests; `/console/archive/alerts/{id}` shows an alert with the messages around it
//! and takes the auditor's verdict. `chats` lists and opens conversations; `rules` keeps rules, word lists
//! and the dictionary.

mod chats;
mod rules;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use chrono::Duration;
use serde::Deserialize;
use siyu_app::archive::{AlertQuery, AlertVerdict, AlertView, Digest, MessageView, StaffStatRow};
use siyu_domain::access::Permission;
use siyu_domain::archive::{AlertStatus, RuleKind};
use siyu_domain::id::AlertId;

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{fmt_time, label, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::console::transfer::download;
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/archive";
const PAGE: i64 = 50;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, inbox)
        .get("/console/archive/alerts/export", export)
        .get("/console/archive/alerts/{id}", alert)
        .post("/console/archive/alerts/{id}/verdict", verdict)
        .into_router()
        .merge(chats::router())
        .merge(rules::router())
}

#[derive(Debug, Default, Deserialize)]
pub struct InboxParams {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub staff: Option<String>,
    pub offset: Option<i64>,
}

impl InboxParams {
    /// The filters; the inbox opens on open alerts.
    fn query(&self) -> AlertQuery {
        let status = match self.status.as_deref() {
            None => Some("open".to_string()),
            Some("all") | Some("") => None,
            Some(s) => AlertStatus::parse(s).map(|s| s.as_str().to_string()),
        };
        AlertQuery {
            status,
            kind: self.kind.as_deref().and_then(RuleKind::parse).map(|k| k.as_str().to_string()),
            staff_userid: self.staff.clone().filter(|s| !s.is_empty()),
            limit: PAGE,
            offset: self.offset.unwrap_or(0).max(0),
            ..AlertQuery::default()
        }
    }

    fn query_string(&self) -> String {
        let status = self.status.clone().unwrap_or_else(|| "open".into());
        format!(
            "status={}&kind={}&staff={}",
            crate::auth::urlencode(&status),
            crate::auth::urlencode(self.kind.as_deref().unwrap_or("")),
            crate::auth::urlencode(self.staff.as_deref().unwrap_or(""))
        )
    }
}

/// An alert as a row of the inbox.
pub struct AlertRow {
    pub alert: AlertView,
    pub at: String,
    pub kind: String,
    pub place: String,
    pub detail: String,
    pub status: String,
}

pub(crate) fn detail_text(tr: Tr, a: &AlertView) -> String {
    match a.kind.as_str() {
        "response_time" => tr.t("archive.detail.minutes").replace("{n}", &a.detail),
        "group_flood" => tr.t("archive.detail.flood").replace("{n}", &a.detail),
        "delete_customer" => tr.t("archive.detail.deleted").to_string(),
        _ => a.detail.clone(),
    }
}

fn row(tr: Tr, alert: AlertView) -> AlertRow {
    let place = alert.group_name.clone().or(alert.customer_name.clone()).unwrap_or_else(|| "—".into());
    AlertRow {
        at: fmt_time(&alert.occurred_at),
        kind: label(tr, "archive.kind", &alert.kind),
        detail: detail_text(tr, &alert),
        status: label(tr, "archive.status", alert.status.as_str()),
        place,
        alert,
    }
}

/// One staff member's bar in the 30-day chart.
pub struct StaffBar {
    pub name: String,
    pub total: i64,
    pub open: i64,
    pub width: i64,
    pub kinds: String,
}

fn staff_bars(tr: Tr, stats: &[StaffStatRow]) -> Vec<StaffBar> {
    let max = stats.iter().map(|s| s.total).max().unwrap_or(1).max(1);
    stats
        .iter()
        .take(15)
        .map(|s| StaffBar {
            name: s.staff_name.clone().or(s.staff_userid.clone()).unwrap_or_else(|| "—".into()),
            total: s.total,
            open: s.open,
            width: s.total * 400 / max,
            kinds: s
                .by_kind
                .iter()
                .map(|(k, n)| format!("{} {n}", label(tr, "archive.kind", k)))
                .collect::<Vec<_>>()
                .join(" · "),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "archive_alerts.html")]
struct InboxPage {
    chrome: Chrome,
    rows: Vec<AlertRow>,
    total: i64,
    offset: i64,
    next: Option<i64>,
    status: String,
    kind: String,
    staff: String,
    kinds: Vec<(String, String)>,
    query: String,
    bars: Vec<StaffBar>,
    digests: Vec<Digest>,
}

async fn inbox(State(state): State<AppState>, ca: ConsoleActor, Query(p): Query<InboxParams>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "archive");
    let tr = chrome.tr;
    let q = p.query();
    let (alerts, total) = state.app.alerts(&ca.actor, &q).await?;
    let now = state.app.now();
    // Up to an hour ahead: archive times come from WeCom's clock, which may run a little ahead of ours.
    let stats = state.app.alert_stats(&ca.actor, now - Duration::days(30), now + Duration::hours(1)).await?;
    let digests = state.app.alert_digests(&ca.actor).await?.into_iter().take(7).collect();
    let kinds = RuleKind::ALL.iter().map(|k| (k.as_str().to_string(), label(tr, "archive.kind", k.as_str()))).collect();
    let page = InboxPage {
        rows: alerts.into_iter().map(|a| row(tr, a)).collect(),
        total,
        offset: q.offset,
        next: (q.offset + PAGE < total).then_some(q.offset + PAGE),
        status: p.status.clone().unwrap_or_else(|| "open".into()),
        kind: p.kind.clone().unwrap_or_default(),
        staff: p.staff.clone().unwrap_or_default(),
        kinds,
        query: p.query_string(),
        bars: staff_bars(tr, &stats),
        digests,
        chrome,
    };
    Ok(render(&page))
}

async fn export(State(state): State<AppState>, ca: ConsoleActor, Query(p): Query<InboxParams>) -> ConsoleResult {
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "archive").tr;
    let keys = ["time", "rule", "kind", "staff", "place", "status", "detail", "excerpt", "note"];
    let headers: Vec<String> = keys.iter().map(|k| label(tr, "archive.col", k)).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let bytes = state.app.alerts_xlsx(&ca.actor, &p.query(), &headers).await?;
    let ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    Ok(download(ct, "archive-alerts.xlsx", Body::from(bytes)))
}

/// A message of an alert's context, marked when it is the alert's own.
pub struct ContextRow {
    pub message: MessageView,
    pub at: String,
    pub is_hit: bool,
}

#[derive(Template)]
#[template(path = "archive_alert.html")]
struct AlertPage {
    chrome: Chrome,
    item: AlertRow,
    context: Vec<ContextRow>,
    handled_at: String,
    can_judge: bool,
}

async fn alert(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id = AlertId(parse_id(&id)?);
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "archive");
    let (alert, context) = state.app.alert(&ca.actor, id).await?;
    let hit = alert.msgid.clone();
    let context = context
        .into_iter()
        .map(|m| ContextRow { at: fmt_time(&m.msgtime), is_hit: hit.as_deref() == Some(m.msgid.as_str()), message: m })
        .collect();
    let handled_at = alert.handled_at.as_ref().map(fmt_time).unwrap_or_default();
    let page = AlertPage {
        item: row(chrome.tr, alert),
        context,
        handled_at,
        can_judge: ca.actor.can(Permission::ArchiveAudit),
        chrome,
    };
    Ok(render(&page))
}

async fn verdict(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id = AlertId(parse_id(&id)?);
    state.app.alert(&ca.actor, id).await?;
    let status = AlertStatus::parse(&text(&fields, "status"))
        .ok_or_else(|| siyu_app::AppError::invalid("status", "expected_option"))?;
    state.app.judge_alert(&ca.actor, id, &AlertVerdict { status, note: text(&fields, "note") }).await?;
    Ok(Redirect::to(&format!("/console/archive/alerts/{}", id.0)).into_response())
}
