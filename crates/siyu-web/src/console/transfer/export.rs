//! `/console/customers/export.csv|xlsx`: the customers list's filter (same query parameters), streamed as
//! a download while it is written. `reveal_pii=1` asks for full phone numbers (needs the permission).

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::response::Response;
use siyu_app::Actor;
use siyu_app::AppError;
use siyu_app::transfer::{ExportFormat, ExportPlan, ExportRequest};
use tokio::sync::mpsc;

use super::download;
use crate::auth::ConsoleActor;
use crate::console::customers::filter::parse_filter;
use crate::console::page::ConsoleResult;
use crate::state::AppState;

type Chunk = Result<Bytes, std::io::Error>;

/// Hands what the export writes to the response body in 64 KiB chunks; blocks (on the export's blocking
/// thread) while the client is slower than the database, so memory stays flat.
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

pub async fn export_csv(state: State<AppState>, ca: ConsoleActor, q: Query<Vec<(String, String)>>) -> ConsoleResult {
    export(state, ca, q, ExportFormat::Csv).await
}

pub async fn export_xlsx(state: State<AppState>, ca: ConsoleActor, q: Query<Vec<(String, String)>>) -> ConsoleResult {
    export(state, ca, q, ExportFormat::Xlsx).await
}

async fn export(
    State(state): State<AppState>,
    ca: ConsoleActor,
    Query(pairs): Query<Vec<(String, String)>>,
    format: ExportFormat,
) -> ConsoleResult {
    let filter = parse_filter(&pairs).map_err(AppError::Invalid)?;
    let reveal_pii = pairs.iter().any(|(k, v)| k == "reveal_pii" && (v == "1" || v == "true"));
    let request = ExportRequest { filter, segment: None, format, reveal_pii };
    let plan = state.app.prepare_export(&ca.actor, request).await?;
    Ok(export_download(&state, &ca.actor, plan, "customers"))
}

/// Streams a prepared export as a download named `<stem>-<day>.<ext>` (errors found before the first
/// byte are the caller's to show: prepare first); a failure midway aborts the download.
pub fn export_download(state: &AppState, actor: &Actor, plan: ExportPlan, stem: &str) -> Response {
    let format = plan.request.format;
    let app = state.app.clone();
    let (tx, mut rx) = mpsc::channel::<Chunk>(4);
    let actor = actor.clone();
    let failed = tx.clone();
    tokio::spawn(async move {
        let writer = ChannelWriter { tx, buf: Vec::with_capacity(64 * 1024) };
        if let Err(e) = app.write_export(&actor, &plan, writer, &mut |_| {}).await {
            tracing::warn!(error = ?e, "console export stopped");
            // Abort the download rather than hand out a file that looks complete.
            let _ = failed.send(Err(std::io::Error::other("export failed"))).await;
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let day = crate::console::page::local_time(state.app.now()).get(..10).unwrap_or("").replace('-', "");
    let name = format!("{stem}-{day}.{}", format.extension());
    download(format.content_type(), &name, Body::from_stream(stream))
}
