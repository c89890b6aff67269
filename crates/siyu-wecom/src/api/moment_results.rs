//! Following a moment once WeCom created it (客户朋友圈, doc 93333; cancel doc 97612): the corp's moments
//! (`get_moment_list`), which staff published it (`get_moment_task`), which customers were chosen to see it
//! (`get_moment_customer_list`) and which it reached (`get_moment_send_result`), its comments and likes
//! (`get_moment_comments`), and stopping staff who have not published (`cancel_moment_task`).

use serde::{Deserialize, Serialize};

use super::common::{Empty, Text, check_count, lenient_i64};
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// The body of `get_moment_list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MomentListRequest {
    /// Created at or after (unix seconds).
    pub start_time: i64,
    /// Created before (unix seconds).
    pub end_time: i64,
    /// Only those of this creator (personal moments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// 0 corp-created, 1 personal, 2 all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_type: Option<i64>,
    /// Empty for the first page.
    pub cursor: String,
    /// Page size, ≤20.
    pub limit: u32,
}

/// One moment of `get_moment_list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentSummary {
    /// The moment's id.
    pub moment_id: String,
    /// Who created it (absent for corp-created moments).
    pub creator: String,
    /// When (unix seconds).
    #[serde(deserialize_with = "lenient_i64")]
    pub create_time: i64,
    /// 0 by the corp, 1 by a staff member.
    pub create_type: i64,
    /// 0 some customers, 1 everyone.
    pub visible_type: i64,
    /// The text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
}

/// A page of `get_moment_list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentListPage {
    /// The moments of this page.
    pub moment_list: Vec<MomentSummary>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// One staff member's task of a corp moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentStaffTask {
    /// The staff member.
    pub userid: String,
    /// 0 not published, 1 published.
    pub publish_status: i64,
}

/// A page of `get_moment_task`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentTaskPage {
    /// The tasks of this page.
    pub task_list: Vec<MomentStaffTask>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// A customer of `get_moment_customer_list` / `get_moment_send_result`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentCustomer {
    /// The posting staff member (`get_moment_customer_list` only).
    pub userid: String,
    /// The customer.
    pub external_userid: String,
}

/// A page of customers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentCustomerPage {
    /// The customers of this page.
    pub customer_list: Vec<MomentCustomer>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// A comment or like: by a customer (`external_userid`) or a staff member (`userid`), never both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentInteraction {
    /// The customer.
    pub external_userid: String,
    /// The staff member.
    pub userid: String,
    /// When (unix seconds).
    #[serde(deserialize_with = "lenient_i64")]
    pub create_time: i64,
}

/// What `get_moment_comments` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MomentComments {
    /// Comments.
    pub comment_list: Vec<MomentInteraction>,
    /// Likes.
    pub like_list: Vec<MomentInteraction>,
}

#[derive(Serialize)]
struct ByMoment<'a> {
    moment_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    userid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

impl Client {
    /// `externalcontact/get_moment_list`: a page of moments, `limit` ≤20.
    pub async fn get_moment_list(
        &self,
        creds: &CorpCredentials,
        request: &MomentListRequest,
    ) -> Result<MomentListPage, WecomError> {
        check_count("limit", request.limit as usize, 20)?;
        self.post(creds, "externalcontact/get_moment_list", request).await
    }

    /// `externalcontact/get_moment_task`: a page of the staff of a corp moment, `limit` ≤1000.
    pub async fn get_moment_task(
        &self,
        creds: &CorpCredentials,
        moment_id: &str,
        cursor: &str,
        limit: u32,
    ) -> Result<MomentTaskPage, WecomError> {
        check_count("limit", limit as usize, 1000)?;
        let body = ByMoment { moment_id, userid: None, cursor: Some(cursor), limit: Some(limit) };
        self.post(creds, "externalcontact/get_moment_task", &body).await
    }

    /// `externalcontact/get_moment_customer_list`: the customers chosen to see `userid`'s post, `limit` ≤1000.
    pub async fn get_moment_customer_list(
        &self,
        creds: &CorpCredentials,
        moment_id: &str,
        userid: &str,
        cursor: &str,
        limit: u32,
    ) -> Result<MomentCustomerPage, WecomError> {
        check_count("limit", limit as usize, 1000)?;
        let body = ByMoment { moment_id, userid: Some(userid), cursor: Some(cursor), limit: Some(limit) };
        self.post(creds, "externalcontact/get_moment_customer_list", &body).await
    }

    /// `externalcontact/get_moment_send_result`: the customers `userid`'s post reached, `limit` ≤5000.
    pub async fn get_moment_send_result(
        &self,
        creds: &CorpCredentials,
        moment_id: &str,
        userid: &str,
        cursor: &str,
        limit: u32,
    ) -> Result<MomentCustomerPage, WecomError> {
        check_count("limit", limit as usize, 5000)?;
        let body = ByMoment { moment_id, userid: Some(userid), cursor: Some(cursor), limit: Some(limit) };
        self.post(creds, "externalcontact/get_moment_send_result", &body).await
    }

    /// `externalcontact/get_moment_comments`: comments and likes on `userid`'s post.
    pub async fn get_moment_comments(
        &self,
        creds: &CorpCredentials,
        moment_id: &str,
        userid: &str,
    ) -> Result<MomentComments, WecomError> {
        let body = ByMoment { moment_id, userid: Some(userid), cursor: None, limit: None };
        self.post(creds, "externalcontact/get_moment_comments", &body).await
    }

    /// `externalcontact/cancel_moment_task`: staff who have not published can no longer.
    pub async fn cancel_moment_task(&self, creds: &CorpCredentials, moment_id: &str) -> Result<(), WecomError> {
        let body = ByMoment { moment_id, userid: None, cursor: None, limit: None };
        let _: Empty = self.post(creds, "externalcontact/cancel_moment_task", &body).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_comments_reply_is_read_with_customers_and_staff() {
        let reply: MomentComments = serde_json::from_value(json!({"errcode": 0, "errmsg": "ok",
            "comment_list": [{"external_userid": "wmA", "create_time": 1605000000},
                             {"userid": "zhangsan", "create_time": "1605000001"}],
            "like_list": [{"external_userid": "wmB", "create_time": 1605000002}]}))
        .unwrap();
        assert_eq!(reply.comment_list[0].external_userid, "wmA");
        assert_eq!(
            (reply.comment_list[1].userid.as_str(), reply.comment_list[1].create_time),
            ("zhangsan", 1605000001)
        );
        assert_eq!(reply.like_list.len(), 1);
    }

    #[test]
    fn a_task_page_is_read() {
        let reply: MomentTaskPage = serde_json::from_value(json!({"task_list": [{"userid": "zhangsan",
            "publish_status": 1}], "next_cursor": ""}))
        .unwrap();
        assert_eq!(reply.task_list[0].publish_status, 1);
    }
}
