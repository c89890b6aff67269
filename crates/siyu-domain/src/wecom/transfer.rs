//! Customer inheritance (在职/离职继承, reference/wecom.md §4.8): customers and groups of one staff member handed
//! to another, while the first is employed (on-job, with a notice the customers see) or after they left
//! (resigned: their unassigned customers and groups).
//!
//! WeCom takes at most 100 customers or groups per call; an on-job transfer moves a customer at most twice in
//! 90 days, so siyu keeps a ledger of the transfers WeCom accepted and refuses the third locally (`limited`)
//! before calling. A customer's takeover completes 24 h after the request unless they refuse.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CorpId, CustomerId, TransferId, UserId};

/// Customers or groups per WeCom call.
pub const CHUNK: usize = 100;
/// The longest notice (`transfer_success_msg`), in characters.
pub const MESSAGE_MAX_CHARS: usize = 200;
/// On-job transfers of one customer allowed within [`WINDOW_DAYS`].
pub const LIMIT: i64 = 2;
/// The window of [`LIMIT`], in days.
pub const WINDOW_DAYS: i64 = 90;
/// The timeline entry of a customer taken over by another staff member.
pub const TIMELINE_TRANSFERRED: &str = "customer_transferred";
/// The timeline entry of a transfer the customer refused or WeCom could not complete.
pub const TIMELINE_TRANSFER_FAILED: &str = "transfer_failed";

/// On-job (在职继承) or resigned (离职继承).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    OnJob,
    Resigned,
}

impl TransferKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnJob => "on_job",
            Self::Resigned => "resigned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::OnJob, Self::Resigned].into_iter().find(|k| k.as_str() == s)
    }
}

/// A batch: `sending` until every item went to WeCom, `waiting` while takeovers are pending, then `done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Sending,
    Waiting,
    Done,
    Failed,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Waiting => "waiting",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sending, Self::Waiting, Self::Done, Self::Failed].into_iter().find(|k| k.as_str() == s)
    }
}

/// Item states. `pending` → `sending` (claimed for a call) → `waiting` (WeCom started it) → `success`,
/// `refused` (the customer said no) or `failed` (an errcode, or the takeover staff at their customer limit);
/// `limited` and `skipped` never went to WeCom.
pub mod item {
    pub const PENDING: &str = "pending";
    pub const SENDING: &str = "sending";
    pub const WAITING: &str = "waiting";
    pub const SUCCESS: &str = "success";
    pub const REFUSED: &str = "refused";
    pub const FAILED: &str = "failed";
    /// Blocked by the 2-per-90-days guard before any call.
    pub const LIMITED: &str = "limited";
    /// Blocked for another reason found in the preview (not the handover's, already being transferred).
    pub const SKIPPED: &str = "skipped";
    pub const ALL: [&str; 8] = [PENDING, SENDING, WAITING, SUCCESS, REFUSED, FAILED, LIMITED, SKIPPED];
    /// States after which nothing more happens to the item.
    pub fn is_final(s: &str) -> bool {
        matches!(s, SUCCESS | REFUSED | FAILED | LIMITED | SKIPPED)
    }
}

/// A customer or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Customer,
    Group,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Customer, Self::Group].into_iter().find(|k| k.as_str() == s)
    }
}

/// A transfer batch.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TransferBatch {
    pub id: TransferId,
    pub corp: CorpId,
    pub kind: TransferKind,
    /// The staff handing over (userid).
    pub handover_userid: String,
    /// The staff taking over (userid).
    pub takeover_userid: String,
    /// The notice the customers see (on-job only; WeCom's default when absent).
    pub message: Option<String>,
    pub status: BatchStatus,
    pub error: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One customer or group of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TransferItem {
    pub kind: ItemKind,
    /// The external_userid or chat_id.
    pub target: String,
    pub customer_id: Option<CustomerId>,
    /// See [`item`].
    pub status: String,
    /// WeCom's `transfer_result` status (1 taken over, 2 waiting, 3 refused, 4 takeover at their limit).
    pub wecom_status: Option<i64>,
    /// WeCom's per-item errcode, when not 0.
    pub errcode: Option<i64>,
    /// Why it was blocked or failed (`limited`, `not_followed`, `in_progress`, `customer_refused`, …).
    pub reason: Option<String>,
    /// When the takeover happens (waiting) or happened.
    pub takeover_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// How many items are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransferCounts {
    pub pending: i64,
    pub waiting: i64,
    pub success: i64,
    pub refused: i64,
    pub failed: i64,
    pub limited: i64,
    pub skipped: i64,
}

impl TransferCounts {
    pub fn add(&mut self, status: &str, n: i64) {
        match status {
            item::PENDING | item::SENDING => self.pending += n,
            item::WAITING => self.waiting += n,
            item::SUCCESS => self.success += n,
            item::REFUSED => self.refused += n,
            item::LIMITED => self.limited += n,
            item::SKIPPED => self.skipped += n,
            _ => self.failed += n,
        }
    }

    pub fn total(&self) -> i64 {
        self.pending + self.waiting + self.success + self.refused + self.failed + self.limited + self.skipped
    }
}

/// The on-job guard: with `previous` transfers WeCom accepted (their times, any order), whether one more at
/// `now` is allowed, and if not, from when it is.
pub fn next_allowed(previous: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let window = Duration::days(WINDOW_DAYS);
    let mut recent: Vec<DateTime<Utc>> = previous.iter().copied().filter(|t| now - *t < window).collect();
    if (recent.len() as i64) < LIMIT {
        return None;
    }
    recent.sort();
    // The oldest transfer that keeps the count at the limit has to leave the window first.
    let idx = recent.len() - LIMIT as usize;
    recent.get(idx).map(|t| *t + window)
}

/// The item status a `transfer_result` status means (1 taken over, 2 waiting, 3 refused, 4 at limit).
pub fn result_status(wecom: i64) -> Option<(&'static str, Option<&'static str>)> {
    match wecom {
        1 => Some((item::SUCCESS, None)),
        2 => Some((item::WAITING, None)),
        3 => Some((item::REFUSED, Some("customer_refused"))),
        4 => Some((item::FAILED, Some("customer_limit_exceed"))),
        _ => None,
    }
}

/// The item status of a `transfer_fail` callback's `FailReason`.
pub fn fail_status(reason: &str) -> &'static str {
    if reason == "customer_refused" { item::REFUSED } else { item::FAILED }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_third_transfer_within_90_days_waits_for_the_oldest_to_leave_the_window() {
        let now = Utc::now();
        assert_eq!(next_allowed(&[], now), None);
        let first = now - Duration::days(80);
        assert_eq!(next_allowed(&[first], now), None);
        let second = now - Duration::days(10);
        assert_eq!(next_allowed(&[second, first], now), Some(first + Duration::days(90)));
        let old = now - Duration::days(91);
        assert_eq!(next_allowed(&[old, second], now), None);
    }

    #[test]
    fn wecom_statuses_map_to_item_states() {
        assert_eq!(result_status(1), Some((item::SUCCESS, None)));
        assert_eq!(result_status(3).map(|s| s.0), Some(item::REFUSED));
        assert_eq!(result_status(4).map(|s| s.0), Some(item::FAILED));
        assert_eq!(fail_status("customer_limit_exceed"), item::FAILED);
        let mut c = TransferCounts::default();
        c.add(item::SENDING, 2);
        c.add("weird", 1);
        assert_eq!((c.pending, c.failed, c.total()), (2, 1, 3));
    }
}
