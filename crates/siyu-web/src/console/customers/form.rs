//! The customer create and edit forms (inline errors, input kept), and deleting a customer.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde_json::{Map, Value};
use siyu_app::AppError;
use siyu_app::customers::{CustomerPatch, NewCustomerInput};
use siyu_domain::access::Permission;
use siyu_domain::customer::{Customer, Gender};
use siyu_domain::field::{FieldDef, FieldKind};
use siyu_domain::id::CustomerId;

use super::view::{FormErrors, Picker, all, one, text};
use super::{parse_id, tag_ids};
use crate::auth::ConsoleActor;
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::state::AppState;

/// One custom field input, rendered by its kind.
pub struct FieldInput {
    pub key: String,
    pub label: String,
    pub kind: &'static str,
    pub name: String,
    pub value: String,
    pub options: Vec<(String, bool)>,
}

impl FieldInput {
    pub(super) fn new(def: &FieldDef, values: &[String]) -> Self {
        let first = values.first().cloned().unwrap_or_default();
        Self {
            key: def.key.clone(),
            label: def.label.clone(),
            kind: def.kind.as_str(),
            name: format!("custom.{}", def.key),
            value: first,
            options: def.options.iter().map(|o| (o.clone(), values.contains(o))).collect(),
        }
    }

    /// The error key of this field (`custom.<key>`).
    pub fn error_key(&self) -> &str {
        &self.name
    }
}

