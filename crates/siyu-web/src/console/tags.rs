//! Console pages: tag groups and their tags, with usage; create, rename, delete.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_app::tags::NewTagGroup;
use siyu_domain::access::Permission;
use siyu_domain::customer::CustomerFilter;
use siyu_domain::id::{TagGroupId, TagId};
use siyu_domain::tag::TagKind;

use super::customers::parse_id;
use super::customers::view::{FormErrors, error_message, one, text};
use super::page::{Chrome, ConsoleResult, FormPost, render};
use crate::auth::ConsoleActor;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Routes::new()
        .get("/console/tags", page)
        .post("/console/tag-groups", create_group)
        .post("/console/tag-groups/{id}", update_group)
        .post("/console/tag-groups/{id}/delete", delete_group)
        .post("/console/tag-groups/{id}/tags", create_tag)
        .post("/console/tags/{id}", update_tag)
        .post("/console/tags/{id}/delete", delete_tag)
        .into_router()
}

pub struct TagRow {
    pub id: String,
    pub name: String,
    pub customers: i64,
    /// Share of all customers, e.g. `12.5` (percent, also the bar width).
    pub share: String,
    /// The segment that gives this tag automatically (a rule tag): (id, name).
    pub rule: Option<(String, String)>,
}

pub struct GroupView {
    pub id: String,
    pub name: String,
    pub exclusive: bool,
    pub personal: bool,
    pub can_edit: bool,
    pub tags: Vec<TagRow>,
}

/// The new-group form as typed.
#[derive(Default)]
pub struct NewGroupForm {
    pub name: String,
    pub exclusive: bool,
    pub personal: bool,
    pub tags: String,
}

#[derive(Template)]
#[template(path = "tags.html")]
struct TagsPage {
    chrome: Chrome,
    groups: Vec<GroupView>,
    total: i64,
    can_manage: bool,
    can_personal: bool,
    form: NewGroupForm,
    errors: FormErrors,
    /// An error about one group's forms: (group id, message).
    group_error: Option<(String, String)>,
}

impl TagsPage {
    fn error_for(&self, group: &str) -> Option<&str> {
        self.group_error.as_ref().filter(|(g, _)| g == group).map(|(_, m)| m.as_str())
    }
}

async fn page(State(state): State<AppState>, ca: ConsoleActor) -> ConsoleResult {
    render_page(&state, &ca, NewGroupForm::default(), FormErrors::default(), None).await
}

async fn render_page(
    state: &AppState,
    ca: &ConsoleActor,
    form: NewGroupForm,
    errors: FormErrors,
    group_error: Option<(String, String)>,
) -> ConsoleResult {
    let (app, a) = (&state.app, &ca.actor);
    let chrome = Chrome::new(&ca.user, Some(a), "tags");
    let total = app.count_customers(a, &CustomerFilter::default()).await?;
    let can_manage = a.can(Permission::TagsManage);
    let rules: Vec<(TagId, String, String)> = app
        .list_segments(a)
        .await?
        .into_iter()
        .filter_map(|s| s.rule_tag.map(|t| (t, s.id.to_string(), s.name)))
        .collect();
    let groups = app
        .tag_groups(a)
        .await?
        .into_iter()
        .map(|g| {
            let personal = g.group.kind == TagKind::Personal;
            GroupView {
                id: g.group.id.to_string(),
                name: g.group.name.clone(),
                exclusive: g.group.exclusive,
                personal,
                can_edit: if personal { g.group.owner_id == Some(a.user) } else { can_manage },
                tags: g
                    .tags
                    .iter()
                    .map(|t| TagRow {
                        id: t.tag.id.to_string(),
                        name: t.tag.name.clone(),
                        customers: t.customers,
                        share: share(t.customers, total),
                        rule: rules.iter().find(|r| r.0 == t.tag.id).map(|r| (r.1.clone(), r.2.clone())),
                    })
                    .collect(),
            }
        })
        .collect();
    let page = TagsPage {
        groups,
        total,
        can_manage,
        can_personal: a.can(Permission::CustomersWrite),
        form,
        errors,
        group_error,
        chrome,
    };
    Ok(render(&page))
}

