//! Background jobs (bulk tagging, imports, exports): queued, claimed by any worker, progress reported.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::{JobId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed].into_iter().find(|x| x.as_str() == s)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    pub id: JobId,
    /// What to do, e.g. `bulk_tag`.
    pub kind: String,
    pub status: JobStatus,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub progress_done: i64,
    pub progress_total: i64,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    pub error: Option<String>,
    pub attempts: i64,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// A new job waiting for a worker.
    pub fn queued(kind: &str, payload: Value, total: i64, created_by: UserId, at: DateTime<Utc>) -> Self {
        Self {
            id: JobId::new(),
            kind: kind.to_string(),
            status: JobStatus::Queued,
            payload,
            progress_done: 0,
            progress_total: total,
            result: None,
            error: None,
            attempts: 0,
            created_by: Some(created_by),
            created_at: at,
            finished_at: None,
        }
    }

    /// Progress in percent (0–100) for progress bars.
    pub fn percent(&self) -> i64 {
        if self.status == JobStatus::Done {
            return 100;
        }
        if self.progress_total <= 0 { 0 } else { (self.progress_done * 100 / self.progress_total).clamp(0, 100) }
    }
}
