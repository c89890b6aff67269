//! The public side of tracked links: `GET /l/{code}` (no tenant in the URL: the code carries the tenant's
//! key) records an open and redirects to a URL or shows the small landing page, whose script reports the
//! reading time to `POST /l/{code}/beat` every 5 s and on `pagehide`. An unknown or garbled code gets a
//! friendly 404 page. HEAD requests, prefetches and bots are served but not counted. Beats always answer
//! 204, whatever they carry (bad ones are dropped without a write).
//!
//! These routes are registered outside [`crate::routes::Routes`]: they are tenant-less by design, so the
//! tenancy walk (another tenant's ids answer 404) does not apply; the code itself is the capability.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, HeaderMap, LOCATION};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use siyu_app::links::{Landing, LandingContent, Visit};
use siyu_domain::id::LinkOpenId;

use crate::auth::Origin;
use crate::console::page::render;
use crate::i18n::{Lang, Tr};
use crate::state::AppState;

/// Beats are a few dozen bytes.
const MAX_BEAT_BYTES: usize = 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/l/{code}", get(open)).route("/l/{code}/beat", post(beat)).route("/l/{code}/file", get(file))
}

#[derive(Template)]
#[template(path = "link_landing.html")]
struct LandingPage {
    tr: Tr,
    code: String,
    c: LandingContent,
    open: Option<LinkOpenId>,
}

#[derive(Template)]
#[template(path = "link_missing.html")]
struct MissingPage {
    tr: Tr,
}

fn tr_of(headers: &HeaderMap) -> Tr {
    Tr(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map(Lang::parse).unwrap_or_default())
}

/// Whether the browser only prefetches (Chrome's `Sec-Purpose`, older `Purpose`, Firefox's `X-Moz`).
fn prefetch(headers: &HeaderMap) -> bool {
    ["sec-purpose", "purpose", "x-moz"]
        .iter()
        .any(|h| headers.get(*h).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("prefetch")))
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn open(
    State(s): State<AppState>,
    method: Method,
    origin: Origin,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let tr = tr_of(&headers);
    let visit = Visit {
        code: &code,
        user_agent: origin.user_agent.as_deref().unwrap_or(""),
        ip: origin.ip.as_deref(),
        countable: method == Method::GET && !prefetch(&headers),
    };
    let landing = match s.app.open_link(&visit).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "link open failed");
            Landing::NotFound
        }
    };
    no_store(match landing {
        Landing::NotFound => (StatusCode::NOT_FOUND, render(&MissingPage { tr })).into_response(),
        Landing::Redirect { url } => match HeaderValue::from_str(&url) {
            Ok(to) => (StatusCode::FOUND, [(LOCATION, to)]).into_response(),
            Err(_) => (StatusCode::NOT_FOUND, render(&MissingPage { tr })).into_response(),
        },
        Landing::Page { code, content, open, .. } => render(&LandingPage { tr, code, c: content, open }),
    })
}

#[derive(serde::Deserialize)]
struct FileQuery {
    #[serde(default)]
    thumb: bool,
    #[serde(default)]
    download: bool,
}

/// `GET /l/{code}/file`: a material link's picture (inline) or file (`download=1`, as an attachment),
/// served with the library's safe headers; not an open (the page that shows it is).
async fn file(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    axum::extract::Query(q): axum::extract::Query<FileQuery>,
) -> Response {
    match s.app.link_material_file(&code, q.thumb).await {
        Ok(Some(f)) => crate::api::materials::file_response(f, !q.download),
        Ok(None) => (StatusCode::NOT_FOUND, render(&MissingPage { tr: tr_of(&headers) })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "link file failed");
            (StatusCode::NOT_FOUND, render(&MissingPage { tr: tr_of(&headers) })).into_response()
        }
    }
}

/// `open` and `seconds` from a form-encoded (or query-like) body; anything else is no beat.
fn beat_fields(body: &[u8]) -> Option<(String, i64)> {
    let text = std::str::from_utf8(body).ok()?;
    let (mut open, mut seconds) = (None, None);
    for pair in text.trim().split('&') {
        match pair.split_once('=') {
            Some(("open", v)) => open = Some(v.to_string()),
            Some(("seconds", v)) => seconds = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    Some((open?, seconds?))
}

async fn beat(State(s): State<AppState>, Path(code): Path<String>, body: Body) -> StatusCode {
    let body = axum::body::to_bytes(body, MAX_BEAT_BYTES).await.unwrap_or_default();
    if let Some((open, seconds)) = beat_fields(&body) {
        s.app.link_beat(&code, &open, seconds).await;
    }
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beat_needs_an_open_and_whole_seconds() {
        assert_eq!(beat_fields(b"open=abc&seconds=12"), Some(("abc".into(), 12)));
        assert_eq!(beat_fields(b"seconds=12&open=abc"), Some(("abc".into(), 12)));
        assert_eq!(beat_fields(b"open=abc&seconds=1.5"), None);
        assert_eq!(beat_fields(b"open=abc"), None);
        assert_eq!(beat_fields(&[0xff, 0xfe]), None);
        assert_eq!(beat_fields(b""), None);
    }
}
