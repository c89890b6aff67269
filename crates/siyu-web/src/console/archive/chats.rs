//! Console: archived conversations. `/console/archive/chats` lists them (kind filter, text search over their
//! messages, paging) with each corp's archive cursor; `/console/archive/chats/{id}` shows the thread as chat
//! bubbles, staff on the right, recalled messages struck through. Opening one is audited by the app.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use siyu_app::archive::{ConversationQuery, ConversationView, Cursor, MessageView};
use siyu_domain::id::ConversationId;

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
    q: Option<String>,
    offset: Option<i64>,
}

pub struct ChatRow {
    pub chat: ConversationView,
    pub kind: String,
    pub title: String,
    pub last: String,
    pub waiting: String,
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
    total: i64,
    next: Option<i64>,
    kind: String,
    q: String,
    q_encoded: String,
    cursors: Vec<CursorRow>,
}

async fn list(State(state): State<AppState>, ca: ConsoleActor, Query(p): Query<ListParams>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "archive");
    let tr = chrome.tr;
    let kind = p.kind.clone().filter(|k| matches!(k.as_str(), "single" | "group" | "internal"));
    let q = ConversationQuery {
        kind: kind.clone(),
        text: p.q.clone().filter(|t| !t.trim().is_empty()),
        limit: PAGE,
        offset: p.offset.unwrap_or(0).max(0),
        ..ConversationQuery::default()
    };
    let (chats, total) = state.app.conversations(&ca.actor, &q).await?;
    let cursors = state.app.archive_cursors(&ca.actor).await?;
    let rows = chats
        .into_iter()
        .map(|c| ChatRow {
            kind: label(tr, "archive.chat_kind", &c.kind),
            title: title(&c),
            last: fmt_time(&c.last_msg_at),
            waiting: c.awaiting_since.as_ref().map(fmt_time).unwrap_or_default(),
            chat: c,
        })
        .collect();
    let cursors = cursors
        .into_iter()
        .map(|c: Cursor| CursorRow {
            max_seq: c.max_seq,
            messages: c.messages,
            ingested: c.ingested_at.as_ref().map(fmt_time).unwrap_or_else(|| "—".into()),
            notified: c.notified_at.as_ref().map(fmt_time).unwrap_or_else(|| "—".into()),
        })
        .collect();
    let q_text = p.q.clone().unwrap_or_default();
    let page = ListPage {
        rows,
        total,
        next: (q.offset + PAGE < total).then_some(q.offset + PAGE),
        kind: kind.unwrap_or_default(),
        q_encoded: urlencode(&q_text),
        q: q_text,
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
