use super::*;
use crate::api::test_support::{creds, offline_client};
use serde_json::json;

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn an_on_job_transfer_request_matches_the_contract() {
    let request = TransferCustomerRequest {
        handover_userid: "zhangsan".into(),
        takeover_userid: "lisi".into(),
        external_userid: vec!["wmA1".into(), "wmB2".into()],
        transfer_success_msg: Some("您好，您的服务已升级".into()),
    };
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"handover_userid":"zhangsan","takeover_userid":"lisi","external_userid":["wmA1","wmB2"],
               "transfer_success_msg":"您好，您的服务已升级"})
    );
    assert!(request.validate().is_ok());
}

#[test]
fn the_per_customer_errcodes_of_the_doc_example_are_read() {
    let reply: CustomerReply = serde_json::from_value(json!({"errcode": 0, "errmsg": "ok", "customer": [
        {"external_userid": "woAJ2GCAAAXtWyujaWJHDDGi0mACAAA", "errcode": 40096},
        {"external_userid": "woAJ2GCAAAXtWyujaWJHDDGi0mACBBBB", "errcode": 0}]}))
    .unwrap();
    assert_eq!(reply.customer.iter().map(|c| c.errcode).collect::<Vec<_>>(), vec![40096, 0]);
}

#[test]
fn a_resigned_transfer_request_has_no_message() {
    let customers = vec!["wmA1".to_owned()];
    let body = ResignedTransfer { handover_userid: "zhangsan", takeover_userid: "lisi", external_userid: &customers };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"handover_userid": "zhangsan", "takeover_userid": "lisi", "external_userid": ["wmA1"]})
    );
}

#[test]
fn a_transfer_result_request_and_page_match_the_contract() {
    let body = TransferResultRequest { handover_userid: "zhangsan", takeover_userid: "lisi", cursor: "" };
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"handover_userid": "zhangsan", "takeover_userid": "lisi", "cursor": ""})
    );
    let page: TransferResultPage = serde_json::from_value(json!({"customer": [
        {"external_userid": "wmA1", "status": 1, "takeover_time": 1700000000},
        {"external_userid": "wmB2", "status": 2, "takeover_time": 1700086400}], "next_cursor": "n"}))
    .unwrap();
    assert_eq!((page.customer[1].status, page.customer[1].takeover_time), (2, 1_700_086_400));
    assert_eq!(page.next_cursor, "n");
}

#[test]
fn an_unassigned_request_uses_page_size_and_its_page_is_read() {
    let body = UnassignedRequest { cursor: "", page_size: 1000 };
    assert_eq!(serde_json::to_value(&body).unwrap(), json!({"cursor": "", "page_size": 1000}));
    let page: UnassignedPage = serde_json::from_value(json!({"info": [
        {"handover_userid": "zhangsan", "external_userid": "wmA1", "dimission_time": 1550838571}],
        "is_last": false, "next_cursor": "aSfwejksvhToiMMfFeIGZZ"}))
    .unwrap();
    assert_eq!(page.info[0].dimission_time, 1_550_838_571);
    assert!(!page.is_last);
    assert_eq!(page.next_cursor, "aSfwejksvhToiMMfFeIGZZ");
}

#[test]
fn a_group_transfer_request_and_reply_match_the_contract() {
    let chats = vec!["wrA1".to_owned(), "wrB2".to_owned()];
    let body = GroupTransfer { chat_id_list: &chats, new_owner: "lisi" };
    assert_eq!(serde_json::to_value(&body).unwrap(), json!({"chat_id_list": ["wrA1", "wrB2"], "new_owner": "lisi"}));
    let reply: GroupTransferReply = serde_json::from_value(json!({"failed_chat_list": [
        {"chat_id": "wrB2", "errcode": 90500, "errmsg": "the owner of this chat is not resigned"}]}))
    .unwrap();
    assert_eq!((reply.failed_chat_list[0].chat_id.as_str(), reply.failed_chat_list[0].errcode), ("wrB2", 90500));
}

#[test]
fn a_transfer_over_a_hundred_customers_or_with_a_long_message_is_refused() {
    let base = TransferCustomerRequest {
        handover_userid: "zhangsan".into(),
        takeover_userid: "lisi".into(),
        external_userid: ids("wm", 100),
        transfer_success_msg: None,
    };
    assert!(base.validate().is_ok());
    let many = TransferCustomerRequest { external_userid: ids("wm", 101), ..base.clone() };
    assert!(matches!(many.validate(), Err(WecomError::Invalid(_))));
    let long = TransferCustomerRequest { transfer_success_msg: Some("字".repeat(201)), ..base.clone() };
    assert!(matches!(long.validate(), Err(WecomError::Invalid(_))));
    let none = TransferCustomerRequest { external_userid: vec![], ..base };
    assert!(matches!(none.validate(), Err(WecomError::Invalid(_))));
}

#[tokio::test]
async fn over_limit_transfers_are_refused_before_sending() {
    let client = offline_client();
    let err = client.resigned_transfer_customer(&creds(), "a", "b", &ids("wm", 101)).await.unwrap_err();
    assert!(matches!(err, WecomError::Invalid(_)));
    let err = client.groupchat_transfer(&creds(), &ids("wr", 101), "lisi").await.unwrap_err();
    assert!(matches!(err, WecomError::Invalid(_)));
    let err = client.groupchat_onjob_transfer(&creds(), &ids("wr", 1), "").await.unwrap_err();
    assert!(matches!(err, WecomError::Invalid(_)));
    let err = client.get_unassigned_list(&creds(), "", 1001).await.unwrap_err();
    assert!(matches!(err, WecomError::Invalid(_)));
}
