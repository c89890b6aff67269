//! Customers (客户, reference/wecom.md §4.1): who a staff member has, one customer's details and followers, the
//! batch sync by staff, and the staff's remark on a customer.

use serde::{Deserialize, Serialize};

use super::common::{Empty, check_chars, check_count};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// A customer (外部联系人) as WeCom describes them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalContact {
    /// The customer's id (`wm…`/`wo…`).
    pub external_userid: String,
    /// WeChat nickname or WeCom name.
    pub name: String,
    /// Avatar URL.
    pub avatar: String,
    /// 1 WeChat user, 2 WeCom user.
    #[serde(rename = "type")]
    pub kind: i64,
    /// 0 unknown, 1 male, 2 female.
    pub gender: i64,
    /// Open-platform unionid; only when the corp bound an open platform.
    pub unionid: String,
    /// The customer's company short name (WeCom users).
    pub corp_name: String,
    /// The customer's company full name (WeCom users).
    pub corp_full_name: String,
    /// The customer's position (WeCom users).
    pub position: String,
    /// The customer's external profile, kept as WeCom sent it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_profile: Option<serde_json::Value>,
}

/// A tag on a (staff, customer) pair in `follow_user[].tags`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FollowTag {
    /// The tag group's name.
    pub group_name: String,
    /// The tag's name.
    pub tag_name: String,
    /// 1 corp tag, 2 personal tag (no `tag_id`), 3 rule-group tag.
    #[serde(rename = "type")]
    pub kind: i64,
    /// The corp tag id (`et…`); empty for personal tags.
    pub tag_id: String,
}

/// One staff member following a customer (`follow_user[]` of `externalcontact/get`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FollowUser {
    /// The staff member's userid.
    pub userid: String,
    /// The staff's remark on the customer.
    pub remark: String,
    /// The staff's description of the customer.
    pub description: String,
    /// When the staff added the customer (unix seconds).
    pub createtime: i64,
    /// The tags on this (staff, customer) pair.
    pub tags: Vec<FollowTag>,
    /// The remarked company name (written as `remark_company`).
    pub remark_corp_name: String,
    /// The remarked phone numbers.
    pub remark_mobiles: Vec<String>,
    /// How the customer was added (0 unknown, 1 QR, 2 phone, … see §4.1).
    pub add_way: i64,
    /// Who added: the staff's userid or the customer's external_userid.
    pub oper_userid: String,
    /// The `state` of the contact way the customer came through (≤30 characters).
    pub state: String,
}

/// One (customer, staff) pair of `batch/get_by_user`: as [`FollowUser`] but with tag ids only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FollowInfo {
    /// The staff member's userid.
    pub userid: String,
    /// The staff's remark on the customer.
    pub remark: String,
    /// The staff's description of the customer.
    pub description: String,
    /// When the staff added the customer (unix seconds).
    pub createtime: i64,
    /// The corp tag ids on this pair.
    pub tag_id: Vec<String>,
    /// The remarked company name.
    pub remark_corp_name: String,
    /// The remarked phone numbers.
    pub remark_mobiles: Vec<String>,
    /// How the customer was added.
    pub add_way: i64,
    /// Who added: the staff's userid or the customer's external_userid.
    pub oper_userid: String,
    /// The `state` of the contact way the customer came through.
    pub state: String,
}

/// The reply of `externalcontact/get`: the customer, their followers and, past 500 followers, a cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalContactDetail {
    /// The customer.
    pub external_contact: ExternalContact,
    /// The staff following the customer (this page).
    pub follow_user: Vec<FollowUser>,
    /// The cursor of the next page of followers; empty on the last.
    pub next_cursor: String,
}

/// One entry of `batch/get_by_user`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactWithFollow {
    /// The customer.
    pub external_contact: ExternalContact,
    /// The (customer, staff) pair.
    pub follow_info: FollowInfo,
}

