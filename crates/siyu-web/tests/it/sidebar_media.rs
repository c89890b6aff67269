//! Materials by WeCom media_id beyond images: a video and a file uploaded once (`media/upload?type=video|file`
//! against the fake) and sent by media_id until shortly before WeCom forgets it, the expired ids swept; a
//! material over WeCom's limits sent as the tracked link card with the reason shown to staff; and a
//! poster's tracked links landing on the poster drawn for the link's staff member.

use std::sync::Arc;

use serde_json::json;
use siyu_app::clock::ManualClock;
use siyu_app::materials::thumbnail::sample_png;
use siyu_domain::id::MaterialId;

use crate::helpers::test_settings;
use crate::sidebar::{World, corp_id, get, json_post, sign_in, world, world_on};
use crate::wecom_callbacks::CORP;

/// An MP4 (an ISO media file of brand `mp42`) of `len` bytes.
fn mp4(len: usize) -> Vec<u8> {
    let mut bytes = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    bytes.resize(len, 7);
    bytes
}

/// A PDF of `len` bytes.
fn pdf(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.resize(len, b' ');
    bytes
}

async fn material(w: &World, kind: &str, title: &str, file_name: &str, bytes: &[u8]) -> String {
    let meta = json!({"kind": kind, "title": title});
    let (status, m) = crate::materials::upload(&w.t, &w.f.token, meta, file_name, bytes).await;
    assert_eq!(status, 201, "{m}");
    m["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_video_is_uploaded_once_sent_by_its_media_id_while_valid_and_swept_once_expired() {
    let clock = ManualClock::new(chrono::Utc::now());
    let w = world_on(test_settings(), Arc::new(clock.clone())).await;
    let video = mp4(64 * 1024);
    let id = material(&w, "video", "开箱视频", "开箱.mp4", &video).await;
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let (_, tab) = get(&b, &w, &format!("/sidebar/materials?customer={}", w.mine.0)).await;
    assert!(tab.contains("以视频发送"), "{tab}");

    let ask = json!({"customer_id": w.mine.0, "material_id": id});
    let (status, message) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask.clone()).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["msgtype"], "video", "{message}");
    assert!(message.get("fallback").is_none(), "{message}");
    let first = message["video"]["mediaid"].as_str().unwrap().to_owned();
    let media = w.fake.media(CORP, &first).unwrap().expect("uploaded to WeCom");
    assert_eq!((media.kind.as_str(), media.file_name.as_str()), ("video", "开箱.mp4"));
    assert_eq!(media.bytes, video);
    // A second send within the media's validity reuses it.
    let (_, again) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask.clone()).await;
    assert_eq!(again["video"]["mediaid"], first.as_str());
    assert_eq!(w.fake.calls("media/upload"), 1);

    // Three days later WeCom forgot it: the sweep deletes the row (of every tenant) and the next send uploads
    // again.
    let (tenant, corp, material) = (w.f.tenant.id, corp_id(&w), MaterialId(id.parse().unwrap()));
    let later = chrono::Duration::days(3) + chrono::Duration::minutes(1);
    clock.advance(later);
    w.fake.clock().advance(later.num_seconds());
    assert!(w.t.app.store.wecom().cached_media(tenant, corp, material, 1, "").await.unwrap().is_some());
    assert_eq!(w.t.app.sweep_wecom_media().await.unwrap(), 1);
    assert_eq!(w.t.app.store.wecom().cached_media(tenant, corp, material, 1, "").await.unwrap(), None);
    assert_eq!(w.t.app.sweep_wecom_media().await.unwrap(), 0);
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let (_, message) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask).await;
    let second = message["video"]["mediaid"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(w.fake.calls("media/upload"), 2);
    let cached = w.t.app.store.wecom().cached_media(tenant, corp, material, 1, "").await.unwrap().unwrap();
    assert_eq!((cached.media_type.as_str(), cached.media_id.as_str()), ("video", second.as_str()));
}

#[tokio::test]
async fn a_file_goes_as_a_file_and_one_over_wecoms_limit_as_the_link_card_with_the_reason_shown() {
    let mut settings = test_settings();
    // The library takes files up to 30 MB here; WeCom takes 20 MB.
    settings.materials.file_max_bytes = 30 << 20;
    let clock = ManualClock::new(chrono::Utc::now());
    let w = world_on(settings, Arc::new(clock)).await;
    let small = pdf(2048);
    let price = material(&w, "file", "价目表", "价目表.pdf", &small).await;
    let big = material(&w, "file", "全年画册", "画册.pdf", &pdf((20 << 20) + 1)).await;
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let (_, tab) = get(&b, &w, &format!("/sidebar/materials?customer={}", w.mine.0)).await;
    assert!(tab.contains("以文件发送"), "{tab}");
    assert!(tab.contains("class=\"sb-how warn\">文件超过企业微信 20 MB 的上限，改为发送追踪链接<"), "{tab}");

    let ask = json!({"customer_id": w.mine.0, "material_id": price});
    let (status, message) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask).await;
    assert_eq!((status, message["msgtype"].as_str()), (200, Some("file")), "{message}");
    let media = w.fake.media(CORP, message["file"]["mediaid"].as_str().unwrap()).unwrap().unwrap();
    assert_eq!((media.kind.as_str(), media.file_name.as_str()), ("file", "价目表.pdf"));
    assert_eq!(media.bytes, small);
    assert_eq!(w.fake.calls("media/upload"), 1);

    // Over WeCom's 20 MB: never uploaded, the news card with the tracked link, and why.
    let ask = json!({"customer_id": w.mine.0, "material_id": big});
    let (status, message) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask).await;
    assert_eq!((status, message["msgtype"].as_str()), (200, Some("news")), "{message}");
    assert!(message["news"]["link"].as_str().unwrap().contains("/l/"), "{message}");
    assert_eq!(message["fallback"]["reason"], "too_large");
    assert_eq!(message["fallback"]["text"], "文件超过企业微信 20 MB 的上限，改为发送追踪链接");
    assert_eq!(w.fake.calls("media/upload"), 1, "nothing more went to WeCom");
}

