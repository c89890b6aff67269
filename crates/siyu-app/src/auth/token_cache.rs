//! What a bearer token resolved to, kept for a few seconds per node.
//!
//! An Open API client sends the same token with every request, and resolving it takes a trip to the
//! database (the token, its tenant and its member in one join; a department-scoped member's colleagues in
//! two more statements) for an answer that changes rarely. Each node keeps the resolved actor for at most
//! `security.token_cache_secs` (by the app's clock). A change made through this node (a token revoked or
//! created, a member, department or tenant changed) empties the cache at once, so on one node a revocation
//! takes effect immediately; another node sees it when its entry expires. `0` turns the cache off.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use siyu_domain::id::ApiTokenId;

use crate::Actor;

/// Entries kept at most; a full cache is emptied rather than searched for the oldest entry.
const MAX_ENTRIES: usize = 10_000;

/// A resolved token: the actor (without the request's origin) and what the `last_used_at` write needs.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub actor: Actor,
    pub token: ApiTokenId,
    pub last_used_at: Option<DateTime<Utc>>,
}

struct Entry {
    resolved: Resolved,
    until: DateTime<Utc>,
}

/// Resolved tokens by the SHA-256 of their secret (the secret itself is not kept).
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl TokenCache {
    /// The entry for `digest`, if it has not expired at `now`.
    pub(crate) fn get(&self, digest: &[u8; 32], now: DateTime<Utc>) -> Option<Resolved> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(digest).filter(|e| e.until > now).map(|e| e.resolved.clone())
    }

    /// Keeps `resolved` until `now + ttl` (nothing with a zero TTL).
    pub(crate) fn put(&self, digest: [u8; 32], resolved: Resolved, now: DateTime<Utc>, ttl: Duration) {
        if ttl <= Duration::zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&digest) {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(digest, Entry { resolved, until: now + ttl });
    }

    /// Notes the `last_used_at` write made for `digest`, so the next minute's requests do not repeat it.
    pub(crate) fn used(&self, digest: &[u8; 32], at: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.get_mut(digest) {
            e.resolved.last_used_at = Some(at);
        }
    }

    /// Forgets every entry: something a token's actor depends on changed on this node.
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
