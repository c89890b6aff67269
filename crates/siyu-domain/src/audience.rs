//! Audience syncs ("定时更新的广告人群包"): a segment's ad-platform audience file regenerated on a schedule
//! and kept as the latest snapshot, with what each run changed. The file is a header line and one SHA-256
//! (hex) per line; how it is made (consent, normalisation) is the app's `export_audience`.

use std::collections::HashSet;
use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Invalid;
use crate::id::{AudienceSyncId, SegmentId, UserId};

/// The hours between two runs a sync may ask for: hourly to weekly.
pub const EVERY_HOURS: RangeInclusive<i64> = 1..=168;

/// Checks a sync's frequency: `invalid_input` on `every_hours` outside [`EVERY_HOURS`].
pub fn check_every_hours(hours: i64) -> Result<u32, Invalid> {
    if EVERY_HOURS.contains(&hours) { Ok(hours as u32) } else { Err(Invalid::new("every_hours", "between_1_and_168")) }
}

/// What a synced file is keyed by, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKey {
    Phone,
    Openid,
}

impl SyncKey {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Openid => "openid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Phone, Self::Openid].into_iter().find(|k| k.as_str() == s)
    }
}

/// What one run found and changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AudienceCounts {
    /// Members considered (within the creator's data scope).
    pub members: u64,
    /// Hashes in the file.
    pub rows: u64,
    /// Members left out for want of an ad-audience consent.
    pub without_consent: u64,
    /// Members with the consent but no phone / openid.
    pub without_key: u64,
    /// Hashes in this file and not in the previous one.
    pub added: u64,
    /// Hashes in the previous file and not in this one.
    pub removed: u64,
}

/// One run in a sync's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AudienceSyncRun {
    pub at: DateTime<Utc>,
    pub counts: AudienceCounts,
    /// SHA-256 (hex) of the file the run made; absent when it failed.
    pub sha256: Option<String>,
    /// Why the run failed; absent when it succeeded.
    pub error: Option<String>,
}

/// A scheduled audience file of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudienceSync {
    pub id: AudienceSyncId,
    pub segment_id: SegmentId,
    pub key: SyncKey,
    pub every_hours: u32,
    /// A sync whose creator lost access is disabled by its failed run.
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
    /// Set while a run holds the sync.
    pub lease_until: Option<DateTime<Utc>>,
    /// The runs act as this member, with their access as it is at the time.
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// SHA-256 (hex) of the latest snapshot; `None` before the first successful run.
    pub sha256: Option<String>,
    /// The counts of the last successful run.
    pub last: Option<AudienceCounts>,
    /// The error of the last run when it failed.
    pub last_error: Option<String>,
}

/// The hash lines of an audience file (everything after the header line).
pub fn hash_lines(file: &[u8]) -> HashSet<&[u8]> {
    file.split(|b| *b == b'\n').skip(1).filter(|l| !l.is_empty()).collect()
}

/// How many hashes `current` has that `previous` had not (added) and the other way round (removed).
pub fn diff(previous: &[u8], current: &[u8]) -> (u64, u64) {
    let (before, after) = (hash_lines(previous), hash_lines(current));
    let added = after.difference(&before).count() as u64;
    let removed = before.difference(&after).count() as u64;
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_run_from_hourly_to_weekly() {
        assert_eq!(check_every_hours(1), Ok(1));
        assert_eq!(check_every_hours(168), Ok(168));
        assert_eq!(check_every_hours(0).map_err(|e| e.field), Err("every_hours".to_string()));
        assert!(check_every_hours(169).is_err());
        assert!(check_every_hours(-24).is_err());
    }

    #[test]
    fn the_diff_counts_hashes_entering_and_leaving_and_ignores_the_header() {
        let before = b"sha256_phone\naaa\nbbb\nccc\n";
        let after = b"sha256_phone\nbbb\nddd\neee\n";
        assert_eq!(diff(before, after), (2, 2));
        assert_eq!(diff(b"", after), (3, 0));
        assert_eq!(diff(after, b"sha256_phone\n"), (0, 3));
        assert_eq!(diff(after, after), (0, 0));
    }

    #[test]
    fn keys_round_trip_through_their_stored_text() {
        for k in [SyncKey::Phone, SyncKey::Openid] {
            assert_eq!(SyncKey::parse(k.as_str()), Some(k));
        }
        assert_eq!(SyncKey::parse("email"), None);
    }
}
