//! The segment page's card "定时更新的广告人群包" (scheduled ad audiences): the segment's audience syncs
//! with their last run, what it changed and the next run, a download of the latest snapshot, run now and
//! delete; and a small form adding one. Only members with `customers_export` see it.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use siyu_app::segments::{AudienceKey, AudienceSyncView, NewAudienceSync};
use siyu_app::{Actor, AppError};
use siyu_domain::access::Permission;
use siyu_domain::id::{AudienceSyncId, SegmentId};

use super::{PATH, segment_error};
use crate::auth::{ConsoleActor, urlencode};
use crate::console::customers::parse_id;
use crate::console::customers::view::{fmt_opt, fmt_time, label};
use crate::console::page::{Chrome, ConsoleResult, FormPost};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

/// The frequencies the form offers, in hours.
pub const FREQUENCIES: [u32; 4] = [6, 12, 24, 168];

/// The latest snapshot (a constant: the catalogue test reads `t("…")` with a dot as a key).
const FILE: &str = "/console/audience-syncs/{id}/file.csv";

pub fn router() -> Router<AppState> {
    Routes::new()
        .post("/console/segments/{id}/audience-syncs", create)
        .post("/console/audience-syncs/{id}/run", run)
        .post("/console/audience-syncs/{id}/delete", delete)
        .get(FILE, file)
        .into_router()
}

/// One run as the card lists it.
pub struct RunRow {
    pub at: String,
    pub ok: bool,
    pub rows: u64,
    pub added: u64,
    pub removed: u64,
    pub error: String,
}

/// One sync as the card lists it.
pub struct SyncRow {
    pub id: String,
    pub key: String,
    pub every: String,
    pub enabled: bool,
    pub last_run: String,
    /// (members, rows, added, removed) of the latest snapshot.
    pub last: Option<(u64, u64, u64, u64)>,
    /// The last run's failure, translated.
    pub error: Option<String>,
    pub next_run: String,
    pub has_file: bool,
    pub runs: Vec<RunRow>,
}

/// The card: the syncs, and whether the member may add, run and delete them.
pub struct Card {
    pub syncs: Vec<SyncRow>,
    pub can_manage: bool,
    /// (hours, label) for the frequency select.
    pub frequencies: Vec<(u32, String)>,
}

fn every(tr: Tr, hours: u32) -> String {
    let key = format!("audience_syncs.freq.{hours}");
    match tr.t(&key) {
        s if s == key => tr.t("audience_syncs.every_hours").replace("{n}", &hours.to_string()),
        s => s.to_string(),
    }
}

fn error_label(tr: Tr, code: &str) -> String {
    label(tr, "audience_syncs.error", code)
}

fn row(tr: Tr, s: AudienceSyncView) -> SyncRow {
    let key = if s.key == AudienceKey::Phone { "phone" } else { "openid" };
    SyncRow {
        id: s.id.to_string(),
        key: label(tr, "audience_syncs.key", key),
        every: every(tr, s.every_hours),
        enabled: s.enabled,
        last_run: fmt_opt(&s.last_run_at),
        last: s.last.map(|c| (c.members, c.rows, c.added, c.removed)),
        error: s.last_error.as_deref().map(|e| error_label(tr, e)),
        next_run: if s.enabled { fmt_time(&s.next_run_at) } else { "—".into() },
        has_file: s.sha256.is_some(),
        runs: s
            .runs
            .into_iter()
            .map(|r| RunRow {
                at: fmt_time(&r.at),
                ok: r.error.is_none(),
                rows: r.counts.rows,
                added: r.counts.added,
                removed: r.counts.removed,
                error: r.error.as_deref().map(|e| error_label(tr, e)).unwrap_or_default(),
            })
            .collect(),
    }
}

/// The card of a segment's page; `None` for members without `customers_export`.
pub async fn card(state: &AppState, a: &Actor, tr: Tr, segment: SegmentId) -> Result<Option<Card>, AppError> {
    if !a.can(Permission::CustomersExport) {
        return Ok(None);
    }
    let syncs = state.app.audience_syncs(a, segment).await?.into_iter().map(|s| row(tr, s)).collect();
    let frequencies = FREQUENCIES.iter().map(|h| (*h, every(tr, *h))).collect();
    Ok(Some(Card { syncs, can_manage: a.can(Permission::SegmentsManage), frequencies }))
}

/// Back to the segment's page (at the card) with `done`, or with the refusal as an inline error.
fn back(ca: &ConsoleActor, segment: SegmentId, result: Result<String, AppError>) -> ConsoleResult {
    let target = match result {
        Ok(done) => format!("{PATH}/{segment}?{done}#audience-syncs"),
        Err(e @ (AppError::NotFound | AppError::Forbidden)) => return Err(e.into()),
        Err(e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "segments").tr;
            format!("{PATH}/{segment}?error={}#audience-syncs", urlencode(&segment_error(tr, &e)))
        }
    };
    Ok(Redirect::to(&target).into_response())
}

fn field<'a>(post: &'a FormPost, name: &str) -> &'a str {
    post.fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// `POST /console/segments/{id}/audience-syncs`: adds a sync (`key`, `every_hours`); its first run is due at
/// once (the worker picks it up).
async fn create(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let segment: SegmentId = parse_id(&id)?;
    let key = if field(&post, "key") == "openid" { AudienceKey::Openid } else { AudienceKey::Phone };
    // Not a number: refused by the service as out of range (after it checked the segment).
    let every_hours = field(&post, "every_hours").trim().parse::<i64>().unwrap_or(0);
    let input = NewAudienceSync { key, every_hours };
    let result = state.app.create_audience_sync(&post.ca.actor, segment, input).await;
    back(&post.ca, segment, result.map(|_| "done=audience_sync_created".into()))
}

/// `POST /console/audience-syncs/{id}/run`: runs it now; a failed run comes back as the error.
async fn run(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: AudienceSyncId = parse_id(&id)?;
    let a = &post.ca.actor;
    let s = state.app.audience_sync(a, id).await?;
    let result = state.app.run_audience_sync(a, id).await;
    let tr = Chrome::new(&post.ca.user, Some(a), "segments").tr;
    let target = match result {
        Ok(v) => match (&v.last_error, v.runs.first()) {
            (Some(code), Some(r)) if r.error.is_some() => {
                format!("{PATH}/{}?error={}#audience-syncs", v.segment_id, urlencode(&error_label(tr, code)))
            }
            _ => {
                let c = v.last.unwrap_or_default();
                format!(
                    "{PATH}/{}?done=audience_sync_ran&entered={}&exited={}#audience-syncs",
                    v.segment_id, c.added, c.removed
                )
            }
        },
        Err(e) => return back(&post.ca, s.segment_id, Err(e)),
    };
    Ok(Redirect::to(&target).into_response())
}

/// `POST /console/audience-syncs/{id}/delete`: stops it and drops its snapshot and history.
async fn delete(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: AudienceSyncId = parse_id(&id)?;
    let s = state.app.audience_sync(&post.ca.actor, id).await?;
    let result = state.app.delete_audience_sync(&post.ca.actor, id).await;
    back(&post.ca, s.segment_id, result.map(|()| "done=audience_sync_deleted".into()))
}

/// `GET /console/audience-syncs/{id}/file.csv`: the latest snapshot (audited).
async fn file(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: AudienceSyncId = parse_id(&id)?;
    Ok(crate::api::audience_syncs::file_download(&state, &ca.actor, id).await?)
}