/// A page of `batch/get_by_user`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactPage {
    /// The entries of this page.
    pub external_contact_list: Vec<ContactWithFollow>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// The body of `externalcontact/remark`. `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemarkRequest {
    /// The staff member whose remark this is.
    pub userid: String,
    /// The customer.
    pub external_userid: String,
    /// The remark, ≤20 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// The description, ≤150 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The company name, ≤20 characters (read back as `remark_corp_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark_company: Option<String>,
    /// The phone numbers; `Some(vec![])` clears them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark_mobiles: Option<Vec<String>>,
    /// A media id of a picture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark_pic_mediaid: Option<String>,
}

impl RemarkRequest {
    /// Checks the documented lengths.
    pub fn validate(&self) -> Result<(), WecomError> {
        check_chars("remark", self.remark.as_deref().unwrap_or_default(), 20)?;
        check_chars("description", self.description.as_deref().unwrap_or_default(), 150)?;
        check_chars("remark_company", self.remark_company.as_deref().unwrap_or_default(), 20)
    }
}

#[derive(Deserialize)]
struct ExternalUseridList {
    #[serde(default)]
    external_userid: Vec<String>,
}

#[derive(Serialize)]
struct BatchGetByUser<'a> {
    userid_list: &'a [String],
    cursor: &'a str,
    limit: u32,
}

/// The largest `userid_list` and `limit` of `batch/get_by_user`.
pub const BATCH_GET_BY_USER_MAX: usize = 100;

