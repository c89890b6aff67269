//! The customer page's "身份合并" card: the merges this customer took part in (with an un-merge form for
//! those not undone) and its open merge suggestions, linking to the review queue.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_app::graph::{MergeView, SuggestionView};
use siyu_domain::access::Permission;
use siyu_domain::id::{CustomerId, MergeId};

use super::parse_id;
use super::view::{error_message, fmt_time, label, text};
use crate::auth::{ConsoleActor, urlencode};
use crate::console::page::{Chrome, ConsoleResult, FormPost};
use crate::i18n::Tr;
use crate::state::AppState;

/// One merge as the card shows it.
pub struct MergeRow {
    pub id: String,
    /// Whether this customer absorbed the other (else it was absorbed into `other`).
    pub survived: bool,
    pub other: String,
    pub other_name: String,
    pub rule: String,
    pub evidence: String,
    pub when: String,
    pub undone: Option<String>,
    pub moved: String,
}

/// One open suggestion involving this customer.
pub struct SuggestionRow {
    pub other: String,
    pub other_name: String,
    pub reason: String,
    pub evidence: String,
}

pub struct MergesCard {
    pub rows: Vec<MergeRow>,
    pub suggestions: Vec<SuggestionRow>,
    pub can_write: bool,
    pub error: Option<String>,
}

impl MergesCard {
    pub async fn load(
        state: &AppState,
        ca: &ConsoleActor,
        tr: Tr,
        customer: CustomerId,
        error: Option<String>,
    ) -> Result<Self, AppError> {
        let (app, a) = (&state.app, &ca.actor);
        let merges = app.merges_of(a, customer).await?;
        let suggestions = app.merge_suggestions_of(a, customer).await?;
        Ok(Self {
            rows: merges.into_iter().map(|m| merge_row(tr, customer, m)).collect(),
            suggestions: suggestions.into_iter().map(|s| suggestion_row(tr, customer, s)).collect(),
            can_write: a.can(Permission::CustomersWrite),
            error,
        })
    }
}

fn merge_row(tr: Tr, me: CustomerId, m: MergeView) -> MergeRow {
    let survived = m.survivor == me;
    let other = if survived { m.absorbed } else { m.survivor };
    let moved = tr
        .t("merges.moved")
        .replace("{identities}", &m.identities_moved.to_string())
        .replace("{events}", &m.events_moved.to_string())
        .replace("{orders}", &m.orders_moved.to_string());
    MergeRow {
        id: m.id.to_string(),
        survived,
        other: other.to_string(),
        other_name: if survived { m.absorbed_name } else { String::new() },
        rule: label(tr, "merges.rule", &m.rule),
        evidence: evidence_label(tr, &m.evidence),
        when: fmt_time(&m.at),
        undone: m.undone_at.as_ref().map(fmt_time),
        moved,
    }
}

fn suggestion_row(tr: Tr, me: CustomerId, s: SuggestionView) -> SuggestionRow {
    let other = if s.a.customer.id == me { s.b } else { s.a };
    SuggestionRow {
        other: other.customer.id.to_string(),
        other_name: other.customer.name,
        reason: label(tr, "merges.reason", s.reason.as_str()),
        evidence: s.evidence.get("display").and_then(|d| d.as_str()).unwrap_or("").to_string(),
    }
}

/// `event:<id>` → `事件`, `suggestion:<id>` → `人工确认` (the id stays in the title).
pub fn evidence_label(tr: Tr, evidence: &str) -> String {
    let kind = evidence.split(':').next().unwrap_or(evidence);
    label(tr, "merges.evidence", kind)
}

/// `POST /console/merges/{id}/undo`: un-merges, then shows the customer the form was on.
pub async fn undo(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let merge = parse_id::<MergeId>(&id)?;
    let reason = text(&fields, "reason");
    let result = match siyu_domain::text::required("reason", &reason, 200) {
        Ok(r) => state.app.unmerge(&ca.actor, merge, &r).await,
        Err(e) => Err(AppError::from(e)),
    };
    let back = match (parse_id::<CustomerId>(&text(&fields, "customer")), &result) {
        (Ok(c), _) => c,
        (Err(_), Ok(outcome)) => outcome.from,
        (Err(_), Err(_)) => return Err(AppError::NotFound.into()),
    };
    let target = match result {
        Ok(_) => format!("/console/customers/{back}#merges"),
        Err(e @ (AppError::NotFound | AppError::Forbidden)) => return Err(e.into()),
        Err(e) => {
            let tr = Chrome::new(&ca.user, Some(&ca.actor), "customers").tr;
            format!("/console/customers/{back}?merge_error={}#merges", urlencode(&error_message(tr, &e)))
        }
    };
    Ok(Redirect::to(&target).into_response())
}
