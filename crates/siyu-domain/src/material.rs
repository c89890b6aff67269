//! The material library (素材库): what staff send to customers — texts, images, videos, files, links,
//! mini-program cards (the sidebar's product cards) and posters (an image with a slot for a QR code).
//!
//! A material has a kind, a title, kind-specific content, tags, a folder and a visibility; every change
//! of its content makes a new version. Uploaded files are accepted by what their bytes are ([`sniff`]),
//! within a per-kind size limit ([`Limits`]).

pub mod sniff;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::id::{DepartmentId, MaterialFolderId, MaterialId, TagId, UserId};
pub use sniff::{Family, Sniffed, sniff};

pub const MAX_TITLE_CHARS: usize = 80;
pub const MAX_BODY_CHARS: usize = 5000;
pub const MAX_TAGS: usize = 10;
pub const MAX_TAG_CHARS: usize = 20;
pub const MAX_AUDIENCE: usize = 200;
pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_FOLDER_NAME_CHARS: usize = 30;
/// Tags a material may give to a customer who opens one of its tracked links.
pub const MAX_OPEN_TAGS: usize = 10;
/// The smallest and largest QR slot side of a poster, in pixels.
pub const MIN_QR_SIDE: u32 = 32;
pub const MAX_QR_SIDE: u32 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaterialKind {
    Text,
    Image,
    Video,
    File,
    Link,
    /// A mini-program card (小程序卡片), sent from the sidebar as a product card.
    Miniprogram,
    /// An image with a slot where each staff member's QR code is drawn.
    Poster,
}

impl MaterialKind {
    pub const ALL: [MaterialKind; 7] =
        [Self::Text, Self::Image, Self::Video, Self::File, Self::Link, Self::Miniprogram, Self::Poster];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Video => "video",
            Self::File => "file",
            Self::Link => "link",
            Self::Miniprogram => "miniprogram",
            Self::Poster => "poster",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the material is an uploaded file.
    pub fn has_file(self) -> bool {
        matches!(self, Self::Image | Self::Video | Self::File | Self::Poster)
    }

    /// Whether the file is an image (decoded, thumbnailed).
    pub fn is_image(self) -> bool {
        matches!(self, Self::Image | Self::Poster)
    }
}

/// Largest accepted upload per kind, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub image_bytes: u64,
    pub video_bytes: u64,
    pub file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { image_bytes: 10 << 20, video_bytes: 100 << 20, file_bytes: 20 << 20 }
    }
}

impl Limits {
    pub fn for_kind(&self, kind: MaterialKind) -> u64 {
        match kind {
            MaterialKind::Image | MaterialKind::Poster => self.image_bytes,
            MaterialKind::Video => self.video_bytes,
            _ => self.file_bytes,
        }
    }

    /// The largest of the limits (the most a request body may carry).
    pub fn largest(&self) -> u64 {
        self.image_bytes.max(self.video_bytes).max(self.file_bytes)
    }
}

/// Why an upload is refused. Each has its own stable error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaterialError {
    #[error("the file is too large: at most {limit_bytes} bytes for a {kind} material")]
    TooLarge { kind: &'static str, limit_bytes: u64 },
    #[error("the file is a {found}, not a {declared} (its content decides, not its name)")]
    TypeMismatch { declared: &'static str, found: &'static str },
    #[error("this type of file is not accepted ({found})")]
    UnsupportedType { found: &'static str },
    #[error("the image cannot be decoded")]
    CorruptImage,
}

/// Checks an upload for a material of `kind`: its size, then what its bytes are. Returns the sniffed type.
pub fn accept_file(kind: MaterialKind, bytes: &[u8], limits: &Limits) -> Result<Sniffed, MaterialError> {
    let limit = limits.for_kind(kind);
    if bytes.len() as u64 > limit {
        return Err(MaterialError::TooLarge { kind: kind.as_str(), limit_bytes: limit });
    }
    let found = sniff(bytes);
    let family = found.family();
    if matches!(family, Family::Forbidden | Family::Unknown) {
        return Err(MaterialError::UnsupportedType { found: found.name() });
    }
    let fits = match kind {
        MaterialKind::Image | MaterialKind::Poster => family == Family::Image,
        MaterialKind::Video => family == Family::Video,
        MaterialKind::File => true,
        MaterialKind::Text | MaterialKind::Link | MaterialKind::Miniprogram => false,
    };
    if fits { Ok(found) } else { Err(MaterialError::TypeMismatch { declared: kind.as_str(), found: found.name() }) }
}

/// A user's file name made safe to show and to offer as a download name: the last path component only,
/// no control characters, quotes or separators, at most 100 characters. Never used as a storage path.
pub fn clean_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\'' | ';' | '<' | '>' | ':' | '*' | '?' | '|'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() { "file".to_string() } else { cleaned }
}

