//! Super users (超级用户): a tenant-defined layer above 重要价值, picked among the scored customers.

use serde::{Deserialize, Serialize};

use crate::Invalid;
use crate::id::CustomerId;

use super::class::RfmClass;
use super::score::RfmScore;

/// Which scored customers are super users: every set condition must hold (at least one must be set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SuperUserRule {
    /// In the top `p` percent of the scored customers by M (10 = the top decile), with M > 0. With `N`
    /// scored customers, a customer is in when fewer than `⌈p·N/100⌉` customers have a strictly larger
    /// M, so ties on the boundary are all in. In SQL:
    /// `RANK() OVER (ORDER BY monetary_fen DESC) <= (p * N + 99) / 100 AND monetary_fen > 0`.
    pub top_monetary_percent: Option<u8>,
    /// F (as configured: orders or purchase days in the frequency window) at least this: repeat buyers.
    pub min_frequency: Option<u32>,
    /// In this class (usually 重要价值).
    pub class: Option<RfmClass>,
}

impl Default for SuperUserRule {
    /// The top decile by M, bought on three or more days, and 重要价值.
    fn default() -> Self {
        Self { top_monetary_percent: Some(10), min_frequency: Some(3), class: Some(RfmClass::ImportantValue) }
    }
}

impl SuperUserRule {
    /// Checks the rule; `prefix` names it in the error (`super_users.min_frequency`).
    pub fn validate(&self, prefix: &str) -> Result<(), Invalid> {
        if self.top_monetary_percent.is_none() && self.min_frequency.is_none() && self.class.is_none() {
            return Err(Invalid::new(prefix, "no_condition"));
        }
        if let Some(p) = self.top_monetary_percent
            && !(1..=100).contains(&p)
        {
            return Err(Invalid::new(format!("{prefix}.top_monetary_percent"), "out_of_range (1..=100)"));
        }
        if self.min_frequency == Some(0) {
            return Err(Invalid::new(format!("{prefix}.min_frequency"), "out_of_range (1..)"));
        }
        Ok(())
    }
}

/// Whether each score (in the order given) is a super user by `rule`; the population of the percentile
/// is `scores`. O(n) expected.
pub fn flag_super_users(rule: &SuperUserRule, scores: &[RfmScore]) -> Vec<bool> {
    let cut = rule.top_monetary_percent.map(|p| top_share_cut(p, scores));
    scores
        .iter()
        .map(|s| {
            cut.is_none_or(|c| c.is_some_and(|c| s.monetary_fen > 0 && s.monetary_fen >= c))
                && rule.min_frequency.is_none_or(|min| s.frequency >= min)
                && rule.class.is_none_or(|class| s.class == class)
        })
        .collect()
}

/// The super users among `scores`, in their order.
pub fn super_users(rule: &SuperUserRule, scores: &[RfmScore]) -> Vec<CustomerId> {
    flag_super_users(rule, scores).into_iter().zip(scores).filter(|(flag, _)| *flag).map(|(_, s)| s.customer).collect()
}

/// The smallest M still in the top `percent`: the `⌈percent·N/100⌉`-th largest M (`None` without scores).
fn top_share_cut(percent: u8, scores: &[RfmScore]) -> Option<i64> {
    let n = scores.len();
    let take = (usize::from(percent.min(100)) * n).div_ceil(100).max(1);
    let mut values: Vec<i64> = scores.iter().map(|s| s.monetary_fen).collect();
    let position = n.checked_sub(take)?;
    let (_, value, _) = values.select_nth_unstable(position);
    Some(*value)
}
