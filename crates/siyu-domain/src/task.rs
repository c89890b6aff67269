//! Staff tasks: a to-do for a staff member about one customer ("call this customer back"), created by a
//! journey's task node for the customer's owning staff member (reference/journeys.md §3). Its completion is
//! written to the customer's timeline, where a journey waiting for `task_completed` can pick it up.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{CustomerId, JourneyId, TaskId, UserId};

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 3] = [Self::Open, Self::Done, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What a task asks the staff member to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Call the customer (打电话).
    Call,
    /// Send them something: a product, a coupon, material (发送).
    Send,
    /// Any other follow-up (跟进).
    #[default]
    FollowUp,
}

impl TaskKind {
    pub const ALL: [TaskKind; 3] = [Self::Call, Self::Send, Self::FollowUp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Send => "send",
            Self::FollowUp => "follow_up",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One task, with the names a list shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: TaskId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    /// The staff member it is for: the customer's owning staff member when it was created (none when no one
    /// followed the customer then).
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub kind: TaskKind,
    pub title: String,
    /// What the creator wrote beside the title (empty for journey tasks).
    pub note: String,
    pub due_at: DateTime<Utc>,
    pub status: TaskStatus,
    /// The journey and node that created it.
    pub journey_id: Option<JourneyId>,
    pub node: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<UserId>,
    /// Who created it by hand (none for journey tasks).
    pub created_by: Option<UserId>,
}

impl Task {
    /// Open and past its due time.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == TaskStatus::Open && self.due_at < now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TaskStatus::parse("closed"), None);
    }
}