/// The current values of a stored custom field, as form strings.
pub(super) fn stored_values(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => vec![format!("{}", f as i64)],
            _ => vec![n.to_string()],
        },
        Some(Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        Some(Value::Bool(b)) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

/// Custom values from the form: empty inputs become `null` (clear) when `clear_empty`, else are left out.
fn custom_values(defs: &[FieldDef], pairs: &[(String, String)], clear_empty: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for d in defs {
        let name = format!("custom.{}", d.key);
        let values: Vec<&str> = all(pairs, &name).into_iter().map(str::trim).filter(|v| !v.is_empty()).collect();
        let value = match (d.kind, values.first()) {
            (FieldKind::MultiChoice, Some(_)) => {
                Value::Array(values.iter().map(|v| Value::String(v.to_string())).collect())
            }
            (_, Some(v)) => Value::String(v.to_string()),
            (_, None) if clear_empty => Value::Null,
            (_, None) => continue,
        };
        out.insert(d.key.clone(), value);
    }
    out
}

#[derive(Template)]
#[template(path = "customer_form.html")]
struct FormPage {
    chrome: Chrome,
    title: String,
    action: String,
    cancel_url: String,
    creating: bool,
    name: String,
    gender: String,
    phone: String,
    email: String,
    remark: String,
    genders: Vec<(&'static str, String)>,
    picker: Option<Picker>,
    fields: Vec<FieldInput>,
    errors: FormErrors,
}

impl FormPage {
    fn other_errors(&self) -> Vec<&super::view::FieldError> {
        self.errors.others(&["name", "gender", "phone", "email", "remark", "tags"])
    }
}

fn genders(tr: Tr) -> Vec<(&'static str, String)> {
    [Gender::Unknown, Gender::Male, Gender::Female]
        .into_iter()
        .map(|g| (g.as_str(), tr.t(&format!("gender.{}", g.as_str())).to_string()))
        .map(|(k, v)| (k, if v.starts_with("gender.") { k.to_string() } else { v }))
        .collect()
}

/// Errors shown inline on the form rather than as an error page.
fn inline(e: &AppError) -> bool {
    e.field().is_some() || matches!(e.code().status(), 400 | 409)
}

pub async fn new_page(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    ca.actor.require(Permission::CustomersWrite)?;
    create_page(&state, &ca, &[], FormErrors::default()).await
}

async fn create_page(
    state: &AppState,
    ca: &ConsoleActor,
    pairs: &[(String, String)],
    errors: FormErrors,
) -> ConsoleResult {
    let (app, a) = (&state.app, &ca.actor);
    let chrome = Chrome::new(&ca.user, Some(a), "customers");
    let tr = chrome.tr;
    let groups = app.tag_groups(a).await?;
    let defs = app.fields(a).await?;
    let chosen: Vec<String> = all(pairs, "tags").into_iter().map(str::to_string).collect();
    let picker = Picker::new(tr, "tags", "customer.tags", "tags.choose", &groups, &chosen);
    let fields = defs
        .iter()
        .map(|d| {
            let values = all(pairs, &format!("custom.{}", d.key)).into_iter().map(str::to_string).collect::<Vec<_>>();
            FieldInput::new(d, &values)
        })
        .collect();
    let page = FormPage {
        title: tr.t("customer.new").to_string(),
        action: "/console/customers".into(),
        cancel_url: "/console/customers".into(),
        creating: true,
        name: text(pairs, "name"),
        gender: one(pairs, "gender").unwrap_or("unknown").to_string(),
        phone: text(pairs, "phone"),
        email: text(pairs, "email"),
        remark: text(pairs, "remark"),
        genders: genders(tr),
        picker: Some(picker),
        fields,
        errors,
        chrome,
    };
    Ok(render(&page))
}

fn gender_of(pairs: &[(String, String)]) -> Result<Gender, AppError> {
    Gender::parse(one(pairs, "gender").unwrap_or("")).ok_or_else(|| AppError::invalid("gender", "invalid_gender"))
}

fn optional(pairs: &[(String, String)], key: &str) -> Option<String> {
    Some(text(pairs, key)).filter(|s| !s.is_empty())
}

pub async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: pairs } = post;
    let defs = state.app.fields(&ca.actor).await?;
    let input = || -> Result<NewCustomerInput, AppError> {
        Ok(NewCustomerInput {
            name: text(&pairs, "name"),
            gender: Some(gender_of(&pairs)?),
            remark: optional(&pairs, "remark"),
            phone: optional(&pairs, "phone"),
            email: optional(&pairs, "email"),
            tags: tag_ids("tags", &all(&pairs, "tags"))?,
            custom: custom_values(&defs, &pairs, false),
            ..Default::default()
        })
    };
    let result = match input() {
        Ok(input) => state.app.create_customer(&ca.actor, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => Ok(Redirect::to(&format!("/console/customers/{}", c.id)).into_response()),
        Err(e) if inline(&e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "customers").tr;
            let page = create_page(&state, &ca, &pairs, FormErrors::from_error(tr, &e, "")).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn edit_page(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: CustomerId = parse_id(&id)?;
    ca.actor.require(Permission::CustomersWrite)?;
    let detail = state.app.get_customer(&ca.actor, id).await?;
    edit_form(&state, &ca, &detail.customer, None, FormErrors::default()).await
}

async fn edit_form(
    state: &AppState,
    ca: &ConsoleActor,
    c: &Customer,
    pairs: Option<&[(String, String)]>,
    errors: FormErrors,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "customers");
    let tr = chrome.tr;
    let defs = state.app.fields(&ca.actor).await?;
    let fields = defs
        .iter()
        .map(|d| {
            let values = match pairs {
                Some(p) => all(p, &format!("custom.{}", d.key)).into_iter().map(str::to_string).collect(),
                None => stored_values(c.custom.get(&d.key)),
            };
            FieldInput::new(d, &values)
        })
        .collect();
    let (name, gender, remark) = match pairs {
        Some(p) => (text(p, "name"), one(p, "gender").unwrap_or("unknown").to_string(), text(p, "remark")),
        None => (c.name.clone(), c.gender.as_str().to_string(), c.remark.clone().unwrap_or_default()),
    };
    let page = FormPage {
        title: format!("{} · {}", tr.t("action.edit"), c.name),
        action: format!("/console/customers/{}", c.id),
        cancel_url: format!("/console/customers/{}", c.id),
        creating: false,
        name,
        gender,
        phone: String::new(),
        email: String::new(),
        remark,
        genders: genders(tr),
        picker: None,
        fields,
        errors,
        chrome,
    };
    Ok(render(&page))
}

pub async fn update(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: pairs } = post;
    let id: CustomerId = parse_id(&id)?;
    let defs = state.app.fields(&ca.actor).await?;
    let patch = || -> Result<CustomerPatch, AppError> {
        Ok(CustomerPatch {
            name: Some(text(&pairs, "name")),
            gender: Some(gender_of(&pairs)?),
            remark: Some(optional(&pairs, "remark")),
            custom: Some(custom_values(&defs, &pairs, true)),
            ..Default::default()
        })
    };
    let result = match patch() {
        Ok(p) => state.app.update_customer(&ca.actor, id, p).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/console/customers/{id}")).into_response()),
        Err(e) if inline(&e) && !matches!(e, AppError::NotFound) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "customers").tr;
            let detail = state.app.get_customer(&ca.actor, id).await?;
            let errors = FormErrors::from_error(tr, &e, "");
            let page = edit_form(&state, &ca, &detail.customer, Some(&pairs), errors).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, .. } = post;
    let id: CustomerId = parse_id(&id)?;
    state.app.delete_customer(&ca.actor, id).await?;
    Ok(Redirect::to("/console/customers?done=deleted").into_response())
}
