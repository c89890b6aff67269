//! Identities: the typed identifiers that point at one customer.
//!
//! An identity is unique per (tenant, kind, namespace, value). Some kinds need a namespace: an openid is
//! only unique within its appid, an external_userid within its corp, a buyer id within its platform.

use serde::{Deserialize, Serialize};

use crate::phone::{self, Phone};
use crate::{DomainError, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Unionid,
    Openid,
    ExternalUserid,
    Phone,
    Email,
    PlatformBuyer,
    AnonymousId,
    UserId,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 8] = [
        Self::Unionid,
        Self::Openid,
        Self::ExternalUserid,
        Self::Phone,
        Self::Email,
        Self::PlatformBuyer,
        Self::AnonymousId,
        Self::UserId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unionid => "unionid",
            Self::Openid => "openid",
            Self::ExternalUserid => "external_userid",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::PlatformBuyer => "platform_buyer",
            Self::AnonymousId => "anonymous_id",
            Self::UserId => "user_id",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the namespace means for this kind, if it needs one.
    pub fn namespace_name(self) -> Option<&'static str> {
        match self {
            Self::Openid => Some("appid"),
            Self::ExternalUserid => Some("corp_id"),
            Self::PlatformBuyer => Some("platform"),
            _ => None,
        }
    }

    /// Personal information (PIPL): stored encrypted with a blind index, shown masked.
    pub fn is_pii(self) -> bool {
        matches!(self, Self::Phone | Self::Email)
    }
}

/// Values that client code sends when it has no identifier; they must never join two people.
const BLOCKED: [&str; 9] = ["", "null", "undefined", "none", "nil", "0", "-1", "unknown", "anonymous"];

/// A validated identity value ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIdentity {
    pub kind: IdentityKind,
    /// Empty when the kind needs no namespace.
    pub namespace: String,
    /// Canonical value (E.164 for phones, lower-case for emails).
    pub value: String,
}

impl NewIdentity {
    pub fn parse(kind: IdentityKind, namespace: Option<&str>, value: &str) -> Result<Self, DomainError> {
        let namespace = match kind.namespace_name() {
            Some(name) => text::required(name, namespace.unwrap_or(""), 64)?,
            None => String::new(),
        };
        let value = match kind {
            IdentityKind::Phone => {
                let p = Phone::parse(value)?;
                if phone::is_placeholder(&p) {
                    return Err(DomainError::invalid("value", "placeholder_phone"));
                }
                p.e164().to_string()
            }
            IdentityKind::Email => parse_email(value)?,
            _ => text::required("value", value, 128)?,
        };
        if BLOCKED.contains(&value.to_ascii_lowercase().as_str()) {
            return Err(DomainError::invalid("value", "blocked_value"));
        }
        Ok(Self { kind, namespace, value })
    }

    /// What the console may show without the reveal permission.
    pub fn masked(&self) -> String {
        mask_value(self.kind, &self.value)
    }
}

/// Masks a canonical identity value of the given kind.
pub fn mask_value(kind: IdentityKind, value: &str) -> String {
    match kind {
        IdentityKind::Phone => phone::mask(value.strip_prefix("+86").unwrap_or(value)),
        IdentityKind::Email => match value.split_once('@') {
            Some((user, domain)) => {
                let first: String = user.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".into(),
        },
        _ => value.to_string(),
    }
}

fn parse_email(value: &str) -> Result<String, DomainError> {
    let v = text::required("value", value, 254)?.to_lowercase();
    let bad = || DomainError::invalid("value", "invalid_email");
    let (user, domain) = v.split_once('@').ok_or_else(bad)?;
    if user.is_empty() || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(bad());
    }
    if v.chars().any(char::is_whitespace) || domain.contains('@') {
        return Err(bad());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_without_an_appid_is_refused() {
        assert!(NewIdentity::parse(IdentityKind::Openid, None, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M").is_err());
        let id = NewIdentity::parse(IdentityKind::Openid, Some("wx123"), "o6_bm").unwrap();
        assert_eq!(id.namespace, "wx123");
    }

    #[test]
    fn blocked_values_never_become_identities() {
        for v in ["null", "undefined", "NULL", "0"] {
            assert!(NewIdentity::parse(IdentityKind::Unionid, None, v).is_err(), "{v}");
        }
    }

    #[test]
    fn phones_are_normalised_and_placeholder_phones_refused() {
        let id = NewIdentity::parse(IdentityKind::Phone, None, "138 1234 5678").unwrap();
        assert_eq!(id.value, "+8613812345678");
        assert_eq!(id.masked(), "138****5678");
        assert!(NewIdentity::parse(IdentityKind::Phone, None, "13800138000").is_err());
    }

    #[test]
    fn emails_are_lower_cased_and_masked() {
        let id = NewIdentity::parse(IdentityKind::Email, None, " Li.Lei@Example.COM ").unwrap();
        assert_eq!(id.value, "li.lei@example.com");
        assert_eq!(id.masked(), "l***@example.com");
        assert!(NewIdentity::parse(IdentityKind::Email, None, "not-an-email").is_err());
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in IdentityKind::ALL {
            assert_eq!(IdentityKind::parse(k.as_str()), Some(k));
        }
    }
}

/// An identity as stored and shown. PII values are only here masked; revealing decrypts `value_enc` in
/// `siyu-app` and is audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identity {
    pub id: crate::id::IdentityId,
    pub customer_id: crate::id::CustomerId,
    pub kind: IdentityKind,
    /// appid / corp_id / platform for the kinds that need one, else empty.
    pub namespace: String,
    /// The value itself for non-PII kinds; masked (`138****5678`) for phone and email.
    pub display: String,
    /// Which system added it (`console`, `api`, `import`, `wecom`, `sdk`).
    pub source: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}
