//! The session archive: messages in WeCom's archive shape forwarded to the ingest endpoint, stored once,
//! checked against sensitive-word, sensitive-behaviour and group anti-harassment rules; alerts made once,
//! the owner told once, and the alert inbox, context and verdicts.

use serde_json::{Value, json};
use siyu_wecom::fake::CustomerSetup;

use crate::helpers::{Fixture, TestApp};
use crate::wecom_callbacks::{CORP, connected, settle, sync};

pub(crate) fn text(msgid: &str, from: &str, to: &str, ms: i64, content: &str) -> Value {
    json!({"msgid": msgid, "action": "send", "from": from, "tolist": [to], "roomid": "", "msgtime": ms,
        "msgtype": "text", "text": {"content": content}})
}

fn in_room(msgid: &str, from: &str, room: &str, ms: i64, msgtype: &str, body: Value) -> Value {
    let mut m = json!({"msgid": msgid, "action": "send", "from": from, "tolist": ["zhangsan"], "roomid": room,
        "msgtime": ms, "msgtype": msgtype});
    m[msgtype] = body;
    m
}

pub(crate) async fn ingest(t: &TestApp, f: &Fixture, messages: &[Value], first_seq: i64) -> Value {
    let items: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"seq": first_seq + i as i64, "publickey_ver": 1, "message": m}))
        .collect();
    let (status, body) =
        t.api("POST", "/api/v1/archive/ingest", &f.token, Some(json!({"corp_id": CORP, "items": items}))).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn rule(t: &TestApp, f: &Fixture, kind: &str, config: Value) -> Value {
    let body = json!({"kind": kind, "name": format!("规则 {kind}"), "config": config});
    let (status, rule) = t.api("POST", "/api/v1/archive/rules", &f.token, Some(body)).await;
    assert_eq!(status, 201, "{rule}");
    rule
}

async fn alerts(t: &TestApp, f: &Fixture, query: &str) -> Vec<Value> {
    let (status, page) = t.api("GET", &format!("/api/v1/archive/alerts?{query}"), &f.token, None).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn a_staff_message_with_a_phone_number_raises_one_masked_alert_however_often_it_is_forwarded() {
    let (t, f, _fake, _corp) = connected().await;
    rule(&t, &f, "phone", json!({})).await;
    let ms = now_ms();
    let batch = [
        text("m1", "zhangsan", "wmA1", ms, "您好，有事打我电话 138-1234-5678 哦"),
        text("m2", "wmA1", "zhangsan", ms + 1000, "我的号码是13900001111"),
    ];
    let first = ingest(&t, &f, &batch, 1).await;
    assert_eq!((first["accepted"].as_u64(), first["alerts"].as_u64()), (Some(2), Some(1)), "{first}");
    let again = ingest(&t, &f, &batch, 1).await;
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64(), again["alerts"].as_u64()),
        (Some(0), Some(2), Some(0))
    );
    assert_eq!(again["max_seq"], 2);

    let found = alerts(&t, &f, "kind=phone").await;
    assert_eq!(found.len(), 1, "only the staff member's message counts: {found:?}");
    assert_eq!(found[0]["detail"], "138****5678");
    assert_eq!(found[0]["staff_userid"], "zhangsan");
    assert!(!found[0]["excerpt"].as_str().unwrap().contains("1234-5678"), "{}", found[0]["excerpt"]);

    let (status, detail) =
        t.api("GET", &format!("/api/v1/archive/alerts/{}", found[0]["id"].as_str().unwrap()), &f.token, None).await;
    assert_eq!(status, 200);
    assert_eq!(detail["context"].as_array().unwrap().len(), 2, "{detail}");
}

