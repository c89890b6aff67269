//! The welcome message fields (shared by the live code form and the welcome page), and `/console/welcome`:
//! the tenant's default welcome message with the nickname block list, or a staff member's own message
//! (`?staff=<user id>`), which a code's own message overrides in turn.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use chrono::NaiveTime;
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::WelcomeSettings;
use siyu_domain::access::Permission;
use siyu_domain::id::UserId;
use siyu_domain::wecom::welcome::{WelcomeMessage, WelcomeVariant};

use super::{code_errors, corps};
use crate::auth::{ConsoleActor, urlencode};
use crate::console::customers::view::{FormErrors, all, label, one, text};
use crate::console::page::{Chrome, ConsoleError, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::state::AppState;

const PATH: &str = "/console/welcome";

/// A weekday checkbox.
pub struct DayCheck {
    pub n: u8,
    pub label: String,
    pub checked: bool,
}

/// Monday to Sunday, `chosen` ones checked.
pub fn day_checks(tr: Tr, chosen: &[u8]) -> Vec<DayCheck> {
    (1..=7u8)
        .map(|n| DayCheck { n, label: label(tr, "live_codes.day", &n.to_string()), checked: chosen.contains(&n) })
        .collect()
}

/// Weekday numbers among form values (anything else is dropped; out-of-range days are the app's to refuse).
pub fn days(values: &[&str]) -> Vec<u8> {
    values.iter().filter_map(|v| v.trim().parse().ok()).collect()
}

/// `09:00` (or `09:00:00`, as some browsers send).
pub fn time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M").or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S")).ok()
}

pub fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// A welcome message's fields as typed (or as stored).
#[derive(Debug, Clone, Default)]
pub struct WelcomeValues {
    pub text: String,
    /// The attachments as a JSON list in WeCom's wire form.
    pub attachments: String,
    /// The one time-sliced variant the form edits.
    pub v_days: Vec<u8>,
    pub v_start: String,
    pub v_end: String,
    pub v_text: String,
    /// Variants past the first (made through the API), carried through the form unchanged.
    pub more: String,
}

impl WelcomeValues {
    pub fn of(m: &WelcomeMessage) -> Self {
        let json = |a: &[serde_json::Value]| {
            if a.is_empty() { String::new() } else { serde_json::to_string_pretty(a).unwrap_or_default() }
        };
        let first = m.variants.first();
        Self {
            text: m.text.clone(),
            attachments: json(&m.attachments),
            v_days: first.map(|v| v.weekdays.clone()).unwrap_or_default(),
            v_start: first.map(|v| hhmm(v.start)).unwrap_or_default(),
            v_end: first.map(|v| hhmm(v.end)).unwrap_or_default(),
            v_text: first.map(|v| v.text.clone()).unwrap_or_default(),
            more: if m.variants.len() > 1 {
                serde_json::to_string(&m.variants[1..]).unwrap_or_default()
            } else {
                String::new()
            },
        }
    }

    pub fn from_fields(fields: &[(String, String)]) -> Self {
        Self {
            text: one(fields, "welcome_text").unwrap_or("").trim_end().to_string(),
            attachments: text(fields, "welcome_attachments"),
            v_days: days(&all(fields, "welcome_v_day")),
            v_start: text(fields, "welcome_v_start"),
            v_end: text(fields, "welcome_v_end"),
            v_text: one(fields, "welcome_v_text").unwrap_or("").trim_end().to_string(),
            more: text(fields, "welcome_more"),
        }
    }

    /// Nothing typed: the code has no message of its own.
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty() && self.attachments.is_empty() && !self.has_variant() && self.more.is_empty()
    }

    fn has_variant(&self) -> bool {
        !self.v_days.is_empty() || !self.v_start.is_empty() || !self.v_end.is_empty() || !self.v_text.trim().is_empty()
    }

    /// The message as the app takes it (the app judges its rules; this only reads the fields).
    pub fn message(&self) -> Result<WelcomeMessage, AppError> {
        let bad_attachments = || AppError::invalid("attachments", "a JSON list of attachments in WeCom's form");
        let attachments = match self.attachments.trim() {
            "" => Vec::new(),
            a => match serde_json::from_str::<serde_json::Value>(a).map_err(|_| bad_attachments())? {
                serde_json::Value::Array(list) => list,
                o @ serde_json::Value::Object(_) => vec![o],
                _ => return Err(bad_attachments()),
            },
        };
        let mut variants = Vec::new();
        if self.has_variant() {
            let (Some(start), Some(end)) = (time(&self.v_start), time(&self.v_end)) else {
                return Err(AppError::invalid("variants", "variant 1: times as HH:MM"));
            };
            variants.push(WelcomeVariant {
                weekdays: self.v_days.clone(),
                start,
                end,
                text: self.v_text.clone(),
                attachments: Vec::new(),
            });
        }
        if !self.more.is_empty() {
            let more: Vec<WelcomeVariant> = serde_json::from_str(&self.more)
                .map_err(|_| AppError::invalid("variants", "variant 2: not a variant"))?;
            variants.extend(more);
        }
        Ok(WelcomeMessage { text: self.text.clone(), attachments, variants })
    }
}

