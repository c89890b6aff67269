//! The material library: uploads judged by their bytes within per-kind limits, storage keys that no file
//! name can steer, thumbnails, versions and restore, visibility by department and staff, the usage ledger
//! and its statistics, and search over materials and scripts with Chinese words.

use serde_json::{Value, json};
use siyu_app::materials::thumbnail::sample_png;
use siyu_app::materials::usage::MaterialUsage;
use siyu_domain::access::{DataScope, Role};
use siyu_domain::id::{CustomerId, MaterialId, UserId};
use siyu_domain::material::UsageAction;

use crate::helpers::{TestApp, spawn_app};

/// Uploads a file material through the API: (status, body).
pub async fn upload(t: &TestApp, token: &str, meta: Value, file_name: &str, bytes: &[u8]) -> (u16, Value) {
    upload_to(t, token, "/api/v1/materials/upload", meta, file_name, bytes).await
}

async fn upload_to(t: &TestApp, token: &str, path: &str, meta: Value, file_name: &str, bytes: &[u8]) -> (u16, Value) {
    let boundary = "siyu-material-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{meta}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = reqwest::Client::new()
        .post(t.url(path))
        .bearer_auth(token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn uploads_are_judged_by_their_bytes_within_each_kinds_size_limit() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let png = sample_png(640, 480, 3);
    // A PNG named like a program is an image; its name is only kept as a display name.
    let (s, m) =
        upload(&t, &f.token, json!({"kind": "image", "title": "新品主图"}), "../../etc/passwd.exe", &png).await;
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["current"]["mime"], "image/png");
    assert_eq!(m["current"]["file_name"], "passwd.exe");
    assert_eq!((m["current"]["width"].as_i64(), m["current"]["height"].as_i64()), (Some(640), Some(480)));
    // An HTML page named .jpg, a program, and a PNG declared as a video are refused with their own codes.
    let page = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>";
    let (s, e) = upload(&t, &f.token, json!({"kind": "image", "title": "x"}), "photo.jpg", page).await;
    assert_eq!((s, e["code"].as_str()), (415, Some("material_unsupported_type")), "{e}");
    let (s, e) = upload(&t, &f.token, json!({"kind": "file", "title": "x"}), "a.pdf", b"MZ\x90\0\x03").await;
    assert_eq!((s, e["code"].as_str()), (415, Some("material_unsupported_type")), "{e}");
    let (s, e) = upload(&t, &f.token, json!({"kind": "video", "title": "x"}), "a.mp4", &png).await;
    assert_eq!((s, e["code"].as_str()), (415, Some("material_type_mismatch")), "{e}");
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let (s, e) = upload(&t, &f.token, json!({"kind": "image", "title": "x"}), "logo.png", svg).await;
    assert_eq!((s, e["code"].as_str()), (415, Some("material_unsupported_type")), "{e}");
    // A PNG whose pixels are cut off cannot be decoded.
    let (s, e) = upload(&t, &f.token, json!({"kind": "image", "title": "x"}), "a.png", &png[..60]).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("material_corrupt_image")), "{e}");
    // Over the image limit (10 MB by default).
    let mut big = png.clone();
    big.resize(10 * 1024 * 1024 + 1, 0);
    let (s, e) = upload(&t, &f.token, json!({"kind": "image", "title": "x"}), "big.png", &big).await;
    assert_eq!((s, e["code"].as_str()), (413, Some("material_too_large")), "{e}");

    // The file comes back with its sniffed type, never sniffed again, as an attachment; the thumbnail is
    // at most 320 px and stored beside it under a content key inside the blob directory.
    let id = m["id"].as_str().unwrap();
    let res = reqwest::Client::new()
        .get(t.url(&format!("/api/v1/materials/{id}/file")))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), png.as_slice());
    let res = reqwest::Client::new()
        .get(t.url(&format!("/api/v1/materials/{id}/thumbnail")))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    let thumb = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
}

