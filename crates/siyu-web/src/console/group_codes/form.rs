//! The group code form: `/console/wecom/group-codes/new` (`?corp=` picks the corp whose groups it offers) and
//! `/console/wecom/group-codes/{id}/edit`. The group picker lists the corp's synced groups with their member
//! counts; each row is put in the join way or the reserve, in the order typed. What was typed is kept when the
//! app refuses it, the error next to its field.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::{GroupCodeInput, GroupQuery};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, GroupCodeId};
use siyu_domain::wecom::group_code::{DEFAULT_THRESHOLD, GroupCode, GroupCodeSettings};

use super::{CAP, PATH, code_errors, corps};
use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FormErrors, all, one, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::console::wecom::picked_corp;
use crate::state::AppState;

/// The form's values, as typed or as the code has them.
#[derive(Debug, Clone)]
struct Values {
    corp: String,
    name: String,
    channel: String,
    /// (chat id, role `active`/`reserve`/``, order as typed).
    rows: Vec<(String, String, String)>,
    threshold: String,
    rollover: bool,
    auto_create_room: bool,
    room_base_name: String,
    room_base_id: String,
    welcome_template: String,
}

impl Values {
    fn blank(corp: String) -> Self {
        Self {
            corp,
            name: String::new(),
            channel: String::new(),
            rows: Vec::new(),
            threshold: DEFAULT_THRESHOLD.to_string(),
            rollover: true,
            auto_create_room: false,
            room_base_name: String::new(),
            room_base_id: String::new(),
            welcome_template: String::new(),
        }
    }

    fn of(c: &GroupCode) -> Self {
        let active = c.chat_ids.iter().enumerate().map(|(i, g)| (g.clone(), "active".to_string(), (i + 1).to_string()));
        let reserve =
            c.reserve.iter().enumerate().map(|(i, g)| (g.clone(), "reserve".to_string(), (i + 1).to_string()));
        let s = &c.settings;
        Self {
            corp: c.corp.to_string(),
            name: c.name.clone(),
            channel: c.channel.clone(),
            rows: active.chain(reserve).collect(),
            threshold: s.threshold.to_string(),
            rollover: s.rollover,
            auto_create_room: s.auto_create_room,
            room_base_name: s.room_base_name.clone().unwrap_or_default(),
            room_base_id: s.room_base_id.map(|n| n.to_string()).unwrap_or_default(),
            welcome_template: s.welcome_template.map(|w| w.to_string()).unwrap_or_default(),
        }
    }

    fn from_fields(fields: &[(String, String)]) -> Self {
        let chats = all(fields, "group_chat");
        let roles = all(fields, "group_role");
        let orders = all(fields, "group_order");
        let rows = chats
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let at = |v: &[&str]| v.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
                (c.trim().to_string(), at(&roles), at(&orders))
            })
            .filter(|(c, role, _)| !c.is_empty() && !role.is_empty())
            .collect();
        Self {
            corp: text(fields, "corp"),
            name: text(fields, "name"),
            channel: text(fields, "channel"),
            rows,
            threshold: text(fields, "threshold"),
            rollover: one(fields, "rollover").is_some(),
            auto_create_room: one(fields, "auto_create_room").is_some(),
            room_base_name: text(fields, "room_base_name"),
            room_base_id: text(fields, "room_base_id"),
            welcome_template: text(fields, "welcome_template"),
        }
    }

    /// The chat ids of `role`, by the order typed (rows without one last, in page order).
    fn chats(&self, role: &str) -> Vec<String> {
        let mut rows: Vec<(u32, usize, &String)> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.1 == role)
            .map(|(i, r)| (r.2.parse().unwrap_or(u32::MAX), i, &r.0))
            .collect();
        rows.sort();
        rows.into_iter().map(|r| r.2.clone()).collect()
    }

    /// The code as the app takes it; the app judges the rules, this only reads the fields.
    fn input(&self) -> Result<GroupCodeInput, AppError> {
        let corp: CorpId = self.corp.parse().map_err(|_| AppError::invalid("corp", "expected_option"))?;
        let threshold = self.threshold.parse().map_err(|_| AppError::invalid("threshold", "a whole number"))?;
        let room_base_id = match self.room_base_id.as_str() {
            "" => None,
            n => Some(n.parse().map_err(|_| AppError::invalid("room_base_id", "a whole number"))?),
        };
        let welcome_template = match self.welcome_template.as_str() {
            "" => None,
            w => Some(w.parse().map_err(|_| AppError::invalid("welcome_template", "expected_option"))?),
        };
        Ok(GroupCodeInput {
            corp,
            name: self.name.clone(),
            channel: self.channel.clone(),
            groups: self.chats("active"),
            reserve: self.chats("reserve"),
            settings: GroupCodeSettings {
                rollover: self.rollover,
                threshold,
                auto_create_room: self.auto_create_room,
                room_base_name: (!self.room_base_name.is_empty()).then(|| self.room_base_name.clone()),
                room_base_id,
                welcome_template,
            },
        })
    }
}