/// The welcome fields as `welcome_fields.html` shows them.
pub struct WelcomeView {
    pub v: WelcomeValues,
    pub days: Vec<DayCheck>,
}

impl WelcomeView {
    pub fn new(tr: Tr, v: WelcomeValues) -> Self {
        Self { days: day_checks(tr, &v.v_days), v }
    }
}

/// One choice of a select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Deserialize, Default)]
pub struct WelcomeParams {
    #[serde(default)]
    staff: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage {
    chrome: Chrome,
    /// The staff member's user id, empty for the tenant default.
    staff: String,
    choices: Vec<Opt>,
    welcome: WelcomeView,
    block_list: String,
    errors: FormErrors,
    saved: bool,
    can_edit: bool,
}

/// The staff members whose own welcome message can be set: (user id, `张三 (zhangsan)`), once each.
async fn staff_choices(state: &AppState, ca: &ConsoleActor) -> Result<Vec<(UserId, String)>, AppError> {
    let mut out: Vec<(UserId, String)> = Vec::new();
    for (corp, _) in corps(state, ca.actor.tenant, true).await? {
        for s in state.app.store.wecom().staff(ca.actor.tenant, corp).await? {
            if s.left_at.is_none() && !out.iter().any(|o| o.0 == s.user_id) {
                out.push((s.user_id, format!("{} ({})", s.name, s.userid)));
            }
        }
    }
    Ok(out)
}

/// The scope a request names: none (the default) or one of the tenant's staff; anything else is not found.
fn scope(choices: &[(UserId, String)], staff: &str) -> Result<Option<UserId>, ConsoleError> {
    if staff.trim().is_empty() {
        return Ok(None);
    }
    let user: UserId = staff.trim().parse().map_err(|_| ConsoleError(AppError::NotFound))?;
    if choices.iter().any(|c| c.0 == user) { Ok(Some(user)) } else { Err(ConsoleError(AppError::NotFound)) }
}

fn page_of(
    ca: &ConsoleActor,
    choices: &[(UserId, String)],
    staff: Option<UserId>,
    welcome: WelcomeValues,
    block_list: String,
    errors: FormErrors,
    saved: bool,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "live_codes");
    let page = WelcomePage {
        staff: staff.map(|s| s.to_string()).unwrap_or_default(),
        choices: choices
            .iter()
            .map(|(id, name)| Opt { value: id.to_string(), label: name.clone(), selected: Some(*id) == staff })
            .collect(),
        welcome: WelcomeView::new(chrome.tr, welcome),
        block_list,
        saved: saved && errors.is_empty(),
        can_edit: ca.actor.can(Permission::CustomersWrite),
        errors,
        chrome,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, render(&page)).into_response())
}

pub async fn page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<WelcomeParams>) -> ConsoleResult {
    let choices = staff_choices(&state, &ca).await?;
    let staff = scope(&choices, q.staff.as_deref().unwrap_or(""))?;
    let settings = state.app.welcome_settings(&ca.actor, staff).await?;
    let saved = q.saved.is_some();
    let values = WelcomeValues::of(&settings.message);
    page_of(&ca, &choices, staff, values, settings.block_list.join("\n"), FormErrors::default(), saved)
}

pub async fn save(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let choices = staff_choices(&state, &ca).await?;
    let staff = scope(&choices, &text(&fields, "staff"))?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "live_codes").tr;
    let values = WelcomeValues::from_fields(&fields);
    let block_text = one(&fields, "block_list").unwrap_or("").to_string();
    let block_list: Vec<String> =
        block_text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    let result = match values.message() {
        Ok(message) => {
            let settings = WelcomeSettings { message, block_list };
            state.app.set_welcome_settings(&ca.actor, staff, &settings).await.map(|_| ())
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            let to = match staff {
                Some(s) => format!("{PATH}?staff={}&saved=1", urlencode(&s.to_string())),
                None => format!("{PATH}?saved=1"),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(e @ AppError::Invalid(_)) => page_of(&ca, &choices, staff, values, block_text, code_errors(tr, &e), false),
        Err(e) => Err(e.into()),
    }
}
