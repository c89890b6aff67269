//! Group welcome templates (入群欢迎语素材): `/console/wecom/group-welcome` lists them with WeCom's template
//! id; `/new` and `/{id}` are the form (text with `%NICKNAME%`, one image, link or mini-program attachment).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::{Value, json};
use siyu_app::AppError;
use siyu_app::wecom::GroupWelcomeInput;
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, GroupWelcomeId};
use siyu_domain::wecom::group_code::GroupWelcome;

use super::form::Opt;
use super::{code_errors, corps};
use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FormErrors, fmt_time, label, one, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::console::wecom::picked_corp;
use crate::state::AppState;

pub const PATH: &str = "/console/wecom/group-welcome";
const KINDS: [&str; 4] = ["", "image", "link", "miniprogram"];

/// One template as the list shows it.
pub struct WelcomeRow {
    pub id: String,
    pub name: String,
    pub text: String,
    pub kind: String,
    pub template_id: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "group_welcomes.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<WelcomeRow>,
    can_edit: bool,
}

pub async fn list(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "group_codes");
    let tr = chrome.tr;
    let rows = state
        .app
        .group_welcomes(&ca.actor)
        .await?
        .into_iter()
        .map(|w| {
            let kind = w.attachment.as_ref().and_then(|a| a["msgtype"].as_str()).unwrap_or("").to_string();
            WelcomeRow {
                id: w.id.to_string(),
                name: w.name,
                text: w.text,
                kind: if kind.is_empty() { "—".into() } else { label(tr, "group_welcome.kind", &kind) },
                template_id: w.template_id.unwrap_or_default(),
                updated: fmt_time(&w.updated_at),
            }
        })
        .collect();
    Ok(render(&ListPage { rows, can_edit: ca.actor.can(Permission::CustomersWrite), chrome }))
}

/// The form's values: the attachment's fields flat, by kind.
#[derive(Debug, Clone, Default)]
struct Values {
    corp: String,
    name: String,
    text: String,
    kind: String,
    /// image: a picture URL; link: the cover; miniprogram: the cover's media id.
    pic: String,
    title: String,
    url: String,
    desc: String,
    appid: String,
    page: String,
    notify: bool,
}

impl Values {
    fn of(w: &GroupWelcome) -> Self {
        let a = w.attachment.clone().unwrap_or(Value::Null);
        let kind = a["msgtype"].as_str().unwrap_or("").to_string();
        let body = &a[kind.as_str()];
        let s = |k: &str| body[k].as_str().unwrap_or("").to_string();
        let pic = match kind.as_str() {
            "image" => s("pic_url") + &s("media_id"),
            "link" => s("picurl"),
            _ => s("pic_media_id"),
        };
        Self {
            corp: w.corp.to_string(),
            name: w.name.clone(),
            text: w.text.clone(),
            pic,
            title: s("title"),
            url: s("url"),
            desc: s("desc"),
            appid: s("appid"),
            page: s("page"),
            kind,
            notify: w.notify,
        }
    }

    fn from_fields(fields: &[(String, String)]) -> Self {
        Self {
            corp: text(fields, "corp"),
            name: text(fields, "name"),
            text: text(fields, "text"),
            kind: text(fields, "kind"),
            pic: text(fields, "pic"),
            title: text(fields, "title"),
            url: text(fields, "url"),
            desc: text(fields, "desc"),
            appid: text(fields, "appid"),
            page: text(fields, "page"),
            notify: one(fields, "notify").is_some(),
        }
    }

    fn attachment(&self) -> Result<Option<Value>, AppError> {
        let need = |v: &str, field: &'static str| {
            if v.is_empty() { Err(AppError::invalid(field, "required")) } else { Ok(()) }
        };
        Ok(match self.kind.as_str() {
            "" => None,
            "image" => {
                need(&self.pic, "pic")?;
                let key = if self.pic.starts_with("http") { "pic_url" } else { "media_id" };
                Some(json!({"msgtype": "image", "image": {key: self.pic}}))
            }
            "link" => {
                need(&self.title, "title")?;
                need(&self.url, "url")?;
                let mut link = json!({"title": self.title, "url": self.url});
                if !self.pic.is_empty() {
                    link["picurl"] = json!(self.pic);
                }
                if !self.desc.is_empty() {
                    link["desc"] = json!(self.desc);
                }
                Some(json!({"msgtype": "link", "link": link}))
            }
            "miniprogram" => {
                for (v, f) in [(&self.title, "title"), (&self.pic, "pic"), (&self.appid, "appid"), (&self.page, "page")]
                {
                    need(v, f)?;
                }
                Some(json!({"msgtype": "miniprogram", "miniprogram": {"title": self.title,
                    "pic_media_id": self.pic, "appid": self.appid, "page": self.page}}))
            }
            _ => return Err(AppError::invalid("kind", "expected_option")),
        })
    }

    fn input(&self) -> Result<GroupWelcomeInput, AppError> {
        let corp: CorpId = self.corp.parse().map_err(|_| AppError::invalid("corp", "expected_option"))?;
        Ok(GroupWelcomeInput {
            corp,
            name: self.name.clone(),
            text: self.text.clone(),
            attachment: self.attachment()?,
            notify: self.notify,
        })
    }
}