#[tokio::test]
async fn editing_makes_versions_that_keep_the_old_file_and_an_old_version_can_be_restored() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (_, m) =
        upload(&t, &f.token, json!({"kind": "poster", "title": "双十一海报"}), "a.png", &sample_png(64, 64, 1)).await;
    let id = m["id"].as_str().unwrap();
    let second = sample_png(64, 64, 200);
    let (s, m2) = upload_to(
        &t,
        &f.token,
        &format!("/api/v1/materials/{id}/file"),
        json!({"kind": "poster",
        "title": "双十一海报（终版）", "content": {"qr": {"x": 10, "y": 10, "size": 40}}}),
        "b.png",
        &second,
    )
    .await;
    assert_eq!(s, 200, "{m2}");
    assert_eq!(m2["current"]["version"], 2);
    // Folder, tags and visibility change in place: no new version.
    let (s, m3) = t
        .api(
            "PUT",
            &format!("/api/v1/materials/{id}"),
            &f.token,
            Some(json!({"kind": "poster",
            "title": "双十一海报（终版）", "tags": ["大促"], "content": {"qr": {"x": 10, "y": 10, "size": 40}}})),
        )
        .await;
    assert_eq!((s, m3["current"]["version"].as_i64()), (200, Some(2)), "{m3}");
    let (_, versions) = t.api("GET", &format!("/api/v1/materials/{id}/versions"), &f.token, None).await;
    let numbers: Vec<i64> = versions.as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(numbers, vec![2, 1]);
    let (s, restored) = t.api("POST", &format!("/api/v1/materials/{id}/versions/1/restore"), &f.token, None).await;
    assert_eq!(s, 200, "{restored}");
    assert_eq!(
        (restored["current"]["version"].as_i64(), restored["current"]["title"].as_str()),
        (Some(3), Some("双十一海报"))
    );
    assert_eq!(restored["tags"], json!(["大促"]), "restoring content keeps the tags");
    let res = reqwest::Client::new()
        .get(t.url(&format!("/api/v1/materials/{id}/file?version=2")))
        .bearer_auth(&f.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap().as_ref(), second.as_slice(), "the replaced file is kept");
}

