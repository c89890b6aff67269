//! Image, poster, video and file materials sent by WeCom media_id: the file is uploaded to WeCom as a
//! temporary media (`media/upload?type=image|video|file`, three days) with the corp's app secret, and the
//! media_id is kept per (tenant, corp, material version, variant) in `wecom_media` and reused until an hour
//! before WeCom forgets it; then the next send uploads again. A new version of the material has its own
//! media_id. A poster goes up as drawn for the sending staff member (their QR code, `App::material_poster`),
//! so its variant is their user id. The worker's sweep deletes rows past their expiry
//! ([`App::sweep_wecom_media`]).
//!
//! WeCom's limits (doc 90253): every file more than 5 bytes; an image a JPG or PNG of at most 10 MB, a video
//! an MP4 of at most 10 MB, a file at most 20 MB. A material out of them, and any upload WeCom refuses or
//! cannot take right now, goes out as the news card with the tracked link instead, with the reason
//! ([`MediaFallback`]) shown to the staff member, so a send never fails because of the media.

use chrono::{DateTime, Duration, Utc};
use siyu_domain::material::{Material, MaterialKind};
use siyu_store::wecom::CachedMedia;
use siyu_wecom::api::{MEDIA_LIFETIME_SECS, MEDIA_MIN_BYTES, MediaFile, MediaType};

use super::SidebarIdentity;
use crate::error::AppResult;
use crate::{Actor, App};

/// A cached media_id is not used in its last hour (a send may take a while; WeCom's clock may differ).
pub const MEDIA_REFRESH_MARGIN_SECS: i64 = 3600;

/// Why a material that goes out by media_id when it can (image, poster, video, file) goes as the news card
/// with its tracked link instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFallback {
    /// Over WeCom's size limit for the type (image and video 10 MB, file 20 MB).
    TooLarge(MediaType),
    /// Five bytes or fewer (WeCom takes none).
    TooSmall,
    /// Not a format WeCom takes as the type (an image neither JPG nor PNG, a video not MP4).
    Format(MediaType),
    /// WeCom refused the upload or could not take it right now.
    Upload,
    /// The poster could not be drawn.
    Drawing,
}

impl MediaFallback {
    /// A stable code for the reason (`too_large`, `too_small`, `format`, `upload_failed`, `drawing_failed`).
    pub fn code(self) -> &'static str {
        match self {
            Self::TooLarge(_) => "too_large",
            Self::TooSmall => "too_small",
            Self::Format(_) => "format",
            Self::Upload => "upload_failed",
            Self::Drawing => "drawing_failed",
        }
    }
}

/// A material sent by a WeCom media_id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSend {
    pub media_type: MediaType,
    pub media_id: String,
}

/// Whether a file of `mime` and `len` bytes can be a WeCom media of `t`.
fn fits(t: MediaType, mime: &str, len: usize) -> Result<(), MediaFallback> {
    if len <= MEDIA_MIN_BYTES {
        return Err(MediaFallback::TooSmall);
    }
    if len > t.max_bytes() {
        return Err(MediaFallback::TooLarge(t));
    }
    let format = match t {
        MediaType::Image => matches!(mime, "image/png" | "image/jpeg"),
        MediaType::Video => mime == "video/mp4",
        MediaType::File => true,
        MediaType::Voice => false,
    };
    if format { Ok(()) } else { Err(MediaFallback::Format(t)) }
}

/// How a material of `kind` whose current file has `mime` and `size` bytes is sent: `None` for the kinds
/// that never go by media_id (text, link, mini program); else the media type, or why not. A poster is
/// judged once drawn.
pub fn media_plan(
    kind: MaterialKind,
    mime: Option<&str>,
    size: Option<i64>,
) -> Option<Result<MediaType, MediaFallback>> {
    let t = match kind {
        MaterialKind::Poster => return Some(Ok(MediaType::Image)),
        MaterialKind::Image => MediaType::Image,
        MaterialKind::Video => MediaType::Video,
        MaterialKind::File => MediaType::File,
        MaterialKind::Text | MaterialKind::Link | MaterialKind::Miniprogram => return None,
    };
    let len = usize::try_from(size.unwrap_or(0)).unwrap_or(0);
    Some(fits(t, mime.unwrap_or_default(), len).map(|()| t))
}

