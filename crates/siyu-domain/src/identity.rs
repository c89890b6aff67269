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
    /// A store membership number (会员卡号), unique within its store (`member_no@store`).
    MemberNo,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 9] = [
        Self::Unionid,
        Self::Openid,
        Self::ExternalUserid,
        Self::Phone,
        Self::Email,
        Self::PlatformBuyer,
        Self::AnonymousId,
        Self::UserId,
        Self::MemberNo,
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
            Self::MemberNo => "member_no",
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
            Self::MemberNo => Some("store"),
            _ => None,
        }
    }

    /// Personal information (PIPL): stored encrypted with a blind index, shown masked.
    pub fn is_pii(self) -> bool {
        matches!(self, Self::Phone | Self::Email)
    }
}

/// Words that client code sends when it has no identifier (compared lower-cased, quotes removed).
const BLOCKED_WORDS: [&str; 17] = [
    "null",
    "undefined",
    "none",
    "nil",
    "nan",
    "true",
    "false",
    "-1",
    "unknown",
    "anonymous",
    "guest",
    "[object object]",
    "abc123",
    "n/a",
    "(null)",
    "<null>",
    "{}",
];

/// True for values that must never join two people (cdp.md §2.3 "Blocked values"): empty, `null`,
/// `undefined`, `None`, `NaN`, `true`, `false`, `-1`, `unknown`, `anonymous`, `guest`, `[object Object]`,
/// `abc123` (any case, also inside quotes such as `"null"` or `'None'`), anything made only of `0` and `-`
/// (`0`, `000`, `0-0`), masked phones (`138****1234`), eleven identical digits, `12345678901` and
/// `13800138000`.
///
/// Tenant-maintained lists (store and staff numbers) are applied on top of this by the caller.
pub fn is_blocked_value(value: &str) -> bool {
    let v = unquoted(value);
    if v.chars().all(|c| c == '0' || c == '-') {
        return true;
    }
    let lower = v.to_lowercase();
    BLOCKED_WORDS.contains(&lower.as_str())
        || is_masked_phone(v)
        || is_eleven_identical_digits(v)
        || v == "12345678901"
        || v == "13800138000"
}

/// Trims and removes any number of matching surrounding quotes: `"null"`, `'null'`, `"\"null\""`.
fn unquoted(value: &str) -> &str {
    let mut v = value.trim();
    loop {
        let stripped = ['"', '\'', '`'].iter().find_map(|q| v.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)));
        match stripped {
            Some(inner) => v = inner.trim_matches(|c: char| c.is_whitespace() || c == '\\'),
            None => return v,
        }
    }
}

/// `^1\d{2}\*{4}\d{4}$`, also with full-width asterisks (`138＊＊＊＊1234`).
fn is_masked_phone(v: &str) -> bool {
    let chars: Vec<char> = v.chars().collect();
    chars.len() == 11
        && chars[0] == '1'
        && chars[1..3].iter().all(char::is_ascii_digit)
        && chars[3..7].iter().all(|c| *c == '*' || *c == '＊')
        && chars[7..].iter().all(char::is_ascii_digit)
}

fn is_eleven_identical_digits(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 11 && b[0].is_ascii_digit() && b.iter().all(|c| *c == b[0])
}

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
        if is_blocked_value(&value) {
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

    #[test]
    fn member_numbers_are_unique_within_their_store() {
        assert_eq!(IdentityKind::MemberNo.namespace_name(), Some("store"));
        assert!(NewIdentity::parse(IdentityKind::MemberNo, None, "M000123").is_err());
        let id = NewIdentity::parse(IdentityKind::MemberNo, Some("sh-jingan"), "M000123").unwrap();
        assert_eq!((id.namespace.as_str(), id.value.as_str()), ("sh-jingan", "M000123"));
        assert!(!IdentityKind::MemberNo.is_pii());
    }

    #[test]
    fn spelled_out_nothings_are_blocked_in_any_case_and_quoting() {
        let nothings = [
            "None",
            "NaN",
            "nan",
            "TRUE",
            "false",
            "guest",
            "Guest",
            "[object Object]",
            "abc123",
            "ABC123",
            "\"null\"",
            "'undefined'",
            "\"None\"",
            " \"\\\"null\\\"\" ",
            "`nil`",
            "unknown",
            "anonymous",
            "-1",
        ];
        for v in nothings {
            assert!(is_blocked_value(v), "{v:?}");
            assert_eq!(
                NewIdentity::parse(IdentityKind::UserId, None, v),
                Err(DomainError::invalid("value", "blocked_value")),
                "{v:?}"
            );
        }
    }

    #[test]
    fn zeros_and_dashes_are_blocked_but_ids_containing_them_are_not() {
        for v in ["", "0", "000000", "0-0", "---", "00-000"] {
            assert!(is_blocked_value(v), "{v:?}");
        }
        for v in ["10", "0a", "user-0", "-2", "1001", "null_pointer_fan", "guest_42", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"] {
            assert!(!is_blocked_value(v), "{v:?}");
        }
    }

    #[test]
    fn masked_and_placeholder_phones_are_blocked_whatever_kind_carries_them() {
        for v in ["138****1234", "138＊＊＊＊1234", "12345678901", "11111111111", "00000000000", "13800138000"] {
            assert!(is_blocked_value(v), "{v:?}");
            assert!(NewIdentity::parse(IdentityKind::UserId, None, v).is_err(), "{v:?}");
            assert!(NewIdentity::parse(IdentityKind::PlatformBuyer, Some("taobao"), v).is_err(), "{v:?}");
        }
        assert!(!is_blocked_value("13812345678"));
        assert!(!is_blocked_value("138****123"), "not the masked pattern");
        assert!(!is_blocked_value("1111111111"), "ten identical digits are a possible member number");
    }

    #[test]
    fn a_masked_phone_keeps_its_own_error_for_the_phone_kind() {
        assert_eq!(NewIdentity::parse(IdentityKind::Phone, None, "138****1234"), Err(DomainError::MaskedPhone));
        let placeholder = NewIdentity::parse(IdentityKind::Phone, None, "12345678901");
        assert!(placeholder.is_err(), "{placeholder:?}");
    }

    proptest::proptest! {
        #[test]
        fn a_blocked_word_never_becomes_an_identity_however_it_is_cased_or_quoted(
            word in proptest::sample::select(&BLOCKED_WORDS[..]),
            upper in proptest::collection::vec(proptest::bool::ANY, 16),
            quote in proptest::sample::select(&["", "\"", "'", "`"][..]),
            kind in 0usize..IdentityKind::ALL.len(),
        ) {
            let cased: String = word
                .chars()
                .zip(upper.iter().cycle())
                .map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c })
                .collect();
            let v = format!("{quote}{cased}{quote}");
            proptest::prop_assert!(is_blocked_value(&v));
            proptest::prop_assert!(NewIdentity::parse(IdentityKind::ALL[kind], Some("ns"), &v).is_err());
        }

        #[test]
        fn the_guard_never_panics(v in "\\PC{0,40}") {
            let _ = is_blocked_value(&v);
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
