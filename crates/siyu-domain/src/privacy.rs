//! Privacy by construction (PIPL; cdp.md §8): consent per purpose, privacy requests, and what is left of a
//! customer after erasure.
//!
//! - **Consent** is recorded per customer and purpose ([`ConsentPurpose`]): granted, withdrawn, or unknown (no
//!   record yet). Every change is appended to a history with where it came from ([`ConsentSource`]); the
//!   first grant is the evidence, so granting again changes nothing.
//! - **Privacy requests** are the person's rights exercised through the brand: an *access* request (a copy
//!   of everything held, Art. 45) or an *erasure* (Art. 47). Each is recorded with who handled it and when.
//! - **Erasure** keeps the customer row as an anonymous shell ([`ERASED_NAME`], no remark, avatar or custom
//!   values) so orders and aggregates still add up; events keep only [`anonymised_event`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::event::{Message, MessageType};
use crate::id::{CustomerId, PrivacyRequestId, UserId};

/// The name an erased customer keeps: a fixed placeholder, the same for everyone.
pub const ERASED_NAME: &str = "已注销用户";

/// What a person may consent to separately (PIPL Art. 14, 23, 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentPurpose {
    /// Marketing messages: journeys, mass sends, coupons.
    Marketing,
    /// Uploading the person (hashed phone, openid) to an ad platform's audience.
    AdAudience,
}

impl ConsentPurpose {
    pub const ALL: [ConsentPurpose; 2] = [Self::Marketing, Self::AdAudience];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Marketing => "marketing",
            Self::AdAudience => "ad_audience",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    Granted,
    Withdrawn,
    /// Nothing recorded: treated as not granted.
    Unknown,
}

impl ConsentStatus {
    pub const ALL: [ConsentStatus; 3] = [Self::Granted, Self::Withdrawn, Self::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Withdrawn => "withdrawn",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether processing for the purpose may go ahead: only an explicit grant allows it.
    pub fn allows(self) -> bool {
        self == Self::Granted
    }
}

/// Where a consent change was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    Console,
    Api,
    Import,
    /// An SDK or WeCom event (a ticked box in a mini program, a reply "TD").
    Event,
}

impl ConsentSource {
    pub const ALL: [ConsentSource; 4] = [Self::Console, Self::Api, Self::Import, Self::Event];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Api => "api",
            Self::Import => "import",
            Self::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The current consent of one customer for one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Consent {
    pub purpose: ConsentPurpose,
    pub status: ConsentStatus,
    /// Where the current status came from; `None` while unknown.
    pub source: Option<ConsentSource>,
    pub changed_at: Option<DateTime<Utc>>,
    pub changed_by: Option<UserId>,
}

/// One change of a consent, as the history keeps it (append-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsentChange {
    pub id: Uuid,
    pub purpose: ConsentPurpose,
    pub from: ConsentStatus,
    pub to: ConsentStatus,
    pub source: ConsentSource,
    pub actor_id: Option<UserId>,
    /// `manual` for a recorded decision, `erasure` when erasing the customer withdrew it.
    pub reason: String,
    pub at: DateTime<Utc>,
}

impl Consent {
    /// The consent of a purpose nothing was recorded for.
    pub fn unknown(purpose: ConsentPurpose) -> Self {
        Self { purpose, status: ConsentStatus::Unknown, source: None, changed_at: None, changed_by: None }
    }

    /// Every purpose's consent, given the stored ones (purposes without a record are unknown).
    pub fn all_of(stored: &[Consent]) -> Vec<Consent> {
        ConsentPurpose::ALL
            .into_iter()
            .map(|p| stored.iter().find(|c| c.purpose == p).cloned().unwrap_or_else(|| Self::unknown(p)))
            .collect()
    }

