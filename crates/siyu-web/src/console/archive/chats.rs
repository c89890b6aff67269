//! Console: archived conversations. `/console/archive/chats` lists them (kind and staff filters, paging) with
//! each corp's archive cursor; with words (`q`) it lists the conversations holding a match, each with its hit
//! count and highlighted best match, or (`view=messages`) the matching messages best first, each linking to
//! its place in the thread. The app searches the full-text index; when the database answered instead (index
//! rebuilding or unavailable) the page says so. `/console/archive/chats/{id}` shows the thread as chat
//! bubbles, staff on the right, recalled messages struck through. Opening one is audited by the app.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use siyu_app::archive::{ConversationQuery, ConversationView, Cursor, MessageView, SearchSource};
use siyu_domain::id::ConversationId;
use uuid::Uuid;

use crate::auth::{ConsoleActor, urlencode};
use crate::console::customers::parse_id;
use crate::console::customers::view::{fmt_time, label};
use crate::console::page::{Chrome, ConsoleResult, render};
use crate::routes::Routes;
use crate::state::AppState;

const PAGE: i64 = 50;

pub fn router() -> Router<AppState> {
    Routes::new().get("/console/archive/chats", list).get("/console/archive/chats/{id}", thread).into_router()
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    kind: Option<String>,
    staff: Option<String>,
    q: Option<String>,
    /// `messages`: the matching messages instead of their conversations.
    view: Option<String>,
    offset: Option<i64>,
}

pub struct ChatRow {
    pub chat: ConversationView,
    pub kind: String,
    pub title: String,
    pub last: String,
    pub waiting: String,
    /// Where the thread opens: at the best match when there is one.
    pub href: String,
}

/// A matching message in the messages view.
pub struct HitRow {
    pub message: MessageView,
    pub at: String,
    pub href: String,
}

/// How a conversation is named: the group, or staff × customer.
fn title(c: &ConversationView) -> String {
    match c.kind.as_str() {
        "group" => c.group_name.clone().or(c.roomid.clone()).unwrap_or_default(),
        _ => {
            let staff = c.staff_name.clone().or(c.staff_userid.clone()).unwrap_or_default();
            let customer = c.customer_name.clone().or(c.external_userid.clone()).unwrap_or_default();
            format!("{staff} · {customer}")
        }
    }
}

pub struct CursorRow {
    pub max_seq: i64,
    pub messages: i64,
    pub ingested: String,
    pub notified: String,
}

#[derive(Template)]
#[template(path = "archive_chats.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ChatRow>,
    hits: Vec<HitRow>,
    messages_view: bool,
    total: i64,
    next: Option<i64>,
    kind: String,
    staff: String,
    q: String,
    /// The filters as a query string (without `view` and `offset`).
    filters: String,
    /// Why the database answered instead of the index (an i18n key), if it did.
    fallback: Option<&'static str>,
    cursors: Vec<CursorRow>,
}

/// The thread's address, at one message when given.
fn thread_href(conversation: Uuid, message: Option<Uuid>) -> String {
    match message {
        Some(m) => format!("/console/archive/chats/{conversation}#m-{m}"),
        None => format!("/console/archive/chats/{conversation}"),
    }
}

async fn list(State(state): State<AppState>, ca: ConsoleActor, Query(p): Query<ListParams>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "archive");
    let tr = chrome.tr;
    let kind = p.kind.clone().filter(|k| matches!(k.as_str(), "single" | "group" | "internal"));
    let staff = p.staff.clone().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let text = p.q.clone().filter(|t| !t.trim().is_empty());
    let q = ConversationQuery {
        kind: kind.clone(),
        staff_userid: staff.clone(),
        text: text.clone(),
        limit: PAGE,
        offset: p.offset.unwrap_or(0).max(0),
        ..ConversationQuery::default()
    };
    let messages_view = p.view.as_deref() == Some("messages") && text.is_some();
    let (mut rows, mut hits) = (Vec::new(), Vec::new());
    let (total, source) = if let (true, Some(text)) = (messages_view, text.as_deref()) {
        let page = state.app.search_archive(&ca.actor, text, &q).await?;
        hits = page
            .items
            .into_iter()
            .map(|m| HitRow {
                at: fmt_time(&m.msgtime),
                href: m.conversation_id.map(|c| thread_href(c, Some(m.id))).unwrap_or_default(),
                message: m,
            })
            .collect();
        (page.total, page.source)
    } else {
        let page = state.app.conversations(&ca.actor, &q).await?;
        rows = page
            .items
            .into_iter()
            .map(|c| ChatRow {
                kind: label(tr, "archive.chat_kind", &c.kind),
                title: title(&c),
                last: fmt_time(&c.last_msg_at),
                waiting: c.awaiting_since.as_ref().map(fmt_time).unwrap_or_default(),
                href: thread_href(c.id, c.best_message_id),
                chat: c,
            })
            .collect();
        (page.total, page.source)
    };
    let cursors = state.app.archive_cursors(&ca.actor).await?;
    let cursors = cursors
        .into_iter()
        .map(|c: Cursor| CursorRow {
            max_seq: c.max_seq,
            messages: c.messages,
            ingested: c.ingested_at.as_ref().map(fmt_time).unwrap_or_else(|| "—".into()),
            notified: c.notified_at.as_ref().map(fmt_time).unwrap_or_else(|| "—".into()),
        })
        .collect();
    let fallback = match source {
        Some(SearchSource::IndexRebuilding) => Some("archive.search_rebuilding"),
        Some(SearchSource::IndexUnavailable) => Some("archive.search_unavailable"),
        Some(SearchSource::Substring) => Some("archive.search_substring"),
        Some(SearchSource::Index) | None => None,
    };
    let q_text = p.q.clone().unwrap_or_default();
    let staff_text = staff.unwrap_or_default();
    let kind = kind.unwrap_or_default();
    let page = ListPage {
        rows,
        hits,
        messages_view,
        total,
        // Message hits come from the index, which pages no deeper than its last offset.
        next: (q.offset + PAGE < total && (!messages_view || q.offset + PAGE <= siyu_app::archive::MAX_SEARCH_OFFSET))
            .then_some(q.offset + PAGE),
        filters: format!("kind={}&staff={}&q={}", urlencode(&kind), urlencode(&staff_text), urlencode(&q_text)),
        kind,
        staff: staff_text,
        q: q_text,
        fallback,
        cursors,
        chrome,
    };
    Ok(render(&page))
}

pub struct Bubble {
    pub message: MessageView,
    pub at: String,
    pub mine: bool,
    pub kind: String,
}

#[derive(Template)]
#[template(path = "archive_chat.html")]
struct ThreadPage {
    chrome: Chrome,
    chat: ConversationView,
    title: String,
    bubbles: Vec<Bubble>,
}

async fn thread(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id = ConversationId(parse_id(&id)?);
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "archive");
    let tr = chrome.tr;
    let (chat, messages) = state.app.conversation_messages(&ca.actor, id, None, 500).await?;
    let bubbles = messages
        .into_iter()
        .map(|m| Bubble {
            at: fmt_time(&m.msgtime),
            mine: m.sender_party == "staff",
            kind: label(tr, "archive.msgtype", &m.msgtype),
            message: m,
        })
        .collect();
    Ok(render(&ThreadPage { title: title(&chat), chat, bubbles, chrome }))
}
