//! Customer moments against the fake WeCom: the asynchronous job polled until WeCom reports the moment, then
//! who published, whom it reached and the comments and likes pulled back onto the customers' timelines (once
//! each); cancelling. And the mass send and moments console pages.

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use siyu_app::clock::ManualClock;
use siyu_wecom::fake::{CustomerSetup, FakeConfig, FakeHandle};

use crate::helpers::{Fixture, TestApp, csrf, fresh_db, spawn_with, test_settings};
use crate::wecom_callbacks::{CORP, connect, customer_of, start_fake, sync};
use crate::wecom_mass_groups::groups_setup;

/// A server on a manual clock, connected and synced: 王女士 and 李先生 are zhangsan's customers, 赵女士 lisi's.
async fn setup() -> (TestApp, Fixture, FakeHandle, Value, ManualClock, Vec<String>) {
    let start = Utc::now();
    let clock = ManualClock::new(start);
    let fake = start_fake(FakeConfig { start_time: start.timestamp(), ..FakeConfig::default() }).await;
    let t = spawn_with(Arc::new(fresh_db().await), Arc::new(clock.clone()), test_settings()).await;
    let (f, corp) = connect(&t, &fake).await;
    fake.set_callback_url(CORP, None).unwrap();
    let mut ext = Vec::new();
    for (name, userid) in [("王女士", "zhangsan"), ("李先生", "zhangsan"), ("赵女士", "lisi")] {
        let wm = fake.add_customer(CORP, CustomerSetup::named(name)).unwrap();
        fake.customer_adds_staff(CORP, &wm, userid, None).await.unwrap();
        ext.push(wm);
    }
    sync(&t, &f, &corp).await;
    (t, f, fake, corp, clock, ext)
}

async fn moment(t: &TestApp, f: &Fixture, id: &str) -> Value {
    t.api("GET", &format!("/api/v1/moments/{id}"), &f.token, None).await.1
}

