//! The customer page: profile, figures (`customers/aggregates.rs`), identities (with audited reveal), tags
//! (htmx add/remove), follows, notes, custom fields, orders (`customers/orders.rs`) and the activity list
//! (timeline, events and orders, filterable: `customers/activity.rs`).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_app::activity::activity_filter;
use siyu_app::customers::CustomerDetail;
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, UserId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::page::PageRequest;

use super::activity::{self, ActivityFilterForm};
use super::aggregates::AggregatesCard;
use super::form::FieldInput;
use super::merges::MergesCard;
use super::orders::OrdersCard;
use super::privacy::PrivacyCard;
use super::sandbox::SandboxCard;
use super::segments::SegmentsCard;
use super::stage::StageCard;
use super::timeline::{self, More, TimelineRow};
use super::values::ValuesCard;
use super::view::{FieldError, FormErrors, fmt_opt, fmt_time, label, one, text};
use super::{parse_id, tag_ids};
use crate::auth::ConsoleActor;
use crate::console::csrf_from;
use crate::console::page::{Chrome, ConsoleResult, FormPost, check_csrf, render};
use crate::console::tasks::TasksCard;
use crate::i18n::Tr;
use crate::state::AppState;

pub struct IdentityRow {
    pub id: String,
    pub kind: String,
    pub namespace: String,
    pub display: String,
    pub source: String,
    pub created: String,
    pub pii: bool,
}

pub struct FollowRow {
    pub user_id: String,
    pub name: String,
    pub add_way: String,
    pub state: String,
    pub remark: String,
    pub added: String,
}

pub struct NoteRow {
    pub id: String,
    pub author: String,
    pub body: String,
    pub created: String,
}

/// Tags of one group a customer could still get: (id, name).
pub struct TagOptionGroup {
    pub name: String,
    pub exclusive: bool,
    pub tags: Vec<(String, String)>,
}

/// The tags card (also swapped in by htmx after a change).
pub struct TagsCard {
    pub customer: String,
    pub held: Vec<(String, String, String)>,
    /// Tags not held yet, by group.
    pub options: Vec<TagOptionGroup>,
    pub can_write: bool,
    pub error: Option<String>,
}

impl TagsCard {
    async fn load(
        state: &AppState,
        ca: &ConsoleActor,
        d: &CustomerDetail,
        error: Option<String>,
    ) -> Result<Self, AppError> {
        let groups = state.app.tag_groups(&ca.actor).await?;
        let held: Vec<String> = d.tags.iter().map(|t| t.id.to_string()).collect();
        let options = groups
            .iter()
            .map(|g| {
                let tags = g
                    .tags
                    .iter()
                    .map(|t| (t.tag.id.to_string(), t.tag.name.clone()))
                    .filter(|(id, _)| !held.contains(id))
                    .collect::<Vec<_>>();
                TagOptionGroup { name: g.group.name.clone(), exclusive: g.group.exclusive, tags }
            })
            .filter(|o| !o.tags.is_empty())
            .collect();
        Ok(Self {
            customer: d.customer.id.to_string(),
            held: d.tags.iter().map(|t| (t.id.to_string(), t.name.clone(), t.group.clone())).collect(),
            options,
            can_write: ca.actor.can(Permission::CustomersWrite),
            error,
        })
    }
}

#[derive(Template)]
#[template(path = "customer_tags.html")]
struct TagsFragment {
    chrome: Chrome,
    tags: TagsCard,
}

#[derive(Template)]
#[template(path = "customer_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    name: String,
    initial: String,
    gender: String,
    remark: String,
    source: String,
    created: String,
    updated: String,
    last_active: String,
    phone: Option<(String, String)>,
    identities: Vec<IdentityRow>,
    tags: TagsCard,
    aggregates: AggregatesCard,
    orders: OrdersCard,
    privacy: PrivacyCard,
    merges: MergesCard,
    segments: SegmentsCard,
    sandbox: SandboxCard,
    stage: StageCard,
    tasks: TasksCard,
    values: ValuesCard,
    follows: Vec<FollowRow>,
    notes: Vec<NoteRow>,
    custom: Vec<(String, String)>,
    entries: Vec<TimelineRow>,
    more: Option<More>,
    empty: Option<String>,
    activity: ActivityFilterForm,
    staff: Vec<(String, String)>,
    can_write: bool,
    can_reveal: bool,
    note_body: String,
    note_error: Option<FieldError>,
    identity_error: Option<FieldError>,
    identity_kinds: Vec<(&'static str, String)>,
}

