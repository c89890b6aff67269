//! Console: 客户群 (customer groups synced from WeCom). `/console/groups` lists the groups in the member's
//! data scope with filters (name, kind, dismissed ones too), paging, and a chart of the daily joins and
//! leaves of the last 30 days; `/console/groups/{id}` shows one group: its facts, notice, members (customers
//! link to their page when the identity graph knows them), its own 30-day chart, and a form to mark it a
//! daily-sales or a flash-sale group (with open and close dates).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use siyu_app::AppError;
use siyu_app::wecom::GroupQuery;
use siyu_domain::access::Permission;
use siyu_domain::id::GroupId;
use siyu_domain::id::GroupTagId;
use siyu_domain::identity::IdentityKind;
use siyu_domain::wecom::{CustomerGroup, GroupKind, GroupMember};

use super::group_settings::{self, CalendarView, Choice, SettingsForm};

use crate::auth::{ConsoleActor, urlencode};
use crate::console::customers::parse_id;
use crate::console::customers::view::{FormErrors, fmt_opt, label};
use crate::console::page::{Chrome, ConsoleResult, render};
use crate::console::{Bar, bars_scaled};
use crate::i18n::Tr;
use crate::routes::Routes;
use crate::state::AppState;

const PATH: &str = "/console/groups";
/// Groups per page.
const PAGE: i64 = 50;
/// Days the charts cover.
const DAYS: i64 = 30;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get(PATH, list)
        .get("/console/groups/{id}", detail)
        .post("/console/groups/{id}/kind", super::group_settings::set_kind)
        .into_router()
}

/// Joins beside leaves, day by day, on one scale.
pub struct TrendChart {
    pub joins: Vec<Bar>,
    pub leaves: Vec<Bar>,
    pub max: i64,
    pub total_joins: i64,
    pub total_leaves: i64,
}

impl TrendChart {
    /// The last [`DAYS`] days up to `today` (UTC days, as the store counts them); days without changes are 0.
    fn new(tr: Tr, today: NaiveDate, days: impl Iterator<Item = (String, i64, i64)>) -> Self {
        let counts: HashMap<String, (i64, i64)> = days.map(|(d, j, l)| (d, (j, l))).collect();
        let series: Vec<(NaiveDate, i64, i64)> = (0..DAYS)
            .rev()
            .map(|back| {
                let day = today - Duration::days(back);
                let (j, l) = counts.get(&day.format("%Y-%m-%d").to_string()).copied().unwrap_or((0, 0));
                (day, j, l)
            })
            .collect();
        let max = series.iter().map(|d| d.1.max(d.2)).max().unwrap_or(0).max(1);
        let named = |bars: Vec<Bar>, key: &str| -> Vec<Bar> {
            bars.into_iter()
                .map(|mut b| {
                    b.title = format!("{} {}", tr.t(key), b.title);
                    b
                })
                .collect()
        };
        let joins: Vec<(NaiveDate, i64)> = series.iter().map(|d| (d.0, d.1)).collect();
        let mut leaves: Vec<Bar> =
            named(bars_scaled(&series.iter().map(|d| (d.0, d.2)).collect::<Vec<_>>(), max), "groups.leaves");
        for b in &mut leaves {
            b.x += 8;
            b.label = None;
        }
        Self {
            joins: named(bars_scaled(&joins, max), "groups.joins"),
            leaves,
            max,
            total_joins: series.iter().map(|d| d.1).sum(),
            total_leaves: series.iter().map(|d| d.2).sum(),
        }
    }
}

/// One group as a row of the list.
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub members: i64,
    pub customers: i64,
    pub kind: &'static str,
    pub kind_label: String,
    /// `05-01 → 05-07` for a flash-sale group with dates.
    pub dates: String,
    pub created: String,
    pub dismissed: bool,
    /// The group's tags.
    pub tags: Vec<String>,
    /// A flash-sale group's phase badge: (class, label).
    pub phase: Option<(&'static str, String)>,
}

fn owner(g: &CustomerGroup) -> String {
    g.owner_name.clone().unwrap_or_else(|| g.owner_userid.clone())
}

