//! Image and poster materials sent as images: the file is uploaded to WeCom as a temporary media
//! (`media/upload`, three days) with the corp's app secret, and the media_id is kept per (tenant, corp,
//! material version, variant) in `wecom_media` and reused until an hour before WeCom forgets it; then the
//! next send uploads again. A new version of the material has its own media_id. A poster goes up as drawn for
//! the sending staff member (their QR code, `App::material_poster`), so its variant is their user id.
//!
//! Only a JPG or PNG of at most 10 MB can be a WeCom image; other images (GIF, WebP), and any upload WeCom
//! refuses or cannot take right now, go out as the news card with the tracked link instead (logged), so a
//! send never fails because of the media.

use chrono::{DateTime, Duration, Utc};
use siyu_domain::material::{Material, MaterialKind};
use siyu_store::wecom::CachedMedia;
use siyu_wecom::api::{MEDIA_LIFETIME_SECS, MEDIA_MIN_BYTES, MediaFile, MediaType};

use super::SidebarIdentity;
use crate::error::AppResult;
use crate::{Actor, App};

/// A cached media_id is not used in its last hour (a send may take a while; WeCom's clock may differ).
pub const MEDIA_REFRESH_MARGIN_SECS: i64 = 3600;

/// The file extension WeCom expects for an image of `mime`, if WeCom takes it.
fn image_extension(mime: &str) -> Option<&'static str> {
    match mime {
        "image/png" => Some("png"),
        "image/jpeg" => Some("jpg"),
        _ => None,
    }
}

/// The name the file is uploaded under: the material's own when its extension fits, else `image.<ext>`
/// (WeCom refuses an image whose name has another extension).
fn upload_name(file_name: Option<&str>, ext: &str) -> String {
    let name = file_name.unwrap_or_default().trim();
    let fits = name.rsplit_once('.').is_some_and(|(stem, e)| {
        !stem.is_empty() && (e.eq_ignore_ascii_case(ext) || (ext == "jpg" && e.eq_ignore_ascii_case("jpeg")))
    });
    if fits { name.to_owned() } else { format!("image.{ext}") }
}

/// Whether a file of `mime` and `size` bytes can be a WeCom image.
fn fits(mime: Option<&str>, size: i64) -> bool {
    let size = usize::try_from(size).unwrap_or(0);
    mime.and_then(image_extension).is_some() && size > MEDIA_MIN_BYTES && size <= MediaType::Image.max_bytes()
}

/// Whether a cached media may still be used at `now`.
fn usable(media: &CachedMedia, now: DateTime<Utc>) -> bool {
    media.expires_at - Duration::seconds(MEDIA_REFRESH_MARGIN_SECS) > now
}

impl App {
    /// The WeCom media_id of an image material's current version (or of a poster drawn for the actor) in the
    /// identity's corp: cached, or uploaded now. `None` when the material is not an image WeCom takes, or
    /// the drawing or the upload failed.
    pub(crate) async fn sidebar_image_media(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        m: &Material,
    ) -> AppResult<Option<String>> {
        let v = &m.current;
        let variant = match m.kind {
            MaterialKind::Image => String::new(),
            MaterialKind::Poster => actor.user.0.to_string(),
            _ => return Ok(None),
        };
        if m.kind == MaterialKind::Image && !fits(v.mime.as_deref(), v.size_bytes.unwrap_or(0)) {
            return Ok(None);
        }
        let (tenant, corp) = (actor.tenant, identity.corp);
        let now = self.now();
        let cached = self.store.wecom().cached_media(tenant, corp, m.id, v.version, &variant).await?;
        if let Some(media) = cached.filter(|c| usable(c, now)) {
            return Ok(Some(media.media_id));
        }
        let (file, name) = if m.kind == MaterialKind::Poster {
            match self.material_poster(actor, m.id, None).await {
                Ok(file) => (file, "poster.png".to_owned()),
                Err(e) => {
                    tracing::warn!(material = %m.id, error = %e, "drawing a poster failed; sending it as a link");
                    return Ok(None);
                }
            }
        } else {
            (self.material_file(actor, m.id, Some(v.version), false).await?, v.file_name.clone().unwrap_or_default())
        };
        // A drawn poster is known only now; an image's own file was judged by its recorded type and size.
        let Some(ext) = image_extension(&file.mime) else { return Ok(None) };
        if !fits(Some(&file.mime), file.bytes.len() as i64) {
            return Ok(None);
        }
        let handle = self.corp_handle(tenant, corp).await?;
        let name = upload_name(Some(&name), ext);
        let upload = MediaFile { file_name: &name, content_type: &file.mime, bytes: &file.bytes };
        match handle.client.upload_media(&handle.app, MediaType::Image, &upload).await {
            Ok(uploaded) => {
                // Counted from before the call: WeCom's three days started no earlier.
                let media = CachedMedia {
                    media_type: MediaType::Image.as_str().to_owned(),
                    media_id: uploaded.media_id,
                    uploaded_at: now,
                    expires_at: now + Duration::seconds(MEDIA_LIFETIME_SECS),
                };
                self.store.wecom().put_media(tenant, corp, m.id, v.version, &variant, &media).await?;
                Ok(Some(media.media_id))
            }
            Err(e) => {
                tracing::warn!(material = %m.id, error = %e, "uploading an image material to WeCom failed; sending it as a link");
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_name_keeps_a_fitting_extension_and_otherwise_names_the_type() {
        assert_eq!(upload_name(Some("新品.PNG"), "png"), "新品.PNG");
        assert_eq!(upload_name(Some("photo.jpeg"), "jpg"), "photo.jpeg");
        assert_eq!(upload_name(Some("passwd.exe"), "png"), "image.png");
        assert_eq!(upload_name(Some(".png"), "png"), "image.png");
        assert_eq!(upload_name(None, "jpg"), "image.jpg");
    }

    #[test]
    fn a_cached_media_is_not_used_in_its_last_hour() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let media = |expires: i64| CachedMedia {
            media_type: "image".into(),
            media_id: "m".into(),
            uploaded_at: now,
            expires_at: now + Duration::seconds(expires),
        };
        assert!(usable(&media(3601), now));
        assert!(!usable(&media(3600), now));
        assert!(!usable(&media(-1), now));
    }
}
