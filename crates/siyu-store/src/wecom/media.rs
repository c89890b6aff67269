//! WeCom temporary media (`wecom_media`): the media_id a material version's file got in a corp, with when
//! WeCom forgets it. One row per (tenant, corp, material, version, variant); a new upload replaces the row,
//! and the worker's sweep deletes rows past their expiry (`purge_expired_media`).

use chrono::{DateTime, Utc};
use siyu_domain::id::{CorpId, MaterialId, TenantId};

use super::Wecom;
use crate::{StoreError, exec, on_pool};

/// A cached media_id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedMedia {
    pub media_type: String,
    pub media_id: String,
    pub uploaded_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Wecom<'_> {
    /// The media_id cached for `version` of `material` in `corp` (`variant`: `""` for its file, a staff
    /// member's user id for a poster drawn for them), expired or not.
    pub async fn cached_media(
        &self,
        tenant: TenantId,
        corp: CorpId,
        material: MaterialId,
        version: i64,
        variant: &str,
    ) -> Result<Option<CachedMedia>, StoreError> {
        let row: Option<(String, String, DateTime<Utc>, DateTime<Utc>)> = on_pool!(self.0, p => sqlx::query_as(
            "SELECT media_type, media_id, uploaded_at, expires_at FROM wecom_media \
             WHERE tenant_id = $1 AND corp_row_id = $2 AND material_id = $3 AND version = $4 AND variant = $5")
            .bind(tenant.0).bind(corp.0).bind(material.0).bind(version).bind(variant).fetch_optional(p).await)?;
        Ok(row.map(|(media_type, media_id, uploaded_at, expires_at)| CachedMedia {
            media_type,
            media_id,
            uploaded_at,
            expires_at,
        }))
    }

    /// Keeps `media` as the media_id of `version` of `material` (and `variant`) in `corp`, replacing an older
    /// one.
    pub async fn put_media(
        &self,
        tenant: TenantId,
        corp: CorpId,
        material: MaterialId,
        version: i64,
        variant: &str,
        media: &CachedMedia,
    ) -> Result<(), StoreError> {
        exec!(self.0, p => sqlx::query(
            "INSERT INTO wecom_media (tenant_id, corp_row_id, material_id, version, variant, media_type, media_id, \
             uploaded_at, expires_at) VALUES ($1, $2, $3, $4, $9, $5, $6, $7, $8) \
             ON CONFLICT (tenant_id, corp_row_id, material_id, version, variant) DO UPDATE SET \
             media_type = excluded.media_type, media_id = excluded.media_id, uploaded_at = excluded.uploaded_at, \
             expires_at = excluded.expires_at")
            .bind(tenant.0).bind(corp.0).bind(material.0).bind(version).bind(&media.media_type)
            .bind(&media.media_id).bind(media.uploaded_at).bind(media.expires_at).bind(variant).execute(p).await)?;
        Ok(())
    }

    /// Deletes the tenant's media_ids that expired before `now` (WeCom forgot them; the next send uploads
    /// again); how many.
    pub async fn purge_expired_media(&self, tenant: TenantId, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let n = exec!(self.0, p => sqlx::query("DELETE FROM wecom_media WHERE tenant_id = $1 AND expires_at < $2")
            .bind(tenant.0).bind(now).execute(p).await)?;
        Ok(n)
    }
}