/// Where a poster's QR code goes, in pixels of the poster image: the square's top-left corner and side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QrSlot {
    pub x: u32,
    pub y: u32,
    pub size: u32,
}

impl QrSlot {
    /// Whether the square lies inside a `width` × `height` image.
    pub fn fits(&self, width: u32, height: u32) -> bool {
        self.x.checked_add(self.size).is_some_and(|r| r <= width)
            && self.y.checked_add(self.size).is_some_and(|b| b <= height)
    }

    /// The slot of a poster that names none: a quarter of the shorter side, in the bottom-right corner with a
    /// margin of an eighth of the square (never smaller than [`MIN_QR_SIDE`] when the image allows it).
    pub fn default_for(width: u32, height: u32) -> Self {
        let short = width.min(height);
        let size = (short / 4).max(MIN_QR_SIDE.min(short)).min(MAX_QR_SIDE);
        let margin = size / 8;
        Self { x: width.saturating_sub(size + margin), y: height.saturating_sub(size + margin), size }
    }
}

/// The kind's own fields (stored as JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MaterialContent {
    /// Link: the page; mini-program: ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Link and mini-program card: the cover image URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cover_url: Option<String>,
    /// Mini-program: its appid (wx + 16 hex digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// Mini-program: the page opened, e.g. `pages/item/index?id=42`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagepath: Option<String>,
    /// Poster: where the QR code is drawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr: Option<QrSlot>,
}

/// Who sees a material besides content managers. Both lists empty: every staff member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MaterialVisibility {
    /// Members of these departments and their sub-departments.
    pub departments: Vec<DepartmentId>,
    /// These staff members.
    pub staff: Vec<UserId>,
}

impl MaterialVisibility {
    pub fn is_everyone(&self) -> bool {
        self.departments.is_empty() && self.staff.is_empty()
    }
}

/// A material as written (create or edit), before it is stored. Files come separately.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct MaterialInput {
    pub kind: MaterialKind,
    pub title: String,
    /// Text: the message; other kinds: a description (a link's is sent with it; the others' stays in the
    /// library, for staff and search).
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub folder_id: Option<MaterialFolderId>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub visibility: MaterialVisibility,
    #[serde(default)]
    pub content: MaterialContent,
    /// Tags given to a customer on their first open of any tracked link of this material (besides the
    /// link's own tag). Changed in place, like tags (no new version).
    #[serde(default)]
    pub open_tag_ids: Vec<TagId>,
}

fn http_url(field: &str, url: &str) -> Result<String, Invalid> {
    let url = url.trim();
    if url.chars().count() > MAX_URL_CHARS || !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Invalid::new(field, "http_url_needed"));
    }
    if url.len() <= "https://".len() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new(field, "http_url_needed"));
    }
    Ok(url.to_string())
}

/// Tags trimmed, empty ones dropped, duplicates removed, order kept.
pub fn clean_tags(tags: &[String]) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim();
        if t.is_empty() || out.iter().any(|o| o == t) {
            continue;
        }
        if t.chars().count() > MAX_TAG_CHARS || t.chars().any(char::is_control) {
            return Err(Invalid::new("tags", "tag_too_long"));
        }
        out.push(t.to_string());
    }
    if out.len() > MAX_TAGS {
        return Err(Invalid::new("tags", "too_many"));
    }
    Ok(out)
}

