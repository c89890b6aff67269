//! WeCom (企业微信) as siyu sees it: connected corps, synced staff, customer groups and their members, and the
//! rules that are pure (add-way names, group kinds, member counts).

pub mod group_code;
pub mod live_code;
pub mod mass;
pub mod moment;
pub mod sop;
pub mod transfer;
pub mod welcome;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CorpId, GroupId, UserId};

/// A corp a tenant connected, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Corp {
    pub id: CorpId,
    /// WeCom's corp id (`ww…`).
    pub corp_id: String,
    pub name: String,
    pub agent_id: Option<i64>,
    /// `None`: WeCom itself; otherwise another base URL (a fake WeCom for the demo and tests).
    pub api_base: Option<String>,
    pub active: bool,
    pub checked_at: Option<DateTime<Utc>>,
    /// Why the last connection test failed, if it did.
    pub check_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A corp's secrets: sealed with the tenant's data key at rest, never shown back in full.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpSecrets {
    /// The 客户联系 secret (external contacts, tags, groups, mass sends).
    pub contact_secret: String,
    /// The self-built app's secret (app messages, JS-SDK tickets); may be empty.
    #[serde(default)]
    pub app_secret: String,
    /// The callback Token.
    pub callback_token: String,
    /// The 43-character EncodingAESKey.
    pub callback_aes_key: String,
}

/// A staff member synced from WeCom and the siyu member they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WecomStaff {
    pub corp: CorpId,
    pub userid: String,
    pub user_id: UserId,
    pub name: String,
    pub departments: Vec<i64>,
    pub position: Option<String>,
    /// WeCom's status: 1 active, 2 disabled, 4 not activated, 5 left.
    pub status: i64,
    /// Has the customer-contact (客户联系) permission.
    pub contact_enabled: bool,
    pub left_at: Option<DateTime<Utc>>,
}

/// The kind of a customer group (seed 000: 日常销售群 vs 3–7 天快闪群).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// A long-lived daily-sales group.
    Daily,
    /// A flash-sale group with open and close dates.
    Flash,
}

impl GroupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Daily => "daily",
            GroupKind::Flash => "flash",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "daily" => Some(GroupKind::Daily),
            "flash" => Some(GroupKind::Flash),
            _ => None,
        }
    }
}

/// A customer group (客户群).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CustomerGroup {
    pub id: GroupId,
    pub corp: CorpId,
    pub chat_id: String,
    pub name: String,
    pub owner_userid: String,
    pub owner_id: Option<UserId>,
    pub owner_name: Option<String>,
    pub notice: Option<String>,
    /// WeCom's: 0 normal, 1 owner left, 2 inheriting, 3 inherited.
    pub status: i64,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub member_count: i64,
    pub customer_count: i64,
    pub kind: GroupKind,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
    pub wecom_created_at: Option<DateTime<Utc>>,
}

/// A member of a customer group as WeCom lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupMember {
    /// The staff userid (type 1) or the customer's external_userid (type 2).
    pub member_key: String,
    /// 1 staff, 2 external contact.
    pub member_type: i64,
    pub unionid: Option<String>,
    pub name: Option<String>,
    pub group_nickname: Option<String>,
    pub join_time: Option<DateTime<Utc>>,
    /// 1 direct invite, 2 invite link, 3 QR code.
    pub join_scene: Option<i64>,
    pub invitor: Option<String>,
    pub state: Option<String>,
}

/// How a membership changed between two member lists: who joined and who left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDiff<'a> {
    pub joined: Vec<&'a GroupMember>,
    pub left: Vec<&'a str>,
}

/// The joins and leaves that turn `before` (member keys) into `after`.
pub fn member_diff<'a>(before: &'a [String], after: &'a [GroupMember]) -> MemberDiff<'a> {
    let old: std::collections::HashSet<&str> = before.iter().map(String::as_str).collect();
    let new: std::collections::HashSet<&str> = after.iter().map(|m| m.member_key.as_str()).collect();
    MemberDiff {
        joined: after.iter().filter(|m| !old.contains(m.member_key.as_str())).collect(),
        left: before.iter().map(String::as_str).filter(|k| !new.contains(k)).collect(),
    }
}

/// WeCom's `add_way` (doc 92114) as siyu stores it on a follow.
pub fn add_way_name(code: i64) -> &'static str {
    match code {
        1 => "qr_code",
        2 => "phone_search",
        3 => "card_share",
        4 => "group_chat",
        5 => "phone_book",
        6 => "wechat_contacts",
        7 => "friend_request",
        8 => "third_party",
        9 => "email",
        10 => "channels",
        16 => "acquisition_link",
        201 => "internal_share",
        202 => "admin_assign",
        11..=18 => "other_channel",
        _ => "unknown",
    }
}

/// WeCom's `add_way` code of one of [`add_way_name`]'s names (`other_channel` as 11, anything else as 0).
pub fn add_way_code(name: &str) -> i64 {
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 201, 202].into_iter().find(|c| add_way_name(*c) == name).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_add_way_name_reads_back_as_a_code_with_the_same_name() {
        for code in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 201, 202] {
            let name = add_way_name(code);
            assert_eq!(add_way_name(add_way_code(name)), name);
        }
        assert_eq!(add_way_code("qr_code"), 1);
        assert_eq!(add_way_code("nonsense"), 0);
    }

    fn member(key: &str) -> GroupMember {
        GroupMember {
            member_key: key.into(),
            member_type: 2,
            unionid: None,
            name: None,
            group_nickname: None,
            join_time: None,
            join_scene: None,
            invitor: None,
            state: None,
        }
    }

    #[test]
    fn a_member_diff_lists_who_joined_and_who_left() {
        let before = vec!["wmA".to_string(), "wmB".to_string()];
        let after = vec![member("wmB"), member("wmC")];
        let diff = member_diff(&before, &after);
        assert_eq!(diff.joined.iter().map(|m| m.member_key.as_str()).collect::<Vec<_>>(), ["wmC"]);
        assert_eq!(diff.left, ["wmA"]);
    }

    #[test]
    fn add_ways_have_stable_names() {
        assert_eq!(add_way_name(1), "qr_code");
        assert_eq!(add_way_name(202), "admin_assign");
        assert_eq!(add_way_name(12), "other_channel");
        assert_eq!(add_way_name(999), "unknown");
    }
}
