//! Temporary media (临时素材, doc 90253): `POST media/upload?type=` with the file as the `multipart/form-data`
//! part named `media` (its `filename`, `filelength` and `Content-Type` given). WeCom answers a `media_id`
//! valid for three days and shared by every app of the corp; the sidebar sends images with it
//! (`sendChatMessage({msgtype: 'image', image: {mediaid}})`).
//!
//! Limits WeCom checks (every file more than 5 bytes): image 10 MB, JPG or PNG; voice 2 MB, AMR; video 10 MB,
//! MP4; file 20 MB. The client refuses what is certainly out of bounds before sending; WeCom's answers
//! (40004 invalid media, 40005 invalid type, 40006 invalid size, 40009 image too large, 40011 video too
//! large, 44001 empty) come back as [`WecomError::Api`].

use serde::{Deserialize, Deserializer, Serialize};

use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// How long WeCom keeps a temporary media, in seconds (three days).
pub const MEDIA_LIFETIME_SECS: i64 = 3 * 24 * 3600;

/// The kinds of temporary media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    Image,
    Voice,
    Video,
    File,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Voice => "voice",
            Self::Video => "video",
            Self::File => "file",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Image, Self::Voice, Self::Video, Self::File].into_iter().find(|t| t.as_str() == s)
    }

    /// The largest file WeCom takes of this type, in bytes.
    pub fn max_bytes(self) -> usize {
        match self {
            Self::Image | Self::Video => 10 << 20,
            Self::Voice => 2 << 20,
            Self::File => 20 << 20,
        }
    }
}

/// The smallest file WeCom takes is one byte more than this.
pub const MEDIA_MIN_BYTES: usize = 5;

/// What `media/upload` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadedMedia {
    /// `image`, `voice`, `video` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Valid for three days after `created_at`.
    pub media_id: String,
    /// Unix seconds (WeCom sends a string; a number is taken too).
    #[serde(deserialize_with = "seconds")]
    pub created_at: i64,
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        Some(Either::Number(n)) => n,
        Some(Either::Text(s)) => s.trim().parse().unwrap_or(0),
        None => 0,
    })
}

/// A file to upload.
#[derive(Debug, Clone, Copy)]
pub struct MediaFile<'a> {
    /// What the chat shows as the file's name (sent as the part's `filename`).
    pub file_name: &'a str,
    /// The part's `Content-Type`, e.g. `image/png`.
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// A file name safe inside a quoted `Content-Disposition` parameter: no quotes, backslashes or control
/// characters, never empty.
fn header_file_name(name: &str) -> String {
    let cleaned: String =
        name.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/')).take(100).collect();
    if cleaned.trim().is_empty() { "media".into() } else { cleaned }
}

/// The `multipart/form-data` body carrying `file` as the part `media`, and its content type (with the
/// boundary).
pub fn multipart_body(file: &MediaFile<'_>) -> (String, Vec<u8>) {
    let boundary = format!("----siyu{:032x}", rand::random::<u128>());
    let content_type = if file.content_type.is_empty() || file.content_type.contains(['\r', '\n']) {
        "application/octet-stream"
    } else {
        file.content_type
    };
    let mut body = Vec::with_capacity(file.bytes.len() + 256);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        format!(
            "Content-Disposition: form-data; name=\"media\"; filename=\"{}\"; filelength={}\r\n",
            header_file_name(file.file_name),
            file.bytes.len()
        )
        .as_bytes(),
    );
    body.extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
    body.extend_from_slice(file.bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Client {
    /// `POST media/upload?type=`: uploads `file` as a temporary media of `kind` (three days).
    pub async fn upload_media(
        &self,
        creds: &CorpCredentials,
        kind: MediaType,
        file: &MediaFile<'_>,
    ) -> Result<UploadedMedia, WecomError> {
        let len = file.bytes.len();
        if len <= MEDIA_MIN_BYTES {
            return Err(WecomError::Invalid(format!("a media file must be more than {MEDIA_MIN_BYTES} bytes")));
        }
        if len > kind.max_bytes() {
            return Err(WecomError::Invalid(format!("a {} is at most {} bytes", kind.as_str(), kind.max_bytes())));
        }
        let (content_type, body) = multipart_body(file);
        let query = [("type", kind.as_str().to_owned())];
        let uploaded: UploadedMedia = self.post_multipart(creds, "media/upload", &query, content_type, body).await?;
        if uploaded.media_id.is_empty() {
            return Err(WecomError::Decode { path: "media/upload".into(), message: "no media_id".into() });
        }
        Ok(uploaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_body_names_the_part_media_with_its_file_name_and_length() {
        let file = MediaFile { file_name: "春季\"新品\".png", content_type: "image/png", bytes: b"\x89PNGdata" };
        let (content_type, body) = multipart_body(&file);
        let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("--{boundary}\r\n")), "{text}");
        assert!(text.contains("name=\"media\"; filename=\"春季新品.png\"; filelength=8\r\n"), "{text}");
        assert!(text.contains("Content-Type: image/png\r\n\r\n"));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
    }

    #[test]
    fn created_at_is_read_as_a_string_or_a_number() {
        let a: UploadedMedia =
            serde_json::from_str(r#"{"type":"image","media_id":"m","created_at":"1380000000"}"#).unwrap();
        let b: UploadedMedia =
            serde_json::from_str(r#"{"type":"image","media_id":"m","created_at":1380000000}"#).unwrap();
        assert_eq!((a.created_at, b.created_at), (1_380_000_000, 1_380_000_000));
        assert_eq!(MediaType::parse("image"), Some(MediaType::Image));
        assert_eq!(MediaType::parse("thumb"), None);
    }
}