impl MaterialInput {
    /// Trims and checks a material's fields for its kind; fields other kinds use are dropped.
    pub fn check(mut self) -> Result<Self, Invalid> {
        self.title = self.title.trim().to_string();
        self.body = self.body.trim().to_string();
        if self.title.is_empty() || self.title.chars().count() > MAX_TITLE_CHARS {
            return Err(Invalid::new("title", "length"));
        }
        if self.body.chars().count() > MAX_BODY_CHARS {
            return Err(Invalid::new("body", "too_long"));
        }
        self.tags = clean_tags(&self.tags)?;
        let mut seen = Vec::with_capacity(self.open_tag_ids.len());
        self.open_tag_ids.retain(|t| {
            let new = !seen.contains(t);
            seen.push(*t);
            new
        });
        if self.open_tag_ids.len() > MAX_OPEN_TAGS {
            return Err(Invalid::new("open_tag_ids", "too_many"));
        }
        let v = &mut self.visibility;
        v.departments.sort_unstable_by_key(|d| d.0);
        v.departments.dedup();
        v.staff.sort_unstable_by_key(|s| s.0);
        v.staff.dedup();
        if v.departments.len() + v.staff.len() > MAX_AUDIENCE {
            return Err(Invalid::new("visibility", "too_many"));
        }
        let c = std::mem::take(&mut self.content);
        let cover = match c.cover_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(u) => Some(http_url("content.cover_url", u)?),
            None => None,
        };
        self.content = match self.kind {
            MaterialKind::Text => {
                if self.body.is_empty() {
                    return Err(Invalid::new("body", "required"));
                }
                MaterialContent::default()
            }
            MaterialKind::Link => {
                let url = http_url("content.url", c.url.as_deref().unwrap_or_default())?;
                MaterialContent { url: Some(url), cover_url: cover, ..MaterialContent::default() }
            }
            MaterialKind::Miniprogram => {
                let appid = c.appid.unwrap_or_default().trim().to_string();
                let ok =
                    appid.len() == 18 && appid.starts_with("wx") && appid[2..].chars().all(|ch| ch.is_ascii_hexdigit());
                if !ok {
                    return Err(Invalid::new("content.appid", "wx_appid_needed"));
                }
                let page = c.pagepath.unwrap_or_default().trim().to_string();
                if page.is_empty() || page.len() > 512 || page.contains("://") || page.chars().any(char::is_whitespace)
                {
                    return Err(Invalid::new("content.pagepath", "page_path_needed"));
                }
                MaterialContent { appid: Some(appid), pagepath: Some(page), cover_url: cover, ..Default::default() }
            }
            MaterialKind::Poster => {
                if let Some(q) = c.qr
                    && (q.size < MIN_QR_SIDE || q.size > MAX_QR_SIDE || q.x > 16_384 || q.y > 16_384)
                {
                    return Err(Invalid::new("content.qr", "out_of_range"));
                }
                MaterialContent { qr: c.qr, ..MaterialContent::default() }
            }
            MaterialKind::Image | MaterialKind::Video | MaterialKind::File => MaterialContent::default(),
        };
        Ok(self)
    }

    /// Checks a poster's QR slot against its image's size (when both are known).
    pub fn check_slot(&self, width: Option<i64>, height: Option<i64>) -> Result<(), Invalid> {
        let (Some(q), Some(w), Some(h)) = (self.content.qr, width, height) else { return Ok(()) };
        let (w, h) = (u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0));
        if self.kind == MaterialKind::Poster && !q.fits(w, h) {
            return Err(Invalid::new("content.qr", "outside_image"));
        }
        Ok(())
    }
}

/// A folder name trimmed and checked.
pub fn folder_name(name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_FOLDER_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Invalid::new("name", "length"));
    }
    Ok(name.to_string())
}

/// What happened with a material (the usage ledger's actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageAction {
    /// A staff member sent it to a customer.
    Sent,
    /// A customer opened it (a tracked link).
    Opened,
    /// A conversion reported by another feature (orders within 7 days of the first open count by themselves).
    Converted,
}

impl UsageAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Opened => "opened",
            Self::Converted => "converted",
        }
    }
}

/// Days after a customer's first open of a material in which their order counts as its conversion.
pub const CONVERSION_DAYS: i64 = 7;

/// A folder of the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MaterialFolder {
    pub id: MaterialFolderId,
    pub parent_id: Option<MaterialFolderId>,
    pub name: String,
}

/// One version of a material's content.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MaterialVersion {
    pub version: i64,
    pub title: String,
    pub body: String,
    pub content: MaterialContent,
    pub file_name: Option<String>,
    pub mime: Option<String>,
    pub size_bytes: Option<i64>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub has_thumbnail: bool,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A material with its current version.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Material {
    pub id: MaterialId,
    pub kind: MaterialKind,
    pub folder_id: Option<MaterialFolderId>,
    pub tags: Vec<String>,
    pub visibility: MaterialVisibility,
    /// Tags given to a customer who opens one of its tracked links.
    pub open_tag_ids: Vec<TagId>,
    pub current: MaterialVersion,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests;
