//! Group live codes against the fake WeCom: the code is a join way holding its groups; members scanning it
//! are attributed by its `state`; a group reaching the threshold rolls out and the next reserve group takes its
//! place (seen in WeCom's join way); a full group takes no more joins; an empty reserve warns; group welcome
//! templates round-trip through WeCom; the console pages.

use serde_json::{Value, json};
use siyu_wecom::fake::{CustomerSetup, FakeConfig, FakeHandle};

use crate::helpers::{Fixture, TestApp, csrf, spawn_app};
use crate::wecom_callbacks::{CORP, connect, connected, customer_of, settle, start_fake, sync};

/// Two groups of zhangsan's (only the owner in each), synced.
async fn two_groups(t: &TestApp, f: &Fixture, fake: &FakeHandle, corp: &Value) -> (String, String) {
    let a = fake.create_group(CORP, "zhangsan", "会员群1", &[]).await.unwrap().chat_id;
    let b = fake.create_group(CORP, "zhangsan", "会员群2", &[]).await.unwrap().chat_id;
    sync(t, f, corp).await;
    settle(t).await;
    (a, b)
}

async fn create_code(t: &TestApp, f: &Fixture, body: Value) -> Value {
    let (status, code) = t.api("POST", "/api/v1/group-codes", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{code}");
    code
}

async fn get_code(t: &TestApp, f: &Fixture, code: &Value) -> Value {
    let (status, view) =
        t.api("GET", &format!("/api/v1/group-codes/{}", code["id"].as_str().unwrap()), &f.token, None).await;
    assert_eq!(status, 200, "{view}");
    view
}

fn chats_in_wecom(fake: &FakeHandle, code: &Value) -> Value {
    let way = fake.join_way(CORP, code["config_id"].as_str().unwrap()).unwrap().unwrap();
    way["chat_id_list"].clone()
}

async fn scan(fake: &FakeHandle, code: &Value, name: &str) -> Result<String, String> {
    let wm = fake.add_customer(CORP, CustomerSetup::named(name)).unwrap();
    let config_id = code["config_id"].as_str().unwrap();
    fake.scan_join_way(CORP, config_id, &wm).await.map(|j| j.chat_id).map_err(|e| e.to_string())?;
    Ok(wm)
}

#[tokio::test]
async fn creating_a_group_code_creates_the_join_way_and_a_member_joining_through_it_is_attributed() {
    let (t, f, fake, corp) = connected().await;
    let (a, b) = two_groups(&t, &f, &fake, &corp).await;
    let code = create_code(
        &t,
        &f,
        json!({"corp": corp["id"], "name": "会员群码", "channel": "包裹卡",
        "groups": [a], "reserve": [b]}),
    )
    .await;
    assert_eq!(chats_in_wecom(&fake, &code), json!([a]));
    let way = fake.join_way(CORP, code["config_id"].as_str().unwrap()).unwrap().unwrap();
    assert_eq!((way["scene"].as_i64(), way["state"].as_str()), (Some(2), code["state"].as_str()));
    assert_eq!(way["auto_create_room"], 0);
    assert!(code["qr_code"].as_str().unwrap().starts_with("https://"), "{code}");
    assert_eq!((code["threshold"].as_i64(), code["needs_groups"].as_bool()), (Some(190), Some(false)));

    let wm = scan(&fake, &code, "王女士").await.unwrap();
    settle(&t).await;
    let view = get_code(&t, &f, &code).await;
    assert_eq!(view["stats"]["joins"], 1, "{view}");
    assert_eq!(view["stats"]["customers"], 1);
    assert_eq!(view["stats"]["stayed"], 1);
    let group_a = view["groups"].as_array().unwrap().iter().find(|g| g["chat_id"] == a.as_str()).unwrap();
    assert_eq!(
        (group_a["joins"].as_i64(), group_a["members"].as_i64(), group_a["role"].as_str()),
        (Some(1), Some(2), Some("active"))
    );
    // The member is our customer, and the group's member row carries the code's state.
    assert!(customer_of(&t, &f, &wm).await.is_some());
    let gid = group_a["group_id"].as_str().unwrap();
    let (_, group) = t.api("GET", &format!("/api/v1/groups/{gid}"), &f.token, None).await;
    let member = group["members"].as_array().unwrap().iter().find(|m| m["member_key"] == wm.as_str()).unwrap();
    assert_eq!((member["join_scene"].as_i64(), member["state"].as_str()), (Some(3), code["state"].as_str()));
    // WeCom repeating the callback counts nobody twice; leaving is counted.
    settle(&t).await;
    fake.leave_group(CORP, &a, &wm, 0).await.unwrap();
    settle(&t).await;
    let view = get_code(&t, &f, &code).await;
    assert_eq!((view["stats"]["joins"].as_i64(), view["stats"]["leaves"].as_i64()), (Some(1), Some(1)), "{view}");
    assert_eq!(view["stats"]["stayed"], 0);
}

#[tokio::test]
async fn when_the_active_group_reaches_the_threshold_the_code_rolls_over_and_a_full_group_takes_no_more_joins() {
    let config = FakeConfig { start_time: chrono::Utc::now().timestamp(), join_scan_cap: 5, ..FakeConfig::default() };
    let fake = start_fake(config).await;
    let t = spawn_app().await;
    let (f, corp) = connect(&t, &fake).await;
    let (a, b) = two_groups(&t, &f, &fake, &corp).await;
    let code = create_code(
        &t,
        &f,
        json!({"corp": corp["id"], "name": "快闪群码", "groups": [a], "reserve": [b],
        "threshold": 3}),
    )
    .await;
    // The owner and two members: group A is at the threshold and leaves the join way for B.
    for name in ["甲", "乙"] {
        scan(&fake, &code, name).await.unwrap();
        settle(&t).await;
    }
    assert_eq!(chats_in_wecom(&fake, &code), json!([b]), "rolled over in WeCom");
    let view = get_code(&t, &f, &code).await;
    assert_eq!((view["chat_ids"].clone(), view["filled"].clone()), (json!([b]), json!([a])));
    assert_eq!(view["needs_groups"], false);
    // The next joins go to B; A stays at three.
    scan(&fake, &code, "丙").await.unwrap();
    settle(&t).await;
    scan(&fake, &code, "丁").await.unwrap();
    settle(&t).await;
    let view = get_code(&t, &f, &code).await;
    let members = |chat: &str| {
        view["groups"].as_array().unwrap().iter().find(|g| g["chat_id"] == chat).unwrap()["members"].as_i64()
    };
    assert_eq!((members(&a), members(&b)), (Some(3), Some(3)));
    // B reached the threshold with no reserve left: it stays in (a join way needs a group), the code warns.
    assert_eq!(chats_in_wecom(&fake, &code), json!([b]));
    assert_eq!(view["needs_groups"], true, "{view}");
    assert_eq!(view["stats"]["joins"], 4);
    // B fills to WeCom's scan cap of five; then the QR code takes nobody (auto_create_room is off).
    for name in ["戊", "己"] {
        scan(&fake, &code, name).await.unwrap();
    }
    let refused = scan(&fake, &code, "庚").await.unwrap_err();
    assert!(refused.contains("full"), "{refused}");
    settle(&t).await;
    // Nothing changes at the sweep; a new reserve group makes the code whole again.
    assert_eq!(t.app.rotate_group_codes().await.unwrap(), 0);
    let c = fake.create_group(CORP, "lisi", "会员群3", &[]).await.unwrap().chat_id;
    settle(&t).await;
    let body = json!({"corp": corp["id"], "name": "快闪群码", "groups": [b], "reserve": [c], "threshold": 3});
    let (status, view) =
        t.api("PUT", &format!("/api/v1/group-codes/{}", code["id"].as_str().unwrap()), &f.token, Some(body)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!((view["chat_ids"].clone(), view["needs_groups"].clone()), (json!([c]), json!(false)));
    assert_eq!(chats_in_wecom(&fake, &code), json!([c]));
    // A dismissed group leaves the code at the next sweep.
    fake.dismiss_group(CORP, &c).await.unwrap();
    settle(&t).await;
    t.app.rotate_group_codes().await.unwrap();
    let view = get_code(&t, &f, &code).await;
    assert_eq!(view["needs_groups"], true);
}

#[tokio::test]
async fn a_group_welcome_template_round_trips_through_wecom_and_a_code_names_it() {
    let (t, f, fake, corp) = connected().await;
    let (a, _) = two_groups(&t, &f, &fake, &corp).await;
    let link = json!({"msgtype": "link", "link": {"title": "入群礼", "url": "https://shop.example.com/gift"}});
    let body = json!({"corp": corp["id"], "name": "新人欢迎", "text": "欢迎%NICKNAME%入群", "attachment": link});
    let (status, w) = t.api("POST", "/api/v1/group-welcome-templates", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{w}");
    let tid = w["template_id"].as_str().unwrap().to_owned();
    let stored = fake.group_welcome_template(CORP, &tid).unwrap().unwrap();
    assert_eq!(stored["text"]["content"], "欢迎%NICKNAME%入群");
    assert_eq!((stored["link"]["title"].as_str(), stored["notify"].as_i64()), (Some("入群礼"), Some(1)));
    let id = w["id"].as_str().unwrap();
    let image = json!({"msgtype": "image", "image": {"pic_url": "https://img.example.com/a.png"}});
    let body = json!({"corp": corp["id"], "name": "新人欢迎", "text": "你好", "attachment": image});
    let (status, w) = t.api("PUT", &format!("/api/v1/group-welcome-templates/{id}"), &f.token, Some(body)).await;
    assert_eq!(status, 200, "{w}");
    let stored = fake.group_welcome_template(CORP, &tid).unwrap().unwrap();
    assert_eq!((stored["text"]["content"].as_str(), stored.get("link").is_none()), (Some("你好"), true));
    assert_eq!(stored["image"]["pic_url"], "https://img.example.com/a.png");
    // A video is not an attachment a group welcome takes here; nothing at all is refused too.
    let video = json!({"msgtype": "video", "video": {"media_id": "V"}});
    let body = json!({"corp": corp["id"], "name": "x", "attachment": video});
    let (status, e) = t.api("POST", "/api/v1/group-welcome-templates", &f.token, Some(body)).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("attachment")), "{e}");
    let (status, e) = t
        .api("POST", "/api/v1/group-welcome-templates", &f.token, Some(json!({"corp": corp["id"], "name": "x"})))
        .await;
    assert_eq!((status, e["field"].as_str()), (400, Some("text")), "{e}");
    // A code names the template.
    let code =
        create_code(&t, &f, json!({"corp": corp["id"], "name": "群码", "groups": [a], "welcome_template": id})).await;
    assert_eq!(code["welcome_template"], id);
    let (status, _) = t.api("DELETE", &format!("/api/v1/group-welcome-templates/{id}"), &f.token, None).await;
    assert_eq!(status, 204);
    assert!(fake.group_welcome_template(CORP, &tid).unwrap().is_none());
    let (status, _) = t.api("GET", &format!("/api/v1/group-welcome-templates/{id}"), &f.token, None).await;
    assert_eq!(status, 404);
}

async fn page(console: &reqwest::Client, t: &TestApp, path: &str) -> (u16, String) {
    let r = console.get(t.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_console_pages_render_the_codes_with_fill_bars_and_forms_show_inline_errors() {
    let (t, f, fake, corp) = connected().await;
    let (a, b) = two_groups(&t, &f, &fake, &corp).await;
    let corp_id = corp["id"].as_str().unwrap();
    let console = t.console(&f.owner.username).await;
    let (status, list) = page(&console, &t, "/console/wecom/group-codes").await;
    assert_eq!(status, 200);
    assert!(list.contains("还没有群活码") && list.contains("href=\"/console/wecom/group-codes\""), "empty, nav link");
    let token = csrf(&list);
    let (_, new) = page(&console, &t, "/console/wecom/group-codes/new").await;
    assert!(new.contains("会员群1") && new.contains(&format!("value=\"{a}\"")), "the group picker");
    // No group chosen: refused next to the picker, what was typed kept.
    let form = [
        ("_csrf", token.as_str()),
        ("corp", corp_id),
        ("name", "门店群码"),
        ("threshold", "190"),
        ("rollover", "1"),
        ("group_chat", a.as_str()),
        ("group_role", ""),
        ("group_order", ""),
        ("group_chat", b.as_str()),
        ("group_role", ""),
        ("group_order", ""),
    ];
    let r = console.post(t.url("/console/wecom/group-codes")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("请选择 1–5 个已同步且未解散的群"), "{}", body.split("field-error").nth(1).unwrap_or(""));
    assert!(body.contains("value=\"门店群码\""));
    // A threshold past the cap.
    let form = [
        ("_csrf", token.as_str()),
        ("corp", corp_id),
        ("name", "门店群码"),
        ("threshold", "300"),
        ("group_chat", a.as_str()),
        ("group_role", "active"),
        ("group_order", "1"),
    ];
    let r = console.post(t.url("/console/wecom/group-codes")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("换群人数须为 1–200 的整数"));
    // A valid code: to its page, with the QR code URL, then listed with a fill bar per group.
    let form = [
        ("_csrf", token.as_str()),
        ("corp", corp_id),
        ("name", "门店群码"),
        ("threshold", "190"),
        ("rollover", "1"),
        ("group_chat", a.as_str()),
        ("group_role", "active"),
        ("group_order", "1"),
        ("group_chat", b.as_str()),
        ("group_role", "reserve"),
        ("group_order", "1"),
    ];
    let r = console.post(t.url("/console/wecom/group-codes")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let (status, detail) = page(&console, &t, &location).await;
    assert_eq!(status, 200);
    assert!(detail.contains("id=\"qr-url\">https://"), "the QR code URL");
    assert!(detail.contains("data-role=\"active\"") && detail.contains("data-role=\"reserve\""));
    let (_, edit) = page(&console, &t, &format!("{location}/edit")).await;
    assert!(edit.contains("<option value=\"active\" selected>"));
    let (_, list) = page(&console, &t, "/console/wecom/group-codes").await;
    assert!(list.contains("门店群码") && list.contains("data-chat-fill=\"1\"") && list.contains("1/190"), "{list}");
    // Group welcome templates: the list, a refused form, a saved one.
    let (status, welcomes) = page(&console, &t, "/console/wecom/group-welcome").await;
    assert_eq!(status, 200);
    assert!(welcomes.contains("还没有入群欢迎语"));
    let (status, _) = page(&console, &t, "/console/wecom/group-welcome/new").await;
    assert_eq!(status, 200);
    let form = [
        ("_csrf", token.as_str()),
        ("corp", corp_id),
        ("name", "欢迎"),
        ("text", ""),
        ("kind", "link"),
        ("title", "入群礼"),
        ("url", ""),
    ];
    let r = console.post(t.url("/console/wecom/group-welcome")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("class=\"field invalid\"") && body.contains("value=\"入群礼\""), "the url field is marked");
    let form = [
        ("_csrf", token.as_str()),
        ("corp", corp_id),
        ("name", "欢迎"),
        ("text", "欢迎%NICKNAME%"),
        ("kind", ""),
        ("notify", "1"),
    ];
    let r = console.post(t.url("/console/wecom/group-welcome")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, welcomes) = page(&console, &t, "/console/wecom/group-welcome").await;
    assert!(welcomes.contains("欢迎%NICKNAME%") && welcomes.contains(">msg"), "listed with WeCom's template id");
}