#[tokio::test]
async fn sensitive_words_hit_in_any_spelling_but_not_inside_a_dictionary_word() {
    let (t, f, _fake, _corp) = connected().await;
    let (_, list) = t.api("POST", "/api/v1/archive/word-lists", &f.token, Some(json!({"name": "引流词"}))).await;
    let list_id = list["id"].as_str().unwrap();
    let words = json!({"words": ["微信", "加微信\nvx", "返现"]});
    let (status, added) =
        t.api("POST", &format!("/api/v1/archive/word-lists/{list_id}/words"), &f.token, Some(words)).await;
    assert_eq!((status, added["added"].as_u64()), (200, Some(4)));
    let (status, _) = t.api("PUT", "/api/v1/archive/dictionary", &f.token, Some(json!({"words": ["企业微信"]}))).await;
    assert_eq!(status, 200);
    rule(&t, &f, "words", json!({"word_lists": [list_id]})).await;

    let ms = now_ms();
    let batch = [
        text("w1", "zhangsan", "wmA1", ms, "加微信聊吧"),
        text("w2", "zhangsan", "wmA1", ms + 1, "请用企业微信联系我们"),
        text("w3", "wmA1", "zhangsan", ms + 2, "加我Ｖ Ｘ，好评返。现"),
        text("w4", "zhangsan", "wmA1", ms + 3, "好的，已发货"),
    ];
    let result = ingest(&t, &f, &batch, 10).await;
    assert_eq!(result["alerts"], 2, "{result}");
    let mut found = alerts(&t, &f, "kind=words").await;
    found.sort_by_key(|a| a["msgid"].as_str().unwrap().to_owned());
    assert_eq!(found[0]["msgid"], "w1");
    assert_eq!(found[0]["detail"], "加微信", "leftmost-longest");
    assert_eq!(found[1]["msgid"], "w3");
    assert_eq!(found[1]["detail"], "vx、返现");
}

