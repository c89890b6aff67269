//! The identifiers a message carries, for identity resolution (cdp.md §2).

use serde_json::{Map, Value};

use super::{Message, MessageType};
use crate::DomainError;
use crate::identity::{IdentityKind, NewIdentity};

/// How much an identifier may do in identity resolution (cdp.md §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strength {
    /// A suggestion only: staff confirm before two people become one (typed-in phone or email).
    Weak,
    /// May merge people, within the guards of §2.3 (limits per type, uniqueness, cardinality).
    Strong,
}

/// An identifier found in a message, already validated and canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedIdentity {
    pub identity: NewIdentity,
    pub strength: Strength,
    /// Where it was found: `userId`, `anonymousId`, `context.externalIds[2]`, `traits.phone`.
    pub path: String,
}

/// An identifier the message tried to carry but that must not be used. Not an error for the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedIdentifier {
    /// Where it was found, as in [`CarriedIdentity::path`].
    pub path: String,
    /// The kind it would have been; `None` when the externalIds `type` is unknown.
    pub kind: Option<IdentityKind>,
    /// Stable snake_case reason: `blocked_value`, `masked_phone`, `placeholder_phone`, `invalid_phone`,
    /// `invalid_email`, `too_long`, `control_characters`, `missing_namespace`, `invalid_namespace`,
    /// `unsupported_type`, `hashed_value`, `not_a_user`, `missing_id`, `missing_type`, `not_an_object`,
    /// `not_an_array`, `not_a_string`.
    pub reason: String,
}

/// What [`Message::identifiers`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identifiers {
    /// Distinct by (kind, namespace, value); a value seen twice keeps its first path and its strongest strength.
    pub carried: Vec<CarriedIdentity>,
    pub dropped: Vec<DroppedIdentifier>,
}

impl Message {
    /// The identifiers this message carries, each through [`NewIdentity::parse`] (so blocked values,
    /// placeholder and masked phones are dropped and reported in [`Identifiers::dropped`]).
    ///
    /// | Source | Kind | Strength |
    /// |---|---|---|
    /// | `userId` | `user_id` | strong |
    /// | `anonymousId` | `anonymous_id` | strong (the resolver rate-limits it per person, §2.3) |
    /// | `context.externalIds[]` `type: openid`, `appid` | `openid@appid` | strong |
    /// | … `unionid` (`open_account` ignored) | `unionid` | strong |
    /// | … `external_userid`, `corpid` (or `corp_id`; `ns` ignored) | `external_userid@corpid` | strong |
    /// | … `mobile` or `phone`, with `verified_by` | `phone` | strong |
    /// | … `mobile` or `phone`, without `verified_by` | `phone` | weak |
    /// | … `email`, with / without `verified_by` | `email` | strong / weak |
    /// | … `buyer_id`, `platform` (`shop` ignored) | `platform_buyer@platform` | strong |
    /// | … `member_no`, `store` | `member_no@store` | strong |
    /// | … `user_id`, `anonymous_id` | as `userId`, `anonymousId` | strong |
    /// | `traits.phone` on identify | `phone` | weak (typed in) |
    /// | `traits.email` on identify | `email` | weak (typed in) |
    ///
    /// externalIds entries are `{id, type, collection, encoding, …namespace fields}`; an entry whose
    /// `collection` is not `users` (Segment uses `accounts` for groups) is `not_a_user`, and one whose
    /// `encoding` is not `none` is a `hashed_value`. An alias' `previousId` is not included: it may be a
    /// former userId or an anonymousId, so the resolver looks it up under both.
    pub fn identifiers(&self) -> Identifiers {
        let mut found = Identifiers::default();
        if let Some(v) = &self.user_id {
            found.add("userId", IdentityKind::UserId, None, v, Strength::Strong);
        }
        if let Some(v) = &self.anonymous_id {
            found.add("anonymousId", IdentityKind::AnonymousId, None, v, Strength::Strong);
        }
        match self.context.get("externalIds") {
            None | Some(Value::Null) => {}
            Some(Value::Array(entries)) => {
                for (i, entry) in entries.iter().enumerate() {
                    found.external_id(&format!("context.externalIds[{i}]"), entry);
                }
            }
            Some(_) => found.drop("context.externalIds", None, "not_an_array"),
        }
        if self.kind == MessageType::Identify {
            for (key, kind) in [("phone", IdentityKind::Phone), ("email", IdentityKind::Email)] {
                let path = format!("traits.{key}");
                match scalar(self.traits.get(key)) {
                    Scalar::Missing => {}
                    Scalar::Text(v) => found.add(&path, kind, None, &v, Strength::Weak),
                    Scalar::Other => found.drop(&path, Some(kind), "not_a_string"),
                }
            }
        }
        found
    }
}

