//! Welcome messages, mass sends and moments.

use serde_json::{Value, json};

use super::{CORP, Harness, errcode};
use crate::fake::FakeConfig;

fn welcome(code: &str) -> Value {
    json!({"welcome_code": code, "text": {"content": "你好"}})
}

#[tokio::test]
async fn a_welcome_code_works_once() {
    let h = Harness::start(FakeConfig::default()).await;
    let (id, code) = h.befriend("李四", "zhangsan").await;
    let code = code.unwrap();
    h.fake.clock().advance(19);
    assert_eq!(errcode(&h.post("externalcontact/send_welcome_msg", welcome(&code)).await), 0);
    assert_eq!(errcode(&h.post("externalcontact/send_welcome_msg", welcome(&code)).await), 41051);
    let delivered = h.fake.welcomes();
    assert_eq!(delivered.len(), 1);
    assert_eq!((delivered[0].external_userid.as_str(), delivered[0].userid.as_str()), (id.as_str(), "zhangsan"));
    assert_eq!(delivered[0].body["text"]["content"], "你好");
    assert_eq!(delivered[0].at, h.fake.clock().now());
}

#[tokio::test]
async fn a_welcome_code_expires_after_20_seconds() {
    let h = Harness::start(FakeConfig::default()).await;
    let (_, code) = h.befriend("李四", "zhangsan").await;
    h.fake.clock().advance(20);
    let reply = h.post("externalcontact/send_welcome_msg", welcome(&code.unwrap())).await;
    assert_eq!(errcode(&reply), 40058);
    let custom = Harness::start(FakeConfig { welcome_expired_errcode: 41097, ..FakeConfig::default() }).await;
    let (_, code) = custom.befriend("李四", "zhangsan").await;
    custom.fake.clock().advance(21);
    assert_eq!(errcode(&custom.post("externalcontact/send_welcome_msg", welcome(&code.unwrap())).await), 41097);
    assert!(custom.fake.welcomes().is_empty());
}

#[tokio::test]
async fn a_competing_app_or_too_many_attachments_are_refused() {
    let h = Harness::start(FakeConfig::default()).await;
    let (_, code) = h.befriend("李四", "zhangsan").await;
    let code = code.unwrap();
    let image = json!({"msgtype": "image", "image": {"media_id": "M"}});
    let ten: Vec<Value> = (0..10).map(|_| image.clone()).collect();
    let reply = h.post("externalcontact/send_welcome_msg", json!({"welcome_code": code, "attachments": ten})).await;
    assert_eq!(errcode(&reply), 40058, "a malformed request uses nothing up");
    h.fake.competing_app_sends_welcome(CORP, &code).unwrap();
    assert_eq!(errcode(&h.post("externalcontact/send_welcome_msg", welcome(&code)).await), 41096);
    h.fake.set_native_welcome(CORP, true).unwrap();
    let (_, none) = h.befriend("王五", "zhangsan").await;
    assert!(none.is_none(), "a native welcome message means no WelcomeCode");
}