/// The extension WeCom expects in the name of a media of `t` whose type is `mime` (`None`: any name).
fn extension(t: MediaType, mime: &str) -> Option<&'static str> {
    match (t, mime) {
        (MediaType::Image, "image/jpeg") => Some("jpg"),
        (MediaType::Image, _) => Some("png"),
        (MediaType::Video, _) => Some("mp4"),
        _ => None,
    }
}

/// The name the file is uploaded under, which the chat shows: the material's own when its extension fits
/// (WeCom refuses an image or a video whose name has another), else `<type>.<ext>`; a file keeps its name.
fn upload_name(t: MediaType, file_name: Option<&str>, mime: &str) -> String {
    let name = file_name.unwrap_or_default().trim();
    let Some(ext) = extension(t, mime) else {
        return if name.is_empty() { "file".to_owned() } else { name.to_owned() };
    };
    let fits = name.rsplit_once('.').is_some_and(|(stem, e)| {
        !stem.is_empty() && (e.eq_ignore_ascii_case(ext) || (ext == "jpg" && e.eq_ignore_ascii_case("jpeg")))
    });
    if fits { name.to_owned() } else { format!("{}.{ext}", t.as_str()) }
}

/// Whether a cached media may still be used at `now`.
fn usable(media: &CachedMedia, now: DateTime<Utc>) -> bool {
    media.expires_at - Duration::seconds(MEDIA_REFRESH_MARGIN_SECS) > now
}

impl App {
    /// The WeCom media of a material's current version (a poster: drawn for the actor) in the identity's
    /// corp: cached, or uploaded now. `None` for the kinds that never go by media_id; `Some(Err(_))` when
    /// this one cannot (see [`MediaFallback`]).
    pub(crate) async fn sidebar_media(
        &self,
        actor: &Actor,
        identity: &SidebarIdentity,
        m: &Material,
    ) -> AppResult<Option<Result<MediaSend, MediaFallback>>> {
        let v = &m.current;
        let media_type = match media_plan(m.kind, v.mime.as_deref(), v.size_bytes) {
            None => return Ok(None),
            Some(Err(why)) => return Ok(Some(Err(why))),
            Some(Ok(t)) => t,
        };
        let variant = if m.kind == MaterialKind::Poster { actor.user.0.to_string() } else { String::new() };
        let (tenant, corp) = (actor.tenant, identity.corp);
        let now = self.now();
        let cached = self.store.wecom().cached_media(tenant, corp, m.id, v.version, &variant).await?;
        if let Some(media) = cached.filter(|c| usable(c, now) && c.media_type == media_type.as_str()) {
            return Ok(Some(Ok(MediaSend { media_type, media_id: media.media_id })));
        }
        let (file, name) = if m.kind == MaterialKind::Poster {
            match self.material_poster(actor, m.id, None).await {
                Ok(file) => (file, Some("poster.png".to_owned())),
                Err(e) => {
                    tracing::warn!(material = %m.id, error = %e, "drawing a poster failed; sending it as a link");
                    return Ok(Some(Err(MediaFallback::Drawing)));
                }
            }
        } else {
            (self.material_file(actor, m.id, Some(v.version), false).await?, v.file_name.clone())
        };
        // A drawn poster is known only now; the other files were judged by their recorded type and size.
        if let Err(why) = fits(media_type, &file.mime, file.bytes.len()) {
            return Ok(Some(Err(why)));
        }
        let handle = self.corp_handle(tenant, corp).await?;
        let name = upload_name(media_type, name.as_deref(), &file.mime);
        let upload = MediaFile { file_name: &name, content_type: &file.mime, bytes: &file.bytes };
        match handle.client.upload_media(&handle.app, media_type, &upload).await {
            Ok(uploaded) => {
                // Counted from before the call: WeCom's three days started no earlier.
                let media = CachedMedia {
                    media_type: media_type.as_str().to_owned(),
                    media_id: uploaded.media_id,
                    uploaded_at: now,
                    expires_at: now + Duration::seconds(MEDIA_LIFETIME_SECS),
                };
                self.store.wecom().put_media(tenant, corp, m.id, v.version, &variant, &media).await?;
                Ok(Some(Ok(MediaSend { media_type, media_id: media.media_id })))
            }
            Err(e) => {
                tracing::warn!(material = %m.id, error = %e, "uploading a material to WeCom failed; sending it as a link");
                Ok(Some(Err(MediaFallback::Upload)))
            }
        }
    }

