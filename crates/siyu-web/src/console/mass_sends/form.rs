//! The mass send form: `/console/wecom/mass-sends/new` (`?corp=` picks the corp). The audience is customers
//! (segment, tags, staff) or customer groups (owners, a name filter); "预览人数" re-renders the form with how
//! many the audience holds now; what was typed is kept when the app refuses it, the error next to its field.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::{MassPreviewInput, MassSendInput};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, SegmentId};
use siyu_domain::wecom::mass::{Audience, GroupAudience, MassContent};

use super::PATH;
use crate::auth::ConsoleActor;
use crate::console::customers::tag_ids;
use crate::console::customers::view::{FormErrors, Picker, all, one, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::state::AppState;

/// Reads `YYYY-MM-DD HH:MM` (or a datetime-local input's `T` form) at the tenant's offset.
pub(crate) fn local_time(s: &str, offset: chrono::FixedOffset) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    let t = chrono::NaiveDateTime::parse_from_str(&s.trim().replace('T', " "), "%Y-%m-%d %H:%M").ok()?;
    offset.from_local_datetime(&t).single().map(|t| t.with_timezone(&chrono::Utc))
}

/// A choice of a select or checkbox list.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The tenant's active corps as choices, `chosen` (or the first) selected.
pub(crate) async fn corp_choices(state: &AppState, ca: &ConsoleActor, chosen: &str) -> Result<Vec<Choice>, AppError> {
    let corps: Vec<_> =
        state.app.store.wecom().corps(ca.actor.tenant).await?.into_iter().filter(|c| c.active).collect();
    let pick = corps.iter().find(|c| c.id.to_string() == chosen).or(corps.first()).map(|c| c.id);
    Ok(corps
        .into_iter()
        .map(|c| Choice { value: c.id.to_string(), label: c.name, selected: Some(c.id) == pick })
        .collect())
}

/// The corp's active staff as choices, `chosen` checked.
pub(crate) async fn staff_choices(
    state: &AppState,
    ca: &ConsoleActor,
    corp: Option<CorpId>,
    chosen: &[String],
) -> Result<Vec<Choice>, AppError> {
    let Some(corp) = corp else { return Ok(Vec::new()) };
    let staff = state.app.store.wecom().staff(ca.actor.tenant, corp).await?;
    Ok(staff
        .into_iter()
        .filter(|s| s.status == 1)
        .map(|s| Choice {
            selected: chosen.contains(&s.userid),
            label: format!("{} ({})", s.name, s.userid),
            value: s.userid,
        })
        .collect())
}

/// A JSON list (or one object) of attachments in WeCom's wire form.
pub(crate) fn attachments(s: &str) -> Result<Vec<serde_json::Value>, AppError> {
    let bad = || AppError::invalid("attachments", "a JSON list of attachments in WeCom's form");
    match s.trim() {
        "" => Ok(Vec::new()),
        a => match serde_json::from_str::<serde_json::Value>(a).map_err(|_| bad())? {
            serde_json::Value::Array(list) => Ok(list),
            o @ serde_json::Value::Object(_) => Ok(vec![o]),
            _ => Err(bad()),
        },
    }
}

/// Inline errors in the console's words (`mass.err.<field>`, the app's reason as the tooltip).
pub(crate) fn form_errors(tr: Tr, e: &AppError) -> FormErrors {
    let mut errors = FormErrors::from_error(tr, e, "name");
    if let (AppError::Invalid(i), Some(first)) = (e, errors.0.first_mut()) {
        let key = format!("mass.err.{}", i.field);
        if tr.t(&key) != key {
            first.message = tr.t(&key).to_string();
        }
    }
    errors
}

#[derive(Debug, Clone, Default)]
struct Values {
    corp: String,
    name: String,
    groups: bool,
    segment: String,
    tag_ids: Vec<String>,
    staff: Vec<String>,
    owners: Vec<String>,
    name_contains: String,
    text: String,
    attachments: String,
    scheduled_at: String,
    daily_cap: String,
}

impl Values {
    fn from_fields(f: &[(String, String)]) -> Self {
        let list = |k: &str| all(f, k).into_iter().filter(|v| !v.is_empty()).map(str::to_string).collect();
        Self {
            corp: text(f, "corp"),
            name: text(f, "name"),
            groups: one(f, "target") == Some("groups"),
            segment: text(f, "segment"),
            tag_ids: list("tag_ids"),
            staff: list("staff"),
            owners: list("owners"),
            name_contains: text(f, "name_contains"),
            text: one(f, "text").unwrap_or_default().to_string(),
            attachments: text(f, "attachments"),
            scheduled_at: text(f, "scheduled_at"),
            daily_cap: text(f, "daily_cap"),
        }
    }

