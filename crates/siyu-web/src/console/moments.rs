//! Console: 客户朋友圈 (customer moments). `/console/wecom/moments` lists the moments with how far they got;
//! `/console/wecom/moments/new` is the form (text, attachments, posting staff, customer tags, time);
//! `/console/wecom/moments/{id}` shows one: each staff member's publish status and reach, the comments and
//! likes pulled back, and the pull / cancel buttons.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::{MomentInput, MomentView};
use siyu_domain::access::Permission;
use siyu_domain::id::{CorpId, MomentId};
use siyu_domain::wecom::moment::{MomentContent, MomentVisibility};

use crate::auth::ConsoleActor;
use crate::console::customers::view::{FormErrors, Picker, all, error_message, fmt_opt, fmt_time, label, one, text};
use crate::console::customers::{parse_id, tag_ids};
use crate::console::mass_sends::form::{Choice, attachments, corp_choices, form_errors, local_time, staff_choices};
use crate::console::mass_sends::staff_names;
use crate::console::page::{Chrome, ConsoleResult, FormPost, render};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/wecom/moments";

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .post(PATH, create)
        .get("/console/wecom/moments/new", new_page)
        .get("/console/wecom/moments/{id}", detail)
        .post("/console/wecom/moments/{id}/results", results)
        .post("/console/wecom/moments/{id}/cancel", cancel)
        .into_router()
}

/// One moment as the list shows it.
pub struct MomentRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub status_label: String,
    pub published: usize,
    pub senders: usize,
    pub published_pct: usize,
    pub visible: i64,
    pub comments: i64,
    pub likes: i64,
    pub scheduled: String,
}

impl MomentRow {
    fn of(tr: Tr, v: &MomentView) -> Self {
        let status = v.moment.status.as_str();
        let senders = v.senders.len();
        Self {
            id: v.moment.id.to_string(),
            name: v.moment.name.clone(),
            status: status.to_string(),
            status_label: label(tr, "moments.status", status),
            published: v.published,
            senders,
            published_pct: (v.published * 100).checked_div(senders).unwrap_or(0),
            visible: v.visible,
            comments: v.comments,
            likes: v.likes,
            scheduled: fmt_time(&v.moment.scheduled_at),
        }
    }
}

#[derive(Template)]
#[template(path = "moments.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<MomentRow>,
    can_edit: bool,
}

async fn list(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "moments");
    let moments = state.app.moments(&ca.actor).await?;
    let rows = moments.iter().map(|v| MomentRow::of(chrome.tr, v)).collect();
    Ok(render(&ListPage { rows, can_edit: ca.actor.can(Permission::CustomersWrite), chrome }))
}

#[derive(Debug, Clone, Default)]
struct Values {
    corp: String,
    name: String,
    text: String,
    attachments: String,
    staff: Vec<String>,
    tag_ids: Vec<String>,
    scheduled_at: String,
}

impl Values {
    fn from_fields(f: &[(String, String)]) -> Self {
        let list = |k: &str| all(f, k).into_iter().filter(|v| !v.is_empty()).map(str::to_string).collect();
        Self {
            corp: text(f, "corp"),
            name: text(f, "name"),
            text: one(f, "text").unwrap_or_default().to_string(),
            attachments: text(f, "attachments"),
            staff: list("staff"),
            tag_ids: list("tag_ids"),
            scheduled_at: text(f, "scheduled_at"),
        }
    }

    async fn input(&self, state: &AppState, ca: &ConsoleActor) -> Result<MomentInput, AppError> {
        let scheduled_at = match self.scheduled_at.as_str() {
            "" => None,
            s => {
                let offset = state.app.tenant_offset(ca.actor.tenant).await?;
                Some(local_time(s, offset).ok_or_else(|| AppError::invalid("scheduled_at", "YYYY-MM-DD HH:MM"))?)
            }
        };
        let tags: Vec<&str> = self.tag_ids.iter().map(String::as_str).collect();
        Ok(MomentInput {
            corp: self.corp.parse().map_err(|_| AppError::invalid("corp", "unknown corp"))?,
            name: self.name.clone(),
            content: MomentContent { text: self.text.clone(), attachments: attachments(&self.attachments)? },
            visibility: MomentVisibility { staff: self.staff.clone(), tag_ids: tag_ids("tag_ids", &tags)? },
            scheduled_at,
        })
    }
}

#[derive(Template)]
#[template(path = "moment_form.html")]
struct FormPage {
    chrome: Chrome,
    no_corp: bool,
    corps: Vec<Choice>,
    v: Values,
    staff: Vec<Choice>,
    picker: Option<Picker>,
    errors: FormErrors,
}

async fn form_page(state: &AppState, ca: &ConsoleActor, mut v: Values, errors: FormErrors) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "moments");
    let corps = corp_choices(state, ca, &v.corp).await?;
    let corp = corps.iter().find(|c| c.selected).and_then(|c| c.value.parse::<CorpId>().ok());
    v.corp = corp.map(|c| c.to_string()).unwrap_or_default();
    let groups = state.app.tag_groups(&ca.actor).await?;
    let picker = Picker::new(chrome.tr, "tag_ids", "moments.tags", "moments.tags_placeholder", &groups, &v.tag_ids);
    let page = FormPage {
        no_corp: corps.is_empty(),
        staff: staff_choices(state, ca, corp, &v.staff).await?,
        corps,
        picker: Some(picker),
        v,
        errors,
        chrome,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, render(&page)).into_response())
}

