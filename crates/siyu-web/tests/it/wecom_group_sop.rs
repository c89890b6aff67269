//! Group tags, group kinds and group SOP calendars against the fake WeCom: a flash-sale group's day-N steps
//! and a daily group's weekday steps become one `add_msg_template` to exactly that group at their local
//! times, once however often the sweep runs; nothing after close, and the owner told once that the group
//! closed; refusals inline in the console and as API errors; group tags filter the list.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use siyu_app::clock::ManualClock;
use siyu_wecom::fake::{CustomerSetup, FakeConfig, FakeHandle};

use crate::helpers::{Fixture, TestApp, csrf, daytime, fresh_db, spawn_with_clock};
use crate::wecom_callbacks::{CORP, connect, start_fake, sync};

struct Setup {
    t: TestApp,
    f: Fixture,
    fake: FakeHandle,
    clock: ManualClock,
    /// Group ids by name, and the chat_id of each.
    groups: Vec<(String, String, String)>,
}

impl Setup {
    fn group(&self, name: &str) -> (&str, &str) {
        let g = self.groups.iter().find(|g| g.0 == name).unwrap();
        (g.1.as_str(), g.2.as_str())
    }

    /// Moves both clocks to `local` (Shanghai) on `day`.
    fn at(&self, day: NaiveDate, hh: u32, mm: u32) {
        let cst = FixedOffset::east_opt(8 * 3600).unwrap();
        let target: DateTime<Utc> = cst.from_local_datetime(&day.and_hms_opt(hh, mm, 0).unwrap()).unwrap().to_utc();
        let secs = (target - self.t.app.now()).num_seconds();
        assert!(secs >= 0, "time only moves forward");
        self.clock.advance(Duration::seconds(secs));
        self.fake.clock().advance(secs);
    }

    /// Every accepted `add_msg_template`: (sender, chat_id_list, text).
    fn templates(&self) -> Vec<(String, Vec<String>, String)> {
        self.fake
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("add_msg_template") && r.errcode == 0)
            .map(|r| {
                assert_eq!(r.body["chat_type"], "group");
                let chats = r.body["chat_id_list"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned());
                let text = r.body["text"]["content"].as_str().unwrap_or("").to_owned();
                (r.body["sender"].as_str().unwrap().to_owned(), chats.collect(), text)
            })
            .collect()
    }

    async fn sweep(&self, times: usize) {
        for _ in 0..times {
            self.t.app.run_due_work().await.unwrap();
        }
    }
}

/// A tenant on a manual clock (today 11:00 in Shanghai) whose zhangsan owns two groups and lisi one.
async fn setup() -> Setup {
    let start = daytime();
    let clock = ManualClock::new(start);
    let fake = start_fake(FakeConfig { start_time: start.timestamp(), ..FakeConfig::default() }).await;
    let t = spawn_with_clock(Arc::new(fresh_db().await), Arc::new(clock.clone())).await;
    let (f, corp) = connect(&t, &fake).await;
    fake.set_callback_url(CORP, None).unwrap();
    let wm = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    for (owner, name) in [("zhangsan", "春季快闪1群"), ("zhangsan", "会员日常群"), ("lisi", "门店群")] {
        fake.create_group(CORP, owner, name, &[&wm]).await.unwrap();
    }
    sync(&t, &f, &corp).await;
    let (_, list) = t.api("GET", "/api/v1/groups", &f.token, None).await;
    let groups = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().into(),
                g["id"].as_str().unwrap().into(),
                g["chat_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    Setup { t, f, fake, clock, groups }
}

fn today(s: &Setup) -> NaiveDate {
    s.t.app.now().with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap()).date_naive()
}

async fn create_sop(s: &Setup, body: Value) -> String {
    let (status, sop) = s.t.api("POST", "/api/v1/group-sops", &s.f.token, Some(body)).await;
    assert_eq!(status, 201, "{sop}");
    sop["id"].as_str().unwrap().to_owned()
}

async fn patch(s: &Setup, group: &str, body: Value) -> (u16, Value) {
    s.t.api("PATCH", &format!("/api/v1/groups/{group}"), &s.f.token, Some(body)).await
}

