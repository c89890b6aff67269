//! The customer page's "所在分群" card: the segments the customer is in (since when) and their latest
//! entries and exits with the reason (first computation, recomputation, their own data changing, by hand).

use siyu_app::AppError;
use siyu_domain::id::CustomerId;
use siyu_domain::segment::ChangeOp;

use super::view::{fmt_time, label};
use crate::auth::ConsoleActor;
use crate::i18n::Tr;
use crate::state::AppState;

/// Entries and exits the card lists.
const SHOWN: usize = 10;

/// A segment the customer is in.
pub struct CurrentRow {
    pub id: String,
    pub name: String,
    pub since: String,
}

/// One entry or exit.
pub struct ChangeRow {
    pub segment: String,
    /// Empty when the segment was deleted since.
    pub name: String,
    pub entered: bool,
    pub op: String,
    pub reason: String,
    pub at: String,
}

pub struct SegmentsCard {
    pub current: Vec<CurrentRow>,
    pub changes: Vec<ChangeRow>,
}

impl SegmentsCard {
    pub async fn load(state: &AppState, ca: &ConsoleActor, tr: Tr, customer: CustomerId) -> Result<Self, AppError> {
        let (app, a) = (&state.app, &ca.actor);
        let (current, changes) = app.customer_segments(a, customer).await?;
        // Names of segments the customer has left, too.
        let catalog = if changes.iter().any(|c| !current.iter().any(|s| s.0 == c.segment_id)) {
            Some(app.segment_catalog(a.tenant, None).await?)
        } else {
            None
        };
        let name_of = |id| {
            current.iter().find(|s| s.0 == id).map(|s| s.1.clone()).or_else(|| {
                catalog.as_ref().and_then(|c| c.segments.iter().find(|s| s.id == id)).map(|s| s.name.clone())
            })
        };
        let changes = changes
            .iter()
            .take(SHOWN)
            .map(|c| ChangeRow {
                segment: c.segment_id.to_string(),
                name: name_of(c.segment_id).unwrap_or_default(),
                entered: c.op == ChangeOp::Enter,
                op: label(tr, "segments.change", c.op.as_str()),
                reason: label(tr, "segments.reason", c.reason.as_str()),
                at: fmt_time(&c.at),
            })
            .collect();
        let current = current
            .into_iter()
            .map(|(id, name, since)| CurrentRow { id: id.to_string(), name, since: fmt_time(&since) })
            .collect();
        Ok(Self { current, changes })
    }
}
