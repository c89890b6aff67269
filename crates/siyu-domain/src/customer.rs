//! The customer: one unified person, whatever touchpoints they came through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::id::{CustomerId, TagId, UserId};
use crate::{Invalid, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    #[default]
    Unknown,
    Male,
    Female,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Male => "male",
            Self::Female => "female",
        }
    }

    /// Accepts the English names, WeCom's numeric codes (0/1/2) and the Chinese words.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "" | "unknown" | "0" | "未知" => Some(Self::Unknown),
            "male" | "1" | "男" | "m" | "M" => Some(Self::Male),
            "female" | "2" | "女" | "f" | "F" => Some(Self::Female),
            _ => None,
        }
    }
}

/// A customer as services return it. PII (phone, email) is not here: it lives in identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub gender: Gender,
    pub avatar_url: Option<String>,
    pub remark: Option<String>,
    /// Where the customer first came from (`import`, `api`, `wecom`, `console`, ...).
    pub source: String,
    /// Custom profile field values by field key.
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_active_at: Option<DateTime<Utc>>,
}

/// Validated profile fields of a customer; used for create and full update.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    pub name: String,
    pub gender: Gender,
    pub avatar_url: Option<String>,
    pub remark: Option<String>,
}

impl Profile {
    pub fn parse(name: &str, gender: Gender, avatar_url: Option<&str>, remark: Option<&str>) -> Result<Self, Invalid> {
        let avatar_url = text::optional("avatar_url", avatar_url, 500)?;
        if let Some(u) = &avatar_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(Invalid::new("avatar_url", "expected_http_url"));
        }
        Ok(Self {
            name: text::required("name", name, 64)?,
            gender,
            avatar_url,
            remark: text::optional("remark", remark, 500)?,
        })
    }
}

/// Filters for the customer list. All given criteria must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerFilter {
    pub tags_any: Vec<TagId>,
    pub tags_all: Vec<TagId>,
    pub tags_none: Vec<TagId>,
    /// Customers followed by this staff member.
    pub staff: Option<UserId>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub active_from: Option<DateTime<Utc>>,
    pub active_to: Option<DateTime<Utc>>,
    /// Text search on name and remark; a phone number searches the phone identity exactly.
    pub q: Option<String>,
}

impl CustomerFilter {
    pub const MAX_TAGS: usize = 50;

    pub fn validate(&self) -> Result<(), Invalid> {
        for (field, tags) in
            [("tags_any", &self.tags_any), ("tags_all", &self.tags_all), ("tags_none", &self.tags_none)]
        {
            if tags.len() > Self::MAX_TAGS {
                return Err(Invalid::new(field, "too_many_tags"));
            }
        }
        if let Some(q) = &self.q
            && q.chars().count() > 64
        {
            return Err(Invalid::new("q", "too_long (max 64 characters)"));
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gender_accepts_wecom_codes_and_chinese() {
        assert_eq!(Gender::parse("1"), Some(Gender::Male));
        assert_eq!(Gender::parse("女"), Some(Gender::Female));
        assert_eq!(Gender::parse("x"), None);
    }

    #[test]
    fn avatar_must_be_a_web_address() {
        assert!(Profile::parse("a", Gender::Unknown, Some("javascript:alert(1)"), None).is_err());
        assert!(Profile::parse("a", Gender::Unknown, Some("https://img/x.png"), None).is_ok());
    }

    #[test]
    fn filters_bound_their_size() {
        let f = CustomerFilter { tags_any: (0..51).map(|_| TagId::new()).collect(), ..Default::default() };
        assert!(f.validate().is_err());
        assert!(CustomerFilter::default().is_empty());
    }
}

/// The staff–customer relation WeCom knows as a "follow user": who added whom, how, with what remark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Follow {
    pub customer_id: CustomerId,
    pub user_id: UserId,
    pub remark: Option<String>,
    pub description: Option<String>,
    /// How the customer was added (WeCom add_way: `qr_code`, `phone_search`, `card_share`, `group`, `manual`...).
    pub add_way: String,
    /// The channel or live-code `state` the customer came through.
    pub state: Option<String>,
    pub added_at: DateTime<Utc>,
}

/// A note an operator wrote about a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Note {
    pub id: crate::id::NoteId,
    pub customer_id: CustomerId,
    pub author_id: UserId,
    pub body: String,
    pub created_at: DateTime<Utc>,
}
