//! The live code and welcome message console pages against the fake WeCom: a code made from the form is
//! listed with its QR image and the staff it points at, a refused form keeps what was typed with the error
//! next to the field, the detail page, editing and archiving; the default welcome message with its block
//! list and a staff member's own; and another tenant's code (or staff member) is not found.

use serde_json::{Value, json};
use siyu_domain::id::LiveCodeId;
use siyu_wecom::fake::CustomerSetup;

use crate::helpers::{Fixture, TestApp, csrf};
use crate::wecom_callbacks::{CORP, connected, settle, sync};

/// A code form as the browser posts it: two staff rows, three blank ones, one schedule row, two blank ones.
fn code_form<'a>(csrf: &'a str, corp: &'a str, staff: [(&'a str, &'a str); 2]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("_csrf", csrf), ("corp", corp), ("name", "门店海报码"), ("channel", "门店海报")];
    for (userid, cap) in staff.iter().copied() {
        form.extend([("staff_userid", userid), ("staff_cap", cap)]);
    }
    for _ in 0..3 {
        form.extend([("staff_userid", ""), ("staff_cap", "")]);
    }
    form.extend([("backup", "lisi"), ("rotation", "sequential")]);
    for day in ["1", "2", "3", "4", "5", "6", "7"] {
        form.push(("slot0_day", day));
    }
    form.extend([("slot0_start", "00:00"), ("slot0_end", "23:59"), ("slot0_staff", staff[0].0)]);
    form.extend([("slot1_start", ""), ("slot1_end", ""), ("slot2_start", ""), ("slot2_end", "")]);
    form.extend([
        ("skip_verify", "1"),
        ("remark_template", "{客户昵称}-海报"),
        ("description", ""),
        ("welcome_text", "{客户昵称}您好，我是{员工姓名}"),
        (
            "welcome_attachments",
            r#"[{"msgtype": "link", "link": {"title": "新客礼包", "url": "https://shop.example.com/gift"}}]"#,
        ),
        ("welcome_v_start", ""),
        ("welcome_v_end", ""),
        ("welcome_v_text", ""),
    ]);
    form
}

