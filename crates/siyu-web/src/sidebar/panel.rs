//! The customer panel (`sidebar_panel.html`): `GET /sidebar/panel?external_userid=` (the open chat's
//! customer) or `?customer=` (after a change), and the changes staff make from it, each answering the panel
//! again: `POST /sidebar/tags`, `/sidebar/notes`, `/sidebar/stage`.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::sidebar::SidebarProfile;
use siyu_domain::id::{CustomerId, TagId};

use super::{SidebarError, SidebarResult, SidebarSession, fragment};
use crate::console::customers::activity::rows;
use crate::console::customers::timeline::TimelineRow;
use crate::console::customers::view::{fmt_date, yuan};
use crate::console::orders::views::status_label;
use crate::console::values::{class_label, layer_label};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> axum::Router<AppState> {
    Routes::new()
        .get("/sidebar/panel", panel)
        .post("/sidebar/tags", tag)
        .post("/sidebar/notes", note)
        .post("/sidebar/stage", stage)
        .into_router()
}

/// One order line of the panel.
pub struct OrderRow {
    pub date: String,
    pub status: String,
    pub paid: String,
}

#[derive(Template)]
#[template(path = "sidebar_panel.html")]
pub struct PanelFragment {
    pub tr: Tr,
    pub csrf: String,
    pub customer: String,
    pub name: String,
    pub avatar: Option<String>,
    pub phone: Option<String>,
    pub tags: Vec<(String, String)>,
    pub stage: String,
    /// (key, name, current)
    pub stages: Vec<(String, String, bool)>,
    pub rfm: Option<String>,
    pub clv: Option<String>,
    pub orders_count: i64,
    pub paid: String,
    pub orders: Vec<OrderRow>,
    pub timeline: Vec<TimelineRow>,
    pub notes: Vec<(String, String)>,
    pub tag_choices: Vec<(String, String)>,
    pub notice: Option<String>,
}

fn view(s: &SidebarSession, p: SidebarProfile, timeline: Vec<TimelineRow>, notice: Option<String>) -> PanelFragment {
    let tr = s.tr;
    let held: Vec<TagId> = p.detail.tags.iter().map(|t| t.id).collect();
    let current = p.stage.stage.clone().unwrap_or_default();
    PanelFragment {
        tr,
        csrf: s.csrf.clone(),
        customer: p.detail.customer.id.to_string(),
        name: p.detail.customer.name.clone(),
        avatar: p.detail.customer.avatar_url.clone(),
        phone: p.detail.phone.clone(),
        tags: p.detail.tags.iter().map(|t| (t.id.to_string(), format!("{} / {}", t.group, t.name))).collect(),
        stage: p.stage.name.clone().unwrap_or_else(|| tr.t("sidebar.no_stage").to_owned()),
        stages: p.stages.iter().map(|d| (d.key.clone(), d.name.clone(), d.key == current)).collect(),
        rfm: p.rfm.as_ref().map(|r| format!("{} · {}", class_label(tr, r.class), layer_label(tr, r.layer))),
        clv: p.clv.as_ref().map(|c| yuan(c.clv_fen)),
        orders_count: p.totals.orders,
        paid: yuan(p.totals.paid_fen - p.totals.refunded_fen),
        orders: p
            .orders
            .iter()
            .map(|o| OrderRow {
                date: fmt_date(&o.placed_at),
                status: status_label(tr, o.status),
                paid: yuan(o.paid_fen),
            })
            .collect(),
        timeline,
        notes: p.detail.notes.iter().take(3).map(|n| (n.author_name.clone(), n.note.body.clone())).collect(),
        tag_choices: p
            .tag_choices
            .into_iter()
            .filter(|c| !held.contains(&c.id))
            .map(|c| (c.id.to_string(), c.label))
            .collect(),
        notice,
    }
}

/// The panel of `customer` as the member sees it.
async fn render_panel(
    state: &AppState,
    s: &SidebarSession,
    customer: CustomerId,
    notice: Option<String>,
) -> SidebarResult {
    let app = &state.app;
    let fail = |error| SidebarError { tr: s.tr, error };
    let profile = app.sidebar_profile(&s.actor, customer).await.map_err(fail)?;
    let names = app.member_names(&s.actor).await.map_err(fail)?;
    let timeline = rows(s.tr, &profile.activity, &names);
    Ok(fragment(&view(s, profile, timeline, notice)))
}

fn parse_customer(s: &SidebarSession, value: &str) -> Result<CustomerId, SidebarError> {
    uuid::Uuid::parse_str(value.trim())
        .map(CustomerId)
        .map_err(|_| SidebarError { tr: s.tr, error: AppError::NotFound })
}

#[derive(Deserialize)]
struct PanelQuery {
    external_userid: Option<String>,
    customer: Option<String>,
}

async fn panel(State(state): State<AppState>, s: SidebarSession, Query(q): Query<PanelQuery>) -> SidebarResult {
    let customer = match (&q.external_userid, &q.customer) {
        (Some(ext), _) => state
            .app
            .sidebar_customer(&s.actor, &s.identity, ext.trim())
            .await
            .map_err(|error| SidebarError { tr: s.tr, error })?,
        (None, Some(c)) => parse_customer(&s, c)?,
        (None, None) => return Err(SidebarError { tr: s.tr, error: AppError::NotFound }),
    };
    render_panel(&state, &s, customer, None).await
}

#[derive(Deserialize)]
struct TagForm {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    tag: String,
    /// `add` or `remove`.
    #[serde(default)]
    op: String,
}

async fn tag(
    State(state): State<AppState>,
    s: SidebarSession,
    headers: HeaderMap,
    Form(f): Form<TagForm>,
) -> SidebarResult {
    s.check_csrf(&headers, Some(&f._csrf))?;
    let customer = parse_customer(&s, &f.customer)?;
    let fail = |error| SidebarError { tr: s.tr, error };
    let tag =
        uuid::Uuid::parse_str(f.tag.trim()).map(TagId).map_err(|_| fail(AppError::invalid("tag", "unknown_tag")))?;
    state.app.sidebar_tag(&s.actor, customer, tag, f.op != "remove").await.map_err(fail)?;
    render_panel(&state, &s, customer, Some(s.tr.t("sidebar.saved").to_owned())).await
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    body: String,
}

async fn note(
    State(state): State<AppState>,
    s: SidebarSession,
    headers: HeaderMap,
    Form(f): Form<NoteForm>,
) -> SidebarResult {
    s.check_csrf(&headers, Some(&f._csrf))?;
    let customer = parse_customer(&s, &f.customer)?;
    let fail = |error| SidebarError { tr: s.tr, error };
    state.app.sidebar_note(&s.actor, customer, &f.body).await.map_err(fail)?;
    render_panel(&state, &s, customer, Some(s.tr.t("sidebar.saved").to_owned())).await
}

#[derive(Deserialize)]
struct StageForm {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    stage: String,
}

async fn stage(
    State(state): State<AppState>,
    s: SidebarSession,
    headers: HeaderMap,
    Form(f): Form<StageForm>,
) -> SidebarResult {
    s.check_csrf(&headers, Some(&f._csrf))?;
    let customer = parse_customer(&s, &f.customer)?;
    let fail = |error| SidebarError { tr: s.tr, error };
    state.app.sidebar_stage(&s.actor, customer, &f.stage).await.map_err(fail)?;
    render_panel(&state, &s, customer, Some(s.tr.t("sidebar.saved").to_owned())).await
}
