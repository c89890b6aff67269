//! Temporary media (`POST media/upload?type=`, doc 90253): the file comes as the `multipart/form-data` part
//! named `media` (parsed for real by the router, with its `filename` and `Content-Type`); the fake keeps what
//! it was given and answers a `media_id` that lives three days on the fake clock.
//!
//! Checks, in this order: `type` must be image, voice, video or file (40005); a `media` part with a file
//! name must be there (41005); an empty file is 44001 and one of 5 bytes or fewer 40006; too large is
//! 40009 for an image (10 MB), 40011 for a video (10 MB) and 40006 for a voice (2 MB) or a file (20 MB); a
//! file name whose extension is not of the type is 40005 (WeCom's "invalid file type"); an image that is
//! not a JPG or PNG, a voice that is not AMR or a video that is not MP4 by its bytes (an ISO media file
//! other than QuickTime) is 40004. A file may be of any type.

use serde_json::{Value, json};

use super::request::{ApiError, ApiResult, Ctx, reply};
use super::state::Corp;
use super::{FakeError, FakeHandle};

/// How long a media_id is good for, in seconds.
pub const MEDIA_TTL: i64 = 3 * 24 * 3600;

/// The largest request body the fake reads (larger ones never reach a handler).
pub(crate) const MAX_BODY_BYTES: usize = 32 << 20;

/// The file part of a multipart request, as the router parsed it.
#[derive(Clone, Debug)]
pub(crate) struct MediaPart {
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl MediaPart {
    /// What the request log shows of the part.
    pub fn summary(&self) -> Value {
        json!({"media": {"filename": self.file_name, "content_type": self.content_type, "size": self.bytes.len()}})
    }
}

/// A media the fake was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMedia {
    pub media_id: String,
    /// `image`, `voice`, `video` or `file`.
    pub kind: String,
    pub file_name: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
    /// Fake time of the upload.
    pub created_at: i64,
}

fn max_bytes(kind: &str) -> (usize, i64) {
    match kind {
        "image" => (10 << 20, 40009),
        "video" => (10 << 20, 40011),
        "voice" => (2 << 20, 40006),
        _ => (20 << 20, 40006),
    }
}

fn extension_fits(kind: &str, file_name: &str) -> bool {
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match kind {
        "image" => matches!(ext.as_str(), "jpg" | "jpeg" | "png"),
        "voice" => ext == "amr",
        "video" => ext == "mp4",
        _ => true,
    }
}

fn content_fits(kind: &str, bytes: &[u8]) -> bool {
    match kind {
        "image" => bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "voice" => bytes.starts_with(b"#!AMR"),
        // An ISO media file (`ftyp` box) that is not QuickTime (brand `qt  `, a .mov however it is named).
        "video" => bytes.get(4..8) == Some(b"ftyp") && bytes.get(8..12) != Some(b"qt  "),
        _ => true,
    }
}

/// `POST media/upload?type=`.
pub(crate) fn upload(corp: &mut Corp, ctx: &Ctx<'_>) -> ApiResult {
    let kind = ctx.query.get("type").map(String::as_str).unwrap_or_default();
    if !matches!(kind, "image" | "voice" | "video" | "file") {
        return Err(ApiError::with(40005, format!("invalid type {kind:?}")));
    }
    let part = ctx.upload.ok_or_else(|| ApiError::with(41005, "no multipart part named media"))?;
    let file_name = part.file_name.clone().filter(|n| !n.is_empty());
    let file_name = file_name.ok_or_else(|| ApiError::with(41005, "the media part has no filename"))?;
    let len = part.bytes.len();
    if len == 0 {
        return Err(ApiError::code(44001));
    }
    if len <= 5 {
        return Err(ApiError::with(40006, "a media file must be more than 5 bytes"));
    }
    let (max, code) = max_bytes(kind);
    if len > max {
        return Err(ApiError::with(code, format!("a {kind} is at most {max} bytes")));
    }
    if !extension_fits(kind, &file_name) {
        return Err(ApiError::with(40005, format!("invalid file type: {file_name} for {kind}")));
    }
    if !content_fits(kind, &part.bytes) {
        return Err(ApiError::with(40004, format!("the bytes are not a valid {kind}")));
    }
    let (_, hex) = corp.new_hex();
    let media_id = format!("3{hex}");
    let stored = StoredMedia {
        media_id: media_id.clone(),
        kind: kind.to_owned(),
        file_name,
        content_type: part.content_type.clone(),
        bytes: part.bytes.clone(),
        created_at: ctx.now(),
    };
    corp.media.insert(media_id.clone(), stored);
    reply(json!({"type": kind, "media_id": media_id, "created_at": ctx.now().to_string()}))
}

impl FakeHandle {
    /// A media uploaded to `corp`, if it exists and has not expired on the fake clock (three days).
    pub fn media(&self, corp: &str, media_id: &str) -> Result<Option<StoredMedia>, FakeError> {
        self.with_corp(corp, |c, env| Ok(c.media.get(media_id).filter(|m| env.now - m.created_at < MEDIA_TTL).cloned()))
    }

    /// Every media uploaded to `corp`, expired ones included, oldest first.
    pub fn uploaded_media(&self, corp: &str) -> Result<Vec<StoredMedia>, FakeError> {
        self.with_corp(corp, |c, _| {
            let mut all: Vec<StoredMedia> = c.media.values().cloned().collect();
            all.sort_by(|a, b| (a.created_at, &a.media_id).cmp(&(b.created_at, &b.media_id)));
            Ok(all)
        })
    }
}
