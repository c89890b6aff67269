//! Uploaded import files between the steps of the console import (upload → mapping → preview → run).
//!
//! A file is kept as `<temp>/siyu-imports/<uuid>.bin` beside a note of who uploaded it (`<uuid>.json`);
//! only that member, in that tenant, can use it. When the import has run, its report (`.report.json`) and
//! row errors (`.errors.csv`) replace the upload. Everything is removed an hour after it was written.
//! Running imports report their progress through an in-process map; a console behind a load balancer
//! needs sticky sessions for the progress page (the import itself completes either way).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use siyu_app::transfer::{ImportProgress, ImportReport};
use siyu_app::{Actor, AppError, AppResult};
use siyu_domain::id::{TenantId, UserId};
use uuid::Uuid;

const KEEP: Duration = Duration::from_secs(3600);

/// Who uploaded a file, and what it was called.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub tenant: TenantId,
    pub user: UserId,
    pub file_name: String,
    pub uploaded_at: DateTime<Utc>,
}

/// How a finished import ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done(ImportReport),
    Failed(String),
}

/// Imports running in this process: their latest progress.
static RUNNING: Mutex<Option<HashMap<Uuid, ImportProgress>>> = Mutex::new(None);

fn dir() -> PathBuf {
    std::env::temp_dir().join("siyu-imports")
}

fn path(id: Uuid, ext: &str) -> PathBuf {
    dir().join(format!("{}.{ext}", id.simple()))
}

fn io(e: std::io::Error) -> AppError {
    AppError::internal(anyhow::anyhow!("import storage: {e}"))
}

/// Writes a file only its owner (the server's user) can read: uploads hold customers' personal data.
async fn write_private(p: PathBuf, data: Vec<u8>) -> AppResult<()> {
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        std::io::Write::write_all(&mut opts.open(p)?, &data)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(io)
}

async fn ensure_dir() -> AppResult<()> {
    tokio::task::spawn_blocking(|| {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(io)
}

/// Removes files older than an hour.
pub async fn sweep() {
    let Ok(mut entries) = tokio::fs::read_dir(dir()).await else { return };
    let now = SystemTime::now();
    while let Ok(Some(e)) = entries.next_entry().await {
        let old = e
            .metadata()
            .await
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > KEEP);
        if old && let Err(err) = tokio::fs::remove_file(e.path()).await {
            tracing::warn!(error = %err, "could not remove an old import file");
        }
    }
}

/// Stores an upload; returns its id.
pub async fn save(actor: &Actor, file_name: &str, bytes: Vec<u8>, at: DateTime<Utc>) -> AppResult<Uuid> {
    sweep().await;
    ensure_dir().await?;
    let id = Uuid::now_v7();
    let name: String = file_name.chars().filter(|c| !c.is_control()).take(200).collect();
    let meta = Meta { tenant: actor.tenant, user: actor.user, file_name: name, uploaded_at: at };
    write_private(path(id, "bin"), bytes).await?;
    write_private(path(id, "json"), serde_json::to_vec(&meta).map_err(AppError::internal)?).await?;
    Ok(id)
}

/// The note of an upload this actor made; `NotFound` for anyone else's, unknown or expired ones.
pub async fn meta(actor: &Actor, id: &str) -> AppResult<(Uuid, Meta)> {
    let id: Uuid = id.trim().parse().map_err(|_| AppError::NotFound)?;
    let bytes = tokio::fs::read(path(id, "json")).await.map_err(|_| AppError::NotFound)?;
    let meta: Meta = serde_json::from_slice(&bytes).map_err(|_| AppError::NotFound)?;
    if meta.tenant != actor.tenant || meta.user != actor.user {
        return Err(AppError::NotFound);
    }
    Ok((id, meta))
}

/// The uploaded bytes (gone once the import has run or the hour is over).
pub async fn bytes(id: Uuid) -> AppResult<Vec<u8>> {
    tokio::fs::read(path(id, "bin")).await.map_err(|_| AppError::NotFound)
}

/// Marks an import as running; `false` when it already runs or ran.
pub fn start(id: Uuid) -> bool {
    if std::fs::metadata(path(id, "report.json")).is_ok() {
        return false;
    }
    let Ok(mut running) = RUNNING.lock() else { return false };
    let map = running.get_or_insert_with(HashMap::new);
    if map.contains_key(&id) {
        return false;
    }
    map.insert(id, ImportProgress::default());
    true
}

pub fn set_progress(id: Uuid, p: ImportProgress) {
    if let Ok(mut running) = RUNNING.lock()
        && let Some(slot) = running.as_mut().and_then(|m| m.get_mut(&id))
    {
        *slot = p;
    }
}

pub fn progress(id: Uuid) -> Option<ImportProgress> {
    RUNNING.lock().ok().and_then(|r| r.as_ref().and_then(|m| m.get(&id).copied()))
}

/// Stores how an import ended, replaces the upload with its error report, and stops tracking it.
pub async fn finish(id: Uuid, outcome: &Outcome) {
    let mut result = match serde_json::to_vec(outcome) {
        Ok(json) => write_private(path(id, "report.json"), json).await,
        Err(e) => Err(AppError::internal(e)),
    };
    if let (Ok(()), Outcome::Done(report)) = (&result, outcome)
        && !report.errors.is_empty()
    {
        result = match siyu_app::transfer::errors_csv(&report.errors) {
            Ok(csv) => write_private(path(id, "errors.csv"), csv).await,
            Err(e) => Err(e),
        };
    }
    if let Err(e) = result {
        tracing::error!(error = ?e, import = %id, "could not store an import report");
    }
    if let Err(e) = tokio::fs::remove_file(path(id, "bin")).await {
        tracing::warn!(error = %e, import = %id, "could not remove an uploaded file");
    }
    if let Ok(mut running) = RUNNING.lock()
        && let Some(m) = running.as_mut()
    {
        m.remove(&id);
    }
}

/// How a finished import ended, if it has.
pub async fn outcome(id: Uuid) -> Option<Outcome> {
    let bytes = tokio::fs::read(path(id, "report.json")).await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub async fn errors_csv(id: Uuid) -> AppResult<Vec<u8>> {
    tokio::fs::read(path(id, "errors.csv")).await.map_err(|_| AppError::NotFound)
}
