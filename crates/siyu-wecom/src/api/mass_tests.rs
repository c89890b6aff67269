use super::*;
use crate::api::test_support::{creds, offline_client};
use crate::api::welcome::LinkAttachment;
use serde_json::json;

fn contract_template() -> MsgTemplate {
    MsgTemplate {
        chat_type: ChatType::Single,
        external_userid: vec!["wmA1".into(), "wmB2".into()],
        sender: Some("zhangsan".into()),
        text: Some(Text::new("会员日")),
        attachments: vec![Attachment::Link {
            link: LinkAttachment {
                title: "…".into(),
                picurl: Some("https://…".into()),
                desc: Some("…".into()),
                url: "https://…".into(),
                media_id: None,
            },
        }],
        ..MsgTemplate::default()
    }
}

#[test]
fn an_add_msg_template_request_is_the_contract_example() {
    assert_eq!(
        serde_json::to_value(contract_template()).unwrap(),
        json!({"chat_type":"single","external_userid":["wmA1","wmB2"],"sender":"zhangsan","text":{"content":"会员日"},
               "attachments":[{"msgtype":"link","link":{"title":"…","picurl":"https://…","desc":"…","url":"https://…"}}]})
    );
    assert!(contract_template().validate().is_ok());
}

#[test]
fn the_add_msg_template_fixture_is_read() {
    let result: MsgTemplateResult = serde_json::from_value(json!({"errcode": 0, "errmsg": "ok",
        "fail_list": ["wmqfasd1e19278asdasdasd"], "msgid": "msgGCAAAXtWyujaWJHDDGi0mACas1w"}))
    .unwrap();
    assert_eq!(result.fail_list, vec!["wmqfasd1e19278asdasdasd"]);
    assert_eq!(result.msgid, "msgGCAAAXtWyujaWJHDDGi0mACas1w");
}

#[test]
fn a_group_send_with_a_tag_filter_serializes_its_options() {
    let template = MsgTemplate {
        chat_type: ChatType::Group,
        chat_id_list: vec!["wrA1".into()],
        tag_filter: Some(TagFilter { group_list: vec![TagFilterGroup { tag_list: vec!["etX1".into()] }] }),
        sender: Some("zhangsan".into()),
        allow_select: Some(true),
        text: Some(Text::new("群发")),
        ..MsgTemplate::default()
    };
    assert_eq!(
        serde_json::to_value(&template).unwrap(),
        json!({"chat_type":"group","chat_id_list":["wrA1"],"tag_filter":{"group_list":[{"tag_list":["etX1"]}]},
               "sender":"zhangsan","allow_select":true,"text":{"content":"群发"}})
    );
}

#[test]
fn over_limit_mass_sends_are_refused() {
    let too_many =
        MsgTemplate { external_userid: (0..10_001).map(|i| format!("wm{i}")).collect(), ..contract_template() };
    assert!(matches!(too_many.validate(), Err(WecomError::Invalid(_))));
    let at_cap =
        MsgTemplate { external_userid: (0..10_000).map(|i| format!("wm{i}")).collect(), ..contract_template() };
    assert!(at_cap.validate().is_ok());
    let chats = MsgTemplate { chat_id_list: (0..2_001).map(|i| format!("wr{i}")).collect(), ..contract_template() };
    assert!(matches!(chats.validate(), Err(WecomError::Invalid(_))));
    // 1,334 three-byte characters: under 4,000 characters, over 4,000 bytes.
    let long = MsgTemplate { text: Some(Text::new("会".repeat(1_334))), ..contract_template() };
    assert!(matches!(long.validate(), Err(WecomError::Invalid(_))));
    let ten = MsgTemplate {
        attachments: (0..10).map(|i| Attachment::image(format!("M{i}"))).collect(),
        ..contract_template()
    };
    assert!(matches!(ten.validate(), Err(WecomError::Invalid(_))));
}