#[tokio::test]
async fn a_material_for_one_department_is_hidden_from_staff_outside_it() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let owner = t.owner_actor(&f).await;
    let sales = t.app.create_department(&owner, "销售部", None).await.unwrap();
    let east = t.app.create_department(&owner, "华东组", Some(sales.id)).await.unwrap();
    let (inside, inside_token, _) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let (_, outside_token, _) = t.member(&f, Role::Staff, DataScope::SelfOnly).await;
    let patch = siyu_app::tenancy::MemberPatch {
        display_name: None,
        role: None,
        scope: None,
        department_id: Some(Some(east.id)),
        active: None,
    };
    t.app.update_member(&owner, inside.user, patch).await.unwrap();
    let body =
        json!({"kind": "text", "title": "销售内部话术", "body": "报价口径", "visibility": {"departments": [sales.id]}});
    let (s, m) = t.api("POST", "/api/v1/materials", &f.token, Some(body)).await;
    assert_eq!(s, 201, "{m}");
    let (_, open) = t
        .api("POST", "/api/v1/materials", &f.token, Some(json!({"kind": "text", "title": "公开", "body": "欢迎"})))
        .await;
    let id = m["id"].as_str().unwrap();
    let titles = |v: &Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|i| i["current"]["title"].as_str().unwrap().to_string()).collect()
    };
    let (_, seen) = t.api("GET", "/api/v1/materials", &inside_token, None).await;
    assert_eq!(titles(&seen), vec!["公开", "销售内部话术"], "a sub-department's member sees it");
    let (_, seen) = t.api("GET", "/api/v1/materials", &outside_token, None).await;
    assert_eq!(titles(&seen), vec!["公开"]);
    let (s, _) = t.api("GET", &format!("/api/v1/materials/{id}"), &outside_token, None).await;
    assert_eq!(s, 404);
    let (_, found) = t.api("GET", "/api/v1/content-search?q=报价", &outside_token, None).await;
    assert_eq!(found["total"], 0, "{found}");
    let (_, found) = t.api("GET", "/api/v1/content-search?q=报价", &inside_token, None).await;
    assert_eq!(found["total"], 1, "{found}");
    // Staff cannot change the library.
    let (s, _) =
        t.api("DELETE", &format!("/api/v1/materials/{}", open["id"].as_str().unwrap()), &inside_token, None).await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn the_usage_ledger_counts_each_event_once_and_conversions_come_from_orders_within_7_days_of_the_first_open() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (_, m) = t
        .api(
            "POST",
            "/api/v1/materials",
            &f.token,
            Some(json!({"kind": "link", "title": "精华上新",
            "content": {"url": "https://shop.example.com/serum"}})),
        )
        .await;
    let id = MaterialId(m["id"].as_str().unwrap().parse().unwrap());
    let body = json!({"name": "小林", "identities": [{"kind": "unionid", "value": "U-mat-1"}]});
    let (_, buyer) = t.api("POST", "/api/v1/customers", &f.token, Some(body)).await;
    let (_, late) = t.api("POST", "/api/v1/customers", &f.token, Some(json!({"name": "晚到"}))).await;
    let buyer = CustomerId(buyer["id"].as_str().unwrap().parse().unwrap());
    let late = CustomerId(late["id"].as_str().unwrap().parse().unwrap());
    let staff = UserId(f.owner.id.0);
    let usage = |action, customer, key: &str, at: &str| MaterialUsage {
        material_id: id,
        action,
        user_id: Some(staff),
        customer_id: Some(customer),
        dedupe_key: key.to_string(),
        at: Some(at.parse().unwrap()),
    };
    let sent = usage(UsageAction::Sent, buyer, "send:1", "2025-05-17T00:00:00Z");
    assert!(t.app.record_material_usage(f.tenant.id, &sent).await.unwrap());
    assert!(!t.app.record_material_usage(f.tenant.id, &sent).await.unwrap(), "a retry counts once");
    for (c, key, at) in [
        (buyer, "open:1", "2025-05-18T00:00:00Z"),
        (buyer, "open:2", "2025-05-19T00:00:00Z"),
        (late, "open:3", "2025-05-01T00:00:00Z"),
    ] {
        assert!(t.app.record_material_usage(f.tenant.id, &usage(UsageAction::Opened, c, key, at)).await.unwrap());
    }
    // The buyer orders on 2025-05-20 (two days after their first open); `late` orders three weeks after theirs.
    let order = |id: &str, unionid: &str| {
        json!({"platform_order_id": id, "shop": "官方商城", "status": "paid",
        "ordered_at": "2025-05-20T20:00:00+08:00", "paid_at": "2025-05-20T20:01:00+08:00", "paid_fen": 100,
        "lines": [{"line_id": "1", "sku_id": "S", "title": "精华", "quantity": 1, "unit_price_fen": 100}],
        "buyer": {"unionid": unionid}})
    };
    let (s, o) = t.api("POST", "/api/v1/orders", &f.token, Some(order("MO-M1", "U-mat-1"))).await;
    assert_eq!(s, 201, "{o}");
    t.api(
        "POST",
        &format!("/api/v1/customers/{}/identities", late.0),
        &f.token,
        Some(json!({"kind": "unionid", "value": "U-mat-2"})),
    )
    .await;
    t.api("POST", "/api/v1/orders", &f.token, Some(order("MO-M2", "U-mat-2"))).await;
    let (s, stats) = t.api("GET", &format!("/api/v1/materials/{}/stats", id.0), &f.token, None).await;
    assert_eq!(s, 200, "{stats}");
    assert_eq!(
        stats["total"],
        json!({"user_id": null, "name": null, "sent": 1, "opened": 3, "unique_openers": 2,
        "conversions": 1})
    );
    assert_eq!(stats["by_staff"][0]["name"], "店长");
    assert_eq!(stats["by_staff"][0]["conversions"], 1);
}