impl Identifiers {
    fn external_id(&mut self, path: &str, entry: &Value) {
        let Value::Object(e) = entry else {
            return self.drop(path, None, "not_an_object");
        };
        let Some(ty) = e.get("type").and_then(Value::as_str).map(|t| t.trim().to_ascii_lowercase()) else {
            return self.drop(path, None, "missing_type");
        };
        let verified = field(e, &["verified_by"]).is_some();
        let strong_if_verified = if verified { Strength::Strong } else { Strength::Weak };
        let (kind, namespace_keys, strength): (_, &[&str], _) = match ty.as_str() {
            "user_id" | "userid" => (IdentityKind::UserId, &[], Strength::Strong),
            "anonymous_id" | "anonymousid" => (IdentityKind::AnonymousId, &[], Strength::Strong),
            "openid" => (IdentityKind::Openid, &["appid", "app_id"], Strength::Strong),
            "unionid" => (IdentityKind::Unionid, &[], Strength::Strong),
            "external_userid" => (IdentityKind::ExternalUserid, &["corpid", "corp_id"], Strength::Strong),
            "mobile" | "phone" => (IdentityKind::Phone, &[], strong_if_verified),
            "email" => (IdentityKind::Email, &[], strong_if_verified),
            "buyer_id" => (IdentityKind::PlatformBuyer, &["platform"], Strength::Strong),
            "member_no" => (IdentityKind::MemberNo, &["store"], Strength::Strong),
            _ => return self.drop(path, None, "unsupported_type"),
        };
        if field(e, &["collection"]).is_some_and(|c| !c.eq_ignore_ascii_case("users")) {
            return self.drop(path, Some(kind), "not_a_user");
        }
        if field(e, &["encoding"]).is_some_and(|c| !c.eq_ignore_ascii_case("none")) {
            return self.drop(path, Some(kind), "hashed_value");
        }
        match scalar(e.get("id")) {
            Scalar::Missing => self.drop(path, Some(kind), "missing_id"),
            Scalar::Other => self.drop(path, Some(kind), "not_a_string"),
            Scalar::Text(id) => self.add(path, kind, field(e, namespace_keys), &id, strength),
        }
    }

    fn add(&mut self, path: &str, kind: IdentityKind, namespace: Option<&str>, value: &str, strength: Strength) {
        let identity = match NewIdentity::parse(kind, namespace, value) {
            Ok(identity) => identity,
            Err(e) => return self.drop(path, Some(kind), &reason(kind, &e)),
        };
        match self.carried.iter_mut().find(|c| c.identity == identity) {
            Some(seen) => seen.strength = seen.strength.max(strength),
            None => self.carried.push(CarriedIdentity { identity, strength, path: path.to_string() }),
        }
    }

    fn drop(&mut self, path: &str, kind: Option<IdentityKind>, reason: &str) {
        self.dropped.push(DroppedIdentifier { path: path.to_string(), kind, reason: reason.to_string() });
    }
}

/// The first of `keys` holding a non-blank string.
fn field<'a>(e: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| e.get(*k).and_then(Value::as_str).filter(|s| !s.trim().is_empty()))
}

enum Scalar {
    /// Absent, `null` or blank: no identifier at all, nothing to report.
    Missing,
    Text(String),
    Other,
}

/// A string, or a number as its decimal text (phones and member numbers are often sent as numbers).
fn scalar(v: Option<&Value>) -> Scalar {
    match v {
        None | Some(Value::Null) => Scalar::Missing,
        Some(Value::String(s)) if s.trim().is_empty() => Scalar::Missing,
        Some(Value::String(s)) => Scalar::Text(s.clone()),
        Some(Value::Number(n)) => Scalar::Text(n.to_string()),
        Some(_) => Scalar::Other,
    }
}