/// `count` as a percentage of `total` with one decimal (`0` when there are no customers).
fn share(count: i64, total: i64) -> String {
    if total <= 0 || count <= 0 {
        return "0".into();
    }
    let tenths = (count * 1000 / total).clamp(0, 1000);
    format!("{}.{}", tenths / 10, tenths % 10)
}

async fn create_group(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let form = NewGroupForm {
        name: text(&p, "name"),
        exclusive: one(&p, "exclusive").is_some(),
        personal: one(&p, "kind") == Some("personal"),
        tags: one(&p, "tags").unwrap_or("").to_string(),
    };
    let input = NewTagGroup {
        name: form.name.clone(),
        exclusive: form.exclusive,
        kind: if form.personal { TagKind::Personal } else { TagKind::Enterprise },
        sort: 0,
        tags: form.tags.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect(),
    };
    match state.app.create_tag_group(&ca.actor, input).await {
        Ok(g) => Ok(Redirect::to(&format!("/console/tags#g-{}", g.group.id)).into_response()),
        Err(e) if e.field().is_some() || e.code().status() == 409 => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "tags").tr;
            let errors = FormErrors::from_error(tr, &e, "name");
            let page = render_page(&state, &ca, form, errors, None).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// Shows a group-level validation error on the tags page, or passes other errors on.
async fn group_failure(state: &AppState, ca: &ConsoleActor, group: String, e: AppError) -> ConsoleResult {
    if e.field().is_none() && e.code().status() != 409 {
        return Err(e.into());
    }
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "tags").tr;
    let page =
        render_page(state, ca, NewGroupForm::default(), FormErrors::default(), Some((group, error_message(tr, &e))))
            .await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

async fn update_group(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let id: TagGroupId = parse_id(&id)?;
    let name = text(&p, "name");
    let exclusive = one(&p, "exclusive").is_some();
    match state.app.update_tag_group(&ca.actor, id, Some(&name), Some(exclusive), None).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/tags#g-{id}")).into_response()),
        Err(e) => group_failure(&state, &ca, id.to_string(), e).await,
    }
}

async fn delete_group(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: _p } = post;
    let id: TagGroupId = parse_id(&id)?;
    state.app.delete_tag_group(&ca.actor, id).await?;
    Ok(Redirect::to("/console/tags").into_response())
}

async fn create_tag(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let id: TagGroupId = parse_id(&id)?;
    match state.app.create_tag(&ca.actor, id, &text(&p, "name"), None).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/tags#g-{id}")).into_response()),
        Err(e) => group_failure(&state, &ca, id.to_string(), e).await,
    }
}

async fn update_tag(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let id: TagId = parse_id(&id)?;
    let group = text(&p, "group_id").parse::<TagGroupId>().map(|g| g.to_string()).unwrap_or_default();
    match state.app.update_tag(&ca.actor, id, Some(&text(&p, "name")), None).await {
        Ok(t) => Ok(Redirect::to(&format!("/console/tags#g-{}", t.group_id)).into_response()),
        Err(e) => group_failure(&state, &ca, group, e).await,
    }
}

async fn delete_tag(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let id: TagId = parse_id(&id)?;
    let group = text(&p, "group_id").parse::<TagGroupId>().ok();
    state.app.delete_tag(&ca.actor, id).await?;
    let anchor = group.map(|g| format!("#g-{g}")).unwrap_or_default();
    Ok(Redirect::to(&format!("/console/tags{anchor}")).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn shares_have_one_decimal() {
        assert_eq!(super::share(1, 8), "12.5");
        assert_eq!(super::share(3, 3), "100.0");
        assert_eq!(super::share(0, 0), "0");
    }
}