#[test]
fn a_group_send_needs_a_sender_and_every_send_needs_content() {
    let no_sender = MsgTemplate { chat_type: ChatType::Group, sender: None, ..contract_template() };
    assert!(matches!(no_sender.validate(), Err(WecomError::Invalid(_))));
    let empty = MsgTemplate { text: None, attachments: vec![], ..contract_template() };
    assert!(matches!(empty.validate(), Err(WecomError::Invalid(_))));
}

#[test]
fn a_groupmsg_list_request_and_page_match_the_contract() {
    let request = GroupMsgListRequest {
        chat_type: ChatType::Single,
        start_time: 1_700_000_000,
        end_time: 1_700_086_400,
        filter_type: Some(2),
        limit: 100,
        ..GroupMsgListRequest::default()
    };
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"chat_type":"single","start_time":1700000000,"end_time":1700086400,"filter_type":2,"cursor":"","limit":100})
    );
    let page: GroupMsgPage = serde_json::from_value(json!({"group_msg_list": [{"msgid": "msgA", "creator": "zhangsan",
        "create_time": "1700000000", "create_type": 1, "text": {"content": "会员日"},
        "attachments": [{"msgtype": "image", "image": {"media_id": "M", "pic_url": "https://p"}}]}],
        "next_cursor": ""}))
    .unwrap();
    let msg = &page.group_msg_list[0];
    assert_eq!((msg.create_time, msg.create_type), (1_700_000_000, 1));
    assert_eq!(msg.attachments[0].msgtype(), "image");
}

#[test]
fn task_and_result_requests_and_pages_match_the_contract() {
    let task = TaskRequest { msgid: "msgA", userid: None, cursor: "", limit: 1000 };
    assert_eq!(serde_json::to_value(&task).unwrap(), json!({"msgid": "msgA", "cursor": "", "limit": 1000}));
    let result = TaskRequest { msgid: "msgA", userid: Some("zhangsan"), cursor: "c", limit: 500 };
    assert_eq!(
        serde_json::to_value(&result).unwrap(),
        json!({"msgid": "msgA", "userid": "zhangsan", "cursor": "c", "limit": 500})
    );
    let tasks: GroupMsgTaskPage = serde_json::from_value(json!({"task_list": [
        {"userid": "zhangsan", "status": 2, "send_time": 1700000100}, {"userid": "lisi", "status": 0}]}))
    .unwrap();
    assert_eq!((tasks.task_list[0].send_time, tasks.task_list[1].send_time), (1_700_000_100, 0));
    let sends: SendResultPage = serde_json::from_value(json!({"send_list": [
        {"external_userid": "wmA1", "userid": "zhangsan", "status": 1, "send_time": 1700000100},
        {"chat_id": "wrA1", "userid": "zhangsan", "status": 3, "send_time": 0}], "next_cursor": "n"}))
    .unwrap();
    assert_eq!(sends.send_list[0].external_userid, "wmA1");
    assert_eq!((sends.send_list[1].chat_id.as_str(), sends.send_list[1].status), ("wrA1", 3));
}

#[test]
fn remind_and_cancel_send_only_the_msgid() {
    assert_eq!(serde_json::to_value(MsgId { msgid: "msgA" }).unwrap(), json!({"msgid": "msgA"}));
}

#[tokio::test]
async fn invalid_mass_requests_are_refused_before_sending() {
    let client = offline_client();
    let chats = MsgTemplate { chat_id_list: (0..2_001).map(|i| format!("wr{i}")).collect(), ..contract_template() };
    assert!(matches!(client.add_msg_template(&creds(), &chats).await, Err(WecomError::Invalid(_))));
    let list = GroupMsgListRequest { limit: 101, ..GroupMsgListRequest::default() };
    assert!(matches!(client.get_groupmsg_list_v2(&creds(), &list).await, Err(WecomError::Invalid(_))));
    assert!(matches!(client.get_groupmsg_task(&creds(), "m", "", 1001).await, Err(WecomError::Invalid(_))));
}
