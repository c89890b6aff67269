//! The live event debugger: the latest accepted events and, beside them, the latest quarantined items, of
//! one source or of all. The page polls itself every 2 s with htmx (`HX-Request` answers only the feed
//! fragment); polling pauses with the pause toggle or while a payload is expanded.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};
use siyu_domain::event::Message;
use siyu_domain::id::SourceId;
use siyu_domain::source::Source;

use super::{Snippets, base_url};
use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{cst, label};
use crate::console::page::{Chrome, ConsoleResult, local_time, render};
use crate::i18n::Tr;
use crate::state::AppState;

/// Rows of each list the debugger shows.
const FEED_LIMIT: u32 = 50;

/// Arrival times to the millisecond (the tooltip of the minute shown).
const EXACT: &str = "%Y-%m-%d %H:%M:%S%.3f";

/// One accepted event.
pub struct EventRow {
    pub time: String,
    /// To the millisecond, as a tooltip.
    pub exact: String,
    pub kind: &'static str,
    /// The event name (track), page or screen name, group id or previous id; empty for identify.
    pub name: String,
    pub user_id: String,
    pub anonymous_id: String,
    pub message_id: String,
    pub source: String,
    pub payload: String,
}

/// One quarantined item.
pub struct BadRow {
    pub time: String,
    pub exact: String,
    pub code: &'static str,
    pub reason: String,
    pub message: String,
    pub index: usize,
    pub source: String,
    pub item: String,
}

/// What the polled fragment shows.
pub struct Feed {
    /// The URL the fragment polls.
    pub url: String,
    pub events: Vec<EventRow>,
    pub bad: Vec<BadRow>,
    /// Whether rows name their source (the all-sources debugger).
    pub show_source: bool,
    pub refreshed: String,
}

#[derive(Template)]
#[template(path = "source_events.html")]
struct DebuggerPage {
    chrome: Chrome,
    tr: Tr,
    /// The source being watched; `None` for all sources.
    source: Option<(String, String, bool)>,
    snippets: Option<Snippets>,
    feed: Feed,
}

#[derive(Template)]
#[template(path = "source_feed.html")]
struct FeedFragment {
    tr: Tr,
    feed: Feed,
}

fn exact(t: &DateTime<Utc>) -> String {
    t.with_timezone(&cst()).format(EXACT).to_string()
}

fn event_name(m: &Message) -> String {
    let name = m.event.as_ref().or(m.name.as_ref()).or(m.group_id.as_ref()).or(m.previous_id.as_ref());
    name.cloned().unwrap_or_default()
}

fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

async fn feed(
    state: &AppState,
    ca: &ConsoleActor,
    tr: Tr,
    source: Option<&Source>,
    url: String,
) -> Result<Feed, siyu_app::AppError> {
    let (events, bad) = state.app.latest_events(&ca.actor, source.map(|s| s.id), FEED_LIMIT).await?;
    let names: HashMap<SourceId, String> = if source.is_some() {
        HashMap::new()
    } else {
        state.app.list_sources(&ca.actor).await?.into_iter().map(|s| (s.id, s.name)).collect()
    };
    let name_of = |id: &SourceId| names.get(id).cloned().unwrap_or_default();
    let events = events
        .into_iter()
        .map(|e| EventRow {
            time: local_time(e.received_at),
            exact: exact(&e.received_at),
            kind: e.message.kind.as_str(),
            name: event_name(&e.message),
            user_id: e.message.user_id.clone().unwrap_or_default(),
            anonymous_id: e.message.anonymous_id.clone().unwrap_or_default(),
            message_id: e.message.message_id.clone().unwrap_or_default(),
            source: name_of(&e.source_id),
            payload: pretty(&e.message),
        })
        .collect();
    let bad = bad
        .into_iter()
        .map(|q| BadRow {
            time: local_time(q.received_at),
            exact: exact(&q.received_at),
            code: q.error.code.as_str(),
            reason: label(tr, "sources.error", q.error.code.as_str()),
            message: q.error.message.clone(),
            index: q.error.index,
            source: name_of(&q.source_id),
            item: pretty(&q.error.item),
        })
        .collect();
    let refreshed = exact(&state.app.now());
    Ok(Feed { url, events, bad, show_source: source.is_none(), refreshed })
}

/// The page, or only the feed fragment for htmx polls.
fn respond(headers: &HeaderMap, page: DebuggerPage) -> ConsoleResult {
    let mut res = if headers.contains_key("hx-request") {
        render(&FeedFragment { tr: page.tr, feed: page.feed })
    } else {
        render(&page)
    };
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `GET /console/sources/{id}/events`: one source's debugger.
pub async fn source_events(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ConsoleResult {
    let id: SourceId = parse_id(&id)?;
    let source = state.app.get_source(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "sources");
    let tr = chrome.tr;
    let url = format!("/console/sources/{id}/events");
    let feed = feed(&state, &ca, tr, Some(&source), url).await?;
    let placeholder = source.key_prefix.clone();
    let snippets = Some(Snippets::new(&base_url(&state, &headers), &placeholder));
    let kind = label(tr, "sources.kind", source.kind.as_str());
    let page =
        DebuggerPage { chrome, tr, source: Some((source.name, kind, source.revoked_at.is_some())), snippets, feed };
    respond(&headers, page)
}

/// `GET /console/events`: every source's events, each row naming its source.
pub async fn all_events(State(state): State<AppState>, ca: ConsoleActor, headers: HeaderMap) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "sources");
    let tr = chrome.tr;
    let feed = feed(&state, &ca, tr, None, "/console/events".into()).await?;
    respond(&headers, DebuggerPage { chrome, tr, source: None, snippets: None, feed })
}

#[cfg(test)]
mod tests {
    use siyu_domain::event::MessageType;

    use super::*;

    #[test]
    fn the_name_column_shows_what_names_each_kind_of_call() {
        let mut m = Message::new(MessageType::Track);
        m.event = Some("Order Completed".into());
        assert_eq!(event_name(&m), "Order Completed");
        let mut m = Message::new(MessageType::Alias);
        m.previous_id = Some("anon-1".into());
        assert_eq!(event_name(&m), "anon-1");
        assert_eq!(event_name(&Message::new(MessageType::Identify)), "");
    }
}
