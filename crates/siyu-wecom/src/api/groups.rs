//! Customer groups (客户群, reference/wecom.md §4.5): the list, one group's members, and the per-owner statistics.
//! Join ways live in `ways.rs`.

use serde::{Deserialize, Serialize};

use super::common::{check_count, flag};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// The largest `limit` of `groupchat/list` and `groupchat/statistic`.
pub const GROUPCHAT_LIST_MAX_LIMIT: u32 = 1000;
/// The most owners in an `owner_filter`.
pub const OWNER_FILTER_MAX: usize = 100;

/// A filter on group owners.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OwnerFilter {
    /// The owners' userids (≤100).
    pub userid_list: Vec<String>,
}

/// One entry of `groupchat/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupChatStatus {
    /// The group id (`wr…`).
    pub chat_id: String,
    /// 0 normal, 1 owner resigned, 2 inheriting, 3 inherited.
    pub status: i64,
}

/// A page of `groupchat/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupChatPage {
    /// The groups of this page.
    pub group_chat_list: Vec<GroupChatStatus>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// Who invited a member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Invitor {
    /// The inviting staff member's userid.
    pub userid: String,
}

/// A member of a customer group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMember {
    /// A staff userid or a customer's external_userid.
    pub userid: String,
    /// 1 staff, 2 external.
    #[serde(rename = "type")]
    pub kind: i64,
    /// The customer's unionid (external WeChat members, open platform bound).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub unionid: String,
    /// When they joined (unix seconds).
    pub join_time: i64,
    /// 1 direct invite, 2 invite link, 3 QR code.
    pub join_scene: i64,
    /// Who invited them (absent when they joined by themselves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitor: Option<Invitor>,
    /// Their nickname in the group.
    pub group_nickname: String,
    /// Their name (only with `need_name`).
    pub name: String,
    /// The `state` of the join way they came through.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub state: String,
}

/// A group administrator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupAdmin {
    /// The admin's userid.
    pub userid: String,
}

/// A customer group with its members (`groupchat/get`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupChat {
    /// The group id.
    pub chat_id: String,
    /// The group name.
    pub name: String,
    /// The owner's userid.
    pub owner: String,
    /// Creation time (unix seconds).
    pub create_time: i64,
    /// The group notice.
    pub notice: String,
    /// The members.
    pub member_list: Vec<GroupMember>,
    /// The administrators.
    pub admin_list: Vec<GroupAdmin>,
    /// Changes whenever the member list does.
    pub member_version: String,
}

/// The body of `groupchat/statistic` (day-start timestamps, ≤180 days back).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatisticRequest {
    /// The first day (its 00:00, unix seconds).
    pub day_begin_time: i64,
    /// The last day; the first only when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day_end_time: Option<i64>,
    /// The owners to report on (required in practice: 81017 past 1000 owners).
    pub owner_filter: OwnerFilter,
    /// The offset of this page.
    pub offset: u32,
    /// Page size, ≤1000.
    pub limit: u32,
}

/// One owner's numbers over the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupStatisticData {
    /// New groups.
    pub new_chat_cnt: i64,
    /// Groups in all.
    pub chat_total: i64,
    /// Groups with messages.
    pub chat_has_msg: i64,
    /// New members.
    pub new_member_cnt: i64,
    /// Members in all.
    pub member_total: i64,
    /// Members who spoke.
    pub member_has_msg: i64,
    /// Messages in all.
    pub msg_total: i64,
}

/// One row of `groupchat/statistic`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupStatisticItem {
    /// The owner's userid.
    pub owner: String,
    /// The owner's numbers.
    pub data: GroupStatisticData,
}

/// A page of `groupchat/statistic`; the last when `next_offset == total`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupStatistic {
    /// Rows in all.
    pub total: i64,
    /// The offset of the next page.
    pub next_offset: i64,
    /// The rows of this page.
    pub items: Vec<GroupStatisticItem>,
}

#[derive(Serialize)]
struct GroupChatListRequest<'a> {
    status_filter: i64,
    owner_filter: OwnerFilter,
    cursor: &'a str,
    limit: u32,
}

#[derive(Serialize)]
struct GroupChatGetRequest<'a> {
    chat_id: &'a str,
    #[serde(with = "flag")]
    need_name: bool,
}

#[derive(Deserialize)]
struct GroupChatReply {
    #[serde(default)]
    group_chat: GroupChat,
}

impl Client {
    /// `externalcontact/groupchat/list`: a page of groups with `status_filter` (0 all, 1 awaiting inheritance,
    /// 2 inheriting, 3 inherited), of the given owners (≤100; all when empty), `limit` ≤1000.
    pub async fn groupchat_list(
        &self,
        creds: &CorpCredentials,
        status_filter: i64,
        owner_userids: &[String],
        cursor: &str,
        limit: u32,
    ) -> Result<GroupChatPage, WecomError> {
        check_count("owner_filter.userid_list", owner_userids.len(), OWNER_FILTER_MAX)?;
        check_count("limit", limit as usize, GROUPCHAT_LIST_MAX_LIMIT as usize)?;
        let owner_filter = OwnerFilter { userid_list: owner_userids.to_vec() };
        let body = GroupChatListRequest { status_filter, owner_filter, cursor, limit };
        self.post(creds, "externalcontact/groupchat/list", &body).await
    }