impl Client {
    /// GET `externalcontact/list`: the customers of staff `userid`. A staff member without any (84061) has none.
    pub async fn external_contact_list(
        &self,
        creds: &CorpCredentials,
        userid: &str,
    ) -> Result<Vec<String>, WecomError> {
        match self.get::<ExternalUseridList>(creds, "externalcontact/list", &[("userid", userid.to_owned())]).await {
            Ok(reply) => Ok(reply.external_userid),
            Err(WecomError::Api { errcode: 84061, .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// GET `externalcontact/get`: a customer and (a page of, past 500) the staff following them.
    pub async fn external_contact_get(
        &self,
        creds: &CorpCredentials,
        external_userid: &str,
        cursor: &str,
    ) -> Result<ExternalContactDetail, WecomError> {
        let mut query = vec![("external_userid", external_userid.to_owned())];
        if !cursor.is_empty() {
            query.push(("cursor", cursor.to_owned()));
        }
        self.get(creds, "externalcontact/get", &query).await
    }

    /// `externalcontact/batch/get_by_user`: a page of the customers of ≤100 staff, `limit` ≤100.
    pub async fn batch_get_by_user(
        &self,
        creds: &CorpCredentials,
        userid_list: &[String],
        cursor: &str,
        limit: u32,
    ) -> Result<ContactPage, WecomError> {
        check_count("userid_list", userid_list.len(), BATCH_GET_BY_USER_MAX)?;
        check_count("limit", limit as usize, BATCH_GET_BY_USER_MAX)?;
        let body = BatchGetByUser { userid_list, cursor, limit };
        self.post(creds, "externalcontact/batch/get_by_user", &body).await
    }

    /// `externalcontact/remark`: sets a staff member's remark, description, company and phones on a customer.
    pub async fn remark(&self, creds: &CorpCredentials, request: &RemarkRequest) -> Result<(), WecomError> {
        request.validate()?;
        let _: Empty = self.post(creds, "externalcontact/remark", request).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::test_support::{creds, offline_client};
    use serde_json::json;

    fn contract_example() -> serde_json::Value {
        json!({"external_contact":{"external_userid":"wmA1","name":"李四","avatar":"https://…","type":1,"gender":1,
          "unionid":"oAbc","corp_name":"","corp_full_name":"","position":"","external_profile":{"external_attr":[]}},
         "follow_user":[{"userid":"zhangsan","remark":"李四-老客","description":"","createtime":1700000000,
          "tags":[{"group_name":"等级","tag_name":"VIP","type":1,"tag_id":"etX1"}],"remark_corp_name":"",
          "remark_mobiles":["13800000000"],"add_way":1,"oper_userid":"wmA1","state":"qr-42"}],"next_cursor":""})
    }

    #[test]
    fn the_contract_external_contact_example_is_read() {
        let detail: ExternalContactDetail = serde_json::from_value(contract_example()).unwrap();
        assert_eq!(detail.external_contact.external_userid, "wmA1");
        assert_eq!(detail.external_contact.kind, 1);
        assert_eq!(detail.external_contact.unionid, "oAbc");
        let follow = &detail.follow_user[0];
        assert_eq!((follow.userid.as_str(), follow.createtime, follow.add_way), ("zhangsan", 1_700_000_000, 1));
        assert_eq!(follow.tags[0].tag_id, "etX1");
        assert_eq!(follow.tags[0].kind, 1);
        assert_eq!(follow.remark_mobiles, vec!["13800000000"]);
        assert_eq!(follow.state, "qr-42");
        assert!(detail.next_cursor.is_empty());
    }

    #[test]
    fn a_stored_detail_writes_back_the_wecom_field_names() {
        let detail: ExternalContactDetail = serde_json::from_value(contract_example()).unwrap();
        assert_eq!(serde_json::to_value(&detail).unwrap(), contract_example());
    }

    #[test]
    fn a_batch_page_with_tag_ids_is_read() {
        let page: ContactPage = serde_json::from_value(json!({"external_contact_list": [{
            "external_contact": {"external_userid": "wmA1", "name": "李四", "type": 1},
            "follow_info": {"userid": "zhangsan", "createtime": 1700000000, "tag_id": ["etX1", "etX2"],
                            "add_way": 1, "state": "qr-42"}}], "next_cursor": "n1"}))
        .unwrap();
        let entry = &page.external_contact_list[0];
        assert_eq!(entry.follow_info.tag_id, vec!["etX1", "etX2"]);
        assert_eq!(entry.external_contact.name, "李四");
        assert_eq!(page.next_cursor, "n1");
    }

    #[test]
    fn a_batch_request_matches_the_contract() {
        let ids = vec!["zhangsan".to_owned()];
        let body = BatchGetByUser { userid_list: &ids, cursor: "", limit: 100 };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"userid_list": ["zhangsan"], "cursor": "", "limit": 100})
        );
    }

    #[test]
    fn a_remark_sends_only_what_is_set() {
        let request = RemarkRequest {
            userid: "zhangsan".into(),
            external_userid: "wmA1".into(),
            remark: Some("李四-老客".into()),
            remark_company: Some("某公司".into()),
            remark_mobiles: Some(vec!["13800000000".into()]),
            ..RemarkRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"userid": "zhangsan", "external_userid": "wmA1", "remark": "李四-老客",
                   "remark_company": "某公司", "remark_mobiles": ["13800000000"]})
        );
    }

    #[test]
    fn a_remark_over_twenty_characters_is_refused() {
        let request = RemarkRequest { remark: Some("字".repeat(21)), ..RemarkRequest::default() };
        assert!(matches!(request.validate(), Err(WecomError::Invalid(_))));
        let request = RemarkRequest { description: Some("字".repeat(150)), ..RemarkRequest::default() };
        assert!(request.validate().is_ok());
    }

    #[tokio::test]
    async fn a_batch_of_more_than_a_hundred_staff_is_refused_before_sending() {
        let ids: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
        let err = offline_client().batch_get_by_user(&creds(), &ids, "", 100).await.unwrap_err();
        assert!(matches!(err, WecomError::Invalid(_)));
        let err = offline_client().batch_get_by_user(&creds(), &ids[..1], "", 101).await.unwrap_err();
        assert!(matches!(err, WecomError::Invalid(_)));
    }
}
