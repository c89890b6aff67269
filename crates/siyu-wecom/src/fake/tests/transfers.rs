//! On-job and resigned transfers, unassigned customers and group ownership.

use serde_json::{Value, json};

use super::{CORP, Harness, errcode};
use crate::fake::FakeConfig;

fn codes(reply: &Value) -> Vec<i64> {
    reply["customer"].as_array().unwrap().iter().map(|c| c["errcode"].as_i64().unwrap()).collect()
}

async fn transfer(h: &Harness, from: &str, to: &str, customers: &[&str]) -> Value {
    let body = json!({"handover_userid": from, "takeover_userid": to, "external_userid": customers});
    h.post("externalcontact/transfer_customer", body).await
}

async fn result(h: &Harness, from: &str, to: &str) -> Value {
    h.post("externalcontact/transfer_result", json!({"handover_userid": from, "takeover_userid": to})).await
}

#[tokio::test]
async fn an_on_job_transfer_is_taken_over_after_24_hours() {
    let h = Harness::start(FakeConfig::default()).await;
    let (a, _) = h.befriend("甲", "zhangsan").await;
    let reply = transfer(&h, "zhangsan", "lisi", &[&a, "wmghost"]).await;
    assert_eq!(codes(&reply), vec![0, 40096]);
    let started = h.fake.clock().now();
    assert_eq!(codes(&transfer(&h, "zhangsan", "lisi", &[&a]).await), vec![40129], "already waiting");
    let waiting = result(&h, "zhangsan", "lisi").await;
    assert_eq!(waiting["customer"][0]["status"], 2);
    assert_eq!(waiting["customer"][0]["takeover_time"], started + 86_400);
    h.advance(86_399).await;
    assert_eq!(result(&h, "zhangsan", "lisi").await["customer"][0]["status"], 2);
    h.advance(1).await;
    assert_eq!(result(&h, "zhangsan", "lisi").await["customer"][0]["status"], 1);
    let got = h.get("externalcontact/get", &[("external_userid", &a)]).await;
    assert_eq!(got["follow_user"].as_array().unwrap().len(), 1);
    assert_eq!(got["follow_user"][0]["userid"], "lisi");
    let pushed = h.fake.deliver_pending(CORP).await.unwrap();
    assert_eq!(pushed.events, 2);
    let xml = h.fake.pushes().into_iter().map(|p| p.xml).collect::<Vec<_>>();
    assert!(xml.iter().any(|x| x.contains("<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>")));
}

#[tokio::test]
async fn a_customer_is_transferred_at_most_twice_in_90_days() {
    let h = Harness::start(FakeConfig { transfer_limit_errcode: 40130, ..FakeConfig::default() }).await;
    h.fake.add_staff(CORP, "wangwu", "王五", &[]).unwrap();
    let (a, _) = h.befriend("甲", "zhangsan").await;
    assert_eq!(codes(&transfer(&h, "zhangsan", "lisi", &[&a]).await), vec![0]);
    h.advance(86_400).await;
    assert_eq!(codes(&transfer(&h, "lisi", "wangwu", &[&a]).await), vec![0]);
    h.advance(86_400).await;
    assert_eq!(codes(&transfer(&h, "wangwu", "zhangsan", &[&a]).await), vec![40130]);
    h.advance(90 * 86_400).await;
    assert_eq!(codes(&transfer(&h, "wangwu", "zhangsan", &[&a]).await), vec![0]);
    let too_many: Vec<String> = (0..101).map(|i| format!("wm{i}")).collect();
    let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
    assert_eq!(errcode(&transfer(&h, "wangwu", "zhangsan", &refs).await), 40058);
}

#[tokio::test]
async fn a_refused_transfer_reports_status_3_and_pushes_transfer_fail() {
    let h = Harness::start(FakeConfig::default()).await;
    let (a, _) = h.befriend("甲", "zhangsan").await;
    transfer(&h, "zhangsan", "lisi", &[&a]).await;
    h.fake.customer_refuses_transfer(CORP, &a).await.unwrap();
    let refused = result(&h, "zhangsan", "lisi").await;
    assert_eq!(
        (refused["customer"][0]["status"].as_i64(), refused["customer"][0]["takeover_time"].as_i64()),
        (Some(3), Some(0))
    );
    let xml = h.fake.pushes().pop().unwrap().xml;
    assert!(xml.contains(
        "<ChangeType><![CDATA[transfer_fail]]></ChangeType><FailReason><![CDATA[customer_refused]]></FailReason>\
         <UserID><![CDATA[lisi]]></UserID>"
    ));
    h.advance(2 * 86_400).await;
    let got = h.get("externalcontact/get", &[("external_userid", &a)]).await;
    assert_eq!(got["follow_user"][0]["userid"], "zhangsan", "the relation stays");
}

