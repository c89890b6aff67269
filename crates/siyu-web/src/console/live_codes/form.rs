//! The live code form: `/console/live-codes/new` (`?corp=` picks the corp whose staff it offers) and
//! `/console/live-codes/{id}/edit`. Staff and schedule rows are a fixed number of blank rows (ignored when
//! empty) beyond the code's own; what was typed is kept when the app refuses it, the error next to its field.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::LiveCodeInput;
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, LiveCodeId};
use siyu_domain::wecom::live_code::{CodeStaff, LiveCode, LiveCodeDef, Routing, ScheduleSlot};

use super::welcome::{DayCheck, Opt, WelcomeValues, WelcomeView, day_checks, days, hhmm, time};
use super::{PATH, ROTATIONS, code_errors, corps, eligible_staff, parse_rotation, rotation_str};
use crate::auth::ConsoleActor;
use crate::console::customers::view::{FormErrors, Picker, all, label, one, text};
use crate::console::customers::{parse_id, tag_ids};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::console::wecom::picked_corp;
use crate::state::AppState;

/// Staff rows the form shows at least (and blank ones beyond the code's own).
const STAFF_ROWS: usize = 5;
/// Schedule rows the form shows at least.
const SLOT_ROWS: usize = 3;
/// Schedule rows read back from a post.
const MAX_SLOTS: usize = 50;

/// One schedule row as typed.
#[derive(Debug, Clone, Default)]
struct SlotValues {
    days: Vec<u8>,
    start: String,
    end: String,
    staff: Vec<String>,
}

impl SlotValues {
    fn is_blank(&self) -> bool {
        self.days.is_empty() && self.start.is_empty() && self.end.is_empty() && self.staff.is_empty()
    }
}

/// The form's values, as typed or as the code has them.
#[derive(Debug, Clone)]
struct Values {
    corp: String,
    name: String,
    channel: String,
    /// (userid, daily cap) rows.
    staff: Vec<(String, String)>,
    backup: Vec<String>,
    rotation: String,
    slots: Vec<SlotValues>,
    skip_verify: bool,
    exclusive: bool,
    tag_ids: Vec<String>,
    remark_template: String,
    description: String,
    welcome: WelcomeValues,
}

impl Values {
    fn blank(corp: String) -> Self {
        Self {
            corp,
            name: String::new(),
            channel: String::new(),
            staff: Vec::new(),
            backup: Vec::new(),
            rotation: "round_robin".into(),
            slots: Vec::new(),
            skip_verify: true,
            exclusive: false,
            tag_ids: Vec::new(),
            remark_template: String::new(),
            description: String::new(),
            welcome: WelcomeValues::default(),
        }
    }

    fn of(c: &LiveCode) -> Self {
        let r = &c.def.routing;
        Self {
            corp: c.corp.to_string(),
            name: c.name.clone(),
            channel: c.channel.clone(),
            staff: r
                .staff
                .iter()
                .map(|s| (s.userid.clone(), s.daily_cap.map(|n| n.to_string()).unwrap_or_default()))
                .collect(),
            backup: r.backup.clone(),
            rotation: rotation_str(r.rotation).into(),
            slots: r
                .schedule
                .iter()
                .map(|s| SlotValues {
                    days: s.weekdays.clone(),
                    start: hhmm(s.start),
                    end: hhmm(s.end),
                    staff: s.staff.clone(),
                })
                .collect(),
            skip_verify: c.def.skip_verify,
            exclusive: c.def.exclusive,
            tag_ids: c.def.tag_ids.iter().map(ToString::to_string).collect(),
            remark_template: c.def.remark_template.clone().unwrap_or_default(),
            description: c.def.description.clone().unwrap_or_default(),
            welcome: c.def.welcome.as_ref().map(WelcomeValues::of).unwrap_or_default(),
        }
    }

    fn from_fields(fields: &[(String, String)]) -> Self {
        let userids = all(fields, "staff_userid");
        let caps = all(fields, "staff_cap");
        let staff = userids
            .iter()
            .enumerate()
            .map(|(i, u)| (u.trim().to_string(), caps.get(i).map(|c| c.trim()).unwrap_or("").to_string()))
            .filter(|(u, _)| !u.is_empty())
            .collect();
        let slots = (0..MAX_SLOTS)
            .map(|i| SlotValues {
                days: days(&all(fields, &format!("slot{i}_day"))),
                start: text(fields, &format!("slot{i}_start")),
                end: text(fields, &format!("slot{i}_end")),
                staff: all(fields, &format!("slot{i}_staff")).into_iter().map(str::to_string).collect(),
            })
            .filter(|s| !s.is_blank())
            .collect();
        Self {
            corp: text(fields, "corp"),
            name: text(fields, "name"),
            channel: text(fields, "channel"),
            staff,
            backup: all(fields, "backup").into_iter().filter(|b| !b.is_empty()).map(str::to_string).collect(),
            rotation: text(fields, "rotation"),
            slots,
            skip_verify: one(fields, "skip_verify").is_some(),
            exclusive: one(fields, "exclusive").is_some(),
            tag_ids: all(fields, "tag_ids").into_iter().filter(|t| !t.is_empty()).map(str::to_string).collect(),
            remark_template: text(fields, "remark_template"),
            description: text(fields, "description"),
            welcome: WelcomeValues::from_fields(fields),
        }
    }