/// Where the page's paged cards start.
#[derive(serde::Deserialize, Default)]
pub struct DetailQuery {
    pub timeline_cursor: Option<String>,
    pub orders_cursor: Option<String>,
    /// The activity list's filter.
    pub kind: Option<String>,
    pub source: Option<String>,
    /// Why an un-merge from the merges card failed.
    pub merge_error: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> ConsoleResult {
    let id: CustomerId = parse_id(&id)?;
    detail_page(&state, &ca, id, &q, DetailForms::default()).await
}

fn custom_rows(tr: Tr, fields: Vec<FieldInput>) -> Vec<(String, String)> {
    fields
        .into_iter()
        .map(|f| {
            let value = if f.kind == "multi_choice" {
                f.options.iter().filter(|o| o.1).map(|o| o.0.clone()).collect::<Vec<_>>().join(super::view::sep(tr))
            } else {
                f.value
            };
            (f.label, if value.is_empty() { "—".to_string() } else { value })
        })
        .collect()
}

/// What the page's forms show after a failed post: the typed text and its inline error.
#[derive(Default)]
pub struct DetailForms {
    pub note_body: String,
    pub note_error: Option<FieldError>,
    pub identity_error: Option<FieldError>,
}

pub(super) async fn detail_page(
    state: &AppState,
    ca: &ConsoleActor,
    id: CustomerId,
    cursors: &DetailQuery,
    forms: DetailForms,
) -> ConsoleResult {
    let (app, a) = (&state.app, &ca.actor);
    let chrome = Chrome::new(&ca.user, Some(a), "customers");
    let tr = chrome.tr;
    let d = app.get_customer(a, id).await?;
    let names = app.member_names(a).await?;
    let cursor = cursors.timeline_cursor.as_deref();
    let page = PageRequest::parse(cursor, Some(timeline::PAGE)).unwrap_or(PageRequest::first(timeline::PAGE));
    let filter = activity_filter(cursors.kind.as_deref(), cursors.source.as_deref()).unwrap_or_default();
    let tl = app.customer_activity(a, id, &filter, page).await?;
    let aggregates = AggregatesCard::new(tr, &app.customer_aggregates(a, id).await?);
    let defs = app.fields(a).await?;
    let fields = defs
        .iter()
        .map(|def| FieldInput::new(def, &super::form::stored_values(d.customer.custom.get(&def.key))))
        .collect();
    let staff = app
        .list_members(a)
        .await?
        .into_iter()
        .filter(|m| m.active && !d.follows.iter().any(|f| f.follow.user_id == m.user_id))
        .map(|m| (m.user_id.to_string(), m.display_name))
        .collect();
    let c = &d.customer;
    let phone = d
        .identities
        .iter()
        .find(|i| i.kind == siyu_domain::identity::IdentityKind::Phone)
        .map(|i| (i.id.to_string(), i.display.clone()));
    let mut page = DetailPage {
        id: c.id.to_string(),
        name: c.name.clone(),
        initial: c.name.chars().next().map(String::from).unwrap_or_default(),
        gender: label(tr, "gender", c.gender.as_str()),
        remark: c.remark.clone().unwrap_or_default(),
        source: label(tr, "source", &c.source),
        created: fmt_time(&c.created_at),
        updated: fmt_time(&c.updated_at),
        last_active: fmt_opt(&c.last_active_at),
        phone,
        identities: d
            .identities
            .iter()
            .map(|i| IdentityRow {
                id: i.id.to_string(),
                kind: label(tr, "identity", i.kind.as_str()),
                namespace: i.namespace.clone(),
                display: i.display.clone(),
                source: label(tr, "source", &i.source),
                created: fmt_time(&i.created_at),
                pii: i.kind.is_pii(),
            })
            .collect(),
        tags: TagsCard::load(state, ca, &d, None).await?,
        aggregates,
        orders: OrdersCard::load(state, ca, tr, id, cursors.orders_cursor.as_deref()).await?,
        privacy: PrivacyCard::load(state, ca, tr, id, None).await?,
        merges: MergesCard::load(state, ca, tr, id, cursors.merge_error.clone()).await?,
        segments: SegmentsCard::load(state, ca, tr, id).await?,
        sandbox: SandboxCard::load(state, ca, id).await?,
        stage: StageCard::load(state, ca, tr, id).await?,
        tasks: TasksCard::load(state, ca, id).await?,
        values: ValuesCard::load(state, ca, tr, id).await?,
        follows: d
            .follows
            .iter()
            .map(|f| FollowRow {
                user_id: f.follow.user_id.to_string(),
                name: f.user_name.clone(),
                add_way: label(tr, "add_way", &f.follow.add_way),
                state: f.follow.state.clone().unwrap_or_default(),
                remark: f.follow.remark.clone().unwrap_or_default(),
                added: fmt_time(&f.follow.added_at),
            })
            .collect(),
        notes: d
            .notes
            .iter()
            .map(|n| NoteRow {
                id: n.note.id.to_string(),
                author: n.author_name.clone(),
                body: n.note.body.clone(),
                created: fmt_time(&n.note.created_at),
            })
            .collect(),
        custom: custom_rows(tr, fields),
        entries: activity::rows(tr, &tl.items, &names),
        more: tl.next_cursor.as_deref().map(|cur| activity::more(tr, &c.id.to_string(), cur, &filter)),
        empty: tl.items.is_empty().then(|| tr.t("activity.empty").to_string()),
        activity: ActivityFilterForm::new(tr, &filter),
        staff,
        can_write: a.can(Permission::CustomersWrite),
        can_reveal: a.can(Permission::PiiReveal),
        note_body: forms.note_body,
        note_error: forms.note_error,
        identity_error: forms.identity_error,
        identity_kinds: IdentityKind::ALL.iter().map(|k| (k.as_str(), label(tr, "identity", k.as_str()))).collect(),
        chrome,
    };
    // An erased customer (PIPL) can no longer be changed: no edit controls.
    page.can_write &= page.privacy.erased.is_none();
    page.tags.can_write &= page.privacy.erased.is_none();
    Ok(render(&page))
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

pub async fn change_tags(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    post: FormPost,
) -> ConsoleResult {
    let FormPost { ca, fields: pairs } = post;
    let id: CustomerId = parse_id(&id)?;
    let add = tag_ids("add", &super::view::all(&pairs, "add"))?;
    let remove = tag_ids("remove", &super::view::all(&pairs, "remove"))?;
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "customers");
    let error = match state.app.tag_customer(&ca.actor, id, &add, &remove).await {
        Ok(_) => None,
        Err(e @ AppError::Invalid(_)) if is_htmx(&headers) => Some(super::view::error_message(chrome.tr, &e)),
        Err(e) => return Err(e.into()),
    };
    if !is_htmx(&headers) {
        return Ok(Redirect::to(&format!("/console/customers/{id}")).into_response());
    }
    let d = state.app.get_customer(&ca.actor, id).await?;
    let tags = TagsCard::load(&state, &ca, &d, error).await?;
    Ok(render(&TagsFragment { chrome, tags }))
}

pub async fn add_note(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: pairs } = post;
    let id: CustomerId = parse_id(&id)?;
    let body = one(&pairs, "body").unwrap_or("").to_string();
    match state.app.add_note(&ca.actor, id, &body).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/customers/{id}#notes")).into_response()),
        Err(e @ AppError::Invalid(_)) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "customers").tr;
            let err = FormErrors::from_error(tr, &e, "body").0.into_iter().next();
            let page = detail_page(
                &state,
                &ca,
                id,
                &DetailQuery::default(),
                DetailForms { note_body: body, note_error: err, ..Default::default() },
            )
            .await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn add_follow(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: pairs } = post;
    let id: CustomerId = parse_id(&id)?;
    // Another tenant's (or an invisible) customer is not found, whatever the form says.
    state.app.ensure_visible(&ca.actor, id).await?;
    let user: UserId = text(&pairs, "user_id").parse().map_err(|_| AppError::invalid("user_id", "unknown_user"))?;
    let state_value = Some(text(&pairs, "state")).filter(|s| !s.is_empty());
    let remark = Some(text(&pairs, "remark")).filter(|s| !s.is_empty());
    state.app.add_follow(&ca.actor, id, user, remark.as_deref(), state_value.as_deref()).await?;
    Ok(Redirect::to(&format!("/console/customers/{id}#follows")).into_response())
}

pub async fn remove_follow(
    State(state): State<AppState>,
    ca: ConsoleActor,
    headers: HeaderMap,
    Path((id, user)): Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> ConsoleResult {
    check_csrf(&ca.user, &csrf_from(&headers, one(&pairs, "_csrf")))?;
    let id: CustomerId = parse_id(&id)?;
    // Another tenant's (or an invisible) customer is not found, whatever the form says.
    state.app.ensure_visible(&ca.actor, id).await?;
    let user: UserId = parse_id(&user)?;
    state.app.remove_follow(&ca.actor, id, user).await?;
    Ok(Redirect::to(&format!("/console/customers/{id}#follows")).into_response())
}
