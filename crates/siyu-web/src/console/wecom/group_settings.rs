//! Console: a group's local settings on its page — kind and dates, group tags (with a new one made on the
//! spot), its SOP template — saved together, refusals inline; the group's SOP calendar (days × steps, each
//! scheduled, sent with a link to its mass send, or skipped); and the open / closing-soon badge of a
//! flash-sale group on the list.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use chrono::{Datelike, NaiveDate};
use siyu_app::AppError;
use siyu_app::wecom::{GroupPatch, GroupTagInput, SopCalendar};
use siyu_domain::id::{GroupId, GroupTagId, SopId};
use siyu_domain::wecom::{CustomerGroup, GroupKind};

use super::groups::detail_page;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FormErrors, all, label, one, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost};
use crate::i18n::Tr;
use crate::state::AppState;

/// Days before closing a flash-sale group counts as closing soon.
pub const CLOSING_SOON_DAYS: i64 = 1;

/// A flash-sale group's phase on `today`: (badge class, label key).
pub fn phase(g: &CustomerGroup, today: NaiveDate) -> Option<(&'static str, &'static str)> {
    let (GroupKind::Flash, Some(open), Some(close)) = (g.kind, g.opens_on, g.closes_on) else { return None };
    Some(if today < open {
        ("", "groups.phase.upcoming")
    } else if today > close {
        ("off", "groups.phase.closed")
    } else if (close - today).num_days() <= CLOSING_SOON_DAYS {
        ("warn", "groups.phase.closing")
    } else {
        ("ok", "groups.phase.open")
    })
}

/// The settings form's values.
pub struct SettingsForm {
    pub kind: &'static str,
    pub opens_on: String,
    pub closes_on: String,
    pub tag_ids: Vec<String>,
    pub sop_id: String,
    pub new_tag: String,
}

/// A checkbox or option of the form: (id, name, chosen).
pub type Choice = (String, String, bool);

/// One cell of the calendar.
pub struct CalendarCell {
    /// `scheduled`, `sent`, `skipped`; empty: no step that day.
    pub status: &'static str,
    pub label: String,
    pub link: Option<String>,
    pub title: String,
}

pub struct CalendarRow {
    pub time: String,
    pub text: String,
    pub cells: Vec<CalendarCell>,
}

/// The group's SOP calendar as the page shows it.
pub struct CalendarView {
    pub sop: Option<(String, String)>,
    pub days: Vec<String>,
    pub rows: Vec<CalendarRow>,
}

pub fn calendar_view(tr: Tr, cal: SopCalendar) -> CalendarView {
    let flash = cal.sop.as_ref().is_some_and(|s| s.kind == GroupKind::Flash);
    let first = cal.days.first().copied();
    let days = cal
        .days
        .iter()
        .map(|d| {
            let weekday = label(tr, "sop.weekday", &d.weekday().number_from_monday().to_string());
            match first.filter(|_| flash) {
                Some(f) => format!("D{} · {} {weekday}", (*d - f).num_days(), d.format("%m-%d")),
                None => format!("{} {weekday}", d.format("%m-%d")),
            }
        })
        .collect();
    let rows = cal
        .rows
        .into_iter()
        .map(|r| CalendarRow {
            time: r.time,
            text: r.text.chars().take(40).collect(),
            cells: r
                .cells
                .into_iter()
                .map(|c| match c {
                    None => CalendarCell { status: "", label: String::new(), link: None, title: String::new() },
                    Some(c) => CalendarCell {
                        status: c.status,
                        label: label(tr, "sop.status", c.status),
                        link: c.mass_send_id.map(|m| format!("/console/wecom/mass-sends/{m}")),
                        title: c.reason.map(|r| label(tr, "sop.reason", &r)).unwrap_or_default(),
                    },
                })
                .collect(),
        })
        .collect();
    CalendarView { sop: cal.sop.map(|s| (s.id.to_string(), s.name)), days, rows }
}

