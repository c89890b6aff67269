//! Temporary media (`media/upload`): the client's multipart upload of images, videos and files against the
//! fake (the contract), and the fake's errcodes for a wrong type, name, content or size.

use std::sync::Arc;

use super::*;
use crate::api::{MediaFile, MediaType, multipart_body};
use crate::limiter::{LocalLimiter, Quota};
use crate::{Client, ClientConfig, CorpCredentials, WecomError};

/// The smallest PNG (a 1×1 transparent pixel).
pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";

fn client(h: &Harness) -> (Client, CorpCredentials) {
    let config = ClientConfig { base_url: h.fake.base_url(), ..ClientConfig::default() };
    let client = Client::new(config, Arc::new(LocalLimiter::new(Quota::default()))).unwrap();
    let creds = CorpCredentials { corp_id: CORP.into(), secret: "app-secret".into(), agent_id: Some(1000002) };
    (client, creds)
}

/// Posts `bytes` as the multipart part `part` to `media/upload?type=kind` with the harness's token.
async fn raw_upload(h: &Harness, kind: &str, part: &str, file_name: &str, bytes: &[u8]) -> Value {
    let file = MediaFile { file_name, content_type: "application/octet-stream", bytes };
    let (content_type, mut body) = multipart_body(&file);
    if part != "media" {
        let text = String::from_utf8_lossy(&body).replacen("name=\"media\"", &format!("name=\"{part}\""), 1);
        body = text.into_bytes();
    }
    let url = format!("{}media/upload", h.fake.base_url());
    let token = h.fresh_token().await;
    let response = h
        .http
        .post(url)
        .query(&[("access_token", token.as_str()), ("type", kind)])
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_client_uploads_an_image_as_multipart_and_its_media_id_lives_three_days() {
    let h = Harness::start(FakeConfig::default()).await;
    let (client, creds) = client(&h);
    let file = MediaFile { file_name: "春季新品.png", content_type: "image/png", bytes: PNG };
    let uploaded = client.upload_media(&creds, MediaType::Image, &file).await.unwrap();
    assert_eq!(uploaded.kind, "image");
    assert_eq!(uploaded.created_at, h.fake.clock().now());
    let stored = h.fake.media(CORP, &uploaded.media_id).unwrap().expect("the fake keeps the media");
    assert_eq!((stored.file_name.as_str(), stored.bytes.as_slice()), ("春季新品.png", PNG));
    assert_eq!(stored.content_type.as_deref(), Some("image/png"));
    let logged = h.fake.requests().into_iter().rfind(|r| r.path == "media/upload").unwrap();
    assert_eq!(logged.query["type"], "image");
    assert_eq!(logged.body["media"]["size"], PNG.len());
    assert_eq!(logged.errcode, 0);

    h.fake.clock().advance(3 * 24 * 3600 - 1);
    assert!(h.fake.media(CORP, &uploaded.media_id).unwrap().is_some());
    h.fake.clock().advance(1);
    assert!(h.fake.media(CORP, &uploaded.media_id).unwrap().is_none(), "gone after three days");
}

#[tokio::test]
async fn uploads_of_a_wrong_type_name_content_or_size_get_wecoms_errcodes() {
    let h = Harness::start(FakeConfig::default()).await;
    assert_eq!(errcode(&raw_upload(&h, "thumb", "media", "a.png", PNG).await), 40005, "not a media type");
    assert_eq!(errcode(&raw_upload(&h, "image", "file", "a.png", PNG).await), 41005, "no part named media");
    assert_eq!(errcode(&raw_upload(&h, "image", "media", "a.png", b"").await), 44001, "empty");
    assert_eq!(errcode(&raw_upload(&h, "image", "media", "a.png", b"\x89PNG").await), 40006, "5 bytes or fewer");
    assert_eq!(errcode(&raw_upload(&h, "image", "media", "a.gif", PNG).await), 40005, "a name not of the type");
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    assert_eq!(errcode(&raw_upload(&h, "image", "media", "a.png", gif).await), 40004, "not a JPG or PNG");
    let mut big = PNG.to_vec();
    big.resize((10 << 20) + 1, 0);
    assert_eq!(errcode(&raw_upload(&h, "image", "media", "big.png", &big).await), 40009, "an image over 10 MB");
    let mut video = b"\0\0\0\x18ftypmp42".to_vec();
    video.resize((10 << 20) + 1, 0);
    assert_eq!(errcode(&raw_upload(&h, "video", "media", "big.mp4", &video).await), 40011, "a video over 10 MB");
    assert_eq!(errcode(&raw_upload(&h, "file", "media", "report.pdf", b"%PDF-1.4 ...").await), 0);
    let mut exact = PNG.to_vec();
    exact.resize(10 << 20, 0);
    assert_eq!(errcode(&raw_upload(&h, "image", "media", "exact.png", &exact).await), 0, "10 MB is allowed");
}

#[tokio::test]
async fn videos_must_be_mp4_of_at_most_10_mb_and_files_of_any_type_at_most_20_mb() {
    let h = Harness::start(FakeConfig::default()).await;
    let (client, creds) = client(&h);
    let mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    let file = MediaFile { file_name: "开箱.mp4", content_type: "video/mp4", bytes: &mp4 };
    let uploaded = client.upload_media(&creds, MediaType::Video, &file).await.unwrap();
    assert_eq!(uploaded.kind, "video");
    let stored = h.fake.media(CORP, &uploaded.media_id).unwrap().unwrap();
    assert_eq!((stored.kind.as_str(), stored.file_name.as_str()), ("video", "开箱.mp4"));
    assert_eq!(errcode(&raw_upload(&h, "video", "media", "clip.mov", &mp4).await), 40005, "a name not .mp4");
    let mov = b"\0\0\0\x14ftypqt  \0\0\x02\0".to_vec();
    assert_eq!(errcode(&raw_upload(&h, "video", "media", "clip.mp4", &mov).await), 40004, "QuickTime is no MP4");
    let mut exact = mp4.clone();
    exact.resize(10 << 20, 0);
    assert_eq!(errcode(&raw_upload(&h, "video", "media", "exact.mp4", &exact).await), 0, "10 MB is allowed");

    let doc = MediaFile { file_name: "价目表.xlsx", content_type: "application/zip", bytes: b"PK\x03\x04 sheet" };
    let uploaded = client.upload_media(&creds, MediaType::File, &doc).await.unwrap();
    assert_eq!(h.fake.media(CORP, &uploaded.media_id).unwrap().unwrap().file_name, "价目表.xlsx");
    let mut big = vec![b'x'; 20 << 20];
    assert_eq!(errcode(&raw_upload(&h, "file", "media", "big.bin", &big).await), 0, "20 MB is allowed");
    big.push(b'x');
    assert_eq!(errcode(&raw_upload(&h, "file", "media", "big.bin", &big).await), 40006, "a file over 20 MB");
    let over = MediaFile { file_name: "big.bin", content_type: "application/octet-stream", bytes: &big };
    let refused = client.upload_media(&creds, MediaType::File, &over).await.unwrap_err();
    assert!(matches!(refused, WecomError::Invalid(_)), "the client refuses it before calling: {refused}");
}

#[tokio::test]
async fn the_client_refuses_a_file_out_of_bounds_before_calling_and_reports_wecoms_errcode() {
    let h = Harness::start(FakeConfig::default()).await;
    let (client, creds) = client(&h);
    let mut big = PNG.to_vec();
    big.resize((10 << 20) + 1, 0);
    let file = MediaFile { file_name: "big.png", content_type: "image/png", bytes: &big };
    let refused = client.upload_media(&creds, MediaType::Image, &file).await.unwrap_err();
    assert!(matches!(refused, WecomError::Invalid(_)), "{refused}");
    let tiny = MediaFile { file_name: "a.png", content_type: "image/png", bytes: b"abc" };
    assert!(matches!(client.upload_media(&creds, MediaType::Image, &tiny).await, Err(WecomError::Invalid(_))));
    assert_eq!(h.fake.calls("media/upload"), 0, "nothing was sent");
    let gif = MediaFile { file_name: "a.png", content_type: "image/gif", bytes: b"GIF89a\x01\x00\x01\x00;" };
    let error = client.upload_media(&creds, MediaType::Image, &gif).await.unwrap_err();
    assert!(matches!(error, WecomError::Api { errcode: 40004, .. }), "{error}");
    assert_eq!(error.class(), crate::ErrorClass::InvalidInput, "no retry");
    assert_eq!(h.fake.calls("media/upload"), 1);
}
