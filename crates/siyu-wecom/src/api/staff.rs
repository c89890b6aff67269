//! Staff sync (通讯录, reference/wecom.md §4.9) and the staff allowed to have customers (§4.1).

use serde::{Deserialize, Serialize};

use super::common::check_count;
use crate::client::{Client, CorpCredentials};
use crate::error::WecomError;

/// One department of `department/list`. The root department is 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Department {
    /// Department id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// English name, when set.
    pub name_en: String,
    /// Userids of the department's leaders.
    pub department_leader: Vec<String>,
    /// Parent department id (0 for the root).
    pub parentid: i64,
    /// Sort order within the parent (larger first).
    pub order: i64,
}

/// One member of `user/list`. Newer apps get fewer sensitive fields (doc 96067): those stay empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// The member's userid.
    pub userid: String,
    /// Display name.
    pub name: String,
    /// Ids of the departments the member is in.
    pub department: Vec<i64>,
    /// The main department.
    pub main_department: i64,
    /// 1 active, 2 disabled, 4 inactive, 5 left.
    pub status: i64,
    /// Job title.
    pub position: String,
    /// Mobile number (sensitive; often absent).
    pub mobile: String,
    /// E-mail (sensitive; often absent).
    pub email: String,
    /// Avatar URL (sensitive; often absent).
    pub avatar: String,
    /// Alias.
    pub alias: String,
    /// The member's id for third-party apps, when WeCom sends it.
    pub open_userid: String,
}

#[derive(Deserialize)]
struct DepartmentListReply {
    #[serde(default)]
    department: Vec<Department>,
}

#[derive(Deserialize)]
struct UserListReply {
    #[serde(default)]
    userlist: Vec<User>,
}

#[derive(Deserialize)]
struct FollowUserListReply {
    #[serde(default)]
    follow_user: Vec<String>,
}

/// The body of `user/list_id`.
#[derive(Debug, Clone, Serialize)]
struct UserListIdRequest<'a> {
    cursor: &'a str,
    limit: u32,
}

/// One (member, department) pair of `user/list_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeptUser {
    /// The member's userid.
    pub userid: String,
    /// The member's id for third-party apps, when WeCom sends it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub open_userid: String,
    /// The department id.
    pub department: i64,
}

/// A page of `user/list_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeptUserPage {
    /// The pairs of this page.
    pub dept_user: Vec<DeptUser>,
    /// The cursor of the next page; empty on the last.
    pub next_cursor: String,
}

/// The largest `limit` of `user/list_id`.
pub const USER_LIST_ID_MAX_LIMIT: u32 = 10_000;

impl Client {
    /// GET `department/list`: the department `id` and everything below it, or every department when `None`.
    pub async fn department_list(
        &self,
        creds: &CorpCredentials,
        id: Option<i64>,
    ) -> Result<Vec<Department>, WecomError> {
        let query: Vec<(&str, String)> = id.map(|id| ("id", id.to_string())).into_iter().collect();
        let reply: DepartmentListReply = self.get(creds, "department/list", &query).await?;
        Ok(reply.department)
    }

    /// GET `user/list`: the members of `department_id`, and of its sub-departments with `fetch_child`.
    pub async fn user_list(
        &self,
        creds: &CorpCredentials,
        department_id: i64,
        fetch_child: bool,
    ) -> Result<Vec<User>, WecomError> {
        let query = [("department_id", department_id.to_string()), ("fetch_child", u8::from(fetch_child).to_string())];
        let reply: UserListReply = self.get(creds, "user/list", &query).await?;
        Ok(reply.userlist)
    }

    /// `user/list_id`: one page of (member, department) pairs, `limit` ≤ 10,000. Needs the 通讯录同步 secret.
    pub async fn user_list_id(
        &self,
        creds: &CorpCredentials,
        cursor: &str,
        limit: u32,
    ) -> Result<DeptUserPage, WecomError> {
        check_count("limit", limit as usize, USER_LIST_ID_MAX_LIMIT as usize)?;
        self.post(creds, "user/list_id", &UserListIdRequest { cursor, limit }).await
    }

    /// GET `externalcontact/get_follow_user_list`: the userids of the staff allowed to have customers.
    pub async fn follow_user_list(&self, creds: &CorpCredentials) -> Result<Vec<String>, WecomError> {
        let reply: FollowUserListReply = self.get(creds, "externalcontact/get_follow_user_list", &[]).await?;
        Ok(reply.follow_user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::test_support::{creds, offline_client};
    use serde_json::json;

    #[test]
    fn a_department_list_reply_is_read() {
        let reply: DepartmentListReply = serde_json::from_value(json!({"errcode": 0, "errmsg": "ok", "department": [
            {"id": 1, "name": "总部", "name_en": "HQ", "department_leader": ["zhangsan"], "parentid": 0, "order": 100},
            {"id": 2, "name": "门店", "parentid": 1}
        ]}))
        .unwrap();
        assert_eq!(reply.department.len(), 2);
        assert_eq!(reply.department[0].department_leader, vec!["zhangsan"]);
        assert_eq!(reply.department[1].parentid, 1);
    }

    #[test]
    fn a_user_list_reply_without_sensitive_fields_is_read() {
        let reply: UserListReply = serde_json::from_value(json!({"userlist": [
            {"userid": "zhangsan", "name": "张三", "department": [1, 2], "main_department": 1, "status": 1,
             "open_userid": "woAbc", "extattr": {"attrs": []}}
        ]}))
        .unwrap();
        let user = &reply.userlist[0];
        assert_eq!((user.userid.as_str(), user.status, user.department.clone()), ("zhangsan", 1, vec![1, 2]));
        assert!(user.mobile.is_empty());
    }

    #[test]
    fn a_list_id_request_carries_cursor_and_limit() {
        let body = UserListIdRequest { cursor: "", limit: 10_000 };
        assert_eq!(serde_json::to_value(&body).unwrap(), json!({"cursor": "", "limit": 10000}));
    }

    #[test]
    fn a_list_id_page_is_read() {
        let page: DeptUserPage = serde_json::from_value(json!({"next_cursor": "c2",
            "dept_user": [{"userid": "zhangsan", "department": 1}, {"userid": "zhangsan", "department": 2}]}))
        .unwrap();
        assert_eq!(page.dept_user.len(), 2);
        assert_eq!(page.next_cursor, "c2");
    }

    #[test]
    fn a_follow_user_list_reply_is_read() {
        let reply: FollowUserListReply =
            serde_json::from_value(json!({"errcode": 0, "errmsg": "ok", "follow_user": ["zhangsan", "lisi"]})).unwrap();
        assert_eq!(reply.follow_user, vec!["zhangsan", "lisi"]);
    }

    #[tokio::test]
    async fn a_list_id_limit_over_ten_thousand_is_refused_before_sending() {
        let client = offline_client();
        let err = client.user_list_id(&creds(), "", 10_001).await.unwrap_err();
        assert!(matches!(err, WecomError::Invalid(_)));
    }
}