    /// The code as the app takes it; the app judges the rules, this only reads the fields.
    fn input(&self) -> Result<LiveCodeInput, AppError> {
        let corp: CorpId = self.corp.parse().map_err(|_| AppError::invalid("corp", "expected_option"))?;
        let mut staff = Vec::new();
        for (userid, cap) in &self.staff {
            let daily_cap = match cap.as_str() {
                "" => None,
                c => Some(c.parse::<u32>().map_err(|_| {
                    AppError::invalid("staff", format!("daily cap of {userid} must be a whole number of at least 1"))
                })?),
            };
            staff.push(CodeStaff { userid: userid.clone(), daily_cap });
        }
        let rotation =
            parse_rotation(&self.rotation).ok_or_else(|| AppError::invalid("rotation", "expected_option"))?;
        let mut schedule = Vec::new();
        for (i, s) in self.slots.iter().enumerate() {
            let (Some(start), Some(end)) = (time(&s.start), time(&s.end)) else {
                return Err(AppError::invalid("schedule", format!("slot {}: times as HH:MM", i + 1)));
            };
            schedule.push(ScheduleSlot { weekdays: s.days.clone(), start, end, staff: s.staff.clone() });
        }
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let welcome = if self.welcome.is_blank() { None } else { Some(self.welcome.message()?) };
        let tags: Vec<&str> = self.tag_ids.iter().map(String::as_str).collect();
        Ok(LiveCodeInput {
            corp,
            name: self.name.clone(),
            channel: self.channel.clone(),
            def: LiveCodeDef {
                routing: Routing { staff, backup: self.backup.clone(), rotation, schedule },
                skip_verify: self.skip_verify,
                exclusive: self.exclusive,
                tag_ids: tag_ids("tag_ids", &tags)?,
                remark_template: opt(&self.remark_template),
                description: opt(&self.description),
                welcome,
            },
        })
    }
}

/// A staff row: the userid select and the daily cap.
pub struct StaffLine {
    pub options: Vec<Opt>,
    pub cap: String,
}

/// A schedule row.
pub struct SlotLine {
    pub i: usize,
    pub days: Vec<DayCheck>,
    pub start: String,
    pub end: String,
    pub staff: Vec<Opt>,
}

/// A rotation radio with its short explanation.
pub struct RotationChoice {
    pub value: &'static str,
    pub label: String,
    pub hint: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "live_code_form.html")]
struct FormPage {
    chrome: Chrome,
    action: String,
    /// The code's id when editing (its corp is then fixed).
    id: String,
    editing: bool,
    /// No active corp is connected: nothing to create a code in.
    no_corp: bool,
    corp: String,
    corp_name: String,
    corps: Vec<Opt>,
    /// The corp has no staff a code can route to (synced, active, with the customer-contact permission).
    no_staff: bool,
    name: String,
    channel: String,
    staff: Vec<StaffLine>,
    backup: Vec<Opt>,
    rotations: Vec<RotationChoice>,
    slots: Vec<SlotLine>,
    skip_verify: bool,
    exclusive: bool,
    picker: Option<Picker>,
    remark_template: String,
    description: String,
    welcome: WelcomeView,
    errors: FormErrors,
}

/// The staff as choices, `chosen` ones selected; a chosen userid the corp does not offer is kept as a choice.
fn staff_opts(staff: &[(String, String)], chosen: &[String]) -> Vec<Opt> {
    let mut out: Vec<Opt> = staff
        .iter()
        .map(|(u, name)| Opt { value: u.clone(), label: format!("{name} ({u})"), selected: chosen.contains(u) })
        .collect();
    for c in chosen {
        if !staff.iter().any(|(u, _)| u == c) {
            out.push(Opt { value: c.clone(), label: c.clone(), selected: true });
        }
    }
    out
}