/// A stable reason code from the identity rules' error.
fn reason(kind: IdentityKind, e: &DomainError) -> String {
    match e {
        DomainError::MaskedPhone => "masked_phone".into(),
        DomainError::Invalid(inv) => {
            let head = inv.reason.split(' ').next().unwrap_or_default();
            if kind.namespace_name() == Some(inv.field.as_str()) {
                if head == "required" { "missing_namespace" } else { "invalid_namespace" }.into()
            } else {
                head.into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identify(traits: Value, external_ids: Value) -> Message {
        let mut m = Message::new(MessageType::Identify);
        m.user_id = Some("u_1001".into());
        m.traits = traits.as_object().cloned().unwrap_or_default();
        m.context.insert("externalIds".into(), external_ids);
        m
    }

    fn carried(found: &Identifiers) -> Vec<(IdentityKind, &str, &str, Strength)> {
        let c = found.carried.iter();
        c.map(|c| (c.identity.kind, c.identity.namespace.as_str(), c.identity.value.as_str(), c.strength)).collect()
    }

    fn dropped(found: &Identifiers) -> Vec<(&str, &str)> {
        found.dropped.iter().map(|d| (d.path.as_str(), d.reason.as_str())).collect()
    }

    #[test]
    fn china_external_ids_map_to_identity_kinds_with_their_namespaces() {
        use IdentityKind as K;
        use Strength::Strong;
        let m = identify(
            json!({}),
            json!([
                {"id": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "type": "openid", "appid": "wx8f3c2a", "collection": "users", "encoding": "none"},
                {"id": "oXyZ_unionid_9", "type": "unionid", "open_account": "op_brand"},
                {"id": "wmAbC123", "type": "external_userid", "corpid": "ww77aa", "ns": "own"},
                {"id": "tb_nick_88", "type": "buyer_id", "platform": "taobao", "shop": "flagship"},
                {"id": 880012, "type": "member_no", "store": "sh-jingan"},
            ]),
        );
        assert_eq!(
            carried(&m.identifiers()),
            [
                (K::UserId, "", "u_1001", Strong),
                (K::Openid, "wx8f3c2a", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", Strong),
                (K::Unionid, "", "oXyZ_unionid_9", Strong),
                (K::ExternalUserid, "ww77aa", "wmAbC123", Strong),
                (K::PlatformBuyer, "taobao", "tb_nick_88", Strong),
                (K::MemberNo, "sh-jingan", "880012", Strong),
            ]
        );
    }

    #[test]
    fn a_typed_in_phone_is_weak_and_a_verified_mobile_is_strong() {
        let typed = identify(json!({"phone": "138 1234 5678", "email": "Li.Lei@Example.com"}), Value::Null);
        let found = typed.identifiers();
        assert_eq!(found.carried[1].identity.value, "+8613812345678");
        assert_eq!((found.carried[1].path.as_str(), found.carried[1].strength), ("traits.phone", Strength::Weak));
        assert_eq!(
            (found.carried[2].identity.value.as_str(), found.carried[2].strength),
            ("li.lei@example.com", Strength::Weak)
        );
        let verified =
            identify(json!({}), json!([{"id": "13812345678", "type": "mobile", "verified_by": "getPhoneNumber"}]));
        assert_eq!(verified.identifiers().carried[1].strength, Strength::Strong);
        let unverified = identify(json!({}), json!([{"id": "13812345678", "type": "mobile"}]));
        assert_eq!(unverified.identifiers().carried[1].strength, Strength::Weak);
    }

    #[test]
    fn a_value_carried_twice_is_listed_once_with_its_strongest_strength() {
        let m = identify(
            json!({"phone": "13812345678"}),
            json!([{"id": "+86 138-1234-5678", "type": "mobile", "verified_by": "sms_otp"}]),
        );
        let found = m.identifiers();
        let phones: Vec<_> = found.carried.iter().filter(|c| c.identity.kind == IdentityKind::Phone).collect();
        assert_eq!(phones.len(), 1);
        assert_eq!((phones[0].path.as_str(), phones[0].strength), ("context.externalIds[0]", Strength::Strong));
    }

    #[test]
    fn masked_placeholder_and_blocked_identifiers_are_dropped_not_errors() {
        let mut m = identify(
            json!({"phone": "138****1234", "email": "null"}),
            json!([
                {"id": "13800138000", "type": "mobile", "verified_by": "sms_otp"},
                {"id": "o6_x", "type": "openid"},
                {"id": "\"undefined\"", "type": "unionid"},
            ]),
        );
        m.anonymous_id = Some("[object Object]".into());
        let found = m.identifiers();
        assert_eq!(carried(&found), [(IdentityKind::UserId, "", "u_1001", Strength::Strong)]);
        assert_eq!(
            dropped(&found),
            [
                ("anonymousId", "blocked_value"),
                ("context.externalIds[0]", "placeholder_phone"),
                ("context.externalIds[1]", "missing_namespace"),
                ("context.externalIds[2]", "blocked_value"),
                ("traits.phone", "masked_phone"),
                ("traits.email", "invalid_email"),
            ]
        );
    }

    #[test]
    fn hashed_account_and_unknown_external_ids_are_not_person_identifiers() {
        let m = identify(
            json!({"phone": {"home": "x"}}),
            json!([
                {"id": "5f4dcc3b5aa765d61d8327deb882cf99", "type": "email", "encoding": "md5"},
                {"id": "acme", "type": "user_id", "collection": "accounts"},
                {"id": "GA1.2.3", "type": "ga_client_id"},
                {"type": "unionid"},
                "o6_plain_string",
            ]),
        );
        let found = m.identifiers();
        let reasons: Vec<_> = dropped(&found).into_iter().map(|(_, r)| r).collect();
        assert_eq!(
            reasons,
            ["hashed_value", "not_a_user", "unsupported_type", "missing_id", "not_an_object", "not_a_string"]
        );
    }

    #[test]
    fn traits_count_only_on_identify_and_an_alias_carries_its_user_id_but_not_its_previous_id() {
        let mut group = Message::new(MessageType::Group);
        group.anonymous_id = Some("anon-7".into());
        group.traits.insert("email".into(), json!("sales@acme.example"));
        assert_eq!(carried(&group.identifiers()), [(IdentityKind::AnonymousId, "", "anon-7", Strength::Strong)]);
        let mut alias = Message::new(MessageType::Alias);
        alias.user_id = Some("u_9".into());
        alias.previous_id = Some("anon-9".into());
        assert_eq!(carried(&alias.identifiers()), [(IdentityKind::UserId, "", "u_9", Strength::Strong)]);
        let mut odd = Message::new(MessageType::Track);
        odd.context.insert("externalIds".into(), json!({"id": "x"}));
        assert_eq!(dropped(&odd.identifiers()), [("context.externalIds", "not_an_array")]);
    }
}
