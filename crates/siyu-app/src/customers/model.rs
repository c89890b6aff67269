//! What customer use cases take and return (also the API's JSON shapes).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use siyu_domain::customer::{Customer, Follow, Gender, Note};
use siyu_domain::id::{TagId, UserId};
use siyu_domain::identity::{Identity, IdentityKind};

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    pub kind: IdentityKind,
    /// appid for openid, corp_id for external_userid, platform for platform_buyer.
    pub namespace: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerInput {
    pub name: String,
    #[serde(default)]
    pub gender: Option<Gender>,
    pub avatar_url: Option<String>,
    pub remark: Option<String>,
    /// Full phone number (stored encrypted, shown masked).
    pub phone: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub identities: Vec<IdentityInput>,
    #[serde(default)]
    pub tags: Vec<TagId>,
    /// Custom profile field values by field key.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    /// The staff member following this customer (defaults to the creator unless they see all customers).
    pub follow_user_id: Option<UserId>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub gender: Option<Gender>,
    /// `null` clears it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub remark: Option<Option<String>>,
    /// Custom values to set; a `null` value clears that field.
    #[schema(value_type = Option<Object>)]
    pub custom: Option<Map<String, Value>>,
}

/// Distinguishes an absent field from an explicit `null`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagRef {
    pub id: TagId,
    pub name: String,
    pub group: String,
}

/// A customer as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerSummary {
    #[serde(flatten)]
    pub customer: Customer,
    /// Masked phone (`138****5678`).
    pub phone: Option<String>,
    pub tags: Vec<TagRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowView {
    #[serde(flatten)]
    pub follow: Follow,
    pub user_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoteView {
    #[serde(flatten)]
    pub note: Note,
    pub author_name: String,
}

/// Everything the customer page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerDetail {
    #[serde(flatten)]
    pub customer: Customer,
    pub phone: Option<String>,
    pub identities: Vec<Identity>,
    pub tags: Vec<TagRef>,
    pub follows: Vec<FollowView>,
    pub notes: Vec<NoteView>,
}