#[derive(Template)]
#[template(path = "group_welcome_form.html")]
struct FormPage {
    chrome: Chrome,
    action: String,
    id: String,
    editing: bool,
    no_corp: bool,
    corps: Vec<Opt>,
    corp_name: String,
    template_id: String,
    kinds: Vec<Opt>,
    v: Values,
    errors: FormErrors,
}

async fn form_page(
    state: &AppState,
    ca: &ConsoleActor,
    editing: Option<&GroupWelcome>,
    v: Values,
    errors: FormErrors,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "group_codes");
    let tr = chrome.tr;
    let corps = corps(state, ca.actor.tenant, editing.is_some()).await?;
    let kinds = KINDS
        .iter()
        .map(|k| Opt {
            value: k.to_string(),
            label: if k.is_empty() {
                tr.t("group_welcome.no_attachment").to_string()
            } else {
                label(tr, "group_welcome.kind", k)
            },
            selected: v.kind == *k,
        })
        .collect();
    let page = FormPage {
        action: editing.map_or_else(|| PATH.to_string(), |w| format!("{PATH}/{}", w.id)),
        id: editing.map(|w| w.id.to_string()).unwrap_or_default(),
        editing: editing.is_some(),
        no_corp: corps.is_empty(),
        corp_name: corps.iter().find(|c| c.0.to_string() == v.corp).map(|c| c.1.clone()).unwrap_or_default(),
        corps: corps
            .iter()
            .map(|(id, n)| Opt { value: id.to_string(), label: n.clone(), selected: id.to_string() == v.corp })
            .collect(),
        template_id: editing.and_then(|w| w.template_id.clone()).unwrap_or_default(),
        kinds,
        v,
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
    let values = Values { corp: picked_corp(&corps, q.corp.as_deref()), notify: true, ..Values::default() };
    form_page(&state, &ca, None, values, FormErrors::default()).await
}

pub async fn edit_page(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: GroupWelcomeId = parse_id(&id)?;
    let w = state.app.group_welcome(&ca.actor, id).await?;
    form_page(&state, &ca, Some(&w), Values::of(&w), FormErrors::default()).await
}

pub async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    ca.actor.require(Permission::CustomersWrite)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "group_codes").tr;
    let values = Values::from_fields(&fields);
    let known = corps(&state, ca.actor.tenant, false).await?;
    let result = match values.input() {
        Ok(input) if !known.iter().any(|c| c.0 == input.corp) => Err(AppError::invalid("corp", "expected_option")),
        Ok(input) => state.app.create_group_welcome(&ca.actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(PATH).into_response()),
        Err(e @ AppError::Invalid(_)) => form_page(&state, &ca, None, values, code_errors(tr, &e, "text")).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn update(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: GroupWelcomeId = parse_id(&id)?;
    let w = state.app.group_welcome(&ca.actor, id).await?;
    ca.actor.require(Permission::CustomersWrite)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "group_codes").tr;
    let mut values = Values::from_fields(&fields);
    values.corp = w.corp.to_string();
    let result = match values.input() {
        Ok(input) => state.app.update_group_welcome(&ca.actor, id, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(PATH).into_response()),
        Err(e @ AppError::Invalid(_)) => form_page(&state, &ca, Some(&w), values, code_errors(tr, &e, "text")).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let id: GroupWelcomeId = parse_id(&id)?;
    state.app.group_welcome(&post.ca.actor, id).await?;
    state.app.delete_group_welcome(&post.ca.actor, id).await?;
    Ok(Redirect::to(PATH).into_response())
}
