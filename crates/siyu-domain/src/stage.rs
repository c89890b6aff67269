//! Lifecycle stages (客户生命周期阶段, reference/journeys.md §2): where each customer is in the brand's
//! relationship — new, interested, met / quoted, purchased, repeat, not purchased, silent, re-activating —
//! and the rules that move them. A tenant edits the labels and rules; these are the defaults.
//!
//! A rule fires on a signal (an event by name, a tag given, the paid-order count reaching a number) or on
//! time (no activity for N days, N days in a stage without moving on). A move normally goes forward (to a
//! stage further down the list); out of a dormant stage (silent, re-activating) any rule may move the
//! customer, and a rule may name the stages it moves from. Staff and journeys set stages by hand.

use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use chrono::{DateTime, Utc};

use crate::id::{JourneyId, TagId, UserId};
use crate::text;

/// The most stages a tenant may have.
pub const MAX_STAGES: usize = 20;
/// The most rules one stage may have.
pub const MAX_RULES: usize = 10;

/// One stage and its entry rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageDef {
    /// Stable key (`new`, `purchased`, ...): journeys and segments refer to it.
    pub key: String,
    pub name: String,
    /// Silent-type stages: any rule may move a customer out of them.
    #[serde(default)]
    pub dormant: bool,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<EntryRule>,
}

/// What moves a customer into a stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case", deny_unknown_fields)]
pub enum EntryRule {
    /// The customer first appears (created by any path).
    Created,
    /// An event of the customer by name (ingested track events, or internal ones such as `task_completed`).
    Event {
        name: String,
        /// Only from these stages (empty: forward from any earlier stage).
        #[serde(default)]
        from: Vec<String>,
    },
    /// A tag given to the customer.
    TagAdded {
        tag: TagId,
        #[serde(default)]
        from: Vec<String>,
    },
    /// The customer's paid orders reach `count` (1: first purchase, 2: repeat).
    PaidOrders { count: u32 },
    /// No activity (events, orders, chats) for `days`.
    Silent { days: u32 },
    /// `days` in stage `stage` without moving on.
    Stalled { stage: String, days: u32 },
}

impl EntryRule {
    fn from(&self) -> &[String] {
        match self {
            EntryRule::Event { from, .. } | EntryRule::TagAdded { from, .. } => from,
            _ => &[],
        }
    }
}

/// What happened to a customer, as stage rules see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fact<'a> {
    Created,
    Event(&'a str),
    TagAdded(TagId),
    /// Paid orders now.
    PaidOrders(i64),
}

/// One row of a customer's stage history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StageChange {
    pub from: Option<String>,
    pub to: String,
    pub at: DateTime<Utc>,
    pub reason: String,
    pub actor_id: Option<UserId>,
    pub journey_id: Option<JourneyId>,
}

/// The tenant's stages in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages(pub Vec<StageDef>);