    /// The change setting this consent to `to` records, or `None` when the status stays the same (the first
    /// grant or withdrawal keeps its time and source as the evidence).
    pub fn change(
        &self,
        to: ConsentStatus,
        source: ConsentSource,
        actor: Option<UserId>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Option<ConsentChange> {
        (self.status != to).then(|| ConsentChange {
            id: Uuid::now_v7(),
            purpose: self.purpose,
            from: self.status,
            to,
            source,
            actor_id: actor,
            reason: reason.to_string(),
            at,
        })
    }

    /// The consent after `change`.
    pub fn after(change: &ConsentChange) -> Self {
        Self {
            purpose: change.purpose,
            status: change.to,
            source: Some(change.source),
            changed_at: Some(change.at),
            changed_by: change.actor_id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyRequestKind {
    /// A copy of everything held about the person (PIPL Art. 45).
    Access,
    /// Deleting or irreversibly anonymising the person (PIPL Art. 47).
    Erasure,
}

impl PrivacyRequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Erasure => "erasure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Access, Self::Erasure].into_iter().find(|k| k.as_str() == s)
    }
}

/// A privacy request that was carried out: who, when, and what it touched (`detail`, e.g. the number of
/// rows an erasure removed or anonymised per table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrivacyRequest {
    pub id: PrivacyRequestId,
    pub customer_id: CustomerId,
    pub kind: PrivacyRequestKind,
    pub actor_id: Option<UserId>,
    pub actor_name: String,
    pub at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub detail: Value,
}

/// What an erased customer's event keeps: its type and its event or page name (the time and the ids of the
/// row stay in their columns). No properties, traits, context, integrations or user ids.
pub fn anonymised_event(kind: MessageType, name: Option<&str>) -> Message {
    let mut m = Message::new(kind);
    let name = name.map(str::to_string);
    match kind {
        MessageType::Track => m.event = name,
        MessageType::Page | MessageType::Screen => m.name = name,
        _ => {}
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in ConsentPurpose::ALL {
            assert_eq!(ConsentPurpose::parse(p.as_str()), Some(p));
        }
        for s in ConsentStatus::ALL {
            assert_eq!(ConsentStatus::parse(s.as_str()), Some(s));
        }
        for s in ConsentSource::ALL {
            assert_eq!(ConsentSource::parse(s.as_str()), Some(s));
        }
        assert_eq!(PrivacyRequestKind::parse("erasure"), Some(PrivacyRequestKind::Erasure));
        assert_eq!(ConsentPurpose::parse("sms"), None);
    }

    #[test]
    fn purposes_without_a_record_are_unknown_and_unknown_never_allows_processing() {
        let at = Utc::now();
        let granted = Consent::unknown(ConsentPurpose::Marketing)
            .change(ConsentStatus::Granted, ConsentSource::Api, None, "manual", at)
            .map(|c| Consent::after(&c))
            .unwrap();
        let all = Consent::all_of(&[granted]);
        assert_eq!(all.len(), 2);
        assert!(all[0].status.allows());
        assert_eq!((all[1].purpose, all[1].status), (ConsentPurpose::AdAudience, ConsentStatus::Unknown));
        assert!(!ConsentStatus::Unknown.allows() && !ConsentStatus::Withdrawn.allows());
    }

    #[test]
    fn setting_the_same_status_again_records_nothing() {
        let at = Utc::now();
        let c = Consent::unknown(ConsentPurpose::AdAudience);
        let change = c.change(ConsentStatus::Withdrawn, ConsentSource::Event, None, "manual", at).unwrap();
        assert_eq!((change.from, change.to), (ConsentStatus::Unknown, ConsentStatus::Withdrawn));
        let now = Consent::after(&change);
        assert!(now.change(ConsentStatus::Withdrawn, ConsentSource::Console, None, "manual", at).is_none());
    }

    #[test]
    fn an_anonymised_event_keeps_only_its_type_and_name() {
        let m = anonymised_event(MessageType::Track, Some("Order Completed"));
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v, serde_json::json!({"type": "track", "event": "Order Completed"}));
        let v = serde_json::to_value(anonymised_event(MessageType::Identify, Some("x"))).unwrap();
        assert_eq!(v, serde_json::json!({"type": "identify"}));
    }
}