#[tokio::test]
async fn chinese_search_finds_materials_and_scripts_ranks_titles_first_and_forgets_deleted_materials() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (_, folder) = t.api("POST", "/api/v1/material-folders", &f.token, Some(json!({"name": "大促"}))).await;
    let folder = folder["id"].as_str().unwrap();
    let (_, title_hit) = t
        .api(
            "POST",
            "/api/v1/materials",
            &f.token,
            Some(json!({"kind": "text", "title": "会员积分规则",
            "body": "每消费一元得一分", "tags": ["会员"], "folder_id": folder})),
        )
        .await;
    t.api(
        "POST",
        "/api/v1/materials",
        &f.token,
        Some(json!({"kind": "text", "title": "新客礼包",
        "body": "首单赠送会员积分两百分"})),
    )
    .await;
    let (_, group) =
        t.api("POST", "/api/v1/script-groups", &f.token, Some(json!({"name": "售前", "scope": "team"}))).await;
    let group = group["id"].as_str().unwrap();
    let (s, _) = t
        .api(
            "POST",
            &format!("/api/v1/script-groups/{group}/scripts"),
            &f.token,
            Some(json!({"title": "积分怎么用", "body": "会员积分可以抵现"})),
        )
        .await;
    assert_eq!(s, 201);
    // Searchable at once: every change is committed to the index as it is made.
    let (s, found) = t.api("GET", "/api/v1/content-search?q=会员积分", &f.token, None).await;
    assert_eq!(s, 200, "{found}");
    assert_eq!(found["total"], 3, "{found}");
    assert_eq!(found["hits"][0]["id"], title_hit["id"], "a title match ranks first: {found}");
    assert!(found["hits"][0]["title_html"].as_str().unwrap().contains("<mark>"), "{found}");
    let docs: Vec<&str> = found["hits"].as_array().unwrap().iter().map(|h| h["doc"].as_str().unwrap()).collect();
    assert!(docs.contains(&"script") && docs.contains(&"material"), "{found}");
    let (_, only) = t.api("GET", "/api/v1/content-search?q=会员积分&doc=script", &f.token, None).await;
    assert_eq!(only["total"], 1);
    let (_, tagged) = t.api("GET", "/api/v1/content-search?q=积分&tag=会员", &f.token, None).await;
    assert_eq!(tagged["total"], 1);
    let (_, in_folder) = t.api("GET", &format!("/api/v1/materials?q=积分&folder_id={folder}"), &f.token, None).await;
    assert_eq!(in_folder["items"].as_array().unwrap().len(), 1, "{in_folder}");
    assert!(in_folder["items"][0]["snippet_html"].is_string());
    // A deleted material leaves the index.
    let id = title_hit["id"].as_str().unwrap();
    let (s, _) = t.api("DELETE", &format!("/api/v1/materials/{id}"), &f.token, None).await;
    assert_eq!(s, 204);
    let (_, after) = t.api("GET", "/api/v1/content-search?q=会员积分&doc=material", &f.token, None).await;
    assert_eq!(after["total"], 1, "{after}");
    // A lost index is rebuilt from the database with the materials and scripts.
    t.app.search.mark_stale(f.tenant.id);
    let (_, rebuilt) = t.api("GET", "/api/v1/content-search?q=会员积分", &f.token, None).await;
    assert_eq!(rebuilt["total"], 2, "{rebuilt}");
}