/// The tags and templates to choose from, the form's chosen ones marked.
pub async fn choices(
    state: &AppState,
    ca: &crate::auth::ConsoleActor,
    form: &SettingsForm,
) -> Result<(Vec<Choice>, Vec<Choice>), AppError> {
    let tags = state.app.group_tags(&ca.actor).await?;
    let sops = state.app.group_sops(&ca.actor).await?;
    let tags = tags.into_iter().map(|t| (t.id.to_string(), t.name, form.tag_ids.contains(&t.id.to_string()))).collect();
    let sops =
        sops.into_iter().map(|s| (s.sop.id.to_string(), s.sop.name, form.sop_id == s.sop.id.to_string())).collect();
    Ok((tags, sops))
}

/// A date field: empty is none, anything else must be `YYYY-MM-DD`.
fn date(fields: &[(String, String)], key: &str) -> Result<Option<NaiveDate>, AppError> {
    match text(fields, key) {
        d if d.is_empty() => Ok(None),
        d => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::invalid(key, "expected_date_yyyy_mm_dd")),
    }
}

/// The app's reasons for refusing the settings, in the console's words.
fn settings_errors(tr: Tr, e: &AppError) -> FormErrors {
    let mut errors = FormErrors::from_error(tr, e, "kind");
    if let AppError::Invalid(i) = e {
        let key = if i.reason.starts_with("a flash-sale") {
            Some("groups.err.dates_required")
        } else if i.reason.starts_with("closes") {
            Some("groups.err.flash_length")
        } else if i.field == "sop_id" {
            Some("groups.err.sop_kind")
        } else {
            None
        };
        if let (Some(key), Some(first)) = (key, errors.0.first_mut()) {
            first.message = tr.t(key).to_string();
        }
    }
    errors
}

async fn apply(
    state: &AppState,
    ca: &crate::auth::ConsoleActor,
    id: GroupId,
    fields: &[(String, String)],
) -> Result<(), AppError> {
    let kind = GroupKind::parse(one(fields, "kind").unwrap_or(""))
        .ok_or_else(|| AppError::invalid("kind", "expected_option"))?;
    let (opens_on, closes_on) = (date(fields, "opens_on")?, date(fields, "closes_on")?);
    let mut tag_ids = Vec::new();
    for t in all(fields, "tag_ids") {
        tag_ids.push(t.parse::<GroupTagId>().map_err(|_| AppError::invalid("tag_ids", "unknown group tag"))?);
    }
    let sop_id = match text(fields, "sop_id") {
        s if s.is_empty() => None,
        s => Some(s.parse::<SopId>().map_err(|_| AppError::invalid("sop_id", "unknown SOP"))?),
    };
    let new_tag = text(fields, "new_tag");
    if !new_tag.is_empty() {
        let found = state.app.group_tags(&ca.actor).await?.into_iter().find(|t| t.name == new_tag);
        let tag = match found {
            Some(t) => t,
            None => state
                .app
                .create_group_tag(&ca.actor, &GroupTagInput { name: new_tag })
                .await
                .map_err(|e| AppError::invalid("new_tag", e.to_string()))?,
        };
        tag_ids.push(tag.id);
    }
    let patch = GroupPatch { kind: Some(kind), opens_on, closes_on, tag_ids: Some(tag_ids), sop_id: Some(sop_id) };
    state.app.patch_group(&ca.actor, id, &patch).await.map(|_| ())
}

/// Saves the settings form (`POST /console/groups/{id}/kind`).
pub async fn set_kind(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: GroupId = parse_id(&id)?;
    // The group first: another tenant's (or another owner's) group is not found before the form is judged.
    state.app.customer_group(&ca.actor, id).await?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "groups").tr;
    match apply(&state, &ca, id, &fields).await {
        Ok(()) => Ok(Redirect::to(&format!("/console/groups/{id}#kind")).into_response()),
        Err(e @ AppError::Invalid(_)) => {
            let form = SettingsForm {
                kind: GroupKind::parse(one(&fields, "kind").unwrap_or("")).map_or("daily", GroupKind::as_str),
                opens_on: text(&fields, "opens_on"),
                closes_on: text(&fields, "closes_on"),
                tag_ids: all(&fields, "tag_ids").into_iter().map(str::to_owned).collect(),
                sop_id: text(&fields, "sop_id"),
                new_tag: text(&fields, "new_tag"),
            };
            detail_page(&state, &ca, id, Some(form), settings_errors(tr, &e)).await
        }
        Err(e) => Err(e.into()),
    }
}