    /// Deletes every tenant's cached media_ids past their expiry (the worker's housekeeping); how many.
    pub async fn sweep_wecom_media(&self) -> AppResult<u64> {
        let now = self.now();
        let mut swept = 0;
        for tenant in self.store.tenants().list().await? {
            swept += self.store.wecom().purge_expired_media(tenant.id, now).await?;
        }
        if swept > 0 {
            tracing::info!(swept, "expired WeCom media ids removed");
        }
        Ok(swept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_name_keeps_a_fitting_extension_and_otherwise_names_the_type() {
        let png = |name| upload_name(MediaType::Image, name, "image/png");
        assert_eq!(png(Some("新品.PNG")), "新品.PNG");
        assert_eq!(upload_name(MediaType::Image, Some("photo.jpeg"), "image/jpeg"), "photo.jpeg");
        assert_eq!(png(Some("passwd.exe")), "image.png");
        assert_eq!(png(Some(".png")), "image.png");
        assert_eq!(upload_name(MediaType::Image, None, "image/jpeg"), "image.jpg");
        assert_eq!(upload_name(MediaType::Video, Some("开箱.MP4"), "video/mp4"), "开箱.MP4");
        assert_eq!(upload_name(MediaType::Video, Some("clip.mov"), "video/mp4"), "video.mp4");
        assert_eq!(upload_name(MediaType::File, Some(" 价目表.xlsx "), "application/zip"), "价目表.xlsx");
        assert_eq!(upload_name(MediaType::File, None, "application/pdf"), "file");
    }

    #[test]
    fn wecoms_limits_decide_which_materials_go_by_media_id() {
        let plan = |kind, mime, size: i64| media_plan(kind, Some(mime), Some(size));
        let mb = 1 << 20;
        assert_eq!(plan(MaterialKind::Video, "video/mp4", 10 * mb), Some(Ok(MediaType::Video)));
        let too_large = Some(Err(MediaFallback::TooLarge(MediaType::Video)));
        assert_eq!(plan(MaterialKind::Video, "video/mp4", 10 * mb + 1), too_large);
        let not_mp4 = Some(Err(MediaFallback::Format(MediaType::Video)));
        assert_eq!(plan(MaterialKind::Video, "video/quicktime", mb), not_mp4);
        assert_eq!(plan(MaterialKind::File, "application/pdf", 20 * mb), Some(Ok(MediaType::File)));
        let too_large = Some(Err(MediaFallback::TooLarge(MediaType::File)));
        assert_eq!(plan(MaterialKind::File, "application/pdf", 20 * mb + 1), too_large);
        assert_eq!(plan(MaterialKind::File, "text/plain", 5), Some(Err(MediaFallback::TooSmall)));
        assert_eq!(plan(MaterialKind::Image, "image/gif", mb), Some(Err(MediaFallback::Format(MediaType::Image))));
        assert_eq!(plan(MaterialKind::Poster, "image/png", 30 * mb), Some(Ok(MediaType::Image)), "judged once drawn");
        assert_eq!(media_plan(MaterialKind::Link, None, None), None);
        assert_eq!(media_plan(MaterialKind::Text, None, None), None);
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
