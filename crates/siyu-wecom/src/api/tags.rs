//! Corp tags (企业标签, reference/wecom.md §4.2): the tag library and tagging a (staff, customer) pair. The wire
//! names are `order` and `agentid` (not silenceper's `group_order`/`agent_id`).

use serde::{Deserialize, Serialize};

use super::common::{Empty, check_present};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// One corp tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CorpTag {
    /// The tag id (`et…`).
    pub id: String,
    /// The tag's name.
    pub name: String,
    /// Creation time (unix seconds).
    pub create_time: i64,
    /// Sort order; larger first.
    pub order: i64,
    /// Deleted (only in some replies).
    pub deleted: bool,
}

/// A tag group and its tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagGroup {
    /// The group id.
    pub group_id: String,
    /// The group's name.
    pub group_name: String,
    /// Creation time (unix seconds).
    pub create_time: i64,
    /// Sort order; larger first.
    pub order: i64,
    /// Deleted (only in some replies).
    pub deleted: bool,
    /// The group's tags.
    pub tag: Vec<CorpTag>,
}

/// A new tag in [`AddCorpTagRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTag {
    /// The tag's name.
    pub name: String,
    /// Sort order; larger first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
}

/// The body of `add_corp_tag`: tags into the existing group `group_id`, or a new group `group_name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddCorpTagRequest {
    /// An existing group to add the tags to (then `group_name` and `order` are ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The name of a new group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// The new group's sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    /// The tags to add.
    pub tag: Vec<NewTag>,
    /// The app's agent id (only when calling with an app secret that needs it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agentid: Option<i64>,
}

/// The body of `edit_corp_tag`: renames or reorders a tag or a group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditCorpTagRequest {
    /// The tag or group id.
    pub id: String,
    /// The new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    /// The app's agent id, when needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agentid: Option<i64>,
}

/// The body of `del_corp_tag`: deleting a whole group deletes its tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelCorpTagRequest {
    /// Tags to delete.
    pub tag_id: Vec<String>,
    /// Groups to delete.
    pub group_id: Vec<String>,
    /// The app's agent id, when needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agentid: Option<i64>,
}

/// The body of `mark_tag`: tags are set on the (staff `userid`, customer) pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkTagRequest {
    /// The staff member.
    pub userid: String,
    /// The customer.
    pub external_userid: String,
    /// Tag ids to add.
    pub add_tag: Vec<String>,
    /// Tag ids to remove.
    pub remove_tag: Vec<String>,
}

#[derive(Serialize)]
struct CorpTagListRequest<'a> {
    tag_id: &'a [String],
    group_id: &'a [String],
}

#[derive(Deserialize)]
struct CorpTagListReply {
    #[serde(default)]
    tag_group: Vec<TagGroup>,
}

#[derive(Deserialize)]
struct AddCorpTagReply {
    #[serde(default)]
    tag_group: TagGroup,
}

impl Client {
    /// `externalcontact/get_corp_tag_list`: the groups holding `tag_ids` or `group_ids` (`group_ids` wins);
    /// every group when both are empty.
    pub async fn corp_tag_list(
        &self,
        creds: &CorpCredentials,
        tag_ids: &[String],
        group_ids: &[String],
    ) -> Result<Vec<TagGroup>, WecomError> {
        let body = CorpTagListRequest { tag_id: tag_ids, group_id: group_ids };
        let reply: CorpTagListReply = self.post(creds, "externalcontact/get_corp_tag_list", &body).await?;
        Ok(reply.tag_group)
    }

    /// `externalcontact/add_corp_tag`: the group with the new tags and their ids.
    pub async fn add_corp_tag(
        &self,
        creds: &CorpCredentials,
        request: &AddCorpTagRequest,
    ) -> Result<TagGroup, WecomError> {
        check_present("tag", !request.tag.is_empty())?;
        check_present("group_id or group_name", request.group_id.is_some() || request.group_name.is_some())?;
        let reply: AddCorpTagReply = self.post(creds, "externalcontact/add_corp_tag", request).await?;
        Ok(reply.tag_group)
    }

    /// `externalcontact/edit_corp_tag`.
    pub async fn edit_corp_tag(&self, creds: &CorpCredentials, request: &EditCorpTagRequest) -> Result<(), WecomError> {
        let _: Empty = self.post(creds, "externalcontact/edit_corp_tag", request).await?;
        Ok(())
    }

