//! The customer page's "生命周期阶段" card: the customer's stage, since when (day N of it, which journeys
//! count from), the recent moves and why, and a form to move them by hand.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use siyu_app::AppError;
use siyu_domain::access::Permission;
use siyu_domain::id::CustomerId;

use super::parse_id;
use super::view::{fmt_time, one};
use crate::auth::ConsoleActor;
use crate::console::page::{ConsoleResult, FormPost};
use crate::i18n::Tr;
use crate::state::AppState;

/// Moves the card lists.
const SHOWN: usize = 5;

pub struct StageMoveRow {
    pub from: String,
    pub to: String,
    pub at: String,
    pub reason: String,
}

pub struct StageCard {
    pub customer: String,
    pub current: Option<String>,
    pub since: String,
    /// Day N of the current stage (day 0 is the day of entry).
    pub day: i64,
    pub moves: Vec<StageMoveRow>,
    /// (key, name, selected) for the move form.
    pub options: Vec<(String, String, bool)>,
    pub can_write: bool,
}

impl StageCard {
    pub async fn load(state: &AppState, ca: &ConsoleActor, tr: Tr, customer: CustomerId) -> Result<Self, AppError> {
        let s = state.app.customer_stage(&ca.actor, customer).await?;
        let stages = state.app.stages(ca.actor.tenant).await?;
        let name = |k: &str| stages.get(k).map_or_else(|| k.to_string(), |d| d.name.clone());
        let offset = state.app.tenant_offset(ca.actor.tenant).await?;
        let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&offset).date_naive();
        let day = s.entered_at.map_or(0, |at| (local(state.app.now()) - local(at)).num_days());
        let reason = |r: &str| {
            let key = format!("stages.reason.{}", r.split(':').next().unwrap_or(r));
            let label = tr.t(&key);
            if label == key { r.to_string() } else { label.to_string() }
        };
        Ok(Self {
            customer: customer.to_string(),
            current: s.stage.as_deref().map(name),
            since: s.entered_at.as_ref().map(fmt_time).unwrap_or_default(),
            day,
            moves: s
                .history
                .iter()
                .take(SHOWN)
                .map(|h| StageMoveRow {
                    from: h.from.as_deref().map(name).unwrap_or_else(|| "—".into()),
                    to: name(&h.to),
                    at: fmt_time(&h.at),
                    reason: reason(&h.reason),
                })
                .collect(),
            options: stages
                .0
                .iter()
                .map(|d| (d.key.clone(), d.name.clone(), s.stage.as_deref() == Some(d.key.as_str())))
                .collect(),
            can_write: ca.actor.can(Permission::CustomersWrite),
        })
    }
}

/// Moves the customer to the chosen stage.
pub async fn set_stage(State(state): State<AppState>, Path(id): Path<String>, post: FormPost) -> ConsoleResult {
    let FormPost { ca, fields } = post;
    let id: CustomerId = parse_id(&id)?;
    let stage = one(&fields, "stage").unwrap_or("");
    state.app.set_customer_stage(&ca.actor, id, stage).await?;
    Ok(Redirect::to(&format!("/console/customers/{id}#stage")).into_response())
}