#[tokio::test]
async fn a_leaver_s_customers_are_unassigned_until_reassigned() {
    let h = Harness::start(FakeConfig::default()).await;
    let (a, _) = h.befriend("甲", "zhangsan").await;
    let (b, _) = h.befriend("乙", "zhangsan").await;
    let group = h.fake.create_group(CORP, "zhangsan", "老客群", &[&a]).await.unwrap();
    let leaving = h.fake.staff_leaves(CORP, "zhangsan").await.unwrap();
    assert_eq!(leaving.attempts, 0, "no callback url: recorded, not delivered");
    assert!(h.fake.pushes().pop().unwrap().xml.contains("<ChangeType><![CDATA[delete_user]]></ChangeType>"));
    let users = h.get("user/list", &[("department_id", "1")]).await;
    assert_eq!(users["userlist"][0]["status"], 5);
    let list = h.post("externalcontact/get_unassigned_list", json!({"page_size": 1})).await;
    assert_eq!(list["info"][0]["external_userid"], a.as_str());
    assert_eq!(list["is_last"], false);
    let on_job = transfer(&h, "zhangsan", "lisi", &[&a]).await;
    assert_eq!(errcode(&on_job), 40058, "a leaver's customers go through resigned transfer");
    let body = json!({"handover_userid": "zhangsan", "takeover_userid": "lisi", "external_userid": [a]});
    assert_eq!(codes(&h.post("externalcontact/resigned/transfer_customer", body).await), vec![0]);
    let rest = h.post("externalcontact/get_unassigned_list", json!({})).await;
    assert_eq!(rest["info"].as_array().unwrap().len(), 1);
    assert_eq!(rest["info"][0]["external_userid"], b.as_str());
    assert_eq!(rest["is_last"], true);
    let resigned_groups = h.post("externalcontact/groupchat/list", json!({"status_filter": 1})).await;
    assert_eq!(resigned_groups["group_chat_list"][0]["chat_id"], group.chat_id.as_str());
    let moved = h
        .post(
            "externalcontact/groupchat/transfer",
            json!({"chat_id_list": [group.chat_id, "wrghost"], "new_owner": "lisi"}),
        )
        .await;
    assert_eq!(moved["failed_chat_list"].as_array().unwrap().len(), 1);
    assert_eq!(moved["failed_chat_list"][0]["chat_id"], "wrghost");
    let got = h.post("externalcontact/groupchat/get", json!({"chat_id": group.chat_id})).await;
    assert_eq!(got["group_chat"]["owner"], "lisi");
    h.advance(86_400).await;
    let done = h
        .post(
            "externalcontact/resigned/transfer_result",
            json!({"handover_userid": "zhangsan", "takeover_userid": "lisi"}),
        )
        .await;
    assert_eq!(done["customer"][0]["status"], 1);
    assert_eq!(h.post("externalcontact/get_unassigned_list", json!({})).await["info"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn group_lists_page_and_dismissed_groups_disappear() {
    let h = Harness::start(FakeConfig::default()).await;
    let mut chats = Vec::new();
    for i in 0..3 {
        chats.push(h.fake.create_group(CORP, "zhangsan", &format!("群{i}"), &[]).await.unwrap().chat_id);
    }
    h.fake.create_group(CORP, "lisi", "别人的群", &[]).await.unwrap();
    let first = h
        .post("externalcontact/groupchat/list", json!({"owner_filter": {"userid_list": ["zhangsan"]}, "limit": 2}))
        .await;
    assert_eq!(first["group_chat_list"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    h.fake.dismiss_group(CORP, &chats[0]).await.unwrap();
    let second = h
        .post(
            "externalcontact/groupchat/list",
            json!({"owner_filter": {"userid_list": ["zhangsan"]}, "cursor": cursor, "limit": 2}),
        )
        .await;
    assert_eq!(second["group_chat_list"], json!([{"chat_id": chats[2], "status": 0}]));
    assert_eq!(second["next_cursor"], "");
    let gone = h.post("externalcontact/groupchat/get", json!({"chat_id": chats[0]})).await;
    assert_eq!(errcode(&gone), 40050);
    let before =
        h.post("externalcontact/groupchat/get", json!({"chat_id": chats[1]})).await["group_chat"]["member_version"]
            .clone();
    h.fake.join_group(CORP, &chats[1], "lisi", 1).await.unwrap();
    h.fake.leave_group(CORP, &chats[1], "lisi", 0).await.unwrap();
    let after =
        h.post("externalcontact/groupchat/get", json!({"chat_id": chats[1]})).await["group_chat"]["member_version"]
            .clone();
    assert_ne!(before, after);
    let xml = h.fake.pushes().pop().unwrap().xml;
    assert!(
        xml.contains("<UpdateDetail><![CDATA[del_member]]></UpdateDetail>") && xml.contains("<QuitScene>0</QuitScene>")
    );
}