#[tokio::test]
async fn bad_items_are_reported_one_by_one_and_the_good_ones_are_stored() {
    let (t, f, _fake, _corp) = connected().await;
    let ms = now_ms();
    let items = json!([
        {"seq": 5, "message": text("ok1", "zhangsan", "wmA1", ms, "你好")},
        {"seq": 6},
        {"seq": -1, "message": text("x", "zhangsan", "wmA1", ms, "x")},
        {"seq": 7, "message": {"from": "zhangsan", "tolist": ["wmA1"], "msgtime": ms, "msgtype": "text"}},
        {"seq": 8, "message": {"msgid": "sw", "action": "switch", "time": ms, "user": "zhangsan"}},
    ]);
    let (status, body) =
        t.api("POST", "/api/v1/archive/ingest", &f.token, Some(json!({"corp_id": CORP, "items": items}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["skipped"], 1);
    let rejected: Vec<(u64, &str)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(rejected, [(1, "missing_message"), (2, "invalid_seq"), (3, "invalid_message")]);
    assert_eq!(body["max_seq"], 8);

    let (status, err) =
        t.api("POST", "/api/v1/archive/ingest", &f.token, Some(json!({"corp_id": "wwnotmine", "items": []}))).await;
    assert_eq!(status, 400, "{err}");
    assert!(err["request_id"].is_string());

    let (_, page) = t.api("GET", "/api/v1/archive/conversations?q=你好", &f.token, None).await;
    assert_eq!(page["total"], 1, "{page}");
    let conv = page["items"][0]["id"].as_str().unwrap();
    let (_, thread) = t.api("GET", &format!("/api/v1/archive/conversations/{conv}/messages"), &f.token, None).await;
    assert_eq!(thread["messages"][0]["text"], "你好");
    assert_eq!(thread["conversation"]["kind"], "single");
}

#[tokio::test]
async fn a_customer_left_waiting_past_the_deadline_raises_one_slow_reply_alert() {
    let (t, f, _fake, _corp) = connected().await;
    rule(&t, &f, "response_time", json!({"minutes": 30})).await;
    let asked = now_ms() - 2 * 3600 * 1000;
    ingest(&t, &f, &[text("q1", "wmA1", "zhangsan", asked, "这个什么时候发货？")], 1).await;
    ingest(&t, &f, &[text("q2", "wmA1", "zhangsan", asked + 60_000, "在吗")], 2).await;
    t.app.run_due_work().await.unwrap();
    let found = alerts(&t, &f, "kind=response_time").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["msgid"], "q1", "the clock runs from the first unanswered message");
    assert!(found[0]["detail"].as_str().unwrap().parse::<i64>().unwrap() >= 119);

    // The late reply and another sweep make no second alert for the same wait.
    ingest(&t, &f, &[text("a1", "zhangsan", "wmA1", now_ms(), "马上发")], 3).await;
    t.app.run_due_work().await.unwrap();
    assert_eq!(alerts(&t, &f, "kind=response_time").await.len(), 1);

    // A quick answer raises nothing.
    let ms = now_ms();
    ingest(
        &t,
        &f,
        &[text("q3", "wmA1", "zhangsan", ms, "好的谢谢"), text("a2", "zhangsan", "wmA1", ms + 60_000, "不客气")],
        4,
    )
    .await;
    t.app.run_due_work().await.unwrap();
    assert_eq!(alerts(&t, &f, "kind=response_time").await.len(), 1);
}

#[tokio::test]
async fn customers_posting_qr_links_cards_or_mini_programs_in_a_group_are_reported_to_the_owner_once() {
    let (t, f, fake, corp) = connected().await;
    let wm = fake.add_customer(CORP, CustomerSetup::named("王女士")).unwrap();
    fake.customer_adds_staff(CORP, &wm, "zhangsan", None).await.unwrap();
    let group = fake.create_group(CORP, "zhangsan", "会员福利群", &[&wm]).await.unwrap();
    sync(&t, &f, &corp).await;
    settle(&t).await;
    for kind in ["group_qr", "group_card", "group_weapp", "group_link"] {
        rule(&t, &f, kind, json!({"domains": ["brand.example.com"]})).await;
    }
    let room = group.chat_id.as_str();
    let ms = now_ms();
    let batch = [
        in_room("g1", &wm, room, ms, "text", json!({"content": "扫码进群领红包 https://weixin.qq.com/g/AbCdEf"})),
        in_room("g2", &wm, room, ms + 1, "card", json!({"corpname": "别家", "userid": "wmOther"})),
        in_room("g3", &wm, room, ms + 2, "weapp", json!({"title": "砍一刀", "displayname": "拼拼"})),
        in_room("g4", &wm, room, ms + 3, "link", json!({"title": "官方", "link_url": "https://brand.example.com/x"})),
        in_room("g5", "zhangsan", room, ms + 4, "text", json!({"content": "群公告 https://weixin.qq.com/g/Own"})),
    ];
    let sends_before = fake.calls("message/send");
    let result = ingest(&t, &f, &batch, 1).await;
    assert_eq!(result["alerts"], 3, "the owner's own link and the allowed domain raise nothing: {result}");
    ingest(&t, &f, &batch, 1).await;
    // The ingest queued a background send; let it finish, then sweep twice more.
    t.app.settle_callbacks().await;
    t.app.send_staff_notices().await.unwrap();
    t.app.send_staff_notices().await.unwrap();
    let sends: Vec<_> =
        fake.requests().into_iter().filter(|r| r.path.contains("message")).map(|r| (r.errcode, r.body)).collect();
    assert_eq!(fake.calls("message/send") - sends_before, 3, "one app message per alert, once: {sends:?}");
    let found = alerts(&t, &f, "").await;
    assert!(found.iter().all(|a| a["group_name"] == "会员福利群" && a["staff_userid"] == "zhangsan"), "{found:?}");
}

#[tokio::test]
async fn customers_joining_and_leaving_in_a_burst_raise_one_flood_alert() {
    let (t, f, fake, corp) = connected().await;
    let group = fake.create_group(CORP, "zhangsan", "快闪群", &[]).await.unwrap();
    sync(&t, &f, &corp).await;
    rule(&t, &f, "group_flood", json!({"minutes": 10, "count": 3, "notify_owner": true})).await;
    for i in 0..3 {
        let wm = fake.add_customer(CORP, CustomerSetup::named(&format!("路人{i}"))).unwrap();
        fake.join_group(CORP, &group.chat_id, &wm, 3).await.unwrap();
        fake.leave_group(CORP, &group.chat_id, &wm, 0).await.unwrap();
    }
    settle(&t).await;
    t.app.run_due_work().await.unwrap();
    t.app.run_due_work().await.unwrap();
    let found = alerts(&t, &f, "kind=group_flood").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["detail"], "3");
    assert_eq!(found[0]["group_name"], "快闪群");
}