async fn page(console: &reqwest::Client, t: &TestApp, path: &str) -> (u16, String) {
    let r = console.get(t.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A code made through the API in `f`'s connected corp.
async fn api_code(t: &TestApp, f: &Fixture, corp: &Value) -> String {
    let body = json!({"corp": corp["id"], "name": "包裹卡码", "channel": "包裹卡",
        "routing": {"staff": [{"userid": "lisi"}], "rotation": "round_robin"}});
    let (status, code) = t.api("POST", "/api/v1/live-codes", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{code}");
    code["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_code_made_in_the_console_is_listed_with_its_qr_and_staff_and_can_be_edited_and_archived() {
    let (t, f, fake, corp) = connected().await;
    sync(&t, &f, &corp).await;
    let corp_id = corp["id"].as_str().unwrap();
    let console = t.console(&f.owner.username).await;
    let (status, list) = page(&console, &t, "/console/live-codes").await;
    assert_eq!(status, 200);
    assert!(list.contains("还没有活码") && list.contains("href=\"/console/live-codes/new\""), "empty, with 新建活码");
    assert!(list.contains("href=\"/console/live-codes\""), "the nav link");
    let token = csrf(&list);
    let (_, new) = page(&console, &t, "/console/live-codes/new").await;
    assert!(new.contains("张三 (zhangsan)") && new.contains("李四 (lisi)"), "the corp's staff to choose from");
    assert!(new.contains("轮询") && new.contains("最少接待") && new.contains("{客户昵称}"), "rotations and variables");

    // An unknown staff member: refused next to the staff rows, what was typed kept.
    let form = code_form(&token, corp_id, [("zhangsan", ""), ("wangwu", "")]);
    let r = console.post(t.url("/console/live-codes")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("wangwu 不是已开通客户联系权限的在职员工"),
        "the inline error: {}",
        body.split("field-error").nth(1).unwrap_or("")
    );
    assert!(body.contains("class=\"field invalid\" id=\"staff-rows\""), "the staff field is marked");
    assert!(body.contains("value=\"门店海报码\"") && body.contains("value=\"门店海报\""), "name and channel kept");
    assert!(body.contains("<option value=\"wangwu\" selected>"), "the unknown userid stays chosen");
    assert!(body.contains("{客户昵称}您好，我是{员工姓名}") && body.contains("新客礼包"), "the welcome kept");
    assert!(body.contains("value=\"23:59\""), "the schedule kept");
    // A daily cap of zero.
    let form = code_form(&token, corp_id, [("zhangsan", "0"), ("lisi", "")]);
    let r = console.post(t.url("/console/live-codes")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("zhangsan 的每日上限须为至少 1 的整数") && body.contains("value=\"0\""), "{body}");
    // Attachments that are no JSON.
    let mut form = code_form(&token, corp_id, [("zhangsan", "1"), ("lisi", "")]);
    form.retain(|(k, _)| *k != "welcome_attachments");
    form.push(("welcome_attachments", "not json"));
    let r = console.post(t.url("/console/live-codes")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("附件格式不正确"));
    assert!(t.app.live_codes(&t.owner_actor(&f).await, true).await.unwrap().is_empty(), "nothing was created");

    // A good one: listed with its QR image and the staff it points at now.
    let form = code_form(&token, corp_id, [("zhangsan", "1"), ("lisi", "")]);
    let r = console.post(t.url("/console/live-codes")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let codes = t.app.live_codes(&t.owner_actor(&f).await, false).await.unwrap();
    assert_eq!(codes.len(), 1);
    let code = &codes[0].code;
    assert_eq!(to, format!("/console/live-codes/{}", code.id));
    assert_eq!(code.current, vec!["zhangsan".to_string()]);
    assert_eq!(code.def.routing.staff[0].daily_cap, Some(1));
    assert_eq!(code.def.routing.schedule.len(), 1, "blank schedule rows are ignored");
    assert_eq!(code.def.welcome.as_ref().unwrap().attachments.len(), 1);
    let qr = code.qr_code.clone().expect("the contact way's QR code");
    let (_, list) = page(&console, &t, "/console/live-codes").await;
    assert!(list.contains("门店海报码") && list.contains(&format!("src=\"{qr}\"")), "name and QR image");
    assert!(list.contains("<td class=\"current-staff\">张三</td>"), "the staff on duty now");

    let (status, detail) = page(&console, &t, &to).await;
    assert_eq!(status, 200);
    assert!(detail.contains(&format!("class=\"qr-large\" src=\"{qr}\"")), "the large QR image");
    assert!(detail.contains(&code.state) && detail.contains("近 30 天每日添加") && detail.contains("<svg"));
    assert!(detail.contains("顺序") && detail.contains("每天最多 1 人") && detail.contains("李四"), "routing");

    // A customer scans it: the add shows in the figures and the chart, and the code moved on to lisi.
    let wm = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    let config_id = code.config_id.clone().unwrap();
    assert_eq!(fake.scan_contact_way(CORP, &config_id, &wm).await.unwrap().userid, "zhangsan");
    settle(&t).await;
    let (_, detail) = page(&console, &t, &to).await;
    assert!(detail.contains("近 30 天每日添加 · 1"), "the add is in the chart");
    assert!(detail.contains("<dd class=\"current-staff\">李四</dd>"), "zhangsan reached the cap of one");

    // Editing: the form shows the code; a change is saved.
    let (status, edit) = page(&console, &t, &format!("{to}/edit")).await;
    assert_eq!(status, 200);
    assert!(edit.contains("value=\"门店海报码\"") && edit.contains("<option value=\"zhangsan\" selected>"));
    let mut form = code_form(&token, corp_id, [("zhangsan", "5"), ("lisi", "")]);
    form.retain(|(k, _)| *k != "name");
    form.push(("name", "门店海报码（新）"));
    let r = console.post(t.url(&to)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let id: LiveCodeId = code.id;
    let view = t.app.live_code(&t.owner_actor(&f).await, id).await.unwrap();
    assert_eq!((view.code.name.as_str(), view.code.def.routing.staff[0].daily_cap), ("门店海报码（新）", Some(5)));

    // Archiving: gone from the list, shown with the archived ones.
    let r = console.post(t.url(&format!("{to}/archive"))).form(&[("_csrf", token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, list) = page(&console, &t, "/console/live-codes").await;
    assert!(!list.contains("门店海报码（新）"));
    let (_, list) = page(&console, &t, "/console/live-codes?archived=1").await;
    assert!(list.contains("门店海报码（新）") && list.contains("已停用"));
    assert!(!t.app.live_code(&t.owner_actor(&f).await, id).await.unwrap().code.active);
}

#[tokio::test]
async fn the_welcome_page_saves_the_default_message_and_block_list_and_a_staff_members_own() {
    let (t, f, _fake, corp) = connected().await;
    sync(&t, &f, &corp).await;
    let console = t.console(&f.owner.username).await;
    let (status, html) = page(&console, &t, "/console/welcome").await;
    assert_eq!(status, 200);
    assert!(html.contains("默认欢迎语（全员）") && html.contains("昵称屏蔽词") && html.contains("张三 (zhangsan)"));
    let token = csrf(&html);

    let bad = [
        ("_csrf", token.as_str()),
        ("staff", ""),
        ("welcome_text", "欢迎光临"),
        ("welcome_attachments", "[{\"msgtype\": \"sticker\"}]"),
        ("block_list", "代理"),
    ];
    let r = console.post(t.url("/console/welcome")).form(&bad).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("附件格式不正确") && body.contains("欢迎光临"), "the inline error, the text kept");

    let good = [
        ("_csrf", token.as_str()),
        ("staff", ""),
        ("welcome_text", "{客户昵称}您好，欢迎光临"),
        ("welcome_attachments", ""),
        ("welcome_v_day", "6"),
        ("welcome_v_day", "7"),
        ("welcome_v_start", "22:00"),
        ("welcome_v_end", "08:00"),
        ("welcome_v_text", "已下班，明早回复您"),
        ("block_list", "代理\n\n 广告 \n"),
    ];
    let r = console.post(t.url("/console/welcome")).form(&good).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/welcome?saved=1");
    let (_, html) = page(&console, &t, "/console/welcome?saved=1").await;
    assert!(
        html.contains("已保存") && html.contains("{客户昵称}您好，欢迎光临") && html.contains("已下班，明早回复您")
    );
    assert!(html.contains(">代理\n广告</textarea>"), "the block list, one per line");
    let settings = t.app.welcome_settings(&t.owner_actor(&f).await, None).await.unwrap();
    assert_eq!(settings.block_list, vec!["代理".to_string(), "广告".to_string()]);
    assert_eq!(settings.message.variants.len(), 1);
    assert_eq!(settings.message.variants[0].weekdays, vec![6, 7]);

    // zhangsan's own message.
    let corp_id = corp["id"].as_str().unwrap().parse().unwrap();
    let staff = t.app.store.wecom().staff_by_userid(f.tenant.id, corp_id, "zhangsan").await.unwrap().unwrap();
    let user = staff.user_id.to_string();
    let (status, html) = page(&console, &t, &format!("/console/welcome?staff={user}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("员工专属欢迎语") && !html.contains("昵称屏蔽词"));
    let own = [("_csrf", token.as_str()), ("staff", user.as_str()), ("welcome_text", "我是张三，有事随时找我")];
    let r = console.post(t.url("/console/welcome")).form(&own).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&console, &t, &format!("/console/welcome?staff={user}")).await;
    assert!(html.contains("我是张三，有事随时找我"));
    let (_, html) = page(&console, &t, "/console/welcome").await;
    assert!(!html.contains("我是张三，有事随时找我"), "the default is unchanged");
}

#[tokio::test]
async fn another_tenants_code_and_staff_are_not_found() {
    let (t, b, _fake, corp) = connected().await;
    sync(&t, &b, &corp).await;
    let code = api_code(&t, &b, &corp).await;
    let corp_id = corp["id"].as_str().unwrap().parse().unwrap();
    let staff = t.app.store.wecom().staff_by_userid(b.tenant.id, corp_id, "lisi").await.unwrap().unwrap();
    let a = t.tenant("品牌A").await;
    let console = t.console(&a.owner.username).await;
    let (_, list) = page(&console, &t, "/console/live-codes").await;
    assert!(!list.contains("包裹卡码"));
    let token = csrf(&list);
    for path in [
        format!("/console/live-codes/{code}"),
        format!("/console/live-codes/{code}/edit"),
        format!("/console/welcome?staff={}", staff.user_id),
    ] {
        let (status, _) = page(&console, &t, &path).await;
        assert_eq!(status, 404, "{path}");
    }
    let corp_field = corp["id"].as_str().unwrap();
    for path in [format!("/console/live-codes/{code}"), format!("/console/live-codes/{code}/archive")] {
        let form = code_form(&token, corp_field, [("lisi", ""), ("zhangsan", "")]);
        let r = console.post(t.url(&path)).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let user = staff.user_id.to_string();
    let r = console
        .post(t.url("/console/welcome"))
        .form(&[("_csrf", token.as_str()), ("staff", user.as_str()), ("welcome_text", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Creating a code in another tenant's corp is refused as an unknown corp.
    let form = code_form(&token, corp_field, [("lisi", ""), ("zhangsan", "")]);
    let r = console.post(t.url("/console/live-codes")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("请选择已接入的企业"));
    // Tenant B's code is untouched.
    let (status, view) = t.api("GET", &format!("/api/v1/live-codes/{code}"), &b.token, None).await;
    assert_eq!((status, view["name"].as_str(), view["active"].as_bool()), (200, Some("包裹卡码"), Some(true)));
}
