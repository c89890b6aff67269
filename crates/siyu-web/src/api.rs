//! The Open API under `/api/v1`: JSON in and out, bearer tokens, cursor pagination, stable error codes,
//! `Idempotency-Key` on POSTs. One module per resource.

pub mod activity;
pub mod archive;
pub mod audience_syncs;
pub mod customers;
pub mod fields;
pub mod group_codes;
pub mod group_sops;
pub mod idempotency;
pub mod journey_versions;
pub mod journeys;
pub mod links;
pub mod live_codes;
pub mod mass_sends;
pub mod materials;
pub mod merges;
pub mod moments;
pub mod orders;
pub mod privacy;
pub mod scripts;
pub mod segments;
pub mod sources;
pub mod stages;
pub mod tags;
pub mod tasks;
pub mod tokens;
pub mod transfers;
pub mod users;
pub mod values;
pub mod wecom;

use axum::Router;
use serde::Serialize;

use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(customers::router())
        .merge(orders::router())
        .merge(privacy::router())
        .merge(activity::router())
        .merge(tags::router())
        .merge(fields::router())
        .merge(users::router())
        .merge(tokens::router())
        .merge(sources::router())
        .merge(merges::router())
        .merge(segments::router())
        .merge(audience_syncs::router())
        .merge(journeys::router())
        .merge(stages::router())
        .merge(journey_versions::router())
        .merge(tasks::router())
        .merge(values::router())
        .merge(wecom::router())
        .merge(live_codes::router())
        .merge(group_codes::router())
        .merge(group_sops::router())
        .merge(archive::router())
        .merge(scripts::router())
        .merge(materials::router())
        .merge(links::router())
        .merge(mass_sends::router())
        .merge(moments::router())
        .merge(transfers::router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotency))
}

/// A page of items and the cursor of the next page (absent on the last page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> From<siyu_domain::page::Page<T>> for PageBody<T> {
    fn from(p: siyu_domain::page::Page<T>) -> Self {
        Self { items: p.items, next_cursor: p.next_cursor }
    }
}