#[tokio::test]
async fn a_mass_send_waits_for_the_staff_then_reports_each_recipient() {
    let h = Harness::start(FakeConfig::default()).await;
    let (a, _) = h.befriend("甲", "zhangsan").await;
    let (b, _) = h.befriend("乙", "zhangsan").await;
    let (stranger, _) = h.befriend("丙", "lisi").await;
    let reply = h
        .post(
            "externalcontact/add_msg_template",
            json!({"chat_type": "single", "sender": "zhangsan", "external_userid": [a, b, stranger, "wmghost"],
                   "text": {"content": "会员日"}}),
        )
        .await;
    assert_eq!(errcode(&reply), 0);
    assert_eq!(reply["fail_list"], json!([stranger, "wmghost"]));
    let msgid = reply["msgid"].as_str().unwrap().to_owned();
    let tasks = h.post("externalcontact/get_groupmsg_task", json!({"msgid": msgid})).await;
    assert_eq!(tasks["task_list"], json!([{"userid": "zhangsan", "status": 0}]));
    let pending =
        h.post("externalcontact/get_groupmsg_send_result", json!({"msgid": msgid, "userid": "zhangsan"})).await;
    assert_eq!(pending["send_list"][0]["status"], 0);
    // Before the member confirms, customer b deletes them.
    h.fake.customer_deletes_staff(CORP, &b, "zhangsan").await.unwrap();
    h.fake.clock().advance(300);
    let outcome = h.fake.staff_confirms(CORP, &msgid, "zhangsan").unwrap();
    assert_eq!(outcome, vec![(a.clone(), 1), (b.clone(), 2)]);
    let tasks = h.post("externalcontact/get_groupmsg_task", json!({"msgid": msgid})).await;
    assert_eq!(tasks["task_list"][0]["status"], 2);
    assert_eq!(tasks["task_list"][0]["send_time"], h.fake.clock().now());
    let results =
        h.post("externalcontact/get_groupmsg_send_result", json!({"msgid": msgid, "userid": "zhangsan"})).await;
    let statuses: Vec<i64> =
        results["send_list"].as_array().unwrap().iter().map(|r| r["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, vec![1, 2]);
    let now = h.fake.clock().now();
    let list = h
        .post(
            "externalcontact/get_groupmsg_list_v2",
            json!({"chat_type": "single", "start_time": now - 3600, "end_time": now}),
        )
        .await;
    assert_eq!(list["group_msg_list"][0]["msgid"], msgid.as_str());
    assert_eq!(list["group_msg_list"][0]["text"]["content"], "会员日");
}

#[tokio::test]
async fn the_reception_cap_turns_a_recipient_into_status_3() {
    let h = Harness::start(FakeConfig { reception_cap: Some(1), ..FakeConfig::default() }).await;
    let (a, _) = h.befriend("甲", "zhangsan").await;
    let mut msgids = Vec::new();
    for _ in 0..2 {
        let body = json!({"sender": "zhangsan", "external_userid": [a], "text": {"content": "hi"}});
        msgids.push(h.post("externalcontact/add_msg_template", body).await["msgid"].as_str().unwrap().to_owned());
    }
    assert_eq!(h.fake.staff_confirms(CORP, &msgids[0], "zhangsan").unwrap(), vec![(a.clone(), 1)]);
    assert_eq!(h.fake.staff_confirms(CORP, &msgids[1], "zhangsan").unwrap(), vec![(a.clone(), 3)]);
    assert!(h.fake.staff_confirms(CORP, &msgids[1], "zhangsan").is_err(), "a task is confirmed once");
}

#[tokio::test]
async fn reminders_are_capped_and_a_cancelled_send_cannot_be_confirmed() {
    let h = Harness::start(FakeConfig::default()).await;
    let (a, _) = h.befriend("甲", "zhangsan").await;
    let body = json!({"external_userid": [a], "text": {"content": "hi"}});
    let msgid = h.post("externalcontact/add_msg_template", body).await["msgid"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(errcode(&h.post("externalcontact/remind_groupmsg_send", json!({"msgid": msgid})).await), 0);
    }
    assert_eq!(errcode(&h.post("externalcontact/remind_groupmsg_send", json!({"msgid": msgid})).await), 40058);
    h.advance(86_400).await;
    assert_eq!(errcode(&h.post("externalcontact/remind_groupmsg_send", json!({"msgid": msgid})).await), 0);
    assert_eq!(errcode(&h.post("externalcontact/cancel_groupmsg_send", json!({"msgid": msgid})).await), 0);
    assert!(h.fake.staff_confirms(CORP, &msgid, "zhangsan").is_err());
}

#[tokio::test]
async fn a_moment_task_runs_on_the_fake_clock() {
    let h = Harness::start(FakeConfig::default()).await;
    let three_videos: Vec<Value> = (0..3).map(|_| json!({"msgtype": "video", "video": {"media_id": "V"}})).collect();
    let refused = h.post("externalcontact/add_moment_task", json!({"attachments": three_videos})).await;
    assert_eq!(errcode(&refused), 40058);
    let body = json!({"text": {"content": "上新"},
                      "visible_range": {"sender_list": {"user_list": ["zhangsan", "ghost"]}}});
    let jobid = h.post("externalcontact/add_moment_task", body).await["jobid"].as_str().unwrap().to_owned();
    let status = |v: &Value| v["status"].as_i64().unwrap();
    assert_eq!(status(&h.get("externalcontact/get_moment_task_result", &[("jobid", &jobid)]).await), 1);
    h.fake.clock().advance(2);
    assert_eq!(status(&h.get("externalcontact/get_moment_task_result", &[("jobid", &jobid)]).await), 2);
    h.fake.clock().advance(8);
    let done = h.get("externalcontact/get_moment_task_result", &[("jobid", &jobid)]).await;
    assert_eq!(status(&done), 3);
    assert_eq!(done["result"]["invalid_sender_list"]["user_list"], json!(["ghost"]));
    assert!(done["result"]["moment_id"].as_str().is_some());
}

#[tokio::test]
async fn app_messages_are_recorded_with_invalid_users() {
    let h = Harness::start(FakeConfig::default()).await;
    let body =
        json!({"touser": "zhangsan|ghost", "msgtype": "text", "agentid": 1000002, "text": {"content": "新客户"}});
    let reply = h.post("message/send", body).await;
    assert_eq!(errcode(&reply), 0);
    assert_eq!(reply["invaliduser"], "ghost");
    let wrong_app = json!({"touser": "zhangsan", "msgtype": "text", "agentid": 1, "text": {"content": "x"}});
    assert_eq!(errcode(&h.post("message/send", wrong_app).await), 40056);
    let sent = h.fake.app_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].recipients, vec!["zhangsan".to_owned()]);
    let ticket = h.get("get_jsapi_ticket", &[]).await;
    assert_eq!(ticket["expires_in"], 7200);
    let agent = h.get("ticket/get", &[("type", "agent_config")]).await;
    assert_ne!(agent["ticket"], ticket["ticket"]);
    assert_eq!(h.fake.tickets(CORP).unwrap().len(), 2);
}

#[tokio::test]
async fn a_repeated_app_message_with_the_duplicate_check_reaches_nobody_until_the_interval_passes() {
    let h = Harness::start(FakeConfig::default()).await;
    let body = json!({"touser": "zhangsan", "msgtype": "text", "agentid": 1000002, "text": {"content": "待办"},
                      "enable_duplicate_check": 1, "duplicate_check_interval": 600});
    let first = h.post("message/send", body.clone()).await;
    let again = h.post("message/send", body.clone()).await;
    assert_eq!(errcode(&again), 0);
    assert_eq!(again["msgid"], first["msgid"]);
    assert_eq!(h.fake.app_messages().len(), 1);
    h.fake.clock().advance(601);
    let later = h.post("message/send", body).await;
    assert_ne!(later["msgid"], first["msgid"]);
    assert_eq!(h.fake.app_messages().len(), 2);
}
