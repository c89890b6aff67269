//! Who bought and who receives: the buyer identifiers emitted for matching, and the receiver's contact
//! details, which stay attributes of the order (cdp.md §2.1: a receiver phone is weak evidence, a gift's
//! receiver is not the buyer).
//!
//! ## Phone numbers in exports ([`PhoneKind`])
//!
//! - **Masked** (`138****1234`, `1387677****`, `*******1234`, `138xxxx1234`): any `*` or a run of `x`.
//!   Pinduoduo masks once shipped, JD and Douyin desensitise, newer Taobao exports blank or mask them.
//! - **Virtual** (privacy numbers, 隐私号/虚拟号): an 11-digit number followed by an extension
//!   (`13800138000-1234`, `…转1234`, `…,1234`, `…#1234`, `ext`, `分机`; Taobao's 订单号码保护 since
//!   2022-08 prints an 11-digit host number plus a 4-digit extension that expires 15 days after the trade),
//!   numbers starting with `95013` (a privacy-line prefix), and mobiles in the virtual-operator (MVNO)
//!   ranges `170`, `171`, `162`, `165`, `167`, which privacy-number pools are drawn from. An MVNO number
//!   may be a real subscriber's, but it cannot be told apart, so it is never an identifier.
//! - **Mobile**: a full mainland or international mobile that [`crate::phone::Phone`] accepts and that is
//!   not a placeholder (`13800138000`, eleven identical digits).
//! - **Other**: landlines and anything unreadable, kept as text.
//!
//! Only a full **buyer** mobile becomes an identifier. Receiver phones, and masked or virtual buyer phones,
//! are kept on the order and reported as [`MatchHint`]s so the caller can raise a merge suggestion.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::cell::{clean, halfwidth, is_absent};
use crate::DomainError;
use crate::identity::{self, IdentityKind, NewIdentity};
use crate::phone::{self, Phone};

/// Mobile prefixes of virtual operators (虚拟运营商), from which privacy numbers are drawn.
pub const VIRTUAL_PREFIXES: [&str; 5] = ["170", "171", "162", "165", "167"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    Mobile,
    Masked,
    Virtual,
    Other,
}

/// A phone number as an export printed it, classified. `Debug` is masked.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactPhone {
    /// The cleaned text (may be masked or carry an extension).
    pub text: String,
    pub kind: PhoneKind,
    /// E.164 (`+8613812345678`) for [`PhoneKind::Mobile`], else `None`.
    pub e164: Option<String>,
}

impl ContactPhone {
    /// Classifies a phone cell; `None` when the cell is empty or a placeholder.
    pub fn classify(cell: &str) -> Option<Self> {
        let text = halfwidth(&clean(cell));
        if is_absent(&text) {
            return None;
        }
        let kind_only = |kind| Some(Self { text: text.clone(), kind, e164: None });
        if is_masked(&text) {
            return kind_only(PhoneKind::Masked);
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if has_extension(&text) || digits.starts_with("95013") {
            return kind_only(PhoneKind::Virtual);
        }
        match Phone::parse(&text) {
            Ok(p) if phone::is_placeholder(&p) => kind_only(PhoneKind::Other),
            Ok(p) if p.e164().starts_with("+86") && VIRTUAL_PREFIXES.iter().any(|v| p.national().starts_with(v)) => {
                kind_only(PhoneKind::Virtual)
            }
            Ok(p) => Some(Self { e164: Some(p.e164().to_string()), kind: PhoneKind::Mobile, text }),
            Err(_) => kind_only(PhoneKind::Other),
        }
    }

    /// What may be shown without the reveal permission (`138****1234`).
    pub fn masked(&self) -> String {
        match &self.e164 {
            Some(e) => phone::mask(e.strip_prefix("+86").unwrap_or(e)),
            None if self.kind == PhoneKind::Masked => self.text.clone(),
            None => phone::mask(&self.text),
        }
    }
}

impl fmt::Debug for ContactPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContactPhone({:?}, {})", self.kind, self.masked())
    }
}

fn is_masked(text: &str) -> bool {
    let xs = text.chars().filter(|c| matches!(c, 'x' | 'X')).count();
    text.contains('*') || (xs >= 3 && text.chars().all(|c| c.is_ascii_digit() || matches!(c, 'x' | 'X' | ' ' | '-')))
}

/// `13800138000-1234`, `13800138000转1234`, `13800138000,1234`: an 11-digit mobile plus an extension.
fn has_extension(text: &str) -> bool {
    let lower = text.to_lowercase();
    if ["转", "ext", "分机", "#"].iter().any(|m| lower.contains(m)) && lower.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    let Some((head, tail)) = lower.rsplit_once(['-', ',', '_', ';']) else { return false };
    let head_digits: String = head.chars().filter(char::is_ascii_digit).collect();
    let head_is_mobile = head_digits.len() == 11 && head_digits.starts_with('1');
    head_is_mobile && (1..=6).contains(&tail.len()) && tail.chars().all(|c| c.is_ascii_digit())
}

/// Whether a buyer id is masked (`t**1`, `张**`): not unique, so never an identifier.
pub fn is_masked_id(value: &str) -> bool {
    value.contains('*') || value.contains('＊')
}

/// An identifier of the buyer, validated like [`NewIdentity`], ready to match or store.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BuyerKey {
    pub kind: IdentityKind,
    /// The appid for openids, the platform name for buyer ids, else empty.
    pub namespace: String,
    /// Canonical value (E.164 for phones).
    pub value: String,
}

