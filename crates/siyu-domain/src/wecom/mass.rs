//! Mass sends (企业群发) to customers: who gets one, in what chunks, and the limits WeCom and siyu put on them.
//!
//! WeCom takes at most 10,000 customers per `add_msg_template` call and one sending staff member per call; a
//! customer receives at most as many mass messages in a month as the month has days (doc 92135), and siyu adds
//! its own per-day frequency cap shared with journeys. Nothing is sent until each sender confirms in the
//! WeCom client; results come back per recipient.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CorpId, MassSendId, SegmentId, TagId};

/// Customers per `add_msg_template` call (WeCom's limit).
pub const CHUNK: i64 = 10_000;
/// WeCom's text limit for a mass message, in bytes.
pub const MAX_TEXT_BYTES: usize = 4000;

/// Who a mass send goes to: the intersection of the criteria given (none: every customer of the corp's staff).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Audience {
    #[serde(default)]
    pub segment: Option<SegmentId>,
    /// Customers holding any of these tags.
    #[serde(default)]
    pub tag_ids: Vec<TagId>,
    /// Only customers of these staff members (userids), who send to them.
    #[serde(default)]
    pub staff: Vec<String>,
    /// Customer groups instead of customers (`chat_type` group): each owner's groups, from the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<GroupAudience>,
}

/// Which customer groups a group mass send goes to: live groups of these owners whose name contains
/// `name_contains` (none given: every owner's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupAudience {
    /// Owner staff (userids).
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub name_contains: Option<String>,
    /// Only these groups (chat_ids; none: no such filter). A group SOP step sends to exactly its group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chat_ids: Vec<String>,
}

/// Groups per `add_msg_template` call (WeCom's `chat_id_list` limit).
pub const GROUP_CHUNK: i64 = 2_000;

/// What is sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MassContent {
    #[serde(default)]
    pub text: String,
    /// Up to nine attachments in WeCom's wire form.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
}

impl MassContent {
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.text.len() > MAX_TEXT_BYTES {
            return Err(("text", format!("over {MAX_TEXT_BYTES} bytes")));
        }
        if self.attachments.len() > 9 {
            return Err(("attachments", "at most 9".into()));
        }
        if self.text.trim().is_empty() && self.attachments.is_empty() {
            return Err(("text", "text or an attachment is needed".into()));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MassStatus {
    Scheduled,
    Planned,
    Sending,
    Sent,
    Cancelled,
    Failed,
}

impl MassStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Planned => "planned",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Scheduled, Self::Planned, Self::Sending, Self::Sent, Self::Cancelled, Self::Failed]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// A mass send task.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MassSend {
    pub id: MassSendId,
    pub corp: CorpId,
    pub name: String,
    pub audience: Audience,
    pub content: MassContent,
    pub daily_cap: i64,
    pub scheduled_at: DateTime<Utc>,
    pub status: MassStatus,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub planned_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One recipient of a send: a customer (`customer_id`) or a group (`chat_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MassRecipient {
    pub customer_id: Option<crate::id::CustomerId>,
    pub chat_id: Option<String>,
    /// The customer's or the group's name.
    pub name: String,
    /// The sending staff member (the group's owner).
    pub sender: Option<String>,
    pub status: String,
    pub updated_at: DateTime<Utc>,
}

/// How many recipients are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MassCounts {
    pub planned: i64,
    pub sent: i64,
    pub delivered: i64,
    pub not_friend: i64,
    pub capped_by_wecom: i64,
    pub failed: i64,
    pub opted_out: i64,
    pub capped: i64,
    pub no_staff: i64,
}

impl MassCounts {
    /// Adds `n` recipients in `status`.
    pub fn add(&mut self, status: &str, n: i64) {
        match status {
            "planned" => self.planned += n,
            "sent" => self.sent += n,
            "delivered" => self.delivered += n,
            "not_friend" => self.not_friend += n,
            "capped_by_wecom" => self.capped_by_wecom += n,
            "failed" => self.failed += n,
            "opted_out" => self.opted_out += n,
            "capped" => self.capped += n,
            _ => self.no_staff += n,
        }
    }
}

/// The number of days of `date`'s month: WeCom's monthly mass-message reception limit per customer.
pub fn days_in_month(date: NaiveDate) -> u32 {
    let (y, m) = (date.year(), date.month());
    let next = if m == 12 { NaiveDate::from_ymd_opt(y + 1, 1, 1) } else { NaiveDate::from_ymd_opt(y, m + 1, 1) };
    next.and_then(|n| n.pred_opt()).map_or(30, |last| last.day())
}

/// A recipient status WeCom's `send_list.status` maps to (0 not sent yet, 1 sent, 2 not a friend, 3 capped).
pub fn result_status(wecom: i64) -> Option<&'static str> {
    match wecom {
        1 => Some("delivered"),
        2 => Some("not_friend"),
        3 => Some("capped_by_wecom"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reception_limit_is_the_number_of_days_in_the_month() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(days_in_month(d(2026, 2, 10)), 28);
        assert_eq!(days_in_month(d(2028, 2, 1)), 29);
        assert_eq!(days_in_month(d(2026, 12, 31)), 31);
        assert_eq!(days_in_month(d(2026, 11, 30)), 30);
    }

    #[test]
    fn an_empty_or_oversized_message_is_refused() {
        let ok = MassContent { text: "会员日".into(), attachments: vec![] };
        assert!(ok.validate().is_ok());
        assert_eq!(MassContent::default().validate().unwrap_err().0, "text");
        let long = MassContent { text: "字".repeat(1400), attachments: vec![] };
        assert_eq!(long.validate().unwrap_err().0, "text");
    }

    #[test]
    fn wecom_send_results_map_to_recipient_states() {
        assert_eq!(result_status(1), Some("delivered"));
        assert_eq!(result_status(3), Some("capped_by_wecom"));
        assert_eq!(result_status(0), None);
    }
}
