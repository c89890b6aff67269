#![allow(clippy::unwrap_used)]
use super::*;

fn input(kind: MaterialKind) -> MaterialInput {
    MaterialInput {
        kind,
        title: " 新品上市 ".into(),
        body: String::new(),
        folder_id: None,
        tags: Vec::new(),
        visibility: MaterialVisibility::default(),
        content: MaterialContent::default(),
        open_tag_ids: Vec::new(),
    }
}

#[test]
fn a_png_named_like_a_program_is_still_an_image_and_an_html_page_named_jpg_is_refused() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_eq!(accept_file(MaterialKind::Image, png, &Limits::default()), Ok(Sniffed::Png));
    let page = b"<html><script>steal()</script></html>";
    assert_eq!(
        accept_file(MaterialKind::Image, page, &Limits::default()),
        Err(MaterialError::UnsupportedType { found: "html" })
    );
    assert_eq!(
        accept_file(MaterialKind::Video, png, &Limits::default()),
        Err(MaterialError::TypeMismatch { declared: "video", found: "png" })
    );
    assert_eq!(accept_file(MaterialKind::File, b"%PDF-1.4", &Limits::default()), Ok(Sniffed::Pdf));
    assert!(matches!(
        accept_file(MaterialKind::File, b"MZ\x90\0", &Limits::default()),
        Err(MaterialError::UnsupportedType { .. })
    ));
}

#[test]
fn each_kind_has_its_own_size_limit() {
    let limits = Limits { image_bytes: 16, video_bytes: 64, file_bytes: 32 };
    let png = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 9]].concat();
    assert_eq!(
        accept_file(MaterialKind::Image, &png, &limits),
        Err(MaterialError::TooLarge { kind: "image", limit_bytes: 16 })
    );
    assert_eq!(accept_file(MaterialKind::File, &png, &limits), Ok(Sniffed::Png));
}

#[test]
fn file_names_lose_their_paths_and_dangerous_characters() {
    assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
    assert_eq!(clean_file_name("..\\..\\windows\\system.ini"), "system.ini");
    assert_eq!(clean_file_name("报价\"; x=.pdf"), "报价 x=.pdf");
    assert_eq!(clean_file_name("../.."), "file");
    assert_eq!(clean_file_name(".htaccess"), "htaccess");
}

#[test]
fn links_need_an_http_url_and_mini_programs_a_wx_appid_and_page() {
    let mut link = input(MaterialKind::Link);
    assert_eq!(link.clone().check().unwrap_err().field, "content.url");
    link.content.url = Some("javascript:alert(1)".into());
    assert_eq!(link.clone().check().unwrap_err().field, "content.url");
    link.content.url = Some("https://shop.example.com/a".into());
    link.content.appid = Some("wx0123456789abcdef".into());
    let ok = link.check().unwrap();
    assert_eq!(ok.title, "新品上市");
    assert_eq!(ok.content.appid, None, "fields of other kinds are dropped");

    let mut card = input(MaterialKind::Miniprogram);
    card.content.appid = Some("wx0123".into());
    assert_eq!(card.clone().check().unwrap_err().field, "content.appid");
    card.content.appid = Some("wx0123456789abcdef".into());
    card.content.pagepath = Some("pages/item/index?id=42".into());
    assert!(card.check().is_ok());
}

#[test]
fn texts_need_a_body_and_tags_are_trimmed_and_deduplicated() {
    let mut text = input(MaterialKind::Text);
    assert_eq!(text.clone().check().unwrap_err().field, "body");
    text.body = "双十一活动".into();
    text.tags = vec![" 活动 ".into(), "活动".into(), "".into(), "新品".into()];
    assert_eq!(text.check().unwrap().tags, vec!["活动", "新品"]);
    let many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    assert_eq!(clean_tags(&many).unwrap_err().reason, "too_many");
}

#[test]
fn every_kind_keeps_its_description_and_a_poster_slot_must_lie_inside_its_image() {
    let mut image = input(MaterialKind::Image);
    image.body = "说明".into();
    assert_eq!(image.check().unwrap().body, "说明", "an image keeps its description");
    let mut link = input(MaterialKind::Link);
    link.body = "说明".into();
    link.content.url = Some("https://shop.example.com".into());
    assert_eq!(link.check().unwrap().body, "说明", "a link's body is its description");
    let mut poster = input(MaterialKind::Poster);
    poster.content.qr = Some(QrSlot { x: 10, y: 10, size: 40 });
    let poster = poster.check().unwrap();
    assert!(poster.check_slot(Some(64), Some(64)).is_ok());
    assert_eq!(poster.check_slot(Some(40), Some(64)).unwrap_err().reason, "outside_image");
    assert!(poster.check_slot(None, None).is_ok(), "unknown size: judged when the file comes");
    let mut small = input(MaterialKind::Poster);
    small.content.qr = Some(QrSlot { x: 0, y: 0, size: 8 });
    assert_eq!(small.check().unwrap_err().field, "content.qr");
}

#[test]
fn a_poster_without_a_slot_gets_one_in_its_bottom_right_corner() {
    let q = QrSlot::default_for(750, 1334);
    assert_eq!(q.size, 187);
    assert!(q.fits(750, 1334));
    assert!(q.x > 500 && q.y > 1100, "{q:?}");
    let tiny = QrSlot::default_for(20, 20);
    assert!(tiny.fits(20, 20), "{tiny:?}");
    assert!(!QrSlot { x: u32::MAX, y: 0, size: 40 }.fits(100, 100), "no overflow");
}

#[test]
fn open_tags_are_deduplicated_and_limited() {
    let mut text = input(MaterialKind::Text);
    text.body = "x".into();
    let t = TagId(uuid::Uuid::now_v7());
    text.open_tag_ids = vec![t, t];
    assert_eq!(text.clone().check().unwrap().open_tag_ids, vec![t]);
    text.open_tag_ids = (0..11).map(|_| TagId(uuid::Uuid::now_v7())).collect();
    assert_eq!(text.check().unwrap_err().field, "open_tag_ids");
}
