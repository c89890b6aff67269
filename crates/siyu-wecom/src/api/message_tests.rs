use super::*;
use crate::api::test_support::{creds, offline_client};
use serde_json::json;

fn text(content: &str) -> AppMessageBody {
    AppMessageBody::Text { text: Text::new(content) }
}

#[test]
fn a_text_message_is_the_contract_example() {
    let message = AppMessage {
        agentid: Some(1_000_002),
        enable_duplicate_check: true,
        ..AppMessage::new(text("新客户待跟进")).to_users(&["zhangsan", "lisi"])
    };
    assert_eq!(
        serde_json::to_value(&message).unwrap(),
        json!({"touser":"zhangsan|lisi","msgtype":"text","agentid":1000002,"text":{"content":"新客户待跟进"},
               "enable_duplicate_check":1})
    );
}

#[test]
fn textcard_and_markdown_messages_carry_their_own_key() {
    let card = AppMessageBody::Textcard {
        textcard: TextCard {
            title: "转接提醒".into(),
            description: "<div>3 位客户</div>".into(),
            url: "https://siyu.example/t".into(),
            btntxt: None,
        },
    };
    let message = AppMessage::new(card).to_parties(&[2, 3]).to_tags(&[7]);
    assert_eq!(
        serde_json::to_value(&message).unwrap(),
        json!({"toparty":"2|3","totag":"7","msgtype":"textcard",
               "textcard":{"title":"转接提醒","description":"<div>3 位客户</div>","url":"https://siyu.example/t"}})
    );
    let markdown =
        AppMessage::new(AppMessageBody::Markdown { markdown: Text::new("**今日** 3 位") }).to_users(&["@all"]);
    assert_eq!(
        serde_json::to_value(&markdown).unwrap(),
        json!({"touser":"@all","msgtype":"markdown","markdown":{"content":"**今日** 3 位"}})
    );
}

#[test]
fn a_stored_message_reads_back() {
    let message = AppMessage { agentid: Some(1), ..AppMessage::new(text("hi")).to_users(&["a"]) };
    let back: AppMessage = serde_json::from_value(serde_json::to_value(&message).unwrap()).unwrap();
    assert_eq!(back, message);
}

#[test]
fn a_message_needs_a_recipient_and_a_bounded_text() {
    assert!(matches!(AppMessage::new(text("hi")).validate(), Err(WecomError::Invalid(_))));
    assert!(matches!(AppMessage::new(text("hi")).to_users::<&str>(&[]).validate(), Err(WecomError::Invalid(_))));
    let long = AppMessage::new(text(&"a".repeat(2_049))).to_users(&["a"]);
    assert!(matches!(long.validate(), Err(WecomError::Invalid(_))));
    let at_cap = AppMessage::new(text(&"a".repeat(2_048))).to_users(&["a"]);
    assert!(at_cap.validate().is_ok());
    let users: Vec<String> = (0..1_001).map(|i| format!("u{i}")).collect();
    assert!(matches!(AppMessage::new(text("hi")).to_users(&users).validate(), Err(WecomError::Invalid(_))));
}

#[test]
fn a_send_reply_is_read() {
    let reply: MessageSendResult =
        serde_json::from_value(json!({"errcode": 0, "errmsg": "ok", "invaliduser": "userid1",
        "invalidparty": "", "invalidtag": "", "unlicenseduser": "", "msgid": "xx", "response_code": "xyz"}))
        .unwrap();
    assert_eq!((reply.invaliduser.as_str(), reply.msgid.as_str()), ("userid1", "xx"));
}

#[test]
fn a_ticket_reply_is_read() {
    let ticket: Ticket =
        serde_json::from_value(json!({"errcode": 0, "errmsg": "ok", "ticket": "bxLdikRX", "expires_in": 7200}))
            .unwrap();
    assert_eq!((ticket.ticket.as_str(), ticket.expires_in), ("bxLdikRX", 7200));
}

#[test]
fn a_behavior_request_and_reply_match_the_contract() {
    let request = BehaviorRequest {
        userid: vec!["zhangsan".into()],
        partyid: vec![2],
        start_time: 1_700_000_000,
        end_time: 1_700_086_400,
    };
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"userid": ["zhangsan"], "partyid": [2], "start_time": 1700000000, "end_time": 1700086400})
    );
    let reply: BehaviorReply = serde_json::from_value(json!({"behavior_data": [{"stat_time": 1700000000,
        "chat_cnt": 2, "message_cnt": 14, "reply_percentage": 100.0, "avg_reply_time": 1, "negative_feedback_cnt": 0,
        "new_apply_cnt": 1, "new_contact_cnt": 3}, {"stat_time": 1700086400, "new_apply_cnt": 0}]}))
    .unwrap();
    assert_eq!(reply.behavior_data.len(), 2);
    assert_eq!(reply.behavior_data[0].avg_reply_time, 1.0);
    assert_eq!(reply.behavior_data[0].new_contact_cnt, 3);
    assert_eq!(reply.behavior_data[1].chat_cnt, 0);
}

#[tokio::test]
async fn invalid_messages_and_behavior_requests_are_refused_before_sending() {
    let client = offline_client();
    let no_agent = crate::client::CorpCredentials { agent_id: None, ..creds() };
    let message = AppMessage::new(text("hi")).to_users(&["a"]);
    assert!(matches!(client.message_send(&no_agent, &message).await, Err(WecomError::Invalid(_))));
    let nobody = BehaviorRequest::default();
    assert!(matches!(client.user_behavior_data(&creds(), &nobody).await, Err(WecomError::Invalid(_))));
    let many = BehaviorRequest { userid: (0..101).map(|i| format!("u{i}")).collect(), ..BehaviorRequest::default() };
    assert!(matches!(client.user_behavior_data(&creds(), &many).await, Err(WecomError::Invalid(_))));
}
