//! The activity card of the customer page: timeline entries, resolved events and orders in one list,
//! newest first, with a kind and a source filter and a "more" link. Both the filter form and the link load
//! `GET /console/customers/{id}/timeline?kind=&source=&cursor=` with htmx, which answers the list's items
//! (`timeline_items.html`); without htmx the full page takes `kind`, `source` and `timeline_cursor`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use serde_json::Value;
use siyu_app::AppError;
use siyu_app::activity::{ActivityFilter, ActivityItem, activity_filter};
use siyu_domain::activity::ActivityKind;
use siyu_domain::id::{CustomerId, UserId};
use siyu_domain::order::Platform;
use siyu_domain::page::PageRequest;
use siyu_domain::source::SourceKind;

use super::parse_id;
use super::timeline::{self, More, TimelineRow, describe};
use super::view::{fmt_time, label, yuan};
use crate::auth::ConsoleActor;
use crate::console::orders::views::{platform_label, status_label};
use crate::console::page::{Chrome, ConsoleResult, render};
use crate::i18n::Tr;
use crate::state::AppState;

/// Timeline sources offered in the source filter (`import` is offered once, with the event sources; the
/// filter matches it on both).
const TIMELINE_SOURCES: [&str; 4] = ["console", "api", "order_import", "sdk"];

/// One `<option>`: value, label, selected.
pub type Choice = (String, String, bool);

/// The filter form above the list.
pub struct ActivityFilterForm {
    pub kinds: Vec<Choice>,
    /// (group label, options): event source kinds, order platforms, timeline sources.
    pub sources: Vec<(String, Vec<Choice>)>,
    /// `&kind=…&source=…` for links, empty without a filter.
    pub query: String,
}

impl ActivityFilterForm {
    pub fn new(tr: Tr, f: &ActivityFilter) -> Self {
        let chosen = f.source.as_deref().unwrap_or("");
        let mut kinds = vec![("all".to_string(), tr.t("activity.kind.all").to_string(), f.kind.is_none())];
        kinds.extend(
            ActivityKind::ALL
                .iter()
                .map(|k| (k.as_str().to_string(), label(tr, "activity.kind", k.as_str()), f.kind == Some(*k))),
        );
        let choice = |v: &str, l: String| (v.to_string(), l, v == chosen);
        let sources = vec![
            (
                tr.t("activity.sources_events").to_string(),
                SourceKind::ALL.iter().map(|k| choice(k.as_str(), label(tr, "sources.kind", k.as_str()))).collect(),
            ),
            (
                tr.t("activity.sources_orders").to_string(),
                Platform::ALL.iter().map(|p| choice(p.as_str(), platform_label(tr, *p))).collect(),
            ),
            (
                tr.t("activity.sources_timeline").to_string(),
                TIMELINE_SOURCES.iter().map(|s| choice(s, label(tr, "source", s))).collect(),
            ),
        ];
        Self { kinds, sources, query: query(f) }
    }
}

/// The filter as URL query parameters (`&kind=orders&source=jd`).
pub fn query(f: &ActivityFilter) -> String {
    let mut q = String::new();
    if let Some(k) = f.kind {
        q.push_str(&format!("&kind={}", k.as_str()));
    }
    if let Some(s) = &f.source {
        q.push_str(&format!("&source={}", crate::auth::urlencode(s)));
    }
    q
}

/// The "more" link after a page, keeping the filter.
pub fn more(tr: Tr, customer: &str, cursor: &str, f: &ActivityFilter) -> More {
    let mut m = More::new(tr, customer, cursor);
    let q = query(f);
    if !q.is_empty() {
        m.href = m.href.replacen("#timeline", &format!("{q}#timeline"), 1);
        m.hx.push_str(&q);
    }
    m
}

/// `key=value` pairs of an event's properties, the first few, shortened.
fn properties(p: &Value) -> String {
    let Some(map) = p.as_object() else { return String::new() };
    let mut parts: Vec<String> = map
        .iter()
        .take(4)
        .map(|(k, v)| {
            let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            let v: String = if v.chars().count() > 40 { v.chars().take(40).collect::<String>() + "…" } else { v };
            format!("{k}={v}")
        })
        .collect();
    if map.len() > 4 {
        parts.push("…".into());
    }
    parts.join(" · ")
}

/// The list's rows, described in words.
pub fn rows(tr: Tr, items: &[ActivityItem], names: &HashMap<UserId, String>) -> Vec<TimelineRow> {
    items
        .iter()
        .filter_map(|item| {
            let when = fmt_time(&item.at);
            if let Some(e) = &item.timeline {
                let (title, detail) = describe(tr, e, names);
                let actor = e
                    .actor_id
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| tr.t("timeline.system").to_string());
                return Some(TimelineRow {
                    kind: e.kind.clone(),
                    title,
                    detail,
                    actor,
                    source: label(tr, "source", &e.source),
                    when,
                });
            }
            if let Some(e) = &item.event {
                let name = e.name.clone().unwrap_or_else(|| e.event_type.clone());
                return Some(TimelineRow {
                    kind: "event".into(),
                    title: format!("{} · {name}", tr.t("activity.event")),
                    detail: properties(&e.properties),
                    actor: e.source_name.clone(),
                    source: label(tr, "sources.kind", e.source_kind.as_str()),
                    when,
                });
            }
            item.order.as_ref().map(|o| {
                let mut detail = vec![o.platform_order_id.clone(), status_label(tr, o.status), yuan(o.paid_fen)];
                if o.refunded_fen > 0 {
                    detail.push(format!("{} {}", tr.t("order.refunded"), yuan(o.refunded_fen)));
                }
                TimelineRow {
                    kind: "order".into(),
                    title: tr.t("activity.order_placed").to_string(),
                    detail: detail.join(" · "),
                    actor: if o.shop.is_empty() { "—".into() } else { o.shop.clone() },
                    source: platform_label(tr, o.platform),
                    when,
                }
            })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "timeline_items.html")]
pub struct TimelineFragment {
    pub entries: Vec<TimelineRow>,
    pub more: Option<More>,
    /// Shown when the (filtered) list has nothing.
    pub empty: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct ActivityQuery {
    cursor: Option<String>,
    kind: Option<String>,
    source: Option<String>,
}

/// The activity list's items: a further page (htmx puts it in place of the "more" link), or the first page
/// under a new filter (htmx replaces the list's items).
pub async fn timeline(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<ActivityQuery>,
) -> ConsoleResult {
    let id: CustomerId = parse_id(&id)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "customers").tr;
    let page = PageRequest::parse(q.cursor.as_deref(), Some(timeline::PAGE)).map_err(AppError::Invalid)?;
    let filter: ActivityFilter = activity_filter(q.kind.as_deref(), q.source.as_deref()).map_err(AppError::Invalid)?;
    let tl = state.app.customer_activity(&ca.actor, id, &filter, page).await?;
    let names = state.app.member_names(&ca.actor).await?;
    let fragment = TimelineFragment {
        entries: rows(tr, &tl.items, &names),
        more: tl.next_cursor.as_deref().map(|cur| more(tr, &id.to_string(), cur, &filter)),
        empty: (tl.items.is_empty() && page.after.is_none()).then(|| tr.t("activity.empty").to_string()),
    };
    Ok(render(&fragment))
}