#[tokio::test]
async fn the_console_library_shows_the_grid_and_a_materials_page_with_its_versions() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let (_, m) =
        upload(&t, &f.token, json!({"kind": "image", "title": "门店照片"}), "shop.png", &sample_png(50, 50, 9)).await;
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url("/console/materials")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("门店照片") && page.contains("/thumbnail"), "{page}");
    let id = m["id"].as_str().unwrap();
    let res = console.get(t.url(&format!("/console/materials/{id}"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("data-version=\"1\""), "{page}");
}

/// A multipart body of text fields and an optional file; (content type, body).
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "siyu-form-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Reads the QR code inside `(x, y, size)` of a PNG (with a few pixels of the poster around it).
pub fn qr_in(png: &[u8], x: u32, y: u32, size: u32) -> String {
    let img = image::load_from_memory(png).unwrap().into_luma8();
    let (x0, y0, side) = (x - 6, y - 6, size + 12);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(side as usize, side as usize, |px, py| {
        img.get_pixel(x0 + px as u32, y0 + py as u32).0[0]
    });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the slot");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn a_poster_is_drawn_with_the_staff_members_qr_code_of_their_tracked_link_and_cached_per_version() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let meta = json!({"kind": "poster", "title": "会员日海报", "content": {"qr": {"x": 180, "y": 380, "size": 200}}});
    let (s, m) = upload(&t, &f.token, meta, "poster.png", &sample_png(400, 600, 50)).await;
    assert_eq!(s, 201, "{m}");
    let id = m["id"].as_str().unwrap();
    let get = async |path: &str| {
        let res = reqwest::Client::new().get(t.url(path)).bearer_auth(&f.token).send().await.unwrap();
        let status = res.status().as_u16();
        let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        (status, kind, res.bytes().await.unwrap().to_vec())
    };
    let (status, kind, png) = get(&format!("/api/v1/materials/{id}/poster")).await;
    assert_eq!((status, kind.as_deref()), (200, Some("image/png")), "{}", String::from_utf8_lossy(&png));
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (400, 600), "the poster keeps its size");
    // The code is the staff member's own tracked link of the poster (no customer), minted on first use.
    let (_, links) = t.api("GET", &format!("/api/v1/links?material_id={id}"), &f.token, None).await;
    let links = links["items"].as_array().unwrap().clone();
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(
        (links[0]["staff_id"].as_str(), links[0]["customer_id"].is_null()),
        (Some(f.owner.id.to_string().as_str()), true)
    );
    let (_, link) = t.api("GET", &format!("/api/v1/links/{}", links[0]["id"].as_str().unwrap()), &f.token, None).await;
    assert_eq!(qr_in(&png, 180, 380, 200), link["short_url"].as_str().unwrap());
    // Drawn once per version and staff member: the same bytes from the blob store, no second link.
    let (_, _, again) = get(&format!("/api/v1/materials/{id}/poster")).await;
    assert_eq!(again, png);
    let (_, links) = t.api("GET", &format!("/api/v1/links?material_id={id}"), &f.token, None).await;
    assert_eq!(links["items"].as_array().unwrap().len(), 1);
    // A new version with the slot moved draws anew.
    let put = json!({"kind": "poster", "title": "会员日海报", "content": {"qr": {"x": 20, "y": 20, "size": 160}}});
    let (s, m2) = t.api("PUT", &format!("/api/v1/materials/{id}"), &f.token, Some(put)).await;
    assert_eq!((s, m2["current"]["version"].as_i64()), (200, Some(2)), "{m2}");
    let (_, _, moved) = get(&format!("/api/v1/materials/{id}/poster")).await;
    assert_eq!(qr_in(&moved, 20, 20, 160), link["short_url"].as_str().unwrap());
    // A slot outside the image is refused; a material that is not a poster has no poster.
    let outside = json!({"kind": "poster", "title": "x", "content": {"qr": {"x": 300, "y": 20, "size": 160}}});
    let (s, e) = t.api("PUT", &format!("/api/v1/materials/{id}"), &f.token, Some(outside)).await;
    assert_eq!((s, e["field"].as_str()), (400, Some("content.qr")), "{e}");
    let (_, text) =
        t.api("POST", "/api/v1/materials", &f.token, Some(json!({"kind": "text", "title": "t", "body": "b"}))).await;
    let (status, _, _) = get(&format!("/api/v1/materials/{}/poster", text["id"].as_str().unwrap())).await;
    assert_eq!(status, 400);
    // The console previews it for the signed-in member.
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url(&format!("/console/materials/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"poster-preview\"") && page.contains(&format!("/console/materials/{id}/poster")));
    let res = console.get(t.url(&format!("/console/materials/{id}/poster"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), moved);
}

#[tokio::test]
async fn the_upload_form_shows_each_kinds_own_fields_and_refuses_a_missing_one_at_that_field() {
    let t = spawn_app().await;
    let f = t.tenant("品牌").await;
    let console = t.console(&f.owner.username).await;
    let page = console.get(t.url("/console/materials")).send().await.unwrap().text().await.unwrap();
    let token = crate::helpers::csrf(&page);
    // Every field is in the page with its label (without script); each says which kinds it belongs to, but
    // the body (a text's message, every other kind's description), which belongs to all.
    for marker in [
        "<textarea name=\"body\"",
        "data-kinds=\"image video file poster\"",
        "data-kinds=\"link\"",
        "data-kinds=\"miniprogram\"",
        "data-kinds=\"link miniprogram\"",
        "data-kinds=\"poster\"",
        "name=\"qr_size\"",
        "data-kind-form",
    ] {
        assert!(page.contains(marker), "{marker}");
    }
    let post = async |fields: &[(&str, &str)], file: Option<(&str, &[u8])>| {
        let (ct, body) = multipart(fields, file);
        let res = console.post(t.url("/console/materials")).header("content-type", ct).body(body).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    // The error is shown at the field, and what was typed stays.
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("kind", "link"), ("title", "春季上新")], "content.url"),
        (&[("kind", "text"), ("title", "开场白")], "body"),
        (&[("kind", "miniprogram"), ("title", "商品卡"), ("appid", "wx12"), ("pagepath", "pages/a")], "content.appid"),
        (&[("kind", "miniprogram"), ("title", "商品卡"), ("appid", "wx0123456789abcdef")], "content.pagepath"),
        (&[("kind", "image"), ("title", "主图")], "file"),
    ];
    for (fields, field) in cases {
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        let (status, html) = post(&all, None).await;
        assert_eq!(status, 400, "{field}");
        // The one invalid field is the refused one, with its message inside it.
        let start = html.find("class=\"field invalid\"").unwrap_or_else(|| panic!("{field}: {html}"));
        let label = &html[start..start + html[start..].find("</label>").unwrap()];
        let input = format!("name=\"{}\"", field.trim_start_matches("content."));
        assert!(label.contains(&input) && label.contains("class=\"field-error\""), "{field}: {label}");
        assert!(!html.contains(&format!("data-field=\"{field}\"")), "{field}: not at the top");
        assert!(html.contains(&format!("value=\"{}\"", fields[1].1)), "the title stays");
        assert!(html.contains(&format!("<option value=\"{}\" selected>", fields[0].1)), "the kind stays");
    }
    // A poster's slot outside its image is refused at the slot.
    let png = sample_png(100, 100, 7);
    let fields = [
        ("_csrf", token.as_str()),
        ("kind", "poster"),
        ("title", "海报"),
        ("qr_x", "80"),
        ("qr_y", "0"),
        ("qr_size", "40"),
    ];
    let (status, html) = post(&fields, Some(("p.png", &png))).await;
    assert_eq!(status, 400);
    assert!(html.contains("fieldset class=\"invalid\"") && html.contains("data-code=\"invalid_input\""), "{html}");
    // Fields of other kinds are dropped: an image keeps no text and no URL.
    let fields = [
        ("_csrf", token.as_str()),
        ("kind", "image"),
        ("title", "主图"),
        ("body", "说明"),
        ("url", "https://x.example.com"),
    ];
    let (ct, body) = multipart(&fields, Some(("a.png", &png)));
    let res = console.post(t.url("/console/materials")).header("content-type", ct).body(body).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let id = res.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().to_string();
    let (_, m) = t.api("GET", &format!("/api/v1/materials/{id}"), &f.token, None).await;
    assert_eq!((m["current"]["body"].as_str(), m["current"]["content"].clone()), (Some("说明"), json!({})), "{m}");
}