#[tokio::test]
async fn a_flash_group_gets_its_day_0_and_day_1_messages_once_at_their_local_times_and_its_owner_one_close_notice() {
    let s = setup().await;
    let d = today(&s);
    let (group, chat) = s.group("春季快闪1群");
    let steps = json!([
        {"day": 0, "time": "09:00", "text": "开群啦，今晚秒杀"},
        {"day": 1, "time": "20:00", "text": "第二天：满减", "attachments": [
            {"msgtype": "link", "link": {"title": "会场", "url": "https://shop.example.com/flash"}}]},
        {"day": 6, "time": "10:00", "text": "第七天：返场"},
    ]);
    let sop = create_sop(&s, json!({"name": "三天快闪", "kind": "flash", "steps": steps})).await;
    let (opens, closes) = (d + Duration::days(1), d + Duration::days(4));
    let (status, g) =
        patch(&s, group, json!({"kind": "flash", "opens_on": opens, "closes_on": closes, "sop_id": sop})).await;
    assert_eq!((status, g["sop_id"].as_str()), (200, Some(sop.as_str())), "{g}");

    // Before day 0 at 09:00 nothing is sent, however often the sweep runs.
    s.sweep(2).await;
    s.at(opens, 8, 59);
    s.sweep(2).await;
    assert!(s.templates().is_empty());

    // Day 0 at 09:00: one template from the owner to exactly that group, once across repeated sweeps.
    s.at(opens, 9, 0);
    s.sweep(3).await;
    assert_eq!(s.t.app.run_group_sops().await.unwrap(), 0, "made already");
    let sent = s.templates();
    assert_eq!(sent, vec![("zhangsan".to_owned(), vec![chat.to_owned()], "开群啦，今晚秒杀".to_owned())]);
    let (_, cal) = s.t.api("GET", &format!("/api/v1/groups/{group}/sop-calendar"), &s.f.token, None).await;
    assert_eq!(cal["days"].as_array().unwrap().len(), 8, "{cal}");
    let cell = |row: usize, col: usize| cal["rows"][row]["cells"][col].clone();
    assert_eq!(cell(0, 0)["status"], "sent");
    assert!(cell(0, 0)["mass_send_id"].is_string());
    assert_eq!(cell(1, 1)["status"], "scheduled");
    assert_eq!((cell(2, 6)["status"].as_str(), cell(2, 6)["reason"].as_str()), (Some("skipped"), Some("closed")));
    assert!(cell(0, 1).is_null(), "a step falls on its own day only");

    // Day 1 at 20:00 the second step, with its attachment.
    s.at(opens + Duration::days(1), 19, 59);
    s.sweep(1).await;
    assert_eq!(s.templates().len(), 1);
    s.at(opens + Duration::days(1), 20, 0);
    // Two nodes sweeping at once make the step's send once.
    let other = spawn_with_clock(s.t.db.clone(), Arc::new(s.clock.clone())).await;
    let (a, b) = tokio::join!(s.t.app.run_group_sops(), other.app.run_group_sops());
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    s.sweep(2).await;
    let sent = s.templates();
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[1].1.clone(), sent[1].2.as_str()), (vec![chat.to_owned()], "第二天：满减"));
    let last = s.fake.requests().into_iter().rfind(|r| r.path.ends_with("add_msg_template")).unwrap();
    assert_eq!(last.body["attachments"][0]["link"]["title"], "会场");

    // Past close: no more steps, and the owner is told once to dismiss the group or make it a daily one.
    assert!(s.fake.app_messages().is_empty());
    s.at(closes + Duration::days(1), 9, 0);
    s.sweep(2).await;
    s.at(opens + Duration::days(6), 10, 0);
    s.sweep(2).await;
    assert_eq!(s.templates().len(), 2, "nothing after close");
    let notices = s.fake.app_messages();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].recipients, vec!["zhangsan".to_owned()]);
    let text = notices[0].body.to_string();
    assert!(text.contains("春季快闪1群") && text.contains("解散") && text.contains("日常"), "{text}");

    // The group page shows the calendar with the sent steps linked to their mass sends.
    let console = s.t.console(&s.f.owner.username).await;
    let page = console.get(s.t.url(&format!("/console/groups/{group}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("SOP 日历") && page.contains("三天快闪"), "the calendar");
    assert_eq!(page.matches("data-status=\"sent\"").count(), 2);
    assert!(page.contains("/console/wecom/mass-sends/") && page.contains("已跳过"));
}

#[tokio::test]
async fn a_daily_sop_sends_on_its_chosen_weekdays_only() {
    let s = setup().await;
    let d = today(&s);
    let (group, chat) = s.group("会员日常群");
    let days = [d + Duration::days(1), d + Duration::days(3)];
    let weekdays: Vec<u32> = days.iter().map(|d| d.weekday().number_from_monday()).collect();
    let steps = json!([{"weekdays": weekdays, "time": "10:00", "text": "会员日福利"}]);
    let sop = create_sop(&s, json!({"name": "会员日", "kind": "daily", "steps": steps})).await;
    let (status, body) = patch(&s, group, json!({"sop_id": sop})).await;
    assert_eq!(status, 200, "{body}");

    let mut sent_on = Vec::new();
    for n in 1..=7 {
        let day = d + Duration::days(n);
        s.at(day, 10, 0);
        let before = s.templates().len();
        s.sweep(2).await;
        if s.templates().len() > before {
            sent_on.push(day);
        }
    }
    assert_eq!(sent_on, days.to_vec());
    assert!(s.templates().iter().all(|t| t.1 == vec![chat.to_owned()] && t.0 == "zhangsan"));

    // Taking the SOP off stops it.
    let (status, _) = patch(&s, group, json!({"sop_id": null})).await;
    assert_eq!(status, 200);
    s.at(d + Duration::days(8), 10, 0);
    s.sweep(1).await;
    s.at(d + Duration::days(10), 10, 0);
    s.sweep(1).await;
    assert_eq!(s.templates().len(), 2);
}

#[tokio::test]
async fn bad_dates_and_bad_steps_are_refused_inline_in_the_console_and_as_api_errors() {
    let s = setup().await;
    let d = today(&s);
    let (group, _) = s.group("春季快闪1群");
    // API: a flash group closing 2 days after it opens; a step on day 9; a bad time; a daily SOP on a flash group.
    let (status, body) =
        patch(&s, group, json!({"kind": "flash", "opens_on": d, "closes_on": d + Duration::days(2)})).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("closes_on")), "{body}");
    let bad = json!({"name": "x", "kind": "flash", "steps": [{"day": 0, "time": "09:00", "text": "a"},
        {"day": 9, "time": "09:00", "text": "b"}]});
    let (status, body) = s.t.api("POST", "/api/v1/group-sops", &s.f.token, Some(bad)).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("steps.1.day")), "{body}");
    let bad = json!({"name": "x", "kind": "daily", "steps": [{"time": "25:61", "text": "a"}]});
    let (_, body) = s.t.api("POST", "/api/v1/group-sops", &s.f.token, Some(bad)).await;
    assert_eq!(body["field"], "steps.0.time");
    let (_, body) =
        s.t.api("POST", "/api/v1/group-sops", &s.f.token, Some(json!({"name": "x", "kind": "daily", "steps": []})))
            .await;
    assert_eq!(body["field"], "steps");
    let daily =
        create_sop(&s, json!({"name": "日常", "kind": "daily", "steps": [{"time": "09:00", "text": "早"}]})).await;
    let body = json!({"kind": "flash", "opens_on": d, "closes_on": d + Duration::days(3), "sop_id": daily});
    let (status, body) = patch(&s, group, body).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("sop_id")), "{body}");
    let (_, g) = s.t.api("GET", &format!("/api/v1/groups/{group}"), &s.f.token, None).await;
    assert_eq!(g["group"]["kind"], "daily", "nothing changed: {g}");
    let flash =
        create_sop(&s, json!({"name": "快闪", "kind": "flash", "steps": [{"time": "09:00", "text": "开"}]})).await;
    let body = json!({"kind": "flash", "opens_on": d, "closes_on": d + Duration::days(3), "sop_id": flash});
    assert_eq!(patch(&s, group, body).await.0, 200);
    let (status, body) = patch(&s, group, json!({"kind": "daily"})).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("sop_id")), "its flash SOP does not fit a daily group");

    // Console: the SOP form marks the refused row (a blank row first, so the row is the second).
    let console = s.t.console(&s.f.owner.username).await;
    let page = console.get(s.t.url("/console/group-sops/new")).send().await.unwrap().text().await.unwrap();
    let token = csrf(&page);
    let form = [
        ("_csrf", token.as_str()),
        ("name", "快闪"),
        ("kind", "flash"),
        ("steps.0.time", ""),
        ("steps.0.text", ""),
        ("steps.1.day", "9"),
        ("steps.1.time", "09:00"),
        ("steps.1.text", "返场"),
    ];
    let r = console.post(s.t.url("/console/group-sops")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("须为开群后第 0–7 天") && body.contains("data-step=\"1\" class=\"invalid\""), "{body}");
    assert!(body.contains("value=\"返场\"") || body.contains(">返场</textarea>"), "kept");
    let form = [
        ("_csrf", token.as_str()),
        ("name", "快闪"),
        ("kind", "flash"),
        ("steps.0.day", "0"),
        ("steps.0.time", "9点"),
        ("steps.0.text", "开群"),
    ];
    let body = console.post(s.t.url("/console/group-sops")).form(&form).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("请填写时间，格式 HH:MM"), "{body}");
    let form = [
        ("_csrf", token.as_str()),
        ("name", "快闪"),
        ("kind", "flash"),
        ("steps.0.day", "1"),
        ("steps.0.time", "09:30"),
        ("steps.0.text", "开群"),
        ("steps.1.time", ""),
    ];
    let r = console.post(s.t.url("/console/group-sops")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let list = console.get(s.t.url("/console/group-sops")).send().await.unwrap().text().await.unwrap();
    assert_eq!(list.matches("data-sop=").count(), 3, "{list}");

    // Console: the group's settings refuse a 2-day flash group inline.
    let kind = format!("/console/groups/{group}/kind");
    let (o, c) = (d.to_string(), (d + Duration::days(2)).to_string());
    let form = [("_csrf", token.as_str()), ("kind", "flash"), ("opens_on", o.as_str()), ("closes_on", c.as_str())];
    let r = console.post(s.t.url(&kind)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("关群日期须在开群后 3–7 天"));
}

