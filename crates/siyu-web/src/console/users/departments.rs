//! The department tree on the members page: create, rename, move, delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_domain::id::DepartmentId;
use siyu_domain::tenancy::{self, Department, Member};

use super::{NewMemberForm, Opt, department_of, users_page};
use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::customers::view::{FormErrors, error_message, text};
use crate::console::page::{Chrome, ConsoleResult, FormPost};
use crate::state::AppState;

/// One department in tree order.
pub struct DeptRow {
    pub id: String,
    pub name: String,
    pub depth: usize,
    pub members: usize,
    pub children: usize,
    /// Where it may move: every department outside its own subtree (value, label, selected).
    pub parents: Vec<Opt>,
}

impl DeptRow {
    /// The name indented by depth, for selects.
    pub fn option_label(&self) -> String {
        if self.depth == 0 {
            self.name.clone()
        } else {
            format!("{}└ {}", "\u{3000}".repeat(self.depth - 1), self.name)
        }
    }

    pub fn indent(&self) -> usize {
        self.depth * 20
    }
}

/// Compares names so that `部门2` comes before `部门10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, text)) if *d == digit => text.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    }
    let (x, y) = (chunks(a), chunks(b));
    for (p, q) in x.iter().zip(y.iter()) {
        let ord = match (p, q) {
            ((true, m), (true, n)) => {
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                m.len().cmp(&n.len()).then_with(|| m.cmp(n))
            }
            _ => p.1.cmp(&q.1),
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    x.len().cmp(&y.len())
}

/// Departments in depth-first order (siblings by name), with member counts and move targets.
pub fn tree(all: &[Department], members: &[Member]) -> Vec<DeptRow> {
    fn walk(all: &[Department], parent: Option<DepartmentId>, depth: usize, out: &mut Vec<(usize, Department)>) {
        let mut kids: Vec<&Department> = all.iter().filter(|d| d.parent_id == parent).collect();
        kids.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        for k in kids {
            if out.iter().any(|(_, d)| d.id == k.id) || depth > 32 {
                continue;
            }
            out.push((depth, k.clone()));
            walk(all, Some(k.id), depth + 1, out);
        }
    }
    let mut ordered = Vec::new();
    walk(all, None, 0, &mut ordered);
    // Departments whose parent is missing still show, at the top level.
    for d in all {
        if !ordered.iter().any(|(_, o)| o.id == d.id) {
            ordered.push((0, d.clone()));
        }
    }
    let label = |depth: usize, name: &str| {
        if depth == 0 { name.to_string() } else { format!("{}└ {}", "\u{3000}".repeat(depth - 1), name) }
    };
    ordered
        .iter()
        .map(|(depth, d)| {
            let subtree = tenancy::subtree(all, d.id);
            let current = d.parent_id.map(|p| p.to_string()).unwrap_or_default();
            let mut parents: Vec<Opt> = vec![(String::new(), "—".into(), current.is_empty())];
            parents.extend(
                ordered
                    .iter()
                    .filter(|(_, o)| !subtree.contains(&o.id))
                    .map(|(dd, o)| (o.id.to_string(), label(*dd, &o.name), o.id.to_string() == current)),
            );
            DeptRow {
                id: d.id.to_string(),
                name: d.name.clone(),
                depth: *depth,
                members: members.iter().filter(|m| m.department_id == Some(d.id)).count(),
                children: all.iter().filter(|c| c.parent_id == Some(d.id)).count(),
                parents,
            }
        })
        .collect()
}

async fn failure(state: &AppState, ca: &ConsoleActor, scope: String, e: AppError) -> ConsoleResult {
    if e.field().is_none() && e.code().status() != 409 {
        return Err(e.into());
    }
    let tr = Chrome::new(&ca.user, Some(&ca.actor), "users").tr;
    let form = NewMemberForm { role: "staff".into(), ..Default::default() };
    let page = users_page(state, ca, form, FormErrors::default(), Some((scope, error_message(tr, &e)))).await?;
    Ok((StatusCode::BAD_REQUEST, page).into_response())
}

pub async fn create(State(state): State<AppState>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let result = match department_of(&p, "parent_id") {
        Ok(parent) => state.app.create_department(&ca.actor, &text(&p, "name"), parent).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(d) => Ok(Redirect::to(&format!("/console/users#d-{}", d.id)).into_response()),
        Err(e) => failure(&state, &ca, "new".into(), e).await,
    }
}

pub async fn update(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: p } = post;
    let id: DepartmentId = parse_id(&id)?;
    let result = match department_of(&p, "parent_id") {
        Ok(parent) => state.app.update_department(&ca.actor, id, &text(&p, "name"), parent).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/console/users#d-{id}")).into_response()),
        Err(e) => failure(&state, &ca, id.to_string(), e).await,
    }
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields: _p } = post;
    let id: DepartmentId = parse_id(&id)?;
    match state.app.delete_department(&ca.actor, id).await {
        Ok(()) => Ok(Redirect::to("/console/users#departments").into_response()),
        Err(e) => failure(&state, &ca, id.to_string(), e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn the_tree_is_depth_first_and_never_offers_a_cycle() {
        let (a, b, c) = (DepartmentId::new(), DepartmentId::new(), DepartmentId::new());
        let d =
            |id, parent, name: &str| Department { id, parent_id: parent, name: name.into(), created_at: Utc::now() };
        let all = vec![d(c, Some(b), "C"), d(b, Some(a), "B"), d(a, None, "A")];
        let rows = tree(&all, &[]);
        assert_eq!(
            rows.iter().map(|r| (r.name.as_str(), r.depth)).collect::<Vec<_>>(),
            vec![("A", 0), ("B", 1), ("C", 2)]
        );
        let a_row = &rows[0];
        assert_eq!(a_row.parents.len(), 1, "A cannot move under its own descendants");
        assert_eq!(rows[2].parents.len(), 3, "C may move to top level, A or B");
        assert!(natural_cmp("部门2", "部门10").is_lt());
        assert!(natural_cmp("b", "a1").is_gt());
    }
}