#[tokio::test]
async fn a_poster_links_landing_page_shows_the_poster_drawn_for_the_links_staff_member() {
    let w = world().await;
    let plain = sample_png(400, 600, 9);
    let meta = json!({"kind": "poster", "title": "会员日海报", "content": {"qr": {"x": 180, "y": 380, "size": 200}}});
    let (status, poster) = crate::materials::upload(&w.t, &w.f.token, meta, "poster.png", &plain).await;
    assert_eq!(status, 201, "{poster}");
    let poster = poster["id"].as_str().unwrap().to_owned();
    // zhangsan sends the poster from the sidebar: drawn with his QR code and uploaded.
    let (b, csrf) = sign_in(&w, "zhangsan").await;
    let ask = json!({"customer_id": w.mine.0, "material_id": poster});
    let (_, message) = json_post(&b, &w, "/sidebar/materials/message", &csrf, ask).await;
    let sent = w.fake.media(CORP, message["image"]["mediaid"].as_str().unwrap()).unwrap().unwrap().bytes;
    let (_, links) = w.t.api("GET", &format!("/api/v1/links?material_id={poster}"), &w.f.token, None).await;
    let own = links["items"][0].clone();
    let (_, detail) = w.t.api("GET", &format!("/api/v1/links/{}", own["id"].as_str().unwrap()), &w.f.token, None).await;
    let own_url = detail["short_url"].as_str().unwrap().to_owned();
    let file_of = async |code: &str| {
        let page = reqwest::get(w.t.url(&format!("/l/{code}"))).await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("<img class=\"landing-image\" src=\"/l/{code}/file\"")), "{page}");
        let res = reqwest::get(w.t.url(&format!("/l/{code}/file"))).await.unwrap();
        assert_eq!(res.headers()["content-type"], "image/png");
        res.bytes().await.unwrap().to_vec()
    };

    // Scanning his code opens his link: the page shows the very poster the sidebar sent, his link in its slot.
    let shown = file_of(own["code"].as_str().unwrap()).await;
    assert_eq!(shown, sent, "the drawn poster from the same cache");
    assert_eq!(crate::materials::qr_in(&shown, 180, 380, 200), own_url);
    // His link for one customer shows the same poster (his own code, not the customer's link).
    let zhangsan = own["staff_id"].clone();
    let body = json!({"material_id": poster, "staff_id": zhangsan, "customer_id": w.mine.0});
    let (status, customer_link) = w.t.api("POST", "/api/v1/links", &w.f.token, Some(body)).await;
    assert_eq!(status, 201, "{customer_link}");
    assert_eq!(file_of(customer_link["code"].as_str().unwrap()).await, sent);

    // lisi never drew or shared the poster: he has no code, so his customer's link shows it plain.
    let lisi = w.t.app.store.wecom().staff_by_userid(w.f.tenant.id, corp_id(&w), "lisi").await.unwrap().unwrap();
    let body = json!({"material_id": poster, "staff_id": lisi.user_id, "customer_id": w.theirs.0});
    let (status, theirs) = w.t.api("POST", "/api/v1/links", &w.f.token, Some(body)).await;
    assert_eq!(status, 201, "{theirs}");
    assert_eq!(file_of(theirs["code"].as_str().unwrap()).await, plain);
    // Once lisi has his own link of the poster, his customer's page shows the poster drawn with his code.
    let body = json!({"material_id": poster, "staff_id": lisi.user_id});
    let (_, lisi_own) = w.t.api("POST", "/api/v1/links", &w.f.token, Some(body)).await;
    let drawn = file_of(theirs["code"].as_str().unwrap()).await;
    assert_eq!(crate::materials::qr_in(&drawn, 180, 380, 200), lisi_own["short_url"].as_str().unwrap());
    // The thumbnail stays the plain poster's.
    let res = reqwest::get(w.t.url(&format!("/l/{}/file?thumb=true", own["code"].as_str().unwrap()))).await.unwrap();
    assert_ne!(res.bytes().await.unwrap().to_vec(), sent);
}