/// A choice of a select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A row of the group picker.
pub struct PickRow {
    pub chat_id: String,
    pub name: String,
    pub members: i64,
    pub pct: i64,
    pub role: String,
    pub order: String,
}

#[derive(Template)]
#[template(path = "group_code_form.html")]
struct FormPage {
    chrome: Chrome,
    action: String,
    id: String,
    editing: bool,
    no_corp: bool,
    corp: String,
    corp_name: String,
    corps: Vec<Opt>,
    name: String,
    channel: String,
    picks: Vec<PickRow>,
    threshold: String,
    rollover: bool,
    auto_create_room: bool,
    room_base_name: String,
    room_base_id: String,
    welcomes: Vec<Opt>,
    errors: FormErrors,
}

async fn form_page(
    state: &AppState,
    ca: &ConsoleActor,
    editing: Option<GroupCodeId>,
    values: Values,
    errors: FormErrors,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "group_codes");
    let corps = corps(state, ca.actor.tenant, editing.is_some()).await?;
    let corp = values.corp.parse::<CorpId>().ok().filter(|c| corps.iter().any(|x| x.0 == *c));
    let mut picks = Vec::new();
    if let Some(c) = corp {
        let q = GroupQuery { corp: Some(c), limit: 200, ..GroupQuery::default() };
        for g in state.app.customer_groups(&ca.actor, q).await?.0 {
            let row = values.rows.iter().find(|r| r.0 == g.chat_id);
            picks.push(PickRow {
                pct: (g.member_count * 100 / CAP).clamp(0, 100),
                chat_id: g.chat_id,
                name: g.name,
                members: g.member_count,
                role: row.map(|r| r.1.clone()).unwrap_or_default(),
                order: row.map(|r| r.2.clone()).unwrap_or_default(),
            });
        }
    }
    // A chosen group the list does not offer (dismissed, beyond the first 200) stays a choice.
    for (chat, role, order) in &values.rows {
        if !picks.iter().any(|p| &p.chat_id == chat) {
            let (name, members, pct) = (chat.clone(), 0, 0);
            picks.push(PickRow { chat_id: chat.clone(), name, members, pct, role: role.clone(), order: order.clone() });
        }
    }
    let welcomes = state
        .app
        .group_welcomes(&ca.actor)
        .await?
        .into_iter()
        .filter(|w| Some(w.corp) == corp)
        .map(|w| Opt { selected: w.id.to_string() == values.welcome_template, value: w.id.to_string(), label: w.name })
        .collect();
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
        name: values.name,
        channel: values.channel,
        picks,
        threshold: values.threshold,
        rollover: values.rollover,
        auto_create_room: values.auto_create_room,
        room_base_name: values.room_base_name,
        room_base_id: values.room_base_id,
        welcomes,
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
    let id: GroupCodeId = parse_id(&id)?;
    let view = state.app.group_code(&ca.actor, id).await?;
    ca.actor.require(Permission::CustomersWrite)?;
    form_page(&state, &ca, Some(id), Values::of(&view.code), FormErrors::default()).await
}

pub async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    ca.actor.require(Permission::CustomersWrite)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "group_codes").tr;
    let values = Values::from_fields(&fields);
    let known = corps(&state, ca.actor.tenant, false).await?;
    let result = match values.input() {
        Ok(input) if !known.iter().any(|c| c.0 == input.corp) => Err(AppError::invalid("corp", "expected_option")),
        Ok(input) => state.app.create_group_code(&ca.actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => Ok(Redirect::to(&format!("{PATH}/{}", v.code.id)).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            form_page(&state, &ca, None, values, code_errors(tr, &e, "name")).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn update(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: GroupCodeId = parse_id(&id)?;
    // The code first: another tenant's id is not found before the form is judged.
    let view = state.app.group_code(&ca.actor, id).await?;
    ca.actor.require(Permission::CustomersWrite)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "group_codes").tr;
    let mut values = Values::from_fields(&fields);
    values.corp = view.code.corp.to_string();
    let result = match values.input() {
        Ok(input) => state.app.update_group_code(&ca.actor, id, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("{PATH}/{id}")).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            form_page(&state, &ca, Some(id), values, code_errors(tr, &e, "name")).await
        }
        Err(e) => Err(e.into()),
    }
}
