use super::*;
use crate::api::test_support::{creds, offline_client};
use serde_json::json;

fn contract_way() -> ContactWay {
    ContactWay {
        kind: 2,
        scene: 2,
        remark: Some("门店A".into()),
        skip_verify: Some(true),
        state: Some("qr-42".into()),
        user: vec!["zhangsan".into()],
        party: vec![2],
        ..ContactWay::default()
    }
}

fn join_way() -> JoinWay {
    JoinWay {
        scene: 2,
        remark: Some("社群A".into()),
        auto_create_room: Some(1),
        room_base_name: Some("会员群".into()),
        room_base_id: Some(1),
        chat_id_list: vec!["wrA1".into(), "wrB2".into()],
        state: Some("grp-7".into()),
        ..JoinWay::default()
    }
}

#[test]
fn an_add_contact_way_request_is_the_contract_example() {
    assert_eq!(
        serde_json::to_value(contract_way()).unwrap(),
        json!({"type":2,"scene":2,"remark":"门店A","skip_verify":true,"state":"qr-42","user":["zhangsan"],"party":[2]})
    );
    assert!(contract_way().validate().is_ok());
}

#[test]
fn the_add_contact_way_fixture_is_read() {
    let created: ContactWayCreated = serde_json::from_value(json!({"errcode": 0, "errmsg": "ok",
        "config_id": "42b34949e138eb6e027c123cba77fad7", "qr_code": "https://p.qpic.cn/wwhead/x"}))
    .unwrap();
    assert_eq!(created.config_id, "42b34949e138eb6e027c123cba77fad7");
    assert_eq!(created.qr_code, "https://p.qpic.cn/wwhead/x");
}

#[test]
fn a_get_contact_way_reply_is_read() {
    let reply: ContactWayReply = serde_json::from_value(json!({"contact_way": {
        "config_id": "42b3", "type": 1, "scene": 2, "style": 2, "remark": "门店A", "skip_verify": true,
        "state": "qr-42", "qr_code": "https://q", "user": ["zhangsan"], "party": [], "is_temp": false,
        "expires_in": 86400, "chat_expires_in": 86400, "unionid": "", "is_exclusive": true,
        "conclusions": {"text": {"content": "再见"}}}}))
    .unwrap();
    let way = reply.contact_way;
    assert_eq!((way.config_id.as_str(), way.kind, way.scene, way.style), ("42b3", 1, 2, Some(2)));
    assert_eq!(way.state.as_deref(), Some("qr-42"));
    assert_eq!(way.is_exclusive, Some(true));
    assert_eq!(way.qr_code, "https://q");
}

#[test]
fn a_state_or_remark_over_thirty_characters_is_refused() {
    let way = ContactWay { state: Some("s".repeat(31)), ..contract_way() };
    assert!(matches!(way.validate(), Err(WecomError::Invalid(_))));
    let way = ContactWay { state: Some("状".repeat(30)), remark: Some("备".repeat(31)), ..contract_way() };
    assert!(matches!(way.validate(), Err(WecomError::Invalid(_))));
    let way = ContactWay { state: Some("状".repeat(30)), remark: Some("备".repeat(30)), ..contract_way() };
    assert!(way.validate().is_ok());
}

#[test]
fn a_single_staff_way_takes_exactly_one_user() {
    let way = ContactWay { kind: 1, user: vec!["a".into(), "b".into()], party: vec![], ..contract_way() };
    assert!(matches!(way.validate(), Err(WecomError::Invalid(_))));
    let way = ContactWay { kind: 1, user: vec!["a".into()], party: vec![], ..contract_way() };
    assert!(way.validate().is_ok());
}

#[test]
fn an_update_sends_the_id_and_only_what_changes() {
    let request = UpdateContactWayRequest {
        config_id: "42b3".into(),
        state: Some("qr-43".into()),
        user: Some(vec![]),
        ..UpdateContactWayRequest::default()
    };
    assert_eq!(serde_json::to_value(&request).unwrap(), json!({"config_id": "42b3", "state": "qr-43", "user": []}));
}

