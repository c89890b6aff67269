//! Uploaded import files, kept in the database between the steps of an import (upload → mapping → dry
//! run → import job) so any node can serve the next step and any worker can run the import.
//!
//! The bytes are encrypted with the tenant's data key (they hold customers' phone numbers). Only the member
//! who uploaded a file may use it: to anyone else, in the tenant or not, it does not exist. Uploads expire
//! after [`UPLOAD_TTL_HOURS`]; each new upload first purges the expired ones, and an import job deletes its
//! upload when it has run.

use chrono::Duration;
use siyu_domain::access::Permission;
use siyu_domain::id::UploadId;
use siyu_store::uploads::Upload;

use super::table::Table;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// How long an upload is kept.
pub const UPLOAD_TTL_HOURS: i64 = 24;

/// An upload read back as a table.
#[derive(Debug, Clone)]
pub struct UploadedTable {
    pub id: UploadId,
    pub file_name: String,
    pub table: Table,
}

/// The content type recorded for a file name (the file itself is sniffed when read).
fn content_type(file_name: &str) -> &'static str {
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "csv" => "text/csv",
        "tsv" | "txt" => "text/plain",
        "xlsx" | "xlsm" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xls" => "application/vnd.ms-excel",
        _ => "application/octet-stream",
    }
}

impl App {
    /// Keeps an uploaded import file for its uploader; returns its id.
    pub async fn store_upload(&self, actor: &Actor, file_name: &str, bytes: &[u8]) -> AppResult<UploadId> {
        actor.require(Permission::CustomersImport)?;
        if bytes.len() > self.settings.server.max_upload_bytes {
            return Err(AppError::PayloadTooLarge);
        }
        if bytes.is_empty() {
            return Err(AppError::invalid("file", "required"));
        }
        let now = self.now();
        let purged = self.store.uploads().purge_expired(now).await?;
        if purged > 0 {
            tracing::info!(purged, "expired uploads removed");
        }
        let name: String = file_name.chars().filter(|c| !c.is_control()).take(200).collect();
        let keys = self.vault.keys(&self.store, actor.tenant).await?;
        let upload = Upload {
            id: UploadId::new(),
            user_id: actor.user,
            content_type: content_type(&name).to_string(),
            filename: if name.trim().is_empty() { "upload".into() } else { name },
            bytes: keys.encrypt_bytes(bytes)?,
            size: bytes.len() as i64,
            created_at: now,
            expires_at: now + Duration::hours(UPLOAD_TTL_HOURS),
        };
        self.store.uploads().insert(actor.tenant, &upload).await?;
        Ok(upload.id)
    }

    /// The actor's own upload, decrypted: `(file name, bytes)`. `expired_too` lets an import job that was
    /// queued in time still read its file.
    pub(crate) async fn upload_bytes(
        &self,
        actor: &Actor,
        id: UploadId,
        expired_too: bool,
    ) -> AppResult<(String, Vec<u8>)> {
        actor.require(Permission::CustomersImport)?;
        let upload = self.store.uploads().get(actor.tenant, id).await?;
        if upload.user_id != actor.user || (!expired_too && upload.expires_at <= self.now()) {
            return Err(AppError::NotFound);
        }
        let keys = self.vault.keys(&self.store, actor.tenant).await?;
        Ok((upload.filename, keys.decrypt_bytes(&upload.bytes)?))
    }

    /// The actor's own upload read as a table (for the mapping and the dry run).
    pub async fn upload_table(&self, actor: &Actor, id: UploadId) -> AppResult<UploadedTable> {
        let (file_name, bytes) = self.upload_bytes(actor, id, false).await?;
        let table = self.read_import_file(file_name.clone(), bytes).await?;
        Ok(UploadedTable { id, file_name, table })
    }
}
