//! Session-archive rules: what auditors watch for in archived chats and in relation changes.
//!
//! - Sensitive words (敏感词) in 1:1 and group chats, from the tenant's word lists.
//! - Sensitive behaviours (敏感行为) of staff: sending phone numbers, red packets or business cards (moving a
//!   customer to another account), deleting customers, links to competitors, replies slower than N minutes.
//! - Group anti-harassment (群防骚扰) against customers in groups: sensitive words, links, QR-code links,
//!   mini-program cards, business cards, and join-and-leave floods. These tell the group owner at once.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Invalid;

/// The kinds of rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Words,
    Phone,
    RedPacket,
    Card,
    DeleteCustomer,
    CompetitorLink,
    ResponseTime,
    GroupWords,
    GroupLink,
    GroupQr,
    GroupWeapp,
    GroupCard,
    GroupFlood,
}

impl RuleKind {
    pub const ALL: [RuleKind; 13] = [
        Self::Words,
        Self::Phone,
        Self::RedPacket,
        Self::Card,
        Self::DeleteCustomer,
        Self::CompetitorLink,
        Self::ResponseTime,
        Self::GroupWords,
        Self::GroupLink,
        Self::GroupQr,
        Self::GroupWeapp,
        Self::GroupCard,
        Self::GroupFlood,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Words => "words",
            Self::Phone => "phone",
            Self::RedPacket => "red_packet",
            Self::Card => "card",
            Self::DeleteCustomer => "delete_customer",
            Self::CompetitorLink => "competitor_link",
            Self::ResponseTime => "response_time",
            Self::GroupWords => "group_words",
            Self::GroupLink => "group_link",
            Self::GroupQr => "group_qr",
            Self::GroupWeapp => "group_weapp",
            Self::GroupCard => "group_card",
            Self::GroupFlood => "group_flood",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Group anti-harassment rules: they look at customers in group chats and tell the group owner.
    pub fn is_group(self) -> bool {
        matches!(
            self,
            Self::GroupWords | Self::GroupLink | Self::GroupQr | Self::GroupWeapp | Self::GroupCard | Self::GroupFlood
        )
    }

    /// Rules evaluated on each archived message as it arrives (the others run in the archive sweep).
    pub fn on_message(self) -> bool {
        !matches!(self, Self::DeleteCustomer | Self::ResponseTime | Self::GroupFlood)
    }

    /// Who the rule watches unless told otherwise.
    pub fn default_senders(self) -> Senders {
        match self {
            Self::Words => Senders::All,
            k if k.is_group() => Senders::Customer,
            _ => Senders::Staff,
        }
    }
}

/// Whose messages a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Senders {
    Staff,
    Customer,
    All,
}

impl Senders {
    pub fn includes(self, party: super::Party) -> bool {
        use super::Party;
        match self {
            Self::All => true,
            Self::Staff => party == Party::Staff,
            Self::Customer => matches!(party, Party::Customer | Party::Robot),
        }
    }
}

/// A rule's settings; which fields matter depends on the kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Word lists (`words`, `group_words`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub word_lists: Vec<Uuid>,
    /// Whose messages count; the kind's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senders: Option<Senders>,
    /// Competitor domains (`competitor_link`) or allowed domains (`group_link`: links to these are fine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// Minutes: the reply deadline (`response_time`) or the join-and-leave window (`group_flood`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    /// Join-and-leave members within the window that make a flood (`group_flood`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Tell the staff member who owns the chat (the group owner, the customer's staff) by app message;
    /// group rules do unless told not to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_owner: Option<bool>,
}

impl RuleConfig {
    /// The kind's usual settings, for a new rule.
    pub fn defaults(kind: RuleKind) -> Self {
        let mut c = Self::default();
        match kind {
            RuleKind::ResponseTime => c.minutes = Some(30),
            RuleKind::GroupFlood => {
                c.minutes = Some(10);
                c.count = Some(3);
            }
            _ => {}
        }
        c
    }