#[test]
fn a_list_request_and_page_match_the_contract() {
    let request = ListContactWayRequest {
        start_time: Some(1_700_000_000),
        cursor: String::new(),
        limit: 1000,
        ..Default::default()
    };
    assert_eq!(serde_json::to_value(&request).unwrap(), json!({"start_time": 1700000000, "cursor": "", "limit": 1000}));
    let page: ContactWayPage =
        serde_json::from_value(json!({"contact_way": [{"config_id": "c1"}, {"config_id": "c2"}], "next_cursor": "n"}))
            .unwrap();
    assert_eq!(page.contact_way[1].config_id, "c2");
    assert_eq!(page.next_cursor, "n");
}

#[test]
fn an_add_join_way_request_matches_the_contract() {
    assert_eq!(
        serde_json::to_value(join_way()).unwrap(),
        json!({"scene":2,"remark":"社群A","auto_create_room":1,"room_base_name":"会员群","room_base_id":1,
               "chat_id_list":["wrA1","wrB2"],"state":"grp-7"})
    );
}

#[test]
fn an_update_join_way_request_is_the_add_request_with_its_id() {
    let way = JoinWay { config_id: "9ad7".into(), ..join_way() };
    let mut want = serde_json::to_value(join_way()).unwrap();
    want["config_id"] = json!("9ad7");
    assert_eq!(serde_json::to_value(&way).unwrap(), want);
}

#[test]
fn a_get_join_way_reply_is_read() {
    let reply: JoinWayReply = serde_json::from_value(json!({"join_way": {"config_id": "9ad7", "scene": 2,
        "remark": "社群A", "auto_create_room": 1, "room_base_name": "会员群", "room_base_id": 10,
        "chat_id_list": ["wrA1"], "qr_code": "https://q", "state": "grp-7"}}))
    .unwrap();
    assert_eq!(reply.join_way.chat_id_list, vec!["wrA1"]);
    assert_eq!(reply.join_way.qr_code, "https://q");
    assert_eq!(reply.join_way.room_base_id, Some(10));
}

#[test]
fn a_join_way_over_five_groups_or_with_none_is_refused() {
    let six = JoinWay { chat_id_list: (0..6).map(|i| format!("wr{i}")).collect(), ..join_way() };
    assert!(matches!(six.validate(), Err(WecomError::Invalid(_))));
    let none = JoinWay { chat_id_list: vec![], ..join_way() };
    assert!(matches!(none.validate(), Err(WecomError::Invalid(_))));
    let five = JoinWay { chat_id_list: (0..5).map(|i| format!("wr{i}")).collect(), ..join_way() };
    assert!(five.validate().is_ok());
    let long_state = JoinWay { state: Some("s".repeat(31)), ..join_way() };
    assert!(matches!(long_state.validate(), Err(WecomError::Invalid(_))));
}

#[tokio::test]
async fn invalid_ways_are_refused_before_sending() {
    let client = offline_client();
    let way = ContactWay { state: Some("s".repeat(31)), ..contract_way() };
    assert!(matches!(client.add_contact_way(&creds(), &way).await, Err(WecomError::Invalid(_))));
    let update = UpdateContactWayRequest { config_id: "c".into(), remark: Some("r".repeat(31)), ..Default::default() };
    assert!(matches!(client.update_contact_way(&creds(), &update).await, Err(WecomError::Invalid(_))));
    let six = JoinWay { chat_id_list: (0..6).map(|i| format!("wr{i}")).collect(), ..join_way() };
    assert!(matches!(client.add_join_way(&creds(), &six).await, Err(WecomError::Invalid(_))));
    assert!(matches!(client.update_join_way(&creds(), &join_way()).await, Err(WecomError::Invalid(_))));
}