    /// `externalcontact/groupchat/get`: a group and its members (their names with `need_name`).
    pub async fn groupchat_get(
        &self,
        creds: &CorpCredentials,
        chat_id: &str,
        need_name: bool,
    ) -> Result<GroupChat, WecomError> {
        let body = GroupChatGetRequest { chat_id, need_name };
        let reply: GroupChatReply = self.post(creds, "externalcontact/groupchat/get", &body).await?;
        Ok(reply.group_chat)
    }

    /// `externalcontact/groupchat/statistic`: a page of per-owner numbers.
    pub async fn groupchat_statistic(
        &self,
        creds: &CorpCredentials,
        request: &GroupStatisticRequest,
    ) -> Result<GroupStatistic, WecomError> {
        check_count("owner_filter.userid_list", request.owner_filter.userid_list.len(), OWNER_FILTER_MAX)?;
        check_count("limit", request.limit as usize, GROUPCHAT_LIST_MAX_LIMIT as usize)?;
        self.post(creds, "externalcontact/groupchat/statistic", request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::test_support::{creds, offline_client};
    use serde_json::json;

    #[test]
    fn a_list_request_is_the_contract_example() {
        let body =
            GroupChatListRequest { status_filter: 0, owner_filter: OwnerFilter::default(), cursor: "", limit: 1000 };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"status_filter":0,"owner_filter":{"userid_list":[]},"cursor":"","limit":1000})
        );
    }

    #[test]
    fn a_list_page_is_read() {
        let page: GroupChatPage = serde_json::from_value(json!({"errcode": 0, "errmsg": "ok",
            "group_chat_list": [{"chat_id": "wrA1", "status": 0}, {"chat_id": "wrB2", "status": 1}], "next_cursor": "n"}))
        .unwrap();
        assert_eq!(page.group_chat_list[1].status, 1);
        assert_eq!(page.next_cursor, "n");
    }

    #[test]
    fn a_get_request_sends_need_name_as_an_integer() {
        let body = GroupChatGetRequest { chat_id: "wrA1", need_name: true };
        assert_eq!(serde_json::to_value(&body).unwrap(), json!({"chat_id": "wrA1", "need_name": 1}));
    }

    #[test]
    fn a_group_with_members_is_read() {
        let reply: GroupChatReply = serde_json::from_value(json!({"group_chat": {"chat_id": "wrA1", "name": "会员群",
            "owner": "zhangsan", "create_time": 1700000000, "notice": "欢迎", "member_version": "71217227bbd1",
            "member_list": [
                {"userid": "zhangsan", "type": 1, "join_time": 1700000000, "join_scene": 1, "group_nickname": "",
                 "name": "张三"},
                {"userid": "wmA1", "type": 2, "unionid": "oAbc", "join_time": 1700000100, "join_scene": 3,
                 "invitor": {"userid": "zhangsan"}, "group_nickname": "小李", "name": "李四", "state": "grp-7"}],
            "admin_list": [{"userid": "lisi"}]}}))
        .unwrap();
        let chat = reply.group_chat;
        assert_eq!((chat.owner.as_str(), chat.member_list.len()), ("zhangsan", 2));
        let customer = &chat.member_list[1];
        assert_eq!((customer.kind, customer.join_scene, customer.state.as_str()), (2, 3, "grp-7"));
        assert_eq!(customer.invitor.as_ref().map(|i| i.userid.as_str()), Some("zhangsan"));
        assert!(chat.member_list[0].invitor.is_none());
        assert_eq!(chat.admin_list[0].userid, "lisi");
    }

    #[test]
    fn a_statistic_request_and_reply_match_the_contract() {
        let request = GroupStatisticRequest {
            day_begin_time: 1_700_000_000,
            owner_filter: OwnerFilter { userid_list: vec!["zhangsan".into()] },
            limit: 100,
            ..GroupStatisticRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"day_begin_time": 1700000000, "owner_filter": {"userid_list": ["zhangsan"]}, "offset": 0, "limit": 100})
        );
        let reply: GroupStatistic = serde_json::from_value(json!({"total": 1, "next_offset": 1, "items": [{
            "owner": "zhangsan", "data": {"new_chat_cnt": 2, "chat_total": 2, "chat_has_msg": 0, "new_member_cnt": 0,
            "member_total": 6, "member_has_msg": 0, "msg_total": 0}}]}))
        .unwrap();
        assert_eq!(reply.items[0].data.member_total, 6);
        assert_eq!(reply.next_offset, reply.total);
    }

    #[tokio::test]
    async fn over_limit_list_requests_are_refused_before_sending() {
        let client = offline_client();
        let err = client.groupchat_list(&creds(), 0, &[], "", 1001).await.unwrap_err();
        assert!(matches!(err, WecomError::Invalid(_)));
        let owners: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
        let err = client.groupchat_list(&creds(), 0, &owners, "", 100).await.unwrap_err();
        assert!(matches!(err, WecomError::Invalid(_)));
    }
}