impl Stages {
    pub fn get(&self, key: &str) -> Option<&StageDef> {
        self.0.iter().find(|s| s.key == key)
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|s| s.key == key)
    }

    /// Whether a rule of stage `to` may move a customer who is in `current`.
    fn may_move(&self, current: Option<&str>, to: &StageDef, rule: &EntryRule) -> bool {
        let Some(current) = current else { return true };
        if current == to.key {
            return false;
        }
        if !rule.from().is_empty() {
            return rule.from().iter().any(|f| f == current);
        }
        let (Some(from), Some(dest)) = (self.position(current), self.position(&to.key)) else { return true };
        self.0[from].dormant || dest > from
    }

    /// The stage a fact moves a customer in `current` to, if any: the furthest stage whose rule fires.
    pub fn on_fact(&self, current: Option<&str>, fact: Fact<'_>) -> Option<(&StageDef, &'static str)> {
        let mut found = None;
        for s in &self.0 {
            for r in &s.rules {
                let reason = match (r, fact) {
                    (EntryRule::Created, Fact::Created) if current.is_none() => "rule:created",
                    (EntryRule::Event { name, .. }, Fact::Event(e)) if name == e => "rule:event",
                    (EntryRule::TagAdded { tag, .. }, Fact::TagAdded(t)) if *tag == t => "rule:tag",
                    (EntryRule::PaidOrders { count }, Fact::PaidOrders(n)) if n >= i64::from(*count) => "rule:orders",
                    _ => continue,
                };
                if self.may_move(current, s, r) {
                    found = Some((s, reason));
                }
            }
        }
        found
    }

    /// The silence rules, as (stage, days).
    pub fn silence(&self) -> impl Iterator<Item = (&StageDef, u32)> {
        self.0.iter().flat_map(|s| {
            s.rules.iter().filter_map(move |r| match r {
                EntryRule::Silent { days } => Some((s, *days)),
                _ => None,
            })
        })
    }

    /// The stall rules, as (target stage, stage stalled in, days).
    pub fn stalls(&self) -> impl Iterator<Item = (&StageDef, &str, u32)> {
        self.0.iter().flat_map(|s| {
            s.rules.iter().filter_map(move |r| match r {
                EntryRule::Stalled { stage, days } => Some((s, stage.as_str(), *days)),
                _ => None,
            })
        })
    }

    /// The event names rules listen for.
    pub fn event_names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flat_map(|s| s.rules.iter()).filter_map(|r| match r {
            EntryRule::Event { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Checks a tenant's stage list: keys unique and well formed, names given, rules referring to stages
    /// that exist, sensible day counts.
    pub fn parse(list: Vec<StageDef>) -> Result<Self, Invalid> {
        if list.is_empty() || list.len() > MAX_STAGES {
            return Err(Invalid::new("stages", "stage_count_out_of_range"));
        }
        let mut out: Vec<StageDef> = Vec::with_capacity(list.len());
        for s in list {
            let key = s.key.trim().to_string();
            let ok = !key.is_empty()
                && key.len() <= 32
                && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(Invalid::new("key", "bad_stage_key"));
            }
            if out.iter().any(|o| o.key == key) {
                return Err(Invalid::new("key", "duplicate_stage"));
            }
            if s.rules.len() > MAX_RULES {
                return Err(Invalid::new("rules", "too_many_rules"));
            }
            let name = text::required("name", &s.name, 20)?;
            out.push(StageDef { key, name, dormant: s.dormant, rules: s.rules });
        }
        let stages = Stages(out);
        for s in &stages.0 {
            for r in &s.rules {
                let refers = match r {
                    EntryRule::Stalled { stage, days } => {
                        if *days == 0 || *days > 3650 {
                            return Err(Invalid::new("days", "days_out_of_range"));
                        }
                        vec![stage.as_str()]
                    }
                    EntryRule::Silent { days } if *days == 0 || *days > 3650 => {
                        return Err(Invalid::new("days", "days_out_of_range"));
                    }
                    EntryRule::Event { name, .. } if name.trim().is_empty() || name.len() > 100 => {
                        return Err(Invalid::new("name", "bad_event_name"));
                    }
                    EntryRule::PaidOrders { count } if *count == 0 => {
                        return Err(Invalid::new("count", "count_out_of_range"));
                    }
                    other => other.from().iter().map(String::as_str).collect(),
                };
                if refers.iter().any(|k| stages.get(k).is_none()) {
                    return Err(Invalid::new("rules", "unknown_stage"));
                }
            }
        }
        Ok(stages)
    }
}

/// The defaults (seed 003): new → interested → met / quoted → purchased → repeat, plus not purchased and
/// silent, with silent activation.
pub fn defaults() -> Stages {
    let def = |key: &str, name: &str, dormant: bool, rules: Vec<EntryRule>| StageDef {
        key: key.into(),
        name: name.into(),
        dormant,
        rules,
    };
    let event = |name: &str| EntryRule::Event { name: name.into(), from: Vec::new() };
    Stages(vec![
        def("new", "新客户", false, vec![EntryRule::Created]),
        def("interested", "有意向", false, vec![event("Product Viewed"), event("reply")]),
        def("met", "已见面/已报价", false, vec![event("Store Visited"), event("quote_sent")]),
        def("not_purchased", "未成交", false, vec![EntryRule::Stalled { stage: "met".into(), days: 14 }]),
        def("purchased", "已成交", false, vec![EntryRule::PaidOrders { count: 1 }]),
        def("repeat", "复购", false, vec![EntryRule::PaidOrders { count: 2 }]),
        def("silent", "沉默", true, vec![EntryRule::Silent { days: 60 }]),
        def("reactivating", "沉默激活", true, Vec::new()),
    ])
}

#[cfg(test)]
mod tests;