fn dates(g: &CustomerGroup) -> String {
    match (g.opens_on, g.closes_on) {
        (Some(o), Some(c)) => format!("{} → {}", o.format("%Y-%m-%d"), c.format("%Y-%m-%d")),
        _ => String::new(),
    }
}

impl GroupRow {
    fn of(tr: Tr, g: CustomerGroup, today: NaiveDate, tags: Vec<String>) -> Self {
        Self {
            tags,
            phase: group_settings::phase(&g, today).map(|(class, key)| (class, tr.t(key).to_owned())),
            id: g.id.to_string(),
            owner: owner(&g),
            dates: dates(&g),
            kind: g.kind.as_str(),
            kind_label: label(tr, "groups.kind", g.kind.as_str()),
            created: fmt_opt(&g.wecom_created_at),
            dismissed: g.dismissed_at.is_some(),
            name: g.name,
            members: g.member_count,
            customers: g.customer_count,
        }
    }
}

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    dismissed: Option<String>,
    /// A group tag's id.
    #[serde(default)]
    tag: String,
    /// `open` (flash-sale groups open today) or `closing` (closing soon).
    #[serde(default)]
    phase: String,
    #[serde(default)]
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    chrome: Chrome,
    rows: Vec<GroupRow>,
    /// `共 12 个群`.
    total: String,
    name: String,
    kind: String,
    dismissed: bool,
    tag: String,
    phase: String,
    /// The tenant's group tags: (id, name).
    tags: Vec<(String, String)>,
    page: i64,
    pages: i64,
    chart: TrendChart,
}

impl GroupsPage {
    /// The list's URL with the current filters on page `page`.
    fn link(&self, page: i64) -> String {
        let name = urlencode(&self.name);
        let dismissed = if self.dismissed { "&dismissed=1" } else { "" };
        format!("{PATH}?name={name}&kind={}&tag={}&phase={}{dismissed}&page={page}", self.kind, self.tag, self.phase)
    }
}

async fn list(State(state): State<AppState>, ca: ConsoleActor, Query(q): Query<ListParams>) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "groups");
    let tr = chrome.tr;
    let kind = GroupKind::parse(q.kind.trim());
    let name = q.name.trim().to_string();
    let dismissed = q.dismissed.as_deref().is_some_and(|d| !d.is_empty() && d != "0");
    let page = q.page.unwrap_or(1).max(1);
    let today = crate::console::segments::today(&state, &ca.actor).await?;
    let tag: Option<GroupTagId> = q.tag.trim().parse().ok();
    let phase = q.phase.trim();
    let query = GroupQuery {
        kind,
        name: (!name.is_empty()).then(|| name.clone()),
        include_dismissed: dismissed,
        tag,
        open_on: (phase == "open").then_some(today),
        closes_between: (phase == "closing")
            .then(|| (today, today + Duration::days(group_settings::CLOSING_SOON_DAYS))),
        limit: PAGE,
        offset: (page - 1) * PAGE,
        ..GroupQuery::default()
    };
    let (groups, total) = state.app.customer_groups(&ca.actor, query).await?;
    let ids: Vec<_> = groups.iter().map(|g| g.id).collect();
    let links = state.app.store.wecom().tags_of_groups(ca.actor.tenant, &ids).await.map_err(AppError::from)?;
    let tags_of = |g: &CustomerGroup| links.iter().filter(|l| l.0 == g.id).map(|l| l.2.clone()).collect();
    let trend = state.app.group_trend(&ca.actor, DAYS).await?;
    let all_tags = state.app.group_tags(&ca.actor).await?;
    let page = GroupsPage {
        rows: groups
            .into_iter()
            .map(|g| {
                let t = tags_of(&g);
                GroupRow::of(tr, g, today, t)
            })
            .collect(),
        total: tr.t("groups.total").replace("{n}", &total.to_string()),
        name,
        kind: kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        dismissed,
        tag: tag.map(|t| t.to_string()).unwrap_or_default(),
        phase: if matches!(phase, "open" | "closing") { phase.to_owned() } else { String::new() },
        tags: all_tags.into_iter().map(|t| (t.id.to_string(), t.name)).collect(),
        page,
        pages: ((total + PAGE - 1) / PAGE).max(1),
        chart: TrendChart::new(tr, state.app.now().date_naive(), trend.into_iter().map(|d| (d.day, d.joins, d.leaves))),
        chrome,
    };
    Ok(render(&page))
}