    /// `externalcontact/del_corp_tag`.
    pub async fn del_corp_tag(&self, creds: &CorpCredentials, request: &DelCorpTagRequest) -> Result<(), WecomError> {
        check_present("tag_id or group_id", !request.tag_id.is_empty() || !request.group_id.is_empty())?;
        let _: Empty = self.post(creds, "externalcontact/del_corp_tag", request).await?;
        Ok(())
    }

    /// `externalcontact/mark_tag`.
    pub async fn mark_tag(&self, creds: &CorpCredentials, request: &MarkTagRequest) -> Result<(), WecomError> {
        check_present("add_tag or remove_tag", !request.add_tag.is_empty() || !request.remove_tag.is_empty())?;
        let _: Empty = self.post(creds, "externalcontact/mark_tag", request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::test_support::{creds, offline_client};
    use serde_json::json;

    #[test]
    fn an_empty_tag_list_request_asks_for_everything() {
        let body = CorpTagListRequest { tag_id: &[], group_id: &[] };
        assert_eq!(serde_json::to_value(&body).unwrap(), json!({"tag_id": [], "group_id": []}));
    }

    #[test]
    fn a_tag_list_reply_is_read() {
        let reply: CorpTagListReply = serde_json::from_value(json!({"errcode": 0, "errmsg": "ok", "tag_group": [{
            "group_id": "etG1", "group_name": "等级", "create_time": 1700000000, "order": 1,
            "tag": [{"id": "etX1", "name": "VIP", "create_time": 1700000000, "order": 2},
                    {"id": "etX2", "name": "普通", "create_time": 1700000001, "order": 1, "deleted": false}]}]}))
        .unwrap();
        let group = &reply.tag_group[0];
        assert_eq!((group.group_id.as_str(), group.tag.len()), ("etG1", 2));
        assert_eq!(group.tag[0].id, "etX1");
        assert!(!group.tag[1].deleted);
    }

    #[test]
    fn an_add_request_uses_order_and_agentid() {
        let request = AddCorpTagRequest {
            group_name: Some("等级".into()),
            order: Some(1),
            tag: vec![NewTag { name: "VIP".into(), order: Some(2) }],
            agentid: Some(1_000_002),
            ..AddCorpTagRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"group_name": "等级", "order": 1, "tag": [{"name": "VIP", "order": 2}], "agentid": 1000002})
        );
    }

    #[test]
    fn an_add_reply_carries_the_new_ids() {
        let reply: AddCorpTagReply = serde_json::from_value(json!({"tag_group": {"group_id": "etG1",
            "group_name": "等级", "create_time": 1, "order": 1, "tag": [{"id": "etX1", "name": "VIP", "create_time": 1,
            "order": 2}]}}))
        .unwrap();
        assert_eq!(reply.tag_group.tag[0].id, "etX1");
    }

    #[test]
    fn edit_delete_and_mark_requests_match_the_contract() {
        let edit = EditCorpTagRequest { id: "etX1".into(), name: Some("SVIP".into()), ..EditCorpTagRequest::default() };
        assert_eq!(serde_json::to_value(&edit).unwrap(), json!({"id": "etX1", "name": "SVIP"}));
        let del = DelCorpTagRequest { tag_id: vec!["etX1".into()], ..DelCorpTagRequest::default() };
        assert_eq!(serde_json::to_value(&del).unwrap(), json!({"tag_id": ["etX1"], "group_id": []}));
        let mark = MarkTagRequest {
            userid: "zhangsan".into(),
            external_userid: "wmA1".into(),
            add_tag: vec!["etX1".into()],
            remove_tag: vec![],
        };
        assert_eq!(
            serde_json::to_value(&mark).unwrap(),
            json!({"userid": "zhangsan", "external_userid": "wmA1", "add_tag": ["etX1"], "remove_tag": []})
        );
    }

    #[tokio::test]
    async fn a_mark_that_changes_nothing_is_refused_before_sending() {
        let mark = MarkTagRequest { userid: "zhangsan".into(), external_userid: "wmA1".into(), ..Default::default() };
        let err = offline_client().mark_tag(&creds(), &mark).await.unwrap_err();
        assert!(matches!(err, WecomError::Invalid(_)));
        let add = AddCorpTagRequest { group_name: Some("等级".into()), ..AddCorpTagRequest::default() };
        let err = offline_client().add_corp_tag(&creds(), &add).await.unwrap_err();
        assert!(matches!(err, WecomError::Invalid(_)));
    }
}