async fn kinds_on_timeline(t: &TestApp, f: &Fixture, wm: &str) -> Vec<String> {
    let customer = customer_of(t, f, wm).await.unwrap();
    let (_, page) = t.api("GET", &format!("/api/v1/customers/{customer}/timeline"), &f.token, None).await;
    page["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_moment_is_polled_until_wecom_made_it_and_its_reach_and_comments_land_on_the_timeline_once() {
    let (t, f, fake, corp, clock, ext) = setup().await;
    let body = json!({"corp": corp["id"], "name": "新品上市", "content": {"text": "秋冬新品上市",
        "attachments": [{"msgtype": "image", "image": {"media_id": "MEDIA1"}}]},
        "visibility": {"staff": ["zhangsan"]}});
    let (status, m) = t.api("POST", "/api/v1/moments", &f.token, Some(body)).await;
    assert_eq!((status, m["status"].as_str()), (201, Some("scheduled")), "{m}");
    let id = m["id"].as_str().unwrap().to_owned();

    // Submitted; WeCom reports status 1, then 2, then 3 as its clock passes; the job polls every 5 s.
    t.app.run_due_work().await.unwrap();
    assert_eq!(moment(&t, &f, &id).await["status"], "creating");
    let sent = fake.requests().into_iter().find(|r| r.path.ends_with("add_moment_task")).unwrap();
    assert_eq!(sent.body["visible_range"]["sender_list"]["user_list"], json!(["zhangsan"]));
    for _ in 0..2 {
        clock.advance(Duration::seconds(5));
        fake.clock().advance(5);
        t.app.run_due_work().await.unwrap();
    }
    let m = moment(&t, &f, &id).await;
    assert_eq!(m["status"], "published", "{m}");
    assert_eq!(fake.calls("externalcontact/get_moment_task_result"), 3);
    assert_eq!(fake.calls("externalcontact/add_moment_task"), 1);
    let moment_id = m["moment_id"].as_str().unwrap().to_owned();

    // zhangsan publishes it to both customers; one comments, the other likes.
    let reached = fake.staff_publishes_moment(CORP, &moment_id, "zhangsan").unwrap();
    assert_eq!(reached.len(), 2);
    fake.customer_comments_moment(CORP, &moment_id, "zhangsan", &ext[0]).unwrap();
    fake.customer_likes_moment(CORP, &moment_id, "zhangsan", &ext[1]).unwrap();
    for _ in 0..2 {
        let (status, m) = t.api("POST", &format!("/api/v1/moments/{id}/results"), &f.token, None).await;
        assert_eq!(status, 200, "{m}");
        assert_eq!(
            (m["published"].as_i64(), m["visible"].as_i64(), m["comments"].as_i64(), m["likes"].as_i64()),
            (Some(1), Some(2), Some(1), Some(1)),
            "{m}"
        );
    }
    let commented = kinds_on_timeline(&t, &f, &ext[0]).await;
    assert_eq!(commented.iter().filter(|k| *k == "moment_commented").count(), 1, "{commented:?}");
    let liked = kinds_on_timeline(&t, &f, &ext[1]).await;
    assert_eq!(liked.iter().filter(|k| *k == "moment_liked").count(), 1, "{liked:?}");
    assert!(!kinds_on_timeline(&t, &f, &ext[2]).await.iter().any(|k| k.starts_with("moment_")));
    let (_, interactions) = t.api("GET", &format!("/api/v1/moments/{id}/interactions"), &f.token, None).await;
    assert_eq!(interactions.as_array().unwrap().len(), 2, "{interactions}");

    // Cancelled: lisi can no longer publish it, and it cannot be cancelled twice.
    let (status, m) = t.api("POST", &format!("/api/v1/moments/{id}/cancel"), &f.token, None).await;
    assert_eq!((status, m["status"].as_str()), (200, Some("cancelled")), "{m}");
    assert_eq!(fake.calls("externalcontact/cancel_moment_task"), 1);
    let (status, _) = t.api("POST", &format!("/api/v1/moments/{id}/cancel"), &f.token, None).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn a_published_moments_results_are_pulled_on_their_own_after_one_six_24_and_72_hours_then_no_more() {
    let (t, f, fake, corp, clock, ext) = setup().await;
    let body = json!({"corp": corp["id"], "name": "周末活动", "content": {"text": "周末到店有礼"},
        "visibility": {"staff": ["zhangsan"]}});
    let (_, m) = t.api("POST", "/api/v1/moments", &f.token, Some(body)).await;
    let id = m["id"].as_str().unwrap().to_owned();
    let pass = |seconds: i64| {
        clock.advance(Duration::seconds(seconds));
        fake.clock().advance(seconds);
    };
    t.app.run_due_work().await.unwrap();
    for _ in 0..2 {
        pass(5);
        t.app.run_due_work().await.unwrap();
    }
    let m = moment(&t, &f, &id).await;
    assert_eq!(m["status"], "published", "{m}");
    let moment_id = m["moment_id"].as_str().unwrap().to_owned();
    fake.staff_publishes_moment(CORP, &moment_id, "zhangsan").unwrap();
    fake.customer_likes_moment(CORP, &moment_id, "zhangsan", &ext[0]).unwrap();

    // Not yet: the first pull is an hour after publishing.
    pass(30 * 60);
    t.app.run_due_work().await.unwrap();
    assert_eq!(fake.calls("externalcontact/get_moment_task"), 0);
    pass(31 * 60);
    t.app.run_due_work().await.unwrap();
    assert_eq!(fake.calls("externalcontact/get_moment_task"), 1);
    let m = moment(&t, &f, &id).await;
    assert_eq!((m["published"].as_i64(), m["visible"].as_i64(), m["likes"].as_i64()), (Some(1), Some(2), Some(1)));

    // A comment made later is picked up by a later pull; one pull per time (the access token expires between
    // them, so the fake's call count is not the measure), none after three days.
    fake.customer_comments_moment(CORP, &moment_id, "zhangsan", &ext[1]).unwrap();
    let mut pulled_at = m["results_at"].clone();
    assert!(pulled_at.is_string(), "{m}");
    for (hours, pulls) in [(5, true), (18, true), (48, true), (100, false)] {
        pass(hours * 3600);
        t.app.run_due_work().await.unwrap();
        let once = moment(&t, &f, &id).await["results_at"].clone();
        t.app.run_due_work().await.unwrap();
        assert_eq!(moment(&t, &f, &id).await["results_at"], once, "pulled twice after {hours} more hours");
        assert_eq!(once != pulled_at, pulls, "after {hours} more hours");
        pulled_at = once;
    }
    assert_eq!(moment(&t, &f, &id).await["comments"].as_i64(), Some(1));
    let commented = kinds_on_timeline(&t, &f, &ext[1]).await;
    assert_eq!(commented.iter().filter(|k| *k == "moment_commented").count(), 1, "{commented:?}");
}

#[tokio::test]
async fn a_scheduled_moment_waits_for_its_time_and_a_cancelled_one_is_never_submitted() {
    let (t, f, fake, corp, clock, _ext) = setup().await;
    let at = (t.app.now() + Duration::hours(2)).to_rfc3339();
    let body = json!({"corp": corp["id"], "name": "晚间推送", "content": {"text": "今晚直播"}, "scheduled_at": at});
    let (_, m) = t.api("POST", "/api/v1/moments", &f.token, Some(body.clone())).await;
    t.app.run_due_work().await.unwrap();
    assert_eq!(fake.calls("externalcontact/add_moment_task"), 0);
    let (_, other) = t.api("POST", "/api/v1/moments", &f.token, Some(body)).await;
    let (status, _) =
        t.api("POST", &format!("/api/v1/moments/{}/cancel", other["id"].as_str().unwrap()), &f.token, None).await;
    assert_eq!(status, 200);
    clock.advance(Duration::hours(2));
    fake.clock().advance(7200);
    t.app.run_due_work().await.unwrap();
    // (The two hours expired WeCom's token: the first call is refused with 42001 and retried.)
    let submitted = fake.requests().iter().filter(|r| r.path.ends_with("add_moment_task") && r.errcode == 0).count();
    assert_eq!(submitted, 1, "only the one not cancelled");
    assert_eq!(moment(&t, &f, m["id"].as_str().unwrap()).await["status"], "creating");
}

#[tokio::test]
async fn a_moment_with_four_videos_or_a_tag_wecom_does_not_know_is_refused() {
    let (t, f, _fake, corp, _clock, _ext) = setup().await;
    let video = json!({"msgtype": "video", "video": {"media_id": "V"}});
    let body = json!({"corp": corp["id"], "name": "x", "content": {"text": "t", "attachments": [video, video]}});
    let (status, e) = t.api("POST", "/api/v1/moments", &f.token, Some(body)).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("attachments")), "{e}");
    let (_, g) = t.api("POST", "/api/v1/tag-groups", &f.token, Some(json!({"name": "本地", "tags": ["仅本地"]}))).await;
    let tag = g["tags"][0]["id"].clone();
    let body = json!({"corp": corp["id"], "name": "x", "content": {"text": "t"}, "visibility": {"tag_ids": [tag]}});
    let (status, e) = t.api("POST", "/api/v1/moments", &f.token, Some(body)).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("tag_ids")), "{e}");
}