async fn form_page(
    state: &AppState,
    ca: &ConsoleActor,
    editing: Option<LiveCodeId>,
    values: Values,
    errors: FormErrors,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "live_codes");
    let tr = chrome.tr;
    let tenant = ca.actor.tenant;
    let corps = corps(state, tenant, editing.is_some()).await?;
    let corp = values.corp.parse::<CorpId>().ok().filter(|c| corps.iter().any(|x| x.0 == *c));
    let staff: Vec<(String, String)> = match corp {
        Some(c) => eligible_staff(state, tenant, c).await?.into_iter().map(|s| (s.userid, s.name)).collect(),
        None => Vec::new(),
    };
    let rows = STAFF_ROWS.max(values.staff.len() + 2);
    let staff_lines = (0..rows)
        .map(|i| {
            let (u, cap) = values.staff.get(i).cloned().unwrap_or_default();
            let chosen: Vec<String> = if u.is_empty() { Vec::new() } else { vec![u] };
            StaffLine { options: staff_opts(&staff, &chosen), cap }
        })
        .collect();
    let slot_rows = SLOT_ROWS.max(values.slots.len() + 1);
    let slots = (0..slot_rows)
        .map(|i| {
            let s = values.slots.get(i).cloned().unwrap_or_default();
            SlotLine {
                i,
                days: day_checks(tr, &s.days),
                start: s.start,
                end: s.end,
                staff: staff_opts(&staff, &s.staff),
            }
        })
        .collect();
    let rotation = if values.rotation.is_empty() { "round_robin" } else { values.rotation.as_str() };
    let rotations = ROTATIONS
        .iter()
        .map(|r| {
            let value = rotation_str(*r);
            RotationChoice {
                value,
                label: label(tr, "live_codes.rotation", value),
                hint: label(tr, "live_codes.rotation_hint", value),
                checked: value == rotation,
            }
        })
        .collect();
    let groups = state.app.tag_groups(&ca.actor).await?;
    let picker = Picker::new(tr, "tag_ids", "live_codes.tags", "live_codes.tags_placeholder", &groups, &values.tag_ids);
    let page = FormPage {
        action: editing.map_or_else(|| PATH.to_string(), |id| format!("{PATH}/{id}")),
        id: editing.map(|id| id.to_string()).unwrap_or_default(),
        editing: editing.is_some(),
        no_corp: corps.is_empty(),
        corp: corp.map(|c| c.to_string()).unwrap_or_default(),
        corp_name: corp.and_then(|c| corps.iter().find(|x| x.0 == c)).map(|x| x.1.clone()).unwrap_or_default(),
        corps: corps
            .iter()
            .map(|(id, name)| Opt { value: id.to_string(), label: name.clone(), selected: Some(*id) == corp })
            .collect(),
        no_staff: corp.is_some() && staff.is_empty(),
        name: values.name,
        channel: values.channel,
        staff: staff_lines,
        backup: staff_opts(&staff, &values.backup),
        rotations,
        slots,
        skip_verify: values.skip_verify,
        exclusive: values.exclusive,
        picker: Some(picker),
        remark_template: values.remark_template,
        description: values.description,
        welcome: WelcomeView::new(tr, values.welcome),
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
    let corps = corps(&state, ca.actor.tenant, false).await?;
    let corp = picked_corp(&corps, q.corp.as_deref());
    form_page(&state, &ca, None, Values::blank(corp), FormErrors::default()).await
}

pub async fn edit_page(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: LiveCodeId = parse_id(&id)?;
    let view = state.app.live_code(&ca.actor, id).await?;
    ca.actor.require(Permission::CustomersWrite)?;
    form_page(&state, &ca, Some(id), Values::of(&view.code), FormErrors::default()).await
}

pub async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    ca.actor.require(Permission::CustomersWrite)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "live_codes").tr;
    let values = Values::from_fields(&fields);
    let known = corps(&state, ca.actor.tenant, false).await?;
    let result = match values.input() {
        Ok(input) if !known.iter().any(|c| c.0 == input.corp) => Err(AppError::invalid("corp", "expected_option")),
        Ok(input) => state.app.create_live_code(&ca.actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => Ok(Redirect::to(&format!("{PATH}/{}", v.code.id)).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            form_page(&state, &ca, None, values, code_errors(tr, &e)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn update(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: LiveCodeId = parse_id(&id)?;
    // The code first: another tenant's id is not found before the form is judged.
    let view = state.app.live_code(&ca.actor, id).await?;
    ca.actor.require(Permission::CustomersWrite)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "live_codes").tr;
    let mut values = Values::from_fields(&fields);
    // A code's corp is fixed.
    values.corp = view.code.corp.to_string();
    let result = match values.input() {
        Ok(input) => state.app.update_live_code(&ca.actor, id, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}/{id}")).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            form_page(&state, &ca, Some(id), values, code_errors(tr, &e)).await
        }
        Err(e) => Err(e.into()),
    }
}