    fn audience(&self) -> Result<Audience, AppError> {
        if self.groups {
            let name_contains = Some(self.name_contains.clone()).filter(|n| !n.is_empty());
            return Ok(Audience {
                groups: Some(GroupAudience { owners: self.owners.clone(), name_contains, chat_ids: Vec::new() }),
                ..Audience::default()
            });
        }
        let segment = match self.segment.as_str() {
            "" => None,
            s => Some(s.parse::<SegmentId>().map_err(|_| AppError::invalid("segment", "unknown segment"))?),
        };
        let tags: Vec<&str> = self.tag_ids.iter().map(String::as_str).collect();
        Ok(Audience { segment, tag_ids: tag_ids("tag_ids", &tags)?, staff: self.staff.clone(), groups: None })
    }

    fn corp(&self) -> Result<CorpId, AppError> {
        self.corp.parse().map_err(|_| AppError::invalid("corp", "unknown corp"))
    }

    async fn input(&self, state: &AppState, ca: &ConsoleActor) -> Result<MassSendInput, AppError> {
        let scheduled_at = match self.scheduled_at.as_str() {
            "" => None,
            s => {
                let offset = state.app.tenant_offset(ca.actor.tenant).await?;
                Some(local_time(s, offset).ok_or_else(|| AppError::invalid("scheduled_at", "YYYY-MM-DD HH:MM"))?)
            }
        };
        let daily_cap = match self.daily_cap.as_str() {
            "" => None,
            c => Some(c.parse().map_err(|_| AppError::invalid("daily_cap", "1 to 20 a day"))?),
        };
        Ok(MassSendInput {
            corp: self.corp()?,
            name: self.name.clone(),
            audience: self.audience()?,
            content: MassContent { text: self.text.clone(), attachments: attachments(&self.attachments)? },
            daily_cap,
            scheduled_at,
        })
    }
}

#[derive(Template)]
#[template(path = "mass_send_form.html")]
struct FormPage {
    chrome: Chrome,
    no_corp: bool,
    corps: Vec<Choice>,
    v: Values,
    segments: Vec<Choice>,
    picker: Option<Picker>,
    staff: Vec<Choice>,
    owners: Vec<Choice>,
    preview: Option<String>,
    errors: FormErrors,
}

async fn form_page(
    state: &AppState,
    ca: &ConsoleActor,
    mut v: Values,
    preview: Option<String>,
    errors: FormErrors,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "mass_sends");
    let corps = corp_choices(state, ca, &v.corp).await?;
    let corp = corps.iter().find(|c| c.selected).and_then(|c| c.value.parse::<CorpId>().ok());
    v.corp = corp.map(|c| c.to_string()).unwrap_or_default();
    let segments = state
        .app
        .list_segments(&ca.actor)
        .await?
        .into_iter()
        .map(|s| Choice { selected: s.id.to_string() == v.segment, value: s.id.to_string(), label: s.name })
        .collect();
    let groups = state.app.tag_groups(&ca.actor).await?;
    let picker = Picker::new(chrome.tr, "tag_ids", "mass.tags", "mass.tags_placeholder", &groups, &v.tag_ids);
    let page = FormPage {
        no_corp: corps.is_empty(),
        staff: staff_choices(state, ca, corp, &v.staff).await?,
        owners: staff_choices(state, ca, corp, &v.owners).await?,
        corps,
        segments,
        picker: Some(picker),
        v,
        preview,
        errors,
        chrome,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, render(&page)).into_response())
}

#[derive(Deserialize, Default)]
pub struct NewParams {
    #[serde(default)]
    corp: Option<String>,
}

pub async fn new_page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<NewParams>) -> ConsoleResult {
    ca.actor.require(Permission::CustomersWrite)?;
    let v = Values { corp: q.corp.unwrap_or_default(), ..Values::default() };
    form_page(&state, &ca, v, None, FormErrors::default()).await
}

/// Creates the send, or (the 预览 button) shows how many the audience holds.
pub async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    ca.actor.require(Permission::CustomersWrite)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "mass_sends").tr;
    let v = Values::from_fields(&fields);
    if one(&fields, "preview").is_some() {
        let preview = match (v.corp(), v.audience()) {
            (Ok(corp), Ok(audience)) => {
                state.app.preview_mass_send(&ca.actor, &MassPreviewInput { corp, audience }).await
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        return match preview {
            Ok(p) => {
                let key = if v.groups { "mass.preview_groups" } else { "mass.preview_customers" };
                let text = tr.t(key).replace("{n}", &p.total.to_string()).replace("{m}", &p.reachable.to_string());
                form_page(&state, &ca, v, Some(text), FormErrors::default()).await
            }
            Err(e @ AppError::Invalid(_)) => form_page(&state, &ca, v, None, form_errors(tr, &e)).await,
            Err(e) => Err(e.into()),
        };
    }
    let result = match v.input(&state, &ca).await {
        Ok(input) => state.app.create_mass_send(&ca.actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(view) => Ok(Redirect::to(&format!("{PATH}/{}", view.send.id)).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            form_page(&state, &ca, v, None, form_errors(tr, &e)).await
        }
        Err(e) => Err(e.into()),
    }
}
