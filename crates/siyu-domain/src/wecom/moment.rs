//! Customer moments (客户朋友圈, reference/wecom.md §4.7): a post staff publish to their customers' moments.
//!
//! WeCom takes up to 2,000 characters of text and nine images, or one video, or one link; the posting staff
//! and the customers who see it (by corp tag) are the visibility. Creating one is asynchronous (a job id to
//! poll); each staff member then publishes it in their client, and WeCom reports who did, which customers it
//! reached, and their comments and likes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CorpId, MomentId, TagId};

/// WeCom's text limit for a moment, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;

/// What is posted: text and attachments in WeCom's wire form (`image`, `video`, `link`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MomentContent {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<serde_json::Value>,
}

impl MomentContent {
    /// The contract's shape: some text or an attachment; ≤2,000 characters; ≤9 images, or 1 video, or 1 link.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.text.chars().count() > MAX_TEXT_CHARS {
            return Err(("text", format!("over {MAX_TEXT_CHARS} characters")));
        }
        if self.text.trim().is_empty() && self.attachments.is_empty() {
            return Err(("text", "text or an attachment is needed".into()));
        }
        let kinds: Vec<&str> =
            self.attachments.iter().map(|a| a.get("msgtype").and_then(|k| k.as_str()).unwrap_or("")).collect();
        let images = kinds.iter().filter(|k| **k == "image").count();
        let ok = kinds.is_empty()
            || (images == kinds.len() && images <= 9)
            || (kinds.len() == 1 && matches!(kinds[0], "video" | "link"));
        if !ok {
            return Err(("attachments", "up to 9 images, or 1 video, or 1 link".into()));
        }
        Ok(())
    }
}

/// Who posts it and who sees it (empty: every staff member with the customer-contact permission, every
/// customer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MomentVisibility {
    /// Posting staff (userids).
    #[serde(default)]
    pub staff: Vec<String>,
    /// Customers holding any of these tags (tags linked to WeCom corp tags).
    #[serde(default)]
    pub tag_ids: Vec<TagId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MomentStatus {
    /// Waiting for its time.
    Scheduled,
    /// `add_moment_task` claimed (called, or about to be).
    Submitting,
    /// WeCom is creating it (a job id to poll).
    Creating,
    /// WeCom created it; staff publish it in their clients.
    Published,
    Failed,
    Cancelled,
}

impl MomentStatus {
    pub const ALL: [Self; 6] =
        [Self::Scheduled, Self::Submitting, Self::Creating, Self::Published, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Submitting => "submitting",
            Self::Creating => "creating",
            Self::Published => "published",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// What WeCom could not use of the visibility.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MomentInvalid {
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub departments: Vec<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A moments task.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Moment {
    pub id: MomentId,
    pub corp: CorpId,
    pub name: String,
    pub content: MomentContent,
    pub visibility: MomentVisibility,
    pub scheduled_at: DateTime<Utc>,
    pub status: MomentStatus,
    /// WeCom's moment id, once created.
    pub moment_id: Option<String>,
    pub invalid: Option<MomentInvalid>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    /// When results were last pulled back.
    pub results_at: Option<DateTime<Utc>>,
}

/// One staff member's part of a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MomentSender {
    pub userid: String,
    pub published: bool,
    /// Customers it was visible to.
    pub visible: i64,
    pub comments: i64,
    pub likes: i64,
}

/// A comment or like on a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MomentInteraction {
    /// The staff member whose post it is on.
    pub userid: String,
    /// `comment` or `like`.
    pub kind: String,
    /// The customer (empty when a staff member commented).
    pub external_userid: String,
    pub staff_userid: String,
    pub customer_id: Option<crate::id::CustomerId>,
    pub at: DateTime<Utc>,
}

/// Timeline kinds the moments write.
pub mod kinds {
    /// A customer commented on a moment (payload: moment, name, userid).
    pub const MOMENT_COMMENTED: &str = "moment_commented";
    /// A customer liked a moment (payload: moment, name, userid).
    pub const MOMENT_LIKED: &str = "moment_liked";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn content(attachments: Vec<serde_json::Value>) -> MomentContent {
        MomentContent { text: "新品".into(), attachments }
    }

    #[test]
    fn a_moment_takes_nine_images_or_one_video_or_one_link() {
        let image = json!({"msgtype": "image", "image": {"media_id": "M"}});
        assert!(content(vec![image.clone(); 9]).validate().is_ok());
        assert_eq!(content(vec![image.clone(); 10]).validate().unwrap_err().0, "attachments");
        let video = json!({"msgtype": "video", "video": {"media_id": "V"}});
        assert!(content(vec![video.clone()]).validate().is_ok());
        assert!(content(vec![video, image]).validate().is_err());
        let link = json!({"msgtype": "link", "link": {"title": "t", "url": "https://x"}});
        assert!(content(vec![link.clone(), link]).validate().is_err());
    }

    #[test]
    fn an_empty_or_oversized_moment_is_refused() {
        assert_eq!(MomentContent::default().validate().unwrap_err().0, "text");
        let long = MomentContent { text: "字".repeat(2001), attachments: vec![] };
        assert_eq!(long.validate().unwrap_err().0, "text");
        assert!(MomentContent { text: "字".repeat(2000), attachments: vec![] }.validate().is_ok());
    }

    #[test]
    fn statuses_round_trip() {
        for s in MomentStatus::ALL {
            assert_eq!(MomentStatus::parse(s.as_str()), Some(s));
        }
    }
}