    pub fn notifies_owner(&self, kind: RuleKind) -> bool {
        self.notify_owner.unwrap_or_else(|| kind.is_group())
    }

    pub fn senders(&self, kind: RuleKind) -> Senders {
        self.senders.unwrap_or_else(|| kind.default_senders())
    }

    /// Checks the settings a kind needs, normalising domains (lowercase, no scheme or path).
    pub fn check(mut self, kind: RuleKind) -> Result<Self, Invalid> {
        if matches!(kind, RuleKind::Words | RuleKind::GroupWords) && self.word_lists.is_empty() {
            return Err(Invalid::new("config.word_lists", "required"));
        }
        if kind == RuleKind::CompetitorLink && self.domains.is_empty() {
            return Err(Invalid::new("config.domains", "required"));
        }
        let mut domains = Vec::with_capacity(self.domains.len());
        for d in &self.domains {
            let d = d.trim();
            if d.is_empty() {
                continue;
            }
            let bare = d.trim_start_matches("*.");
            let (host, _) =
                super::behaviour::host_and_path(bare).ok_or_else(|| Invalid::new("config.domains", "invalid"))?;
            if !domains.contains(&host) {
                domains.push(host);
            }
        }
        if domains.len() > 200 {
            return Err(Invalid::new("config.domains", "too_many"));
        }
        self.domains = domains;
        match kind {
            RuleKind::ResponseTime => match self.minutes {
                Some(m) if (1..=7 * 24 * 60).contains(&m) => {}
                _ => return Err(Invalid::new("config.minutes", "out_of_range")),
            },
            RuleKind::GroupFlood => {
                if !self.minutes.is_some_and(|m| (1..=24 * 60).contains(&m)) {
                    return Err(Invalid::new("config.minutes", "out_of_range"));
                }
                if !self.count.is_some_and(|c| (1..=1000).contains(&c)) {
                    return Err(Invalid::new("config.count", "out_of_range"));
                }
            }
            _ => {}
        }
        Ok(self)
    }
}

/// Where an alert is in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    /// The auditor agrees it is a violation.
    Confirmed,
    /// A false alarm.
    Dismissed,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 3] = [Self::Open, Self::Confirmed, Self::Dismissed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Confirmed => "confirmed",
            Self::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn word_rules_need_a_list_and_link_rules_need_domains() {
        assert_eq!(
            RuleConfig::defaults(RuleKind::Words).check(RuleKind::Words).unwrap_err().field,
            "config.word_lists"
        );
        let c = RuleConfig { domains: vec!["https://Rival.com/x".into(), " ".into()], ..Default::default() };
        assert_eq!(c.check(RuleKind::CompetitorLink).unwrap().domains, vec!["rival.com".to_string()]);
        let bad = RuleConfig { domains: vec!["not a domain".into()], ..Default::default() };
        assert!(bad.check(RuleKind::CompetitorLink).is_err());
    }

    #[test]
    fn defaults_pass_their_own_check_except_where_a_choice_is_needed() {
        for kind in RuleKind::ALL {
            let checked = RuleConfig::defaults(kind).check(kind);
            let needs_choice = matches!(kind, RuleKind::Words | RuleKind::GroupWords | RuleKind::CompetitorLink);
            assert_eq!(checked.is_ok(), !needs_choice, "{kind:?}");
        }
    }

    #[test]
    fn group_rules_watch_customers_and_tell_the_owner_by_default() {
        assert_eq!(RuleKind::GroupLink.default_senders(), Senders::Customer);
        assert!(RuleConfig::defaults(RuleKind::GroupQr).notifies_owner(RuleKind::GroupQr));
        assert!(!RuleConfig::defaults(RuleKind::Phone).notifies_owner(RuleKind::Phone));
        let quiet = RuleConfig { notify_owner: Some(false), ..RuleConfig::default() };
        assert!(!quiet.notifies_owner(RuleKind::GroupQr));
        assert_eq!(RuleKind::parse("group_flood"), Some(RuleKind::GroupFlood));
    }
}