/// One member as the group page lists it.
pub struct MemberRow {
    pub name: String,
    pub nickname: String,
    pub kind: String,
    pub customer: bool,
    /// The customer's page, when the identity graph knows this external contact.
    pub customer_url: Option<String>,
    pub joined: String,
    pub scene: String,
    pub state: String,
}

impl MemberRow {
    fn of(tr: Tr, m: GroupMember, customer_url: Option<String>) -> Self {
        Self {
            name: m.name.clone().unwrap_or_else(|| m.member_key.clone()),
            nickname: m.group_nickname.unwrap_or_default(),
            kind: label(tr, "groups.member_type", &m.member_type.to_string()),
            customer: m.member_type == 2,
            customer_url,
            joined: fmt_opt(&m.join_time),
            scene: m.join_scene.map(|s| label(tr, "groups.scene", &s.to_string())).unwrap_or_default(),
            state: m.state.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "group_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    group: GroupRow,
    chat_id: String,
    status: String,
    notice: Option<String>,
    dismissed_at: String,
    members: Vec<MemberRow>,
    chart: TrendChart,
    can_edit: bool,
    form: SettingsForm,
    tags: Vec<Choice>,
    sops: Vec<Choice>,
    calendar: CalendarView,
    errors: FormErrors,
}

pub(super) async fn detail_page(
    state: &AppState,
    ca: &ConsoleActor,
    id: GroupId,
    form: Option<SettingsForm>,
    errors: FormErrors,
) -> ConsoleResult {
    let chrome = Chrome::new(&ca.user, Some(&ca.actor), "groups");
    let tr = chrome.tr;
    let d = state.app.customer_group(&ca.actor, id).await?;
    // Customers link to their page when the identity graph knows their external_userid in this corp.
    let corp_id = state.app.store.wecom().corp(ca.actor.tenant, d.group.corp).await.map_err(AppError::from)?.corp_id;
    let mut members = Vec::with_capacity(d.members.len());
    for m in d.members {
        let url = if m.member_type == 2 {
            let found = state
                .app
                .store
                .identities()
                .resolve(ca.actor.tenant, IdentityKind::ExternalUserid, &corp_id, &m.member_key)
                .await
                .map_err(AppError::from)?;
            found.map(|c| format!("/console/customers/{c}"))
        } else {
            None
        };
        members.push(MemberRow::of(tr, m, url));
    }
    let g = d.group;
    let view = state.app.group_view(&ca.actor, id).await?;
    let form = form.unwrap_or_else(|| SettingsForm {
        kind: g.kind.as_str(),
        opens_on: g.opens_on.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        closes_on: g.closes_on.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        tag_ids: view.tags.iter().map(|t| t.id.to_string()).collect(),
        sop_id: view.sop_id.map(|s| s.to_string()).unwrap_or_default(),
        new_tag: String::new(),
    });
    let (tags, sops) = group_settings::choices(state, ca, &form).await?;
    let calendar = group_settings::calendar_view(tr, state.app.group_sop_calendar(&ca.actor, id).await?);
    let today = crate::console::segments::today(state, &ca.actor).await?;
    let tag_names = view.tags.into_iter().map(|t| t.name).collect();
    let page = DetailPage {
        id: g.id.to_string(),
        chat_id: g.chat_id.clone(),
        status: label(tr, "groups.status", &g.status.to_string()),
        notice: g.notice.clone().filter(|n| !n.trim().is_empty()),
        dismissed_at: fmt_opt(&g.dismissed_at),
        members,
        chart: TrendChart::new(
            tr,
            state.app.now().date_naive(),
            d.trend.into_iter().map(|t| (t.day, t.joins, t.leaves)),
        ),
        can_edit: ca.actor.can(Permission::CustomersWrite),
        form,
        tags,
        sops,
        calendar,
        group: GroupRow::of(tr, g, today, tag_names),
        errors,
        chrome,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((status, render(&page)).into_response())
}

async fn detail(State(state): State<AppState>, ca: ConsoleActor, Path(id): Path<String>) -> ConsoleResult {
    let id: GroupId = parse_id(&id)?;
    detail_page(&state, &ca, id, None, FormErrors::default()).await
}