#[tokio::test]
async fn an_auditor_confirms_or_dismisses_alerts_and_staff_cannot_read_the_archive() {
    let (t, f, _fake, _corp) = connected().await;
    rule(&t, &f, "red_packet", json!({})).await;
    let packet = json!({"msgid": "r1", "action": "send", "from": "zhangsan", "tolist": ["wmA1"], "roomid": "",
        "msgtime": now_ms(), "msgtype": "redpacket", "redpacket": {"type": 1, "wish": "恭喜发财", "totalcnt": 1, "totalamount": 888}});
    ingest(&t, &f, &[packet], 1).await;
    let found = alerts(&t, &f, "status=open").await;
    assert_eq!(found[0]["detail"], "¥8.88 × 1");

    let (_, auditor, _) = t.member(&f, siyu_domain::access::Role::Auditor, siyu_domain::access::DataScope::All).await;
    let id = found[0]["id"].as_str().unwrap();
    let verdict = json!({"status": "dismissed", "note": "客户生日，店长同意"});
    let (status, judged) =
        t.api("POST", &format!("/api/v1/archive/alerts/{id}/verdict"), &auditor, Some(verdict)).await;
    assert_eq!(status, 200, "{judged}");
    assert_eq!(judged["status"], "dismissed");
    assert!(alerts(&t, &f, "status=open").await.is_empty());
    let (_, stats) = t.api("GET", "/api/v1/archive/stats", &f.token, None).await;
    assert_eq!(stats[0]["staff_userid"], "zhangsan");
    assert_eq!(stats[0]["by_kind"]["red_packet"], 1);

    let (_, staff, _) = t.member(&f, siyu_domain::access::Role::Staff, siyu_domain::access::DataScope::SelfOnly).await;
    let (status, _) = t.api("GET", "/api/v1/archive/alerts", &staff, None).await;
    assert_eq!(status, 403);
    let (status, _) = t.api("GET", "/api/v1/archive/conversations", &staff, None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn erasing_a_customer_deletes_their_chats_and_their_group_messages_and_blanks_their_alerts() {
    let (t, f, fake, corp) = connected().await;
    let wm = fake.add_customer(CORP, CustomerSetup::named("赵先生")).unwrap();
    fake.customer_adds_staff(CORP, &wm, "zhangsan", None).await.unwrap();
    sync(&t, &f, &corp).await;
    settle(&t).await;
    rule(&t, &f, "phone", json!({"senders": "all"})).await;
    let ms = now_ms();
    let batch = [
        text("e1", &wm, "zhangsan", ms, "我电话13912345678"),
        in_room("e2", &wm, "wrOther", ms + 1, "text", json!({"content": "群里说一句"})),
        text("e3", "lisi", "wmSomeoneElse", ms + 2, "别人的会话"),
    ];
    ingest(&t, &f, &batch, 1).await;
    let customer = crate::wecom_callbacks::customer_of(&t, &f, &wm).await.unwrap();
    let (_, before) =
        t.api("GET", &format!("/api/v1/archive/conversations?customer={}", customer.0), &f.token, None).await;
    assert_eq!(before["total"], 1, "{before}");

    let (status, body) =
        t.api("POST", &format!("/api/v1/customers/{}/erasure", customer.0), &f.token, Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    let (_, after) =
        t.api("GET", &format!("/api/v1/archive/conversations?customer={}", customer.0), &f.token, None).await;
    assert_eq!(after["total"], 0);
    let (_, all) = t.api("GET", "/api/v1/archive/conversations", &f.token, None).await;
    let left: Vec<i64> = all["items"].as_array().unwrap().iter().map(|c| c["messages"].as_i64().unwrap()).collect();
    assert_eq!(all["total"], 2, "the group chat and the other chat stay: {all}");
    let (_, found) = t.api("GET", "/api/v1/archive/search?q=群里说一句", &f.token, None).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "their group message is gone: {found} {left:?}");
    assert_eq!(found["total"], 0, "and gone from the search index too: {found}");
    let alerts = alerts(&t, &f, "").await;
    assert!(alerts.iter().all(|a| a["excerpt"] == "" && a["detail"] == ""), "{alerts:?}");
}