#[derive(Deserialize, Default)]
struct NewParams {
    #[serde(default)]
    corp: Option<String>,
}

async fn new_page(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<NewParams>) -> ConsoleResult {
    ca.actor.require(Permission::CustomersWrite)?;
    let v = Values { corp: q.corp.unwrap_or_default(), ..Values::default() };
    form_page(&state, &ca, v, FormErrors::default()).await
}

async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    ca.actor.require(Permission::CustomersWrite)?;
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "moments").tr;
    let v = Values::from_fields(&fields);
    let result = match v.input(&state, &ca).await {
        Ok(input) => state.app.create_moment(&ca.actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(view) => Ok(Redirect::to(&format!("{PATH}/{}", view.moment.id)).into_response()),
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => form_page(&state, &ca, v, form_errors(tr, &e)).await,
        Err(e) => Err(e.into()),
    }
}

/// One posting staff member's line.
pub struct SenderLine {
    pub name: String,
    pub published: bool,
    pub visible: i64,
    pub comments: i64,
    pub likes: i64,
}

/// One comment or like.
pub struct InteractionLine {
    pub like: bool,
    pub who: String,
    pub href: Option<String>,
    pub on: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "moment_detail.html")]
struct DetailPage {
    chrome: Chrome,
    m: MomentRow,
    text: String,
    attachments: usize,
    audience: String,
    invalid: String,
    error: Option<String>,
    results_at: String,
    senders: Vec<SenderLine>,
    interactions: Vec<InteractionLine>,
    notice: Option<String>,
    problem: Option<String>,
    can_edit: bool,
    open: bool,
    in_wecom: bool,
}

#[derive(Deserialize, Default)]
struct DetailParams {
    #[serde(default)]
    notice: Option<String>,
}

async fn detail(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<DetailParams>,
) -> ConsoleResult {
    let id: MomentId = parse_id(&id)?;
    detail_page(&state, &ca, id, q.notice, None).await
}

async fn detail_page(
    state: &AppState,
    ca: &ConsoleActor,
    id: MomentId,
    notice: Option<String>,
    problem: Option<String>,
) -> ConsoleResult {
    let v = state.app.moment(&ca.actor, id).await?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "moments");
    let tr = chrome.tr;
    let names = staff_names(state, ca.actor.tenant, v.moment.corp).await?;
    let name_of = |u: &str| names.get(u).cloned().unwrap_or_else(|| u.to_string());
    let interactions = state
        .app
        .moment_interactions(&ca.actor, id)
        .await?
        .into_iter()
        .map(|i| InteractionLine {
            like: i.kind == "like",
            who: if i.external_userid.is_empty() { name_of(&i.staff_userid) } else { i.external_userid.clone() },
            href: i.customer_id.map(|c| format!("/console/customers/{c}")),
            on: name_of(&i.userid),
            at: fmt_time(&i.at),
        })
        .collect();
    let m = &v.moment;
    let staff = m.visibility.staff.iter().map(|u| name_of(u)).collect::<Vec<_>>().join("、");
    let audience = match (staff.is_empty(), m.visibility.tag_ids.is_empty()) {
        (true, true) => tr.t("moments.everyone").to_string(),
        (false, true) => staff,
        (true, false) => tr.t("moments.by_tags").to_string(),
        (false, false) => format!("{staff} · {}", tr.t("moments.by_tags")),
    };
    let invalid = m.invalid.as_ref().map(|i| [i.users.clone(), i.tags.clone()].concat().join("、")).unwrap_or_default();
    let page = DetailPage {
        text: m.content.text.clone(),
        attachments: m.content.attachments.len(),
        audience,
        invalid,
        error: m.error.clone(),
        results_at: fmt_opt(&m.results_at),
        senders: v
            .senders
            .iter()
            .map(|s| SenderLine {
                name: name_of(&s.userid),
                published: s.published,
                visible: s.visible,
                comments: s.comments,
                likes: s.likes,
            })
            .collect(),
        interactions,
        notice: notice.map(|n| label(tr, "moments.notice", &n)),
        problem,
        can_edit: ca.actor.can(Permission::CustomersWrite),
        open: !matches!(m.status.as_str(), "failed" | "cancelled"),
        in_wecom: m.moment_id.is_some(),
        m: MomentRow::of(tr, &v),
        chrome,
    };
    Ok(render(&page))
}

async fn act(state: &AppState, post: FormPost, id: &str, cancel: bool) -> ConsoleResult {
    let id: MomentId = parse_id(id)?;
    let actor = &post.ca.actor;
    state.app.moment(actor, id).await?;
    let done = if cancel {
        state.app.cancel_moment(actor, id).await
    } else {
        state.app.refresh_moment_results(actor, id).await
    };
    match done {
        Ok(_) => {
            let notice = if cancel { "cancelled" } else { "refreshed" };
            Ok(Redirect::to(&format!("{PATH}/{id}?notice={notice}")).into_response())
        }
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_) | AppError::RateLimited { .. })) => {
            let tr = Chrome::new(&post.ca.user, Some(actor), "moments").tr;
            detail_page(state, &post.ca, id, None, Some(error_message(tr, &e))).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn results(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    act(&state, post, &id, false).await
}

async fn cancel(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    act(&state, post, &id, true).await
}