fn location(r: &reqwest::Response) -> String {
    assert_eq!(r.status().as_u16(), 303);
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn get(console: &reqwest::Client, t: &TestApp, path: &str) -> (u16, String) {
    let r = console.get(t.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_mass_send_pages_list_create_with_a_preview_and_show_per_sender_results() {
    let (t, f, _fake, corp, _clock) = groups_setup().await;
    let console = t.console(&f.owner.username).await;
    let (status, new) = get(&console, &t, "/console/wecom/mass-sends/new").await;
    assert_eq!(status, 200, "{new}");
    let token = csrf(&new);
    let corp_id = corp["id"].as_str().unwrap();
    let form = |name: &'static str, extra: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("_csrf", token.clone()), ("corp", corp_id.to_owned()), ("name", name.to_owned())];
        form.extend(
            [("target", "groups"), ("owners", "zhangsan"), ("text", "群内秒杀")].map(|(k, v)| (k, v.to_owned())),
        );
        form.extend(extra.into_iter().map(|(k, v)| (k, v.to_owned())));
        form
    };
    // The preview counts zhangsan's three groups.
    let r = console.post(t.url("/console/wecom/mass-sends")).form(&form("群秒杀", vec![("preview", "1")])).send();
    let html = r.await.unwrap().text().await.unwrap();
    assert!(html.contains("当前共 3 个客户群"), "{html}");
    // A missing name is shown next to the field, with what was typed kept.
    let r = console.post(t.url("/console/wecom/mass-sends")).form(&form("", vec![])).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("field-error") && html.contains("请填写 1–60 个字的名称") && html.contains("群内秒杀"),
        "{html}"
    );
    // Created: to its page, then listed with its progress.
    let r = console.post(t.url("/console/wecom/mass-sends")).form(&form("群秒杀", vec![])).send().await.unwrap();
    let url = location(&r);
    assert!(url.starts_with("/console/wecom/mass-sends/"), "{url}");
    t.app.run_due_work().await.unwrap();
    let (status, detail) = get(&console, &t, &url).await;
    assert_eq!(status, 200);
    assert!(detail.contains("会员福利1群") && detail.contains("张三") && detail.contains("提醒发送"), "{detail}");
    let (_, list) = get(&console, &t, "/console/wecom/mass-sends").await;
    assert!(list.contains("群秒杀") && list.contains("progressbar") && list.contains("客户群"), "{list}");
    // Reminding goes back to the page with a notice.
    let id = url.rsplit('/').next().unwrap();
    let r = console.post(t.url(&format!("/console/wecom/mass-sends/{id}/remind"))).form(&[("_csrf", &token)]);
    let (_, html) = get(&console, &t, &location(&r.send().await.unwrap())).await;
    assert!(html.contains("已提醒未发送的员工"), "{html}");
}

#[tokio::test]
async fn the_moment_pages_create_show_errors_inline_and_show_publish_status() {
    let (t, f, fake, corp, clock, ext) = setup().await;
    let console = t.console(&f.owner.username).await;
    let (status, new) = get(&console, &t, "/console/wecom/moments/new").await;
    assert_eq!(status, 200, "{new}");
    let token = csrf(&new);
    let corp_id = corp["id"].as_str().unwrap();
    let bad = [("_csrf", token.as_str()), ("corp", corp_id), ("name", "上新"), ("text", ""), ("attachments", "")];
    let r = console.post(t.url("/console/wecom/moments")).form(&bad).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("field-error") && html.contains("上新"), "{html}");
    let good =
        [("_csrf", token.as_str()), ("corp", corp_id), ("name", "上新"), ("text", "秋冬上新"), ("staff", "zhangsan")];
    let r = console.post(t.url("/console/wecom/moments")).form(&good).send().await.unwrap();
    let url = location(&r);
    assert!(url.starts_with("/console/wecom/moments/"), "{url}");
    t.app.run_due_work().await.unwrap();
    clock.advance(Duration::seconds(10));
    fake.clock().advance(10);
    t.app.run_due_work().await.unwrap();
    let id = url.rsplit('/').next().unwrap();
    let m = moment(&t, &f, id).await;
    let moment_id = m["moment_id"].as_str().unwrap();
    fake.staff_publishes_moment(CORP, moment_id, "zhangsan").unwrap();
    fake.customer_comments_moment(CORP, moment_id, "zhangsan", &ext[0]).unwrap();
    let r = console.post(t.url(&format!("{url}/results"))).form(&[("_csrf", &token)]).send().await.unwrap();
    let (_, html) = get(&console, &t, &location(&r)).await;
    assert!(html.contains("已拉取最新发表情况") && html.contains("张三") && html.contains("已发表"), "{html}");
    assert!(html.contains("moment-interactions") && html.contains("/console/customers/"), "{html}");
    let (_, list) = get(&console, &t, "/console/wecom/moments").await;
    assert!(list.contains("上新") && list.contains("1 / 1"), "{list}");
}