impl BuyerKey {
    /// Validates through [`NewIdentity::parse`]; blocked and placeholder values give `None`.
    pub fn new(kind: IdentityKind, namespace: Option<&str>, value: &str) -> Option<Self> {
        let id = NewIdentity::parse(kind, namespace, value).ok()?;
        Some(Self { kind: id.kind, namespace: id.namespace, value: id.value })
    }

    pub fn to_new_identity(&self) -> Result<NewIdentity, DomainError> {
        let ns = (!self.namespace.is_empty()).then_some(self.namespace.as_str());
        NewIdentity::parse(self.kind, ns, &self.value)
    }
}

impl fmt::Debug for BuyerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = identity::mask_value(self.kind, &self.value);
        write!(f, "BuyerKey({}@{}: {shown})", self.kind.as_str(), self.namespace)
    }
}

/// The buyer as the order knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Buyer {
    /// Identifiers for automatic matching, in matching precedence: unionid, openid, platform buyer id,
    /// full buyer mobile (commerce.md §6). Never a masked or virtual phone, never a receiver phone.
    pub keys: Vec<BuyerKey>,
    /// Display name (nick, 粉丝昵称); never an identifier.
    pub nick: Option<String>,
    /// The buyer's own phone as exported (Youzan 买家手机号, Taobao 买家手机号), whatever its kind.
    pub phone: Option<ContactPhone>,
}

/// Where the order goes: contact attributes of the order, not of a customer.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receiver {
    pub name: Option<String>,
    pub phone: Option<ContactPhone>,
    pub address: Option<String>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_ref().map(|n| format!("{}*", n.chars().next().unwrap_or('*')));
        let address = self.address.as_ref().map(|a| format!("{}…", a.chars().take(6).collect::<String>()));
        f.debug_struct("Receiver").field("name", &name).field("phone", &self.phone).field("address", &address).finish()
    }
}

/// Whose phone a hint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneRole {
    Buyer,
    Receiver,
}

/// Evidence that must not match automatically but may back a merge suggestion or a manual claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MatchHint {
    /// A masked phone: a manual-claim hint at most (order number plus last four digits).
    MaskedPhone { role: PhoneRole, masked: String },
    /// A privacy or virtual-operator number: not the person's own phone.
    VirtualPhone { role: PhoneRole, masked: String },
    /// The receiver has a full mobile (in `receiver.phone`): weak evidence, suggest a link only.
    ReceiverMobile,
    /// The buyer id is masked (`t**1`): not unique, not an identifier.
    MaskedBuyerId { value: String },
}

/// The hints a phone gives, by role.
pub fn phone_hints(phone: Option<&ContactPhone>, role: PhoneRole) -> Option<MatchHint> {
    let p = phone?;
    match (p.kind, role) {
        (PhoneKind::Masked, _) => Some(MatchHint::MaskedPhone { role, masked: p.masked() }),
        (PhoneKind::Virtual, _) => Some(MatchHint::VirtualPhone { role, masked: p.masked() }),
        (PhoneKind::Mobile, PhoneRole::Receiver) => Some(MatchHint::ReceiverMobile),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<PhoneKind> {
        ContactPhone::classify(s).map(|p| p.kind)
    }

    #[test]
    fn masked_phones_are_recognised() {
        for s in ["138****1234", "1387677****", "*******1234", "138xxxx1234", "１３８＊＊＊＊１２３４"] {
            assert_eq!(kind(s), Some(PhoneKind::Masked), "{s}");
        }
    }

    #[test]
    fn privacy_numbers_with_extensions_and_virtual_ranges_are_virtual() {
        for s in [
            "13812345678-1234",
            "13812345678转1234",
            "13812345678,5678",
            "13812345678#12",
            "95013123456789",
            "17012345678",
            "17112345678",
            "16512345678",
        ] {
            assert_eq!(kind(s), Some(PhoneKind::Virtual), "{s}");
        }
        assert_eq!(kind("138-1234-5678"), Some(PhoneKind::Mobile));
    }

    #[test]
    fn full_mobiles_are_normalised_and_landlines_are_other() {
        let p = ContactPhone::classify("=\"13812345678\"").unwrap();
        assert_eq!((p.kind, p.e164.as_deref()), (PhoneKind::Mobile, Some("+8613812345678")));
        assert_eq!(format!("{p:?}"), "ContactPhone(Mobile, 138****5678)");
        assert_eq!(kind("010-62345678"), Some(PhoneKind::Other));
        assert_eq!(kind("13800138000"), Some(PhoneKind::Other));
        assert_eq!(kind(" -- "), None);
    }

    #[test]
    fn buyer_keys_refuse_blocked_values_and_mask_in_debug() {
        assert!(BuyerKey::new(IdentityKind::PlatformBuyer, Some("taobao"), "null").is_none());
        assert!(BuyerKey::new(IdentityKind::PlatformBuyer, None, "tb_abc").is_none());
        let k = BuyerKey::new(IdentityKind::Phone, None, "13812345678").unwrap();
        assert_eq!(k.value, "+8613812345678");
        assert!(format!("{k:?}").contains("138****5678"));
        assert!(k.to_new_identity().is_ok());
    }

    #[test]
    fn only_receiver_mobiles_and_unusable_phones_give_hints() {
        let mobile = ContactPhone::classify("13812345678");
        assert_eq!(phone_hints(mobile.as_ref(), PhoneRole::Receiver), Some(MatchHint::ReceiverMobile));
        assert_eq!(phone_hints(mobile.as_ref(), PhoneRole::Buyer), None);
        let masked = ContactPhone::classify("138****1234");
        assert!(matches!(phone_hints(masked.as_ref(), PhoneRole::Buyer), Some(MatchHint::MaskedPhone { .. })));
        assert!(is_masked_id("t**1"));
    }
}