#[tokio::test]
async fn group_tags_filter_the_group_list_and_flash_groups_show_their_phase() {
    let s = setup().await;
    let d = today(&s);
    let (flash, _) = s.group("春季快闪1群");
    let (store, _) = s.group("门店群");
    let (status, vip) = s.t.api("POST", "/api/v1/group-tags", &s.f.token, Some(json!({"name": "高价值"}))).await;
    assert_eq!(status, 201, "{vip}");
    let vip = vip["id"].as_str().unwrap().to_owned();
    let (status, _) = s.t.api("POST", "/api/v1/group-tags", &s.f.token, Some(json!({"name": "高价值"}))).await;
    assert_eq!(status, 409, "names are unique");
    let (status, body) = patch(
        &s,
        flash,
        json!({"tag_ids": [vip], "kind": "flash", "opens_on": d - Duration::days(2),
        "closes_on": d + Duration::days(1)}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tags"][0]["name"], "高价值");
    let (status, body) = patch(&s, store, json!({"tag_ids": ["0190a5c4-0000-7000-8000-000000000000"]})).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("tag_ids")));

    let (_, list) = s.t.api("GET", &format!("/api/v1/groups?tag={vip}"), &s.f.token, None).await;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!((names, list["total"].as_i64()), (vec!["春季快闪1群"], Some(1)));
    let (_, tags) = s.t.api("GET", "/api/v1/group-tags", &s.f.token, None).await;
    assert_eq!(tags[0]["groups"], 1);

    let console = s.t.console(&s.f.owner.username).await;
    let page = console.get(s.t.url(&format!("/console/groups?tag={vip}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("春季快闪1群") && !page.contains("门店群") && page.contains("共 1 个群"), "{page}");
    assert!(page.contains("即将关群"), "closes tomorrow: closing soon");
    let closing = console.get(s.t.url("/console/groups?phase=closing")).send().await.unwrap().text().await.unwrap();
    assert!(closing.contains("春季快闪1群") && !closing.contains("会员日常群"));

    // Deleting the tag takes it off the group; a tag made from the group page is added to it.
    let (status, _) = s.t.api("DELETE", &format!("/api/v1/group-tags/{vip}"), &s.f.token, None).await;
    assert_eq!(status, 204);
    let detail = console.get(s.t.url(&format!("/console/groups/{store}"))).send().await.unwrap().text().await.unwrap();
    let token = csrf(&detail);
    let form = [("_csrf", token.as_str()), ("kind", "daily"), ("new_tag", "门店")];
    let r = console.post(s.t.url(&format!("/console/groups/{store}/kind"))).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, list) = s.t.api("GET", "/api/v1/group-tags", &s.f.token, None).await;
    assert_eq!((list[0]["name"].as_str(), list[0]["groups"].as_i64()), (Some("门店"), Some(1)), "{list}");
}
