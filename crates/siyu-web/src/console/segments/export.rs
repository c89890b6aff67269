//! Downloads of a segment from the console: its members as CSV or XLSX (phones masked unless
//! `reveal_pii=1` and the permission), and the ad-platform audience file of hashed phones / openids of
//! the members who consented. All audited by the services.

use axum::Router;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use siyu_app::segments::AudienceKey;
use siyu_app::transfer::{ExportFormat, ExportRequest};
use siyu_domain::id::SegmentId;

use crate::auth::ConsoleActor;
use crate::console::customers::parse_id;
use crate::console::page::ConsoleResult;
use crate::console::transfer::export::export_download;
use crate::routes::Routes;
use crate::state::AppState;

const EXPORT_CSV: &str = "/console/segments/{id}/export.csv";
const EXPORT_XLSX: &str = "/console/segments/{id}/export.xlsx";
const AUDIENCE: &str = "/console/segments/{id}/audience.csv";

pub fn router() -> Router<AppState> {
    Routes::new().get(EXPORT_CSV, export_csv).get(EXPORT_XLSX, export_xlsx).get(AUDIENCE, audience).into_router()
}

#[derive(Deserialize, Default)]
pub struct ExportQuery {
    pub reveal_pii: Option<String>,
}

async fn export(state: AppState, ca: ConsoleActor, id: &str, q: ExportQuery, format: ExportFormat) -> ConsoleResult {
    let id: SegmentId = parse_id(id)?;
    let reveal_pii = matches!(q.reveal_pii.as_deref(), Some("1" | "true"));
    let request = ExportRequest { segment: Some(id), format, reveal_pii, ..Default::default() };
    let plan = state.app.prepare_export(&ca.actor, request).await?;
    Ok(export_download(&state, &ca.actor, plan, "segment"))
}

async fn export_csv(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> ConsoleResult {
    export(state, ca, &id, q, ExportFormat::Csv).await
}

async fn export_xlsx(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> ConsoleResult {
    export(state, ca, &id, q, ExportFormat::Xlsx).await
}

#[derive(Deserialize, Default)]
pub struct AudienceQuery {
    pub key: Option<String>,
}

async fn audience(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Path(id): Path<String>,
    Query(q): Query<AudienceQuery>,
) -> ConsoleResult {
    let id: SegmentId = parse_id(&id)?;
    let key = if q.key.as_deref() == Some("openid") { AudienceKey::Openid } else { AudienceKey::Phone };
    Ok(crate::api::segments::audience_download(&state, &ca.actor, id, key).await?)
}
